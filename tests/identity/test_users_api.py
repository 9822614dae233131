"""Delegated user management against the real Keycloak: each municipality manages its own users only."""

import uuid

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord


def unique(prefix="user"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def invite_body(roles=("municipal-staff",), username=None):
    username = username or unique()
    return {"username": username, "email": f"{username}@example.jp", "first_name": "花子", "last_name": "熊本",
            "roles": list(roles)}


def audits(db, action=None):
    db.expire_all()
    query = sa.select(AuditRecord).where(AuditRecord.action.like("user.%")).order_by(AuditRecord.seq)
    if action:
        query = query.where(AuditRecord.action == action)
    return list(db.scalars(query))


@pytest.fixture
def two_cities(tenant_factory):
    return tenant_factory("431001"), tenant_factory("432024")


def test_kumamoto_admin_creates_a_staff_user_in_kumamoto(client, db, two_cities, user_factory, directory):
    admin, headers = user_factory(("municipal-admin",), "431001")
    body = invite_body()
    response = client.post("/api/v1/tenants/431001/users", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    # the account exists in Keycloak, with the role and the tenant membership
    found = directory.find_user(body["username"])
    account = directory.account(found["id"])
    assert account.roles == {"municipal-staff"}
    assert account.tenant_codes == {"431001"}
    assert created["id"] == found["id"]
    # and the act is in the audit log with the acting person
    record = audits(db, "user.invite")[0]
    assert record.actor_subject == admin.id and record.tenant_code == "431001"
    listing = client.get("/api/v1/tenants/431001/users", headers=headers).get_json()
    assert body["username"] in [u["username"] for u in listing["items"]]


def test_kumamoto_admin_cannot_see_or_change_yatsushiro(client, db, two_cities, user_factory):
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    yatsushiro_admin, yatsushiro = user_factory(("municipal-admin",), "432024")
    target = client.post("/api/v1/tenants/432024/users", json=invite_body(), headers=yatsushiro).get_json()
    assert client.get("/api/v1/tenants/432024/users", headers=kumamoto).status_code == 403
    assert client.post("/api/v1/tenants/432024/users", json=invite_body(), headers=kumamoto).status_code == 403
    assert client.post(f"/api/v1/tenants/432024/users/{target['id']}/disable", headers=kumamoto).status_code == 403
    assert client.put(f"/api/v1/tenants/432024/users/{target['id']}/roles", json={"roles": ["municipal-admin"]},
                      headers=kumamoto).status_code == 403
    # reaching a Yatsushiro user through Kumamoto's path finds nothing
    assert client.post(f"/api/v1/tenants/431001/users/{target['id']}/disable", headers=kumamoto).status_code == 404
    assert len(audits(db, "user.invite")) == 1


@pytest.mark.parametrize("role", ["platform-operator", "finance-officer", "auditor"])
def test_a_municipal_admin_cannot_grant_platform_roles(client, db, two_cities, user_factory, directory, role):
    _, headers = user_factory(("municipal-admin",), "431001")
    body = invite_body(roles=("municipal-staff", role))
    response = client.post("/api/v1/tenants/431001/users", json=body, headers=headers)
    assert response.status_code == 403
    assert "付与できる役割" in response.get_json()["detail_ja"]
    assert directory.find_user(body["username"]) is None
    staff = client.post("/api/v1/tenants/431001/users", json=invite_body(), headers=headers).get_json()
    promote = client.put(f"/api/v1/tenants/431001/users/{staff['id']}/roles", json={"roles": [role]}, headers=headers)
    assert promote.status_code == 403
    assert directory.account(staff["id"]).roles == {"municipal-staff"}


def test_the_operator_may_grant_any_role(client, two_cities, as_operator, directory):
    body = invite_body(roles=("finance-officer",))
    assert client.post("/api/v1/tenants/431001/users", json=body, headers=as_operator).status_code == 201
    assert directory.account(directory.find_user(body["username"])["id"]).roles == {"finance-officer"}


def test_the_auditor_reads_but_every_write_is_403(client, db, two_cities, user_factory, as_operator):
    _, auditor = user_factory(("auditor",))
    staff = client.post("/api/v1/tenants/431001/users", json=invite_body(), headers=as_operator).get_json()
    assert client.get("/api/v1/tenants/431001/users", headers=auditor).status_code == 200
    assert client.get("/api/v1/tenants", headers=auditor).status_code == 200
    writes = [
        client.post("/api/v1/tenants/431001/users", json=invite_body(), headers=auditor),
        client.put(f"/api/v1/tenants/431001/users/{staff['id']}/roles", json={"roles": ["municipal-admin"]}, headers=auditor),
        client.post(f"/api/v1/tenants/431001/users/{staff['id']}/disable", headers=auditor),
        client.delete(f"/api/v1/tenants/431001/users/{staff['id']}", headers=auditor),
        client.post("/api/v1/tenants", json={"code": "432032", "name_ja": "人吉市", "name_en": "Hitoyoshi",
                                             "kind": "city", "population": 31334}, headers=auditor),
        client.patch("/api/v1/tenants/431001", json={"population": 1}, headers=auditor),
    ]
    assert [w.status_code for w in writes] == [403] * len(writes)
    assert [r.action for r in audits(db)] == ["user.invite"]


def test_disable_enable_and_remove(client, db, two_cities, user_factory, directory):
    _, headers = user_factory(("municipal-admin",), "431001")
    staff = client.post("/api/v1/tenants/431001/users", json=invite_body(), headers=headers).get_json()
    assert client.post(f"/api/v1/tenants/431001/users/{staff['id']}/disable", headers=headers).get_json()["enabled"] is False
    assert directory.account(staff["id"]).enabled is False
    assert client.post(f"/api/v1/tenants/431001/users/{staff['id']}/enable", headers=headers).get_json()["enabled"] is True
    assert client.delete(f"/api/v1/tenants/431001/users/{staff['id']}", headers=headers).status_code == 204
    account = directory.account(staff["id"])
    assert account.tenant_codes == frozenset() and account.roles == frozenset()
    assert [r.action for r in audits(db)] == ["user.invite", "user.disable", "user.enable", "user.remove"]


def test_the_user_seat_limit_is_enforced(client, db, tenant_factory, user_factory, directory):
    # the Keycloak realm is shared by the whole session: other tests may already have members here
    directory.ensure_tenant_group("432032")
    present = directory.count_members("432032")
    tenant_factory("432032", user_seat_limit=present + 2)
    _, headers = user_factory(("municipal-admin",), "432032", fresh=True)   # one seat left after this
    assert client.post("/api/v1/tenants/432032/users", json=invite_body(), headers=headers).status_code == 201
    body = invite_body()
    refused = client.post("/api/v1/tenants/432032/users", json=body, headers=headers)
    assert refused.status_code == 409
    assert "上限" in refused.get_json()["detail_ja"]
    assert directory.find_user(body["username"]) is None


def test_a_duplicate_username_is_409(client, two_cities, as_operator):
    body = invite_body()
    assert client.post("/api/v1/tenants/431001/users", json=body, headers=as_operator).status_code == 201
    again = client.post("/api/v1/tenants/431001/users", json=body, headers=as_operator)
    assert again.status_code == 409


def test_me_tells_who_i_am(client, two_cities, user_factory):
    account, headers = user_factory(("municipal-admin",), "431001")
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["subject"] == account.id
    assert me["roles"] == ["municipal-admin"] and me["tenants"] == ["431001"]
    assert "user.manage" in me["permissions"] and "billing.manage" not in me["permissions"]


def test_no_invitation_into_a_suspended_tenant(client, db, tenant_factory, as_operator, directory):
    tenant_factory("431001", status="suspended")
    body = invite_body()
    response = client.post("/api/v1/tenants/431001/users", json=body, headers=as_operator)
    assert response.status_code == 409
    assert directory.find_user(body["username"]) is None


def test_an_implausible_request_id_is_replaced_not_stored(client, db, tenant_factory, as_operator):
    tenant_factory("431001")
    response = client.patch("/api/v1/tenants/431001", json={"population_source": "2020 census final count"},
                            headers={**as_operator, "X-Request-Id": "x" * 500})
    assert response.status_code == 200
    db.expire_all()
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "tenant.update")).one()
    assert record.request_id and len(record.request_id) <= 64 and record.request_id != "x" * 64
