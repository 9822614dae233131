"""The documents owed to the prefecture on the console (issue 57 item 2): the minutes of the Christmas meeting due on
2027-01-05 on the list, returned from the meeting's page (an empty reason refused beside its field, the return asked
first), rewritten and approved after confirming, the approved version's SHA-256 on the document's page; the vendor
submits its monthly report as a file and the prefecture approves it; the overdue listed."""

from __future__ import annotations

import datetime as dt
import hashlib

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
