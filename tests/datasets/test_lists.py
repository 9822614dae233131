"""The lists the operator keeps for the register (issue 22, Build 1): the licences (and the categories) a
dataset chooses from. The operator adds a licence and stops or resumes its use, every act audited; a licence
in use by datasets never vanishes (stopping hides it from new choices only); the catalogue (CKAN's
license_list, the DCAT feed) follows the operator's list and the feed still conforms to DCAT-AP 3.0.0."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.errors import Conflict, Invalid, NotPermitted
from tests.conftest import sign_in
from tests.datasets.conftest import KUMAMOTO_ADMIN, draft
from tests.datasets.test_register import AED_GOOD

ODBL = dict(code="ODbL-1.0", title_ja="オープンデータベースライセンス 1.0", title_en="Open Database License 1.0",
            url="https://opendatacommons.org/licenses/odbl/1-0/")


def audit_trail(db, prefix: str) -> list[tuple[str, str, dict | None, dict | None]]:
    rows = db.scalars(sa.select(AuditRecord).where(AuditRecord.action.like(f"{prefix}%")).order_by(AuditRecord.seq))
    return [(r.action, r.target_id, json.loads(r.before) if r.before else None, json.loads(r.after) if r.after else None)
            for r in rows]


def published(db, operator, **fields):
    """A dataset of 熊本市 registered by its admin and published by the operator."""
    from catalogue import file_checks, operations

    dataset = operations.register(db, KUMAMOTO_ADMIN, draft(**fields))
    file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, "aed.csv", AED_GOOD.encode("cp932"))
    for verb in ("submit", "publish"):
        operations.move(db, operator, dataset.uid, verb)
    db.commit()
    return dataset


def test_the_operator_adds_a_licence_that_providers_then_choose(db, operator, providers):
    from catalogue import lists, operations

    licence = lists.add_licence(db, operator, lists.LicenceDraft(**ODBL))
    assert [lic.code for lic in lists.licences(db)][-1] == "ODbL-1.0" and licence.active and not licence.own_terms
    dataset = operations.register(db, KUMAMOTO_ADMIN, draft(licence_code="ODbL-1.0"))
    assert dataset.licence_code == "ODbL-1.0"
    assert audit_trail(db, "dataset.licence.") == [("dataset.licence.add", "ODbL-1.0", None, {
        "title_ja": ODBL["title_ja"], "title_en": ODBL["title_en"], "url": ODBL["url"], "own_terms": False, "in_use": True})]
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "dataset.licence.add"))
    assert record.actor_subject == operator.subject


def test_every_field_of_a_new_licence_is_checked_and_named_in_both_languages(db, operator):
    from catalogue import lists

    with pytest.raises(Invalid) as refused:
        lists.add_licence(db, operator, lists.LicenceDraft(code="CC BY", title_ja=" ", title_en="x" * 201,
                                                           url="ftp://example.jp/licence"))
    problems = {p["field"]: p for p in refused.value.problems}
    assert set(problems) == {"code", "title_ja", "title_en", "url"}
    assert all(p["message_ja"] != p["message_en"] and p["message_ja"] for p in problems.values())
    assert "CC-BY-4.0" in problems["code"]["message_ja"] and "200" in problems["title_en"]["message_ja"]
    with pytest.raises(Invalid) as refused:
        lists.add_licence(db, operator, lists.LicenceDraft(code="ok-1", title_ja="改行\nあり", url="https://a.example/\x07"))
    assert {p["field"] for p in refused.value.problems} == {"title_ja", "url"}
    db.rollback()
    assert audit_trail(db, "dataset.licence.") == []


def test_a_code_taken_in_any_case_is_refused_and_only_the_operator_keeps_the_list(db, operator):
    from catalogue import lists

    with pytest.raises(Conflict) as taken:
        lists.add_licence(db, operator, lists.LicenceDraft(code="cc-by-4.0", title_ja="重複"))
    assert [p["field"] for p in taken.value.problems] == ["code"] and "CC-BY-4.0" in taken.value.message_ja
    with pytest.raises(Conflict):
        lists.add_category(db, operator, "tourism", "観光（重複）")
    with pytest.raises(NotPermitted):
        lists.add_licence(db, KUMAMOTO_ADMIN, lists.LicenceDraft(**ODBL))
    with pytest.raises(NotPermitted):
        lists.set_licence_active(db, KUMAMOTO_ADMIN, "CC0-1.0", False)
    assert [lic.code for lic in lists.list_licences(db, KUMAMOTO_ADMIN)] == ["CC-BY-4.0", "CC0-1.0", "PDL-1.0", "own-terms"]


def test_a_stopped_licence_is_no_new_choice_but_the_datasets_that_have_it_keep_it(db, operator, providers):
    """Stopping hides the licence from new choices only: a dataset under it is changed, submitted and published
    with it; a new dataset (or another changed to it) may not choose it; used again, it is a choice again."""
    import dataclasses

    from catalogue import file_checks, lists, operations

    lists.add_licence(db, operator, lists.LicenceDraft(**ODBL))
    kept = operations.register(db, KUMAMOTO_ADMIN, draft(licence_code="ODbL-1.0"))
    other = operations.register(db, KUMAMOTO_ADMIN, draft(name="kumamoto-other", standard_kind=None))
    lists.set_licence_active(db, operator, "ODbL-1.0", False)
    assert "ODbL-1.0" not in [lic.code for lic in lists.licences(db)]
    assert "ODbL-1.0" in [lic.code for lic in lists.licences(db, include_inactive=True)]

    changed = operations.update(db, KUMAMOTO_ADMIN, kept.uid, draft(licence_code="ODbL-1.0", title_ja="AED一覧（改）"))
    assert changed.licence_code == "ODbL-1.0" and changed.title_ja == "AED一覧（改）"
    file_checks.check_file(db, KUMAMOTO_ADMIN, kept.uid, "aed.csv", AED_GOOD.encode("cp932"))
    assert all(met for _ja, _en, met in operations.review_checklist(db, kept))
    operations.move(db, KUMAMOTO_ADMIN, kept.uid, "submit")
    assert operations.move(db, operator, kept.uid, "publish").status.value == "published"
    for refused in (lambda: operations.register(db, KUMAMOTO_ADMIN, draft(name="kumamoto-new", licence_code="ODbL-1.0")),
                    lambda: operations.update(db, KUMAMOTO_ADMIN, other.uid,
                                              dataclasses.replace(draft(standard_kind=None), licence_code="ODbL-1.0"))):
        with pytest.raises(Invalid) as error:
            refused()
        assert [p["field"] for p in error.value.problems] == ["licence_code"]
    lists.set_licence_active(db, operator, "ODbL-1.0", True)
    operations.register(db, KUMAMOTO_ADMIN, draft(name="kumamoto-new", licence_code="ODbL-1.0"))
    assert [(action, before, after) for action, _code, before, after in audit_trail(db, "dataset.licence.active")] == [
        ("dataset.licence.active", {"in_use": True}, {"in_use": False}),
        ("dataset.licence.active", {"in_use": False}, {"in_use": True})]
    lists.set_licence_active(db, operator, "ODbL-1.0", True)  # already in use: nothing changes, nothing recorded
    assert len(audit_trail(db, "dataset.licence.active")) == 2


def test_ckan_license_list_is_the_operators_list_and_every_licence_a_published_dataset_has(db, operator, providers, client):
    from catalogue import lists

    def listed() -> dict[str, str]:
        answer = client.get("/api/3/action/license_list").get_json()
        return {lic["id"]: lic["status"] for lic in answer["result"]}

    lists.add_licence(db, operator, lists.LicenceDraft(**ODBL))
    lists.add_licence(db, operator, lists.LicenceDraft(code="GPL-3.0", title_ja="GNU 一般公衆利用許諾書 第3版"))
    db.commit()
    assert listed() == {"CC-BY-4.0": "active", "CC0-1.0": "active", "PDL-1.0": "active", "own-terms": "active",
                        "ODbL-1.0": "active", "GPL-3.0": "active"}
    published(db, operator, name="kumamoto-aed", licence_code="ODbL-1.0")
    for code in ("ODbL-1.0", "GPL-3.0", "CC0-1.0"):
        lists.set_licence_active(db, operator, code, False)
    db.commit()
    # stopped ones vanish from the list unless a published dataset has them: that one stays, retired
    assert listed() == {"CC-BY-4.0": "active", "PDL-1.0": "active", "own-terms": "active", "ODbL-1.0": "retired"}
    package = client.get("/api/3/action/package_show?id=kumamoto-aed").get_json()["result"]
    assert (package["license_id"], package["license_title"], package["license_url"]) == (
        "ODbL-1.0", ODBL["title_ja"], ODBL["url"])
    assert client.get("/api/3/action/package_search?fq=license_id:ODbL-1.0").get_json()["result"]["count"] == 1


def test_the_dcat_feed_names_an_operators_licence_and_still_conforms_to_dcat_ap(db, operator, providers, client):
    """A licence with the address of its text is named by that address, with its names in both languages; one
    without is named by the catalogue's own page of it, which answers. The feed conforms (pyshacl)."""
    from rdflib import Graph, Literal, URIRef
    from rdflib.namespace import DCAT, DCTERMS, RDF, RDFS

    from catalogue import lists
    from tests.datasets.test_dcat import conforms, shapes_file

    lists.add_licence(db, operator, lists.LicenceDraft(**ODBL))
    lists.add_licence(db, operator, lists.LicenceDraft(code="kumamoto.terms-2026", title_ja="熊本県オープンデータ利用規約"))
    published(db, operator, name="kumamoto-aed", licence_code="ODbL-1.0")
    published(db, operator, name="kumamoto-aed-2", licence_code="kumamoto.terms-2026")
    lists.set_licence_active(db, operator, "kumamoto.terms-2026", False)  # stopped, still had by a published dataset
    db.commit()
    feed = Graph().parse(data=client.get("/catalog.ttl").get_data(as_text=True), format="turtle")
    odbl = URIRef(ODBL["url"])
    assert (odbl, RDF.type, DCTERMS.LicenseDocument) in feed
    assert set(feed.objects(odbl, RDFS.label)) == {Literal(ODBL["title_ja"], lang="ja"), Literal(ODBL["title_en"], lang="en")}
    own_page = next(iter(set(feed.objects(predicate=DCTERMS.license)) - {odbl}))
    assert str(own_page).endswith("/catalogue/licences/kumamoto.terms-2026")
    distributions = set(feed.subjects(RDF.type, DCAT.Distribution))
    assert {feed.value(d, DCTERMS.license) for d in distributions} == {odbl, own_page}
    ok, text = conforms(feed, Graph().parse(shapes_file()))
    assert ok, text
    page = client.get("/catalogue/licences/kumamoto.terms-2026")
    assert page.status_code == 200 and page.mimetype == "text/markdown"
    assert page.get_data(as_text=True).startswith("# 熊本県オープンデータ利用規約")
    assert client.get("/catalogue/licences/no-such-licence").status_code == 404


def test_the_operator_keeps_the_licences_on_their_page(client, db, providers):
    """The page lists the licences with their codes and says what stopping does; a new licence's problems are
    shown beside their fields with what was typed kept; a taken code too; added, it is a choice on the form."""
    sign_in(client, csrf="t")
    page = client.get("/admin/dataset-licences/").get_data(as_text=True)
    assert "ライセンスは削除できません" in page and "CC-BY-4.0" in page and "データセット 0 件で使用" in page
    refused = client.post("/admin/dataset-licences/add", data={"csrf_token": "t", "code": "x", "title_ja": "",
                                                              "title_en": "Open Database", "url": "ftp://example.jp"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    for field, message in (("code", "英数字・「.」「-」「_」で 2〜64 文字"), ("title_ja", "名称を入力してください"),
                           ("url", "http:// または https:// で始まるアドレス")):
        assert f'id="{field}-error" role="alert">{message}' in text
        assert f'aria-describedby="{field}-help {field}-error"' in text or f'aria-describedby="{field}-error"' in text
    assert 'value="Open Database"' in text and 'value="ftp://example.jp"' in text
    taken = client.post("/admin/dataset-licences/add", data={"csrf_token": "t", "code": "PDL-1.0", "title_ja": "重複"})
    assert taken.status_code == 409 and 'id="code-error" role="alert">PDL-1.0 はすでに使われています' in taken.get_data(as_text=True)
    added = client.post("/admin/dataset-licences/add", data={"csrf_token": "t", **ODBL, "own_terms": "1"})
    assert added.status_code == 302
    assert "ODbL-1.0" in client.get("/admin/dataset-licences/").get_data(as_text=True)
    form = client.get("/admin/datasets/new").get_data(as_text=True)
    assert '<option value="ODbL-1.0">オープンデータベースライセンス 1.0</option>' in form
    assert client.post("/admin/dataset-licences/ODbL-1.0/active", data={"csrf_token": "t", "active": "0"}).status_code == 302
    assert 'value="ODbL-1.0"' not in client.get("/admin/datasets/new").get_data(as_text=True)
    assert audit_trail(db, "dataset.licence.")[0][3]["own_terms"] is True

    sign_in(client, ["municipal-admin"], ["431001"], csrf="t")
    assert client.get("/admin/dataset-licences/").status_code == 403
    assert client.post("/admin/dataset-licences/add", data={"csrf_token": "t", **ODBL}).status_code == 403


def test_a_dataset_keeps_its_stopped_licence_and_category_on_its_edit_form(client, db, operator, providers):
    from catalogue import lists, operations

    lists.add_category(db, operator, "smart_city", "スマートシティ")
    dataset = operations.register(db, KUMAMOTO_ADMIN, draft(category_code="smart_city", licence_code="PDL-1.0"))
    lists.set_category_active(db, operator, "smart_city", False)
    lists.set_licence_active(db, operator, "PDL-1.0", False)
    db.commit()
    sign_in(client, ["municipal-admin"], ["431001"], csrf="t")
    form = client.get(f"/admin/datasets/{dataset.uid}/edit").get_data(as_text=True)
    assert '<option value="PDL-1.0" selected>公共データ利用規約（第1.0版）（使用停止中）</option>' in form
    assert '<option value="smart_city" selected>スマートシティ（使用停止中）</option>' in form
    assert 'value="PDL-1.0"' not in client.get("/admin/datasets/new").get_data(as_text=True)


def test_a_new_categorys_problems_are_shown_beside_its_fields(client, db):
    sign_in(client, csrf="t")
    refused = client.post("/admin/dataset-categories/add", data={"csrf_token": "t", "code": "Smart City",
                                                                 "label_ja": "", "label_en": "Smart city"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'value="Smart City"' in text and 'value="Smart city"' in text
    assert 'id="code-error" role="alert">英小文字・数字・_ で 2〜32 文字' in text
    assert 'id="label_ja-error" role="alert">名称を入力してください' in text
    assert "分野は削除できません" in client.get("/admin/dataset-categories/").get_data(as_text=True)
