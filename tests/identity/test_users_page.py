"""The users page in /admin: a municipal admin manages their own tenant's accounts in Japanese."""

import re
import uuid

from tests.conftest import sign_in


def sign_in_as(client, account):
    """Signed in as a Keycloak account (user_factory) without going through the login page."""
    sign_in(client, account.roles, account.tenant_codes, subject=account.id, name=account.username)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_a_municipal_admin_invites_from_the_page(client, tenant_factory, user_factory, directory):
    tenant_factory("431001")
    tenant_factory("432024")
    admin, _ = user_factory(("municipal-admin",), "431001")
    sign_in_as(client, admin)
    page = client.get("/admin/users/").get_data(as_text=True)
    assert "利用者管理" in page and "利用者を招待" in page and admin.username in page
    assert "運営者（県）" not in page  # a municipal admin is not offered platform roles
    username = f"page-{uuid.uuid4().hex[:6]}"
    answer = client.post("/admin/users/431001/invite", data={
        "csrf_token": csrf_of(page), "username": username, "email": f"{username}@example.jp",
        "first_name": "一郎", "last_name": "熊本", "roles": ["municipal-staff"]})
    assert answer.status_code == 200 and f"{username} さんを招待しました。" in answer.get_data(as_text=True)
    found = directory.find_user(username)
    assert found is not None and directory.account(found["id"]).tenant_codes == {"431001"}
    assert username in client.get("/admin/users/").get_data(as_text=True)


def test_another_tenants_page_is_403_and_a_post_without_csrf_is_refused(client, tenant_factory, user_factory, directory):
    tenant_factory("431001")
    tenant_factory("432024")
    admin, _ = user_factory(("municipal-admin",), "431001")
    sign_in_as(client, admin)
    assert client.get("/admin/users/?tenant=432024").status_code == 403
    username = f"nocsrf-{uuid.uuid4().hex[:6]}"
    answer = client.post("/admin/users/431001/invite", data={"username": username, "email": f"{username}@example.jp",
                                                            "first_name": "a", "last_name": "b", "roles": ["municipal-staff"]})
    assert answer.status_code == 400
    assert directory.find_user(username) is None


def test_the_operator_chooses_any_tenant(client, tenant_factory, user_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    operator, _ = user_factory(("platform-operator",))
    yatsushiro_admin, _ = user_factory(("municipal-admin",), "432024", fresh=True)
    sign_in_as(client, operator)
    page = client.get("/admin/users/?tenant=432024").get_data(as_text=True)
    assert yatsushiro_admin.username in page and "八代市" in page
    assert "運営者（県）" in page  # the operator may grant any role
