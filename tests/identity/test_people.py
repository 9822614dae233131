"""People management as a municipal admin meets it (issue 25), against the real Keycloak: a change of
role replaces the role (adding one is the explicit choice), nobody disables or removes their own
account (neither from the page nor through the API), and the home page counts the user seats from
Keycloak's accounts, not from a stored figure."""

from __future__ import annotations

import re

import pytest

from tests.admin.test_labels import visible_text
from tests.identity.test_users_page import csrf_of, sign_in_as

pytestmark = pytest.mark.keycloak


@pytest.fixture
def kumamoto(tenant_factory):
    return tenant_factory("431001")


def users_page(client, code="431001"):
    page = client.get(f"/admin/users/?tenant={code}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_a_change_of_role_replaces_the_role_and_adding_one_is_a_choice(client, kumamoto, user_factory, directory):
    admin, _ = user_factory(("municipal-admin",), "431001", fresh=True)
    staff, _ = user_factory(("municipal-staff",), "431001", fresh=True)
    sign_in_as(client, admin)
    page = users_page(client)
    assert "今の役割と置き換える" in page and "今の役割に加える" in page
    answer = client.post(f"/admin/users/431001/{staff.id}/roles",
                         data={"csrf_token": csrf_of(page), "role": "municipal-admin", "mode": "replace"})
    assert answer.status_code == 302
    assert directory.account(staff.id).roles == {"municipal-admin"}  # replaced, not a second role
    client.post(f"/admin/users/431001/{staff.id}/roles",
                data={"csrf_token": csrf_of(page), "role": "municipal-staff", "mode": "add"})
    assert directory.account(staff.id).roles == {"municipal-admin", "municipal-staff"}
    client.post(f"/admin/users/431001/{staff.id}/roles",
                data={"csrf_token": csrf_of(page), "role": "municipal-staff", "mode": "replace"})
    assert directory.account(staff.id).roles == {"municipal-staff"}
    refused = client.post(f"/admin/users/431001/{staff.id}/roles",
                          data={"csrf_token": csrf_of(page), "role": "platform-operator", "mode": "replace"},
                          follow_redirects=True)
    assert directory.account(staff.id).roles == {"municipal-staff"}  # a role the admin may not grant
    assert refused.status_code in (200, 403)


def test_nobody_disables_or_removes_their_own_account(client, db, kumamoto, user_factory, directory):
    admin, headers = user_factory(("municipal-admin",), "431001", fresh=True)
    colleague, _ = user_factory(("municipal-staff",), "431001", fresh=True)
    sign_in_as(client, admin)
    page = users_page(client)
    own_row = re.search(rf"<tr>\s*<td>{re.escape(admin.username)}.*?</tr>", page, re.S).group(0)
    other_row = re.search(rf"<tr>\s*<td>{re.escape(colleague.username)}.*?</tr>", page, re.S).group(0)
    buttons = lambda row: [b.strip() for b in re.findall(r"<button[^>]*>([^<]*)</button>", row)]  # noqa: E731
    assert "無効にする" not in buttons(own_row) and "団体から外す" not in buttons(own_row)
    assert "ご本人" in visible_text(own_row) and "別の管理者に依頼してください" in visible_text(own_row)
    assert "無効にする" in buttons(other_row) and "団体から外す" in buttons(other_row)
    # a POST made anyway (an old page, a crafted form) is refused in words, and nothing changes
    answer = client.post(f"/admin/users/431001/{admin.id}/enabled",
                         data={"csrf_token": csrf_of(page), "enabled": "0", "confirmed": "1"}, follow_redirects=True)
    assert "ご自身のアカウントを無効にすることはできません" in visible_text(answer.get_data(as_text=True))
    assert directory.account(admin.id).enabled
    answer = client.post(f"/admin/users/431001/{admin.id}/remove", data={"csrf_token": csrf_of(page), "confirmed": "1"},
                         follow_redirects=True)
    assert "ご自身のアカウントを団体から外すことはできません" in visible_text(answer.get_data(as_text=True))
    assert directory.account(admin.id).tenant_codes == {"431001"}
    # the API refuses the same, as a problem in both languages
    refused = client.post(f"/api/v1/tenants/431001/users/{admin.id}/disable", headers=headers)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert "ご自身のアカウント" in refused.get_json()["detail_ja"] and "your own account" in refused.get_json()["detail_en"]
    refused = client.delete(f"/api/v1/tenants/431001/users/{admin.id}", headers=headers)
    assert refused.status_code == 409
    assert directory.account(admin.id).enabled and directory.account(admin.id).tenant_codes == {"431001"}


def test_the_home_page_counts_the_user_seats_in_keycloak(app, client, tenant_factory, user_factory, monkeypatch):
    tenant_factory("433675")  # 南阿蘇村: nobody has recorded a seat count for it
    admin, _ = user_factory(("municipal-admin",), "433675", fresh=True)
    user_factory(("municipal-staff",), "433675", fresh=True)
    monkeypatch.setitem(app.config, "RENKEI_SEATS_FROM_KEYCLOAK", True)
    sign_in_as(client, admin)
    home = visible_text(client.get("/admin/").get_data(as_text=True))
    assert re.search(r"利用者アカウント数 2 (\d[\d,]*|上限なし)", home), home[home.find("利用者アカウント数") - 20:][:120]
    user_factory(("municipal-staff",), "433675", fresh=True)
    home = visible_text(client.get("/admin/").get_data(as_text=True))
    assert re.search(r"利用者アカウント数 3 ", home)
