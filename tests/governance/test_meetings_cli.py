"""`renkei meetings` and `renkei groups` act through the same operations (audited) as the pages and the API:
the writer cannot approve, another person approves, publication asks first."""

from __future__ import annotations

import sqlalchemy as sa

from core.audit import AuditRecord
from core.outbox import Notification
from governance import meetings
from secretariat import groups
from tests.governance.test_meetings import ATTENDING_MEMBER, council_world  # noqa: F401


def _run(app, *args, person="writer-cli", stdin=None):
    return app.test_cli_runner().invoke(args=[*args, "--as", person], input=stdin)


def test_meetings_and_groups_from_the_command_line(app, db, council_world):  # noqa: F811
    adopted, rejected = council_world
    created = _run(app, "meetings", "create", "--kind", "council", "--title", "第3回 協議会", "--held-at", "2026-11-20T14:00",
                   "--tenant", "431001", "--member", ATTENDING_MEMBER, "--person", "来賓",
                   "--agenda", f"方針#{adopted}", "--agenda", f"会費#{rejected}")
    assert created.exit_code == 0, created.output
    meeting = db.scalar(sa.select(meetings.Meeting))
    assert meetings.meeting_of_proposal(db, rejected).id == meeting.id
    assert _run(app, "meetings", "minutes", str(meeting.id), "--text", "議事").exit_code == 0
    own = _run(app, "meetings", "approve", str(meeting.id))
    assert own.exit_code == 1 and "承認できません" in own.output
    assert _run(app, "meetings", "approve", str(meeting.id), person="approver-cli").exit_code == 0
    asked = _run(app, "meetings", "publish", str(meeting.id), stdin="n\n")
    assert asked.exit_code == 1 and db.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.kind == "meeting-minutes")) == 0
    assert _run(app, "meetings", "publish", str(meeting.id), "--yes").exit_code == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == "meeting-minutes")) == 2
    assert "公開済み" in _run(app, "meetings", "list").output

    assert _run(app, "groups", "create", "--kind", "community", "--name", "データ利活用コミュニティ").exit_code == 0
    group = db.scalar(sa.select(groups.Group))
    assert _run(app, "groups", "add", str(group.id), ATTENDING_MEMBER).exit_code == 0
    assert "1/20" in _run(app, "groups", "list").output
    assert db.scalar(sa.select(AuditRecord.actor_subject).where(AuditRecord.action == "meeting.approve")) == "approver-cli"


def test_a_meeting_is_corrected_from_the_command_line_until_its_minutes_are_approved(app, db, council_world):  # noqa: F811
    adopted, rejected = council_world
    _run(app, "meetings", "create", "--kind", "council", "--title", "第3回 協議会", "--held-at", "2026-11-20T14:00",
         "--tenant", "431001", "--agenda", f"方針#{adopted}")
    meeting = db.scalar(sa.select(meetings.Meeting))
    done = _run(app, "meetings", "update", str(meeting.id), "--place", "オンライン", "--agenda", f"方針#{adopted}",
                "--agenda", f"会費#{rejected}")
    assert done.exit_code == 0, done.output
    db.expire_all()
    assert (meeting.title, meeting.place) == ("第3回 協議会", "オンライン")  # what was not given stays
    assert [a.tenant_code for a in meetings.attendees_of(db, meeting.id)] == ["431001"]
    assert meetings.meeting_of_proposal(db, rejected).id == meeting.id
    _run(app, "meetings", "minutes", str(meeting.id), "--text", "議事")
    _run(app, "meetings", "approve", str(meeting.id), person="approver-cli")
    late = _run(app, "meetings", "update", str(meeting.id), "--title", "承認後")
    assert late.exit_code == 1 and "修正できません" in late.output


def test_an_agenda_items_proposal_written_in_other_digits_is_refused_in_words(app, db):
    for written in ("方針#²", "方針#٣", "方針#99999999999"):
        refused = _run(app, "meetings", "create", "--kind", "council", "--title", "第4回 協議会",
                       "--held-at", "2026-11-20T14:00", "--agenda", written)
        assert refused.exit_code == 2 and "write TITLE#PROPOSAL_ID" in refused.output, refused.output
    assert db.scalar(sa.select(sa.func.count()).select_from(meetings.Meeting)) == 0
