"""Editing an API client (issue 15): the allowlist, scopes, expiry, name and purpose change without a new
client id or secret; Keycloak's tokens, the gateway check and renkei's own API follow; API, page and
command line, against the real Keycloak."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError

from core.audit import AuditRecord
from core.calendar import today_jst
from core.errors import Invalid
from tenancy.identity import api_clients
from tests.conftest import sign_in
from tests.identity.gateway_status import STATUS_OF

CSRF = "api-clients-edit-token"


def body(**fields):
    data = {"name": "防災ダッシュボード連携", "purpose": "避難所の開設状況を取得する", "scopes": ["broker.read"],
            "expires_on": (today_jst() + dt.timedelta(days=30)).isoformat(), "allowlist": ["127.0.0.1/32"]}
    return {**data, **fields}


def token_of(settings, client_id, secret, scope="openid"):
    oidc = KeycloakOpenID(server_url=settings.url + "/", realm_name=settings.realm, client_id=client_id,
                          client_secret_key=secret, timeout=settings.timeout)
    return oidc.token(grant_type="client_credentials", scope=scope)["access_token"]


def claims_in(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def gateway(client, headers, token, address):
    answer = client.post("/api/v1/gateway/check", json={"token": token, "address": address}, headers=headers)
    decided = answer.get_json()
    # the status is the decision (a gateway reads it); the body says the same
    assert answer.status_code == STATUS_OF[decided["reason"]], decided
    assert decided["allowed"] is (answer.status_code == 200)
    return decided


def own_api(client, token, address):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}, environ_base={"REMOTE_ADDR": address})


def edits(db, number) -> list[AuditRecord]:
    db.expire_all()
    return list(db.scalars(sa.select(AuditRecord).where(AuditRecord.target_id == str(number),
                                                        AuditRecord.action == "api_client.edit")))


def refuse_bad_edits(client, db, user_factory, number, kumamoto) -> None:
    """Another municipality's admin and bad input are refused, in words, and change nothing."""
    # another municipality's admin cannot edit it: refused, nothing changed
    _, uki = user_factory(("municipal-admin",), "432024")
    assert client.patch(f"/api/v1/api-clients/{number}", json={"allowlist": ["0.0.0.0/0"]},
                        headers=uki).status_code == 404
    assert client.get(f"/api/v1/api-clients/{number}", headers=kumamoto).get_json()["allowlist"] == ["127.0.0.1/32"]
    assert edits(db, number) == []

    # bad input: refused in words, nothing changed
    bad = client.patch(f"/api/v1/api-clients/{number}", json={"allowlist": ["10.0.0.0/33"]}, headers=kumamoto)
    assert bad.status_code == 422
    assert any("10.0.0.0/33" in e["message_ja"] and "0〜32" in e["message_ja"] for e in bad.get_json()["errors"])
    yesterday = (today_jst() - dt.timedelta(days=1)).isoformat()
    past = client.patch(f"/api/v1/api-clients/{number}", json={"expires_on": yesterday}, headers=kumamoto)
    assert past.status_code == 422 and [e["field"] for e in past.get_json()["errors"]] == ["expires_on"]
    assert client.patch(f"/api/v1/api-clients/{number}", json={"scopes": ["broker.delete"]},
                        headers=kumamoto).status_code == 422
    assert client.patch(f"/api/v1/api-clients/{number}", json={"tenant": "432024"}, headers=kumamoto).status_code == 422
    assert edits(db, number) == []


def follows_the_edit(client, keycloak_settings, as_operator, client_id, secret) -> None:
    """A credential of the edited client gets tokens with the new allowlist and scope, and the gateway
    and renkei's own API judge it by the new allowlist."""
    after = token_of(keycloak_settings, client_id, secret, scope="openid catalog.read")
    assert claims_in(after)["renkei_allowlist"] == "10.1.0.0/16"
    assert claims_in(after)["renkei_tenant"] == "431001"
    assert "catalog.read" in claims_in(after)["scope"].split()
    with pytest.raises(KeycloakError):  # no longer one of its scopes
        token_of(keycloak_settings, client_id, secret, scope="openid broker.read")
    accepted = gateway(client, as_operator, after, "10.1.2.3")
    assert accepted["allowed"] is True and accepted["tenant"] == "431001"
    refused = gateway(client, as_operator, after, "127.0.0.1")
    assert refused["allowed"] is False and refused["reason"] == "address_not_allowed"
    assert "127.0.0.1" in refused["message_en"] and "許可されていません" in refused["message_ja"]
    assert own_api(client, after, "10.1.2.3").status_code == 200
    outside = own_api(client, after, "127.0.0.1")
    assert outside.status_code == 403 and "127.0.0.1" in outside.get_json()["detail_ja"]


def test_kumamoto_moves_its_client_to_a_new_address_range(client, db, tenant_factory, user_factory, keycloak_settings,
                                                          as_operator):
    tenant_factory("431001"), tenant_factory("432024")
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    created = client.post("/api/v1/tenants/431001/api-clients", json=body(), headers=kumamoto)
    assert created.status_code == 201, created.get_json()
    first_id, first_secret = created.get_json()["client_id"], created.get_json()["client_secret"]
    number = created.get_json()["client"]["id"]
    before = token_of(keycloak_settings, first_id, first_secret)
    assert gateway(client, as_operator, before, "127.0.0.1")["allowed"] is True
    # a rotation in its overlap: two live credentials, both must follow the edit
    rotated = client.post(f"/api/v1/api-clients/{number}/rotate", json={"overlap_seconds": 600}, headers=kumamoto)
    second_id, second_secret = rotated.get_json()["client_id"], rotated.get_json()["client_secret"]

    refuse_bad_edits(client, db, user_factory, number, kumamoto)

    # the office moves: new allowlist, a scope swapped
    edited = client.patch(f"/api/v1/api-clients/{number}", json={"allowlist": ["10.1.0.0/16"], "scopes": ["catalog.read"]},
                          headers=kumamoto)
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["allowlist"] == ["10.1.0.0/16"] and edited.get_json()["scopes"] == ["catalog.read"]
    assert {c["client_id"] for c in edited.get_json()["credentials"]} == {first_id, second_id}  # same ids, no new secret

    for client_id, secret in ((second_id, second_secret), (first_id, first_secret)):
        follows_the_edit(client, keycloak_settings, as_operator, client_id, secret)

    # a token issued before the edit still carries the old allowlist, but the gateway and renkei's own
    # API both judge it by the allowlist stored in renkei: the edit applies to it at once
    assert claims_in(before)["renkei_allowlist"] == "127.0.0.1/32"
    assert gateway(client, as_operator, before, "127.0.0.1")["reason"] == "address_not_allowed"
    assert gateway(client, as_operator, before, "10.1.2.3")["allowed"] is True
    assert own_api(client, before, "127.0.0.1").status_code == 403
    assert own_api(client, before, "10.1.2.3").status_code == 200

    # audited with before and after, once
    records = edits(db, number)
    assert len(records) == 1 and records[0].tenant_code == "431001"
    assert json.loads(records[0].before) == {"allowlist": ["127.0.0.1/32"], "scopes": ["broker.read"]}
    assert json.loads(records[0].after) == {"allowlist": ["10.1.0.0/16"], "scopes": ["catalog.read"]}

    # the same values again: nothing written
    again = client.patch(f"/api/v1/api-clients/{number}", json={"allowlist": ["10.1.0.0/16"], "name": "防災ダッシュボード連携"},
                         headers=kumamoto)
    assert again.status_code == 200 and len(edits(db, number)) == 1

    # a revoked client cannot be edited
    assert client.post(f"/api/v1/api-clients/{number}/revoke", headers=kumamoto).status_code == 200
    closed = client.patch(f"/api/v1/api-clients/{number}", json={"name": "再利用"}, headers=kumamoto)
    assert closed.status_code == 409 and "失効" in closed.get_json()["detail_ja"]


def form(**fields):
    data = {"csrf_token": CSRF, "name": "観光案内連携", "purpose": "観光施設の混雑状況を配信する",
            "scopes": ["broker.read"], "expires_on": (today_jst() + dt.timedelta(days=90)).isoformat(),
            "allowlist": "127.0.0.1/32"}
    return {**data, **fields}


def test_the_edit_page_keeps_what_was_typed_and_saves(client, db, tenant_factory, directory):
    tenant_factory("431001")
    sign_in(client, ["municipal-admin"], ["431001"], csrf=CSRF)
    created = client.post("/admin/api-clients/new", data={**form(), "tenant": "431001",
                                                           "allowlist": "127.0.0.1/32\n2001:db8::/48"})
    assert created.status_code == 200
    listing = client.get("/admin/api-clients/").get_data(as_text=True)
    number = re.search(r"/admin/api-clients/(\d+)/edit", listing).group(1)

    page = client.get(f"/admin/api-clients/{number}/edit").get_data(as_text=True)
    assert "API クライアントの設定変更" in page and 'value="観光案内連携"' in page and 'type="date"' in page
    assert "127.0.0.1/32\n2001:db8::/48</textarea>" in page  # one network per line
    assert re.search(r'value="broker.read" checked', page) and not re.search(r'value="catalog.read" checked', page)

    refused = client.post(f"/admin/api-clients/{number}/edit", data=form(allowlist="10.1.0.0/16\n10.0.0.0/33",
                                                                          name="観光案内連携（新庁舎）"))
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "「10.0.0.0/33」: IPv4 のプレフィックス長は 0〜32 です" in text
    assert "10.1.0.0/16\n10.0.0.0/33</textarea>" in text and "観光案内連携（新庁舎）" in text  # nothing typed is lost

    yesterday = (today_jst() - dt.timedelta(days=1)).isoformat()
    past = client.post(f"/admin/api-clients/{number}/edit", data=form(expires_on=yesterday))
    assert past.status_code == 400 and "有効期限は本日" in past.get_data(as_text=True)
    assert f'value="{yesterday}"' in past.get_data(as_text=True)

    saved = client.post(f"/admin/api-clients/{number}/edit", data=form(allowlist="10.1.0.0/16", scopes=["catalog.read"]),
                        follow_redirects=True)
    shown = saved.get_data(as_text=True)
    assert "API クライアントの設定を変更しました。" in shown and "10.1.0.0/16" in shown and "データカタログの参照" in shown
    assert "127.0.0.1/32" not in shown
    assert len(edits(db, int(number))) == 1


def test_edit_from_the_command_line(app, db, tenant_factory, directory):
    tenant_factory("431001")

    def run(*args):
        return app.test_cli_runner().invoke(args=["clients", *args, "--as", "tanaka"])

    expires = (today_jst() + dt.timedelta(days=10)).isoformat()
    created = run("create", "--tenant", "431001", "--name", "夜間バッチ", "--purpose", "統計データの取得",
                  "--scope", "catalog.read", "--expires", expires, "--allow", "127.0.0.1/32")
    assert created.exit_code == 0, created.stderr
    number = run("list").stdout.split("\t")[0]

    refused = run("edit", number, "--allow", "10.0.0.0/33")
    assert refused.exit_code == 2 and "IPv4 のプレフィックス長は 0〜32" in refused.stderr

    later = (today_jst() + dt.timedelta(days=60)).isoformat()
    edited = run("edit", number, "--allow", "10.1.0.0/16", "--allow", "192.0.2.0/24", "--expires", later,
                 "--name", "夜間バッチ（新庁舎）", "--scope", "broker.read")
    assert edited.exit_code == 0, edited.stderr
    listed = run("list").stdout
    assert "夜間バッチ（新庁舎）" in listed and "10.1.0.0/16 192.0.2.0/24" in listed and later in listed
    record = edits(db, int(number))[0]
    assert "tanaka" in (record.actor_name, record.actor_subject)
    assert json.loads(record.before)["allowlist"] == ["127.0.0.1/32"] and json.loads(record.after)["expires_on"] == later


# --- without Keycloak -----------------------------------------------------------------------------

class FakeDirectory:
    def __init__(self):
        self.updates: list[tuple] = []

    def create_api_client(self, client_id, name, description, claims, optional_scopes=()):
        return "secret"

    def set_api_client_enabled(self, client_id, enabled):
        pass

    def update_api_client(self, client_id, name, description, claims, optional_scopes, managed_scopes):
        self.updates.append((client_id, claims, list(optional_scopes)))


def test_any_address_stays_the_operators_choice(db, tenant_factory, operator):
    from core.actor import Actor

    tenant_factory("431001")
    directory = FakeDirectory()
    issued = api_clients.create_api_client(db, operator, directory, "431001", body(allowlist=[], allow_any=True))
    admin = Actor(issuer="urn:test", subject="kumamoto-admin", name="熊本 管理者",
                  roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"431001"}))
    # the municipal admin may rename it; "any address" set by the operator is left as it is
    renamed = api_clients.edit_api_client(db, admin, directory, issued.client.id, {"name": "改名", "allow_any": True})
    assert renamed.allow_any is True and renamed.name == "改名"
    assert directory.updates[-1][1]["renkei_allowlist"] == "*"
    # an expiry that passed is not judged again when only the name changes
    renamed.expires_on = today_jst()
    api_clients.edit_api_client(db, admin, directory, issued.client.id, {"name": "再改名"})
    # but a municipal admin cannot grant "any address" to a client that does not have it
    api_clients.edit_api_client(db, operator, directory, issued.client.id,
                                {"allow_any": False, "allowlist": ["192.0.2.0/24"],
                                 "expires_on": today_jst() + dt.timedelta(days=5)})
    with pytest.raises(Invalid) as refused:
        api_clients.edit_api_client(db, admin, directory, issued.client.id, {"allow_any": True})
    assert refused.value.problems[0]["field"] == "allow_any" and "運営者" in refused.value.problems[0]["message_ja"]
    # only the expiry: nothing to change in Keycloak
    count = len(directory.updates)
    api_clients.edit_api_client(db, operator, directory, issued.client.id, {"expires_on": today_jst() + dt.timedelta(days=9)})
    assert len(directory.updates) == count
