"""The documents owed to the prefecture on the console (issue 57 item 2): the minutes of the Christmas meeting due on
2027-01-05 on the list, returned from the meeting's page (an empty reason refused beside its field, the return asked
first), rewritten and approved after confirming, the approved version's SHA-256 on the document's page; the vendor
submits its monthly report as a file and the prefecture approves it; the overdue listed."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

import sqlalchemy as sa

from core.calendar import JST
from governance import meetings, submissions as subs
from tests.admin.test_labels import visible_text
from tests.conftest import sign_in
from tests.governance.test_submissions import PREFECTURE, SECRETARIAT

CSRF = "submissions-csrf"


def test_the_christmas_minutes_are_returned_then_approved_on_the_meetings_page(app, db):
    meeting = meetings.create_meeting(db, SECRETARIAT, meetings.MeetingDraft(
        kind="prefecture", title="県との定例会（12月）", held_at=dt.datetime(2026, 12, 25, 15, 0, tzinfo=JST)))
    db.commit()
    secretariat, prefecture = app.test_client(), app.test_client()
    sign_in(secretariat, ["secretariat"], subject="secretariat-1", name="事務局 担当", csrf=CSRF)
    sign_in(prefecture, ["platform-operator"], ["430005"], subject="operator-9", name="県 検査員", csrf=CSRF)
    listed = visible_text(prefecture.get("/admin/submissions/").get_data(as_text=True))
    assert "県との定例会（12月）" in listed and "2027/01/05" in listed

    secretariat.post(f"/admin/meetings/{meeting.id}/minutes", data={"csrf_token": CSRF, "minutes_text": "議事録 第1版"})
    page = visible_text(prefecture.get(f"/admin/meetings/{meeting.id}").get_data(as_text=True))
    assert "議事録の提出期限: 2027/01/05" in page and "議事録を差し戻す" in page
    empty = prefecture.post(f"/admin/meetings/{meeting.id}/return", data={"csrf_token": CSRF, "reason": ""})
    assert empty.status_code == 422 and 'id="reason-error"' in empty.get_data(as_text=True)
    asked = prefecture.post(f"/admin/meetings/{meeting.id}/return", data={"csrf_token": CSRF, "reason": "決定事項がありません"})
    assert "議事録を差し戻しますか" in visible_text(asked.get_data(as_text=True))
    owed = meetings.minutes_submission(db, SECRETARIAT, meeting)
    assert owed.status is subs.S.submitted  # nothing written before confirming
    prefecture.post(f"/admin/meetings/{meeting.id}/return",
                    data={"csrf_token": CSRF, "reason": "決定事項がありません", "confirmed": "1"})
    db.expire_all()
    assert owed.status is subs.S.returned

    secretariat.post(f"/admin/meetings/{meeting.id}/minutes", data={"csrf_token": CSRF, "minutes_text": "議事録 第2版"})
    asked = prefecture.post(f"/admin/meetings/{meeting.id}/approve", data={"csrf_token": CSRF})
    assert "議事録を承認しますか" in visible_text(asked.get_data(as_text=True))
    prefecture.post(f"/admin/meetings/{meeting.id}/approve", data={"csrf_token": CSRF, "confirmed": "1"})
    db.expire_all()
    digest = hashlib.sha256("議事録 第2版".encode()).hexdigest()
    assert (owed.status, owed.approved_sha256) == (subs.S.approved, digest)
    detail = visible_text(prefecture.get(f"/admin/submissions/{owed.id}").get_data(as_text=True))
    assert digest in detail and "決定事項がありません" in detail and "承認済み（確定）" in detail
    assert 'name="minutes_text"' not in secretariat.get(f"/admin/meetings/{meeting.id}").get_data(as_text=True)  # frozen


def test_the_vendor_submits_its_monthly_report_as_a_file_and_the_prefecture_approves_it(app, db):
    prefecture, vendor = app.test_client(), app.test_client()
    sign_in(prefecture, ["platform-operator"], ["430005"], subject="operator-9", name="県 検査員", csrf=CSRF)
    sign_in(vendor, ["platform-vendor"], subject="vendor-1", name="基盤 担当", csrf=CSRF)
    wrong = prefecture.post("/admin/submissions/open", data={"csrf_token": CSRF, "kind": "service_report",
                                                             "title": "運用月次報告書（2020年1月）", "month": "いつか"})
    assert wrong.status_code == 422 and 'id="month-error"' in wrong.get_data(as_text=True)
    prefecture.post("/admin/submissions/open", data={"csrf_token": CSRF, "kind": "service_report",
                                                    "title": "運用月次報告書（2020年1月）", "month": "2020-01"})
    row = db.scalar(sa.select(subs.Submission).where(subs.Submission.kind == subs.K.service_report))
    assert row.due_on == dt.date(2020, 2, 7)
    overdue = visible_text(vendor.get("/admin/submissions/?overdue=1").get_data(as_text=True))
    assert "運用月次報告書（2020年1月）" in overdue and "期限超過" in overdue
    pdf = b"%PDF-1.7 report"
    from io import BytesIO
    vendor.post(f"/admin/submissions/{row.id}/submit", data={"csrf_token": CSRF, "file": (BytesIO(pdf), "report.pdf")},
                content_type="multipart/form-data")
    db.expire_all()
    assert [v.sha256 for v in subs.versions_of(db, row.id)] == [hashlib.sha256(pdf).hexdigest()]
    assert vendor.get(f"/admin/submissions/{row.id}/versions/1").get_data() == pdf
    asked = prefecture.post(f"/admin/submissions/{row.id}/approve", data={"csrf_token": CSRF})
    assert "この版を承認しますか" in visible_text(asked.get_data(as_text=True))
    prefecture.post(f"/admin/submissions/{row.id}/approve", data={"csrf_token": CSRF, "confirmed": "1"})
    db.expire_all()
    assert row.status is subs.S.approved
    assert PREFECTURE.subject == "operator-9"


@pytest.mark.keycloak  # the progress page lists the secretariat's people (admin.identity.secretariat_people)
def test_the_months_reports_are_submitted_from_their_own_pages_after_asking(app, db, monkeypatch, keycloak_settings):
    """The progress report's page (the secretariat) and the service's monthly reports (the vendor) each submit the
    month's PDF, the very bytes their download gives, once the person confirms; the state shows beside it."""
    from secretariat import progress
    from service import monthly_report

    monkeypatch.setattr(monthly_report, "to_pdf", lambda *args: b"%PDF-1.7 service")  # the charts are not the point
    monkeypatch.setattr(progress.report_document, "to_pdf", lambda *args, **kw: b"%PDF-1.7 progress")
    written = monthly_report.write(db, PREFECTURE, dt.date(2026, 10, 1), None)
    db.commit()
    secretariat, vendor = app.test_client(), app.test_client()
    sign_in(secretariat, ["secretariat"], subject="secretariat-1", name="事務局 担当", csrf=CSRF)
    sign_in(vendor, ["platform-vendor"], subject="vendor-1", name="基盤 担当", csrf=CSRF)

    page = visible_text(secretariat.get("/admin/progress/?month=2026-10").get_data(as_text=True))
    assert "県への提出: 未提出" in page and "県に提出する" in page
    asked = secretariat.post("/admin/progress/report/2026-10/submit", data={"csrf_token": CSRF})
    assert "この月の進捗報告書を県へ提出しますか" in visible_text(asked.get_data(as_text=True))
    assert subs.find(db, subs.K.progress_report, "2026-10") is None  # nothing before confirming
    done = secretariat.post("/admin/progress/report/2026-10/submit", data={"csrf_token": CSRF, "confirmed": "1"})
    owed = subs.find(db, subs.K.progress_report, "2026-10")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/admin/submissions/{owed.id}")
    download = secretariat.get("/admin/progress/report/2026-10.pdf").data
    assert subs.latest(db, owed.id).sha256 == hashlib.sha256(download).hexdigest()
    assert "県への提出: 検査待ち" in visible_text(secretariat.get("/admin/progress/?month=2026-10").get_data(as_text=True))

    listed = visible_text(vendor.get("/admin/service/monthly-reports/").get_data(as_text=True))
    assert "未提出" in listed and "県に提出する" in listed
    assert vendor.post(f"/admin/service/monthly-reports/{written.id}/submit", data={"csrf_token": CSRF}).status_code == 200
    assert subs.find(db, subs.K.service_report, "2026-10") is None
    vendor.post(f"/admin/service/monthly-reports/{written.id}/submit", data={"csrf_token": CSRF, "confirmed": "1"})
    service = subs.find(db, subs.K.service_report, "2026-10")
    assert subs.latest(db, service.id).sha256 == hashlib.sha256(b"%PDF-1.7 service").hexdigest()
    assert "検査待ち" in visible_text(vendor.get("/admin/service/monthly-reports/").get_data(as_text=True))
    # the secretariat does not submit the vendor's report
    refused = secretariat.post(f"/admin/service/monthly-reports/{written.id}/submit",
                               data={"csrf_token": CSRF, "confirmed": "1"})
    assert refused.status_code in (302, 403) and len(subs.versions_of(db, service.id)) == 1


def test_the_command_lists_submits_returns_and_approves_as_the_console_does(app, db, tmp_path):
    """`renkei submissions`: the vendor submits a file, the prefecture returns it with a reason and approves the next
    version, each asked first; the list shows the state in words; the secretariat cannot submit the vendor's."""
    row = subs.open_submission(db, PREFECTURE, kind="service_report", title="運用月次報告書（2026年10月）", month="2026-10")
    db.commit()
    runner = app.test_cli_runner()

    def run(*args, roles=("platform-operator",), name="cli-operator", **kwargs):
        role_args = [part for role in roles for part in ("--role", role)]
        return runner.invoke(args=["submissions", *args, "--as", name, *role_args], **kwargs)

    listed = run("list")
    assert listed.exit_code == 0 and f"#{row.id}\t運用月次報告書\t運用月次報告書（2026年10月）\t2026/11/09\t未提出" in listed.output
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.7 version 1")
    refused = run("submit", str(row.id), "--file", str(report), roles=("secretariat",), name="cli-secretariat")
    assert refused.exit_code != 0 and subs.versions_of(db, row.id) == []
    sent = run("submit", str(row.id), "--file", str(report), roles=("platform-vendor",), name="cli-vendor")
    assert sent.exit_code == 0 and hashlib.sha256(b"%PDF-1.7 version 1").hexdigest() in sent.output, sent.output
    unasked = run("return", str(row.id), "--reason", "数値の誤り", input="n\n")
    db.expire_all()
    assert unasked.exit_code != 0 and subs.get(db, PREFECTURE, row.id).status is subs.S.submitted
    assert run("return", str(row.id), "--reason", "数値の誤り", input="y\n").exit_code == 0
    report.write_bytes(b"%PDF-1.7 version 2")
    assert run("submit", str(row.id), "--file", str(report), roles=("platform-vendor",), name="cli-vendor").exit_code == 0
    approved = run("approve", str(row.id), "--yes")
    db.expire_all()
    assert approved.exit_code == 0 and subs.get(db, PREFECTURE, row.id).approved_sha256 == \
        hashlib.sha256(b"%PDF-1.7 version 2").hexdigest()
    assert "承認" in run("list").output
