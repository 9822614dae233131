"""Every response a test sees is a valid response (issue 49): the portal's front page answers a signed-in
resident with 200 (it answered ``HTTP/1.1 0 active``, a bare 500 under gunicorn), and the check that the
test client runs on every response (tests/response_check.py) refuses what a server or client would: a
status that is no number, an API error that is not problem+json, a body without a Content-Type, a header
value outside latin-1.

The broken answers are planted in a small Flask app of this module's own (the session's app takes no
routes after its first request, and a planted route must not reach other tests), driven by the same
test client class as every test's."""

from __future__ import annotations

import time

import pytest
from flask import Flask, Response, redirect

from tests.conftest import RequestIsolatedClient
from tests.consent.conftest import consent_setup  # noqa: F401  (the fixture)
from tests.residents.conftest import KUMAMOTO, desk, person


def test_a_signed_in_resident_gets_the_portal_s_front_page_with_200(app, client, db, consent_setup):
    from admin.resident_keys import keyring
    from residents import operations as residents

    me = residents.enrol(db, desk(), keyring(), person()).resident
    db.commit()
    with client.session_transaction() as session:
        session["resident"] = {"resident_id": me.id, "tenant_code": KUMAMOTO, "common_id": me.common_id,
                               "status": "active", "provider": "mynumber-card", "assurance_level": 3,
                               "signed_in_at": "2026-11-25T10:00:00+00:00", "seen": time.time()}
    page = client.get("/portal/")
    assert page.status_code == 200 and page.status == "200 OK"
    assert me.common_id in page.get_data(as_text=True)


def _planted() -> Flask:
    planted = Flask("planted")
    planted.test_client_class = RequestIsolatedClient

    @planted.route("/resident-status")
    def resident_status():
        return "<p>active</p>", "0 active"  # the portal's defect: a resident's status as the HTTP status

    @planted.route("/api/v1/html-refusal")
    def html_refusal():
        return "<h1>Not found</h1>", 404

    @planted.route("/api/v1/problem")
    def problem():
        return Response('{"type": "about:blank", "title": "見つかりません", "status": 404, "detail": "見つかりません",'
                        ' "detail_ja": "見つかりません", "detail_en": "Not found", "errors": []}',
                        status=404, mimetype="application/problem+json")

    @planted.route("/api/v1/problem-in-english-only")
    def english_only():
        return Response('{"title": "Not found", "status": 404, "detail": "Not found"}', status=404,
                        mimetype="application/problem+json")

    @planted.route("/no-content-type")
    def no_content_type():
        response = Response(b"%PDF-1.7")
        del response.headers["Content-Type"]
        return response

    @planted.route("/japanese-header")
    def japanese_header():
        response = Response("ok")
        response.headers["Content-Disposition"] = 'attachment; filename="請求書.pdf"'  # not RFC 8187's filename*=
        return response

    @planted.route("/empty")
    def empty():
        response = Response(status=204)
        del response.headers["Content-Type"]
        return response

    @planted.route("/go")
    def go():
        return redirect("/resident-status")

    return planted


@pytest.fixture
def planted_client():
    return _planted().test_client()


def test_the_check_passes_valid_answers_of_the_planted_app(planted_client):
    assert planted_client.get("/api/v1/problem").status_code == 404
    assert planted_client.get("/empty").status_code == 204  # no body: no Content-Type needed


@pytest.mark.parametrize(("path", "words"), [
    ("/resident-status", "not an integer from 100 to 599"),
    ("/api/v1/html-refusal", "not application/problem+json"),
    ("/api/v1/problem-in-english-only", "'detail_ja'"),
    ("/no-content-type", "without a Content-Type"),
    ("/japanese-header", "outside latin-1"),
])
def test_the_check_refuses_an_invalid_answer_naming_the_request_and_the_fault(planted_client, path, words):
    with pytest.raises(AssertionError) as refused:
        planted_client.get(path)
    assert f"GET {path}" in str(refused.value) and words in str(refused.value)


def test_the_check_follows_redirects_to_the_invalid_answer(planted_client):
    with pytest.raises(AssertionError, match="GET /resident-status"):
        planted_client.get("/go", follow_redirects=True)
