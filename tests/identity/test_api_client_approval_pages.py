"""The operator's approval and policy pages (issue 26): 熊本市's admin registers a client with a write
scope on the page, it waits; an edit that widens waits; the operator sees why in Japanese, rejects
only with a reason, approves after being asked, and sets the policy on a form (no JSON)."""

from __future__ import annotations

import datetime as dt
import re

from core.calendar import today_jst
from tests.conftest import sign_in

CSRF = "api-client-approval-token"


def form(**fields):
    data = {"csrf_token": CSRF, "tenant": "431001", "name": "河川水位連携", "purpose": "水位データを登録する",
            "scopes": ["broker.read"], "expires_on": (today_jst() + dt.timedelta(days=90)).isoformat(),
            "allowlist": "192.0.2.0/24"}
    return {**data, **fields}


def test_a_write_scope_waits_and_the_operator_decides_on_the_page(app, client, db, tenant_factory, directory):
    tenant_factory("431001")
    admin = app.test_client()
    sign_in(admin, ["municipal-admin"], ["431001"], csrf=CSRF)
    created = admin.post("/admin/api-clients/new", data=form(scopes=["broker.read", "broker.write"]))
    assert created.status_code == 200 and 'id="client-secret"' in created.get_data(as_text=True)
    assert "運営者の承認待ちのため、承認されるまでトークンは取得できません" in created.get_data(as_text=True)
    listing = admin.get("/admin/api-clients/").get_data(as_text=True)
    assert "承認待ち" in listing and "運営者の承認待ちの申請: 1 件" in listing
    # a second client within the policy, then an edit that asks for a write scope
    admin.post("/admin/api-clients/new", data=form(name="観測点一覧"))
    listing = admin.get("/admin/api-clients/").get_data(as_text=True)
    active = re.search(r"/admin/api-clients/(\d+)/edit", listing).group(1)
    asked = admin.post(f"/admin/api-clients/{active}/edit", follow_redirects=True,
                       data=form(name="観測点一覧", scopes=["catalog.write"]))
    assert "運営者の承認待ちになりました" in asked.get_data(as_text=True)
    assert admin.post("/admin/api-clients/requests/1/approve",
                      data={"csrf_token": CSRF, "confirmed": "1"}).status_code in (302, 403)

    sign_in(client, csrf=CSRF)  # the operator
    page = client.get("/admin/api-clients/requests").get_data(as_text=True)
    assert "運営者の承認が必要なスコープです: コンテキストブローカーへの登録・更新" in page and "新規登録" in page and "設定の変更" in page
    assert "データカタログへの登録" in page  # the change asked for, in words
    ids = [int(n) for n in re.findall(r"/admin/api-clients/requests/(\d+)/approve", page)]
    assert len(ids) == 2
    refused = client.post(f"/admin/api-clients/requests/{ids[1]}/reject", data={"csrf_token": CSRF, "note": " "},
                          follow_redirects=True)
    assert "却下の理由を入力してください" in refused.get_data(as_text=True)
    rejected = client.post(f"/admin/api-clients/requests/{ids[1]}/reject", follow_redirects=True,
                           data={"csrf_token": CSRF, "note": "書き込みの必要がありません"})
    assert "申請を却下しました" in rejected.get_data(as_text=True)
    question = client.post(f"/admin/api-clients/requests/{ids[0]}/approve", data={"csrf_token": CSRF})
    assert "この申請を承認しますか" in question.get_data(as_text=True)
    approved = client.post(f"/admin/api-clients/requests/{ids[0]}/approve", follow_redirects=True,
                           data={"csrf_token": CSRF, "confirmed": "1"})
    assert "申請を承認しました" in approved.get_data(as_text=True) and "承認待ちの申請はありません" in approved.get_data(as_text=True)
    listing = admin.get("/admin/api-clients/").get_data(as_text=True)
    assert "承認待ち" not in listing.split("<tbody>")[1]


def test_the_operator_sets_the_policy_on_a_form(app, client, db, tenant_factory):
    tenant_factory("431001")
    sign_in(client, csrf=CSRF)
    page = client.get("/admin/api-clients/policy").get_data(as_text=True)
    assert 'option value="16" selected' in page and 'option value="48" selected' in page
    assert re.search(r'value="broker.write" checked', page) and 'value="365"' in page
    refused = client.post("/admin/api-clients/policy", data={"csrf_token": CSRF, "max_prefix_v4": "24",
                                                             "max_prefix_v6": "56", "max_expiry_days": "一年"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "日数（1〜3650）で入力してください" in text and 'option value="24" selected' in text
    too_long = client.post("/admin/api-clients/policy", data={"csrf_token": CSRF, "max_prefix_v4": "24",
                                                              "max_prefix_v6": "56", "max_expiry_days": "5000"})
    assert too_long.status_code == 400 and "1〜3650 日" in too_long.get_data(as_text=True)
    saved = client.post("/admin/api-clients/policy", follow_redirects=True,
                        data={"csrf_token": CSRF, "max_prefix_v4": "24", "max_prefix_v6": "56",
                              "approval_scopes": ["catalog.write"], "max_expiry_days": "180"})
    shown = saved.get_data(as_text=True)
    assert "方針を保存しました" in shown and "IPv4 は /24、IPv6 は /56 まで" in shown and "180 日まで" in shown

    admin = app.test_client()
    sign_in(admin, ["municipal-admin"], ["431001"], csrf=CSRF)
    assert admin.get("/admin/api-clients/policy").status_code == 302  # read on the requests page, not set
    assert "IPv4 は /24" in admin.get("/admin/api-clients/requests").get_data(as_text=True)
    assert admin.post("/admin/api-clients/policy", data={"csrf_token": CSRF, "max_prefix_v4": "8", "max_prefix_v6": "16",
                                                         "max_expiry_days": "3650"}).status_code == 302
    assert "IPv4 は /24" in admin.get("/admin/api-clients/requests").get_data(as_text=True)
