"""The strict JSON check's fast path (issue 12, item 3): a body is walked value by value only when
its raw text holds something that can make a value unacceptable; each such source must still be
found, through the API and through :func:`admin.edge.strict_loads`.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from admin.edge import MAX_JSON_DEPTH, EdgeRefusal, strict_loads
from tenancy.registry.models import Tenant

PROBLEM = "application/problem+json"


def tenant_json(name_ja: str = "熊本市", **fields) -> bytes:
    """A tenant body with ``name_ja`` written into the raw text exactly as given (escapes included)."""
    body = json.dumps({"code": "431001", "name_en": "Kumamoto", "kind": "city", "population": 730000, **fields})
    return (body[:-1] + ', "name_ja": "' + name_ja + '"}').encode("utf-8", "surrogatepass")


def refusal(raw: bytes) -> tuple[int, dict]:
    with pytest.raises(EdgeRefusal) as caught:
        strict_loads(raw)
    response = caught.value.get_response()
    return response.status_code, json.loads(response.get_data())


def tenants(db) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(Tenant))


# --- escapes: the slow path still refuses what they spell --------------------------------------

@pytest.mark.parametrize("escape, code", [
    (r"\ud800", "U+D800"),       # a lone high surrogate
    (r"\uDC00", "U+DC00"),       # a lone low surrogate, upper-case hex
    (r"\u0000", "U+0000"),
    (r"\u001b", "U+001B"),
    (r"\u007f", "U+007F"),
    (r"\u0085", "U+0085"),
    (r"\b", "U+0008"),
    (r"\f", "U+000C"),
])
def test_an_escape_spelling_a_refused_character_is_refused_naming_the_field(open_api, db, escape, code):
    answer = open_api.post("/api/v1/tenants", data=tenant_json(f"熊本{escape}市"), content_type="application/json")
    assert answer.status_code == 422 and answer.mimetype == PROBLEM
    errors = answer.get_json()["errors"]
    assert [item["field"] for item in errors] == ["name_ja"]
    assert code in errors[0]["message_en"] and code in errors[0]["message_ja"]
    assert tenants(db) == 0


def test_harmless_escapes_and_a_surrogate_pair_are_accepted(open_api, db):
    # what json.dumps sends by default: Japanese as \u escapes, an emoji as a surrogate pair
    name = json.dumps("熊本市\U0001F3EF")[1:-1]
    assert "\\u" in name and "\\ud83c" in name
    answer = open_api.post("/api/v1/tenants", data=tenant_json(name), content_type="application/json")
    assert answer.status_code in (200, 201), answer.get_data(as_text=True)
    assert open_api.get("/api/v1/tenants/431001").get_json()["name_ja"] == "熊本市\U0001F3EF"
    assert strict_loads(b'{"a": "line\\nbreak \\"quoted\\" \\\\ \\/ tab\\t"}') == {"a": 'line\nbreak "quoted" \\ / tab\t'}


def test_an_escaped_backslash_before_u_is_text_not_an_escape():
    assert strict_loads(b'{"a": "C:\\\\ud800\\\\b"}') == {"a": "C:\\ud800\\b"}


# --- raw bytes: the same characters written as themselves ----------------------------------------

@pytest.mark.parametrize("raw_char, code", [
    (b"\x7f", "U+007F"),          # DEL
    (b"\xc2\x85", "U+0085"),      # a C1 control character in UTF-8
    (b"\xc2\x9f", "U+009F"),
    (b"\xed\xa0\x80", "U+D800"),  # a lone surrogate encoded as UTF-8 bytes
])
def test_a_refused_character_sent_as_raw_bytes_is_refused(raw_char, code):
    status, body = refusal(b'{"events": [{"ok": "a"}, {"name": "x' + raw_char + b'y"}]}')
    assert status == 422
    assert [(item["field"], item["index"]) for item in body["errors"]] == [("events[1].name", 1)]
    assert code in body["errors"][0]["message_en"]


def test_a_refused_character_in_a_key_is_refused():
    status, body = refusal(b'{"na\x7fme": "x"}')
    assert status == 422 and body["errors"][0]["field"] == "(key)"


def test_text_near_the_refused_ranges_is_accepted():
    # U+00A0 (\xc2\xa0), U+00BF, Hangul U+D55C (\xed\x95\x9c) share lead bytes with refused ranges
    raw = '{"a": "\u00a0\u00bf한국 熊本 ©"}'.encode()
    assert strict_loads(raw) == {"a": "\u00a0\u00bf한국 熊本 ©"}


def test_a_utf16_body_still_gets_every_check():
    for text, code in (('{"a": "x\\u0007"}', "U+0007"), ('{"a": "x\x7f"}', "U+007F")):
        status, body = refusal(text.encode("utf-16"))
        assert status == 422 and code in body["errors"][0]["message_en"]


# --- long digit runs: integers beyond a bigint ---------------------------------------------------

def test_an_integer_of_nineteen_digits_is_checked_against_the_bigint_range(open_api, db):
    assert strict_loads(b'{"n": 9223372036854775807, "m": -9223372036854775807}') == {
        "n": 2**63 - 1, "m": -(2**63 - 1)}
    status, body = refusal(b'{"events": [{"quantity": 9223372036854775808}]}')
    assert status == 422 and body["errors"][0]["field"] == "events[0].quantity"
    status, body = refusal(b'{"n": -92233720368547758070}')
    assert status == 422 and body["errors"][0]["field"] == "n"
    answer = open_api.post("/api/v1/tenants", data=tenant_json(population=10**19), content_type="application/json")
    assert answer.status_code == 422
    assert [item["field"] for item in answer.get_json()["errors"]] == ["population"]
    assert tenants(db) == 0


def test_long_digit_runs_inside_text_are_only_text():
    assert strict_loads(b'{"event_id": "00000000000000000000000001"}') == {"event_id": "0" * 25 + "1"}


# --- depth: brackets in strings and escaped quotes do not count; real nesting does -------------

def nested(levels: int, leaf: str = "1") -> bytes:
    return ('{"a":' * levels + leaf + "}" * levels).encode()


def test_nesting_up_to_the_limit_is_accepted_and_one_more_is_refused():
    assert strict_loads(nested(MAX_JSON_DEPTH)) is not None
    status, _ = refusal(nested(MAX_JSON_DEPTH + 1))
    assert status == 400
    status, _ = refusal(("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)).encode())
    assert status == 400


def test_brackets_inside_strings_and_after_escaped_quotes_do_not_count():
    leaf = '"' + "[{" * 100 + '\\" [[[ \\\\"'  # an escaped quote, then an escaped backslash ending the string
    value = strict_loads(nested(MAX_JSON_DEPTH, leaf))
    for _ in range(MAX_JSON_DEPTH):
        value = value["a"]
    assert value == "[{" * 100 + '" [[[ \\'


def test_escaped_quotes_do_not_hide_real_nesting():
    # read without its escapes, '\\"' would close a string and the nesting would sit inside "strings"
    deep = "[" * 40 + "]" * 40
    status, _ = refusal(('{"s": "\\"", "t": ' + deep + ', "u": "\\""}').encode())
    assert status == 400


def test_malformed_json_is_still_a_400():
    for raw in (b'{"a": [}', b'{"a": "unterminated', b'{"a": 1}}', b'{"a": NaN}'):
        status, body = refusal(raw)
        assert status == 400 and body["detail_en"] != body["detail_ja"]


# --- one parse: duplicate keys and the body model -----------------------------------------------

def test_a_duplicate_key_in_a_nested_object_is_named():
    status, body = refusal(b'{"events": [{"a": 1, "b": 2}, {"b": 1, "c": 2, "b": 3}]}')
    assert status == 400 and body["errors"][0]["field"] == "b"


def test_the_body_model_still_reads_dates_and_choices_and_refuses_loose_types(open_api, db, tenant_factory):
    answer = open_api.post("/api/v1/tenants", data=tenant_json(), content_type="application/json")
    assert answer.status_code in (200, 201)
    assert open_api.get("/api/v1/tenants/431001").get_json()["kind"] == "city"
    answer = open_api.post("/api/v1/tenants", data=tenant_json(code="432024", population="5"),
                           content_type="application/json")
    assert answer.status_code == 422
    assert [item["field"] for item in answer.get_json()["errors"]] == ["population"]
    assert tenants(db) == 1
