"""The standard kinds' Table Schemas, published for anyone (no sign-in): ``/standards/<kind>/schema.json``
(the current item definition) and ``/standards/<kind>/older/schema.json`` (the older 推奨データセット
names), at the addresses :func:`catalogue.standards.schema_path` builds, each with the checklist of
what a schema cannot carry (``/standards/<kind>/checklist.json``), so that ``frictionless validate --schema
<url> --checklist <its text> file.csv`` gives the verdict renkei gives (docs/datasets.md)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, request

from catalogue import standards

bp = Blueprint("standards", __name__)

SCHEMA_TYPE = "application/json"  # a Table Schema is a JSON document (frictionless reads it as JSON)


def _schema(kind: str, version: str) -> Response:
    """The schema as JSON (what a validator asks: no preference, ``*/*`` or JSON); the address is also the IRI
    of that version of the standard in the DCAT feed, so a reader that asks for a page or RDF by ``Accept``
    is answered the version's description (:func:`catalogue.resources.standard_version`)."""
    from admin.catalogue import pages as catalogue_pages
    from catalogue import resources

    named = request.args.get("format")
    described = named in catalogue_pages.BY_NAME if named is not None else \
        request.accept_mimetypes.best_match([SCHEMA_TYPE, catalogue_pages.HTML, *catalogue_pages.RDF]) not in (None, SCHEMA_TYPE)
    if described:
        return catalogue_pages.answer(lambda actor: resources.standard_version(request.host_url.rstrip("/"), kind, version))
    response = _published(standards.schema_document(kind, version))
    response.vary.add("Accept")
    return response


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
