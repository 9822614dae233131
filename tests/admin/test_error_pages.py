"""Errors in /admin are pages inside the layout: the navigation is still there, the page says what happened
and what to do in the reader's language (Japanese unless English was chosen), with the right status.
The API keeps answering with application/problem+json.
"""

from __future__ import annotations

import re

import pytest

from core.errors import NotFound
from governance import council
from tests.conftest import sign_in


def inside_the_layout(page: str) -> bool:
    """The frame every admin page has: a skip link to the main content, the labelled navigation, the switch."""
    return ('href="#content"' in page and '<main id="content"' in page and "<nav" in page
            and 'lang="en"' in page and "English" in page and "日本語" in page)


def html_lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


def test_the_site_address_leads_to_the_admin_ui(client):
    answer = client.get("/")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/admin/")


def test_an_unknown_page_is_a_404_inside_the_layout_in_japanese(client):
    sign_in(client, ["municipal-admin"], ["431001"])
    answer = client.get("/admin/no-such-page/")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert inside_the_layout(page) and html_lang(page) == "ja"
    assert "ページが見つかりません" in page and "Not Found" not in page
    assert 'href="/admin/council/"' in page  # the person's own navigation, so they can carry on
    assert 'href="/admin/"' in page  # and a way home


def test_the_404_page_is_in_english_when_english_was_chosen_and_the_choice_is_remembered(client):
    sign_in(client, ["municipal-admin"], ["431001"])
    first = client.get("/admin/no-such-page/?lang=en")
    assert first.status_code == 404
    page = client.get("/admin/another-missing-page/").get_data(as_text=True)
    assert inside_the_layout(page) and html_lang(page) == "en"
    assert "Page not found" in page and "ページが見つかりません" not in page


def test_a_404_outside_admin_is_also_a_page_in_the_layout(client):
    answer = client.get("/no-such-thing")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 404 and inside_the_layout(page)
    assert "ページが見つかりません" in page


def test_a_page_the_person_may_not_open_is_a_403_that_says_whom_to_ask(client):
    sign_in(client, ["municipal-admin"], ["431001"])
    answer = client.get("/admin/audit/")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 403 and inside_the_layout(page)
    assert "この操作を行う権限がありません。所属団体の管理者または運営者に連絡してください。" in page
    assert "Forbidden" not in page and 'href="/admin/"' in page


def test_the_403_page_in_english(client):
    sign_in(client, ["municipal-admin"], ["431001"])
    answer = client.get("/admin/audit/?lang=en")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 403 and inside_the_layout(page) and html_lang(page) == "en"
    assert "administrator" in page and "platform operator" in page
    assert "権限がありません" not in page


def test_a_form_sent_without_its_token_is_a_400_inside_the_layout_that_says_nothing_changed(client):
    sign_in(client, ["platform-operator"])
    client.get("/admin/council/")  # the session has its token; the form below does not carry it
    answer = client.post("/admin/council/propose", data={"title": "偽の議案", "change_type": "free_text"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and inside_the_layout(page)
    assert "変更は行っていません" in page and "再読み込み" in page
    assert "Bad Request" not in page


def test_the_400_page_in_english(client):
    sign_in(client, ["platform-operator"])
    client.get("/admin/council/?lang=en")
    page = client.post("/admin/council/propose", data={"title": "x"}).get_data(as_text=True)
    assert inside_the_layout(page) and html_lang(page) == "en"
    assert "nothing was changed" in page and "Reload the page" in page


def test_a_get_on_a_form_address_is_a_405_inside_the_layout(client):
    sign_in(client, ["platform-operator"])
    answer = client.get("/admin/council/propose")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 405 and inside_the_layout(page)
    assert "この操作はここではできません" in page and "Method Not Allowed" not in page


def test_an_unexpected_failure_is_a_500_inside_the_layout_with_a_reference_number(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(council, "list_proposals", broken)
    sign_in(client, ["platform-operator"])
    answer = client.get("/admin/council/", headers={"X-Request-Id": "ref-20250401-0001"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 500 and answer.mimetype == "text/html" and inside_the_layout(page)
    assert "システムエラーが発生しました" in page and "変更は行っていません" in page
    assert "ref-20250401-0001" in page  # what the operator needs to find it in the log
    assert "database exploded" not in page and "Traceback" not in page


def test_a_value_its_column_cannot_hold_met_at_the_commit_is_refused_not_a_500(client, monkeypatch, as_operator):
    """An audit record is appended when the request's transaction commits (core.audit): a value PostgreSQL
    refuses there (text longer than its column) is the sender's fault, answered as in a view: the UI's
    400 page in the layout, the API's 422 problem, nothing saved (the form fuzzer found a 500 here)."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    def refused(session, *args, **kwargs):
        raise sa.exc.DataError("INSERT INTO audit_record ...", {}, Exception("value too long for type character varying(13)"))

    sign_in(client, ["platform-operator"])
    monkeypatch.setattr(Session, "commit", refused)
    answer = client.get("/admin/council/")
    assert answer.status_code == 400 and inside_the_layout(answer.get_data(as_text=True))
    api = client.get("/api/v1/council/proposals", headers=as_operator)
    assert api.status_code == 422 and api.mimetype == "application/problem+json"
    assert "変更は行っていません" in api.get_json()["detail_ja"] and "nothing was changed" in api.get_json()["detail_en"]


def test_the_500_page_in_english(client, monkeypatch):
    monkeypatch.setattr(council, "list_proposals", lambda *args, **kwargs: 1 / 0)
    sign_in(client, ["platform-operator"])
    client.get("/admin/?lang=en")
    answer = client.get("/admin/council/")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 500 and html_lang(page) == "en"
    assert "A system error occurred" in page and "システムエラー" not in page


@pytest.mark.parametrize("lang, shown, hidden", [
    ("ja", "協議会の記録が見つかりません。", "No records of the council were found."),
    ("en", "No records of the council were found.", "協議会の記録が見つかりません。"),
])
def test_a_domain_refusal_is_a_page_in_the_layout_in_the_readers_language_only(client, monkeypatch, lang, shown, hidden):
    def missing(*args, **kwargs):
        raise NotFound("No records of the council were found.", "協議会の記録が見つかりません。")

    monkeypatch.setattr(council, "list_proposals", missing)
    sign_in(client, ["platform-operator"])
    answer = client.get(f"/admin/council/?lang={lang}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 404 and inside_the_layout(page) and html_lang(page) == lang
    assert shown in page and hidden not in page


def test_every_error_page_of_the_ui_has_a_title_naming_what_happened(client):
    sign_in(client, ["municipal-admin"], ["431001"])
    page = client.get("/admin/no-such-page/").get_data(as_text=True)
    assert re.search(r"<title>ページが見つかりません - [^<]+</title>", page)


def test_the_api_keeps_answering_with_problem_json(client):
    unknown = client.get("/api/v1/no-such-endpoint")
    assert unknown.status_code in (401, 404) and unknown.mimetype == "application/problem+json"
    wrong_method = client.post("/api/v1/openapi.json")
    assert wrong_method.status_code == 405 and wrong_method.mimetype == "application/problem+json"
    assert wrong_method.get_json()["status"] == 405


def test_a_domain_errors_status_has_one_home():
    """The API, the error pages and the views that stop with abort() read one mapping (issue 24)."""
    from admin.problems import STATUS_BY_KIND, status_of
    from core.errors import Conflict, DomainError, Invalid, NotFound

    assert [status_of(e) for e in (NotFound("x", "x"), Conflict("x", "x"), Invalid("x", "x"))] == [404, 409, 422]
    strange = DomainError("x", "x")
    strange.kind = "strange"
    assert status_of(strange) == 400
    assert set(STATUS_BY_KIND) >= {"not_found", "conflict", "invalid", "forbidden", "unavailable", "unauthenticated"}
    import pathlib
    views = pathlib.Path(__file__).resolve().parents[2] / "admin" / "views"
    by_hand = [f"{path.name}:{n}" for path in views.glob("*.py")
               for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
               if '"not_found" else' in line or '"invalid" else 409' in line]
    assert not by_hand, by_hand
