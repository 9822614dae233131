"""Admin UI login and logout through Keycloak (authorization code with PKCE), end to end."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import requests

from tests.conftest import PASSWORD


def sign_in(client, username, target="/admin/tenants/"):
    start = client.get(f"/login?next={target}")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    browser = requests.Session()
    page = browser.get(authorize, timeout=10)
    for cookie in browser.cookies:  # browsers send Secure cookies to http://127.0.0.1; requests does not
        cookie.secure = False
    action = html.unescape(re.search(r'<form[^>]+action="([^"]+)"', page.text).group(1))
    answer = browser.post(action, data={"username": username, "password": PASSWORD, "credentialId": ""},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    callback = answer.headers["Location"]
    assert callback.startswith("http://renkei.test/auth/callback")
    return client.get(callback.removeprefix("http://renkei.test"))


def test_a_municipal_admin_signs_in_and_sees_only_their_tenant(client, tenant_factory, user_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    account, _ = user_factory(("municipal-admin",), "431001", fresh=True)
    landed = sign_in(client, account.username)
    assert landed.status_code == 302 and landed.headers["Location"].endswith("/admin/tenants/")
    page = client.get("/admin/tenants/").get_data(as_text=True)
    assert "熊本市" in page and "八代市" not in page
    assert '<html lang="ja">' in page
    assert "参加団体" in page  # Japanese labels by default
    english = client.get("/admin/tenants/?lang=en").get_data(as_text=True)
    assert "Tenants" in english and '<html lang="en">' in english


def test_the_operator_sees_every_tenant_and_logout_ends_the_session(client, tenant_factory, user_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    account, _ = user_factory(("platform-operator",), fresh=True)
    sign_in(client, account.username)
    page = client.get("/admin/tenants/").get_data(as_text=True)
    assert "熊本市" in page and "八代市" in page
    out = client.get("/logout")
    assert out.status_code == 302 and "/protocol/openid-connect/logout" in out.headers["Location"]
    assert client.get("/admin/tenants/").status_code == 302


def test_a_forged_callback_does_not_sign_in(client):
    response = client.get("/auth/callback?code=forged&state=forged")
    assert response.status_code in (302, 401)
    assert client.get("/admin/").status_code == 302
