"""The CKAN layer's contract: an OpenAPI 3.1 document of renkei's CKAN Action API (``/api/3/action/``),
served at ``/api/3/openapi.json``. CKAN publishes no OpenAPI document of its own; this one states what
renkei's read-only actions take and answer (admin/ckan.py), so the contract test runs Schemathesis
over it as over ``/api/v1`` (tests/admin/test_api_contract.py).

Each action takes its parameters as a query string (GET) or a JSON object (POST, as ``ckanapi`` sends
them) and answers CKAN's envelope: ``help``, ``success`` and ``result``, or ``error`` (``__type``,
``message``) with the status CKAN gives it (400 an unknown action, 403 a bad token, 404 nothing
found, 409 a parameter refused). Text no address under ``/api`` may carry (control characters) is
refused by the API's edge as ``application/problem+json`` (400/422).
"""

from __future__ import annotations

from typing import Any

from tenancy.datasets import catalogue

_COUNT = {"type": "integer", "minimum": 0, "maximum": catalogue.MAX_ROWS}
_OFFSET = {"type": "integer", "minimum": 0, "maximum": 10_000_000}
_ID = {"type": "string", "maxLength": 100, "description": "A dataset's name or uid (package_show), a provider's code "
                                                        "(organization_show)"}
_TEXT = {"type": "string", "maxLength": 500}
_FLAG = {"type": "boolean"}

# the parameters of each action (admin/ckan.py reads them with these bounds; a value beyond them is CKAN's 409)
PARAMETERS: dict[str, dict[str, dict[str, Any]]] = {
    "package_list": {"limit": _COUNT, "offset": _OFFSET},
    "package_show": {"id": _ID},
    "package_search": {"q": {**_TEXT, "description": "Words searched in titles, descriptions and keywords"},
                       "fq": {**_TEXT, "description": "Filters as CKAN writes them: organization:431001, "
                                                      "tags:AED, res_format:CSV, license_id:CC-BY-4.0"},
                       "sort": {"type": "string", "maxLength": 200,
                                "description": "e.g. 'name asc', 'metadata_modified desc' (another is a 409)"},
                       "rows": _COUNT, "start": _OFFSET},
    "organization_list": {"limit": {"type": "integer", "minimum": 0, "maximum": 1000}, "offset": _OFFSET,
                          "all_fields": _FLAG},
    "organization_show": {"id": _ID, "include_datasets": _FLAG},
    "license_list": {},
    "status_show": {},
}
RESULTS: dict[str, dict[str, Any]] = {
    "package_list": {"type": "array", "items": {"type": "string"}},
    "package_show": {"type": "object"},
    "package_search": {"type": "object", "required": ["count", "results", "sort"],
                       "properties": {"count": {"type": "integer", "minimum": 0},
                                      "results": {"type": "array", "items": {"type": "object"}},
                                      "sort": {"type": "string"}}},
    "organization_list": {"type": "array"},
    "organization_show": {"type": "object"},
    "license_list": {"type": "array", "items": {"type": "object"}},
    "status_show": {"type": "object"},
}
_ERROR = {"type": "object", "required": ["help", "success", "error"],
          "properties": {"help": {"type": "string"}, "success": {"const": False},
                         "error": {"type": "object", "required": ["__type", "message"],
                                   "properties": {"__type": {"type": "string"}, "message": {"type": "string"}}}}}
_PROBLEM = {"type": "object", "required": ["status"], "properties": {"status": {"type": "integer"}}}


def _answers(action: str) -> dict[str, Any]:
    ok = {"type": "object", "required": ["help", "success", "result"],
          "properties": {"help": {"type": "string"}, "success": {"const": True}, "result": RESULTS[action]}}
    error = {"application/json": {"schema": _ERROR}}
    edge = {"application/problem+json": {"schema": _PROBLEM}}
    return {"200": {"description": "CKAN's envelope with the result", "content": {"application/json": {"schema": ok}}},
            "400": {"description": "Text no address may carry (the API's edge)", "content": {**error, **edge}},
            "403": {"description": "A token was sent and is not good (CKAN's Authorization Error)", "content": error},
            "404": {"description": "Not found, or not published for this reader (CKAN's Not Found Error)",
                    "content": error},
            "409": {"description": "A parameter refused (CKAN's Validation Error)", "content": error},
            "422": {"description": "A parameter the API's edge refuses", "content": edge}}


def document(actions: tuple[str, ...], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the CKAN ``actions`` (admin.ckan.ACTIONS), CKAN's API ``version``."""
    paths: dict[str, Any] = {}
    for action in actions:
        params = PARAMETERS[action]
        paths[f"/api/3/action/{action}"] = {
            "get": {"operationId": f"{action}_get", "summary": f"CKAN {action} (query string)",
                    "parameters": [{"name": name, "in": "query", "required": False, "schema": schema}
                                   for name, schema in params.items()],
                    "responses": _answers(action)},
            "post": {"operationId": f"{action}_post", "summary": f"CKAN {action} (JSON body, as ckanapi sends it)",
                     "requestBody": {"required": False, "content": {"application/json": {"schema": {
                         "type": "object", "properties": params, "additionalProperties": False}}}},
                     "responses": _answers(action)},
        }
    return {"openapi": "3.1.0",
            "info": {"title": "renkei: the catalogue's CKAN Action API (read only)", "version": version,
                     "description": __doc__},
            "paths": paths}
