"""The gateway believes only the gateway: an ``X-Original-*`` header of any name that reaches the check
twice (a consumer's copy beside nginx's own) is refused (400) before anything else, as docs/gateway.md
says. The servers join the copies into one value (gunicorn and werkzeug with ",", the test client with
", "), so both ways are sent here."""

from __future__ import annotations

import pytest

AUTH = "/api/v1/gateway/auth"

TWICE = [
    ("X-Original-Method", "GET", "POST"),
    ("X-Original-URI", "/v2/entities", "/v2/subscriptions"),
    ("X-Original-URI", "/v2/entities?attrs=a,b", "/ngsi-ld/v1/entities"),
    ("X-Original-Remote-Addr", "10.9.1.1", "10.0.0.9"),
    ("X-Original-Authorization", "Bearer a.b.c", "Bearer d.e.f"),
    ("X-Original-Fiware-Service", "kumamoto", "yatsushiro"),
    ("X-Original-Fiware-ServicePath", "/open", "/closed"),
    ("X-Original-Something-New", "1", "2"),
]


def _refused(answer, name: str) -> None:
    assert answer.status_code == 400, (name, answer.status_code, answer.get_data(as_text=True)[:300])
    body = answer.get_json()
    assert answer.mimetype == "application/problem+json"
    assert name in body["detail_en"] and name in body["detail_ja"]
    assert body["allowed"] is False and body["reason"] == "check_unavailable"


@pytest.mark.parametrize("name,first,second", TWICE)
def test_a_header_sent_twice_as_two_lines_is_refused(client, name, first, second):
    _refused(client.get(AUTH, headers=[("X-Original-Method", "GET"), (name, first), (name, second)]
                        if name != "X-Original-Method" else [(name, first), (name, second)]), name)


@pytest.mark.parametrize("name,first,second", TWICE)
def test_a_header_sent_twice_as_the_server_joins_it_is_refused(client, name, first, second):
    key = "HTTP_" + name.upper().replace("-", "_")
    _refused(client.get(AUTH, environ_base={key: f"{first},{second}"}), name)


@pytest.mark.parametrize("name,value", [("X-Original-URI", "/v2/entities?attrs=temperature,humidity&q=a>1"),
                                        ("X-Original-URI", "/v2/entities/urn:a,b"),
                                        ("X-Original-Fiware-ServicePath", "/kumamoto/open")])
def test_one_value_that_holds_a_comma_where_one_may_is_not_a_repeat(client, name, value):
    """Passed on to the gateway's credential check (401 without it), not refused as a repeat."""
    answer = client.get(AUTH, headers={"X-Original-Method": "GET", name: value})
    assert answer.status_code == 401, answer.get_json()


def test_the_refusal_names_each_repeated_header_once(client):
    answer = client.get(AUTH, headers=[("X-Original-Method", "GET"), ("X-Original-Method", "POST"),
                                       ("x-original-uri", "/a"), ("X-Original-URI", "/b")])
    _refused(answer, "X-Original-Method")
    detail = answer.get_json()["detail_en"]
    assert detail.count("X-Original-Method") == 1 and detail.lower().count("x-original-uri") == 1
