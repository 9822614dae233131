"""The published catalogue as DCAT 3 (DCAT-AP 3.0.0), one page at a time, with Hydra paging links.

One builder (:func:`_build` and its ``_add_*`` parts) states what a page holds: the catalogue, its
paging, and each dataset with its publisher, vcard contact point, licence, access rights,
frequency, themes, keywords, distributions (the checked one with its file's checksum, size and rows) and the version
of the standard it conforms to. It writes its triples
through a vocabulary ``v`` (``URIRef``, ``Literal``, ``BNode`` and the namespaces' terms) into a sink
``g`` (``add``, ``bind``), and runs with either of two:

* :func:`graph`: rdflib's own terms into an rdflib ``Graph``, what the DCAT-AP 3.0.0 SHACL test reads
  (pyshacl) and what answers when the text writer does not know a value;
* :func:`document`: the served text. Each term is made as its N-Triples text (an IRI ``<...>``, a
  blank node ``_:b1``, a literal ``"..."@ja``), and the page is written from those as N-Triples
  (valid Turtle) or as expanded JSON-LD, without building an rdflib graph: rdflib's store and its
  JSON-LD serialiser took most of a page's time (a JSON-LD page of 50 datasets above 100 ms at
  national size). A value of a kind it was not built for (:class:`Unwritable`) hands the page over
  to rdflib's serialiser of :func:`graph`, logged and counted (:func:`handed_over`).
  tests/datasets/test_dcat_text.py (Hypothesis) proves the two isomorphic over generated registers.

IRIs are written with the characters IRIs may not hold (white space, controls, the backslash and
``<>"{}|^```) percent-encoded, in both ways (a distribution address or a format with one of them made the
Turtle feed fail).
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import json
import logging
import re
import threading
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from catalogue import linked_data as iris, operations, paths, standards
from catalogue.conformance import UNCHECKED, conformance_state
from catalogue.catalogue import CatalogueInfo, Page, responsibility_text, terms_url
from catalogue.lists import licence_page_path
from catalogue.models import Access, Frequency

log = logging.getLogger(__name__)

EU_FREQUENCY = {Frequency.realtime: "UPDATE_CONT", Frequency.daily: "DAILY", Frequency.weekly: "WEEKLY",
                Frequency.monthly: "MONTHLY", Frequency.quarterly: "QUARTERLY", Frequency.yearly: "ANNUAL",
                Frequency.irregular: "IRREG"}
EU_ACCESS = {Access.open: "PUBLIC", Access.members: "RESTRICTED", Access.named: "RESTRICTED"}
SPDX_NAMESPACE = "http://spdx.org/rdf/terms#"  # a distribution's checksum, as DCAT-AP 3 writes it (spdx:Checksum)
FORMATS = ("nt", "json-ld", "xml")  # what :func:`document` writes (rdflib's names; RDF/XML by rdflib's serialiser)

# what an IRI may not hold (RFC 3987; N-Triples' IRIREF), written as %XX
_NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\\x7f]')


def _iri(text: str) -> str:
    return _NOT_IN_IRI.sub(lambda found: f"%{ord(found.group()):02X}", text)


def graph(info: CatalogueInfo, page: Page, *, page_url: str | None) -> Any:
    """One page of the catalogue as DCAT 3, an rdflib Graph (:func:`_build` with rdflib's terms); without
    ``page_url``, the catalogue and the page's datasets without paging (one dataset's own record)."""
    from rdflib import Graph

    # the plain in-memory store: a page's graph is built once and written once, never queried, so the
    # default store's context and predicate indexes only cost time (2 to 3 times the build)
    g = Graph(store="SimpleMemory", bind_namespaces="core")
    _build(g, _vocabulary(info.base_url), info, page, page_url)
    return g


def resource_graph(base: str) -> tuple[Any, SimpleNamespace]:
    """An empty rdflib Graph with the feed's prefixes, and the vocabulary to write one resource's triples
    into it with the builder's parts (:func:`add_provider`, :func:`add_place`, :func:`add_standard`)."""
    from rdflib import Graph

    g, v = Graph(bind_namespaces="core"), _vocabulary(base.rstrip("/"))
    _bind_prefixes(g, v, base.rstrip("/"))
    return g, v


def document(info: CatalogueInfo, page: Page, *, page_url: str, fmt: str) -> bytes:
    """One page of the catalogue written as ``fmt`` (``nt``: N-Triples, which is Turtle too; ``json-ld``:
    expanded JSON-LD; ``xml``: RDF/XML, by rdflib's serialiser of :func:`graph`), UTF-8: the graph :func:`graph` builds, written from the terms' text; a value the
    text writer does not know hands the page over to rdflib's serialiser (logged and counted)."""
    if fmt not in FORMATS:
        raise ValueError(f"Formats: {', '.join(FORMATS)}")
    if fmt == "xml":  # RDF/XML: rdflib's writer (the text writer writes N-Triples and expanded JSON-LD only)
        return graph(info, page, page_url=page_url).serialize(format="xml", encoding="utf-8")
    sink, v = _Triples(), _text_vocabulary(info.base_url)
    try:
        _build(sink, v, info, page, page_url)
        text = sink.n_triples() if fmt == "nt" else sink.json_ld(v.RDF.type, v.json_of)
    except Unwritable as unknown:
        _note_handed_over(str(unknown))
        return graph(info, page, page_url=page_url).serialize(format=fmt, encoding="utf-8")
    return text.encode("utf-8")


def _build(g: Any, v: SimpleNamespace, info: CatalogueInfo, page: Page, page_url: str) -> None:
    """The page's triples: the catalogue itself, its paging, then each dataset (:func:`_add_dataset`)."""
    base = info.base_url.rstrip("/")
    _bind_prefixes(g, v, base)
    catalogue, scheme = _add_catalogue(g, v, info, base)
    if page_url is not None:
        _add_paging(g, v, catalogue, page, page_url)
    agents: set[Any] = set()
    for entry in page.entries:
        _add_dataset(g, v, base, catalogue, scheme, entry, agents)


# --- rdflib's terms ----------------------------------------------------------------------------------------

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

    return SimpleNamespace(BNode=BNode, Literal=Literal, URIRef=lambda text: URIRef(_iri(text)), DCAT=_Terms(DCAT),
                           DCTERMS=_Terms(DCTERMS), FOAF=_Terms(FOAF), OWL=_Terms(OWL), RDF=_Terms(RDF), RDFS=_Terms(RDFS), SKOS=_Terms(SKOS),
                           XSD=_Terms(XSD), Namespace=Namespace,
                           VCARD=_Terms(Namespace("http://www.w3.org/2006/vcard/ns#")),
                           HYDRA=_Terms(Namespace("http://www.w3.org/ns/hydra/core#")),
                           RENKEI=_Terms(Namespace(iris.RENKEI_NAMESPACE)), SPDX=_Terms(Namespace(SPDX_NAMESPACE)))


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


# --- the text writer's terms: each term its N-Triples text ------------------------------------------------

NAMESPACES = ("DCAT", "DCTERMS", "FOAF", "OWL", "RDF", "RDFS", "SKOS", "XSD", "VCARD", "HYDRA", "RENKEI", "SPDX")
# a literal's text as N-Triples writes it: rdflib's escapes (backslash, quote, LF, CR) and the other controls as \\uXXXX
_LITERAL_ESCAPES = {**{code: f"\\u{code:04X}" for code in (*range(0x20), 0x7F)},
                    ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r"}
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class Unwritable(ValueError):
    """A value the text writer was not built for: the page is handed over to rdflib."""


class _TextTerms:
    """A namespace's terms (the rdflib vocabulary's, :class:`_Terms`) as N-Triples IRIs, made once."""

    def __init__(self, terms: Any) -> None:
        self._terms = terms

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        term = f"<{getattr(self._terms, name)}>"
        setattr(self, name, term)
        return term


@functools.lru_cache(maxsize=8)
def _shared_text_vocabulary(base: str) -> SimpleNamespace:
    rdflib_terms = _shared_vocabulary(base)  # the same namespaces and IRIs
    return SimpleNamespace(**{name: _TextTerms(getattr(rdflib_terms, name)) for name in NAMESPACES})


class _TextPage:
    """The terms of one page: IRIs, blank nodes (numbered in the page) and literals, each literal made once,
    with its JSON-LD value object kept beside it (``json_of``)."""

    def __init__(self) -> None:
        self.json_of: dict[str, dict[str, str]] = {}
        self._made: dict[tuple, str] = {}
        self._blanks = 0

    @staticmethod
    def iri(text: str) -> str:
        return f"<{_iri(text)}>"

    def blank(self) -> str:
        self._blanks += 1
        return f"_:b{self._blanks}"

    def literal(self, value: Any, lang: str | None = None, datatype: str | None = None) -> str:
        key = (type(value), value, lang, datatype)
        found = self._made.get(key)
        if found is None:
            lexical = _lexical(value, lang, datatype)
            quoted = f'"{lexical.translate(_LITERAL_ESCAPES)}"'
            if lang:
                found, value_object = f"{quoted}@{lang}", {"@value": lexical, "@language": lang}
            elif datatype:
                found, value_object = f"{quoted}^^{datatype}", {"@value": lexical, "@type": datatype[1:-1]}
            else:
                found, value_object = quoted, {"@value": lexical}
            self._made[key], self.json_of[found] = found, value_object
        return found


def _lexical(value: Any, lang: str | None, datatype: str | None) -> str:
    """A literal's lexical form, as rdflib makes it, for the values the builder gives (texts, with or
    without a language; whole numbers and dates with their datatype); anything else is Unwritable."""
    if lang is not None and (datatype is not None or not _LANGUAGE.match(lang)):
        raise Unwritable(f"language {lang!r} with datatype {datatype!r}")
    if type(value) is str and datatype is None:
        return value
    if type(value) is int and datatype is not None and lang is None:
        return str(value)
    if type(value) is dt.date and datatype == f"<{_XSD_DATE}>":
        return value.isoformat()
    if type(value) is str and datatype == f"<{_XSD_HEX_BINARY}>" and re.fullmatch(r"(?:[0-9a-f]{2})*", value):
        return value  # a checksum's lower-case hex digits, as rdflib keeps them
    raise Unwritable(f"a {type(value).__name__} literal with datatype {datatype!r}")


_XSD_DATE = "http://www.w3.org/2001/XMLSchema#date"
_XSD_HEX_BINARY = "http://www.w3.org/2001/XMLSchema#hexBinary"


def _text_vocabulary(base: str) -> SimpleNamespace:
    page = _TextPage()
    return SimpleNamespace(**vars(_shared_text_vocabulary(base)), URIRef=page.iri, BNode=page.blank,
                           Literal=page.literal, Namespace=str, shared=set(), json_of=page.json_of)


class _Triples:
    """The text writer's sink: the page's triples in the order added, each once (a graph is a set)."""

    def __init__(self) -> None:
        self.triples: dict[tuple[str, str, str], None] = {}

    def add(self, triple: tuple[str, str, str]) -> None:
        self.triples[triple] = None

    def bind(self, prefix: str, namespace: str) -> None:
        """N-Triples and expanded JSON-LD name every IRI in full: no prefixes."""

    def n_triples(self) -> str:
        return "".join(f"{s} {p} {o} .\n" for s, p, o in self.triples)

    def json_ld(self, rdf_type: str, json_of: dict[str, dict[str, str]]) -> str:
        """Expanded JSON-LD: one node object per subject, its types under ``@type``, each property's values
        as ``{"@id": ...}`` (an IRI or a blank node) or the literal's value object."""
        nodes: dict[str, dict[str, Any]] = {}
        for s, p, o in self.triples:
            node = nodes.get(s)
            if node is None:
                node = nodes[s] = {"@id": s[1:-1] if s[0] == "<" else s}
            if p == rdf_type and o[0] == "<":
                node.setdefault("@type", []).append(o[1:-1])
                continue
            value = {"@id": o[1:-1]} if o[0] == "<" else {"@id": o} if o[0] == "_" else json_of[o]
            node.setdefault(p[1:-1], []).append(value)
        return json.dumps(list(nodes.values()), ensure_ascii=False, separators=(",", ":"))


# The pages handed over to rdflib, by reason (a fast path hands over to the one path logged and counted)
_HANDED_OVER: collections.Counter[str] = collections.Counter()
_handed_over_lock = threading.Lock()


def _note_handed_over(reason: str) -> None:
    with _handed_over_lock:
        _HANDED_OVER[reason] += 1
    log.info("DCAT feed: the text writer handed a page to rdflib (%s)", reason, extra={"dcat_handed_over": reason})


def handed_over() -> int:
    """How many pages the text writer handed over to rdflib in this process."""
    with _handed_over_lock:
        return sum(_HANDED_OVER.values())


# --- the builder ---------------------------------------------------------------------------------------

def _bind_prefixes(g: Any, v: SimpleNamespace, base: str) -> None:
    """The prefixes a written page uses (Turtle, JSON-LD)."""
    for prefix, ns in (("dcat", v.DCAT), ("dct", v.DCTERMS), ("foaf", v.FOAF), ("vcard", v.VCARD), ("skos", v.SKOS),
                       ("hydra", v.HYDRA), ("renkei", v.RENKEI), ("spdx", v.SPDX), ("ds", v.Namespace(f"{base}{paths.prefix('dataset')}")),
                       ("place", v.Namespace(f"{base}{paths.prefix('place')}")),
                       ("dist", v.Namespace(f"{base}{paths.prefix('distribution')}")),
                       ("provider", v.Namespace(f"{base}{paths.prefix('provider')}")),
                       ("theme", v.Namespace(f"{base}{paths.prefix('theme')}")),
                       ("standard", v.Namespace(f"{base}{paths.prefix('standard')}")),
                       ("freq", v.Namespace("http://publications.europa.eu/resource/authority/frequency/")),
                       ("access", v.Namespace("http://publications.europa.eu/resource/authority/access-right/")),
                       ("filetype", v.Namespace(iris.EU_FILE_TYPE)), ("lang", v.Namespace(iris.EU_LANGUAGE))):
        g.bind(prefix, ns)


def _add_catalogue(g: Any, v: SimpleNamespace, info: CatalogueInfo, base: str) -> tuple[Any, Any]:
    """The catalogue (titles, description, publisher) and its theme scheme; returns both nodes."""
    catalogue = v.URIRef(iris.catalogue_iri(base))
    g.add((catalogue, v.RDF.type, v.DCAT.Catalog))
    g.add((catalogue, v.DCTERMS.title, v.Literal(info.title_ja, lang="ja")))
    g.add((catalogue, v.DCTERMS.title, v.Literal(info.title_en, lang="en")))
    g.add((catalogue, v.DCTERMS.description, v.Literal(info.description_ja, lang="ja")))
    g.add((catalogue, v.DCTERMS.language, _japanese(g, v)))
    publisher = v.URIRef(iris.catalogue_publisher_iri(base))
    g.add((catalogue, v.DCTERMS.publisher, publisher))
    g.add((publisher, v.RDF.type, v.FOAF.Agent))
    g.add((publisher, v.FOAF.name, v.Literal(info.publisher_ja, lang="ja")))
    scheme = v.URIRef(iris.themes_iri(base))
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

    def at(start: int) -> Any:
        return v.URIRef(page_address(page_url, start, page.rows))
    g.add((view, v.HYDRA.first, at(0)))
    if page.rows and page.start + page.rows < page.total:
        g.add((view, v.HYDRA.next, at(page.start + page.rows)))
    if page.start > 0 and page.rows:
        g.add((view, v.HYDRA.previous, at(max(0, page.start - page.rows))))
    if page.rows:
        g.add((view, v.HYDRA.last, at(max(0, (page.total - 1) // page.rows * page.rows))))


def page_address(page_url: str, start: int, rows: int) -> str:
    """``page_url`` (a page of the feed) with ``start`` and ``rows`` set, its other parameters kept."""
    parts = urlsplit(page_url)
    kept = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in ("start", "rows")]
    return urlunsplit(parts._replace(query=urlencode([*kept, ("start", start), ("rows", rows)])))


def _add_dataset(g: Any, v: SimpleNamespace, base: str, catalogue: Any, scheme: Any, entry: Any, agents: set[Any]) -> None:
    """One dataset: its texts and landing page, its provider (once per page, in ``agents``), its
    contact, licence and access, dates and keywords, theme and standard, terms, distributions."""
    d = entry.dataset
    node = v.URIRef(iris.dataset_iri(base, d.uid))
    g.add((catalogue, v.DCAT.dataset, node))
    g.add((node, v.RDF.type, v.DCAT.Dataset))
    g.add((node, v.DCTERMS.identifier, v.Literal(d.uid)))
    g.add((node, v.DCTERMS.title, v.Literal(d.title_ja, lang="ja")))
    if d.title_en:
        g.add((node, v.DCTERMS.title, v.Literal(d.title_en, lang="en")))
    if d.description.strip():
        g.add((node, v.DCTERMS.description, v.Literal(d.description, lang="ja")))
    landing = _document(g, v, v.URIRef(iris.landing_page(base, d.name)))
    g.add((landing, v.RDF.type, v.FOAF.Document))
    g.add((node, v.DCAT.landingPage, landing))
    g.add((node, v.DCTERMS.language, _japanese(g, v)))
    agent = add_provider(g, v, base, entry.provider, agents)
    g.add((node, v.DCTERMS.publisher, agent))
    place = iris.place_of(entry.provider)
    if place is not None:
        g.add((node, v.DCTERMS.spatial, v.URIRef(iris.place_iri(base, place))))
    _add_contact(g, v, node, entry)
    licence_uri = _add_licence_and_access(g, v, base, node, entry)
    _add_dates_and_keywords(g, v, node, d)
    _add_theme_and_standard(g, v, base, scheme, node, entry)
    kind = standards.kind_of(d.standard_kind)
    g.add((node, v.RENKEI.responsibility, v.Literal(responsibility_text(d), lang="ja")))
    rights_statement = _add_terms(g, v, base, node, entry)
    verdict = entry.verdict() if kind is not None else None
    for index, dist in enumerate(entry.distributions):
        _add_distribution(g, v, base, node, d.uid, index, dist, licence_uri, rights_statement,
                          checked=verdict is not None and verdict.index == index)
        if verdict is not None and verdict.index == index:
            _add_checked_file(g, v, base, v.URIRef(iris.distribution_iri(base, d.uid, index)), kind, verdict)


def _add_dates_and_keywords(g: Any, v: SimpleNamespace, node: Any, d: Any) -> None:
    """The dataset's last update and publication days (those it has) and its keywords."""
    if d.last_updated_on:
        g.add((node, v.DCTERMS.modified, v.Literal(d.last_updated_on, datatype=v.XSD.date)))
    if d.published_at:
        g.add((node, v.DCTERMS.issued, v.Literal(d.published_at.date(), datatype=v.XSD.date)))
    for keyword in d.keyword_list:
        g.add((node, v.DCAT.keyword, v.Literal(keyword, lang="ja")))


def add_provider(g: Any, v: SimpleNamespace, base: str, provider: Any, agents: set[Any]) -> Any:
    """A provider as an agent (once per page, in ``agents``), with its place when it is a local government."""
    agent = v.URIRef(iris.provider_iri(base, provider.code))
    if agent not in agents:
        agents.add(agent)
        g.add((agent, v.RDF.type, v.FOAF.Agent))
        g.add((agent, v.FOAF.name, v.Literal(provider.name_ja, lang="ja")))
        place = iris.place_of(provider)
        if place is not None:
            add_place(g, v, base, place, provider.name_ja)
    return agent


def add_place(g: Any, v: SimpleNamespace, base: str, code: str, name_ja: str) -> Any:
    """A local government's area (``dct:Location``), named by its 全国地方公共団体コード."""
    place = v.URIRef(iris.place_iri(base, code))
    _add_shared(g, v, (place, v.RDF.type, v.DCTERMS.Location),
                (place, v.SKOS.prefLabel, v.Literal(name_ja, lang="ja")),
                (place, v.DCTERMS.identifier, v.Literal(code)))
    return place


def _japanese(g: Any, v: SimpleNamespace) -> Any:
    language = v.URIRef(iris.JAPANESE)
    _add_shared(g, v, (language, v.RDF.type, v.DCTERMS.LinguisticSystem))
    return language


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
        phone = iris.telephone(d.contact_phone)
        if phone is not None:  # only as an RFC 3966 global number
            g.add((contact, v.VCARD.hasTelephone, v.URIRef(phone)))


def _add_licence_and_access(g: Any, v: SimpleNamespace, base: str, node: Any, entry: Any) -> Any:
    """The licence (its own address, or the catalogue's page of it), the EU access right and
    update frequency; returns the licence's node (its distributions carry it too)."""
    d = entry.dataset
    licence_uri = v.URIRef(entry.licence.url) if entry.licence and entry.licence.url else \
        v.URIRef(base + licence_page_path(d.licence_code))
    _add_shared(g, v, (licence_uri, v.RDF.type, v.DCTERMS.LicenseDocument))
    if entry.licence:
        _add_shared(g, v, (licence_uri, v.RDFS.label, v.Literal(entry.licence.title_ja, lang="ja")))
        if entry.licence.title_en:
            _add_shared(g, v, (licence_uri, v.RDFS.label, v.Literal(entry.licence.title_en, lang="en")))
    g.add((node, v.DCTERMS.license, licence_uri))
    rights = v.URIRef(f"http://publications.europa.eu/resource/authority/access-right/{EU_ACCESS[Access(d.access)]}")
    _add_shared(g, v, (rights, v.RDF.type, v.DCTERMS.RightsStatement))
    g.add((node, v.DCTERMS.accessRights, rights))
    frequency = v.URIRef(f"http://publications.europa.eu/resource/authority/frequency/{EU_FREQUENCY[Frequency(d.frequency)]}")
    _add_shared(g, v, (frequency, v.RDF.type, v.DCTERMS.Frequency))
    g.add((node, v.DCTERMS.accrualPeriodicity, frequency))
    return licence_uri


def _add_theme_and_standard(g: Any, v: SimpleNamespace, base: str, scheme: Any, node: Any, entry: Any) -> None:
    """The dataset's category as a theme of the scheme, and the standard it follows: ``dct:conformsTo`` only
    when its latest verdict is 準拠 (:func:`linked_data.conforms`); its check's result whenever it was checked."""
    d = entry.dataset
    if entry.category is not None:
        theme = v.URIRef(iris.theme_iri(base, entry.category.code))
        _add_shared(g, v, (theme, v.RDF.type, v.SKOS.Concept),
                    (theme, v.SKOS.prefLabel, v.Literal(entry.category.label_ja, lang="ja")),
                    (theme, v.SKOS.inScheme, scheme))
        g.add((node, v.DCAT.theme, theme))
    kind = standards.kind_of(d.standard_kind)
    if kind is not None:
        if iris.conforms(d):
            g.add((node, v.DCTERMS.conformsTo, conformed_standard(g, v, base, kind, entry.verdict())))
        # the dataset's one state, as its page and CKAN's extras say it (更新期限切れ before its verdict): once checked
        # or overdue; dct:conformsTo above still follows the verdict on its file
        state = conformance_state(d)
        if state.state not in ("", UNCHECKED):
            ja, en = state.label
            g.add((node, v.RENKEI.conformance, v.Literal(ja, lang="ja")))
            g.add((node, v.RENKEI.conformance, v.Literal(en, lang="en")))


def add_standard(g: Any, v: SimpleNamespace, base: str, kind: Any, *, with_schema: bool = False) -> Any:
    """A standard kind (``dct:Standard``): its titles; ``with_schema``, its published Table Schema too (the
    standard's own description: the feed names the standard, whose IRI answers with that link)."""
    standard = v.URIRef(iris.standard_iri(base, kind.code))
    _add_shared(g, v, (standard, v.RDF.type, v.DCTERMS.Standard),
                (standard, v.DCTERMS.title, v.Literal(kind.title_ja, lang="ja")),
                (standard, v.DCTERMS.title, v.Literal(kind.title_en, lang="en")))
    if with_schema:
        g.add((standard, v.RDFS.seeAlso, v.URIRef(iris.schema_url(base, kind.code))))
    return standard


def conformed_standard(g: Any, v: SimpleNamespace, base: str, kind: Any, verdict: Any) -> Any:
    """What a conforming dataset (and its checked distribution) ``dct:conformsTo``: the version of the standard
    its file met (:func:`add_standard_version`), or the kind itself when its verdict names no version renkei
    publishes (a verdict given before versions were recorded, or its distribution withheld)."""
    if verdict is not None and verdict.version is not None:
        return add_standard_version(g, v, base, kind, verdict.version)
    return add_standard(g, v, base, kind)


def add_standard_version(g: Any, v: SimpleNamespace, base: str, kind: Any, version: Any) -> Any:
    """One version of a standard kind (``dct:Standard``): its IRI is the address of that version's published
    Table Schema (:func:`linked_data.schema_url`, which answers the schema to a validator and this description
    to a page or RDF reader), titled by the kind and the version, a version of the kind (``dct:isVersionOf``)."""
    node = v.URIRef(iris.schema_url(base, kind.code, version.key))
    title_ja, title_en = kind.version_titles(version)
    _add_shared(g, v, (node, v.RDF.type, v.DCTERMS.Standard),
                (node, v.DCTERMS.title, v.Literal(title_ja, lang="ja")),
                (node, v.DCTERMS.title, v.Literal(title_en, lang="en")),
                (node, v.OWL.versionInfo, v.Literal(version.label_ja)),
                (node, v.DCTERMS.isVersionOf, add_standard(g, v, base, kind)))
    return node


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
                      licence_uri: Any, rights_statement: Any, checked: bool = False) -> None:
    """One distribution: its addresses (a download address unless it is an API), title, format,
    media type, size (the provider's, unless renkei ``checked`` its file: :func:`_add_checked_file` gives
    that file's), and the dataset's licence and terms."""
    # one namespace for every distribution (a namespace per dataset makes Turtle's writer slow)
    dnode = v.URIRef(iris.distribution_iri(base, uid, index))
    g.add((node, v.DCAT.distribution, dnode))
    g.add((dnode, v.RDF.type, v.DCAT.Distribution))
    g.add((dnode, v.DCAT.accessURL, _document(g, v, v.URIRef(dist.url))))
    if not dist.is_api:
        g.add((dnode, v.DCAT.downloadURL, _document(g, v, v.URIRef(dist.url))))
    if dist.title:
        g.add((dnode, v.DCTERMS.title, v.Literal(dist.title, lang="ja")))
    file_type = iris.file_type(dist.format, dist.media_type)
    if file_type is not None:  # from the EU file-type table; a format it does not know is left out
        fmt = v.URIRef(file_type)
        _add_shared(g, v, (fmt, v.RDF.type, v.DCTERMS.MediaTypeOrExtent))
        g.add((dnode, v.DCTERMS.format, fmt))
    if dist.media_type:
        media = v.URIRef(f"https://www.iana.org/assignments/media-types/{dist.media_type}")
        _add_shared(g, v, (media, v.RDF.type, v.DCTERMS.MediaType))
        g.add((dnode, v.DCAT.mediaType, media))
    if dist.byte_size is not None and not checked:
        g.add((dnode, v.DCAT.byteSize, v.Literal(dist.byte_size, datatype=v.XSD.nonNegativeInteger)))
    g.add((dnode, v.DCTERMS.license, licence_uri))
    if rights_statement is not None:
        g.add((dnode, v.DCTERMS.rights, rights_statement))


def _add_checked_file(g: Any, v: SimpleNamespace, base: str, dnode: Any, kind: Any, verdict: Any) -> None:
    """The file renkei checked as this distribution (its verdict, :func:`catalogue.catalogue.verdict_of`):
    its SHA-256 as DCAT-AP 3 writes a checksum (``spdx:checksum``), its size (``dcat:byteSize``) and data rows
    (``renkei:rowCount``); a conforming one ``dct:conformsTo`` the version of the standard it met."""
    checksum = v.BNode()
    sha256 = v.URIRef(SPDX_NAMESPACE + "checksumAlgorithm_sha256")
    _add_shared(g, v, (sha256, v.RDF.type, v.SPDX.ChecksumAlgorithm))
    g.add((dnode, v.SPDX.checksum, checksum))
    g.add((checksum, v.RDF.type, v.SPDX.Checksum))
    g.add((checksum, v.SPDX.algorithm, sha256))
    g.add((checksum, v.SPDX.checksumValue, v.Literal(verdict.sha256, datatype=v.XSD.hexBinary)))
    g.add((dnode, v.DCAT.byteSize, v.Literal(verdict.byte_size, datatype=v.XSD.nonNegativeInteger)))
    g.add((dnode, v.RENKEI.rowCount, v.Literal(verdict.row_count, datatype=v.XSD.nonNegativeInteger)))
    if verdict.conformant:
        g.add((dnode, v.DCTERMS.conformsTo, conformed_standard(g, v, base, kind, verdict)))


def _document(g: Any, v: SimpleNamespace, uri: Any) -> Any:
    _add_shared(g, v, (uri, v.RDF.type, v.RDFS.Resource))  # DCAT-AP's shapes ask the class of an address explicitly
    return uri
