"""Every API endpoint × every role × own/other tenant, against real Keycloak tokens.

The endpoint list comes from the OpenAPI document: an endpoint without a row in ENDPOINTS
fails ``test_every_endpoint_has_a_rule``. The expectations are written here from the roles as
the identity issue states them, not read from tenancy.authz:

* platform operator: every tenant, every operation except finance's own acts;
* municipal admin: reads their own tenant, manages their own tenant's users, votes for it;
* municipal staff: reads their own tenant;
* finance officer: billing, and reads everything billing needs;
* auditor: reads everything, changes nothing.

"Allowed" means the answer is neither 401 nor 403 (it may be 404 or 422 for the sample input);
"refused" means 403, or 404 where another tenant's resource is hidden, and never a success.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

import pytest

OWN, OTHER = "431001", "432024"
ROLES = {
    "operator": (("platform-operator",), None),
    "municipal-admin": (("municipal-admin",), OWN),
    "municipal-staff": (("municipal-staff",), OWN),
    "finance": (("finance-officer",), None),
    "auditor": (("auditor",), None),
}
EVERYONE = set(ROLES)

# who may, by kind of act; "own" = only for the municipal roles' own tenant
READ_TENANT = {"operator": "any", "finance": "any", "auditor": "any", "municipal-admin": "own", "municipal-staff": "own"}
OPERATE = {"operator": "any"}
READ_USERS = {"operator": "any", "auditor": "any", "municipal-admin": "own"}
MANAGE_USERS = {"operator": "any", "municipal-admin": "own"}
SELF = {role: "any" for role in ROLES}


@dataclasses.dataclass(frozen=True)
class Rule:
    who: dict[str, str]
    body: Callable[[], object] | None = None


def _tenant_body():
    return {"code": "432032", "name_ja": "人吉市", "name_en": "Hitoyoshi", "kind": "city", "population": 31334}


def _invite_body():
    name = f"matrix-{uuid.uuid4().hex[:8]}"
    return {"username": name, "email": f"{name}@example.jp", "first_name": "太郎", "last_name": "試験",
            "roles": ["municipal-staff"]}


ENDPOINTS: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/me"): Rule(SELF),
    ("GET", "/api/v1/tenants"): Rule(READ_TENANT),
    ("POST", "/api/v1/tenants"): Rule(OPERATE, _tenant_body),
    ("GET", "/api/v1/tenants/{code}"): Rule(READ_TENANT),
    ("PATCH", "/api/v1/tenants/{code}"): Rule(OPERATE, lambda: {"population_source": "2020 census final count"}),
    ("GET", "/api/v1/tenants/{code}/users"): Rule(READ_USERS),
    ("POST", "/api/v1/tenants/{code}/users"): Rule(MANAGE_USERS, _invite_body),
    ("PUT", "/api/v1/tenants/{code}/users/{user_id}/roles"): Rule(MANAGE_USERS, lambda: {"roles": ["municipal-staff"]}),
    ("POST", "/api/v1/tenants/{code}/users/{user_id}/disable"): Rule(MANAGE_USERS),
    ("POST", "/api/v1/tenants/{code}/users/{user_id}/enable"): Rule(MANAGE_USERS),
    ("DELETE", "/api/v1/tenants/{code}/users/{user_id}"): Rule(MANAGE_USERS),
}

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def operations(document) -> list[tuple[str, str]]:
    return sorted((method.upper(), path) for path, item in document["paths"].items() for method in item
                  if method in {"get", "post", "put", "patch", "delete"})


def test_every_endpoint_has_a_rule(client):
    document = client.get("/api/v1/openapi.json").get_json()
    missing = [op for op in operations(document) if op not in ENDPOINTS]
    assert missing == [], f"endpoints without an authorization rule in this test: {missing}"
    stale = [op for op in ENDPOINTS if op not in operations(document)]
    assert stale == []


@pytest.fixture(scope="module")
def staff_ids(directory):
    """A staff account in each of the two tenants, to aim user endpoints at."""
    ids = {}
    for code in (OWN, OTHER):
        directory.ensure_tenant_group(code)
        name = f"target-{code}-{uuid.uuid4().hex[:6]}"
        user_id = directory.create_user(name, f"{name}@example.jp", "標的", "利用者", password="Target-password-1")
        directory.add_to_tenant(user_id, code)
        directory.set_roles(user_id, {"municipal-staff"}, {"municipal-staff"})
        ids[code] = user_id
    return ids


def _cases():
    for (method, path), rule in ENDPOINTS.items():
        for role in ROLES:
            scopes = ("own", "other") if "{code}" in path else ("any",)
            for scope in scopes:
                yield pytest.param(method, path, role, scope, id=f"{method} {path} as {role} ({scope})")


def _expected(rule: Rule, role: str, scope: str) -> bool:
    grant = rule.who.get(role)
    if grant is None:
        return False
    if grant == "own" and scope == "other":
        return False
    return True


@pytest.mark.parametrize("method,path,role,scope", list(_cases()))
def test_endpoint_role_scope(client, tenant_factory, user_factory, staff_ids, method, path, role, scope):
    tenant_factory(OWN)
    tenant_factory(OTHER)
    rule = ENDPOINTS[(method, path)]
    roles, tenant = ROLES[role]
    _, headers = user_factory(roles, tenant)
    code = OTHER if scope == "other" else OWN
    url = path.replace("{code}", code).replace("{user_id}", staff_ids[code])
    body = rule.body() if rule.body else None
    response = client.open(url, method=method, json=body, headers=headers)
    if _expected(rule, role, scope):
        assert response.status_code not in (401, 403), (response.status_code, response.get_data(as_text=True)[:300])
        assert response.status_code < 500
    else:
        assert response.status_code in (403, 404), (response.status_code, response.get_data(as_text=True)[:300])
