"""The API's OpenAPI contract, completed in one place (issue 14).

flask-openapi3 documents what each endpoint declares (its path, query and body models, and the
``responses=`` of its decorator). What every operation shares is added here, once, when the
document is built, so no endpoint repeats it and none can forget it:

* **Errors**: every 4xx/5xx answer is ``application/problem+json`` with the :class:`Problem`
  schema (:mod:`admin.problems`). Every operation documents 400 (malformed request), 401 (no or
  bad token; ``WWW-Authenticate``), 403, 404, 409, 422 and 503 (Keycloak, which validates tokens
  and holds the people, unreachable); operations that take a body (POST, PUT, PATCH) also 413
  (over ``MAX_CONTENT_LENGTH``) and 415 (not JSON). 405 is the answer of a path to a method it
  does not have, always with ``Allow`` (:func:`admin.problems.init_app`).
* **Success**: an endpoint declares its success response in its decorator (``responses={200:
  Model}``, ``{201: Model}``, ``{204: None}``, or for files :func:`media`, e.g.
  ``media(ReportOut, "text/csv", XLSX)`` for a ``?format=`` choice whose JSON form is ``ReportOut``).
  An operation that declares none is documented as a bare JSON object (``200``), the weakest
  contract: tests/admin/test_api_contract.py fails on any 2xx JSON answer without properties.
* **Codes**: tenant codes carry ``pattern`` (:data:`core.validation.TenantCode`); corporate
  numbers (``corporate_number``) carry 13 digits, the first the check digit 1-9. A check digit is
  beyond JSON Schema: the codes name it as their ``format`` (``jp-local-government-code``,
  ``jp-corporate-number``, ``jp-account-holder-code``) and describe it.
* **The edge's rules** (:mod:`admin.edge`, which refuses them for every endpoint before any model
  sees the request) are stated on every request schema, from the edge's own constants: every string,
  object key and path or query value is storable text (:func:`core.validation.stated_text_rule`);
  a body integer fits a bigint, a query integer and a path id a PostgreSQL integer; a query date's
  year is a supported one; and the fields a body model does not name (ignored) are any JSON of
  storable text and bigint numbers (:data:`STORABLE_JSON`).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from admin.api import API_PREFIX, Problem
from admin.edge import FIRST_YEAR, LAST_YEAR, MAX_JSON_DEPTH
from core.spreadsheet import XLSX_MIMETYPE
from core.validation import INT32_MAX, INT64_MAX, STORABLE_TEXT_RULE, stated_text_rule

PROBLEM_MEDIA = "application/problem+json"
CORPORATE_NUMBER_PATTERN = r"^[1-9][0-9]{12}$"
# a file sent in a JSON body: standard base64 with its padding (what base64.b64decode(validate=True) accepts)
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
CORPORATE_NUMBER_FORMAT = "jp-corporate-number"
CORPORATE_NUMBER_RULE = ("Corporate number: 13 digits, the first a check digit (9 minus the weighted sum of "
                         "the other twelve mod 9, weights 1 and 2 alternating from the right)")

ERRORS = {
    "400": "Bad request: the body or a value is malformed (e.g. JSON not parseable, a duplicate key, nested too deep)",
    "401": "No access token, or one that is invalid or expired",
    "403": "The caller's roles or tenant do not allow this",
    "404": "No such resource (or not visible to the caller)",
    "409": "The resource's current state does not allow this",
    "413": "The body is larger than the server accepts",
    "415": "The body is not JSON (send Content-Type: application/json)",
    "422": "Invalid input: `errors` names each field at fault",
    "431": "A request header is longer than its parameter's maxLength, or the headers together are too large",
    "503": "A system renkei depends on (Keycloak) is unreachable; try again later",
}
ALWAYS = ("400", "401", "403", "404", "409", "422", "503")
WITH_BODY = ("413", "415")


# Models named as the JSON form of a media() response: their schemas join the document's components
# when it is built (flask-openapi3 registers only models given directly as a response).
_JSON_MODELS: dict[str, type[BaseModel]] = {}


def media(*types: str | type[BaseModel], description: str = "OK") -> dict[str, Any]:
    """A success response that is a file (or one of several formats), for a decorator's ``responses``.

    A pydantic model among ``types`` is the ``application/json`` form (``?format=json``), documented
    with its schema; the bare ``"application/json"`` documents only "a JSON object" (avoid it)."""
    content: dict[str, Any] = {}
    for kind in types:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            _JSON_MODELS[kind.__name__] = kind
            content["application/json"] = {"schema": {"$ref": f"#/components/schemas/{kind.__name__}"}}
        elif kind == "application/json":
            content[kind] = {"schema": {"type": "object"}}
        elif kind.startswith("text/") or kind.endswith("ndjson"):
            content[kind] = {"schema": {"type": "string"}}
        else:
            content[kind] = {"schema": {"type": "string", "format": "binary"}}
    return {"description": description, "content": content}


XLSX = XLSX_MIMETYPE
JSON_CSV_XLSX = media("application/json", "text/csv", XLSX,
                      description="JSON by default; CSV (UTF-8) or Excel with ?format=")  # untyped JSON: use json_csv_xlsx


def json_csv_xlsx(model: type[BaseModel]) -> dict[str, Any]:
    """A ``?format=json|csv|xlsx`` answer whose JSON form is ``model``."""
    return media(model, "text/csv", XLSX, description="JSON by default; CSV (UTF-8) or Excel with ?format=")


def _problem_response(status: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERRORS.get(status, "Error"),
        "content": {PROBLEM_MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == "401":
        response["headers"] = {"WWW-Authenticate": {"description": "Bearer realm=\"renkei\"",
                                                    "schema": {"type": "string"}}}
    return response


def _patterns(schema: Any) -> None:
    """``corporate_number`` properties anywhere in ``schema`` get their pattern."""
    if isinstance(schema, dict):
        for name, prop in (schema.get("properties") or {}).items():
            if name != "corporate_number" or not isinstance(prop, dict):
                continue
            # the string itself, or the string member of "a number or null"
            for text in [prop, *(prop.get("anyOf") or [])]:
                if isinstance(text, dict) and text.get("type") == "string":
                    text.setdefault("pattern", CORPORATE_NUMBER_PATTERN)
                    text.setdefault("format", CORPORATE_NUMBER_FORMAT)
                    text.setdefault("description", CORPORATE_NUMBER_RULE)
        for value in schema.values():
            _patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            _patterns(value)


# JSON Schema keywords flask-openapi3 leaves out of the components it builds from a model (its Schema
# knows only OpenAPI 3.0's), put back from the model's own schema by :func:`restore_keywords`.
DROPPED_KEYWORDS = ("propertyNames", "patternProperties", "if", "then", "else", "dependentRequired",
                    "dependentSchemas", "contains", "minContains", "maxContains", "unevaluatedProperties")


def _restore(raw: Any, built: Any) -> None:
    if not isinstance(raw, dict) or not isinstance(built, dict) or "$ref" in built:
        return
    for keyword in DROPPED_KEYWORDS:
        if keyword in raw and keyword not in built:
            built[keyword] = copy.deepcopy(raw[keyword])
    for name, prop in (raw.get("properties") or {}).items():
        _restore(prop, (built.get("properties") or {}).get(name))
    for keyword in ("items", "additionalProperties", "not"):
        _restore(raw.get(keyword), built.get(keyword))
    for keyword in ("anyOf", "oneOf", "allOf"):
        if len(raw.get(keyword) or ()) == len(built.get(keyword) or ()):
            for raw_part, built_part in zip(raw.get(keyword) or (), built.get(keyword) or ()):
                _restore(raw_part, built_part)


def restore_keywords(spec: dict[str, Any], models: list[type[BaseModel]]) -> None:
    """Put back in the components of ``models`` (and of the models they hold) the keywords of
    :data:`DROPPED_KEYWORDS` their pydantic schemas state (e.g. the keys of a map)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        raw = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, part in [(model.__name__, raw), *raw.get("$defs", {}).items()]:
            _restore(part, schemas.get(name))


def request_models(app: Any) -> list[type[BaseModel]]:
    """The models of the API's request bodies, read from its view functions' ``body`` parameter."""
    found: dict[str, type[BaseModel]] = {}
    for view in app.view_functions.values():
        try:
            annotation = inspect.signature(view, eval_str=True).parameters["body"].annotation
        except (KeyError, NameError, TypeError, ValueError):
            continue
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            found.setdefault(annotation.__name__, annotation)
    return list(found.values())


def complete(spec: dict[str, Any], models: list[type[BaseModel]] = ()) -> dict[str, Any]:
    """Add what every operation shares to the document flask-openapi3 built (in place); ``models``
    are the request bodies' (:func:`request_models`), whose dropped keywords are put back."""
    restore_keywords(spec, list(models))
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.pop("ValidationErrorModel", None)  # flask-openapi3's own 422 body: renkei answers problem+json
    for name, model in _JSON_MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    for method, operation in api_operations(spec):
        responses = operation.setdefault("responses", {})
        if not any(str(code).startswith("2") for code in responses):
            responses["200"] = media("application/json")
        for code in list(responses):
            if str(code)[0] in "45":
                responses[str(code)] = _problem_response(str(code))
        statuses = ALWAYS + (WITH_BODY if method in {"post", "put", "patch"} else ())
        for code in statuses:
            responses.setdefault(code, _problem_response(code))
    _patterns(spec)
    _state_edge_rules(spec)
    return spec


# --- the edge's rules, stated ------------------------------------------------------------------------

STORABLE_JSON = "StorableJson"
_NOT_TEXT_FORMATS = {"date", "date-time", "binary", "byte"}


def digits_between(low: str, high: str) -> str:
    """A regex matching the decimal numbers from ``low`` to ``high`` (equal lengths)."""
    if not low:
        return ""
    if low[0] == high[0]:
        return low[0] + digits_between(low[1:], high[1:])
    rest = len(low) - 1
    if low[1:] == "0" * rest and high[1:] == "9" * rest:
        return f"[{low[0]}-{high[0]}]" + "[0-9]" * rest
    parts = [low[0] + digits_between(low[1:], "9" * rest)]
    if int(high[0]) - int(low[0]) > 1:
        parts.append(f"[{int(low[0]) + 1}-{int(high[0]) - 1}]" + "[0-9]" * rest)
    parts.append(high[0] + digits_between("0" * rest, high[1:]))
    return "(?:" + "|".join(parts) + ")"


# a query date (or date and time) in the years the edge accepts (admin.edge._query_value_problem)
QUERY_DATE_PATTERN = f"^{digits_between(str(FIRST_YEAR), str(LAST_YEAR))}-"


def _storable_json() -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{STORABLE_JSON}"}
    return {
        "description": f"Any JSON value the edge takes: strings and keys storable text ({STORABLE_TEXT_RULE}), "
                       f"integers within a bigint, nested at most {MAX_JSON_DEPTH} levels",
        "anyOf": [{"type": "string", **stated_text_rule()},
                  {"type": "number", "minimum": -INT64_MAX, "maximum": INT64_MAX},
                  {"type": "boolean"}, {"type": "null"},
                  {"type": "array", "items": ref},
                  {"type": "object", "propertyNames": stated_text_rule(), "additionalProperties": ref}],
    }


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def _bound(schema: dict[str, Any], low: int, high: int) -> None:
    if "minimum" not in schema and "exclusiveMinimum" not in schema:
        schema["minimum"] = low
    if "maximum" not in schema and "exclusiveMaximum" not in schema:
        schema["maximum"] = high


def _state(spec: dict[str, Any], schema: Any, where: str, seen: set[str]) -> None:
    """State the edge's rules on ``schema`` (in place) for a value in ``where`` (path, query, body)."""
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name not in seen and name != STORABLE_JSON:
            seen.add(name)
            _state(spec, spec["components"]["schemas"].get(name), where, seen)
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            _state(spec, part, where, seen)
    kinds = _types(schema)
    if "string" in kinds and not {"enum", "const"} & set(schema):
        _state_text(schema, where)
    if "integer" in kinds:
        _state_integer(schema, where)
    if "array" in kinds:
        _state(spec, schema.get("items"), where, seen)
    if "object" in kinds or "properties" in schema:
        _state_object(spec, schema, where, seen)


def _state_text(schema: dict[str, Any], where: str) -> None:
    """A string: a date in a query has the edge's date pattern; other text is storable text."""
    if schema.get("format") in {"date", "date-time"}:
        if where == "query":
            schema.setdefault("pattern", QUERY_DATE_PATTERN)
    elif schema.get("format") not in _NOT_TEXT_FORMATS and "not" not in schema:
        schema.update(stated_text_rule())


def _state_integer(schema: dict[str, Any], where: str) -> None:
    """An integer: the bounds the edge's converters and the database hold it to."""
    if where == "path":
        _bound(schema, 0, INT32_MAX)  # admin.edge.StrictIntConverter
    elif where == "query":
        _bound(schema, -INT32_MAX, INT32_MAX)
    else:
        _bound(schema, -INT64_MAX, INT64_MAX)


def _state_object(spec: dict[str, Any], schema: dict[str, Any], where: str, seen: set[str]) -> None:
    """An object: each property; a map's values and keys; free JSON in a body as storable JSON."""
    for prop in (schema.get("properties") or {}).values():
        _state(spec, prop, where, seen)
    extra = schema.get("additionalProperties", True)
    if isinstance(extra, dict) and extra:
        _state(spec, extra, where, seen)
        if where == "body":  # a map's keys (e.g. named items) are storable text too
            names = schema.setdefault("propertyNames", {})
            if "not" not in names:
                names.update(stated_text_rule())
    elif extra is not False and where == "body":
        schema["propertyNames"] = stated_text_rule()
        schema["additionalProperties"] = {"$ref": f"#/components/schemas/{STORABLE_JSON}"}


def api_operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(method, operation) of every operation of the API (under API_PREFIX) in the document."""
    for path, item in spec.get("paths", {}).items():
        if path.startswith(API_PREFIX):
            for method, operation in item.items():
                if method in {"get", "post", "put", "patch", "delete"}:
                    yield method, operation


def _state_edge_rules(spec: dict[str, Any]) -> None:
    """State on every parameter and request body what :mod:`admin.edge` refuses for all of them."""
    spec.setdefault("components", {}).setdefault("schemas", {})[STORABLE_JSON] = _storable_json()
    seen: set[str] = set()
    for _method, operation in api_operations(spec):
        for parameter in operation.get("parameters", []):
            _state(spec, parameter.get("schema"), parameter.get("in", "query"), set())
        for media_type in ((operation.get("requestBody") or {}).get("content") or {}).values():
            _state(spec, media_type.get("schema"), "body", seen)


def install(app: Any) -> None:
    """Complete the document each time flask-openapi3 builds it."""
    build = app.generate_spec_json

    def generate_spec_json() -> None:
        build()
        complete(app.spec_json, request_models(app))

    app.generate_spec_json = generate_spec_json
