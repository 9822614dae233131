"""`renkei inquiries` and `renkei events` act through the same operations (audited) as the pages and the API,
and the due jobs send event reminders and purge inquiries' personal data."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core.audit import AuditRecord
from core.calendar import JST
from secretariat import events as ev
from secretariat import inquiries as inq


def _run(app, *args):
    result = app.test_cli_runner().invoke(args=[*args, "--as", "desk-test"])
    return result


def test_an_inquiry_is_recorded_replied_to_and_listed_from_the_command_line(app, db):
    done = _run(app, "inquiries", "record", "--kind", "resident", "--channel", "phone", "--category", "fault",
                "--subject", "表示されない", "--question", "地図が出ません", "--email", "r@example.jp")
    assert done.exit_code == 0, done.output
    inquiry = db.scalar(sa.select(inq.Inquiry))
    assert "回答期限" in done.output and inquiry.due_on.isoformat() in done.output
    replied = _run(app, "inquiries", "reply", str(inquiry.id), "--body", "再読み込みしてください。")
    assert replied.exit_code == 0, replied.output
    refused = _run(app, "inquiries", "move", str(inquiry.id), "start")  # answered: cannot start again
    assert refused.exit_code == 1 and "回答済" in refused.output
    listed = _run(app, "inquiries", "list", "--status", "answered")
    assert "表示されない" in listed.output
    assert db.scalar(sa.select(AuditRecord.actor_subject).where(AuditRecord.action == "inquiry.record")) == "desk-test"


def test_events_from_the_command_line_and_the_reminder_job(app, db):
    starts = (dt.datetime.now(JST) + dt.timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M")
    ends = (dt.datetime.now(JST) + dt.timedelta(hours=22)).strftime("%Y-%m-%dT%H:%M")
    created = _run(app, "events", "create", "--kind", "member_seminar", "--title", "セミナー", "--starts", starts,
                   "--ends", ends, "--capacity", "1", "--audience", "anyone", "--place", "県庁")
    assert created.exit_code == 0, created.output
    event = db.scalar(sa.select(ev.Event))
    for n in (1, 2):
        assert _run(app, "events", "register", str(event.id), "--name", f"参加 {n}",
                    "--email", f"{n}@example.jp").exit_code == 0
    first = db.scalar(sa.select(ev.EventRegistration).order_by(ev.EventRegistration.id))
    cancelled = _run(app, "events", "cancel", str(first.id))
    assert "繰り上げ" in cancelled.output, cancelled.output
    job = app.test_cli_runner().invoke(args=["jobs", "run-due", "--as", "jobs-test", "--only", "event-reminders",
                                             "--only", "inquiry-retention"])
    assert job.exit_code == 0, job.output
    assert "開催案内 1 件" in job.output and "個人情報を削除" in job.output
    year = _run(app, "events", "year", "2025")
    assert "会員セミナー" in year.output
