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
  numbers (``corporate_number``) carry 13 digits, the first the check digit 1-9.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from admin.api import API_PREFIX, Problem

PROBLEM_MEDIA = "application/problem+json"
CORPORATE_NUMBER_PATTERN = r"^[1-9][0-9]{12}$"

ERRORS = {
    "400": "Bad request: the body or a value is malformed (e.g. JSON not parseable, a duplicate key, nested too deep)",
    "401": "No access token, or one that is invalid or expired",
    "403": "The caller's roles or tenant do not allow this",
    "404": "No such resource (or not visible to the caller)",
    "409": "The resource's current state does not allow this",
    "413": "The body is larger than the server accepts",
    "415": "The body is not JSON (send Content-Type: application/json)",
    "422": "Invalid input: `errors` names each field at fault",
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


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
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
            if name == "corporate_number" and isinstance(prop, dict) and prop.get("type") == "string":
                prop.setdefault("pattern", CORPORATE_NUMBER_PATTERN)
        for value in schema.values():
            _patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            _patterns(value)


def complete(spec: dict[str, Any]) -> dict[str, Any]:
    """Add what every operation shares to the document flask-openapi3 built (in place)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.pop("ValidationErrorModel", None)  # flask-openapi3's own 422 body: renkei answers problem+json
    for name, model in _JSON_MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    for path, item in spec.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
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
    return spec


def install(app: Any) -> None:
    """Complete the document each time flask-openapi3 builds it."""
    build = app.generate_spec_json

    def generate_spec_json() -> None:
        build()
        complete(app.spec_json)

    app.generate_spec_json = generate_spec_json
