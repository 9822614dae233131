"""Terms of use per dataset (issue 22): versioned as agreements are, accepted by a consumer of a limited
dataset before its distributions are given, asked again when they change, shown in CKAN and DCAT."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.errors import Conflict, NotFound, NotPermitted
from tests.conftest import sign_in
from tests.datasets.conftest import KUMAMOTO_ADMIN, YATSUSHIRO_ADMIN, draft

ACCIDENTS = "pref-traffic-accidents"  # the sample's own-terms dataset, named for 熊本市 and 八代市
PREFECTURE_ADMIN = Actor(issuer="urn:test", subject="pref-admin", name="熊本県 管理者",
                         roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"430005"}))
KUMAMOTO_STAFF = Actor(issuer="urn:test", subject="kumamoto-staff", name="熊本市 職員",
                       roles=frozenset({"municipal-staff"}), tenant_codes=frozenset({"431001"}))


def shown(db, actor, name=ACCIDENTS):
    from catalogue import catalogue

    page = catalogue.search(db, actor, fq=f"name:{name}", rows=1)
    return page.entries[0] if page.entries else None


def test_the_sample_terms_are_version_1_and_hold_back_the_distributions_until_accepted(db, sample_catalogue):
    from catalogue import catalogue, terms

    entry = shown(db, YATSUSHIRO_ADMIN)
    assert entry is not None and entry.terms.number == 1 and entry.withheld and entry.distributions == ()
    package = catalogue.ckan_package(entry, "https://renkei.example.jp")
    assert package["resources"] == [] and package["terms_of_use"]["version"] == 1
    assert package["terms_of_use"]["url"] == f"https://renkei.example.jp/catalogue/datasets/{ACCIDENTS}/terms?version=1"
    assert {"key": "terms_version", "value": "1"} in package["extras"]

    # the provider, the operator and the auditor are never held back
    assert shown(db, PREFECTURE_ADMIN).distributions and shown(db, Actor("urn:test", "op", roles=frozenset({"platform-operator"}))).distributions

    with pytest.raises(Conflict) as wrong:
        terms.accept(db, YATSUSHIRO_ADMIN, ACCIDENTS, 1, "0" * 64)
    assert wrong.value.details["reason"] == "hash_mismatch"
    assert shown(db, YATSUSHIRO_ADMIN).withheld
    terms.accept(db, YATSUSHIRO_ADMIN, ACCIDENTS, 1, entry.terms.content_hash)
    db.commit()
    accepted = shown(db, YATSUSHIRO_ADMIN)
    assert not accepted.withheld and accepted.distributions[0].url.endswith(f"{ACCIDENTS}.csv")
    assert shown(db, KUMAMOTO_STAFF).withheld  # 熊本市 has not accepted: its staff do not get the data yet
    with pytest.raises(Conflict):
        terms.accept(db, YATSUSHIRO_ADMIN, ACCIDENTS, 1, entry.terms.content_hash)  # once per consumer and version


def test_a_new_version_asks_again_and_an_old_version_can_no_longer_be_accepted(db, sample_catalogue):
    from core.audit import AuditRecord
    from core.outbox import Notification
    from catalogue import terms

    first = shown(db, YATSUSHIRO_ADMIN).terms
    terms.accept(db, YATSUSHIRO_ADMIN, ACCIDENTS, 1, first.content_hash)
    db.commit()
    with pytest.raises(Conflict):  # the same text is no new version
        terms.revise(db, PREFECTURE_ADMIN, ACCIDENTS, first.title, first.body_md)
    second = terms.revise(db, PREFECTURE_ADMIN, ACCIDENTS, first.title, first.body_md + "5. 利用状況の報告を求めることがあります。\n")
    db.commit()
    assert second.number == 2 and second.content_hash != first.content_hash
    assert [v.number for v in terms.versions(db, terms.operations.find_dataset(db, ACCIDENTS))] == [2, 1]
    entry = shown(db, YATSUSHIRO_ADMIN)
    assert entry.terms.number == 2 and entry.withheld and entry.distributions == ()
    asked = db.scalars(sa.select(Notification).where(Notification.kind == "dataset.terms")).all()
    assert [m.tenant_code for m in asked] == ["432024"] and "第2版" in asked[0].subject

    with pytest.raises(Conflict):  # version 1 is superseded
        terms.accept(db, KUMAMOTO_ADMIN, ACCIDENTS, 1, first.content_hash)
    terms.accept(db, YATSUSHIRO_ADMIN, ACCIDENTS, 2, second.content_hash)
    db.commit()
    assert not shown(db, YATSUSHIRO_ADMIN).withheld
    actions = db.scalars(sa.select(AuditRecord.action).where(AuditRecord.action.like("dataset.terms.%"))
                         .order_by(AuditRecord.seq)).all()
    assert actions == ["dataset.terms.revise", "dataset.terms.accept", "dataset.terms.revise", "dataset.terms.accept"]


def test_who_may_accept_and_what(db, sample_catalogue, tenant_factory):
    from catalogue import terms

    current = shown(db, YATSUSHIRO_ADMIN).terms
    with pytest.raises(NotPermitted):  # staff read; their municipal admin accepts for the municipality
        terms.accept(db, KUMAMOTO_STAFF, ACCIDENTS, 1, current.content_hash)
    with pytest.raises(NotPermitted):  # one may accept only for one's own municipality
        terms.accept(db, KUMAMOTO_ADMIN, ACCIDENTS, 1, current.content_hash, "432024")
    tenant_factory("432113")
    uki = Actor(issuer="urn:test", subject="uki-admin", roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"432113"}))
    with pytest.raises(NotFound):  # not named for it: there is nothing to accept
        terms.accept(db, uki, ACCIDENTS, 1, current.content_hash)
    with pytest.raises(NotFound):  # an open dataset's terms are not accepted first (and this one has none)
        terms.accept(db, KUMAMOTO_ADMIN, "kumamoto-city-aed", 1, current.content_hash)
    assert [(s.dataset.name, s.state) for s in terms.to_accept(db, KUMAMOTO_ADMIN)] == [(ACCIDENTS, "pending")]


def test_a_person_of_two_municipalities_is_asked_which_one_accepts(db, sample_catalogue):
    """Terms of a dataset and an agreement's version alike: a person who belongs to several
    municipalities says which one accepts (the field is named), and naming one accepts for it."""
    from core.errors import Invalid
    from governance import agreements
    from governance.models import AgreementDocument
    from catalogue import terms

    both = Actor(issuer="urn:test", subject="both-admin", name="熊本市・八代市 管理者", roles=frozenset({"municipal-admin"}),
                 tenant_codes=frozenset({"431001", "432024"}))
    current = shown(db, YATSUSHIRO_ADMIN).terms
    with pytest.raises(Invalid) as unsaid:
        terms.accept(db, both, ACCIDENTS, 1, current.content_hash)
    assert [p["field"] for p in unsaid.value.problems] == ["consumer_code"]
    assert "同意する団体（consumer_code）を指定してください" in unsaid.value.message_ja
    terms.accept(db, both, ACCIDENTS, 1, current.content_hash, "432024")
    assert [(s.dataset.name, s.state) for s in terms.to_accept(db, YATSUSHIRO_ADMIN)] == [(ACCIDENTS, "ok")]
    with pytest.raises(Invalid) as unsaid_agreement:
        agreements.accept_version(db, both, AgreementDocument.joint_use_agreement, 1, "0" * 64)
    assert [p["field"] for p in unsaid_agreement.value.problems] == ["tenant_code"]


def test_terms_are_written_only_for_terms_of_its_own_and_are_checked_before_review(db, operator, providers):
    from catalogue import operations, terms

    cc = operations.register(db, KUMAMOTO_ADMIN, draft(standard_kind=None))
    with pytest.raises(Conflict):
        terms.revise(db, KUMAMOTO_ADMIN, cc.uid, "利用規約", "本文")
    own = operations.register(db, KUMAMOTO_ADMIN, draft(standard_kind=None, licence_code="own-terms", access="members",
                                                        title_ja="駐輪場の利用状況"))
    with pytest.raises(Conflict) as refused:
        operations.move(db, KUMAMOTO_ADMIN, own.uid, "submit")
    assert any("利用規約" in p["message_ja"] for p in refused.value.problems)
    with pytest.raises(NotFound):  # another provider's dataset is not in one's register
        terms.revise(db, YATSUSHIRO_ADMIN, own.uid, "利用規約", "本文")
    terms.revise(db, KUMAMOTO_ADMIN, own.uid, "駐輪場データ利用規約", "会員の業務にのみ利用できます。")
    assert operations.move(db, KUMAMOTO_ADMIN, own.uid, "submit").status.value == "submitted"


def test_the_text_and_the_dcat_feed_show_the_terms(app, client, db, sample_catalogue):
    from rdflib import Graph
    from rdflib.namespace import DCTERMS, OWL

    sign_in(client, ("municipal-staff",), ("432024",))
    text = client.get(f"/catalogue/datasets/{ACCIDENTS}/terms")
    assert text.status_code == 200 and text.headers["X-Terms-Version"] == "1" and "【サンプル】" in text.get_data(as_text=True)
    assert client.get(f"/catalogue/datasets/{ACCIDENTS}/terms?version=9").status_code == 404
    assert app.test_client().get(f"/catalogue/datasets/{ACCIDENTS}/terms").status_code == 404  # not for anonymous readers

    sign_in(client)  # the operator reads the feed with every dataset
    graph = Graph().parse(data=client.get("/catalog.ttl?rows=200").get_data(as_text=True), format="turtle")
    rights = next(o for o in graph.objects(None, DCTERMS.rights) if str(o).endswith(f"/catalogue/datasets/{ACCIDENTS}/terms?version=1"))
    assert str(graph.value(rights, OWL.versionInfo)) == "1"
    distributions = list(graph.subjects(DCTERMS.rights, rights))
    assert len(distributions) == 2  # the dataset and its one distribution


@pytest.mark.keycloak
def test_the_api_lists_accepts_and_revises(client, db, sample_catalogue, user_factory):
    _account, yatsushiro = user_factory(("municipal-admin",), "432024")
    listed = client.get("/api/v1/dataset-terms", headers=yatsushiro).get_json()
    assert listed["consumer_code"] == "432024" and [i["state"] for i in listed["items"]] == ["pending"]
    current = listed["items"][0]["current"]
    refused = client.post(f"/api/v1/dataset-terms/{ACCIDENTS}/acceptances", headers=yatsushiro,
                          json={"number": 1, "content_hash": "a" * 64})
    assert refused.status_code == 409 and refused.headers["Content-Type"].startswith("application/problem+json")
    done = client.post(f"/api/v1/dataset-terms/{ACCIDENTS}/acceptances", headers=yatsushiro,
                       json={"number": 1, "content_hash": current["content_hash"]})
    assert done.status_code == 201 and done.get_json()["state"] == "ok"

    _account, prefecture = user_factory(("municipal-admin",), "430005")
    mine = client.get(f"/api/v1/datasets/{ACCIDENTS}/terms", headers=prefecture).get_json()
    assert mine["acceptance_required"] and [a["consumer_code"] for a in mine["acceptances"]] == ["432024"]
    bad = client.post(f"/api/v1/datasets/{ACCIDENTS}/terms", headers=prefecture, json={"title": "", "body_md": ""})
    assert bad.status_code == 422
    revised = client.post(f"/api/v1/datasets/{ACCIDENTS}/terms", headers=prefecture,
                          json={"title": "利用規約", "body_md": "改定した本文"})
    assert revised.status_code == 201 and revised.get_json()["current"]["number"] == 2
    again = client.get("/api/v1/dataset-terms", headers=yatsushiro).get_json()["items"][0]
    assert again["state"] == "pending" and again["accepted_number"] == 1
