"""The published catalogue for tools that already exist: CKAN's Action API (read only) under
``/api/3/action/`` (and ``/api/action/``, as CKAN) and the DCAT feed at ``/catalog.ttl``, ``/catalog.jsonld`` and
``/catalog.rdf`` (``/catalog`` by content negotiation: admin/catalogue/pages.py, with every IRI the feed mints).

The actions answer as CKAN does (``help``, ``success``, ``result``; errors as CKAN's ``error``
object with ``__type`` and the status CKAN gives), so that harvesters and scripts written for
CKAN (``ckanapi``, its ``dump`` command too) read renkei: the actions in :data:`ACTIONS`, each
described by its docstring (what ``help_show`` answers). ``q``, ``fq`` and ``fq_list`` are read in
Solr's common forms (:mod:`catalogue.solr`); a form not supported is a Validation Error.
Parameters come as a query string (GET) or a JSON body (POST, as ``ckanapi`` sends them).

A reader without a token is anonymous and sees open datasets only; with a token (``Authorization:
Bearer …``, or the bare token as CKAN's clients send their key) the datasets that person is
entitled to appear too (:func:`catalogue.operations.visibility`). Every answer is built by
:mod:`catalogue.catalogue` (CKAN) and :mod:`catalogue.dcat` (DCAT).
"""

from __future__ import annotations

import inspect
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from admin.extensions import db
from core.errors import DomainError
from core.validation import whole_number
from service import search_words
from catalogue import catalogue, dcat as dcat_feed, lists, operations, solr

bp = Blueprint("ckan", __name__)

ACTIONS = ("package_list", "package_show", "package_search", "package_autocomplete",
           "current_package_list_with_resources", "resource_show", "organization_list", "organization_show",
           "group_list", "group_show", "tag_list", "tag_show", "license_list", "status_show", "help_show")
# the CKAN Action API level these answers follow (status_show's ckan_version, for clients that choose their calls
# by it); renkei is not CKAN, and status_show says renkei's own version beside it
CKAN_API_LEVEL = "2.10"
FACET_LIMIT = 50  # CKAN's default facet.limit (search.facets.limit)


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
    # a parameter given more than once (fq_list=…&fq_list=…) is a list, as CKAN reads a query string
    return {k: values if len(values) > 1 else values[0] for k, values in request.args.lists()}


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


def _bool(params: dict, name: str, default: bool = False) -> bool:
    value = params.get(name, default)
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"))


def _strings(params: dict, name: str, limit: int = 20) -> list[str]:
    """A list of strings as CKAN takes one: a JSON list, a JSON list written as text (``facet.field=["tags"]``
    in a query string), a parameter given more than once, or one string."""
    import json

    value = params.get(name, [])
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    elif isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > limit or \
            not all(isinstance(item, str) and len(item) <= 500 for item in value):
        raise CkanError(409, "Validation Error", f"{name}: Not a list of strings", {name: ["Not a list of strings"]})
    return value


def _search(actor, **kwargs) -> catalogue.Page:
    try:
        return catalogue.search(db.session, actor, **kwargs)
    except catalogue.BadQuery as bad:
        raise CkanError(409, "Validation Error", f"{bad.field}: {bad}", {bad.field: [str(bad)]}) from None


def _one(actor, field: str, value: str, **kwargs) -> catalogue.Entry | None:
    """The published dataset whose ``field`` is ``value``, if this reader may see it."""
    page = _search(actor, fq=f"{field}:{solr.quoted(value)}", rows=1, **kwargs)
    return page.entries[0] if page.entries else None


def _counts(actor, field: str) -> dict[str, int]:
    """How many published datasets this reader may see have each value of ``field`` (a facet, counted by the
    database)."""
    return dict(_search(actor, rows=0, facets=[field], facet_limit=-1).facets[field])


# --- the actions ---------------------------------------------------------------------------------

def package_list(params: dict, actor) -> list[str]:
    """The names of the published datasets this reader may see, by name.

    :param limit: at most this many (0 to 1000, default 1000)
    :param offset: after this many (default 0)
    """
    limit = _int(params, "limit", catalogue.MAX_ROWS, 0, catalogue.MAX_ROWS)
    offset = _int(params, "offset", 0, 0, 10_000_000)
    page = _search(actor, sort="name asc", rows=limit, start=offset)
    return [entry.dataset.name for entry in page.entries]


def package_show(params: dict, actor) -> dict:
    """A published dataset with its resources.

    :param id: the dataset's name or id
    """
    ident = _text(params, "id", limit=100)
    if not ident:
        raise CkanError(409, "Validation Error", "id: Missing value", {"id": ["Missing value"]})
    dataset = operations.find_dataset(db.session, ident)
    if dataset is None:
        raise CkanError(404, "Not Found Error", "Not found")
    entry = _one(actor, "name", dataset.name)
    if entry is None:
        raise CkanError(404, "Not Found Error", "Not found")  # not published, or not for this reader
    return catalogue.ckan_package(entry, _base())


def package_search(params: dict, actor) -> dict:
    """Search the published datasets, with Solr's common query forms.

    :param q: words searched in titles, keywords and descriptions; ``field:value``, ``"a phrase"``,
        ``AND``, ``OR``, ``NOT``, ``-`` and parentheses as Solr reads them. Fields: text, title, notes,
        name, id, organization (owner_org), tags, res_format, license_id, groups, dataset_type; ranges of
        time ``metadata_modified:[2024-04-01T00:00:00Z TO *]`` (also metadata_created; ``{…}`` leaves the
        ends out; NOW). A form not supported (wildcards, other ranges, date math, fuzzy, boosts) is a
        Validation Error.
    :param fq: a filter in the same forms
    :param fq_list: more filters, each of which must hold
    :param sort: e.g. ``name asc``, ``metadata_modified desc``, ``title_string asc``
    :param rows: how many (0 to 1000, default 10)
    :param start: after how many (default 0)
    :param facet: whether to count facets (default true)
    :param facet.field: the fields to count: organization, groups, tags, res_format, license_id
    :param facet.limit: at most this many values of each (default 50; negative: all)
    :param facet.mincount: only values with at least this many datasets (default 1)
    """
    rows = _int(params, "rows", 10, 0, catalogue.MAX_ROWS)
    start = _int(params, "start", 0, 0, 10_000_000)
    q, fq, fq_list = _text(params, "q"), _text(params, "fq"), _strings(params, "fq_list")
    sort = _text(params, "sort", limit=200) or "score desc, metadata_modified desc"
    fields = _strings(params, "facet.field", limit=len(catalogue.FACETS)) if _bool(params, "facet", True) else []
    facet_limit = _int(params, "facet.limit", FACET_LIMIT, -1, 1000)
    mincount = _int(params, "facet.mincount", 1, 0, 10_000_000)
    page = _search(actor, q=q, fq=fq, fq_list=fq_list, sort=sort, rows=rows, start=start, facets=fields,
                   facet_limit=facet_limit, facet_mincount=max(mincount, 1))
    facets, search_facets = catalogue.ckan_facets(db.session, page.facets)
    return {"count": page.total, "results": [catalogue.ckan_package(e, _base()) for e in page.entries], "sort": sort,
            "facets": facets, "search_facets": search_facets}


def package_autocomplete(params: dict, actor) -> list:
    """Published datasets whose name or title holds some text, for completing what a person types.

    :param q: the text
    :param limit: at most this many (1 to 100, default 10)
    """
    text = _text(params, "q", limit=100)
    limit = _int(params, "limit", 10, 1, 100)
    return catalogue.autocomplete(db.session, actor, text, limit) if text else []


def current_package_list_with_resources(params: dict, actor) -> list:
    """The published datasets with their resources, the last changed first.

    :param limit: at most this many (0 to 1000, default 1000)
    :param offset: after this many (default 0)
    :param page: the page of ``limit`` datasets, from 1 (instead of offset)
    """
    limit = _int(params, "limit", catalogue.MAX_ROWS, 0, catalogue.MAX_ROWS)
    offset = _int(params, "offset", 0, 0, 10_000_000)
    if "page" in params:
        offset = (_int(params, "page", 1, 1, 10_000) - 1) * limit
    page = _search(actor, sort="metadata_modified desc", rows=limit, start=offset)
    return [catalogue.ckan_package(e, _base()) for e in page.entries]


def resource_show(params: dict, actor) -> dict:
    """A resource (a distribution) of a published dataset.

    :param id: the resource's id (as package_show gives it)
    """
    ident = _text(params, "id", limit=120)
    place = catalogue.resource_place(ident)
    entry = _one(actor, "id", place[0]) if place else None
    if entry is None or place is None or place[1] >= len(entry.distributions):
        raise CkanError(404, "Not Found Error", "Not found")  # none, not for this reader, or held back (terms)
    return catalogue.ckan_resource(entry, place[1], catalogue.verdict_of(entry))


def organization_list(params: dict, actor) -> list:
    """The providers with published datasets this reader may see, by code.

    :param all_fields: whole organizations with package_count, not their names
    :param limit: at most this many (0 to 1000, default 1000)
    :param offset: after this many
    """
    limit = _int(params, "limit", 1000, 0, 1000)
    offset = _int(params, "offset", 0, 0, 10_000_000)
    found = catalogue.organizations(db.session, actor)[offset:offset + limit]
    if _bool(params, "all_fields"):
        counts = _counts(actor, "organization")
        return [catalogue.ckan_organization(p, counts.get(p.code, 0)) for p in found]
    return [p.code for p in found]


def organization_show(params: dict, actor) -> dict:
    """A provider (organization) with published datasets this reader may see.

    :param id: the provider's code
    :param include_datasets: with its datasets (up to 1000)
    """
    ident = _text(params, "id", limit=100)
    providers = catalogue.providers(db.session, [ident]) if whole_number(ident) is not None else {}
    count = catalogue.count_for(db.session, actor, ident) if ident in providers else 0
    if not count:
        raise CkanError(404, "Not Found Error", "Not found")
    result = catalogue.ckan_organization(providers[ident], count)
    if _bool(params, "include_datasets"):
        page = _search(actor, fq=f"organization:{solr.quoted(ident)}", rows=min(count, catalogue.MAX_ROWS),
                       sort="name asc")
        result["packages"] = [catalogue.ckan_package(e, _base()) for e in page.entries]
    return result


GROUP_SORTS = {"name": lambda c, n: c.code, "title": lambda c, n: c.label_ja, "package_count": lambda c, n: n}


def _groups(actor) -> tuple[list, dict[str, int]]:
    """The categories the catalogue lists as groups (those in use, and any a dataset this reader may see
    has) and how many datasets each holds."""
    counts = _counts(actor, "groups")
    return [c for c in lists.categories(db.session, include_inactive=True) if c.active or c.code in counts], counts


def group_list(params: dict, actor) -> list:
    """The categories (分野) as CKAN's groups.

    :param sort: ``title asc`` (the default), ``name``, ``package_count``, each ``asc`` or ``desc``
    :param groups: only these (their names)
    :param all_fields: whole groups with package_count, not their names
    :param limit: at most this many (default 1000; 25 with all_fields)
    :param offset: after this many
    """
    sort = _text(params, "sort", limit=50) or _text(params, "order_by", limit=50) or "title asc"
    field, _sep, direction = sort.strip().partition(" ")
    if field not in GROUP_SORTS or direction.strip().lower() not in ("", "asc", "desc"):
        raise CkanError(409, "Validation Error", f"sort: Cannot sort by {sort[:50]!r}", {"sort": ["Invalid value"]})
    all_fields = _bool(params, "all_fields")
    limit = _int(params, "limit", 25 if all_fields else 1000, 0, 1000)
    offset = _int(params, "offset", 0, 0, 10_000_000)
    wanted = set(_strings(params, "groups", limit=1000)) if "groups" in params else None
    found, counts = _groups(actor)
    found = sorted((c for c in found if wanted is None or c.code in wanted),
                   key=lambda c: GROUP_SORTS[field](c, counts.get(c.code, 0)), reverse=direction.strip().lower() == "desc")
    found = found[offset:offset + limit]
    if all_fields:
        with_count = _bool(params, "include_dataset_count", True)
        return [catalogue.ckan_group(c, counts.get(c.code, 0) if with_count else None) for c in found]
    return [c.code for c in found]


def group_show(params: dict, actor) -> dict:
    """A category (分野) as CKAN's group.

    :param id: the category's code
    :param include_datasets: with its datasets this reader may see (up to 1000)
    :param include_dataset_count: with package_count (default true)
    """
    ident = _text(params, "id", limit=100)
    found, counts = _groups(actor)
    category = next((c for c in found if c.code == ident), None)
    if category is None:
        raise CkanError(404, "Not Found Error", "Not found")
    count = counts.get(ident, 0)
    result = catalogue.ckan_group(category, count if _bool(params, "include_dataset_count", True) else None)
    if _bool(params, "include_datasets"):
        page = _search(actor, fq=f"groups:{solr.quoted(ident)}", rows=min(count, catalogue.MAX_ROWS), sort="name asc")
        result["packages"] = [catalogue.ckan_package(e, _base()) for e in page.entries]
    return result


def tag_list(params: dict, actor) -> list:
    """The keywords (CKAN's free tags) of the published datasets this reader may see, by name.

    :param query: only tags that hold this text
    :param vocabulary_id: renkei has no tag vocabularies (any given is Not Found)
    :param all_fields: whole tags, not their names
    """
    if params.get("vocabulary_id"):
        raise CkanError(404, "Not Found Error", "Not found: vocabulary")
    text = _text(params, "query", limit=100)
    names = sorted(name for name in _counts(actor, "tags") if text.lower() in name.lower())
    return [catalogue.ckan_tag(name) for name in names] if _bool(params, "all_fields") else names


def tag_show(params: dict, actor) -> dict:
    """A keyword (tag) that a published dataset this reader may see has.

    :param id: the tag's name
    :param include_datasets: with its datasets (up to 1000)
    """
    ident = _text(params, "id", limit=100)
    if not ident:
        raise CkanError(409, "Validation Error", "id: Missing value", {"id": ["Missing value"]})
    page = _search(actor, fq=f"tags:{solr.quoted(ident)}", sort="name asc",
                   rows=catalogue.MAX_ROWS if _bool(params, "include_datasets") else 0)
    if not page.total:
        raise CkanError(404, "Not Found Error", "Not found")
    result = catalogue.ckan_tag(ident)
    if _bool(params, "include_datasets"):
        result["packages"] = [catalogue.ckan_package(e, _base()) for e in page.entries]
    return result


def license_list(params: dict, actor) -> list:
    """The licences of the catalogue."""
    return [catalogue.ckan_licence(lic) for lic in lists.catalogue_licences(db.session)]


def status_show(params: dict, actor) -> dict:
    """What this site is: its title, address, renkei's version, and the CKAN API level it answers at."""
    info = catalogue.catalogue_info(db.session, _base())
    return {"site_title": info.title_ja, "site_url": _base(), "site_description": info.description_ja,
            "software": "renkei", "renkei_version": renkei_version(), "ckan_version": CKAN_API_LEVEL,
            "api_compatibility": f"CKAN Action API {CKAN_API_LEVEL} (read only: {', '.join(ACTIONS)})",
            "locale_default": "ja", "error_emails_to": None, "extensions": ["renkei"]}


def help_show(params: dict, actor) -> str:
    """What an action takes and answers (the address every answer's ``help`` names).

    :param name: the action's name
    """
    name = _text(params, "name", limit=100)
    if name not in ACTIONS:
        raise CkanError(404, "Not Found Error", "Action function not found")
    return inspect.getdoc(HANDLERS[name]) or name


def renkei_version() -> str:
    """renkei's own version, as the installed package states it."""
    from importlib import metadata

    try:
        return metadata.version("renkei")
    except metadata.PackageNotFoundError:
        return "unknown"


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
    if action == "package_search":  # the monthly report's search words (never failing the search)
        search_words.count_quietly(db.session, params.get("q") if isinstance(params.get("q"), str) else None)
    return jsonify({"help": _help(action), "success": True, "result": result})


@bp.get("/api/3/openapi.json")
def ckan_openapi():
    """The CKAN actions' contract (admin/catalogue/ckan_contract.py)."""
    from admin.catalogue import ckan_contract

    return jsonify(ckan_contract.document(ACTIONS, CKAN_API_LEVEL))


@bp.route("/api/3", methods=("GET",))
@bp.route("/api/3/", methods=("GET",))
def version():
    return jsonify({"version": 3})


# --- the DCAT feed -----------------------------------------------------------------------------------

# Turtle is written in its N-Triples form (one triple a line: valid Turtle, read by every Turtle
# parser; rdflib's abbreviating writer costs ten times as long), JSON-LD in its expanded form, both by
# catalogue.dcat.document (the graph dcat.graph builds, written without rdflib's serialiser).
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
