"""The subcontracting pages (issue 57 item 3) as the secretariat, the vendor and the prefecture use them: a request
with a wrong corporate number kept beside its field, a refusal without a reason refused beside its field, an approval
asked first, and the approved subcontractor on the month's progress report and the vendor's monthly report page."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core.calendar import today_jst
from governance import subcontracts as sub
from service import monthly_report
from tests.admin.test_labels import visible_text
from tests.conftest import sign_in
from tests.governance.test_subcontracts import NTA, VENDOR, draft

CSRF = "subcontracts-csrf"


def form(**changes) -> dict:
    today = today_jst()
    return {"csrf_token": CSRF, "contractor": "secretariat", "name": "くまもとイベント株式会社", "corporate_number": NTA,
            "address": "熊本市中央区", "scope": "オープンイベントの会場運営", "reason": "会場設営の専門性のため",
            "amount_yen": "1,200,000", "starts_on": today.isoformat(),
            "ends_on": (today + dt.timedelta(days=30)).isoformat(), **changes}


def test_the_secretariat_asks_the_prefecture_approves_and_the_progress_report_lists_it(app, db, monkeypatch):
    import admin.identity

    monkeypatch.setattr(admin.identity, "secretariat_people", dict)  # the progress page's owners: nobody, no Keycloak
    secretariat = app.test_client()
    sign_in(secretariat, ["secretariat"], subject="secretariat-1", csrf=CSRF)
    wrong = secretariat.post("/admin/subcontracts/request", data=form(corporate_number="1000012050002"))
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and 'id="corporate_number-error"' in html and "検査用数字" in visible_text(html)
    assert 'value="くまもとイベント株式会社"' in html  # what was typed is kept
    assert secretariat.post("/admin/subcontracts/request", data=form()).status_code == 302
    row_id = db.scalar(sa.select(sub.Subcontract.id))
    assert "申請中" in visible_text(secretariat.get("/admin/subcontracts/").get_data(as_text=True))

    operator = app.test_client()
    sign_in(operator, csrf=CSRF)
    empty = operator.post(f"/admin/subcontracts/{row_id}/refuse", data={"csrf_token": CSRF, "reason": " "})
    assert empty.status_code == 422 and 'id="reason-error"' in empty.get_data(as_text=True)
    asked = operator.post(f"/admin/subcontracts/{row_id}/approve", data={"csrf_token": CSRF})
    assert "この再委託を承認しますか" in visible_text(asked.get_data(as_text=True))
    assert db.get(sub.Subcontract, row_id).status is sub.S.pending  # nothing before the confirmation
    operator.post(f"/admin/subcontracts/{row_id}/approve", data={"csrf_token": CSRF, "confirmed": "1"})
    db.expire_all()
    assert db.get(sub.Subcontract, row_id).status is sub.S.approved

    page = visible_text(secretariat.get("/admin/progress/").get_data(as_text=True))
    assert "県の承認を受け、当月に再委託の期間がある再委託先" in page and "くまもとイベント株式会社" in page
    assert "1,200,000 円" in page
    vendor = app.test_client()
    sign_in(vendor, ["platform-vendor"], subject="vendor-1", csrf=CSRF)
    assert "くまもとイベント株式会社" not in visible_text(vendor.get("/admin/subcontracts/").get_data(as_text=True))
    assert vendor.get(f"/admin/subcontracts/{row_id}").status_code == 404  # another contractor's


def test_the_vendors_approved_subcontractor_is_on_the_monthly_report_page(app, db, operator, monkeypatch):
    monkeypatch.setattr(monthly_report, "to_pdf", lambda *args: b"%PDF-")  # the PDF's charts are not the point here
    row = sub.request(db, VENDOR, draft(name="基盤保守サポート合同会社"))
    sub.approve(db, operator, row.id)
    monthly_report.write(db, operator, today_jst().replace(day=1), None)
    db.commit()
    vendor = app.test_client()
    sign_in(vendor, ["platform-vendor"], subject="vendor-1")
    page = visible_text(vendor.get("/admin/service/monthly-reports/").get_data(as_text=True))
    assert "承認済みの再委託先" in page and "基盤保守サポート合同会社" in page
