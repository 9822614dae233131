"""Issue 26 against the real Keycloak: 熊本市's admin cannot open a client to the world, give it a write
scope or a long expiry without the operator; a spoofed X-Forwarded-For from an unlisted peer does not
pass; a revoked, disabled or waiting client's token is refused by renkei's own API as by the gateway,
and a client deleted in Keycloak directly is shown as such and refused."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from keycloak.exceptions import KeycloakError

from admin.proxies import TrustedProxies, parse_trusted
from core.calendar import today_jst
from tenancy.identity import client_access
from tenancy.identity.keycloak import client_credentials_token

CALLER = "192.0.2.10"
OUTSIDE = "203.0.113.9"


def body(**fields):
    return {"name": "防災ダッシュボード連携", "purpose": "避難所の開設状況を取得する", "scopes": ["broker.read"],
            "expires_on": (today_jst() + dt.timedelta(days=30)).isoformat(), "allowlist": ["192.0.2.0/24"], **fields}


@pytest.fixture
def kumamoto(tenant_factory, user_factory):
    tenant_factory("431001")
    return user_factory(("municipal-admin",), "431001")[1]


def register(client, headers, **fields):
    created = client.post("/api/v1/tenants/431001/api-clients", json=body(**fields), headers=headers)
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def me(client, token, address=CALLER, **headers):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}", **headers},
                      environ_base={"REMOTE_ADDR": address})


def gateway(client, headers, token, address=CALLER):
    answer = client.post("/api/v1/gateway/check", json={"token": token, "address": address}, headers=headers)
    decision = answer.get_json()
    # the status is the decision (a gateway reads it): 200 when allowed, the refusal's status otherwise
    assert (answer.status_code == 200) == decision["allowed"], decision
    return decision


def test_kumamoto_cannot_open_a_client_to_the_world(client, db, kumamoto):
    for allowlist in (["0.0.0.0/0"], ["::/0"], ["0.0.0.0/1", "128.0.0.0/1"], ["::ffff:0:0/96"]):
        refused = client.post("/api/v1/tenants/431001/api-clients", json=body(allowlist=allowlist), headers=kumamoto)
        assert refused.status_code == 422, (allowlist, refused.get_json())
        assert any("運営者" in e["message_ja"] for e in refused.get_json()["errors"])
    number = register(client, kumamoto)["client"]["id"]
    edited = client.patch(f"/api/v1/api-clients/{number}", json={"allowlist": ["0.0.0.0/1", "128.0.0.0/1"]},
                          headers=kumamoto)
    assert edited.status_code == 422
    assert client.get(f"/api/v1/api-clients/{number}", headers=kumamoto).get_json()["allowlist"] == ["192.0.2.0/24"]
    assert client.get("/api/v1/tenants/431001/api-clients", headers=kumamoto).get_json()["total"] == 1


def test_a_write_scope_or_a_long_expiry_waits_for_the_operator(client, db, kumamoto, keycloak_settings, as_operator):
    writer = register(client, kumamoto, scopes=["broker.read", "broker.write"])
    assert writer["client"]["status"] == "pending"
    with pytest.raises(KeycloakError):  # the secret was shown, but no token until the operator approves
        client_credentials_token(keycloak_settings, writer["client_id"], writer["client_secret"])
    late = register(client, kumamoto, name="長期", expires_on=(today_jst() + dt.timedelta(days=400)).isoformat())
    assert late["client"]["status"] == "pending"

    waiting = client.get("/api/v1/api-client-requests", headers=kumamoto).get_json()
    assert waiting["total"] == 2 and {r["reasons"][0]["field"] for r in waiting["items"]} == {"scopes", "expires_on"}
    first = next(r for r in waiting["items"] if r["client"] == writer["client"]["id"])
    assert client.post(f"/api/v1/api-client-requests/{first['id']}/approve", json={},
                       headers=kumamoto).status_code == 403  # only the operator approves
    approved = client.post(f"/api/v1/api-client-requests/{first['id']}/approve", json={"note": "確認済み"},
                           headers=as_operator)
    assert approved.status_code == 200 and approved.get_json()["status"] == "active"
    token = client_credentials_token(keycloak_settings, writer["client_id"], writer["client_secret"])["access_token"]
    assert me(client, token).status_code == 200

    # an edit that adds a write scope waits; the client keeps its settings until approved
    plain = register(client, kumamoto, name="読み取り専用")
    number = plain["client"]["id"]
    asked = client.patch(f"/api/v1/api-clients/{number}", json={"scopes": ["catalog.write"]}, headers=kumamoto)
    assert asked.status_code == 202 and asked.get_json()["status"] == "pending", asked.get_json()
    assert client.get(f"/api/v1/api-clients/{number}", headers=kumamoto).get_json()["scopes"] == ["broker.read"]
    rejected = client.post(f"/api/v1/api-client-requests/{asked.get_json()['id']}/reject",
                           json={"note": "書き込みは不要です"}, headers=as_operator)
    assert rejected.status_code == 200 and rejected.get_json()["scopes"] == ["broker.read"]


def test_a_spoofed_forwarded_for_from_an_unlisted_peer_does_not_pass(app, client, db, kumamoto, keycloak_settings,
                                                                     monkeypatch):
    issued = register(client, kumamoto)
    token = client_credentials_token(keycloak_settings, issued["client_id"], issued["client_secret"])["access_token"]
    assert me(client, token, CALLER).status_code == 200
    spoofed = me(client, token, OUTSIDE, **{"X-Forwarded-For": CALLER})
    assert spoofed.status_code == 403 and OUTSIDE in spoofed.get_json()["detail_en"]
    # listed as the load balancer, the same peer is believed
    layer = app.wsgi_app
    assert isinstance(layer, TrustedProxies)
    monkeypatch.setattr(layer, "networks", parse_trusted("10.0.0.10/32"))
    assert me(client, token, "10.0.0.10", **{"X-Forwarded-For": f"{OUTSIDE}, {CALLER}"}).status_code == 200
    assert me(client, token, OUTSIDE, **{"X-Forwarded-For": CALLER}).status_code == 403


def test_a_revoked_or_disabled_client_is_refused_by_renkeis_own_api(app, client, db, kumamoto, keycloak_settings,
                                                                     as_operator, monkeypatch):
    issued = register(client, kumamoto)
    number = issued["client"]["id"]
    token = client_credentials_token(keycloak_settings, issued["client_id"], issued["client_secret"])["access_token"]
    assert me(client, token).status_code == 200
    assert client.post(f"/api/v1/api-clients/{number}/disable", headers=kumamoto).status_code == 200
    refused = me(client, token)
    assert refused.status_code == 401 and "一時停止" in refused.get_json()["detail_ja"]
    assert client.post(f"/api/v1/api-clients/{number}/enable", headers=kumamoto).status_code == 200
    assert me(client, token).status_code == 200

    # revoked by another process: this one refuses once its memory of the client is 1 s old
    ticks = [0.0]
    monkeypatch.setitem(app.extensions, "renkei_client_states",
                        client_access.ClientStateCache(max_age=1.0, clock=lambda: ticks[0]))
    assert me(client, token).status_code == 200
    from sqlalchemy import update

    from tenancy.identity.models import ApiClient, ClientStatus

    db.execute(update(ApiClient).where(ApiClient.id == number).values(status=ClientStatus.revoked))
    db.commit()
    ticks[0] = 1.0
    assert me(client, token).status_code == 401
    assert gateway(client, as_operator, token)["reason"] == "client_revoked"


def test_a_client_deleted_in_keycloak_is_shown_missing_and_refused(app, client, db, kumamoto, keycloak_settings,
                                                                    directory, as_operator, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_ADMIN_EVENTS_INTERVAL", 0.2)
    app.extensions.pop("renkei_admin_events", None)
    issued = register(client, kumamoto)
    number = issued["client"]["id"]
    token = client_credentials_token(keycloak_settings, issued["client_id"], issued["client_secret"])["access_token"]
    assert me(client, token).status_code == 200
    directory.delete_api_client(issued["client_id"])  # in Keycloak's console, not through renkei
    deadline = time.monotonic() + 30  # a generous wait for the condition; the bound is one poll interval
    while me(client, token).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)  # polling the condition (refused), with a deadline
    refused = me(client, token)
    assert refused.status_code == 401 and "認証サーバーにありません" in refused.get_json()["detail_ja"]
    assert gateway(client, as_operator, token)["reason"] == "client_missing"
    shown = client.get(f"/api/v1/api-clients/{number}", headers=kumamoto).get_json()
    assert [c["missing_in_keycloak"] for c in shown["credentials"]] == [True]
