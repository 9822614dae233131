"""The contract tells the truth, in words: a problem names the field as the API names it and says what
is allowed in a Japanese and an English sentence (never pydantic's type names or "Must be null." for a
field that may be null); an answer holds what its schema says (a meeting attendee's absent corporate
number is null, not ""); every answer the gateway's check gives is in the document (431 included); and
no message, in the catalogues, the document or an answer, has doubled punctuation (「許可します。。」)."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import jsonschema
import pytest

from core import validation
from tenancy.identity import client_access

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "tenancy", "catalogue", "usage", "billing", "governance", "secretariat", "service", "competition",
            "residents", "maintenance", "admin")
# 「。。」「、、」「。、」, a Japanese mark beside an English one, or an English sentence ending "..": never
# an ellipsis ("...") or a path ("../", "a..b").
DOUBLED_PUNCTUATION = re.compile(r"。。|、、|。、|、。|。\.(?![\w/.])|\.。|(?<=[A-Za-z)」])\.\.(?![./\w])")
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])*(\.[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])*)*$|^\(body\)$")


def test_the_punctuation_check_sees_a_doubled_mark():
    for bad in ("許可します。。", "入力してください、、", "Allowed..", "保存しました。.", "Done.。"):
        assert DOUBLED_PUNCTUATION.search(bad), bad
    for good in ("許可します。", "Loading...", "../docs/gateway.md", "Allowed.", "v1..v2", "「a」。"):
        assert not DOUBLED_PUNCTUATION.search(good), good


# --- problems ---------------------------------------------------------------------------------------

def _assert_words(problem: dict) -> None:
    for item in problem.get("errors", []):
        assert FIELD_NAME.match(item["field"]), item["field"]
        assert item["message_en"] != "Must be null.", problem
        assert item["message_en"].endswith(".") and item["message_ja"].endswith("。"), item
        for text in (item["message_en"], item["message_ja"]):
            assert "[" not in text and "enum" not in text.lower() and not DOUBLED_PUNCTUATION.search(text), text


def test_a_bad_kind_is_refused_naming_the_field_and_the_allowed_kinds(open_api, tenant_factory):
    tenant_factory("431001")
    answer = open_api.patch("/api/v1/tenants/431001", json={"kind": "metropolis"})
    assert answer.status_code == 422
    problem = answer.get_json()
    _assert_words(problem)
    [item] = problem["errors"]
    assert item["field"] == "kind"
    assert item["message_en"] == "Must be one of: prefecture, designated_city, city, ward, town, village."
    assert item["message_ja"] == "prefecture、designated_city、city、ward、town、village のいずれかを指定してください。"


@pytest.mark.parametrize("body", [{"kind": 7}, {"status": "sleeping"}, {"population": "many"},
                                  {"contacts": [{"name": "a", "email": "x", "role": "boss"}]}])
def test_other_refusals_of_the_tenants_patch_are_in_words_too(open_api, tenant_factory, body):
    tenant_factory("431001")
    answer = open_api.patch("/api/v1/tenants/431001", json=body)
    assert answer.status_code in (400, 422), answer.get_json()
    _assert_words(answer.get_json())


def test_the_choices_of_a_literal_read_as_words():
    assert validation._choices("'city', 'ward' or 'town'") == ["city", "ward", "town"]
    assert validation._choices("1 or 2") == ["1", "2"]
    assert validation._choices("'only'") == ["only"]


# --- answers hold what their schema says -------------------------------------------------------------

def test_a_meetings_attendees_are_what_the_schema_says(open_api, db, operator, tenant_factory):
    from governance import meetings

    tenant_factory("431001")
    meetings.create_meeting(db, operator, meetings.MeetingDraft(
        kind="council", title="第3回 協議会", held_at=dt.datetime(2026, 11, 20, 5, tzinfo=dt.timezone.utc), place="県庁",
        attendees=(meetings.Attendee("市 担当", tenant_code="431001"), meetings.Attendee("来賓 一名"))))
    db.commit()
    document = open_api.get("/api/v1/openapi.json").get_json()
    listed = open_api.get("/api/v1/meetings").get_json()
    attendees = listed["items"][0]["attendees"]
    assert [(a["tenant_code"], a["corporate_number"]) for a in attendees] == [("431001", None), (None, None)]
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/MeetingList", "components": document["components"]})
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(listed)]
    assert errors == []


def test_the_gateways_check_documents_every_status_it_answers(open_api):
    document = open_api.get("/api/v1/openapi.json").get_json()
    responses = document["paths"]["/api/v1/gateway/auth"]["get"]["responses"]
    for status in ("200", "400", "401", "403", "429", "431", "503"):
        assert status in responses, status
    assert responses["431"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")


# --- no doubled punctuation ---------------------------------------------------------------------------

def test_no_message_constant_or_catalogue_entry_has_doubled_punctuation():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and DOUBLED_PUNCTUATION.search(node.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}")
    for path in sorted((ROOT / "admin").rglob("*.po")) + sorted((ROOT / "admin" / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if DOUBLED_PUNCTUATION.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line[:60]!r}")
    assert found == []


@pytest.mark.parametrize("reason", sorted(client_access.REASONS))
def test_every_gateway_decision_reads_with_one_closing_mark(reason):
    for detail in ("", "scope broker.write", "ends with a full stop."):
        summary = client_access.GatewayDecision(allowed=reason == "allowed", reason=reason, detail=detail).summary()
        for text in (summary["message_en"], summary["message_ja"]):
            assert not DOUBLED_PUNCTUATION.search(text), text
        assert summary["message_en"].endswith(".") and summary["message_ja"].endswith("。")


def test_every_built_in_refusal_reads_with_one_closing_mark():
    for kind, (en, ja) in validation._WORDS.items():
        assert en.endswith(".") and ja.endswith("。") and not DOUBLED_PUNCTUATION.search(en + ja), kind
    for kind, (_, en, ja) in validation._WITH_LIMIT.items():
        assert not DOUBLED_PUNCTUATION.search(en.format(10) + ja.format(10)), kind


def test_no_string_in_the_contract_has_doubled_punctuation(open_api):
    document = open_api.get("/api/v1/openapi.json").get_json()
    found = []

    def walk(value, where):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}/{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{where}/{index}")
        elif isinstance(value, str) and DOUBLED_PUNCTUATION.search(value):
            found.append(f"{where}: {value[:80]!r}")

    walk(document, "")
    assert found == []
