"""Leftovers of issue #11 a person would notice: no link to a page they may not open, statuses in words in
English too, refusals without internal field paths, and a failed login answered by a page in the layout.
"""

from __future__ import annotations

import re

import pytest
from flask import get_flashed_messages

from admin.views.base import flash_error
from core.actor import Actor
from core.errors import DomainError, Unavailable
from tenancy.identity.tokens import InvalidToken
from tests.billing.conftest import make_reviewed_run
from tests.conftest import sign_in

FINANCE = Actor(issuer="urn:test", subject="finance-1", name="県 財政担当", roles=frozenset({"finance-officer"}))


def links(page: str) -> set[str]:
    return {href.split("?")[0] for href in re.findall(r'<a [^>]*href="([^"]+)"', page)}


# --- 2. a link is shown only to whom may open it ---------------------------------------------------------

def test_finance_sees_no_notifications_link_on_the_onboarding_board_it_may_not_open(client, tenant_factory):
    tenant_factory("431001")
    sign_in(client, ["finance-officer"])
    board = client.get("/admin/onboarding/")
    assert board.status_code == 200
    assert "/admin/outbox/" not in links(board.get_data(as_text=True))
    assert client.get("/admin/outbox/").status_code == 403  # the page the link would have led to


def test_the_operator_still_finds_the_notifications_from_the_onboarding_board(client, tenant_factory):
    tenant_factory("431001")
    sign_in(client)
    board = client.get("/admin/onboarding/").get_data(as_text=True)
    assert "/admin/outbox/" in links(board)
    assert client.get("/admin/outbox/").status_code == 200


@pytest.mark.parametrize("path", ["/admin/billing/", "/admin/billing/policies/"])
def test_a_municipal_admin_sees_no_what_if_link_it_may_not_open(client, tenant_factory, path):
    tenant_factory("431001")
    sign_in(client, ["municipal-admin"], ["431001"])
    page = client.get(path)
    assert page.status_code == 200
    assert "/admin/billing/what-if" not in links(page.get_data(as_text=True))
    assert client.get("/admin/billing/what-if").status_code == 403


@pytest.mark.parametrize("path", ["/admin/billing/", "/admin/billing/policies/"])
def test_finance_still_finds_the_what_if_comparison(client, tenant_factory, path):
    tenant_factory("431001")
    sign_in(client, ["finance-officer"])
    assert "/admin/billing/what-if" in links(client.get(path).get_data(as_text=True))
    assert client.get("/admin/billing/what-if").status_code == 200


# --- 4. statuses in words, in English too -----------------------------------------------------------------

@pytest.fixture
def reviewed_run(db, tenant_factory):
    return make_reviewed_run(db, tenant_factory, FINANCE)


def test_the_english_run_list_and_run_page_show_the_status_in_words(client, reviewed_run):
    sign_in(client, ["finance-officer"])
    listing = client.get(f"/admin/billing/?fy={reviewed_run.fiscal_year}&lang=en").get_data(as_text=True)
    run_row = re.search(r"<tr>.*?/admin/billing/runs/%d/.*?</tr>" % reviewed_run.id, listing, re.S).group(0)
    assert ">Reviewed<" in run_row and ">reviewed<" not in run_row
    page = client.get(f"/admin/billing/runs/{reviewed_run.id}/").get_data(as_text=True)
    assert re.search(r'id="status">Reviewed<', page)


def test_the_japanese_run_list_shows_the_status_in_japanese(client, reviewed_run):
    sign_in(client, ["finance-officer"])
    listing = client.get(f"/admin/billing/?fy={reviewed_run.fiscal_year}").get_data(as_text=True)
    assert "確認済み" in listing and not re.search(r"\breviewed\b", listing)


def test_the_english_tenant_list_shows_statuses_and_kinds_in_words(client, tenant_factory):
    tenant_factory("431001", status="screening")
    sign_in(client)
    page = client.get("/admin/tenants/?lang=en").get_data(as_text=True)
    assert ">Screening<" in page and ">screening<" not in page
    assert "Designated city" in page  # 熊本市's kind
    assert "審査中" not in page and "政令指定都市" not in page  # nor the Japanese labels, in the filters either


# --- 6. a refusal's problems without internal field paths ----------------------------------------------

REFUSAL = DomainError(
    "The invitation has problems.", "招待の内容に誤りがあります。",
    problems=[{"field": "rows[2].username", "message_en": "Already taken.", "message_ja": "既に使われています。"},
              {"field": "params.change.quorum_token", "message_en": "Unknown value.", "message_ja": "不明な値です。"}])


def flashed(app, lang: str, error: DomainError) -> list[str]:
    with app.test_request_context(f"/admin/?lang={lang}"):
        flash_error(error)
        return [message for _category, message in get_flashed_messages(with_categories=True)]


def test_a_refusal_names_a_known_field_in_japanese_and_never_shows_the_field_path(app):
    messages = flashed(app, "ja", REFUSAL)
    assert messages[0] == "招待の内容に誤りがあります。"
    assert "ユーザー名: 既に使われています。" in messages
    assert "不明な値です。" in messages
    text = " ".join(messages)
    assert "rows[2]" not in text and "username" not in text and "params." not in text and "quorum_token" not in text


def test_a_refusal_in_english_shows_no_field_path_either(app):
    text = " ".join(flashed(app, "en", REFUSAL))
    assert "Already taken." in text and "Unknown value." in text
    assert "rows[2]" not in text and "params." not in text and "quorum_token" not in text


# --- 7. a failed login is a page in the layout, in the reader's language, still a 401 -------------------

class _Refusing:
    def __init__(self, error: DomainError):
        self.error = error

    def claims(self, token):
        raise self.error


class _Keycloak:
    def authorize_access_token(self):
        return {"access_token": "token-the-validator-refuses", "id_token": "x"}


class _OAuth:
    keycloak = _Keycloak()


@pytest.fixture
def refused_login(monkeypatch):
    import admin.auth

    def refuse_with(error: DomainError):
        monkeypatch.setattr(admin.auth, "_oauth", lambda: _OAuth())
        monkeypatch.setattr(admin.auth, "token_validator", lambda: _Refusing(error))

    return refuse_with


def test_a_refused_login_is_a_japanese_page_in_the_layout_with_a_way_to_sign_in_again(client, refused_login):
    refused_login(InvalidToken("expired"))
    answer = client.get("/auth/callback?code=c&state=s")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 401 and answer.mimetype == "text/html"
    assert '<main id="content"' in page and '<html lang="ja"' in page
    assert "ログイン" in page
    assert "expired" not in page and "access token" not in page.lower()  # no technical English
    assert re.search(r'href="/login\?next=/admin/"', page)  # sign in again, then on to the admin UI
    with client.session_transaction() as session:
        assert "actor" not in session  # not signed in


def test_a_refused_login_is_in_english_when_english_was_chosen(client, refused_login):
    client.get("/admin/?lang=en")
    refused_login(Unavailable("The login server did not answer. Try again in a few minutes.",
                              "ログインサーバーが応答しません。数分後にもう一度お試しください。"))
    answer = client.get("/auth/callback?code=c&state=s")
    page = answer.get_data(as_text=True)
    # the sign-in service away is a 503 with Retry-After (issue 26), still in the chosen language
    assert answer.status_code == 503 and '<html lang="en"' in page and "Retry-After" in answer.headers
    assert "Sign-in is not available" in page and "ログイン" not in page
