"""The incident register's API: typed JSON, problem+json refusals in both languages, the letters as
PDF, and the request log's search."""

from __future__ import annotations

import datetime as dt

import pytest

from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
from tenancy.registry.sample import KUMAMOTO_SETTINGS

pytestmark = pytest.mark.keycloak


@pytest.fixture
def prefecture(db, operator, tenant_factory):
    tenant_factory("430005", kind="prefecture", name_ja="熊本県", name_en="Kumamoto Prefecture")
    tenant_factory("431001")
    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    db.commit()


def test_an_incident_through_the_api(client, prefecture, as_operator):
    detected = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    refused = client.post("/api/v1/incidents", json={"title": "停止", "tenant_codes": ["432032"]}, headers=as_operator)
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert "登録されていない団体です" in refused.get_data(as_text=True)
    created = client.post("/api/v1/incidents", json={
        "title": "データカタログの停止", "severity": "critical", "detected_at": detected,
        "components": [{"code": "catalogue", "name": "データカタログ"}], "tenant_codes": ["431001"]}, headers=as_operator)
    assert created.status_code == 201, created.get_json()
    incident = created.get_json()
    assert incident["status"] == "open" and incident["tenant_codes"] == ["431001"]
    assert [e["kind"] for e in incident["timeline"]] == ["detected"]
    number = incident["id"]
    listed = client.get("/api/v1/incidents", headers=as_operator).get_json()
    assert [(row["kind"], row["id"]) for row in listed["items"]] == [("platform", number)]
    early = client.post(f"/api/v1/incidents/{number}/close", json={
        "cause": "a", "impact": "b", "response": "c", "prevention": "d"}, headers=as_operator)
    assert early.status_code == 409
    first = client.post(f"/api/v1/incidents/{number}/first-report", headers=as_operator)
    assert first.status_code == 201 and first.get_json()["number"] == "デ戦第1号"
    recovered = client.post(f"/api/v1/incidents/{number}/entries", json={"kind": "recovered", "text": "復旧"},
                            headers=as_operator)
    assert recovered.status_code == 201 and recovered.get_json()["status"] == "recovered"
    final = client.post(f"/api/v1/incidents/{number}/close", json={
        "cause": "索引の破損", "impact": "検索停止", "response": "再作成", "prevention": "毎日検査"}, headers=as_operator)
    assert final.status_code == 201 and final.get_json()["number"] == "デ戦第2号"
    pdf = client.get(f"/api/v1/incidents/{number}/reports/final?format=pdf", headers=as_operator)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    facts = client.get(f"/api/v1/incidents/{number}/reports/first", headers=as_operator).get_json()
    assert facts["number"] == "デ戦第1号"


def test_the_request_log_search_answers_by_request_id(client, prefecture, as_operator, request_log_folder):
    first = client.get("/api/v1/incidents", headers={**as_operator, "X-Request-ID": "cause-finding-0001"})
    assert first.headers["X-Request-ID"] == "cause-finding-0001"
    found = client.get("/api/v1/request-log?request_id=cause-finding-0001", headers=as_operator).get_json()
    assert found["kept_in_files"] and [line["path"] for line in found["items"]] == ["/api/v1/incidents"]
    backwards = client.get("/api/v1/request-log?start=2026-01-02T00:00:00%2B09:00&end=2026-01-01T00:00:00%2B09:00",
                           headers=as_operator)
    assert backwards.status_code == 422 and "開始日時より後に" in backwards.get_data(as_text=True)


def test_the_api_edits_an_incident_as_its_page_does(client, prefecture, as_operator, db):
    import json

    import sqlalchemy as sa

    from core.audit import AuditRecord

    opened = client.post("/api/v1/incidents", json={"title": "監視が開いた障害", "severity": "minor"}, headers=as_operator)
    number = opened.get_json()["id"]
    unknown = client.patch(f"/api/v1/incidents/{number}", json={"add_tenant_codes": ["432032"]}, headers=as_operator)
    assert unknown.status_code == 422 and unknown.mimetype == "application/problem+json"
    assert "登録されていない団体です" in unknown.get_data(as_text=True)
    bad = client.patch(f"/api/v1/incidents/{number}", json={"severity": "apocalyptic"}, headers=as_operator)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    edited = client.patch(f"/api/v1/incidents/{number}", json={"severity": "critical", "add_tenant_codes": ["431001"]},
                          headers=as_operator)
    assert edited.status_code == 200, edited.get_json()
    body = edited.get_json()
    assert (body["severity"], body["tenant_codes"]) == ("critical", ["431001"])
    assert body["timeline"][-1]["kind"] == "note" and "431001" in body["timeline"][-1]["text"]
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "incident.edit"))
    assert json.loads(record.before)["severity"] == "minor" and json.loads(record.after)["severity"] == "critical"
    assert client.patch("/api/v1/incidents/999999", json={"severity": "minor"}, headers=as_operator).status_code == 404
    client.post(f"/api/v1/incidents/{number}/first-report", headers=as_operator)
    client.post(f"/api/v1/incidents/{number}/entries", json={"kind": "recovered", "text": "復旧"}, headers=as_operator)
    client.post(f"/api/v1/incidents/{number}/close", json={"cause": "a", "impact": "b", "response": "c", "prevention": "d"},
                headers=as_operator)
    closed = client.patch(f"/api/v1/incidents/{number}", json={"severity": "minor"}, headers=as_operator)
    assert closed.status_code == 409 and closed.mimetype == "application/problem+json"


def test_a_first_report_before_the_prefectures_settings_is_refused_as_a_state_not_as_a_bad_request(
        client, db, tenant_factory, as_operator):
    """The letter needs the prefecture's issuer and office: before an operator enters them the request is good and
    the platform is not ready, 409 (a 422 says the request's own content is wrong, and the contract test found one)."""
    tenant_factory("430005", kind="prefecture", name_ja="熊本県", name_en="Kumamoto Prefecture")
    tenant_factory("431001")
    created = client.post("/api/v1/incidents", json={"title": "停止", "tenant_codes": ["431001"]}, headers=as_operator)
    assert created.status_code == 201, created.get_json()
    refused = client.post(f"/api/v1/incidents/{created.get_json()['id']}/first-report", headers=as_operator)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert "県の設定" in problem["detail_ja"] and "Settings" in problem["detail_en"]
