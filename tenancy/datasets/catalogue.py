"""The published catalogue, as existing tools read it: its one query and CKAN's package shapes.

:func:`search` is the one query of the catalogue (what a reader may see, :func:`operations.visibility`;
a text query, filters on provider, keyword, format and licence; sort; a page). The builders are
pure functions of what it returns: :func:`ckan_package` / :func:`ckan_organization` /
:func:`ckan_licence` (CKAN's dictionaries) here, and the DCAT feed in :mod:`tenancy.datasets.dcat`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.actor import Actor
from tenancy.datasets import operations, search_index, standards, terms as dataset_terms
from tenancy.datasets.conformance import conformance_state
from tenancy.datasets.models import (ACCESS_LABELS, FREQUENCY_LABELS, PERSONAL_LABELS, RESPONSIBILITY, Access,
                                     Dataset, DatasetCategory, DatasetLicence, DatasetStatus, DatasetTerms, Distribution,
                                     Frequency)

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


@dataclasses.dataclass(frozen=True)
class Page:
    entries: list[Entry]
    total: int
    start: int
    rows: int


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


def parse_fq(fq: str) -> dict[str, list[str]]:
    """CKAN's filter query as renkei reads it: ``field:value`` terms (quoted values allowed) joined by
    spaces or AND, on organization, tags, res_format, license_id and groups."""
    import shlex

    allowed = {"organization", "tags", "res_format", "license_id", "groups", "name"}
    found: dict[str, list[str]] = {}
    try:
        terms = shlex.split(fq.replace("+", " "))
    except ValueError:
        raise BadQuery("fq", "Unbalanced quotes.") from None
    for term in terms:
        if term.upper() == "AND":
            continue
        field, sep, value = term.partition(":")
        field = field.lstrip("+")
        if not sep or field not in allowed or not value:
            raise BadQuery("fq", f"Cannot filter on {term!r}; use organization, tags, res_format, license_id or groups.")
        found.setdefault(field, []).append(value.strip('"'))
    return found


UNIQUE_SORTS = frozenset({"name"})  # a sort on a unique column needs no tie-break (so the index gives the order)


def _order(sort: str) -> list[Any]:
    order, unique = [], False
    for part in (p.strip() for p in (sort or "score desc, metadata_modified desc").split(",")):
        if not part:
            continue
        field, _, direction = part.partition(" ")
        direction = direction.strip().lower() or "asc"
        if field not in SORTS or direction not in ("asc", "desc"):
            raise BadQuery("sort", f"Cannot sort by {part!r}.")
        column = SORTS[field]
        order.append(column.desc() if direction == "desc" else column.asc())
        unique = unique or field in UNIQUE_SORTS
    return order if unique else order + [Dataset.id.desc()]


def search(session: Session, actor: Actor | None, *, q: str = "", fq: str = "", sort: str = "", rows: int = 10,
           start: int = 0, names: Sequence[str] | None = None, use_index: bool = True) -> Page:
    """A page of the published catalogue as ``actor`` may see it (None: an anonymous reader).

    ``use_index``: the words of ``q`` are looked up in the search index first and ``res_format`` is read
    from the datasets' ``formats`` (:mod:`search_index`: caches the one write path keeps); False reads
    the rules alone (the same answer: the differential test in tests/datasets/test_search_index.py
    compares both)."""
    if not 0 <= rows <= MAX_ROWS:
        raise BadQuery("rows", f"rows must be between 0 and {MAX_ROWS}.")
    if not 0 <= start <= 10_000_000:
        raise BadQuery("start", "start must be 0 or more.")
    filters = parse_fq(fq)
    words = [word.lower() for word in q.split()[:10]] if q and q != "*:*" else []
    query, published = sa.select(Dataset.id), Dataset.status == DatasetStatus.published
    # one provider's or one name's datasets are few: the LIKE reads them at once (the candidates would be more)
    narrow = names is not None or bool(filters.get("organization") or filters.get("name"))
    among = search_index.candidates(session, words) if use_index and not narrow else None
    if among is not None:  # datasets whose text holds some pairs of every word (a superset; the LIKE decides)
        query = query.where(among)
        published = search_index.published_among_candidates(session, DatasetStatus.published)
    query = query.where(published, operations.visibility(session, actor))
    if names is not None:
        query = query.where(Dataset.name.in_(list(names)))
    for field, column in (("organization", Dataset.provider_code), ("license_id", Dataset.licence_code),
                          ("groups", Dataset.category_code), ("name", Dataset.name)):
        for value in filters.get(field, []):
            query = query.where(column == value)
    for value in filters.get("tags", []):
        query = query.where(sa.or_(Dataset.keywords == value, Dataset.keywords.like(f"{_escape(value)}、%", escape="\\"),
                                   Dataset.keywords.like(f"%、{_escape(value)}", escape="\\"),
                                   Dataset.keywords.like(f"%、{_escape(value)}、%", escape="\\")))
    for value in filters.get("res_format", []):  # as CKAN's: the format as written (CSV, GeoJSON)
        query = query.where(search_index.has_format(session, value) if use_index else
                            search_index.has_format_by_rule(value, per_candidate=among is not None))
    for word in words:  # the rule: each word is in the search text (CKAN's AND of the words)
        query = query.where(Dataset.search_text.like(f"%{_escape(word)}%", escape="\\"))
    ids, total = _page_of(session, query, _order(sort), start, rows, counted_with_the_page=bool(words))
    return Page(entries(session, ids, actor), total, start, rows)


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
    return [Entry(datasets[i], _provider(found, datasets[i].provider_code),
                  () if i in held else tuple(dists.get(i, ())), cats.get(datasets[i].category_code),
                  lics.get(datasets[i].licence_code), current.get(i), i in held) for i in ids if i in datasets]


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


def ckan_licence(licence: DatasetLicence) -> dict[str, Any]:
    """A licence as CKAN's ``license_list`` gives it; one the operator stopped using (still had by published
    datasets) is ``retired``, as the Open Definition's licence list marks one no longer recommended."""
    return {"id": licence.code, "title": licence.title_ja, "url": licence.url,
            "status": "active" if licence.active else "retired",
            "od_conformance": "approved" if not licence.own_terms else "not reviewed",
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
    return f"{base_url.rstrip('/')}/catalogue/datasets/{dataset.name}/terms" + (f"?version={number}" if number else "")


def terms_of_use(entry: Entry, base_url: str) -> dict[str, Any] | None:
    """The record's terms of use: version, title, hash, link, whether a consumer accepts them before access."""
    if entry.terms is None:
        return None
    d, t = entry.dataset, entry.terms
    return {"version": t.number, "title": t.title, "content_hash": t.content_hash, "url": terms_url(base_url, d, t.number),
            "acceptance_required": Access(d.access) != Access.open, "resources_withheld": entry.withheld}


def ckan_package(entry: Entry, base_url: str = "") -> dict[str, Any]:
    d = entry.dataset
    own_terms = terms_of_use(entry, base_url)
    kind = standards.kind_of(d.standard_kind)
    conformance = conformance_state(d).label[0]
    extras = [("access", ACCESS_LABELS[Access(d.access)][0]), ("frequency", FREQUENCY_LABELS[Frequency(d.frequency)][0]),
              ("last_updated", d.last_updated_on.isoformat() if d.last_updated_on else ""),
              ("personal_information", PERSONAL_LABELS[d.personal_info][0]),
              ("standard_dataset", kind.title_ja if kind else ""), ("conformance", conformance),
              ("responsibility", responsibility_text(d)), ("contact_phone", d.contact_phone), ("uid", d.uid)]
    if own_terms is not None:
        extras += [("terms_version", str(own_terms["version"])), ("terms_url", own_terms["url"])]
    category = entry.category
    return {
        "id": d.uid, "name": d.name, "title": d.title_ja, "notes": d.description, "type": "dataset", "state": "active",
        "private": Access(d.access) != Access.open, "version": str(d.version),
        "author": entry.provider.name_ja, "author_email": None,
        "maintainer": d.department, "maintainer_email": d.contact_email or None,
        "license_id": d.licence_code, "license_title": entry.licence.title_ja if entry.licence else d.licence_code,
        "license_url": entry.licence.url if entry.licence else "",
        "metadata_created": _iso(d.created_at), "metadata_modified": _iso(d.modified_at),
        "owner_org": d.provider_code, "organization": ckan_organization(entry.provider),
        "groups": [{"id": category.code, "name": category.code, "title": category.label_ja, "display_name": category.label_ja}]
        if category else [],
        "tags": [{"name": k, "display_name": k, "state": "active"} for k in d.keyword_list],
        "num_tags": len(d.keyword_list),
        "resources": [{"id": f"{d.uid}-{i + 1}", "package_id": d.uid, "name": dist.title or d.title_ja, "url": dist.url,
                       "format": dist.format, "mimetype": dist.media_type or None, "size": dist.byte_size,
                       "resource_type": "api" if dist.is_api else "file", "position": i, "state": "active"}
                      for i, dist in enumerate(entry.distributions)],
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
