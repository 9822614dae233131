"""DCAT a harvester can trust (issue 37, item 4): conformsTo only for 準拠, every IRI renkei mints answers
as a page and as RDF, the EU vocabularies' own terms, RFC 3966 telephones, a stable namespace."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.datasets.conftest import KUMAMOTO_ADMIN, draft
from tests.datasets.test_dcat import conforms, shapes_file
from tests.datasets.test_register import AED_BAD, AED_GOOD

EU = json.loads((Path(__file__).parent / "eu_authority_subsets.json").read_text(encoding="utf-8"))
RDF_TYPES = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/rdf+xml": "xml"}


@pytest.fixture(scope="module")
def shapes():
    from rdflib import Graph

    return Graph().parse(shapes_file())


def parsed(response, rdf_format: str):
    from rdflib import Graph

    with warnings.catch_warnings():  # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph
        warnings.simplefilter("ignore", DeprecationWarning)
        return Graph().parse(data=response.get_data(as_text=True), format=rdf_format)


def base_of(graph) -> str:
    from rdflib.namespace import DCAT, RDF

    return str(next(graph.subjects(RDF.type, DCAT.Catalog))).removesuffix("/catalogue")


def publish_all(db) -> None:
    from catalogue.models import Dataset, DatasetStatus

    db.execute(sa.update(Dataset).values(status=DatasetStatus.published))
    db.commit()


def test_an_overdue_dataset_says_so_in_rdf_as_on_its_page_and_in_ckan(checked_aeds, client, db, shapes):
    """Renkei issue 54 item 6: one answer per dataset in every form; its file still conforms (dct:conformsTo)."""
    from rdflib import URIRef
    from rdflib.namespace import DCTERMS

    from catalogue.models import Dataset

    db.execute(sa.update(Dataset).where(Dataset.uid == checked_aeds["good"])
               .values(frequency="yearly", last_updated_on=dt.date(2020, 4, 1)))
    db.commit()
    graph = parsed(client.get("/catalog.ttl"), "turtle")
    node = next(s for s in graph.subjects(DCTERMS.conformsTo, None) if str(s).endswith(checked_aeds["good"]))
    said = {(o.language, str(o)) for o in graph.objects(node, URIRef("https://w3id.org/renkei/ns#conformance"))}
    assert said == {("ja", "更新期限切れ"), ("en", "Overdue")}
    name = db.scalar(sa.select(Dataset.name).where(Dataset.uid == checked_aeds["good"]))
    shown = client.get(f"/api/3/action/package_show?id={name}").get_json()["result"]
    assert {e["key"]: e["value"] for e in shown["extras"]}["conformance"] == "更新期限切れ"
    ok, text = conforms(graph, shapes)
    assert ok, text


@pytest.fixture
def checked_aeds(db, providers):
    """Three AED datasets of 熊本市, published and updated today: one checked 準拠, one 不適合, one never checked."""
    from catalogue import file_checks, operations
    from core.calendar import today_jst

    today = today_jst()
    good = operations.register(db, KUMAMOTO_ADMIN, draft(name="aed-good", last_updated_on=today))
    bad = operations.register(db, KUMAMOTO_ADMIN, draft(name="aed-bad", last_updated_on=today))
    unchecked = operations.register(db, KUMAMOTO_ADMIN, draft(name="aed-unchecked", last_updated_on=today))
    assert file_checks.check_file(db, KUMAMOTO_ADMIN, good.uid, "aed.csv", AED_GOOD.encode()).conformant
    assert not file_checks.check_file(db, KUMAMOTO_ADMIN, bad.uid, "aed.csv", AED_BAD.encode()).conformant
    publish_all(db)
    return {"good": good.uid, "bad": bad.uid, "unchecked": unchecked.uid}


def test_conforms_to_is_said_only_of_a_dataset_whose_latest_verdict_is_conformant(checked_aeds, client, shapes):
    from rdflib import URIRef
    from rdflib.namespace import DCTERMS, RDFS

    graph = parsed(client.get("/catalog.ttl"), "turtle")
    base = base_of(graph)
    said = {str(s).rsplit("/", 1)[1]: str(o) for s, o in graph.subject_objects(DCTERMS.conformsTo)}
    # the dataset and its checked distribution conform to the version its file met (AED_GOOD: the older names),
    # named by that version's own schema, a version of the standard kind titled by the version
    older = f"{base}/standards/aed/older/schema.json"
    assert said == {checked_aeds["good"]: older, f"{checked_aeds['good']}-1": older}
    assert {str(t) for t in graph.objects(URIRef(older), DCTERMS.title)} == {
        "AED設置箇所一覧（推奨データセット）", "AED locations (Recommended dataset, the older item names)"}
    assert str(graph.value(URIRef(older), DCTERMS.isVersionOf)) == f"{base}/catalogue/standards/aed"
    renkei = "https://w3id.org/renkei/ns#"
    verdicts = {str(s).rsplit("/", 1)[1]: str(o) for s, o in graph.subject_objects(URIRef(renkei + "conformance"))
                if o.language == "ja"}
    assert verdicts == {checked_aeds["good"]: "準拠", checked_aeds["bad"]: "不適合（2 件）"}
    ok, text = conforms(graph, shapes)
    assert ok, text

    assert {str(o) for o in graph.objects(None, URIRef(renkei + "conformance")) if o.language == "en"} == {
        "Conformant", "Not conformant (2 problems)"}

    # the standard's IRI is a page for people and RDF that links the published definition, which answers
    page = client.get("/catalogue/standards/aed", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "AED設置箇所一覧" in page.get_data(as_text=True)
    standard = parsed(client.get("/catalogue/standards/aed", headers={"Accept": "text/turtle"}), "turtle")
    schema = standard.value(URIRef(f"{base}/catalogue/standards/aed"), RDFS.seeAlso)
    assert str(schema) == f"{base}/standards/aed/schema.json"  # the published Table Schema (standards.schema_path)
    descriptor = client.get("/standards/aed/schema.json").get_json()
    assert "設置位置" in [field["name"] for field in descriptor["fields"]]
    assert client.get("/catalogue/standards/no-such-kind").status_code == 404


def test_every_iri_the_feed_mints_answers_as_a_page_and_as_rdf(sample_catalogue, checked_aeds, client, shapes):
    """Asked by content negotiation at /catalog, the feed's IRIs under renkei's address (datasets, their
    landing pages, distributions, publishers, places, themes, standards, licences, the paging links) each
    answer 200 as HTML and as Turtle, JSON-LD and RDF/XML."""
    response = client.get("/catalog?rows=200", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    graph = parsed(response, "turtle")
    ok, text = conforms(graph, shapes)
    assert ok, text
    kinds = every_iri_answers(client, graph)
    assert {"datasets", "distributions", "providers", "places", "themes", "standards", "publisher"} <= kinds


def test_a_signed_in_reader_dereferences_the_iris_of_the_datasets_it_may_see(sample_catalogue, client):
    """The operator's feed holds the limited datasets and the rights statements of their own terms: those
    answer too, as a page and as RDF, for that reader (and not for an anonymous one)."""
    from tests.conftest import sign_in

    sign_in(client)
    graph = parsed(client.get("/catalog?rows=200", headers={"Accept": "text/turtle"}), "turtle")
    terms = [str(node) for node in graph.all_nodes() if "/terms?version=" in str(node)]
    assert terms  # the limited dataset's own terms are in this reader's feed
    every_iri_answers(client, graph)
    terms = terms[0]
    page = client.get(terms[len(base_of(graph)):], headers={"Accept": "text/html"})
    assert "【サンプル】" in page.get_data(as_text=True)
    anonymous = client.application.test_client()
    assert anonymous.get(terms[len(base_of(graph)):], headers={"Accept": "text/html"}).status_code == 404


def every_iri_answers(client, graph) -> set[str]:
    """Each IRI of ``graph`` under renkei's address answers 200 as HTML and as Turtle, JSON-LD and RDF/XML;
    returns the kinds of address seen (datasets, providers …)."""
    base = base_of(graph)
    minted = sorted({str(term) for triple in graph for term in (triple[0], triple[2]) if str(term).startswith(base + "/")})
    for iri in minted:
        path = iri[len(base):]
        page = client.get(path, headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
        assert (page.status_code, page.mimetype) == (200, "text/html"), path
        for media, rdf_format in RDF_TYPES.items():
            answer = client.get(path, headers={"Accept": media})
            assert (answer.status_code, answer.mimetype) == (200, media), (path, media)
            assert len(parsed(answer, rdf_format)) > 0, (path, media)
    return {iri[len(base):].split("/")[2] if iri.count("/") > 3 else iri[len(base):] for iri in minted}


def test_the_feed_is_offered_as_rdf_xml_and_by_content_negotiation(sample_catalogue, client, shapes):
    from rdflib.compare import isomorphic

    def unpaged(graph):  # the page without its paging links (which name the page's own address)
        from rdflib import Graph, Namespace

        hydra, kept = Namespace("http://www.w3.org/ns/hydra/core#"), Graph()
        for s, p, o in graph:
            if not str(p).startswith(str(hydra)) and not str(s).startswith(base_of(graph) + "/catalog."):
                kept.add((s, p, o))
        return kept

    turtle = parsed(client.get("/catalog.ttl?rows=20"), "turtle")
    xml = client.get("/catalog.rdf?rows=20")
    assert xml.mimetype == "application/rdf+xml"
    assert isomorphic(unpaged(parsed(xml, "xml")), unpaged(turtle))
    for media, rdf_format in RDF_TYPES.items():
        answer = client.get("/catalog?rows=20", headers={"Accept": media})
        assert answer.mimetype == media and "Accept" in answer.headers["Vary"]
        graph = parsed(answer, rdf_format)
        ok, text = conforms(graph, shapes)
        assert ok, text
        assert len(graph) > 0.9 * len(turtle)  # the same page (its paging links name /catalog)
    page = client.get("/catalog", headers={"Accept": "text/html"})
    assert page.mimetype == "text/html" and "AED設置箇所一覧" in page.get_data(as_text=True)
    assert client.get("/catalog", headers={"Accept": "image/png"}).status_code == 406


def test_format_frequency_access_and_language_are_members_of_the_eu_vocabularies(sample_catalogue, db, operator, client):
    """Every value of the four is a concept of its EU table; a format the mapping table does not know (その他)
    is left out, and a shapefile named as providers write it is the table's SHP."""
    from rdflib.namespace import DCAT, DCTERMS

    from catalogue import operations
    from catalogue.operations import DistributionDraft

    operations.register(db, operator, draft(name="shapes", standard_kind="", distributions=(
        DistributionDraft(url="https://data.example.jp/a.zip", format="Shapefile"),
        DistributionDraft(url="https://data.example.jp/b.bin", format="その他"))))
    publish_all(db)
    graph = parsed(client.get("/catalog.ttl?rows=200"), "turtle")
    for prop, table in ((DCTERMS["format"], "file-type"), (DCTERMS.accrualPeriodicity, "frequency"),
                        (DCTERMS.accessRights, "access-right"), (DCTERMS.language, "language")):
        values = {str(o) for o in graph.objects(None, prop)}
        known = {EU[table]["namespace"] + code for code in EU[table]["codes"]}
        assert values and values <= known, (table, values - known)
    formats = {str(o).rsplit("/", 1)[1] for o in graph.objects(None, DCTERMS["format"])}
    assert {"CSV", "GEOJSON", "GTFS", "SHP"} <= formats
    distributions = set(graph.subjects(DCAT.downloadURL, None))
    without = [d for d in distributions if graph.value(d, DCTERMS["format"]) is None]
    assert [str(graph.value(d, DCAT.downloadURL)) for d in without] == ["https://data.example.jp/b.bin"]
    datasets = set(graph.subjects(DCAT.landingPage, None))
    assert all(graph.value(d, DCTERMS.language) is not None for d in datasets)


def test_a_municipalitys_dataset_names_its_place_landing_page_and_telephone(sample_catalogue, client):
    from rdflib import URIRef
    from rdflib.namespace import DCAT, DCTERMS, RDF

    graph = parsed(client.get("/catalog.ttl?rows=200"), "turtle")
    base = base_of(graph)
    aed = next(s for s in graph.subjects(RDF.type, DCAT.Dataset)
               if str(graph.value(s, DCAT.landingPage)).endswith("/kumamoto-city-aed"))
    place = graph.value(aed, DCTERMS.spatial)
    assert place == URIRef(f"{base}/catalogue/places/431001")
    assert str(graph.value(place, DCTERMS.identifier)) == "431001"
    landing = client.get(str(graph.value(aed, DCAT.landingPage))[len(base):], headers={"Accept": "text/html"})
    assert landing.mimetype == "text/html" and "AED設置箇所一覧" in landing.get_data(as_text=True)
    phones = {str(o) for o in graph.objects(None, URIRef("http://www.w3.org/2006/vcard/ns#hasTelephone"))}
    assert phones == {"tel:+81-96-000-0000"}  # the sample's 096-000-0000, as an RFC 3966 global number
    predicates = {str(p) for p in graph.predicates()}
    assert not [p for p in predicates if p.startswith(base)]  # no term is built from the deployment's address
    assert "https://w3id.org/renkei/ns#responsibility" in predicates


@pytest.mark.parametrize("written, global_number", [
    ("096-000-0000", "tel:+81-96-000-0000"), ("0963331111", "tel:+81-963331111"),
    ("(096) 333-1111", "tel:+81-96-333-1111"), ("090-1234-5678", "tel:+81-90-1234-5678"),
    ("０９６－３３３－１１１１", "tel:+81-96-333-1111"), ("+81-96-333-1111", "tel:+81-96-333-1111"),
    ("333-1111", None), ("内線 123", None), ("", None), ("00-1234", None)])
def test_telephone_numbers_are_written_as_rfc_3966_global_numbers(written, global_number):
    from catalogue.linked_data import telephone

    assert telephone(written) == global_number


def test_unpublished_unknown_and_withheld_entries_are_a_404_problem(sample_catalogue, db, providers, client, operator):
    from catalogue import operations

    drafted = operations.register(db, operator, draft(name="still-a-draft"))
    db.commit()
    members_only = next(d for d in sample_catalogue if d.access == "members")
    for path in (f"/catalogue/datasets/{drafted.uid}", "/catalogue/datasets/still-a-draft",
                 f"/catalogue/distributions/{drafted.uid}-1", f"/catalogue/datasets/{members_only.uid}",
                 "/catalogue/datasets/no-such-dataset", "/catalogue/providers/999999", "/catalogue/places/431002",
                 "/catalogue/themes/no-such-theme", "/catalogue/licences/no-such-licence",
                 f"/catalogue/distributions/{sample_catalogue[0].uid}-9"):
        for accept in ("text/html", "text/turtle"):
            answer = client.get(path, headers={"Accept": accept})
            assert (answer.status_code, answer.mimetype) == (404, "application/problem+json"), (path, accept)
            assert answer.get_json()["detail_ja"]


@pytest.mark.parametrize("path", ["/catalogue/datasets/%00", "/catalogue/datasets/" + "a" * 5000, "/catalogue/providers/４３１００１",
                                  "/catalogue/distributions/x-99999999999", "/catalogue/distributions/-1",
                                  "/catalogue/places/abc", "/catalogue/standards/%E3%81", "/catalog?rows=0",
                                  "/catalog?start=-1", "/catalog?rows=abc", "/catalogue/themes?format=bogus",
                                  "/catalogue/publisher?format=", "/catalogue/themes/%00"])
def test_odd_addresses_are_a_problem_never_a_500(sample_catalogue, client, path):
    answer = client.get(path, headers={"Accept": "text/turtle"})
    assert answer.status_code in (400, 404, 406) and answer.mimetype == "application/problem+json", path
