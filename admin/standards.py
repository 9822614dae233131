"""The standard kinds' Table Schemas, published for anyone (no sign-in): ``/standards/<kind>/schema.json``
(the current item definition) and ``/standards/<kind>/older/schema.json`` (the older 推奨データセット
names), at the addresses :func:`catalogue.standards.schema_path` builds, each with the checklist of
what a schema cannot carry (``/standards/<kind>/checklist.json``), so that ``frictionless validate --schema
<url> --checklist <its text> file.csv`` gives the verdict renkei gives (docs/datasets.md)."""

from __future__ import annotations

import json

from flask import Blueprint, Response

from catalogue import standards

bp = Blueprint("standards", __name__)

SCHEMA_TYPE = "application/json"  # a Table Schema is a JSON document (frictionless reads it as JSON)


def _schema(kind: str, version: str) -> Response:
    return _published(standards.schema_document(kind, version))


def _published(document: dict | None) -> Response:
    if document is None:
        known = ", ".join(standards.kinds())
        return Response(f"No such standard schema. Known kinds: {known}\n", status=404, mimetype="text/plain")
    body = json.dumps(document, ensure_ascii=False, indent=1)
    response = Response(body, mimetype=SCHEMA_TYPE)
    response.headers["Access-Control-Allow-Origin"] = "*"  # validators in a browser may read it too
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


def _route(version: str, paths: dict[str, str] = standards.SCHEMA_PATHS) -> str:
    return paths[version].format(kind="<kind>")


@bp.get(_route(standards.CURRENT))
def current_schema(kind: str) -> Response:
    return _schema(kind, standards.CURRENT)


@bp.get(_route(standards.OLDER))
def older_schema(kind: str) -> Response:
    return _schema(kind, standards.OLDER)


@bp.get(_route(standards.CURRENT, standards.CHECKLIST_PATHS))
def current_checklist(kind: str) -> Response:
    """What the schema cannot carry, as a frictionless checklist (``--checklist``)."""
    return _published(standards.checklist_document(kind, standards.CURRENT))


@bp.get(_route(standards.OLDER, standards.CHECKLIST_PATHS))
def older_checklist(kind: str) -> Response:
    return _published(standards.checklist_document(kind, standards.OLDER))
