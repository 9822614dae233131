"""The version met, published, and a verdict bound to the distribution's file (issue 54 items 1 and 2): the feed's
dct:conformsTo names the schema of the version the file met, and frictionless against that schema agrees with renkei;
the distribution carries the checksum, size and rows of the file renkei checked as it; a file checked on its own (a
1-row excerpt) never becomes the dataset's verdict."""

from __future__ import annotations

import hashlib
import html
import io

import pytest
import sqlalchemy as sa

from tests.conftest import sign_in
from tests.datasets.conftest import KUMAMOTO_ADMIN, draft
from tests.datasets.test_dcat_linked import base_of, parsed, publish_all
from tests.datasets.test_standards import AED_TODAY, aed_older, as_csv

SPDX = "http://spdx.org/rdf/terms#"
ROW_COUNT = "https://w3id.org/renkei/ns#rowCount"
AED_HEADER = "名称,名称_カナ,住所,緯度,経度,設置位置\n"  # the older 推奨データセット names


def aed_rows(count: int, *, latitude: str = "32.80") -> bytes:
    """An AED list of ``count`` rows under the older names (``latitude``: every row's)."""
    rows = "".join(f"AED設置場所{n},エーイーディーセッチバショ,熊本市中央区手取本町{n}-1,{latitude},130.70,1階受付\n"
                   for n in range(1, count + 1))
    return (AED_HEADER + rows).encode("utf-8")


def frictionless_valid(client, path: str, raw: bytes) -> bool:
    """frictionless's verdict on ``raw`` against the schema served at ``path`` (as a validator asks it: no
    preference) and the checklist published beside it."""
    from frictionless import Checklist, Resource, Schema

    answer = client.get(path)
    assert answer.status_code == 200 and answer.mimetype == "application/json", path
    schema = Schema.from_descriptor(answer.get_json())
    checklist = Checklist.from_descriptor(client.get(path.replace("schema.json", "checklist.json")).get_json())
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    return Resource(data=raw, format="csv", encoding=encoding, schema=schema).validate(checklist).valid


def distribution_file(graph, node):
    """The checked distribution of the dataset ``node``: its checksum (algorithm, value), size and rows."""
    from rdflib import URIRef
    from rdflib.namespace import DCAT

    for dist in graph.objects(node, DCAT.distribution):
        checksum = graph.value(dist, URIRef(SPDX + "checksum"))
        if checksum is not None:
            return (str(graph.value(checksum, URIRef(SPDX + "algorithm"))),
                    str(graph.value(checksum, URIRef(SPDX + "checksumValue"))),
                    int(graph.value(dist, DCAT.byteSize)), int(graph.value(dist, URIRef(ROW_COUNT))))
    return None


def test_frictionless_against_the_schema_the_feed_names_agrees_with_renkei_for_the_demo_and_each_version(
        sample_catalogue, db, client):
    from rdflib import URIRef
    from rdflib.namespace import DCTERMS

    from catalogue import file_checks, operations
    from catalogue.models import Dataset
    from catalogue.sample import standard_sample_bytes

    files = {d.uid: standard_sample_bytes(d.standard_kind)
             for d in db.scalars(sa.select(Dataset).where(Dataset.standard_kind.is_not(None)))}
    assert len(files) == 9
    for name, raw in (("aed-today", as_csv(AED_TODAY, "utf-8")), ("aed-older", as_csv(aed_older(), "utf-8"))):
        dataset = operations.register(db, KUMAMOTO_ADMIN, draft(name=name))
        assert file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, f"{name}.csv", raw).conformant
        files[dataset.uid] = raw
    publish_all(db)

    from catalogue import dcat

    handed_over = dcat.handed_over()
    graph = parsed(client.get("/catalog.ttl?rows=200"), "turtle")
    assert dcat.handed_over() == handed_over  # the text writer writes the checksums itself (xsd:hexBinary)
    base = base_of(graph)
    named = {str(s).rsplit("/", 1)[1]: str(o) for s, o in graph.subject_objects(DCTERMS.conformsTo)}
    uids = {uid: db.scalar(sa.select(Dataset.name).where(Dataset.uid == uid)) for uid in files}
    assert set(files) <= set(named)
    for uid, raw in files.items():
        schema = named[uid]
        assert schema.startswith(base + "/standards/") and schema.endswith("/schema.json"), schema
        assert frictionless_valid(client, schema[len(base):], raw), (uids[uid], schema)
        # the version is a standard of its own, titled by the version; the checked distribution names it too
        titles = {str(t) for t in graph.objects(URIRef(schema), DCTERMS.title)}
        assert any("推奨データセット" in t or "自治体標準オープンデータセット" in t for t in titles), titles
        node = URIRef(f"{base}/catalogue/datasets/{uid}")
        rows = file_checks.distribution_check(db, operations.find_dataset(db, uid)).row_count
        assert rows >= 1 and distribution_file(graph, node) == (SPDX + "checksumAlgorithm_sha256",
                                                                hashlib.sha256(raw).hexdigest(), len(raw), rows)
        assert named[f"{uid}-1"] == schema
        # CKAN says the same: the version, its schema, the file's hash and size
        package = client.get(f"/api/3/action/package_show?id={uids[uid]}").get_json()["result"]
        extras = {e["key"]: e["value"] for e in package["extras"]}
        assert extras["standard_schema"] == schema
        assert extras["standard_version_key"] == ("older" if "/older/" in schema else "current")
        resource = package["resources"][0]
        assert (resource["hash"], resource["size"]) == (f"sha256:{hashlib.sha256(raw).hexdigest()}", len(raw))

    # a file of each version, each meeting its own: the two versions' schemas, each at its own address
    assert named[next(u for u, n in uids.items() if n == "aed-today")] == f"{base}/standards/aed/schema.json"
    assert named[next(u for u, n in uids.items() if n == "aed-older")] == f"{base}/standards/aed/older/schema.json"
    # and a file of one version is invalid against the other's schema (so the link matters)
    assert not frictionless_valid(client, "/standards/aed/schema.json", files[next(u for u, n in uids.items()
                                                                                   if n == "aed-older")])


def test_a_one_row_excerpt_leaves_a_published_300_row_datasets_verdict_and_the_feed_names_the_served_file(
        db, client, providers):
    from rdflib import URIRef
    from rdflib.namespace import DCTERMS

    from catalogue import file_checks, operations
    from catalogue.models import Dataset

    served = aed_rows(300)
    good = operations.register(db, KUMAMOTO_ADMIN, draft(name="aed-300"))
    assert file_checks.check_file(db, KUMAMOTO_ADMIN, good.uid, "aed.csv", served).conformant
    wrong = aed_rows(300, latitude="132.80")  # the served file of another dataset is not conformant
    bad = operations.register(db, KUMAMOTO_ADMIN, draft(name="aed-300-bad"))
    assert not file_checks.check_file(db, KUMAMOTO_ADMIN, bad.uid, "aed.csv", wrong).conformant
    publish_all(db)
    version = db.scalar(sa.select(Dataset.version).where(Dataset.uid == good.uid))

    # the provider uploads excerpts on the page: a 1-row conformant one to each, and a broken one to the good one
    sign_in(client, ["municipal-admin"], ["431001"], csrf="t")
    excerpt = aed_rows(1)
    for uid, raw in ((good.uid, excerpt), (bad.uid, excerpt), (good.uid, aed_rows(1, latitude="132.80"))):
        answer = client.post(f"/admin/datasets/{uid}/check", data={"csrf_token": "t", "file": (io.BytesIO(raw), "excerpt.csv")},
                             content_type="multipart/form-data", follow_redirects=True)
        text = html.unescape(answer.get_data(as_text=True))
        assert answer.status_code == 200 and "このファイルだけを確認しました" in text and "このファイルのみ" in text

    db.expire_all()
    states = {d.name: (d.conformant, d.version) for d in db.scalars(sa.select(Dataset).where(Dataset.name.like("aed-300%")))}
    assert states == {"aed-300": (True, version), "aed-300-bad": (False, version)}
    graph = parsed(client.application.test_client().get("/catalog.ttl?rows=200"), "turtle")
    base = base_of(graph)
    conforming = {str(s).rsplit("/", 1)[1] for s in graph.subjects(DCTERMS.conformsTo, None)}
    assert good.uid in conforming and bad.uid not in conforming
    for uid, raw in ((good.uid, served), (bad.uid, wrong)):
        found = distribution_file(graph, URIRef(f"{base}/catalogue/datasets/{uid}"))
        assert found[1:] == (hashlib.sha256(raw).hexdigest(), len(raw), 300)
    resource = client.get("/api/3/action/package_show?id=aed-300").get_json()["result"]["resources"][0]
    assert (resource["hash"], resource["size"], resource["row_count"]) == (
        f"sha256:{hashlib.sha256(served).hexdigest()}", len(served), 300)

    # the fixed file, published as the replacement of the distribution's, becomes the bad dataset's verdict
    fixed = aed_rows(301)
    answer = client.post(f"/admin/datasets/{bad.uid}/check", data={"csrf_token": "t", "replaces": "1",
                                                                    "file": (io.BytesIO(fixed), "aed.csv")},
                         content_type="multipart/form-data", follow_redirects=True)
    assert "このファイルだけを確認しました" not in html.unescape(answer.get_data(as_text=True))
    db.expire_all()
    assert db.scalars(sa.select(Dataset).where(Dataset.uid == bad.uid)).one().conformant is True
    graph = parsed(client.application.test_client().get("/catalog.ttl?rows=200"), "turtle")
    assert distribution_file(graph, URIRef(f"{base}/catalogue/datasets/{bad.uid}"))[1:] == (
        hashlib.sha256(fixed).hexdigest(), len(fixed), 301)


def test_a_verdict_recorded_with_the_versions_label_still_names_its_schema(db, client, providers):
    """Checks written before the version's key was stored hold its label (推奨データセット): still read as that version."""
    from rdflib.namespace import DCTERMS

    from catalogue import file_checks, operations
    from catalogue.models import DatasetCheck
    from tests.datasets.test_register import AED_GOOD

    dataset = operations.register(db, KUMAMOTO_ADMIN, draft(name="aed-label"))
    check = file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, "aed.csv", AED_GOOD.encode())
    assert check.standard_version == "older"  # the key of the version met, which names its schema
    # the same verdict as a check written then (checks are never changed: the application may only add one)
    fields = {column: getattr(check, column) for column in DatasetCheck.model_fields if column not in ("id", "checked_at")}
    db.add(DatasetCheck(**{**fields, "standard_version": "推奨データセット"}))
    db.flush()
    publish_all(db)
    graph = parsed(client.get("/catalog.ttl"), "turtle")
    assert {str(o) for o in graph.objects(None, DCTERMS.conformsTo)} == {f"{base_of(graph)}/standards/aed/older/schema.json"}


@pytest.mark.parametrize("accept, mimetype", [("*/*", "application/json"), ("text/html", "text/html"),
                                              ("text/turtle", "text/turtle")])
def test_a_versions_schema_address_answers_a_validator_with_the_schema_and_a_reader_with_the_version(
        client, accept, mimetype):
    answer = client.get("/standards/aed/older/schema.json", headers={"Accept": accept})
    assert (answer.status_code, answer.mimetype) == (200, mimetype)
    if mimetype == "application/json":
        assert "住所" in [field["name"] for field in answer.get_json()["fields"]]
    else:
        assert "推奨データセット" in answer.get_data(as_text=True)
