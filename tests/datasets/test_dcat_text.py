"""The DCAT feed's text writer gives the graph rdflib builds (issue 22, the catalogue at national size).

``dcat.document`` writes a page from each term's N-Triples text (N-Triples for ``catalog.ttl``,
expanded JSON-LD for ``catalog.jsonld``) with the one builder ``dcat.graph`` runs with rdflib's
terms (the graph the DCAT-AP SHACL test reads). Hypothesis writes registers through the register's
own operations, with titles, descriptions, keywords, contacts, addresses, formats and media types
drawn from characters that test every escape (quotes, backslashes, line breaks, tabs, characters an
IRI may not hold, characters beyond the BMP), own terms of use, every access level, standard kinds
with and without a check, and asks pages of the feed as readers of each kind: the served text parsed
back is isomorphic to rdflib's graph, and no page was handed over to rdflib.
"""

from __future__ import annotations

import datetime as dt
import warnings

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.datasets.conftest import YATSUSHIRO_ADMIN, draft

BASE = "https://renkei.example.jp"
LINE = 'aZ避難"\\<>{}|^`%_ é𝄞\'#'
line_texts = st.text(alphabet=LINE, min_size=1, max_size=8).filter(str.strip)
texts = st.text(alphabet=LINE + "\n\r\t", max_size=10)
addresses = st.builds(lambda path: f"https://data.example.jp/{path}", st.text(alphabet='az|{}^`\\<>"%#?&=é', max_size=6))
emails = st.one_of(st.just(""), st.builds(lambda local: f"{local}@example.jp",
                                          st.text(alphabet="ab{}|^`~!#$%&'*+/=?", min_size=1, max_size=6)))
distributions = st.lists(st.builds(
    lambda url, fmt, media, size, api, title: (url, fmt, media, size, api, title), addresses,
    st.sampled_from(["CSV", "GeoJSON", "CSV file", "a|b", "", "xlsx"]),
    st.sampled_from(["text/csv", "", "application/geo+json", "text/csv; charset=utf-8"]),
    st.none() | st.integers(0, 10**12), st.booleans(), st.sampled_from(["", "全件", 'a"b\\c'])), max_size=2)
registers = st.lists(st.fixed_dictionaries({
    "title_ja": line_texts, "title_en": st.sampled_from(["", "AED locations"]), "description": texts,
    "keywords": st.lists(st.text(alphabet="aZ避難\"\\<>", min_size=1, max_size=4), max_size=3).map("、".join),
    "department": st.sampled_from(["", "消防局救急課", 'a"b']), "contact_email": emails,
    "contact_phone": st.sampled_from(["", "096-328-2111", "+81 96 328 2111"]),
    "licence_code": st.sampled_from(["CC-BY-4.0", "CC0-1.0", "PDL-1.0", "own-terms"]),
    "access": st.sampled_from(["open", "members", "named"]),
    "frequency": st.sampled_from(["realtime", "daily", "monthly", "yearly", "irregular"]),
    "standard_kind": st.sampled_from(["", "aed", "evacuation_space"]),
    "category_code": st.sampled_from(["disaster", "health_welfare", "other"]),
    "last_updated_on": st.none() | st.dates(dt.date(2019, 5, 1), dt.date(2026, 3, 31)),
    "responsibility_remark": st.sampled_from(["", "提供者の補足"]), "distributions": distributions,
    "conformant": st.none() | st.booleans(), "published": st.booleans(),
}), min_size=1, max_size=4)


def _register(db, operator, providers, specs):
    from catalogue import operations, terms
    from catalogue.models import Dataset, DatasetStatus
    from catalogue.operations import DistributionDraft

    for index, spec in enumerate(specs):
        fields = {k: v for k, v in spec.items() if k not in ("distributions", "conformant", "published")}
        dists = tuple(DistributionDraft(url=url, format=fmt, media_type=media, byte_size=size, is_api=api, title=title)
                      for url, fmt, media, size, api, title in spec["distributions"])
        dataset = operations.register(db, operator, draft(
            provider_code=providers[index % len(providers)], distributions=dists,
            grantees=("432024",) if spec["access"] == "named" else (), **fields))
        if spec["licence_code"] == "own-terms":
            terms.revise(db, operator, dataset.uid, "利用規約", "第1条 \"引用\" \\ と改行\n")
        if spec["published"]:
            db.execute(sa.update(Dataset).where(Dataset.id == dataset.id).values(
                status=DatasetStatus.published, published_at=dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc),
                conformant=spec["conformant"] if spec["standard_kind"] else None))
    db.commit()


def _parsed(text: bytes, rdf_format: str):
    from rdflib import Graph

    with warnings.catch_warnings():  # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph
        warnings.simplefilter("ignore", DeprecationWarning)
        return Graph().parse(data=text.decode("utf-8"), format=rdf_format)


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=registers, rows=st.integers(1, 5), start=st.integers(0, 4))
def test_the_written_feed_is_the_graph_rdflib_builds(db, operator, providers, specs, rows, start):
    from rdflib.compare import isomorphic

    from catalogue import catalogue, dcat

    _register(db, operator, providers, specs)
    info = catalogue.catalogue_info(db, BASE)
    handed_over = dcat.handed_over()
    for actor in (None, operator, YATSUSHIRO_ADMIN):
        page = catalogue.search(db, actor, sort="name asc", rows=rows, start=start)
        url = f"{BASE}/catalog.ttl?start={start}&rows={rows}"
        built = dcat.graph(info, page, page_url=url)
        for fmt, rdf_format in (("nt", "turtle"), ("json-ld", "json-ld")):
            written = _parsed(dcat.document(info, page, page_url=url, fmt=fmt), rdf_format)
            assert isomorphic(written, built), (fmt, sorted(set(written) ^ set(built))[:6])
    assert dcat.handed_over() == handed_over  # the writer knew every value: nothing went to rdflib


def test_a_value_the_writer_was_not_built_for_is_handed_over_to_rdflib(db, operator, providers):
    """A literal of a kind the text writer does not know (here a date that is a datetime) makes it hand the
    page to rdflib's serialiser: rdflib's answer (the same graph as rdflib writes and reads it), counted."""
    from rdflib.compare import isomorphic

    from catalogue import catalogue, dcat, operations
    from catalogue.models import Dataset, DatasetStatus

    operations.register(db, operator, draft(title_ja="AED設置箇所一覧"))
    db.execute(sa.update(Dataset).values(status=DatasetStatus.published))
    db.commit()
    info, url = catalogue.catalogue_info(db, BASE), f"{BASE}/catalog.ttl?start=0&rows=10"
    page = catalogue.search(db, None, rows=10)
    page.entries[0].dataset.last_updated_on = dt.datetime(2026, 4, 1, 9, 0)  # not a date: not built for it
    before = dcat.handed_over()
    for fmt in ("nt", "json-ld"):
        written = _parsed(dcat.document(info, page, page_url=url, fmt=fmt), fmt)
        assert isomorphic(written, _parsed(dcat.graph(info, page, page_url=url).serialize(format=fmt, encoding="utf-8"), fmt))
    assert dcat.handed_over() == before + 2
    db.rollback()
