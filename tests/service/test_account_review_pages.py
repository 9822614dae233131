"""The account review's pages (issue 57 item 6) as 熊本市's admin and the operator use them, Keycloak a fake."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core.db import utcnow
from tests.conftest import sign_in
from tests.service.test_account_reviews import KUMAMOTO, Directory, person, signed_in

CSRF = "review-csrf"


@pytest.fixture
def site(app, db, tenant_factory, monkeypatch):
    import admin.views.account_reviews

    tenant_factory(KUMAMOTO)
    directory = Directory(person("admin-kumamoto", "municipal-admin"), person("leaver", "municipal-admin"),
                          person("colleague", "municipal-staff"))
    monkeypatch.setattr(admin.views.account_reviews, "identity_directory", lambda: directory)
    signed_in(db, "admin-kumamoto", utcnow() - dt.timedelta(days=1))
    signed_in(db, "colleague", utcnow() - dt.timedelta(days=3))
    db.commit()
    return directory


def text_of(response):
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_kumamotos_admin_disables_hands_over_and_attests_and_the_operator_sees_it_done(app, site):
    admin = app.test_client()
    sign_in(admin, ["municipal-admin"], [KUMAMOTO], subject="admin-kumamoto", csrf=CSRF)
    assert admin.post(f"/admin/account-reviews/{KUMAMOTO}/start", data={"csrf_token": CSRF}).status_code == 302
    page = text_of(admin.get(f"/admin/account-reviews/{KUMAMOTO}"))
    assert "未記録" in page and "90 日以上未使用" in page and "1970" not in page
    asked = admin.post(f"/admin/account-reviews/{KUMAMOTO}/leaver/decide",
                       data={"csrf_token": CSRF, "decision": "handed_over", "successor_id": "colleague",
                             "username": "leaver"})
    assert "判断を記録しますか" in text_of(asked) and "municipal-admin" not in site.people["colleague"].roles
    done = admin.post(f"/admin/account-reviews/{KUMAMOTO}/leaver/decide",
                      data={"csrf_token": CSRF, "decision": "handed_over", "successor_id": "colleague",
                            "username": "leaver", "confirmed": "1"})
    assert done.status_code == 302
    assert "municipal-admin" in site.people["colleague"].roles and "municipal-admin" not in site.people["leaver"].roles
    admin.post(f"/admin/account-reviews/{KUMAMOTO}/attest", data={"csrf_token": CSRF, "confirmed": "1"})
    reviewed = text_of(admin.get(f"/admin/account-reviews/{KUMAMOTO}"))
    assert "完了を確認しました" in reviewed and "引継ぎ（管理者の役割を後任へ）" in reviewed
    in_english = text_of(admin.get(f"/admin/account-reviews/{KUMAMOTO}?lang=en"))
    assert "Handed over (the admin role to a successor)" in in_english and "handed_over" not in in_english
    operator = app.test_client()
    sign_in(operator)
    overview = text_of(operator.get("/admin/account-reviews/"))
    assert re.search(r"熊本市</a>\s*</td>\s*<td>実施済み", overview)


def test_days_not_a_number_are_refused_beside_the_field_and_kept(app, site):
    admin = app.test_client()
    sign_in(admin, ["municipal-admin"], [KUMAMOTO], subject="admin-kumamoto")
    page = admin.get(f"/admin/account-reviews/{KUMAMOTO}?days=abc")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="days-error"' in html and 'value="abc"' in html
