"""Submitted and approved (issue 57 item 2): every document a contractor owes the prefecture goes through one
workflow. The worked example of the issue: minutes of a meeting on Friday 2026-12-25 are due on 2027-01-05 (3
business days: 12/28, 1/4, 1/5; 年末年始 skipped), submitted on time by the secretariat, returned once with a
reason, approved by the prefecture; the approved version frozen and its SHA-256 in the audit chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import JST, UTC
from core.errors import Invalid, NotFound, NotPermitted
from core.lifecycle import IllegalMove
from governance import meetings, submissions as subs
from governance.audit import verify_database
from tests.conftest import owner_bind

SECRETARIAT = Actor("urn:test", "secretariat-1", "事務局 担当", frozenset({"secretariat"}))
VENDOR = Actor("urn:test", "vendor-1", "基盤 担当", frozenset({"platform-vendor"}))
PREFECTURE = Actor("urn:test", "operator-9", "県 検査員", frozenset({"platform-operator"}), frozenset({"430005"}))
AUDITOR = Actor("urn:test", "auditor-1", "監査 担当", frozenset({"auditor"}))


def _christmas_meeting(db) -> meetings.Meeting:
    draft = meetings.MeetingDraft(kind="prefecture", title="県との定例会（12月）",
                                  held_at=dt.datetime(2026, 12, 25, 15, 0, tzinfo=JST), place="県庁 会議室B")
    meeting = meetings.create_meeting(db, SECRETARIAT, draft)
    db.commit()
    return meeting


def test_minutes_of_a_meeting_on_christmas_are_due_on_5_january_returned_once_then_approved_into_the_chain(db):
    meeting = _christmas_meeting(db)
    owed = meetings.minutes_submission(db, SECRETARIAT, meeting)
    assert (owed.kind, owed.contractor, owed.status) == (subs.K.minutes, subs.Contractor.secretariat, subs.S.open)
    assert owed.due_on == dt.date(2027, 1, 5)  # 12/28, (12/29–1/3 closed), 1/4, 1/5

    first = "定例会 議事録\n出席: 県 課長、事務局 担当\n議題: 年度末の進捗"
    meetings.write_minutes(db, SECRETARIAT, meeting.id, text=first, now=dt.datetime(2026, 12, 28, 9, 0, tzinfo=JST))
    db.commit()
    assert owed.status is subs.S.submitted
    [v1] = subs.versions_of(db, owed.id)
    assert (v1.number, v1.on_time, v1.sha256) == (1, True, hashlib.sha256(first.encode()).hexdigest())

    with pytest.raises(Invalid):  # a return says why
        meetings.return_minutes(db, PREFECTURE, meeting.id, "  ")
    meetings.return_minutes(db, PREFECTURE, meeting.id, "議題2の決定事項が記載されていません。",
                            now=dt.datetime(2027, 1, 4, 10, 0, tzinfo=JST))
    db.commit()
    assert owed.status is subs.S.returned
    assert (v1.inspection, v1.reason, v1.inspected_by) == (subs.Inspection.returned, "議題2の決定事項が記載されていません。",
                                                         "県 検査員")
    assert subs.overdue(db, PREFECTURE, now=dt.datetime(2027, 1, 6, 9, 0, tzinfo=JST)) == [owed]  # returned, past due
    assert subs.overdue(db, PREFECTURE, now=dt.datetime(2027, 1, 5, 9, 0, tzinfo=JST)) == []

    second = first + "\n決定事項: 年度末報告は1月20日までに提出する。"
    meetings.write_minutes(db, SECRETARIAT, meeting.id, text=second, now=dt.datetime(2027, 1, 5, 17, 0, tzinfo=JST))
    db.commit()
    v2 = subs.versions_of(db, owed.id)[1]
    assert (v2.number, v2.on_time, owed.status) == (2, True, subs.S.submitted)

    meetings.approve_minutes(db, PREFECTURE, meeting.id, now=dt.datetime(2027, 1, 6, 10, 0, tzinfo=JST))
    db.commit()
    digest = hashlib.sha256(second.encode()).hexdigest()
    assert (owed.status, owed.approved_version, owed.approved_sha256) == (subs.S.approved, 2, digest)
    assert meeting.minutes_status is meetings.MinutesStatus.approved
    assert subs.overdue(db, PREFECTURE, now=dt.datetime(2027, 2, 1, tzinfo=UTC)) == []

    with pytest.raises(meetings.CannotWrite):  # the approved version is frozen
        meetings.write_minutes(db, SECRETARIAT, meeting.id, text="書き換え")
    db.rollback()
    with pytest.raises(subs.OwnedElsewhere):  # minutes are written on their meeting
        subs.submit(db, PREFECTURE, owed.id, text="書き換え")
    with pytest.raises(IllegalMove):
        subs.add_version(db, PREFECTURE, owed, text="書き換え")
    db.rollback()

    approval = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "meeting.approve",
                                                      AuditRecord.target_id == str(meeting.id)))
    after = json.loads(approval.after)
    assert after["sha256"] == digest
    [step] = [s for s in after["steps"] if s["action"] == "submission.approve"]
    assert (step["after"]["sha256"], step["after"]["version"]) == (digest, 2)
    assert approval.hash and verify_database(db) is None  # the record holding the hash is chained and the chain is whole
    assert [r.action for r in db.scalars(sa.select(AuditRecord).where(AuditRecord.target_type == "meeting")
                                         .order_by(AuditRecord.seq))] == [
        "meeting.create", "meeting.minutes", "meeting.return", "meeting.minutes", "meeting.approve"]


def test_the_writer_of_the_minutes_neither_returns_nor_approves_them(db):
    meeting = _christmas_meeting(db)
    writer = Actor("urn:test", "operator-1", "県 書記", frozenset({"platform-operator"}), frozenset({"430005"}))
    meetings.write_minutes(db, writer, meeting.id, text="議事録")
    with pytest.raises(meetings.OwnMinutes):
        meetings.approve_minutes(db, writer, meeting.id)
    with pytest.raises(meetings.OwnMinutes):
        meetings.return_minutes(db, writer, meeting.id, "理由")
    with pytest.raises(NotPermitted):  # the secretariat never inspects
        meetings.approve_minutes(db, SECRETARIAT, meeting.id)


def test_a_moved_meeting_moves_the_minutes_due_date(db):
    meeting = _christmas_meeting(db)
    draft = meetings.draft_of(db, meeting)
    meetings.update_meeting(db, SECRETARIAT, meeting.id, draft.__class__(**{
        **draft.__dict__, "held_at": dt.datetime(2027, 1, 8, 10, 0, tzinfo=JST)}))  # Friday; 1/11 is 成人の日
    assert meetings.minutes_submission(db, SECRETARIAT, meeting).due_on == dt.date(2027, 1, 14)


def test_the_vendors_monthly_report_and_an_incident_report_are_submitted_with_a_file_and_inspected(db):
    report = subs.open_submission(db, PREFECTURE, kind="service_report", title="運用月次報告書（2026年12月）",
                                  month="2026-12")
    assert (report.contractor, report.refers_to, report.due_on) == (subs.Contractor.vendor, "2026-12",
                                                                   dt.date(2027, 1, 8))  # 1/4..1/8: five business days
    plan = subs.open_submission(db, PREFECTURE, kind="project_plan", title="プロジェクト計画書", due_on="2027-01-15",
                                contractor="secretariat")
    with pytest.raises(Invalid):
        subs.open_submission(db, PREFECTURE, kind="deliverable", title="成果品", due_on="いつか", contractor="vendor")
    with pytest.raises(NotPermitted):
        subs.open_submission(db, VENDOR, kind="incident_report", title="障害報告書", due_on="2027-01-15")
    with pytest.raises(NotFound):  # the secretariat's plan is not the vendor's
        subs.submit(db, VENDOR, plan.id, file=b"%PDF-1.7 plan", filename="plan.pdf")
    pdf = b"%PDF-1.7 monthly report"
    version = subs.submit(db, VENDOR, report.id, file=pdf, filename="monthly.pdf",
                          now=dt.datetime(2027, 1, 9, 9, 0, tzinfo=JST))
    assert (version.sha256, version.on_time) == (hashlib.sha256(pdf).hexdigest(), False)  # a day late
    with pytest.raises(NotPermitted):
        subs.approve(db, VENDOR, report.id)
    subs.approve(db, PREFECTURE, report.id)
    assert subs.content(db, AUDITOR, report.id, 1).data == pdf
    assert [r.id for r in subs.submissions(db, VENDOR)] == [report.id]  # its own only
    assert {r.id for r in subs.submissions(db, AUDITOR)} == {report.id, plan.id}
    assert [r.action for r in db.scalars(sa.select(AuditRecord).where(AuditRecord.target_type == "submission")
                                         .order_by(AuditRecord.seq))] == [
        "submission.open", "submission.open", "submission.submit", "submission.approve"]


def test_the_months_progress_report_and_service_report_are_submitted_by_their_contractors_and_approved(db, monkeypatch):
    from secretariat import progress
    from service import monthly_report

    monkeypatch.setattr(monthly_report, "to_pdf", lambda *args: b"%PDF-1.7 service")  # the charts are not the point
    monkeypatch.setattr(progress.report_document, "to_pdf", lambda *args, **kw: b"%PDF-1.7 progress")
    written = monthly_report.write(db, PREFECTURE, dt.date(2026, 10, 1), None)
    with pytest.raises(NotPermitted):  # the vendor's report: the secretariat does not submit it
        monthly_report.submit(db, SECRETARIAT, written.id)
    version = monthly_report.submit(db, VENDOR, written.id, now=dt.datetime(2026, 11, 6, 9, 0, tzinfo=JST))
    service = subs.find(db, subs.K.service_report, "2026-10")
    assert (service.contractor, service.due_on, version.on_time) == (subs.Contractor.vendor, dt.date(2026, 11, 9), True)
    assert version.sha256 == hashlib.sha256(b"%PDF-1.7 service").hexdigest()

    month = progress.parse_month("2026-10")
    sent = progress.submit_report(db, SECRETARIAT, month, now=dt.datetime(2026, 11, 10, 9, 0, tzinfo=JST))
    plan = subs.find(db, subs.K.progress_report, "2026-10")
    assert (plan.contractor, plan.status, sent.on_time) == (subs.Contractor.secretariat, subs.S.submitted, False)
    subs.approve(db, PREFECTURE, plan.id)
    subs.approve(db, PREFECTURE, service.id)
    assert subs.overdue(db, PREFECTURE, now=dt.datetime(2026, 12, 1, tzinfo=UTC)) == []
    submits = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "submission.submit")
                         .order_by(AuditRecord.seq)).all()
    assert len(submits) == 2  # one record per act: the report's generation and its owing are steps of it


def test_minutes_written_before_the_workflow_are_taken_in_and_approved_through_it(db):
    meeting = _christmas_meeting(db)
    db.commit()
    with owner_bind(db).begin() as connection:  # the owner's: the app's role may not delete a submission
        connection.execute(sa.delete(subs.Submission.__table__))  # as a meeting recorded before migration 0123
    db.expire_all()
    meeting.minutes_status, meeting.minutes_text = meetings.MinutesStatus.draft, "以前の議事録"
    meeting.written_by, meeting.written_by_name = "operator-1", "県 書記"
    db.commit()
    meetings.approve_minutes(db, PREFECTURE, meeting.id)
    owed = meetings.minutes_submission(db, PREFECTURE, meeting)
    assert (owed.status, owed.approved_sha256) == (subs.S.approved, hashlib.sha256("以前の議事録".encode()).hexdigest())
    assert [v.submitted_by_name for v in subs.versions_of(db, owed.id)] == ["県 書記"]
