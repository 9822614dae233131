"""The operator's pages of running the platform (運用と監査): register a component, schedule and cancel
maintenance, read the month; the auditor reads them and changes nothing."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core.calendar import JST
from governance.models import Notice
from service.models import MaintenanceWindow, ServiceComponent
from tests.conftest import sign_in

CSRF = "service-views-csrf"


def next_weekday_at(hour: int) -> dt.datetime:
    day = dt.datetime.now(JST).date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour), JST)


def test_the_operator_registers_a_component_and_sees_its_state(client, db, component_server):
    sign_in(client, csrf=CSRF)
    page = client.get("/admin/service/components/")
    assert page.status_code == 200 and "データベース" in page.get_data(as_text=True)
    refused = client.post("/admin/service/components/register", data={
        "csrf_token": CSRF, "name_ja": "ブローカー", "url": "ftp://x", "expected_status": "200", "timeout_ms": "5000"})
    assert refused.status_code == 400 and "http:// または https://" in refused.get_data(as_text=True)
    done = client.post("/admin/service/components/register", data={
        "csrf_token": CSRF, "name_ja": "ブローカー", "url": component_server.url, "expected_status": "200",
        "timeout_ms": "5000"}, follow_redirects=True)
    assert done.status_code == 200 and "ブローカー" in done.get_data(as_text=True)
    assert db.scalar(sa.select(ServiceComponent.url).where(ServiceComponent.name_ja == "ブローカー")) == component_server.url


def test_the_operator_schedules_maintenance_after_confirming_and_cancels_it(client, db, tenant_factory):
    tenant_factory("431001")
    sign_in(client, csrf=CSRF)
    start = next_weekday_at(10)
    form = {"csrf_token": CSRF, "title": "カタログの更新", "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "component_keys": ["ckan", "dcat"],
            "tenant_codes": ["431001"]}
    asked = client.post("/admin/service/maintenance/schedule", data=form)
    assert "計画メンテナンスを登録して周知しますか" in asked.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(MaintenanceWindow)) == 0
    done = client.post("/admin/service/maintenance/schedule", data={**form, "confirmed": "1"}, follow_redirects=True)
    assert done.status_code == 200 and "カタログの更新" in done.get_data(as_text=True)
    window = db.scalar(sa.select(MaintenanceWindow))
    assert db.get(Notice, window.notice_id).title == "【計画メンテナンス】カタログの更新"
    client.post(f"/admin/service/maintenance/{window.id}/cancel", data={"csrf_token": CSRF, "reason": "延期", "confirmed": "1"})
    db.expire_all()
    assert db.get(MaintenanceWindow, window.id).cancel_reason == "延期"


def test_the_month_page_shows_the_target_and_refuses_a_bad_month(client, db):
    sign_in(client, csrf=CSRF)
    page = client.get("/admin/service/availability/?month=2026-11")
    assert page.status_code == 200 and "99.50%" in page.get_data(as_text=True)
    assert client.get("/admin/service/availability/?month=2026-13").status_code == 400


def test_the_auditor_reads_and_cannot_change(client, db):
    sign_in(client, ["auditor"], csrf=CSRF)
    for path in ("/admin/service/components/", "/admin/service/availability/", "/admin/service/maintenance/"):
        assert client.get(path).status_code == 200
    assert "監視対象の登録" not in client.get("/admin/service/components/").get_data(as_text=True)
    assert "計画メンテナンスの登録" not in client.get("/admin/service/maintenance/").get_data(as_text=True)
    refused = client.post("/admin/service/components/dcat/active", data={"csrf_token": CSRF, "active": "0"},
                          follow_redirects=True)
    assert "権限がありません" in refused.get_data(as_text=True)
    assert db.scalar(sa.select(ServiceComponent.active).where(ServiceComponent.key == "dcat")) is True


def test_a_municipal_admin_cannot_open_the_pages(client, db):
    sign_in(client, ["municipal-admin"], ["431001"], csrf=CSRF)
    assert client.get("/admin/service/components/").status_code == 403
