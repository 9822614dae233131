"""The platform's API clients against the real Keycloak: create with an IP allowlist, the gateway
check, rotation with an overlap, revocation; and bad input refused in words."""

import datetime as dt
import time

import pytest
import sqlalchemy as sa
from keycloak.exceptions import KeycloakError

from core.audit import AuditRecord
from core.calendar import today_jst
from core.errors import Conflict, Invalid
from tenancy.identity import api_clients, client_access
from tenancy.identity.allowlist import address_allowed, parse_allowlist
from tenancy.identity.keycloak import client_credentials_token
from tests.identity.gateway_status import STATUS_OF

OUTSIDE = "203.0.113.9"


def body(**fields):
    data = {"name": "防災ダッシュボード連携", "purpose": "避難所の開設状況を取得する",
            "scopes": ["broker.read"], "expires_on": (today_jst() + dt.timedelta(days=30)).isoformat(),
            "allowlist": ["127.0.0.1/32"]}
    return {**data, **fields}


@pytest.fixture
def cities(tenant_factory):
    return tenant_factory("431001"), tenant_factory("432024")


def token_of(settings, client_id, secret):
    return client_credentials_token(settings, client_id, secret)["access_token"]


def check(client, headers, token, address):
    response = client.post("/api/v1/gateway/check", json={"token": token, "address": address}, headers=headers)
    decided = response.get_json()
    # the status is the decision (a gateway reads it); the body says the same
    assert response.status_code == STATUS_OF[decided["reason"]], decided
    assert decided["allowed"] is (response.status_code == 200)
    return decided


def test_a_client_of_kumamoto_from_creation_to_revocation(client, db, cities, user_factory, keycloak_settings,
                                                           as_operator):
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    created = client.post("/api/v1/tenants/431001/api-clients", json=body(), headers=kumamoto)
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    client_id, secret, number = answer["client_id"], answer["client_secret"], answer["client"]["id"]
    assert answer["client"]["allowlist"] == ["127.0.0.1/32"]

    # the secret is shown once: never in the client's own page, nor in the audit log
    shown = client.get(f"/api/v1/api-clients/{number}", headers=kumamoto)
    assert shown.status_code == 200 and secret not in shown.get_data(as_text=True)
    db.expire_all()
    records = list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action.like("api_client.%"))))
    assert [r.action for r in records] == ["api_client.create"]
    assert all(secret not in str(r.after) for r in records)

    token = token_of(keycloak_settings, client_id, secret)
    allowed = check(client, as_operator, token, "127.0.0.1")
    assert allowed["allowed"] is True and allowed["tenant"] == "431001"
    refused = check(client, as_operator, token, OUTSIDE)
    assert refused["allowed"] is False and refused["reason"] == "address_not_allowed"
    assert "許可されていません" in refused["message_ja"]

    # renkei's own API refuses the token from outside its allowlist
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                      environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    outside = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                         environ_base={"REMOTE_ADDR": OUTSIDE})
    assert outside.status_code == 403 and OUTSIDE in outside.get_json()["detail_ja"]

    # another tenant's admin cannot see it
    _, uki = user_factory(("municipal-admin",), "432024")
    assert client.get(f"/api/v1/api-clients/{number}", headers=uki).status_code == 404
    assert client.get("/api/v1/api-clients", headers=uki).get_json()["total"] == 0
    assert client.post(f"/api/v1/api-clients/{number}/revoke", headers=uki).status_code == 404

    # rotation: both secrets work during the overlap, only the new one after it
    rotated = client.post(f"/api/v1/api-clients/{number}/rotate", json={"overlap_seconds": 8}, headers=kumamoto)
    assert rotated.status_code == 200, rotated.get_json()
    new_id, new_secret = rotated.get_json()["client_id"], rotated.get_json()["client_secret"]
    old_token = token_of(keycloak_settings, client_id, secret)
    new_token = token_of(keycloak_settings, new_id, new_secret)
    assert check(client, as_operator, old_token, "127.0.0.1")["allowed"] is True
    assert check(client, as_operator, new_token, "127.0.0.1")["allowed"] is True
    deadline = time.monotonic() + 60  # the overlap's end, waited for: a slow run only waits less
    while (answer := check(client, as_operator, old_token, "127.0.0.1"))["allowed"]:
        assert time.monotonic() < deadline, "the old secret still worked long after the overlap"
        time.sleep(0.2)  # polling the condition
    assert answer["reason"] == "secret_rotated"
    assert check(client, as_operator, new_token, "127.0.0.1")["allowed"] is True
    from tests.conftest import OPERATOR
    from admin.commands.jobs import run_jobs

    retired = dict(run_jobs(OPERATOR, ["api-client-retire"]))["api-client-retire"]  # the scheduler's job
    assert retired.status == "done" and retired.details == {"retired": 1}
    db.commit()
    with pytest.raises(KeycloakError):
        token_of(keycloak_settings, client_id, secret)
    assert check(client, as_operator, token_of(keycloak_settings, new_id, new_secret), "127.0.0.1")["allowed"] is True

    # revocation: no new token, and the tokens already issued are refused
    assert client.post(f"/api/v1/api-clients/{number}/revoke", headers=kumamoto).status_code == 200
    with pytest.raises(KeycloakError):
        token_of(keycloak_settings, new_id, new_secret)
    after = check(client, as_operator, new_token, "127.0.0.1")
    assert after["allowed"] is False and after["reason"] == "client_revoked"


def test_bad_input_is_refused_in_words(client, db, cities, user_factory):
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    wrong_prefix = client.post("/api/v1/tenants/431001/api-clients", json=body(allowlist=["10.0.0.0/33"]),
                               headers=kumamoto)
    assert wrong_prefix.status_code == 422
    messages = " ".join(e["message_ja"] for e in wrong_prefix.get_json()["errors"])
    assert "10.0.0.0/33" in messages and "0〜32" in messages

    yesterday = (today_jst() - dt.timedelta(days=1)).isoformat()
    past = client.post("/api/v1/tenants/431001/api-clients", json=body(expires_on=yesterday), headers=kumamoto)
    assert past.status_code == 422
    assert any(e["field"] == "expires_on" for e in past.get_json()["errors"])

    anyone = client.post("/api/v1/tenants/431001/api-clients", json=body(allowlist=[], allow_any=True), headers=kumamoto)
    assert anyone.status_code == 422  # only the operator may allow every address
    assert client.get("/api/v1/tenants/431001/api-clients", headers=kumamoto).get_json()["total"] == 0


# --- without Keycloak -----------------------------------------------------------------------------

class FakeDirectory:
    def __init__(self):
        self.clients, self.enabled = [], {}

    def create_api_client(self, client_id, name, description, claims, optional_scopes=()):
        self.clients.append((client_id, claims))
        self.enabled[client_id] = True
        return f"secret-{len(self.clients)}"

    def set_api_client_enabled(self, client_id, enabled):
        self.enabled[client_id] = enabled


@pytest.mark.parametrize("entry, words", [
    ("10.0.0.0/33", "0〜32"), ("2001:db8::/129", "0〜128"), ("10.0.0.1/8", "10.0.0.0/8"), ("example.jp", "IPv4/IPv6")])
def test_allowlist_entries_are_checked(entry, words):
    with pytest.raises(Invalid) as refused:
        parse_allowlist([entry])
    assert words in refused.value.problems[0]["message_ja"]


def test_allowlist_matching():
    assert parse_allowlist("192.0.2.7, 2001:db8::/32") == ["192.0.2.7/32", "2001:db8::/32"]
    assert address_allowed("192.0.2.0/24", "192.0.2.200")
    assert not address_allowed("192.0.2.0/24", "192.0.3.1")
    assert address_allowed("2001:db8::/32", "2001:db8::1")
    assert address_allowed("127.0.0.1/32", "::ffff:127.0.0.1")
    assert not address_allowed("", "127.0.0.1")  # empty: nobody
    assert address_allowed("*", "198.51.100.1")


def test_clients_count_against_the_quota(db, tenant_factory, operator):
    from usage import quota_plans

    tenant_factory("431001")
    quota_plans.set_quota_override(db, operator, "431001", {"metric": "api_clients", "limit": 1, "enforcement": "hard"})
    directory = FakeDirectory()
    api_clients.create_api_client(db, operator, directory, "431001", body())
    with pytest.raises(Conflict) as refused:
        api_clients.create_api_client(db, operator, directory, "431001", body(name="二つ目"))
    assert "上限（1 件）" in refused.value.message_ja
    assert len(directory.clients) == 1


def test_the_operator_may_allow_any_address_and_claims_say_so(db, tenant_factory, operator):
    tenant_factory("431001")
    directory = FakeDirectory()
    issued = api_clients.create_api_client(db, operator, directory, "431001", body(allowlist=[], allow_any=True))
    assert directory.clients[0][1] == {"renkei_client": str(issued.client.id), "renkei_tenant": "431001",
                                       "renkei_allowlist": "*"}


def test_the_gateway_reads_a_change_made_elsewhere_within_its_cache_age(db, tenant_factory, operator):
    """Another server process revokes (no shared memory): this one refuses within max_age; a change
    made in this process clears the memory at once."""
    from tenancy.identity.models import ApiClient, ApiClientCredential

    tenant_factory("431001")
    issued = api_clients.create_api_client(db, operator, FakeDirectory(), "431001", body())
    db.commit()
    ticks = [0.0]
    states = client_access.ClientStateCache(max_age=1.0, clock=lambda: ticks[0])
    assert states.row(db, issued.keycloak_client_id).status == "active"
    db.execute(sa.update(ApiClient).where(ApiClient.id == issued.client.id).values(status="revoked"))
    db.commit()
    assert states.row(db, issued.keycloak_client_id).status == "active"  # remembered for up to a second
    ticks[0] = 1.5
    assert states.row(db, issued.keycloak_client_id).status == "revoked"
    assert db.scalar(sa.select(ApiClientCredential.api_client_id)) == issued.client.id
    db.execute(sa.update(ApiClient).where(ApiClient.id == issued.client.id).values(status="active"))
    db.commit()
    api_clients.disable_api_client(db, operator, FakeDirectory(), issued.client.id)  # in this process: at once
    assert states.row(db, issued.keycloak_client_id).status == "disabled"
