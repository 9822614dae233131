"""The service API as the operator uses it (typed answers, problem+json refusals), open for development."""

from __future__ import annotations

import datetime as dt

import pytest

from core.calendar import JST


@pytest.fixture
def api(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_API_OPEN_FOR_DEVELOPMENT", True)
    return app.test_client()


def test_register_list_stop_and_refuse(api, component_server):
    created = api.post("/api/v1/service/components", json={"name_ja": "ブローカー", "url": component_server.url})
    assert created.status_code == 201, created.get_json()
    key = created.get_json()["key"]
    assert created.get_json()["state"] == "unknown"
    listed = api.get("/api/v1/service/components").get_json()["items"]
    assert [item["key"] for item in listed][:6] == ["renkei", "database", "keycloak", "gateway", "ckan", "dcat"]
    assert listed[-1]["key"] == key
    again = api.post("/api/v1/service/components", json={"name_ja": "ブローカー", "url": component_server.url})
    assert again.status_code == 422 and again.mimetype == "application/problem+json"
    assert again.get_json()["errors"][0]["field"] == "name_ja"
    stopped = api.put(f"/api/v1/service/components/{key}/active", json={"active": False})
    assert stopped.status_code == 200 and stopped.get_json()["active"] is False
    twice = api.put(f"/api/v1/service/components/{key}/active", json={"active": False})
    assert twice.status_code == 409 and twice.mimetype == "application/problem+json"
    assert api.put("/api/v1/service/components/c-999/active", json={"active": True}).status_code == 404


def test_schedule_and_cancel_a_window_and_read_the_month(api, tenant_factory):
    tenant_factory("431001")
    start = (dt.datetime.now(JST) + dt.timedelta(days=2)).replace(hour=3, minute=0, second=0, microsecond=0)
    body = {"title": "更新作業", "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
            "component_keys": ["ckan"], "tenant_codes": ["431001"]}
    refused = api.post("/api/v1/service/maintenance", json=body)
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "outside_hours_reason"
    created = api.post("/api/v1/service/maintenance", json={**body, "outside_hours_reason": "夜間のみ停止可能"})
    assert created.status_code == 201, created.get_json()
    window = created.get_json()
    assert window["components"] == ["ckan"] and window["tenants"] == ["431001"] and window["notice_id"]
    cancelled = api.post(f"/api/v1/service/maintenance/{window['id']}/cancel", json={"reason": "延期"})
    assert cancelled.status_code == 200 and cancelled.get_json()["cancelled_at"]
    month = api.get("/api/v1/service/availability?month=2026-11")
    assert month.status_code == 200
    assert month.get_json()["maintenance_excluded"] is True and len(month.get_json()["items"]) == 6


def test_settings_read_and_saved(api):
    assert api.get("/api/v1/service/settings").get_json()["target_percent"] == "99.50"
    saved = api.put("/api/v1/service/settings", json={"target_basis_points": 9990, "outage_after_minutes": 10,
                                                      "maintenance_weekdays_only": True, "maintenance_start_hour": 9,
                                                      "maintenance_end_hour": 18})
    assert saved.status_code == 200 and saved.get_json()["target_percent"] == "99.90"
    bad = api.put("/api/v1/service/settings", json={"target_basis_points": 9990, "outage_after_minutes": 10,
                                                    "maintenance_weekdays_only": True, "maintenance_start_hour": 18,
                                                    "maintenance_end_hour": 9})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
