"""The operator's policy for API clients (issue 26, item 2): "any address" in every spelling is the
operator's alone; a wider network, a scope that needs approval or a later expiry waits for the
operator; edits that widen wait too; the operator approves or rejects (without Keycloak here: the
directory is a recorder; tests/identity/test_api_clients_access_ends.py runs it against the real one)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.errors import Conflict, Invalid, NotPermitted
from tenancy.identity import api_clients, client_policy
from tenancy.identity.allowlist import address_allowed, parse_allowlist
from tenancy.identity.models import ApiClientRequest, ClientStatus, RequestStatus

TODAY = dt.date(2026, 11, 23)
KUMAMOTO_ADMIN = Actor(issuer="urn:test", subject="kumamoto-admin", name="熊本市 管理者",
                       roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"431001"}))


class Recorder:
    """What renkei asked of Keycloak (enabled state per client id)."""

    def __init__(self):
        self.enabled: dict[str, bool] = {}
        self.updated: list[str] = []

    def create_api_client(self, client_id, name, description, claims, optional_scopes=(), *, enabled=True):
        self.enabled[client_id] = enabled
        return "secret"

    def set_api_client_enabled(self, client_id, enabled):
        self.enabled[client_id] = enabled

    def update_api_client(self, client_id, name, description, claims, optional_scopes, managed_scopes):
        self.updated.append(client_id)


def body(**fields):
    return {"name": "防災ダッシュボード連携", "purpose": "避難所の開設状況を取得する", "scopes": ["broker.read"],
            "expires_on": TODAY + dt.timedelta(days=30), "allowlist": ["192.0.2.0/24"], **fields}


@pytest.fixture
def kumamoto(tenant_factory):
    return tenant_factory("431001")


ANY_ADDRESS = [
    ["0.0.0.0/0"], ["::/0"], ["0.0.0.0/1", "128.0.0.0/1"], ["::/1", "8000::/1"], ["::ffff:0:0/96"],
    ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"], ["::/64"], ["64:ff9b::/96"], ["0.0.0.0/0", "192.0.2.0/24"],
]


@pytest.mark.parametrize("allowlist", ANY_ADDRESS, ids=lambda a: "+".join(a))
def test_any_address_in_any_spelling_is_refused_to_a_municipal_admin(db, kumamoto, allowlist):
    directory = Recorder()
    with pytest.raises(Invalid) as refused:
        api_clients.create_api_client(db, KUMAMOTO_ADMIN, directory, "431001", body(allowlist=allowlist), today=TODAY)
    assert any(p["field"] == "allowlist" and "運営者" in p["message_ja"] for p in refused.value.problems)
    assert directory.enabled == {}  # nothing made in Keycloak


@pytest.mark.parametrize("allowlist", ANY_ADDRESS[:5], ids=lambda a: "+".join(a))
def test_any_address_in_any_spelling_is_refused_on_edit(db, kumamoto, allowlist):
    issued = api_clients.create_api_client(db, KUMAMOTO_ADMIN, Recorder(), "431001", body(), today=TODAY)
    with pytest.raises(Invalid):
        api_clients.edit_api_client(db, KUMAMOTO_ADMIN, Recorder(), issued.client.id, {"allowlist": allowlist},
                                    today=TODAY)
    assert db.get(type(issued.client), issued.client.id).allowlist == "192.0.2.0/24"


def test_the_operator_may_allow_any_address(db, kumamoto, operator):
    issued = api_clients.create_api_client(db, operator, Recorder(), "431001", body(allowlist=["0.0.0.0/0"]), today=TODAY)
    assert issued.client.status is ClientStatus.active


def test_mapped_ipv6_is_stored_and_matched_as_ipv4():
    assert parse_allowlist(["::ffff:192.0.2.0/120"]) == ["192.0.2.0/24"]
    assert address_allowed("192.0.2.0/24", "::ffff:192.0.2.9")
    assert client_policy.every_address(["::ffff:0:0/96"]) == ["IPv4"]
    assert client_policy.every_address(["10.0.0.0/8"]) == []


@pytest.mark.parametrize("fields, field", [
    ({"allowlist": ["10.0.0.0/15"]}, "allowlist"),  # wider than /16
    ({"allowlist": ["10.0.0.0/16", "10.1.0.0/16"]}, "allowlist"),  # two /16s that make one /15
    ({"allowlist": ["2001:db8::/47"]}, "allowlist"),  # wider than /48
    ({"scopes": ["broker.read", "broker.write"]}, "scopes"),
    ({"scopes": ["catalog.write"]}, "scopes"),
    ({"expires_on": TODAY + dt.timedelta(days=366)}, "expires_on"),
])
def test_a_registration_beyond_the_policy_waits_for_the_operator(db, kumamoto, fields, field):
    directory = Recorder()
    issued = api_clients.create_api_client(db, KUMAMOTO_ADMIN, directory, "431001", body(**fields), today=TODAY)
    assert issued.client.status is ClientStatus.pending
    assert directory.enabled == {issued.keycloak_client_id: False}  # the secret exists, but no token is issued
    (request, _), = api_clients.list_requests(db, KUMAMOTO_ADMIN)
    assert [reason["field"] for reason in api_clients.request_summary(request, issued.client)["reasons"]] == [field]


def test_within_the_policy_a_registration_is_active_at_once(db, kumamoto):
    directory = Recorder()
    issued = api_clients.create_api_client(db, KUMAMOTO_ADMIN, directory, "431001",
                                           body(allowlist=["10.0.0.0/16", "2001:db8::/48"],
                                                expires_on=TODAY + dt.timedelta(days=365)), today=TODAY)
    assert issued.client.status is ClientStatus.active and directory.enabled[issued.keycloak_client_id] is True
    assert api_clients.list_requests(db, KUMAMOTO_ADMIN) == []


def test_the_operator_approves_a_waiting_registration(db, kumamoto, operator):
    directory = Recorder()
    issued = api_clients.create_api_client(db, KUMAMOTO_ADMIN, directory, "431001",
                                           body(scopes=["broker.write"]), today=TODAY)
    (request, _), = api_clients.list_requests(db, operator)
    with pytest.raises(NotPermitted):
        api_clients.approve_request(db, KUMAMOTO_ADMIN, directory, request.id, today=TODAY)
    # while waiting it cannot be changed, disabled or rotated; it can be withdrawn (revoked)
    with pytest.raises(Conflict):
        api_clients.edit_api_client(db, KUMAMOTO_ADMIN, directory, issued.client.id, {"name": "別名"}, today=TODAY)
    with pytest.raises(Conflict):
        api_clients.disable_api_client(db, KUMAMOTO_ADMIN, directory, issued.client.id)
    client = api_clients.approve_request(db, operator, directory, request.id, "確認しました", today=TODAY)
    assert client.status is ClientStatus.active and directory.enabled[issued.keycloak_client_id] is True
    assert RequestStatus(db.get(ApiClientRequest, request.id).status) is RequestStatus.approved
    with pytest.raises(Conflict):  # decided once
        api_clients.approve_request(db, operator, directory, request.id, today=TODAY)
    actions = [r.action for r in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq))]
    assert actions[-2:] == ["api_client.create", "api_client.approve"]


def test_the_operator_rejects_a_waiting_registration_with_a_reason(db, kumamoto, operator):
    directory = Recorder()
    issued = api_clients.create_api_client(db, KUMAMOTO_ADMIN, directory, "431001",
                                           body(allowlist=["10.0.0.0/8"]), today=TODAY)
    (request, _), = api_clients.list_requests(db, operator)
    with pytest.raises(Invalid):
        api_clients.reject_request(db, operator, directory, request.id, " ")
    client = api_clients.reject_request(db, operator, directory, request.id, "範囲が広すぎます")
    assert client.status is ClientStatus.rejected and directory.enabled[issued.keycloak_client_id] is False
    with pytest.raises(Conflict):
        api_clients.enable_api_client(db, KUMAMOTO_ADMIN, directory, issued.client.id)


def test_an_edit_that_widens_waits_and_the_client_keeps_its_settings(db, kumamoto, operator):
    directory = Recorder()
    issued = api_clients.create_api_client(db, KUMAMOTO_ADMIN, directory, "431001", body(), today=TODAY)
    number = issued.client.id
    outcome = api_clients.edit_api_client(db, KUMAMOTO_ADMIN, directory, number,
                                          {"scopes": ["broker.read", "catalog.write"], "name": "新しい名前"}, today=TODAY)
    assert isinstance(outcome, ApiClientRequest)
    client = db.get(type(issued.client), number)
    assert client.scopes == "broker.read" and client.name == "防災ダッシュボード連携" and directory.updated == []
    # an expiry past the limit waits too; the earlier request is replaced by the later one
    later = api_clients.edit_api_client(db, KUMAMOTO_ADMIN, directory, number,
                                        {"expires_on": TODAY + dt.timedelta(days=800)}, today=TODAY)
    assert isinstance(later, ApiClientRequest)
    assert RequestStatus(db.get(ApiClientRequest, outcome.id).status) is RequestStatus.superseded
    # a narrowing edit within the policy is made at once
    narrowed = api_clients.edit_api_client(db, KUMAMOTO_ADMIN, directory, number, {"allowlist": ["192.0.2.0/25"]},
                                           today=TODAY)
    assert narrowed.allowlist == "192.0.2.0/25"
    api_clients.approve_request(db, operator, directory, later.id, today=TODAY)
    assert db.get(type(issued.client), number).expires_on == TODAY + dt.timedelta(days=800)
    # what the operator approved is held: keeping it (or less) asks nothing again
    kept = api_clients.edit_api_client(db, KUMAMOTO_ADMIN, directory, number,
                                       {"expires_on": TODAY + dt.timedelta(days=700), "name": "改名"}, today=TODAY)
    assert not isinstance(kept, ApiClientRequest) and kept.name == "改名"
    actions = {r.action for r in db.scalars(sa.select(AuditRecord))}
    assert {"api_client.change_requested", "api_client.approve", "api_client.edit"} <= actions


def test_the_operator_sets_the_policy(db, kumamoto, operator):
    with pytest.raises(NotPermitted):
        client_policy.update_policy(db, KUMAMOTO_ADMIN, {"max_prefix_v4": 8, "max_prefix_v6": 32,
                                                         "approval_scopes": [], "max_expiry_days": 30},
                                    api_clients.SCOPES)
    with pytest.raises(Invalid) as refused:
        client_policy.update_policy(db, operator, {"max_prefix_v4": 33, "max_prefix_v6": 48,
                                                   "approval_scopes": ["nope"], "max_expiry_days": 0},
                                    api_clients.SCOPES)
    assert {p["field"] for p in refused.value.problems} == {"max_prefix_v4", "max_expiry_days"}
    client_policy.update_policy(db, operator, {"max_prefix_v4": 24, "max_prefix_v6": 64,
                                               "approval_scopes": ["broker.read"], "max_expiry_days": 90},
                                api_clients.SCOPES)
    issued = api_clients.create_api_client(db, KUMAMOTO_ADMIN, Recorder(), "431001",
                                           body(allowlist=["192.0.2.0/24"], scopes=["catalog.write"]), today=TODAY)
    assert issued.client.status is ClientStatus.active  # writes no longer need approval; /24 is within
    waits = api_clients.create_api_client(db, KUMAMOTO_ADMIN, Recorder(), "431001",
                                          body(name="二つ目", expires_on=TODAY + dt.timedelta(days=91)), today=TODAY)
    assert waits.client.status is ClientStatus.pending  # broker.read now needs approval, 91 days is too long
    records = list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "api_client.policy.update")))
    assert len(records) == 1
    assert json.loads(records[0].after)["max_prefix_v4"] == 24 and json.loads(records[0].before)["max_prefix_v4"] == 16


def test_a_rejected_registration_no_longer_counts_against_the_quota(db, kumamoto, operator):
    from usage import quotas

    issued = api_clients.create_api_client(db, KUMAMOTO_ADMIN, Recorder(), "431001", body(scopes=["broker.write"]),
                                           today=TODAY)
    assert quotas.api_client_counts(db, ["431001"]) == {"431001": 1}  # a waiting one holds its place
    (request, _), = api_clients.list_requests(db, operator)
    api_clients.reject_request(db, operator, Recorder(), request.id, "不要")
    assert quotas.api_client_counts(db, ["431001"]) == {}
    assert ClientStatus(db.get(type(issued.client), issued.client.id).status) is ClientStatus.rejected


def test_a_move_the_lifecycle_does_not_allow_is_refused_in_words_and_changes_nothing(db, kumamoto, operator):
    from core.lifecycle import IllegalMove

    directory = Recorder()
    issued = api_clients.create_api_client(db, KUMAMOTO_ADMIN, directory, "431001",
                                           body(scopes=["broker.write"]), today=TODAY)
    records = db.scalar(sa.select(sa.func.count(AuditRecord.seq)))
    for move in ("disable", "enable"):  # a waiting client is neither active nor disabled
        with pytest.raises(IllegalMove) as refused:
            getattr(api_clients, f"{move}_api_client")(db, operator, directory, issued.client.id)
        assert refused.value.kind == "conflict"
        assert refused.value.message_ja == f"API クライアント {issued.client.id} は「承認待ち」のため、この操作はできません。"
        assert refused.value.details == {"status": "pending", "move": move}
    assert issued.client.status is ClientStatus.pending and directory.enabled[issued.keycloak_client_id] is False
    assert db.scalar(sa.select(sa.func.count(AuditRecord.seq))) == records
    assert [m.name for m in api_clients.CLIENTS.moves_from(ClientStatus.pending)] == ["approve", "reject", "revoke"]
