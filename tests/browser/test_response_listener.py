"""The browser tests' listener of the live server's answers (tests/response_check.py, BrowserResponses,
attached by ``browser_context`` and ``new_page``) records what Chromium received as an invalid answer: a
status that is no HTTP status (the portal's ``HTTP/1.1 0 active`` reached Chromium as status 0) and a body
without a Content-Type. Shown here with a small planted server of this test's own, not the live server
(whose app takes no routes after its first request)."""

from __future__ import annotations

import pytest
from flask import Flask, Response

from tests.background_server import served
from tests.response_check import BrowserResponses


@pytest.fixture
def planted_server():
    from werkzeug.serving import make_server

    planted = Flask("planted")

    @planted.route("/")
    def index():
        return '<!doctype html><html lang="ja"><title>計画</title><img src="/no-content-type" alt=""></html>'

    @planted.route("/no-content-type")
    def no_content_type():
        response = Response(b"GIF89a")
        del response.headers["Content-Type"]
        return response

    @planted.route("/resident-status")
    def resident_status():
        return "<p>active</p>", "0 active"

    server = make_server("127.0.0.1", 0, planted, threaded=True)
    with served(server, "planted-server"):
        yield f"http://127.0.0.1:{server.server_port}"


def test_the_listener_fails_a_test_that_met_an_invalid_answer(chromium, planted_server):
    context = chromium.new_context()
    try:
        answers = BrowserResponses.attach(context, planted_server)
        page = context.new_page()
        page.goto(planted_server + "/")
        page.wait_for_function("() => document.images[0].complete")
        page.goto(planted_server + "/resident-status")
    finally:
        context.close()
    with pytest.raises(AssertionError) as refused:
        answers.check()
    assert f"GET {planted_server}/no-content-type (status 200): a body without a Content-Type" in str(refused.value)
    assert f"GET {planted_server}/resident-status (status 0): the status is not an integer" in str(refused.value)
    assert f"{planted_server}/ " not in str(refused.value)  # the valid page is not named
