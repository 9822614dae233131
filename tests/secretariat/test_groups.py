"""The data-utilisation community and working groups (issue 40 item 5): approved members only, each once,
the community's target of about 20 (a setting), and the group's meetings."""

from __future__ import annotations

import dataclasses
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


def test_a_community_meeting_held_as_an_event_names_its_group_and_shows_on_the_groups_page(client, db):
    from secretariat import events as ev
    from tests.admin.test_labels import visible_text
    from tests.conftest import sign_in

    community = groups.create_group(db, OPERATOR, groups.GroupDraft(kind="community", name="データ利活用コミュニティ"))
    db.commit()
    starts = dt.datetime(2026, 7, 10, 5, tzinfo=UTC)
    draft = ev.EventDraft("community_meeting", "第2回 コミュニティ会合", starts, starts + dt.timedelta(hours=2), 30,
                          "community", place="県庁", group_id=community.id)
    with pytest.raises(Invalid) as seminar:  # only a community meeting names a group
        ev.create_event(db, OPERATOR, dataclasses.replace(draft, kind="member_seminar"))
    assert [p["field"] for p in seminar.value.problems] == ["group_id"]
    with pytest.raises(Invalid) as unknown:
        ev.create_event(db, OPERATOR, dataclasses.replace(draft, group_id=community.id + 99))
    assert "ありません" in unknown.value.problems[0]["message_ja"]
    event = ev.create_event(db, OPERATOR, draft)
    ev.create_event(db, OPERATOR, dataclasses.replace(draft, title="グループなしの会合", group_id=None))
    db.commit()
    assert [e.title for e in ev.group_events(db, OPERATOR, community.id)] == ["第2回 コミュニティ会合"]

    sign_in(client, ["platform-operator"], ["430005"])
    page = visible_text(client.get(f"/admin/community-groups/{community.id}").get_data(as_text=True))
    assert "第2回 コミュニティ会合" in page and "グループなしの会合" not in page
    detail = visible_text(client.get(f"/admin/events/{event.id}").get_data(as_text=True))
    assert "データ利活用コミュニティ" in detail


def test_through_the_api_a_community_meeting_names_its_group(client, db, user_factory):
    community = groups.create_group(db, OPERATOR, groups.GroupDraft(kind="working_group", name="防災データWG"))
    db.commit()
    operator = user_factory(("platform-operator",), "430005")[1]
    body = {"kind": "community_meeting", "title": "WG 会合", "starts_at": "2026-07-10T14:00:00+09:00",
            "ends_at": "2026-07-10T16:00:00+09:00", "capacity": 20, "audience": "community", "place": "県庁",
            "community_group_id": community.id}
    created = client.post("/api/v1/events", json=body, headers=operator)
    assert created.status_code == 201 and created.get_json()["community_group_id"] == community.id
    refused = client.post("/api/v1/events", json={**body, "kind": "workshop"}, headers=operator)
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
