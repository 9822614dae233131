"""The API clients pages in /admin: a municipal admin registers a client with pickers, sees the secret
once, and revokes it after being asked; bad input is shown beside its field, in Japanese."""

import datetime as dt
import re

from core.calendar import today_jst
from tests.conftest import sign_in

CSRF = "api-clients-page-token"


def form(**fields):
    data = {"csrf_token": CSRF, "tenant": "431001", "name": "観光案内連携", "purpose": "観光施設の混雑状況を配信する",
            "scopes": ["broker.read", "catalog.read"], "expires_on": (today_jst() + dt.timedelta(days=90)).isoformat(),
            "allowlist": "127.0.0.1/32\n2001:db8::/32"}
    return {**data, **fields}


def test_a_municipal_admin_registers_sees_the_secret_once_and_revokes(client, db, tenant_factory, directory):
    tenant_factory("431001")
    sign_in(client, ["municipal-admin"], ["431001"], csrf=CSRF)
    page = client.get("/admin/api-clients/new").get_data(as_text=True)
    # pickers, in Japanese; a municipal admin is not offered "any address"
    assert "コンテキストブローカーの参照" in page and 'type="date"' in page and "431001 熊本市" in page
    assert "すべての接続元を許可する" not in page

    refused = client.post("/admin/api-clients/new", data=form(allowlist="10.0.0.0/33"))
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "「10.0.0.0/33」: IPv4 のプレフィックス長は 0〜32 です" in text and "観光案内連携" in text  # nothing typed is lost

    created = client.post("/admin/api-clients/new", data=form())
    shown = created.get_data(as_text=True)
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    secret = re.search(r'<code id="client-secret">([^<]+)</code>', shown).group(1)
    assert "一度だけ" in shown

    listing = client.get("/admin/api-clients/").get_data(as_text=True)
    assert "観光案内連携" in listing and "127.0.0.1/32, 2001:db8::/32" in listing and secret not in listing

    number = re.search(r'/admin/api-clients/(\d+)/revoke', listing).group(1)
    asked = client.post(f"/admin/api-clients/{number}/revoke", data={"csrf_token": CSRF})
    assert "失効させますか" in asked.get_data(as_text=True)
    assert "失効" not in client.get("/admin/api-clients/").get_data(as_text=True).split("<tbody>")[1].split("</td>")[2]
    done = client.post(f"/admin/api-clients/{number}/revoke", data={"csrf_token": CSRF, "confirmed": "1"},
                       follow_redirects=True)
    assert "API クライアントを失効させました。" in done.get_data(as_text=True)


def test_the_page_is_refused_to_municipal_staff(client, db, tenant_factory):
    tenant_factory("431001")
    sign_in(client, ["municipal-staff"], ["431001"])
    assert client.get("/admin/api-clients/").status_code == 403
