"""The CKAN layer's contract: an OpenAPI 3.1 document of renkei's CKAN Action API (``/api/3/action/``),
served at ``/api/3/openapi.json``. CKAN publishes no OpenAPI document of its own; this one states what
renkei's read-only actions take and answer (admin/catalogue/ckan.py), so the contract test runs Schemathesis
over it as over ``/api/v1`` (tests/admin/test_api_contract.py).

Each action takes its parameters as a query string (GET) or a JSON object (POST, as ``ckanapi`` sends
them) and answers CKAN's envelope: ``help``, ``success`` and ``result``, or ``error`` (``__type``,
``message``) with the status CKAN gives it (400 an unknown action, 403 a bad token, 404 nothing
found, 409 a parameter refused). Text no address under ``/api`` may carry (control characters) is
refused by the API's edge as ``application/problem+json`` (400/422).
"""

from __future__ import annotations

from typing import Any

from catalogue import catalogue

_COUNT = {"type": "integer", "minimum": 0, "maximum": catalogue.MAX_ROWS}
_OFFSET = {"type": "integer", "minimum": 0, "maximum": 10_000_000}
_ID = {"type": "string", "maxLength": 100, "description": "A dataset's name or uid (package_show), a provider's code "
                                                        "(organization_show), a tag's name (tag_show)"}
_TEXT = {"type": "string", "maxLength": 500}
_FLAG = {"type": "boolean"}

# the parameters of each action (admin/catalogue/ckan.py reads them with these bounds; a value beyond them is CKAN's 409)
PARAMETERS: dict[str, dict[str, dict[str, Any]]] = {
    "package_list": {"limit": _COUNT, "offset": _OFFSET},
    "package_show": {"id": _ID},
    "package_search": {"q": {**_TEXT, "description": "Words searched in titles, descriptions and keywords"},
                       "fq": {**_TEXT, "description": "Filters as CKAN writes them: organization:431001, "
                                                      "tags:AED, res_format:CSV, license_id:CC-BY-4.0"},
                       "sort": {"type": "string", "maxLength": 200,
                                "description": "e.g. 'name asc', 'metadata_modified desc' (another is a 409)"},
                       "fq_list": {"type": "array", "items": _TEXT, "maxItems": 20,
                                   "description": "More filters, each of which must hold"},
                       "facet": _FLAG,
                       "facet.field": {"type": "array", "items": {"enum": list(catalogue.FACETS)}, "maxItems": 5},
                       "facet.limit": {"type": "integer", "minimum": -1, "maximum": 1000},
                       "facet.mincount": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
                       "rows": _COUNT, "start": _OFFSET},
    "package_autocomplete": {"q": {"type": "string", "maxLength": 100}, "limit": {"type": "integer", "minimum": 1,
                                                                                  "maximum": 100}},
    "current_package_list_with_resources": {"limit": _COUNT, "offset": _OFFSET,
                                            "page": {"type": "integer", "minimum": 1, "maximum": 10_000}},
    "resource_show": {"id": {"type": "string", "maxLength": 120, "description": "A resource's id (package_show's)"}},
    "organization_list": {"limit": {"type": "integer", "minimum": 0, "maximum": 1000}, "offset": _OFFSET,
                          "all_fields": _FLAG},
    "organization_show": {"id": _ID, "include_datasets": _FLAG},
    "group_list": {"sort": {"type": "string", "maxLength": 50,
                            "description": "title, name or package_count, asc or desc (another is a 409)"},
                   "groups": {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 100},
                   "all_fields": _FLAG, "include_dataset_count": _FLAG,
                   "limit": {"type": "integer", "minimum": 0, "maximum": 1000}, "offset": _OFFSET},
    "group_show": {"id": {"type": "string", "maxLength": 100, "description": "A category's code"},
                   "include_datasets": _FLAG, "include_dataset_count": _FLAG},
    "tag_list": {"query": {"type": "string", "maxLength": 100}, "all_fields": _FLAG},
    "tag_show": {"id": {"type": "string", "maxLength": 100}, "include_datasets": _FLAG},
    "license_list": {},
    "status_show": {},
    "help_show": {"name": {"type": "string", "maxLength": 100}},
}
_SEARCH_FACET = {"type": "object", "required": ["title", "items"],
                 "properties": {"title": {"type": "string"}, "items": {"type": "array", "items": {
                     "type": "object", "required": ["name", "display_name", "count"],
                     "properties": {"count": {"type": "integer", "minimum": 1}}}}}}
RESULTS: dict[str, dict[str, Any]] = {
    "package_list": {"type": "array", "items": {"type": "string"}},
    "package_show": {"type": "object"},
    "package_search": {"type": "object", "required": ["count", "results", "sort", "facets", "search_facets"],
                       "properties": {"count": {"type": "integer", "minimum": 0},
                                      "results": {"type": "array", "items": {"type": "object"}},
                                      "sort": {"type": "string"},
                                      "facets": {"type": "object", "additionalProperties": {
                                          "type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}},
                                      "search_facets": {"type": "object", "additionalProperties": _SEARCH_FACET}}},
    "package_autocomplete": {"type": "array", "items": {
        "type": "object", "required": ["name", "title", "match_field", "match_displayed"]}},
    "current_package_list_with_resources": {"type": "array", "items": {"type": "object"}},
    "resource_show": {"type": "object", "required": ["id", "package_id", "url", "format"]},
    "organization_list": {"type": "array"},
    "organization_show": {"type": "object"},
    "group_list": {"type": "array"},
    "group_show": {"type": "object", "required": ["id", "name", "title", "display_name"]},
    "tag_list": {"type": "array"},
    "tag_show": {"type": "object", "required": ["id", "name", "display_name"]},
    "license_list": {"type": "array", "items": {"type": "object"}},
    "status_show": {"type": "object", "required": ["ckan_version", "renkei_version"]},
    "help_show": {"type": "string"},
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
    """The OpenAPI 3.1 document of the CKAN ``actions`` (admin.catalogue.ckan.ACTIONS), the CKAN API level ``version``."""
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
