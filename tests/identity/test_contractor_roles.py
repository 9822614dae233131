"""The prefecture's contractors as roles (issue 57 item 1): the contracted secretariat runs the desk, the
platform vendor runs the service, each refused the other's work and money, identity and settings; only the
operator gives or takes these roles. Every API operation is checked for both roles in
tests/identity/test_authorization_matrix.py; here the console, as a contractor's person sees it."""

from __future__ import annotations

import pytest

from core import authz
from core.actor import Actor
from core.errors import NotPermitted
from tests.conftest import sign_in

DESK_PAGES = ("members", "members-import", "members-report", "inquiries", "events", "progress", "meetings",
              "community-groups")
SERVICE_PAGES = ("service/components", "service/availability", "service/maintenance", "incidents")
MONEY_IDENTITY_SETTINGS = ("billing", "billing/cost-items", "billing/journal", "users", "api-clients", "settings",
                           "audit")


def _status(client, page: str) -> int:
    return client.get(f"/admin/{page}/").status_code


def test_the_secretariat_runs_the_desk_and_is_refused_money_identity_settings_and_incidents(client, monkeypatch):
    from admin import identity

    monkeypatch.setattr(identity, "secretariat_people", lambda: {"u-1": "事務局 花子"})  # the owners, not Keycloak
    sign_in(client, [authz.SECRETARIAT], ["430005"])
    home = client.get("/admin/").get_data(as_text=True)
    assert "事務局：対応が必要な事項" in home or "Secretariat: what needs attention" in home
    assert {page: _status(client, page) for page in DESK_PAGES} == {page: 200 for page in DESK_PAGES}
    refused = (*MONEY_IDENTITY_SETTINGS, *SERVICE_PAGES)
    assert {page: _status(client, page) for page in refused} == {page: 403 for page in refused}


def test_the_vendor_runs_the_service_and_is_refused_the_desk_and_the_service_settings(client):
    sign_in(client, [authz.VENDOR], ["430005"], csrf="vendor-csrf")
    assert client.get("/admin/").status_code == 200
    assert {page: _status(client, page) for page in SERVICE_PAGES} == {page: 200 for page in SERVICE_PAGES}
    refused = (*DESK_PAGES, *MONEY_IDENTITY_SETTINGS)
    assert {page: _status(client, page) for page in refused} == {page: 403 for page in refused}
    # the availability target is the prefecture's term, not its contractor's
    changed = client.post("/admin/settings/service", data={"csrf_token": "vendor-csrf", "target_basis_points": "9000"})
    assert changed.status_code == 403


@pytest.mark.parametrize("granter", [authz.MUNICIPAL_ADMIN, authz.ORG_ADMIN])
def test_only_the_operator_gives_the_contractors_roles(granter):
    operator = Actor(issuer="urn:test", subject="op", roles=frozenset({authz.OPERATOR}), tenant_codes=frozenset({"430005"}))
    assert {authz.SECRETARIAT, authz.VENDOR} <= authz.grantable_roles(operator)
    authz.check_grantable(operator, {authz.SECRETARIAT, authz.VENDOR})
    admin = Actor(issuer="urn:test", subject="admin", roles=frozenset({granter}), tenant_codes=frozenset({"430005"}))
    for role in (authz.SECRETARIAT, authz.VENDOR):
        with pytest.raises(NotPermitted):
            authz.check_grantable(admin, {role})
