"""The published catalogue, as existing tools read it: DCAT 3 (DCAT-AP 3.0.0) and CKAN's package shapes.

:func:`search` is the one query of the catalogue (what a reader may see, :func:`operations.visibility`;
a text query, filters on provider, keyword, format and licence; sort; a page). The builders are
pure functions of what it returns: :func:`dcat_graph` (an ``rdflib`` graph: catalogue, datasets
with publisher, vcard contact point, licence, access rights, frequency, themes, keywords,
distributions and the standard a dataset conforms to, and Hydra paging links) and
:func:`ckan_package` / :func:`ckan_organization` / :func:`ckan_licence` (CKAN's dictionaries).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.actor import Actor
from tenancy.datasets import operations, search_index, standards, terms as dataset_terms
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
    """Tenants and member organisations by code (all, or those named)."""
    from tenancy.members.models import Organisation
    from tenancy.registry.models import Tenant

    tenants = sa.select(Tenant.code, Tenant.name_ja, Tenant.name_en)
    orgs = sa.select(Organisation.corporate_number, Organisation.name)
    if codes is not None:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        tenants, orgs = tenants.where(Tenant.code.in_(wanted)), orgs.where(Organisation.corporate_number.in_(wanted))
    found = {code: Provider(code, ja, en or ja, "tenant") for code, ja, en in session.execute(tenants)}
    found.update({number: Provider(number, name, name, "member") for number, name in session.execute(orgs)})
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
    return {"id": licence.code, "title": licence.title_ja, "url": licence.url, "status": "active",
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
    conformance = operations.conformance_label(d)[0]
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


# --- DCAT --------------------------------------------------------------------------------------------

EU_FREQUENCY = {Frequency.realtime: "UPDATE_CONT", Frequency.daily: "DAILY", Frequency.weekly: "WEEKLY",
                Frequency.monthly: "MONTHLY", Frequency.quarterly: "QUARTERLY", Frequency.yearly: "ANNUAL",
                Frequency.irregular: "IRREG"}
EU_ACCESS = {Access.open: "PUBLIC", Access.members: "RESTRICTED", Access.named: "RESTRICTED"}


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


class _Terms:
    """A namespace whose terms are made once: rdflib makes (and checks) a new URIRef at every attribute
    access of a namespace, which a page of the feed does thousands of times."""

    def __init__(self, namespace: Any) -> None:
        self._namespace = namespace

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        term = getattr(self._namespace, name)
        setattr(self, name, term)  # found in the instance from now on, without __getattr__
        return term

    def __str__(self) -> str:
        return str(self._namespace)


class _Literals:
    """rdflib's Literal, each distinct one made once per page (a page repeats its labels, dates and texts)."""

    def __init__(self, make: Any) -> None:
        self._make, self._made = make, {}

    def __call__(self, value: Any, lang: str | None = None, datatype: Any = None) -> Any:
        key = (type(value), value, lang, datatype)
        found = self._made.get(key)
        if found is None:
            found = self._made[key] = self._make(value, lang=lang, datatype=datatype)
        return found


@functools.lru_cache(maxsize=8)
def _shared_vocabulary(base: str) -> SimpleNamespace:
    from rdflib import BNode, Literal, Namespace, URIRef
    from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, XSD

    return SimpleNamespace(BNode=BNode, Literal=Literal, URIRef=URIRef, DCAT=_Terms(DCAT), DCTERMS=_Terms(DCTERMS),
                           FOAF=_Terms(FOAF), OWL=_Terms(OWL), RDF=_Terms(RDF), RDFS=_Terms(RDFS), SKOS=_Terms(SKOS),
                           XSD=_Terms(XSD), Namespace=Namespace,
                           VCARD=_Terms(Namespace("http://www.w3.org/2006/vcard/ns#")),
                           HYDRA=_Terms(Namespace("http://www.w3.org/ns/hydra/core#")),
                           RENKEI=_Terms(Namespace(f"{base}/ns#")))


def _vocabulary(base: str) -> SimpleNamespace:
    """rdflib's terms and the namespaces a catalogue page is written with (rdflib imported here, on first
    use; the terms made once per process), with the page's own Literal maker and the set of the shared
    nodes' triples the page holds already (:func:`_add_shared`)."""
    shared = _shared_vocabulary(base)
    return SimpleNamespace(**{**vars(shared), "Literal": _Literals(shared.Literal), "shared": set()})


def _add_shared(g: Any, v: SimpleNamespace, *triples: Any) -> None:
    """The triples that describe a node many datasets of a page point to (a licence, a theme, a file type),
    each added once: the graph is the same (a graph is a set), its store is asked fewer times."""
    for triple in triples:
        if triple not in v.shared:
            v.shared.add(triple)
            g.add(triple)


def dcat_graph(info: CatalogueInfo, page: Page, *, page_url: str) -> Any:
    """One page of the catalogue as DCAT 3 (an rdflib Graph) with Hydra links to the other pages:
    the catalogue itself, its paging, then each dataset (:func:`_add_dataset`)."""
    from rdflib import Graph

    v = _vocabulary(info.base_url)
    base = info.base_url.rstrip("/")
    # the plain in-memory store: a page's graph is built once and written once, never queried, so the
    # default store's context and predicate indexes only cost time (2 to 3 times the build)
    g = Graph(store="SimpleMemory", bind_namespaces="core")
    _bind_prefixes(g, v, base)
    catalogue, scheme = _add_catalogue(g, v, info, base)
    _add_paging(g, v, catalogue, page, page_url)
    agents: set[Any] = set()
    for entry in page.entries:
        _add_dataset(g, v, base, catalogue, scheme, entry, agents)
    return g


def _bind_prefixes(g: Any, v: SimpleNamespace, base: str) -> None:
    """The prefixes a written page uses (Turtle, JSON-LD)."""
    for prefix, ns in (("dcat", v.DCAT), ("dct", v.DCTERMS), ("foaf", v.FOAF), ("vcard", v.VCARD), ("skos", v.SKOS),
                       ("hydra", v.HYDRA), ("renkei", v.RENKEI), ("ds", v.Namespace(f"{base}/catalogue/datasets/")),
                       ("dist", v.Namespace(f"{base}/catalogue/distributions/")),
                       ("provider", v.Namespace(f"{base}/catalogue/providers/")),
                       ("theme", v.Namespace(f"{base}/catalogue/themes/")),
                       ("standard", v.Namespace(f"{base}/catalogue/standards/")),
                       ("freq", v.Namespace("http://publications.europa.eu/resource/authority/frequency/")),
                       ("access", v.Namespace("http://publications.europa.eu/resource/authority/access-right/")),
                       ("filetype", v.Namespace("http://publications.europa.eu/resource/authority/file-type/"))):
        g.bind(prefix, ns)


def _add_catalogue(g: Any, v: SimpleNamespace, info: CatalogueInfo, base: str) -> tuple[Any, Any]:
    """The catalogue (titles, description, publisher) and its theme scheme; returns both nodes."""
    catalogue = v.URIRef(f"{base}/catalogue")
    g.add((catalogue, v.RDF.type, v.DCAT.Catalog))
    g.add((catalogue, v.DCTERMS.title, v.Literal(info.title_ja, lang="ja")))
    g.add((catalogue, v.DCTERMS.title, v.Literal(info.title_en, lang="en")))
    g.add((catalogue, v.DCTERMS.description, v.Literal(info.description_ja, lang="ja")))
    publisher = v.URIRef(f"{base}/catalogue/publisher")
    g.add((catalogue, v.DCTERMS.publisher, publisher))
    g.add((publisher, v.RDF.type, v.FOAF.Agent))
    g.add((publisher, v.FOAF.name, v.Literal(info.publisher_ja, lang="ja")))
    scheme = v.URIRef(f"{base}/catalogue/themes")
    g.add((scheme, v.RDF.type, v.SKOS.ConceptScheme))
    g.add((scheme, v.DCTERMS.title, v.Literal("分野", lang="ja")))
    g.add((catalogue, v.DCAT.themeTaxonomy, scheme))
    return catalogue, scheme


def _add_paging(g: Any, v: SimpleNamespace, catalogue: Any, page: Page, page_url: str) -> None:
    """Hydra paging: this page, the first, the next and the previous, the last, the total."""
    view = v.URIRef(page_url)
    g.add((catalogue, v.HYDRA.view, view))
    g.add((view, v.RDF.type, v.HYDRA.PartialCollectionView))
    g.add((catalogue, v.HYDRA.totalItems, v.Literal(page.total, datatype=v.XSD.nonNegativeInteger)))
    separator = "&" if "?" in page_url.split("start=")[0] else "?"
    stem = page_url.split("start=")[0].rstrip("&?")

    def at(start: int) -> Any:
        return v.URIRef(f"{stem}{separator}start={start}&rows={page.rows}")
    g.add((view, v.HYDRA.first, at(0)))
    if page.rows and page.start + page.rows < page.total:
        g.add((view, v.HYDRA.next, at(page.start + page.rows)))
    if page.start > 0 and page.rows:
        g.add((view, v.HYDRA.previous, at(max(0, page.start - page.rows))))
    if page.rows:
        g.add((view, v.HYDRA.last, at(max(0, (page.total - 1) // page.rows * page.rows))))


def _add_dataset(g: Any, v: SimpleNamespace, base: str, catalogue: Any, scheme: Any, entry: Any, agents: set[Any]) -> None:
    """One dataset: its texts and landing page, its provider (once per page, in ``agents``), its
    contact, licence and access, dates and keywords, theme and standard, terms, distributions."""
    d = entry.dataset
    node = v.URIRef(f"{base}/catalogue/datasets/{d.uid}")
    g.add((catalogue, v.DCAT.dataset, node))
    g.add((node, v.RDF.type, v.DCAT.Dataset))
    g.add((node, v.DCTERMS.identifier, v.Literal(d.uid)))
    g.add((node, v.DCTERMS.title, v.Literal(d.title_ja, lang="ja")))
    if d.title_en:
        g.add((node, v.DCTERMS.title, v.Literal(d.title_en, lang="en")))
    if d.description.strip():
        g.add((node, v.DCTERMS.description, v.Literal(d.description, lang="ja")))
    landing = _document(g, v, v.URIRef(f"{base}/api/3/action/package_show?id={d.name}"))
    g.add((landing, v.RDF.type, v.FOAF.Document))
    g.add((node, v.DCAT.landingPage, landing))
    agent = v.URIRef(f"{base}/catalogue/providers/{entry.provider.code}")
    g.add((node, v.DCTERMS.publisher, agent))
    if agent not in agents:
        agents.add(agent)
        g.add((agent, v.RDF.type, v.FOAF.Agent))
        g.add((agent, v.FOAF.name, v.Literal(entry.provider.name_ja, lang="ja")))
    _add_contact(g, v, node, entry)
    licence_uri = _add_licence_and_access(g, v, base, node, entry)
    if d.last_updated_on:
        g.add((node, v.DCTERMS.modified, v.Literal(d.last_updated_on, datatype=v.XSD.date)))
    if d.published_at:
        g.add((node, v.DCTERMS.issued, v.Literal(d.published_at.date(), datatype=v.XSD.date)))
    for keyword in d.keyword_list:
        g.add((node, v.DCAT.keyword, v.Literal(keyword, lang="ja")))
    _add_theme_and_standard(g, v, base, scheme, node, entry)
    g.add((node, v.RENKEI.responsibility, v.Literal(responsibility_text(d), lang="ja")))
    rights_statement = _add_terms(g, v, base, node, entry)
    for index, dist in enumerate(entry.distributions):
        _add_distribution(g, v, base, node, d.uid, index, dist, licence_uri, rights_statement)


def _add_contact(g: Any, v: SimpleNamespace, node: Any, entry: Any) -> None:
    """The contact point (department, e-mail, telephone) when the dataset gives any of them."""
    d = entry.dataset
    if not (d.department or d.contact_email or d.contact_phone):
        return
    contact = v.BNode()
    g.add((node, v.DCAT.contactPoint, contact))
    g.add((contact, v.RDF.type, v.VCARD.Kind))  # the class the shapes ask (no inference)
    g.add((contact, v.RDF.type, v.VCARD.Organization))
    g.add((contact, v.VCARD.fn, v.Literal(f"{entry.provider.name_ja} {d.department}".strip(), lang="ja")))
    if d.contact_email:
        g.add((contact, v.VCARD.hasEmail, v.URIRef(f"mailto:{d.contact_email}")))
    if d.contact_phone:
        g.add((contact, v.VCARD.hasTelephone, v.URIRef(f"tel:{''.join(c for c in d.contact_phone if c.isdigit() or c == '+')}")))


def _add_licence_and_access(g: Any, v: SimpleNamespace, base: str, node: Any, entry: Any) -> Any:
    """The licence (its own address, or the catalogue's page of it), the EU access right and
    update frequency; returns the licence's node (its distributions carry it too)."""
    d = entry.dataset
    licence_uri = v.URIRef(entry.licence.url) if entry.licence and entry.licence.url else \
        v.URIRef(f"{base}/catalogue/licences/{d.licence_code}")
    _add_shared(g, v, (licence_uri, v.RDF.type, v.DCTERMS.LicenseDocument))
    if entry.licence:
        _add_shared(g, v, (licence_uri, v.RDFS.label, v.Literal(entry.licence.title_ja, lang="ja")))
    g.add((node, v.DCTERMS.license, licence_uri))
    rights = v.URIRef(f"http://publications.europa.eu/resource/authority/access-right/{EU_ACCESS[Access(d.access)]}")
    _add_shared(g, v, (rights, v.RDF.type, v.DCTERMS.RightsStatement))
    g.add((node, v.DCTERMS.accessRights, rights))
    frequency = v.URIRef(f"http://publications.europa.eu/resource/authority/frequency/{EU_FREQUENCY[Frequency(d.frequency)]}")
    _add_shared(g, v, (frequency, v.RDF.type, v.DCTERMS.Frequency))
    g.add((node, v.DCTERMS.accrualPeriodicity, frequency))
    return licence_uri


def _add_theme_and_standard(g: Any, v: SimpleNamespace, base: str, scheme: Any, node: Any, entry: Any) -> None:
    """The dataset's category as a theme of the scheme, and the standard it follows (with its conformance, when checked)."""
    d = entry.dataset
    if entry.category is not None:
        theme = v.URIRef(f"{base}/catalogue/themes/{entry.category.code}")
        _add_shared(g, v, (theme, v.RDF.type, v.SKOS.Concept),
                    (theme, v.SKOS.prefLabel, v.Literal(entry.category.label_ja, lang="ja")),
                    (theme, v.SKOS.inScheme, scheme))
        g.add((node, v.DCAT.theme, theme))
    kind = standards.kind_of(d.standard_kind)
    if kind is not None:
        standard = v.URIRef(f"{base}/catalogue/standards/{kind.code}")
        _add_shared(g, v, (standard, v.RDF.type, v.DCTERMS.Standard),
                    (standard, v.DCTERMS.title, v.Literal(kind.title_ja, lang="ja")))
        g.add((node, v.DCTERMS.conformsTo, standard))
        if d.conformant is not None:
            g.add((node, v.RENKEI.conformance, v.Literal(operations.conformance_label(d)[0], lang="ja")))


def _add_terms(g: Any, v: SimpleNamespace, base: str, node: Any, entry: Any) -> Any:
    """The dataset's own terms of use (the version in force, to be read before use), or None."""
    if entry.terms is None:
        return None
    rights_statement = v.URIRef(terms_url(base, entry.dataset, entry.terms.number))
    g.add((rights_statement, v.RDF.type, v.DCTERMS.RightsStatement))
    g.add((rights_statement, v.DCTERMS.title, v.Literal(f"{entry.terms.title}（第{entry.terms.number}版）", lang="ja")))
    g.add((rights_statement, v.OWL.versionInfo, v.Literal(str(entry.terms.number))))
    g.add((node, v.DCTERMS.rights, rights_statement))
    return rights_statement


def _add_distribution(g: Any, v: SimpleNamespace, base: str, node: Any, uid: str, index: int, dist: Any,
                      licence_uri: Any, rights_statement: Any) -> None:
    """One distribution: its addresses (a download address unless it is an API), title, format,
    media type, size, and the dataset's licence and terms."""
    # one namespace for every distribution (a namespace per dataset makes Turtle's writer slow)
    dnode = v.URIRef(f"{base}/catalogue/distributions/{uid}-{index + 1}")
    g.add((node, v.DCAT.distribution, dnode))
    g.add((dnode, v.RDF.type, v.DCAT.Distribution))
    g.add((dnode, v.DCAT.accessURL, _document(g, v, v.URIRef(dist.url))))
    if not dist.is_api:
        g.add((dnode, v.DCAT.downloadURL, _document(g, v, v.URIRef(dist.url))))
    if dist.title:
        g.add((dnode, v.DCTERMS.title, v.Literal(dist.title, lang="ja")))
    if dist.format:
        fmt = v.URIRef(f"http://publications.europa.eu/resource/authority/file-type/{dist.format.upper()}")
        _add_shared(g, v, (fmt, v.RDF.type, v.DCTERMS.MediaTypeOrExtent))
        g.add((dnode, v.DCTERMS.format, fmt))
    if dist.media_type:
        media = v.URIRef(f"https://www.iana.org/assignments/media-types/{dist.media_type}")
        _add_shared(g, v, (media, v.RDF.type, v.DCTERMS.MediaType))
        g.add((dnode, v.DCAT.mediaType, media))
    if dist.byte_size is not None:
        g.add((dnode, v.DCAT.byteSize, v.Literal(dist.byte_size, datatype=v.XSD.nonNegativeInteger)))
    g.add((dnode, v.DCTERMS.license, licence_uri))
    if rights_statement is not None:
        g.add((dnode, v.DCTERMS.rights, rights_statement))


def _document(g: Any, v: SimpleNamespace, uri: Any) -> Any:
    _add_shared(g, v, (uri, v.RDF.type, v.RDFS.Resource))  # DCAT-AP's shapes ask the class of an address explicitly
    return uri
