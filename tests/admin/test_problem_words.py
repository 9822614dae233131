"""Every validation error of the API is told in renkei's own words (issue 36, item 8): an over-long
``name_en`` returned pydantic's internals, a memory address
(``name_en.function-after[functools.partial(<function max_length_validator at 0x7f…>…``) and a bogus
second error ("Input should be null"). Each body schema's fields are sent over-long, of the wrong
type, empty or null, and no problem+json may carry pydantic's wording or names."""

from __future__ import annotations

import json
import re

import pytest

# pydantic's reprs, union steps and type names, and its English wording (which is not ours)
PYDANTIC = re.compile(r"0x[0-9a-f]|function|functools|pydantic|constrained-|json-or-python|lax-or-strict|"
                      r"Strict(Str|Int|Bool)|\[type=|Input should|String should|List should|Value should|"
                      r"Dictionary should|Value error|Field required|Extra inputs|ValidationError")
VALUES = ["x" * 5000, 2**40, -1, 1.5, True, None, [], {}, ["x" * 300], {"a": 1}, "", "1\u202e2"]


def _path_of(path: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        return "431001" if "code" in name else "2025" if "year" in name or name == "fy" else "1"
    return re.sub(r"\{([^}]+)\}", value, path)


def _bodies(schema: dict, resolve) -> list[dict]:
    """One field of ``schema`` (and of an object or a list of objects it holds) set to each value."""
    bodies = []
    for name, field in schema.get("properties", {}).items():
        bodies += [{name: value} for value in VALUES]
        inner = resolve(field.get("items", {})) if field.get("type") == "array" else resolve(field)
        for sub in inner.get("properties", {}):
            wrap = (lambda v: [v]) if field.get("type") == "array" else (lambda v: v)
            bodies += [{name: wrap({sub: value})} for value in ("x" * 5000, 2**40, None, [])]
    return bodies


def test_no_validation_problem_carries_pydantics_words_or_internals(open_api):
    document = open_api.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    def resolve(schema: dict) -> dict:
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    sent = refused = 0
    found: dict[tuple[str, str], str] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if method not in ("post", "put", "patch") or not content:
                continue
            schema = resolve(content["schema"])
            for body in _bodies(schema, resolve):
                answer = getattr(open_api, method)(_path_of(path), json=body)
                sent += 1
                assert answer.status_code < 500, (path, body, answer.get_data(as_text=True)[:300])
                if answer.mimetype != "application/problem+json" or answer.status_code != 422:
                    continue
                refused += 1
                problem = answer.get_json()
                text = json.dumps(problem, ensure_ascii=False)
                if (bad := PYDANTIC.search(text)) is not None:
                    found.setdefault((f"{method.upper()} {path}", bad.group()), text[:400])
                named = [item["field"] for item in problem.get("errors", [])]
                top = {re.split(r"[.\[]", field)[0] for field in named}
                known = (set(schema.get("properties", {})) | {"(body)", "body"}
                         | {parameter["name"] for parameter in operation.get("parameters", [])})
                if not all(field in known or field.startswith("line ") for field in top):
                    found.setdefault((f"{method.upper()} {path}", f"fields {sorted(top - known)}"), text[:400])
    assert refused > 1000, (sent, refused)  # the fuzzing reached the schemas
    assert not found, "\n".join(f"{where}: {what}\n  {text}" for (where, what), text in found.items())


def test_an_over_long_name_en_is_one_problem_in_words(open_api, tenant_factory):
    tenant_factory("431001")
    answer = open_api.patch("/api/v1/tenants/431001", json={"name_en": "K" * 101})
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert answer.get_json()["errors"] == [{"field": "name_en", "message_en": "At most 100 characters.",
                                            "message_ja": "100 文字以内で入力してください。"}]


@pytest.mark.parametrize("value, en", [(5, "Must be text."), (None, "Must be text.")])
def test_a_wrong_type_in_a_nullable_field_is_one_problem(open_api, tenant_factory, value, en):
    """``X | None`` fields: the refusal of X, not also pydantic's "Input should be null"."""
    tenant_factory("431001")
    answer = open_api.patch("/api/v1/tenants/431001", json={"name_ja": value})
    assert answer.status_code == 422
    assert [item["field"] for item in answer.get_json()["errors"]] == ["name_ja"]
