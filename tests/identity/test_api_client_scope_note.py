"""The secret page tells how to get a token and which scopes it carries (issue 25): every token of the
client carries the scopes it was given, without ``scope=``. The line the page shows works as shown,
against the real Keycloak."""

import base64
import html
import json
import re
import shlex

import requests

from tests.admin.test_labels import visible_text
from tests.conftest import sign_in
from tests.identity.test_api_clients_pages import CSRF, form


def claims(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_the_secret_page_shows_the_scopes_and_a_token_line_that_works(client, db, tenant_factory, directory):
    tenant_factory("431001")
    sign_in(client, ["municipal-admin"], ["431001"], csrf=CSRF)
    # a client within the operator's policy (one address), so it is active at once
    shown = client.post("/admin/api-clients/new", data=form(allowlist="127.0.0.1/32")).get_data(as_text=True)
    note = visible_text(re.search(r'<p id="scope-note">(.*?)</p>', shown, re.S).group(1))
    assert "scope パラメーターは不要" in note and "broker.read" in note and "データカタログの参照" in note
    line = html.unescape(re.search(r'<code id="token-curl">([^<]+)</code>', shown).group(1))
    words = shlex.split(line)
    fields = dict(words[i + 1].split("=", 1) for i, word in enumerate(words) if word == "-d")
    assert fields["grant_type"] == "client_credentials" and "scope" not in fields
    asked = requests.post(words[-1], data=fields, timeout=30)
    assert asked.status_code == 200, asked.text
    assert {"broker.read", "catalog.read"} <= set(claims(asked.json()["access_token"])["scope"].split())
