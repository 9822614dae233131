"""The onboarding API with real tokens: one endpoint per transition, 409 with the reason for illegal moves."""

import dataclasses

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from tenancy.identity.keycloak import IdentityDirectory
from tenancy.onboarding.models import ProvisioningStep

from .conftest import audit_actions, tenant_groups


@pytest.fixture
def use_directory(app):
    def install(directory):
        app.extensions["renkei_identity"] = directory

    yield install
    app.extensions.pop("renkei_identity", None)


def test_onboarding_through_the_api_from_application_to_active(client, db, applicant, as_operator, directory):
    tenant = applicant()
    code = tenant.code
    assert client.post(f"/api/v1/tenants/{code}/screen", json={"reason": "申込書受領"}, headers=as_operator).status_code == 200
    for item in ("application_received", "eligibility_confirmed", "no_antisocial_ties", "agreements_accepted"):
        response = client.put(f"/api/v1/tenants/{code}/checklist/screening/{item}", json={"checked": True}, headers=as_operator)
        assert response.status_code == 200
    approved = client.post(f"/api/v1/tenants/{code}/approve", json={"reason": "審査完了"}, headers=as_operator)
    assert approved.get_json()["allowed_transitions"] == ["start_provisioning", "withdraw"]
    response = client.post(f"/api/v1/tenants/{code}/provision", json={}, headers=as_operator)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "active"
    assert [s["status"] for s in body["provisioning"]] == ["done"] * 4
    assert body["platform_resources"]["fiware_service"].endswith(f"_{code}")
    assert [(t["from_status"], t["to_status"]) for t in body["timeline"]] == [
        ("applied", "screening"), ("screening", "approved"), ("approved", "provisioning"), ("provisioning", "active")]
    assert len(tenant_groups(directory, code)) == 1

    timeline = client.get(f"/api/v1/tenants/{code}/transitions", headers=as_operator).get_json()["items"]
    assert timeline[0]["reason"] == "申込書受領"


@pytest.mark.parametrize("status,path,reason_ja", [
    ("applied", "activate", "環境構築を終えた"),
    ("screening", "provision", "承認済"),
    ("withdrawn", "withdraw", "すでに脱退"),
    ("active", "resume", "利用停止"),
])
def test_illegal_transitions_are_409_with_the_reason_and_change_nothing(client, db, tenant_factory, as_operator,
                                                                         snapshot, status, path, reason_ja):
    tenant_factory("432113", status=status)
    before = snapshot("432113")
    response = client.post(f"/api/v1/tenants/432113/{path}", json={"reason": "テスト"}, headers=as_operator)
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert reason_ja in body["detail_ja"] and "宇土市" in body["detail_ja"]
    assert "Uto" in body["detail_en"] and "Nothing was changed" in body["detail_en"]
    assert snapshot("432113") == before


def test_withdrawing_twice_through_the_api(client, db, applicant, as_operator, snapshot):
    tenant = applicant()
    first = client.post(f"/api/v1/tenants/{tenant.code}/withdraw", json={"reason": "申込の取下げ"}, headers=as_operator)
    assert first.status_code == 200
    before = snapshot(tenant.code)
    second = client.post(f"/api/v1/tenants/{tenant.code}/withdraw", json={"reason": "申込の取下げ"}, headers=as_operator)
    assert second.status_code == 409
    assert "すでに脱退" in second.get_json()["detail_ja"]
    assert snapshot(tenant.code) == before
    assert audit_actions(db, tenant.code).count("tenant.withdraw") == 1


def test_approval_with_unmet_guards_lists_each_one(client, db, applicant, as_operator, snapshot, default_guards):
    tenant = applicant()
    client.post(f"/api/v1/tenants/{tenant.code}/screen", json={}, headers=as_operator)
    before = snapshot(tenant.code)
    response = client.post(f"/api/v1/tenants/{tenant.code}/approve", json={}, headers=as_operator)
    assert response.status_code == 409
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {f"checklist.screening.{k}" for k in
                      ("application_received", "eligibility_confirmed", "no_antisocial_ties", "agreements_accepted")}
    assert snapshot(tenant.code) == before


def test_a_missing_reason_is_422(client, tenant_factory, as_operator, snapshot):
    tenant_factory("432113", status="active")
    before = snapshot("432113")
    response = client.post("/api/v1/tenants/432113/suspend", json={}, headers=as_operator)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "reason"
    assert snapshot("432113") == before


@pytest.mark.parametrize("path,body", [
    ("/api/v1/tenants/432113/screen", {"reason": "x" * 2001}),
    ("/api/v1/tenants/432113/screen", {"why": "x"}),
    ("/api/v1/tenants/432112/screen", {}),
    ("/api/v1/tenants/432113/checklist/screening/favourite_colour", {"checked": True}),
    ("/api/v1/tenants/432113/checklist/screening/no_antisocial_ties", {"checked": "maybe"}),
])
def test_bad_input_is_422_never_500(client, tenant_factory, as_operator, path, body):
    tenant_factory("432113", status="applied")
    method = client.put if "/checklist/" in path else client.post
    response = method(path, json=body, headers=as_operator)
    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_a_municipal_admin_cannot_move_a_tenant(client, tenant_factory, user_factory, snapshot):
    tenant_factory("432113", status="applied", contacts=[{"name": "宇土 美咲", "email": "uto@example.jp"}])
    _, headers = user_factory(("municipal-admin",), "432113")
    before = snapshot("432113")
    response = client.post("/api/v1/tenants/432113/screen", json={}, headers=headers)
    assert response.status_code == 403
    assert snapshot("432113") == before
    assert client.get("/api/v1/tenants/432113/onboarding", headers=headers).status_code == 200


def test_a_failed_step_is_stored_even_though_the_response_is_an_error(client, db, approved, as_operator, directory,
                                                                     keycloak_settings, use_directory):
    tenant = approved()
    use_directory(IdentityDirectory(dataclasses.replace(keycloak_settings, url="http://127.0.0.1:9")))
    response = client.post(f"/api/v1/tenants/{tenant.code}/provision", json={}, headers=as_operator)
    assert response.status_code == 503
    body = response.get_json()
    assert body["retryable"] is True and body["details"]["failed_step"] == "keycloak_group"
    db.expire_all()
    failed = db.scalars(sa.select(ProvisioningStep).where(ProvisioningStep.status == "failed")).one()
    assert failed.step == "keycloak_group"
    board = client.get("/api/v1/onboarding/board", headers=as_operator).get_json()
    [card] = board["columns"]["provisioning"]
    assert (card["code"], card["failed_step"]) == (tenant.code, "keycloak_group")

    use_directory(directory)
    retried = client.post(f"/api/v1/tenants/{tenant.code}/retry", json={}, headers=as_operator)
    assert retried.status_code == 200 and retried.get_json()["status"] == "active"
    assert len(tenant_groups(directory, tenant.code)) == 1


def test_the_board_counts_by_state_and_wave(client, tenant_factory, as_operator):
    tenant_factory("430005", status="active")
    tenant_factory("431001", status="active", wave_fiscal_year=2024)
    tenant_factory("432024", status="active", wave_fiscal_year=2024)
    tenant_factory("432059", status="applied", wave_fiscal_year=2025)
    board = client.get("/api/v1/onboarding/board", headers=as_operator).get_json()
    assert board["active_municipalities"] == 2  # the prefecture is a tenant, not a municipality
    assert board["counts"]["active"] == 3 and board["counts"]["applied"] == 1
    assert board["waves"]["2024"]["active"] == 2 and board["waves"]["2025"]["applied"] == 1


def test_the_outbox_is_viewable_and_scoped(client, db, applicant, as_operator, user_factory):
    tenant = applicant()
    client.post(f"/api/v1/tenants/{tenant.code}/screen", json={}, headers=as_operator)
    items = client.get(f"/api/v1/onboarding/outbox?tenant={tenant.code}", headers=as_operator).get_json()["items"]
    assert [i["kind"] for i in items] == ["tenant.screening"]
    assert items[0]["status"] == "queued" and "審査中" in items[0]["subject"]
    _, other_admin = user_factory(("municipal-admin",), "431001")
    assert client.get(f"/api/v1/onboarding/outbox?tenant={tenant.code}", headers=other_admin).status_code == 403


def test_a_wave_through_the_api(client, db, as_operator, directory):
    csv_text = ("code,contact_name,contact_email,application_received,eligibility_confirmed,no_antisocial_ties,agreements_accepted\n"
                "434418,御船 大輔,api-wave-mifune@example.jp,済,済,済,済\n"
                "434825,芦北 由美,api-wave-ashikita@example.jp,済,済,,済\n")
    response = client.post("/api/v1/onboarding/waves", json={"fiscal_year": "令和7年度", "csv": csv_text}, headers=as_operator)
    assert response.status_code == 200
    body = response.get_json()
    assert body["fiscal_year"] == 2025 and body["all_active"] is False
    outcomes = {o["code"]: o for o in body["outcomes"]}
    assert outcomes["434418"]["status"] == "active" and outcomes["434418"]["ok"] is True
    assert outcomes["434825"]["status"] == "screening" and "反社会的勢力" in outcomes["434825"]["message_ja"]
    db.expire_all()
    last = db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq.desc())).first()
    assert last.action == "onboarding.wave"  # the whole wave is one act ...
    assert "tenant.activate" in audit_actions(db)  # ... with every municipality's moves inside it
