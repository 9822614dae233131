"""The published catalogue, as existing tools read it: its one query and CKAN's package shapes.

:func:`search` is the one query of the catalogue (what a reader may see, :func:`operations.visibility`;
a text query, filters on provider, keyword, format and licence; sort; a page). The builders are
pure functions of what it returns: :func:`ckan_package` / :func:`ckan_organization` /
:func:`ckan_licence` (CKAN's dictionaries) here, and the DCAT feed in :mod:`catalogue.dcat`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.actor import Actor
from catalogue import file_checks, operations, paths, search_index, solr, standards, terms as dataset_terms
from catalogue.conformance import conformance_state
from catalogue.models import (RESPONSIBILITY, Access, Dataset, DatasetCategory, DatasetCheck, DatasetLicence,
                              DatasetStatus, DatasetTerms, Distribution, Frequency, PersonalInfo, keywords_of)

MAX_ROWS = 1000
SORTS = {"name": Dataset.name, "title_string": Dataset.title_ja, "metadata_modified": Dataset.modified_at,
         "metadata_created": Dataset.created_at, "score": Dataset.modified_at}


class BadQuery(ValueError):
    """A search the catalogue does not understand (CKAN's Validation Error); ``field`` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclasses.dataclass(frozen=True)
class Provider:
    code: str
    name_ja: str
    name_en: str
    kind: str  # "tenant" or "member"


@dataclasses.dataclass(frozen=True)
class Entry:
    """One dataset of the catalogue with everything its records show."""

    dataset: Dataset
    provider: Provider
    distributions: tuple[Distribution, ...]
    category: DatasetCategory | None
    licence: DatasetLicence | None
    terms: DatasetTerms | None = None  # the current version of its own terms of use, if it has them
    withheld: bool = False  # the distributions are held back until the reader accepts the terms (terms.withheld)
    checked: DatasetCheck | None = None  # the latest check of its distribution's file (file_checks.distribution_checks)

    def verdict(self) -> Verdict | None:
        """The dataset's verdict on its distribution's file as the records publish it (:func:`verdict_of`)."""
        return verdict_of(self)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What the records say of a standard dataset's checked file: the distribution it is (its place among
    the listed ones), the file's SHA-256, size and data rows, and the version of the standard it met, with
    that version's published schema (``schema_path``; None when the check names no version renkei publishes)."""

    index: int
    sha256: str
    byte_size: int
    row_count: int
    conformant: bool
    version: standards.Version | None
    schema_path: str | None


def verdict_of(entry: Entry) -> Verdict | None:
    """The verdict on the entry's distribution's file, when it still applies: the dataset has a verdict
    (``conformant`` is set: cleared when the file stops being its distribution) and the checked address is
    one of the distributions listed (not an API); None otherwise (and for a dataset whose distributions are withheld)."""
    d, check = entry.dataset, entry.checked
    if check is None or d.conformant is None or d.standard_kind is None:
        return None
    index = next((i for i, dist in enumerate(entry.distributions) if not dist.is_api and dist.url == check.distribution_url),
                 None)
    if index is None:
        return None
    kind = standards.kind_of(d.standard_kind)
    version = standards.verdict_version(kind, check.standard_version)
    return Verdict(index, check.sha256, check.byte_size, check.row_count, bool(d.conformant), version,
                   standards.schema_path(kind.code, version.key) if version is not None else None)


@dataclasses.dataclass(frozen=True)
class Page:
    entries: list[Entry]
    total: int
    start: int
    rows: int
    facets: dict[str, list[tuple[str, int]]] = dataclasses.field(default_factory=dict)  # field: (value, count)s


def providers(session: Session, codes: Sequence[str] | None = None) -> dict[str, Provider]:
    """Tenants and member organisations by code (all, or those named), read in one query."""
    from tenancy.members.models import Organisation
    from tenancy.registry.models import Tenant

    tenants = sa.select(Tenant.code, Tenant.name_ja, Tenant.name_en, sa.literal("tenant"))
    orgs = sa.select(Organisation.corporate_number, Organisation.name, Organisation.name, sa.literal("member"))
    if codes is not None:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        tenants, orgs = tenants.where(Tenant.code.in_(wanted)), orgs.where(Organisation.corporate_number.in_(wanted))
    rows = session.execute(sa.union_all(tenants, orgs)).all()
    found = {code: Provider(code, ja, en or ja, kind) for code, ja, en, kind in rows if kind == "tenant"}
    found.update({code: Provider(code, name, name, kind) for code, name, _name, kind in rows if kind == "member"})
    return found


def _provider(found: dict[str, Provider], code: str) -> Provider:
    return found.get(code) or Provider(code, code, code, "tenant")


def _tree(q: str, fq: str, fq_list: Sequence[str]) -> solr.Node:
    """What a search asks, as one tree: ``q``, ``fq`` and each of ``fq_list`` must all hold (CKAN's semantics:
    every filter query narrows the search); a form of them that is not supported is a :class:`BadQuery`."""
    parts: list[solr.Node] = []
    for field, text in (("q", q), ("fq", fq), *(("fq_list", item) for item in fq_list)):
        try:
            tree = solr.parse(text)
        except solr.QueryError as bad:
            raise BadQuery(field, str(bad)) from None
        if not isinstance(tree, solr.All):
            parts.append(tree)
    return parts[0] if len(parts) == 1 else solr.And(tuple(parts)) if parts else solr.All()


def _like(column: Any, value: str) -> Any:
    return column.like(f"%{_escape(value.lower())}%", escape="\\")


def _has_tag(value: str) -> Any:
    return sa.or_(Dataset.keywords == value, Dataset.keywords.like(f"{_escape(value)}、%", escape="\\"),
                  Dataset.keywords.like(f"%、{_escape(value)}", escape="\\"),
                  Dataset.keywords.like(f"%、{_escape(value)}、%", escape="\\"))


_EXACT = {"organization": Dataset.provider_code, "license_id": Dataset.licence_code, "groups": Dataset.category_code,
          "name": Dataset.name, "id": Dataset.uid}


def _term(session: Session, term: solr.Term, use_index: bool, per_candidate: bool) -> Any:
    """The SQL condition of one clause: the words of the texts (lower-cased, as ``search_text`` holds them),
    a field's value as written (CKAN's string fields), a keyword among the dataset's, a distribution's format."""
    if term.field == "text":
        return _like(Dataset.search_text, term.value)
    if term.field == "title":
        return sa.or_(_like(sa.func.lower(Dataset.title_ja), term.value), _like(sa.func.lower(Dataset.title_en), term.value))
    if term.field == "notes":
        return _like(sa.func.lower(Dataset.description), term.value)
    if term.field == "tags":
        return _has_tag(term.value)
    if term.field == "dataset_type":  # every dataset of the catalogue is CKAN's type "dataset"
        return sa.true() if term.value == "dataset" else sa.false()
    if term.field == "res_format":  # as CKAN's: the format as written (CSV, GeoJSON)
        return search_index.has_format(session, term.value) if use_index else \
            search_index.has_format_by_rule(term.value, per_candidate=per_candidate)
    return _EXACT[term.field] == term.value


_RANGED = {"metadata_modified": Dataset.modified_at, "metadata_created": Dataset.created_at}


def _range(tree: solr.Range) -> Any:
    column = _RANGED[tree.field]
    ends = [] if tree.low is None else [column >= tree.low if tree.inclusive else column > tree.low]
    ends += [] if tree.high is None else [column <= tree.high if tree.inclusive else column < tree.high]
    return sa.and_(sa.true(), *ends)


def _condition(session: Session, tree: solr.Node, use_index: bool, per_candidate: bool) -> Any:
    if isinstance(tree, solr.Term):
        return _term(session, tree, use_index, per_candidate)
    if isinstance(tree, solr.Range):
        return _range(tree)
    if isinstance(tree, solr.Not):
        return sa.not_(_condition(session, tree.clause, use_index, per_candidate))
    if isinstance(tree, (solr.And, solr.Or)):
        join = sa.and_ if isinstance(tree, solr.And) else sa.or_
        return join(*(_condition(session, clause, use_index, per_candidate) for clause in tree.clauses))
    return sa.true()


UNIQUE_SORTS = frozenset({"name"})  # a sort on a unique column needs no tie-break (so the index gives the order)


def _sort_term(part: str) -> tuple[str, Any]:
    """One ``field [asc|desc]`` of a CKAN sort: its field and its ORDER BY term; an unknown one refused."""
    field, _, direction = part.partition(" ")
    direction = direction.strip().lower() or "asc"
    if field not in SORTS or direction not in ("asc", "desc"):
        raise BadQuery("sort", f"Cannot sort by {part!r}.")
    column = SORTS[field]
    return field, column.desc() if direction == "desc" else column.asc()


def _order(sort: str) -> list[Any]:
    order, unique = [], False
    for part in (p.strip() for p in (sort or "score desc, metadata_modified desc").split(",")):
        if part:
            field, term = _sort_term(part)
            order.append(term)
            unique = unique or field in UNIQUE_SORTS
    return order if unique else order + [Dataset.id.desc()]


def search(session: Session, actor: Actor | None, *, q: str = "", fq: str = "", fq_list: Sequence[str] = (),
           sort: str = "", rows: int = 10, start: int = 0, names: Sequence[str] | None = None, use_index: bool = True,
           facets: Sequence[str] = (), facet_limit: int = 50, facet_mincount: int = 1) -> Page:
    """A page of the published catalogue as ``actor`` may see it (None: an anonymous reader).

    ``use_index``: the words of ``q`` are looked up in the search index first and ``res_format`` is read
    from the datasets' ``formats`` (:mod:`search_index`: caches the one write path keeps); False reads
    the rules alone (the same answer: the differential test in tests/datasets/test_search_index.py
    compares both)."""
    if not 0 <= rows <= MAX_ROWS:
        raise BadQuery("rows", f"rows must be between 0 and {MAX_ROWS}.")
    if not 0 <= start <= 10_000_000:
        raise BadQuery("start", "start must be 0 or more.")
    tree = _tree(q, fq, fq_list)
    query, published = sa.select(Dataset.id), Dataset.status == DatasetStatus.published
    # one provider's or one name's datasets are few: the LIKE reads them at once (the candidates would be more)
    narrow = names is not None or any(term.field in ("organization", "name", "id") for term in solr.required_terms(tree))
    among = _candidates(session, tree) if use_index and not narrow else None
    if among is not None:  # datasets whose text holds some pairs of every word (a superset; the LIKE decides)
        query = query.where(among)
        published = search_index.published_among_candidates(session, DatasetStatus.published)
    query = query.where(published, operations.visibility(session, actor))
    if names is not None:
        query = query.where(Dataset.name.in_(list(names)))
    if not isinstance(tree, solr.All):
        query = query.where(_condition(session, tree, use_index, among is not None))
    ids, total = _page_of(session, query, _order(sort), start, rows, counted_with_the_page=solr.has_text(tree))
    return Page(entries(session, ids, actor), total, start, rows, _facets(session, query, facets, facet_limit,
                                                                          facet_mincount))


def _candidates(session: Session, tree: solr.Node) -> Any | None:
    """The search index's condition for ``tree`` (a superset of what it finds; the rules decide), or None
    when the index cannot narrow it: the words every dataset found holds (a phrase holds each of its
    words), or else an OR among the required clauses whose every branch the index narrows."""
    words = [word.lower() for term in solr.required_terms(tree) if term.field == "text" for word in term.value.split()]
    if words:
        return search_index.candidates(session, words)
    if isinstance(tree, solr.Or):
        branches = [_candidates(session, clause) for clause in tree.clauses]
        return None if any(branch is None for branch in branches) else sa.or_(*branches)
    for clause in tree.clauses if isinstance(tree, solr.And) else ():
        if isinstance(clause, solr.Or) and (found := _candidates(session, clause)) is not None:
            return found
    return None


# --- facets: how many of the datasets found have each value of a field (CKAN's facet.field) ----------------

FACETS = ("organization", "groups", "tags", "res_format", "license_id")
_FACET_SOURCES = {"organization": Dataset.provider_code, "groups": Dataset.category_code,
                  "license_id": Dataset.licence_code, "tags": Dataset.keywords, "res_format": Dataset.formats}
_FACET_SPLIT = {"tags": keywords_of, "res_format": search_index.formats_of}


def _facets(session: Session, query: sa.Select, fields: Sequence[str], limit: int,
            mincount: int) -> dict[str, list[tuple[str, int]]]:
    """The values of each of ``fields`` among ``query``'s datasets with how many datasets have each, the
    most first (then by value), at least ``mincount``, at most ``limit`` (negative: all).

    Counted by the database in one statement: the datasets found are read once (a materialised CTE: a
    text query's LIKE is not run again per field) and grouped by each field's column (GROUP BY, UNION
    ALL). Keywords and formats, which a dataset holds several of in one column, are grouped by that
    column and the distinct texts split here."""
    for field in fields:
        if field not in FACETS:
            raise BadQuery("facet.field", f"Cannot count {field[:40]!r}; the facet fields are {', '.join(FACETS)}.")
    wanted = list(dict.fromkeys(fields))
    if not wanted:
        return {}
    found = query.cte("found").prefix_with("MATERIALIZED")
    joined = sa.join(Dataset, found, found.c.id == Dataset.id)
    parts = [sa.select(sa.literal(field).label("field"), _FACET_SOURCES[field].label("value"),
                       sa.func.count().label("n")).select_from(joined).group_by(_FACET_SOURCES[field])
             for field in wanted]
    totals: dict[str, dict[str, int]] = {field: {} for field in wanted}
    for field, text, n in session.execute(parts[0] if len(parts) == 1 else sa.union_all(*parts)):
        counted = totals[field]
        for value in dict.fromkeys(_FACET_SPLIT[field](text)) if field in _FACET_SPLIT else (text,):
            if value:
                counted[value] = counted.get(value, 0) + n
    ranked = {field: sorted(((value, n) for value, n in counted.items() if n >= mincount),
                            key=lambda item: (-item[1], item[0])) for field, counted in totals.items()}
    return {field: items if limit < 0 else items[:limit] for field, items in ranked.items()}


def _page_of(session: Session, query: sa.Select, order: list[Any], start: int, rows: int, *,
             counted_with_the_page: bool) -> tuple[list[int], int]:
    """The ids of a page of ``query``'s datasets and how many there are in all.

    ``counted_with_the_page``: the count comes with the page (a window count, one pass over the rows
    that match: a text query's LIKE is read once, not twice); else it is asked apart, and only when
    the page does not tell it (a page that is not full, after the first row, is the last one)."""
    if rows and counted_with_the_page:
        found = session.execute(query.add_columns(sa.func.count().over()).order_by(*order)
                                .offset(start).limit(rows)).all()
        if found or not start:
            return [row[0] for row in found], found[0][1] if found else 0
    elif rows:
        ids = list(session.scalars(query.order_by(*order).offset(start).limit(rows)))
        if 0 < len(ids) < rows or (not ids and not start):
            return ids, start + len(ids)
        if ids:
            return ids, _count(session, query)
    return [], _count(session, query)


def _count(session: Session, query: sa.Select) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def entries(session: Session, ids: Sequence[int], actor: Actor | None = None) -> list[Entry]:
    """The datasets ``ids`` (in that order) with their providers, distributions, category, licence and
    own terms, as ``actor`` (None: anonymous) is shown them (distributions withheld, :func:`terms.withheld`)."""
    if not ids:
        return []
    datasets = {d.id: d for d in session.scalars(sa.select(Dataset).where(Dataset.id.in_(list(ids))))}
    dists: dict[int, list[Distribution]] = {}
    for dist in session.scalars(sa.select(Distribution).where(Distribution.dataset_id.in_(list(ids)))
                                .order_by(Distribution.id)):
        dists.setdefault(dist.dataset_id, []).append(dist)
    found = providers(session, [d.provider_code for d in datasets.values()])
    # only the categories and licences these datasets name (the lists were made when the first was registered)
    cats = {c.code: c for c in session.scalars(sa.select(DatasetCategory).where(
        DatasetCategory.code.in_(sorted({d.category_code for d in datasets.values()}))))}
    lics = {lic.code: lic for lic in session.scalars(sa.select(DatasetLicence).where(
        DatasetLicence.code.in_(sorted({d.licence_code for d in datasets.values()}))))}
    own = [d for d in datasets.values() if lics.get(d.licence_code) is not None and lics[d.licence_code].own_terms]
    current = dataset_terms.current_of(session, [d.id for d in own])
    held = dataset_terms.withheld(session, actor, own)
    checked = file_checks.distribution_checks(session, [d.id for d in datasets.values() if d.standard_kind])
    return [Entry(datasets[i], _provider(found, datasets[i].provider_code),
                  () if i in held else tuple(dists.get(i, ())), cats.get(datasets[i].category_code),
                  lics.get(datasets[i].licence_code), current.get(i), i in held, checked.get(i))
            for i in ids if i in datasets]


def organizations(session: Session, actor: Actor | None) -> list[Provider]:
    """Providers with at least one published dataset the reader may see."""
    codes = session.scalars(sa.select(Dataset.provider_code).distinct()
                            .where(Dataset.status == DatasetStatus.published, operations.visibility(session, actor))).all()
    found = providers(session, list(codes))
    return [_provider(found, code) for code in sorted(codes)]


def count_for(session: Session, actor: Actor | None, provider_code: str) -> int:
    return session.scalar(sa.select(sa.func.count(Dataset.id)).where(
        Dataset.status == DatasetStatus.published, Dataset.provider_code == provider_code,
        operations.visibility(session, actor))) or 0


# --- CKAN's shapes --------------------------------------------------------------------------------------

def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() if moment else None


def ckan_organization(provider: Provider, package_count: int | None = None) -> dict[str, Any]:
    result = {"id": provider.code, "name": provider.code, "title": provider.name_ja, "display_name": provider.name_ja,
              "description": "", "image_url": "", "type": "organization", "is_organization": True, "state": "active",
              "approval_status": "approved"}
    if package_count is not None:
        result["package_count"] = package_count
    return result


def is_open(licence: DatasetLicence | None) -> bool:
    """Whether data under ``licence`` is open (CKAN's ``isopen``, the Open Definition's approval): the
    catalogue's licences are open licences, except those whose datasets carry terms of their own."""
    return licence is not None and not licence.own_terms


def ckan_licence(licence: DatasetLicence) -> dict[str, Any]:
    """A licence as CKAN's ``license_list`` gives it; one the operator stopped using (still had by published
    datasets) is ``retired``, as the Open Definition's licence list marks one no longer recommended."""
    return {"id": licence.code, "title": licence.title_ja, "url": licence.url,
            "status": "active" if licence.active else "retired",
            "od_conformance": "approved" if is_open(licence) else "not reviewed",
            "osd_conformance": "not reviewed", "domain_data": True, "domain_content": True, "domain_software": False}


def responsibility(dataset: Dataset) -> list[dict[str, str]]:
    parts = [{"party": key, "label_ja": ja, "label_en": en, "duty_ja": duty_ja, "duty_en": duty_en}
             for key, ja, en, duty_ja, duty_en in RESPONSIBILITY]
    if dataset.responsibility_remark:
        parts[0]["remark"] = dataset.responsibility_remark
    return parts


def responsibility_text(dataset: Dataset) -> str:
    text = " ".join(f"{ja}: {duty}" for _key, ja, _en, duty, _duty_en in RESPONSIBILITY)
    return text + (f" 提供者からの補足: {dataset.responsibility_remark}" if dataset.responsibility_remark else "")


def terms_url(base_url: str, dataset: Dataset, number: int | None = None) -> str:
    """Where anyone who may see the dataset reads its terms (a version, or the current one)."""
    return f"{base_url.rstrip('/')}{paths.path('terms', name=dataset.name)}" + (f"?version={number}" if number else "")


def terms_of_use(entry: Entry, base_url: str) -> dict[str, Any] | None:
    """The record's terms of use: version, title, hash, link, whether a consumer accepts them before access."""
    if entry.terms is None:
        return None
    d, t = entry.dataset, entry.terms
    return {"version": t.number, "title": t.title, "content_hash": t.content_hash, "url": terms_url(base_url, d, t.number),
            "acceptance_required": Access(d.access) != Access.open, "resources_withheld": entry.withheld}


RESOURCE_ID_SEPARATOR = "-"  # a resource's id: its dataset's uid, "-" and its place among the distributions from 1


def resource_place(resource_id: str) -> tuple[str, int] | None:
    """The dataset uid and the index of a resource id :func:`ckan_resource` gave (None: not one)."""
    uid, _sep, place = resource_id.rpartition(RESOURCE_ID_SEPARATOR)
    number = int(place) if place.isascii() and place.isdigit() and len(place) <= 4 else 0
    return (uid, number - 1) if uid and number >= 1 else None


def ckan_resource(entry: Entry, index: int, verdict: Verdict | None = None) -> dict[str, Any]:
    """The dataset's ``index``-th distribution as a CKAN resource. renkei keeps no description or times of a
    distribution apart from its dataset: ``description`` is empty (CKAN's own default), ``created`` is the
    dataset's registration and ``last_modified`` the data's last update as the provider states it. The
    distribution whose file renkei checked (``verdict``, :func:`verdict_of`) carries that file's ``hash``
    (``sha256:`` and its hex digest), ``size`` in bytes and ``row_count``; another's ``hash`` is empty and its
    ``size`` the provider's."""
    d, dist = entry.dataset, entry.distributions[index]
    checked = verdict is not None and verdict.index == index
    resource = {"id": f"{d.uid}{RESOURCE_ID_SEPARATOR}{index + 1}", "package_id": d.uid, "name": dist.title or d.title_ja,
                "description": "", "url": dist.url, "format": dist.format, "mimetype": dist.media_type or None,
                "size": verdict.byte_size if checked else dist.byte_size,
                "hash": f"sha256:{verdict.sha256}" if checked else "", "created": _iso(d.created_at),
                "last_modified": dt.datetime.combine(d.last_updated_on, dt.time()).isoformat() if d.last_updated_on else None,
                "resource_type": "api" if dist.is_api else "file", "url_type": None, "position": index, "state": "active",
                "datastore_active": False}
    if checked:
        resource["row_count"] = verdict.row_count
    return resource


def ckan_group(category: DatasetCategory, package_count: int | None = None) -> dict[str, Any]:
    """A category (分野) as CKAN's group."""
    result = {"id": category.code, "name": category.code, "title": category.label_ja, "display_name": category.label_ja,
              "description": category.label_en, "image_url": "", "image_display_url": "", "type": "group",
              "is_organization": False, "state": "active", "approval_status": "approved"}
    if package_count is not None:
        result["package_count"] = package_count
    return result


def ckan_tag(name: str) -> dict[str, Any]:
    return {"id": name, "name": name, "display_name": name, "vocabulary_id": None}


def ckan_facets(session: Session, facets: dict[str, list[tuple[str, int]]]) -> tuple[dict, dict]:
    """``facets`` (:attr:`Page.facets`) as package_search gives them: ``facets`` (field: {value: count}) and
    ``search_facets`` (field: title and items, each with name, display name and count). A provider's,
    category's or licence's display name is its title; a keyword's or format's is itself."""
    names: dict[str, dict[str, str]] = {}
    if facets.get("organization"):
        names["organization"] = {code: p.name_ja for code, p in providers(
            session, [value for value, _n in facets["organization"]]).items()}
    if facets.get("groups"):
        names["groups"] = {c.code: c.label_ja for c in session.scalars(sa.select(DatasetCategory).where(
            DatasetCategory.code.in_([value for value, _n in facets["groups"]])))}
    if facets.get("license_id"):
        names["license_id"] = {lic.code: lic.title_ja for lic in session.scalars(sa.select(DatasetLicence).where(
            DatasetLicence.code.in_([value for value, _n in facets["license_id"]])))}
    plain = {field: dict(counted) for field, counted in facets.items()}
    shaped = {field: {"title": field, "items": [{"name": value, "display_name": names.get(field, {}).get(value, value),
                                                 "count": n} for value, n in counted]}
              for field, counted in facets.items()}
    return plain, shaped


def autocomplete(session: Session, actor: Actor | None, text: str, limit: int) -> list[dict[str, str]]:
    """CKAN's package_autocomplete: datasets the reader may see whose name or title holds ``text`` (any
    case), by name; each says which it matched."""
    pattern = f"%{_escape(text.lower())}%"
    found = session.execute(sa.select(Dataset.name, Dataset.title_ja, Dataset.title_en).where(
        Dataset.status == DatasetStatus.published, operations.visibility(session, actor),
        sa.or_(sa.func.lower(Dataset.name).like(pattern, escape="\\"),
               sa.func.lower(Dataset.title_ja).like(pattern, escape="\\"),
               sa.func.lower(Dataset.title_en).like(pattern, escape="\\"))).order_by(Dataset.name).limit(limit)).all()
    return [{"name": name, "title": title, "match_field": "name" if text.lower() in name.lower() else "title",
             "match_displayed": name if text.lower() in name.lower() else title} for name, title, _en in found]


def ckan_package(entry: Entry, base_url: str = "") -> dict[str, Any]:
    d = entry.dataset
    own_terms = terms_of_use(entry, base_url)
    kind = standards.kind_of(d.standard_kind)
    conformance = conformance_state(d).label[0]
    verdict = verdict_of(entry)
    extras = [("access", Access(d.access).ja), ("frequency", Frequency(d.frequency).ja),
              ("last_updated", d.last_updated_on.isoformat() if d.last_updated_on else ""),
              ("personal_information", PersonalInfo(d.personal_info).ja),
              ("standard_dataset", kind.title_ja if kind else ""), ("conformance", conformance),
              ("responsibility", responsibility_text(d)), ("contact_phone", d.contact_phone), ("uid", d.uid)]
    if verdict is not None and verdict.version is not None:
        # the version of the standard the distribution's file met (or was checked against) and its own schema
        extras += [("standard_version", verdict.version.label_ja), ("standard_version_key", verdict.version.key),
                   ("standard_schema", f"{base_url.rstrip('/')}{verdict.schema_path}")]
    if own_terms is not None:
        extras += [("terms_version", str(own_terms["version"])), ("terms_url", own_terms["url"])]
    category = entry.category
    return {
        "id": d.uid, "name": d.name, "title": d.title_ja, "notes": d.description, "type": "dataset", "state": "active",
        "private": Access(d.access) != Access.open, "version": str(d.version),
        "author": entry.provider.name_ja, "author_email": None,
        "maintainer": d.department, "maintainer_email": d.contact_email or None,
        "license_id": d.licence_code, "license_title": entry.licence.title_ja if entry.licence else d.licence_code,
        "license_url": entry.licence.url if entry.licence else "", "isopen": is_open(entry.licence),
        "url": "",  # CKAN's source address: renkei's record is the source
        "metadata_created": _iso(d.created_at), "metadata_modified": _iso(d.modified_at),
        "owner_org": d.provider_code, "organization": ckan_organization(entry.provider),
        "groups": [{"id": category.code, "name": category.code, "title": category.label_ja, "display_name": category.label_ja}]
        if category else [],
        "tags": [{"name": k, "display_name": k, "state": "active"} for k in d.keyword_list],
        "num_tags": len(d.keyword_list),
        "resources": [ckan_resource(entry, i, verdict) for i in range(len(entry.distributions))],
        "num_resources": len(entry.distributions),
        "extras": [{"key": k, "value": v} for k, v in extras],
        "responsibility": responsibility(d),
        "terms_of_use": own_terms,
    }


# --- the catalogue's own description (CKAN's status_show, the DCAT feed) ------------------------------

@dataclasses.dataclass(frozen=True)
class CatalogueInfo:
    base_url: str  # where renkei answers, e.g. https://renkei.example.jp
    title_ja: str  # 熊本県域データ連携基盤 データカタログ: see catalogue_info
    title_en: str
    publisher_ja: str  # the home prefecture
    description_ja: str = "県と市町村・会員団体が提供するデータセットの一覧です。"


def catalogue_info(session: Session, base_url: str) -> CatalogueInfo:
    """The catalogue's titles and publisher, named after the home prefecture (the registry's
    prefecture tenant): 「栃木県域データ連携基盤 データカタログ」 on Tochigi's platform."""
    from tenancy.registry.prefecture import home_prefecture

    home = home_prefecture(session)
    name_ja = home.name_ja if home is not None else ""
    name_en = (home.name_en or "").removesuffix(" Prefecture") if home is not None else ""
    return CatalogueInfo(base_url, title_ja=f"{name_ja}域データ連携基盤 データカタログ" if name_ja else "データ連携基盤 データカタログ",
                         title_en=f"{name_en} area data platform catalogue" if name_en else "Area data platform catalogue",
                         publisher_ja=name_ja)
