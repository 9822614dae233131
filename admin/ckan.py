"""The published catalogue for tools that already exist: CKAN's Action API (read only) under
``/api/3/action/`` (and ``/api/action/``, as CKAN) and the DCAT feed at ``/catalog.ttl``, ``/catalog.jsonld`` and
``/catalog.rdf`` (``/catalog`` by content negotiation: admin/catalogue_pages.py, with every IRI the feed mints).

The actions answer as CKAN does (``help``, ``success``, ``result``; errors as CKAN's ``error``
object with ``__type`` and the status CKAN gives), so that harvesters and scripts written for
CKAN (``ckanapi``) read renkei: ``package_list``, ``package_show``, ``package_search``,
``organization_list``, ``organization_show``, ``license_list`` and ``status_show``. Parameters
come as a query string (GET) or a JSON body (POST, as ``ckanapi`` sends them).

A reader without a token is anonymous and sees open datasets only; with a token (``Authorization:
Bearer …``, or the bare token as CKAN's clients send their key) the datasets that person is
entitled to appear too (:func:`tenancy.datasets.operations.visibility`). Every answer is built by
:mod:`tenancy.datasets.catalogue` (CKAN) and :mod:`tenancy.datasets.dcat` (DCAT).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from admin.extensions import db
from core.errors import DomainError
from core.validation import whole_number
from tenancy.datasets import catalogue, dcat as dcat_feed, lists, operations

bp = Blueprint("ckan", __name__)

ACTIONS = ("package_list", "package_show", "package_search", "organization_list", "organization_show",
           "license_list", "status_show")
CKAN_VERSION = "2.10.4"  # the CKAN API version whose shapes these answers follow


class CkanError(Exception):
    def __init__(self, status: int, kind: str, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.fields = status, kind, message, fields or {}


def _base() -> str:
    return request.host_url.rstrip("/")


def _help(action: str) -> str:
    return f"{_base()}/api/3/action/help_show?name={action}"


def _error(action: str, error: CkanError):
    body: dict[str, Any] = {"__type": error.kind, "message": error.message}
    body.update(error.fields)
    response = jsonify({"help": _help(action), "success": False, "error": body})
    response.status_code = error.status
    return response


def _reader():
    """The person reading (None: anonymous); a token that is sent must be good."""
    try:
        return _actor()
    except DomainError as refusal:
        raise CkanError(403, "Authorization Error", refusal.message_en) from None


def _actor():
    from admin.auth import optional_actor

    if request.headers.get("Authorization") or request.headers.get("X-CKAN-API-Key"):
        return optional_actor(request)
    return None


def _params() -> dict[str, Any]:
    if request.method == "POST" and request.get_data(cache=True).strip():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise CkanError(400, "Validation Error", "The body must be a JSON object.")
        return body
    return {k: v for k, v in request.args.items()}


def _int(params: dict, name: str, default: int, low: int, high: int) -> int:
    value = params.get(name, default)
    number = value if isinstance(value, int) and not isinstance(value, bool) else \
        whole_number(value.strip()) if isinstance(value, str) else None
    if number is None:
        raise CkanError(409, "Validation Error", f"{name}: Invalid integer", {name: ["Invalid integer"]})
    if not low <= number <= high:
        raise CkanError(409, "Validation Error", f"{name}: Must be between {low} and {high}",
                        {name: [f"Must be between {low} and {high}"]})
    return number


def _text(params: dict, name: str, default: str = "", limit: int = 500) -> str:
    value = params.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > limit:
        raise CkanError(409, "Validation Error", f"{name}: Invalid value", {name: ["Invalid value"]})
    return value


def _bool(params: dict, name: str) -> bool:
    value = params.get(name, False)
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1", "yes"))


def _search(actor, **kwargs) -> catalogue.Page:
    try:
        return catalogue.search(db.session, actor, **kwargs)
    except catalogue.BadQuery as bad:
        raise CkanError(409, "Validation Error", f"{bad.field}: {bad}", {bad.field: [str(bad)]}) from None


# --- the actions ---------------------------------------------------------------------------------

def package_list(params: dict, actor) -> list[str]:
    limit = _int(params, "limit", catalogue.MAX_ROWS, 0, catalogue.MAX_ROWS)
    offset = _int(params, "offset", 0, 0, 10_000_000)
    page = _search(actor, sort="name asc", rows=limit, start=offset)
    return [entry.dataset.name for entry in page.entries]


def package_show(params: dict, actor) -> dict:
    ident = _text(params, "id", limit=100)
    if not ident:
        raise CkanError(409, "Validation Error", "id: Missing value", {"id": ["Missing value"]})
    dataset = operations.find_dataset(db.session, ident)
    if dataset is None:
        raise CkanError(404, "Not Found Error", "Not found")
    page = _search(actor, fq=f'name:"{dataset.name}"', rows=1)
    if not page.entries:
        raise CkanError(404, "Not Found Error", "Not found")  # not published, or not for this reader
    return catalogue.ckan_package(page.entries[0], _base())


def package_search(params: dict, actor) -> dict:
    rows = _int(params, "rows", 10, 0, catalogue.MAX_ROWS)
    start = _int(params, "start", 0, 0, 10_000_000)
    q, fq = _text(params, "q"), _text(params, "fq")
    sort = _text(params, "sort", limit=200) or "score desc, metadata_modified desc"
    page = _search(actor, q=q, fq=fq, sort=sort, rows=rows, start=start)
    return {"count": page.total, "results": [catalogue.ckan_package(e, _base()) for e in page.entries], "sort": sort,
            "facets": {}, "search_facets": {}}


def organization_list(params: dict, actor) -> list:
    limit = _int(params, "limit", 1000, 0, 1000)
    offset = _int(params, "offset", 0, 0, 10_000_000)
    found = catalogue.organizations(db.session, actor)[offset:offset + limit]
    if _bool(params, "all_fields"):
        return [catalogue.ckan_organization(p, catalogue.count_for(db.session, actor, p.code)) for p in found]
    return [p.code for p in found]


def organization_show(params: dict, actor) -> dict:
    ident = _text(params, "id", limit=100)
    providers = catalogue.providers(db.session, [ident]) if whole_number(ident) is not None else {}
    count = catalogue.count_for(db.session, actor, ident) if ident in providers else 0
    if not count:
        raise CkanError(404, "Not Found Error", "Not found")
    result = catalogue.ckan_organization(providers[ident], count)
    if _bool(params, "include_datasets"):
        page = _search(actor, fq=f"organization:{ident}", rows=min(count, catalogue.MAX_ROWS), sort="name asc")
        result["packages"] = [catalogue.ckan_package(e, _base()) for e in page.entries]
    return result


def license_list(params: dict, actor) -> list:
    return [catalogue.ckan_licence(lic) for lic in lists.catalogue_licences(db.session)]


def status_show(params: dict, actor) -> dict:
    info = catalogue.catalogue_info(db.session, _base())
    return {"site_title": info.title_ja, "site_url": _base(),
            "site_description": info.description_ja, "ckan_version": CKAN_VERSION,
            "locale_default": "ja", "error_emails_to": None, "extensions": ["renkei"]}


HANDLERS = {name: globals()[name] for name in ACTIONS}


@bp.route("/api/3/action/<action>", methods=("GET", "POST"))
@bp.route("/api/action/<action>", methods=("GET", "POST"))  # CKAN answers at both (ckanapi uses this one)
def action(action: str):
    handler = HANDLERS.get(action)
    try:
        if handler is None:
            raise CkanError(400, "Bad request", f"Action name not known: {action[:60]}")
        params = _params()
        result = handler(params, _reader())
    except CkanError as error:
        db.session.rollback()
        return _error(action if handler else "help_show", error)
    return jsonify({"help": _help(action), "success": True, "result": result})


@bp.get("/api/3/openapi.json")
def ckan_openapi():
    """The CKAN actions' contract (admin/ckan_contract.py)."""
    from admin import ckan_contract

    return jsonify(ckan_contract.document(ACTIONS, CKAN_VERSION))


@bp.route("/api/3", methods=("GET",))
@bp.route("/api/3/", methods=("GET",))
def version():
    return jsonify({"version": 3})


# --- the DCAT feed -----------------------------------------------------------------------------------

# Turtle is written in its N-Triples form (one triple a line: valid Turtle, read by every Turtle
# parser; rdflib's abbreviating writer costs ten times as long), JSON-LD in its expanded form, both by
# tenancy.datasets.dcat.document (the graph dcat.graph builds, written without rdflib's serialiser).
FORMATS = {"ttl": ("nt", "text/turtle"), "jsonld": ("json-ld", "application/ld+json"), "rdf": ("xml", "application/rdf+xml")}
FEED_ROWS = 50
FEED_MAX_ROWS = 200  # a page of the feed, never the whole catalogue in one document


@bp.get("/catalog.<fmt>")
def dcat(fmt: str):
    if fmt not in FORMATS:
        return Response("Formats: catalog.ttl, catalog.jsonld, catalog.rdf (or /catalog, by Accept)\n", status=404,
                        mimetype="text/plain")
    try:
        actor = _actor() or g.get("actor")
    except DomainError as refusal:
        return Response(refusal.message_en + "\n", status=403, mimetype="text/plain")
    args = request.args
    try:
        rows = _int(dict(args), "rows", FEED_ROWS, 1, FEED_MAX_ROWS)
        start = _int(dict(args), "start", 0, 0, 10_000_000)
    except CkanError as bad:
        return Response(bad.message + "\n", status=400, mimetype="text/plain")
    page = catalogue.search(db.session, actor, sort="name asc", rows=rows, start=start)
    rdf_format, mimetype = FORMATS[fmt]
    return Response(dcat_feed.document(catalogue.catalogue_info(db.session, _base()), page, fmt=rdf_format,
                                  page_url=f"{_base()}/catalog.{fmt}?start={start}&rows={rows}"), mimetype=mimetype)
