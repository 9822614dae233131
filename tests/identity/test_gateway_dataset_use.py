"""Who uses a dataset (issue 37): a call through the gateway check (GET /api/v1/gateway/auth with
what nginx forwards: the original URI with its query and the Fiware headers) to a dataset's route is
counted for that dataset, and its provider sees it by consumer and API client (the API and the page);
a call of no dataset's route is counted without one; a provider sees only its own datasets' use.
tests/identity/test_gateway_nginx.py sends such a call through nginx."""

from __future__ import annotations

import sqlalchemy as sa

from core.calendar import current_month
from tests.conftest import sign_in
from tests.datasets.conftest import KUMAMOTO_ADMIN, YATSUSHIRO_ADMIN, draft
from tests.identity.test_gateway_auth import ask, basic, clean_quota_cache, make_kumamoto_client  # noqa: F401


def api_distribution(**route):
    from catalogue.operations import DistributionDraft

    return DistributionDraft(url="https://broker.example.jp/v2/entities", format="API", is_api=True, **route)


def register(db, actor, title, **route):
    from catalogue import operations

    provider = next(iter(actor.tenant_codes))
    dataset = operations.register(db, actor, draft(provider_code=provider, title_ja=title, standard_kind=None,
                                                   distributions=(api_distribution(**route),)))
    db.commit()
    return dataset.name


def call(client, keycloak_settings, token, uri, service="", service_path="", request_id=None):
    gateway = {"Authorization": basic(keycloak_settings.metering_client_id, keycloak_settings.metering_client_secret)}
    if service:
        gateway["X-Original-Fiware-Service"] = service
    if service_path:
        gateway["X-Original-Fiware-ServicePath"] = service_path
    answer = ask(client, gateway, token, uri=uri, request_id=request_id)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def events(db):
    from usage.models import UsageEvent

    return sorted((row.event_id, row.tenant_code)
                  for row in db.execute(sa.select(UsageEvent.event_id, UsageEvent.tenant_code)))


def test_a_call_to_a_datasets_route_is_that_datasets_use_by_consumer_and_client(
        client, db, tenant_factory, user_factory, keycloak_settings):
    answer, token, _ = make_kumamoto_client(client, tenant_factory, user_factory, keycloak_settings)
    tenant_factory("432024")
    shelters = register(db, YATSUSHIRO_ADMIN, "指定緊急避難場所一覧", route_service="kumamoto",
                        route_service_path="/shelters", route_entity_type="Shelter")

    assert call(client, keycloak_settings, token, "/v2/entities?type=Shelter&limit=20", "kumamoto", "/shelters",
                "req-1")["dataset"] == shelters
    assert call(client, keycloak_settings, token, "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001", "kumamoto",
                "/shelters", "req-2")["dataset"] == shelters
    again = call(client, keycloak_settings, token, "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001", "kumamoto",
                 "/shelters", "req-2")  # nginx asks again for one request: not counted, not used twice
    assert (again["counted"], again["dataset"]) == (False, shelters)
    other = call(client, keycloak_settings, token, "/v2/entities?type=Shelter", "kumamoto", "/elsewhere", "req-3")
    assert (other["counted"], other["dataset"]) == (True, None)  # counted for the tenant, of no dataset
    # a Fiware-Service sent twice (a consumer's copy beside nginx's) cannot say which dataset: refused, not counted
    twice = ask(client, {"Authorization": basic(keycloak_settings.metering_client_id,
                                                keycloak_settings.metering_client_secret),
                         "X-Original-Fiware-Service": "kumamoto,yatsushiro"}, token, request_id="req-4")
    assert twice.status_code == 400 and twice.get_json()["reason"] == "check_unavailable"
    # the consumer's api_calls, once each, folded from the call log with the dataset's use where one matched
    from admin.service.gateway_calls import fold_now

    fold_now(client.application)
    assert events(db) == [("gateway:req-1", "431001"), ("gateway:req-2", "431001"), ("gateway:req-3", "431001")]

    # the provider sees the use by consumer and client (the API)
    _, yatsushiro = user_factory(("municipal-admin",), "432024")
    month = current_month().strftime("%Y-%m")
    use = client.get(f"/api/v1/dataset-use/432024?month={month}", headers=yatsushiro)
    assert use.status_code == 200, use.get_json()
    assert use.get_json() == {"provider_code": "432024", "month": month, "calls": 2, "datasets": [{
        "name": shelters, "title_ja": "指定緊急避難場所一覧", "calls": 2, "consumers": [{
            "consumer_code": "431001", "consumer_name": "熊本市", "client_id": answer["client"]["id"],
            "client_name": "避難所ダッシュボード", "calls": 2}]}]}
    # ... and on its page, in Japanese, with pickers
    sign_in(client, ["municipal-admin"], ["432024"])
    page = client.get("/admin/dataset-use/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "データセットの利用状況" in text and "指定緊急避難場所一覧" in text and "熊本市（431001）" in text
    assert "避難所ダッシュボード" in text and '<select id="month"' in text
    english = client.get("/admin/dataset-use/?lang=en").get_data(as_text=True)
    assert "Who uses our datasets" in english

    # a consumer does not see the provider's use; a provider no other provider's
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    assert client.get(f"/api/v1/dataset-use/432024?month={month}", headers=kumamoto).status_code == 403
    assert client.get("/api/v1/dataset-use/431001", headers=yatsushiro).status_code == 403
    sign_in(client, ["municipal-admin"], ["431001"])
    assert client.get("/admin/dataset-use/?provider=432024").status_code == 403
    mine = client.get("/admin/dataset-use/").get_data(as_text=True)
    assert "指定緊急避難場所一覧" not in mine


def test_a_route_registered_after_the_index_was_built_is_matched_at_the_next_call(
        client, db, tenant_factory, user_factory, keycloak_settings):
    _, token, _ = make_kumamoto_client(client, tenant_factory, user_factory, keycloak_settings)
    assert call(client, keycloak_settings, token, "/v2/entities", "kumamoto", "/aed", "before")["dataset"] is None
    aed = register(db, KUMAMOTO_ADMIN, "AED設置箇所一覧", route_service="kumamoto", route_service_path="/aed")
    assert call(client, keycloak_settings, token, "/v2/entities?type=AED", "kumamoto", "/aed", "after")["dataset"] == aed


def test_a_route_another_dataset_uses_is_refused(db, tenant_factory):
    import pytest

    from core.errors import Conflict

    tenant_factory("431001")
    tenant_factory("432024")
    register(db, KUMAMOTO_ADMIN, "AED設置箇所一覧", route_service="kumamoto", route_service_path="/aed")
    with pytest.raises(Conflict) as refused:
        register(db, YATSUSHIRO_ADMIN, "AED", route_service="kumamoto", route_service_path="/aed")
    assert "431001-0001" in refused.value.message_ja
    db.rollback()


def dataset_calls(db) -> list[tuple[str, str, int]]:
    from usage.models import UsageDatasetCall

    db.rollback()  # a fresh snapshot
    return sorted((row.dataset, row.consumer_code, row.calls)
                  for row in db.execute(sa.select(UsageDatasetCall.dataset, UsageDatasetCall.consumer_code,
                                                  UsageDatasetCall.calls)))


def test_an_organisations_call_to_a_dataset_is_its_use_once_folded_not_written_in_the_check(
        client, db, tenant_factory, user_factory, keycloak_settings):
    """A member organisation's client has no quota, so no api_calls: its call's dataset use goes to the
    call log like a count (durable before the 200) and reaches the provider's figures with the fold."""
    from admin.service.gateway_calls import fold_now
    from tenancy.identity.keycloak import client_credentials_token
    from tests.identity.test_api_clients_followup import approved_organisation, body

    tenant_factory("432024")
    shelters = register(db, YATSUSHIRO_ADMIN, "指定緊急避難場所一覧", route_service="kumamoto",
                        route_service_path="/shelters", route_entity_type="Shelter")
    number = approved_organisation(db)
    _, org_admin = user_factory(("org-admin",), number, fresh=True)
    created = client.post(f"/api/v1/tenants/{number}/api-clients", json=body(), headers=org_admin)
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    token = client_credentials_token(keycloak_settings, answer["client_id"], answer["client_secret"])["access_token"]

    first = call(client, keycloak_settings, token, "/v2/entities?type=Shelter", "kumamoto", "/shelters", "org-1")
    assert (first["counted"], first["dataset"], first["tenant"]) == (False, shelters, number)
    call(client, keycloak_settings, token, "/v2/entities?type=Shelter", "kumamoto", "/shelters", "org-2")
    call(client, keycloak_settings, token, "/v2/entities?type=Shelter", "kumamoto", "/shelters", "org-2")  # again
    assert dataset_calls(db) == []  # nothing written by the check itself
    fold_now(client.application)
    assert dataset_calls(db) == [(shelters, number, 2)]
    assert events(db) == []  # an organisation has no api_calls
