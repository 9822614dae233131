"""The data-utilisation community and working groups (issue 40 item 5): approved members only, each once,
the community's target of about 20 (a setting), and the group's meetings."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.calendar import UTC
from core.errors import Invalid
from governance import meetings
from secretariat import groups
from tenancy.members.models import MemberStatus, Organisation
from tests.conftest import OPERATOR
from tests.governance.test_meetings import _organisation

APPROVED, OTHER, APPLICANT = "7000012050002", "8000012050001", "2000012010019"


@pytest.fixture
def organisations(db):
    _organisation(db, APPROVED, "くまもとデータ株式会社", "data@example.jp")
    _organisation(db, OTHER, "火の国システム株式会社", "hinokuni@example.jp")
    db.scalar(sa.select(Organisation).where(Organisation.corporate_number == OTHER)).status = MemberStatus.withdrawn
    db.commit()


def test_the_community_takes_approved_members_once_against_its_target_of_twenty(db, organisations):
    community = groups.create_group(db, OPERATOR, groups.GroupDraft(kind="community", name="データ利活用コミュニティ"))
    assert community.target_members == 20
    assert [o.corporate_number for o in groups.candidates(db, community.id)] == [APPROVED]
    groups.add_member(db, OPERATOR, community.id, APPROVED)
    with pytest.raises(groups.AlreadyInGroup):
        groups.add_member(db, OPERATOR, community.id, APPROVED)
    with pytest.raises(Invalid):  # withdrawn from the consortium
        groups.add_member(db, OPERATOR, community.id, OTHER)
    with pytest.raises(Invalid):  # nobody by that number
        groups.add_member(db, OPERATOR, community.id, APPLICANT)
    groups.set_target(db, OPERATOR, community.id, 25)
    assert [o.name for o in groups.group_members(db, community.id)] == ["くまもとデータ株式会社"]
    assert groups.member_counts(db) == {community.id: 1} and community.target_members == 25
    groups.remove_member(db, OPERATOR, community.id, APPROVED)
    assert groups.group_members(db, community.id) == []
    assert [r.action for r in db.scalars(sa.select(AuditRecord).where(AuditRecord.target_type == "group")
                                         .order_by(AuditRecord.seq))] == [
        "group.create", "group.join", "group.target", "group.leave"]


def test_a_working_groups_meeting_is_recorded_on_the_group_with_its_kind(db, organisations):
    wg = groups.create_group(db, OPERATOR, groups.GroupDraft(kind="working_group", name="観光データWG"))
    assert wg.target_members == 0
    draft = meetings.MeetingDraft(kind="council", title="第1回 観光データWG", held_at=dt.datetime.now(UTC),
                                  attendees=(meetings.Attendee("担当", corporate_number=APPROVED),))
    meeting = groups.create_group_meeting(db, OPERATOR, wg.id, draft)
    assert meeting.kind is meetings.MeetingKind.working_group and meeting.group_id == wg.id
    assert [m.id for m in meetings.list_meetings(db, OPERATOR, group_id=wg.id)] == [meeting.id]
    with pytest.raises(Invalid):  # a working group's meeting without its group
        meetings.create_meeting(db, OPERATOR, meetings.MeetingDraft(kind="working_group", title="WG", held_at=dt.datetime.now(UTC)))


def test_a_group_name_is_unique_and_the_kind_is_chosen(db):
    groups.create_group(db, OPERATOR, groups.GroupDraft(kind="working_group", name="防災WG"))
    with pytest.raises(Invalid) as refused:
        groups.create_group(db, OPERATOR, groups.GroupDraft(kind="working_group", name="防災WG"))
    assert [p["field"] for p in refused.value.problems] == ["name"]
    with pytest.raises(Invalid) as refused:
        groups.create_group(db, OPERATOR, groups.GroupDraft(kind="club", name="x", target_members=-1))
    assert [p["field"] for p in refused.value.problems] == ["kind", "target_members"]
