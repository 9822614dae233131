"""The gateway check as nginx asks it (GET /api/v1/gateway/auth), against the real Keycloak: the
gateway's own credential (a client id and secret, not a token), the scopes a client was granted in
its token, the call's scope from the route table, the call counted once per request id, and the
refusal explainer's statuses. tests/identity/test_gateway_nginx.py runs the same through nginx."""

from __future__ import annotations

import base64
import datetime as dt

import jwt
import pytest

from core.calendar import today_jst

from tenancy.identity import gateway
from tenancy.identity.keycloak import client_credentials_token
from tests.admin.test_contract_words import DOUBLED_PUNCTUATION
from tests.identity.gateway_status import STATUS_OF


@pytest.fixture(autouse=True)
def clean_quota_cache():
    """The quota cache is per process and each test starts from an empty database: so from an empty
    cache, and a limit set here is not remembered into the next test."""
    from usage.quotas import reset_quota_caches

    reset_quota_caches()
    yield
    reset_quota_caches()


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def as_gateway(keycloak_settings):
    """What nginx sends as the gateway: the metering client's id and secret."""
    return {"Authorization": basic(keycloak_settings.metering_client_id, keycloak_settings.metering_client_secret)}


@pytest.fixture
def kumamoto_client(client, tenant_factory, user_factory, keycloak_settings):
    """A client of 熊本市 that may read the context broker from 127.0.0.1: (its answer, a fresh token)."""
    answer, token, _ = make_kumamoto_client(client, tenant_factory, user_factory, keycloak_settings)
    return answer, token


def make_kumamoto_client(client, tenant_factory, user_factory, keycloak_settings):
    """熊本市, its admin and a client of it that may read the context broker from 127.0.0.1: (the
    client's answer, a fresh token of it, the admin's headers)."""
    tenant_factory("431001")
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    created = client.post("/api/v1/tenants/431001/api-clients", headers=kumamoto, json={
        "name": "避難所ダッシュボード", "purpose": "避難所の開設状況を取得する", "scopes": ["broker.read"],
        "expires_on": (today_jst() + dt.timedelta(days=180)).isoformat(), "allowlist": ["127.0.0.1/32"]})
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    token = client_credentials_token(keycloak_settings, answer["client_id"], answer["client_secret"])["access_token"]
    return answer, token, kumamoto


def ask(client, gateway_headers, token, method="GET", uri="/v2/entities", address="127.0.0.1", request_id=None):
    headers = {**gateway_headers, "X-Original-Method": method, "X-Original-URI": uri,
               "X-Original-Remote-Addr": address}
    if token is not None:
        headers["X-Original-Authorization"] = f"Bearer {token}"
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    return client.get("/api/v1/gateway/auth", headers=headers)


def api_calls(client, as_operator) -> int:
    """The tenant's api_calls in its usage report, once the calls this process logged are folded in."""
    from admin.service.gateway_calls import fold_now

    fold_now(client.application)
    report = client.get("/api/v1/usage/report?tenant=431001", headers=as_operator).get_json()
    return report["tenants"][0]["values"].get("api_calls", 0)


def test_a_client_credentials_token_carries_the_scopes_its_client_was_granted(client, kumamoto_client,
                                                                              keycloak_settings, user_factory):
    answer, token = kumamoto_client
    assert jwt.decode(token, options={"verify_signature": False})["scope"].split().count("broker.read") == 1
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    edited = client.patch(f"/api/v1/api-clients/{answer['client']['id']}", json={"scopes": ["catalog.read"]},
                          headers=kumamoto)
    assert edited.status_code == 200, edited.get_json()
    fresh = client_credentials_token(keycloak_settings, answer["client_id"], answer["client_secret"])["access_token"]
    scopes = jwt.decode(fresh, options={"verify_signature": False})["scope"].split()
    assert "catalog.read" in scopes and "broker.read" not in scopes


def test_the_gateway_authenticates_with_its_client_id_and_secret_not_a_token(client, kumamoto_client, as_gateway,
                                                                             keycloak_settings, as_operator):
    _, token = kumamoto_client
    assert ask(client, as_gateway, token).status_code == 200
    for refused in ({}, {"Authorization": basic(keycloak_settings.metering_client_id, "not-the-secret")},
                    {"Authorization": "Basic not-base64!"}, as_operator,  # a person's bearer token
                    {"Authorization": f"Bearer {client_credentials_token(keycloak_settings, keycloak_settings.metering_client_id, keycloak_settings.metering_client_secret)['access_token']}"}):
        answer = ask(client, refused, token)
        assert answer.status_code == 401, answer.get_json()
        assert answer.headers["WWW-Authenticate"].startswith("Basic")
        assert answer.headers["X-Renkei-Reason"] == "check_unavailable"
        assert "ゲートウェイ" in answer.get_json()["detail_ja"]
    # a tenant's own API client is no gateway: it may not ask the check
    answer_, _ = kumamoto_client
    as_client = {"Authorization": basic(answer_["client_id"], answer_["client_secret"])}
    assert ask(client, as_client, token).status_code == 403


def test_the_status_is_the_decision_with_the_reason_tenant_and_client_in_headers(client, kumamoto_client, as_gateway,
                                                                                 user_factory):
    answer, token = kumamoto_client
    allowed = ask(client, as_gateway, token)
    assert allowed.status_code == 200
    assert allowed.headers["X-Renkei-Reason"] == "allowed"
    assert allowed.headers["X-Renkei-Tenant"] == "431001"
    assert allowed.headers["X-Renkei-Client"] == str(answer["client"]["id"])
    assert allowed.headers["X-Renkei-Scope"] == "broker.read"
    assert allowed.get_json()["allowed"] is True and allowed.get_json()["counted"] is True
    assert (allowed.get_json()["message_en"], allowed.get_json()["message_ja"]) == ("Allowed.", "許可します。")

    _, person = user_factory(("municipal-staff",), "431001")
    cases = [
        (None, "GET", "/v2/entities", "127.0.0.1", "token_invalid"),
        ("garbage.token.here", "GET", "/v2/entities", "127.0.0.1", "token_invalid"),
        (person["Authorization"].split()[1], "GET", "/v2/entities", "127.0.0.1", "not_an_api_client"),
        (token, "GET", "/v2/entities", "198.51.100.7", "address_not_allowed"),
        (token, "PATCH", "/v2/entities/urn:ngsi-ld:Shelter:1/attrs", "127.0.0.1", "scope_missing"),
        (token, "GET", "/catalog/api/3/action/package_list", "127.0.0.1", "scope_missing"),
        (token, "GET", "/v2/../admin/", "127.0.0.1", "route_not_known"),
        (token, "TRACE", "/v2/entities", "127.0.0.1", "route_not_known"),
        (token, "", "/v2/entities", "127.0.0.1", "route_not_known"),  # the gateway did not say: never a read
        (token, "GET", "", "127.0.0.1", "route_not_known"),
    ]
    for consumer, method, uri, address, reason in cases:
        refused = ask(client, as_gateway, consumer, method, uri, address)
        assert (refused.status_code, refused.headers["X-Renkei-Reason"]) == (STATUS_OF[reason], reason), uri
        body = refused.get_json()
        assert refused.mimetype == "application/problem+json"
        assert body["allowed"] is False and body["reason"] == reason and body["counted"] is False
        assert body["detail_en"] and body["detail_ja"]
        for key in ("title", "detail_en", "detail_ja", "message_en", "message_ja"):
            assert not DOUBLED_PUNCTUATION.search(str(body.get(key, ""))), body[key]
    # NGSIv2's query operation reads, though it is a POST
    assert ask(client, as_gateway, token, "POST", "/v2/op/query").status_code == 200


def test_an_allowed_call_is_counted_once_per_request_id_and_a_hard_limit_holds(
        client, db, kumamoto_client, as_gateway, as_operator, operator):
    from usage import quota_plans

    _, token = kumamoto_client
    first = ask(client, as_gateway, token, request_id="5f0c6bf1b2b04a0c9d8e7f6a5b4c3d2e")
    again = ask(client, as_gateway, token, request_id="5f0c6bf1b2b04a0c9d8e7f6a5b4c3d2e")  # nginx asks again
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.get_json()["counted"], again.get_json()["counted"]) == (True, False)
    assert api_calls(client, as_operator) == 1
    assert ask(client, as_gateway, token, request_id="another-request").get_json()["counted"] is True
    assert api_calls(client, as_operator) == 2
    refused = ask(client, as_gateway, token, address="198.51.100.7", request_id="refused-one")
    assert refused.status_code == 403 and api_calls(client, as_operator) == 2  # a refused call is not counted

    quota_plans.set_quota_override(db, operator, "431001", {"metric": "api_calls", "limit": 3, "enforcement": "hard"},
                              reason="gateway test")
    db.commit()
    last = ask(client, as_gateway, token)
    assert last.status_code == 200, last.get_json()
    over = ask(client, as_gateway, token)
    assert over.status_code == 429 and over.headers["X-Renkei-Reason"] == "hard_limit_reached"
    assert int(over.headers["Retry-After"]) > 0
    assert over.get_json()["quota"]["used"] == 3 and over.get_json()["quota"]["limit"] == 3
    assert api_calls(client, as_operator) == 3


def test_a_revoked_client_is_refused_at_once(client, kumamoto_client, as_gateway, user_factory):
    answer, token = kumamoto_client
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    assert ask(client, as_gateway, token).status_code == 200
    assert client.post(f"/api/v1/api-clients/{answer['client']['id']}/revoke", headers=kumamoto).status_code == 200
    revoked = ask(client, as_gateway, token)
    assert revoked.status_code == 401 and revoked.headers["X-Renkei-Reason"] == "client_revoked"


def test_the_refusal_explainer_answers_each_reason_with_its_status(client):
    for reason, status in STATUS_OF.items():
        if reason == "allowed":
            continue
        for lang, field in (("ja", "detail_ja"), ("en", "detail_en")):
            answer = client.get(f"/api/v1/gateway/refusal?reason={reason}&lang={lang}")
            assert answer.status_code == status and answer.mimetype == "application/problem+json"
            assert answer.get_json()["reason"] == reason and answer.get_json()["detail"] == answer.get_json()[field]
        assert ("Retry-After" in answer.headers) is (status == 429)
    for unknown in ("", "allowed", "no-such-reason"):  # the check did not answer: never a pass
        answer = client.get(f"/api/v1/gateway/refusal?reason={unknown}")
        assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0


def test_the_route_table_names_a_scope_for_each_api_and_method(client, as_operator):
    routes = client.get("/api/v1/gateway/routes", headers=as_operator)
    assert routes.status_code == 200
    assert {"prefix": "/v2/", "methods": ["POST", "PUT", "PATCH", "DELETE"], "scope": "broker.write",
            "api_ja": "コンテキストブローカー（NGSIv2）", "api_en": "Context broker (NGSIv2)"} in routes.get_json()["items"]


@pytest.mark.parametrize("method,uri,scope", [
    ("GET", "/v2/entities?type=Shelter", "broker.read"),
    ("HEAD", "/v2/entities", "broker.read"),
    ("POST", "/v2/entities", "broker.write"),
    ("POST", "/v2/op/query", "broker.read"),
    ("POST", "/v2/op/update", "broker.write"),
    ("DELETE", "/ngsi-ld/v1/entities/urn:x", "broker.write"),
    ("GET", "/catalog/api/3/action/package_show?id=1", "catalog.read"),
    ("POST", "/catalog/api/3/action/package_create", "catalog.write"),
    ("GET", "/v2/../catalog/api/3/action/package_list", "catalog.read"),  # as the upstream reads the path
    ("GET", "/catalog/%2e%2e/v2/entities", "broker.read"),
    ("GET", "//v2//entities", "broker.read"),
    ("GET", "/v2", "broker.read"),
    ("GET", "/v2x/entities", ""),
    ("GET", "/admin/", ""),
    ("OPTIONS", "/v2/entities", ""),
    ("GET", "", ""),
])
def test_the_scope_a_call_needs_is_read_from_the_route_table(method, uri, scope):
    assert gateway.required_scope(method, uri) == scope


def test_the_gateways_credential_is_asked_of_keycloak_again_after_its_bound():
    now = [0.0]
    asked = []

    def exchange(client_id, secret):
        asked.append(client_id)
        return {"sub": client_id, "exp": 10_000} if secret == "right" else None

    credentials = gateway.GatewayCredentials(exchange, max_age=60, clock=lambda: now[0], wall_clock=lambda: 0.0)
    assert credentials.claims("gw", "right")["sub"] == "gw"
    now[0] = 59.0
    assert credentials.claims("gw", "right") is not None and asked == ["gw"]
    now[0] = 60.5  # the bound passed: served, and asked again in the background (tests/identity/test_gateway_renewal.py)
    assert credentials.claims("gw", "right") is not None
    assert credentials.renewals.join(60) and asked == ["gw", "gw"]
    assert credentials.claims("gw", "wrong") is None and credentials.claims("gw", "wrong") is None
    assert asked == ["gw"] * 4  # a refused pair is never remembered as accepted


@pytest.mark.parametrize("name,value", [("X-Original-Method", "GET"), ("X-Original-Remote-Addr", "10.9.1.1")])
def test_a_repeated_x_original_header_is_refused_and_nothing_is_counted(client, kumamoto_client, as_gateway,
                                                                        as_operator, name, value):
    """A consumer's copy beside nginx's own (a config that passes the consumer's headers): refused, not guessed."""
    _, token = kumamoto_client
    headers = [*as_gateway.items(), ("X-Original-Method", "POST"), ("X-Original-URI", "/v2/entities"),
               ("X-Original-Remote-Addr", "10.0.0.9"), ("X-Original-Authorization", f"Bearer {token}"), (name, value)]
    answered = client.get("/api/v1/gateway/auth", headers=headers)
    assert answered.status_code == 400, answered.get_json()
    assert answered.mimetype == "application/problem+json"
    assert name in answered.get_json()["detail_en"] and name in answered.get_json()["detail_ja"]
    assert api_calls(client, as_operator) == 0


def test_the_contracts_header_limit_is_the_edges(client, as_gateway):
    """The document's maxLength of each X-Original-* header is what the edge accepts: one byte more is 431."""
    document = client.get("/api/v1/openapi.json").get_json()
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/gateway/auth"]["get"]["parameters"]}
    for name in ("X-Original-URI", "X-Original-Authorization"):
        longest = parameters[name]["schema"]["maxLength"]
        assert longest < 16384
        assert client.get("/api/v1/gateway/auth", headers={name: "a" * longest}).status_code != 431
        assert client.get("/api/v1/gateway/auth", headers={name: "a" * (longest + 1)}).status_code == 431


def test_a_count_that_cannot_be_made_durable_refuses_the_call_503_and_never_passes_it_uncounted(
        client, kumamoto_client, as_gateway, as_operator, monkeypatch):
    import errno

    from usage import call_log

    _, token = kumamoto_client

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(call_log, "_write_all", disk_full)
    refused = ask(client, as_gateway, token, request_id="disk-full")
    assert refused.status_code == 503, refused.get_json()
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.headers["X-Renkei-Reason"] == "check_unavailable" and int(refused.headers["Retry-After"]) > 0
    assert "記録できなかった" in refused.get_json()["detail_ja"] and refused.get_json()["detail_en"]
    monkeypatch.undo()  # the disk has room again: the next call opens a new segment and passes
    assert ask(client, as_gateway, token, request_id="disk-ok").get_json()["counted"] is True
    assert api_calls(client, as_operator) == 1
