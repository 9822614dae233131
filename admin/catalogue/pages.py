"""Every IRI the catalogue mints answers (catalogue/linked_data.py): a page for people, and RDF
by content negotiation (``Accept``: Turtle, JSON-LD, RDF/XML, N-Triples; or ``?format=ttl|jsonld|rdf|nt``).

Public, unauthenticated reads of published data only, as the CKAN API and the feed show them
(a token, when sent, shows what that person may see too); anything else is a 404 problem. The
descriptions are built by :mod:`catalogue.resources`; the feed itself (``/catalog``) is
negotiated the same way, with Turtle for a client that states no preference.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, g, jsonify, render_template, request

from admin.extensions import db
from admin.problems import problem_response
from core.errors import DomainError
from catalogue import catalogue, paths, resources, solr

bp = Blueprint("catalogue_pages", __name__)

HTML = "text/html"
MARKDOWN = "text/markdown"
RDF = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/rdf+xml": "xml",
       "application/n-triples": "nt"}
BY_NAME = {"ttl": "text/turtle", "jsonld": "application/ld+json", "rdf": "application/rdf+xml", "nt": "application/n-triples",
           "html": HTML}


def _base() -> str:
    return request.host_url.rstrip("/")


def chosen(offers: list[str]) -> str | None:
    """The media type to answer with: ``?format=`` if given (None if it is not offered), else the best
    of ``offers`` for the request's ``Accept`` (the first when it states none); None when none is acceptable."""
    named = request.args.get("format")
    if named is not None:
        wanted = BY_NAME.get(named)
        return wanted if wanted in offers else None
    if not request.accept_mimetypes:
        return offers[0]
    return request.accept_mimetypes.best_match(offers)


def not_found() -> Response:
    return problem_response(404, "There is no such published entry of the catalogue.", "カタログに公開されている項目ではありません。")


def not_acceptable(offers: list[str]) -> Response:
    return problem_response(406, f"Available as: {', '.join(offers)}.", f"次の形式で提供しています: {', '.join(offers)}")


def _reader():
    from admin.catalogue.ckan import _actor

    return _actor() or g.get("actor")


def answer(describe: Callable[..., resources.Description | None], *, markdown: Callable[[], str] | None = None,
           first: str = HTML) -> Response:
    """The description ``describe(actor)`` gives, as the request asks it (a page, RDF, or Markdown when the
    resource has a Markdown text); 404 when there is none for this reader."""
    offers = [first, *[t for t in (HTML, *RDF) if t != first]]
    if markdown is not None:
        offers.append(MARKDOWN)
    try:
        actor = _reader()
    except DomainError as refusal:
        return problem_response(403, refusal.message_en, refusal.message_ja)
    media = chosen(offers)
    if media is None:
        return not_acceptable(offers)
    if not all(str(value).isprintable() for value in (request.view_args or {}).values()):
        return not_found()  # a control character (NUL) names nothing, and is never sent to the database
    found = describe(actor)
    if found is None:
        db.session.rollback()
        return not_found()
    if media == MARKDOWN and markdown is not None:
        response = Response(markdown(), mimetype=MARKDOWN)
        response.vary.add("Accept")
        return response
    return respond(found, media)


def respond(found: resources.Description, media: str) -> Response:
    """``found`` as a page for people (``text/html``) or as RDF of the media type ``media``."""
    if media == HTML:
        response = Response(render_template("renkei/catalogue_resource.html", item=found,
                                            formats=[(name, BY_NAME[name]) for name in ("ttl", "jsonld", "rdf")]),
                            mimetype=HTML)
    else:
        body = found.graph.serialize(format=RDF[media], encoding="utf-8")
        response = Response(body, mimetype=media)
    response.vary.add("Accept")
    return response


@bp.get(paths.route("catalogue"))
def catalogue_resource():
    return _feed(HTML, paths.path("catalogue"))


@bp.get("/catalog")
def feed():
    """The feed by content negotiation (Turtle for a client that states no preference)."""
    return _feed("text/turtle", "/catalog")


def _feed(first: str, path: str) -> Response:
    from admin.catalogue.ckan import FEED_MAX_ROWS, FEED_ROWS, CkanError, _int

    try:
        rows = _int(dict(request.args), "rows", FEED_ROWS, 1, FEED_MAX_ROWS)
        start = _int(dict(request.args), "start", 0, 0, 10_000_000)
    except CkanError as bad:
        return problem_response(400, bad.message, bad.message)

    def describe(actor):
        page = catalogue.search(db.session, actor, sort="name asc", rows=rows, start=start)
        return resources.catalogue_page(db.session, actor, _base(), page, f"{_base()}{path}?start={start}&rows={rows}")
    return answer(describe, first=first)


@bp.get(paths.route("dataset"))
def dataset(ident: str):
    return answer(lambda actor: resources.dataset(db.session, actor, _base(), ident))


@bp.get(paths.route("distribution"))
def distribution(ident: str):
    return answer(lambda actor: resources.distribution(db.session, actor, _base(), ident))


@bp.get(paths.route("provider"))
def provider(code: str):
    return answer(lambda actor: resources.provider(db.session, actor, _base(), code))


@bp.get(paths.route("place"))
def place(code: str):
    return answer(lambda actor: resources.place(db.session, actor, _base(), code))


@bp.get(paths.route("publisher"))
def publisher():
    return answer(lambda actor: resources.catalogue_publisher(db.session, _base()))


@bp.get(paths.route("themes"))
def themes():
    return answer(lambda actor: resources.themes(db.session, _base()))


@bp.get(paths.route("theme"))
def theme(category: str):
    return answer(lambda actor: resources.theme(db.session, actor, _base(), category))


@bp.get(paths.route("standard"))
def standard(kind: str):
    return answer(lambda actor: resources.standard(_base(), kind))


@bp.get(paths.route("licence"))
def licence(code: str):
    """A licence of the catalogue: Markdown for a client that states no preference (as before), a page, RDF."""
    def describe(actor):
        return resources.licence(db.session, _base(), code)

    def markdown() -> str:
        found = resources.licence(db.session, _base(), code)
        lines = [f"# {found.title_ja}", ""]
        for row in found.rows[1:]:
            lines += [f"{row.label_ja} / {row.label_en}: {f'<{row.href}>' if row.href else row.text}", ""]
        return "\n".join(lines)
    return answer(describe, markdown=markdown, first=MARKDOWN)


# --- a dataset's own terms of use ------------------------------------------------------------------------

@bp.get(paths.route("terms"))
def terms_text(name: str):
    """The text of a dataset's terms of use (Markdown; a page or RDF by ``Accept``), the current version or
    ``?version=n``: to anyone who may see the dataset in the catalogue (the link the CKAN record and the DCAT
    feed give); a 404 problem to anyone else."""
    offers = [MARKDOWN, HTML, *RDF]
    media = chosen(offers)
    if media is None:
        return not_acceptable(offers)
    try:
        actor = _reader()
    except DomainError as refusal:
        return problem_response(403, refusal.message_en, refusal.message_ja)
    version = request.args.get("version", "")
    found = _terms_version(actor, name, version)
    if found is None:
        return not_found()
    entry, text = found
    if media != MARKDOWN:  # the rights statement the feed names, as a page or as RDF
        iri = catalogue.terms_url(_base(), entry.dataset, text.number if version else None)
        return respond(resources.terms(_base(), entry, text, iri), media)
    d = entry.dataset
    head = (f"<!-- {d.title_ja}（{d.name}）の利用規約 第{text.number}版"
            f"{'（現行）' if text.number == entry.terms.number else '（改定前）'} content_hash: {text.content_hash} -->\n")
    return Response(head + f"# {text.title}\n\n" + text.body_md, mimetype="text/markdown",
                    headers={"X-Terms-Version": str(text.number), "X-Terms-Content-Hash": text.content_hash})


def _terms_version(actor, name: str, version: str):
    """The dataset ``name`` as ``actor`` may see it and the version of its terms asked (the current one
    without ``version``), or None."""
    from core.validation import whole_number
    from catalogue import terms

    if len(name) > 100 or '"' in name or (version and whole_number(version, max_digits=6) is None):
        return None
    try:
        page = catalogue.search(db.session, actor, fq=f"name:{solr.quoted(name)}", rows=1)
    except catalogue.BadQuery:
        return None
    if not page.entries or page.entries[0].terms is None:
        return None
    entry = page.entries[0]
    text = entry.terms if not version else next((t for t in terms.versions(db.session, entry.dataset)
                                                 if t.number == whole_number(version)), None)
    return (entry, text) if text is not None else None
