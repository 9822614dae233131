"""Legal representatives (issue 56 item 3): the desk records that a parent represents their 15-year-old; the parent,
signed in with their own card, acts for the child in the portal, each act recorded as by the parent, and the service
receives nothing of the parent; on the day the child turns 18 (the day before the 18th birthday) the representation
has ended by itself and the parent's next act is refused."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import sqlalchemy as sa

from admin.resident_keys import keyring
from core.audit import AuditRecord
from core.errors import Forbidden, Invalid
from residents import brokerage, operations as residents, portal, representation
from residents.consent import operations as consent
from residents.consent.models import ConsentRecord
from residents.models import Representation, ServiceLink
from tests.residents.conftest import KUMAMOTO, api_client, desk, person
from tests.residents.test_portal_services import TEXT, _service_actor

TODAY = dt.date(2026, 11, 27)
CHILD_BORN = dt.date(2011, 6, 15)  # 15 on TODAY
CHILD_TURNS_18 = dt.date(2029, 6, 14)  # the day before the 18th birthday


@pytest.mark.parametrize(("born", "turns_18"), [
    (dt.date(2011, 6, 15), dt.date(2029, 6, 14)),
    (dt.date(2008, 1, 1), dt.date(2025, 12, 31)),  # the day before is in the year before
    (dt.date(2008, 2, 29), dt.date(2026, 2, 28)),  # no 29 February in 2026: the end of 28 February
    (dt.date(2008, 3, 1), dt.date(2026, 2, 28)),
    (dt.date(2012, 2, 29), dt.date(2030, 2, 28)),
])
def test_a_person_turns_18_on_the_day_before_their_18th_birthday(born, turns_18):
    assert representation.coming_of_age_day(born) == turns_18


@pytest.fixture
def family(app, db, consent_setup, monkeypatch):
    """A parent and their 15-year-old child enrolled at Kumamoto, a linked service the child uses (くらしナビ), and
    the desk's record that the parent is the child's 親権者; the day is TODAY unless a test moves it."""
    monkeypatch.setitem(app.config, "RENKEI_PORTAL_TENANT", KUMAMOTO)
    day = {"today": TODAY}
    monkeypatch.setattr(representation, "today_jst", lambda: day["today"])
    keys = keyring()
    navi_client = api_client(db, "くらしナビ")
    navi = consent_setup(name="くらしナビ", text=TEXT, api_client_id=navi_client, required_level=2)
    parent = residents.enrol(db, desk(), keys, person(full_name="熊本 花子", birth_date="1985-02-03", sex="2")).resident
    child = residents.enrol(db, desk(), keys, person(full_name="熊本 陽太", birth_date=CHILD_BORN.isoformat())).resident
    db.add(ServiceLink(resident_id=child.id, service_id=navi.id, service_user_id="navi-child-0001",
                       method="counter", verification="my_number_card", assurance_level=3, linked_by="test"))
    db.commit()
    row = representation.record_representation(db, desk(), keys, {
        "tenant_code": KUMAMOTO, "representative_common_id": parent.common_id, "represented_common_id": child.common_id,
        "kind": "parental", "evidence": "family_register", "starts_on": TODAY.isoformat(), "reason": "親権者の申出"})
    db.commit()
    return {"day": day, "keys": keys, "navi": navi, "navi_client": navi_client, "parent": parent, "child": child,
            "representation": row}


def _parent_actor(db, family):
    return portal.resident_actor(db, family["child"].id, "mynumber-card", representative_id=family["parent"].id,
                                 representation_id=family["representation"].id)


def test_the_desk_records_it_audited_without_the_date_of_birth(db, family):
    recorded = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "resident.representation.record"))
    assert recorded.target_id == family["child"].common_id
    after = json.loads(recorded.after)
    assert (after["representative"], after["kind"], after["evidence"]) == (family["parent"].common_id, "parental",
                                                                             "family_register")
    assert CHILD_BORN.isoformat() not in recorded.after and CHILD_TURNS_18.isoformat() not in recorded.after
    assert family["representation"].until is None  # the day they turn 18 is computed, never stored


def test_the_desk_is_refused_the_wrong_evidence_and_a_child_already_of_age(db, family):
    keys = family["keys"]
    base = {"tenant_code": KUMAMOTO, "representative_common_id": family["parent"].common_id,
            "represented_common_id": family["child"].common_id, "kind": "guardian", "evidence": "family_register",
            "starts_on": TODAY.isoformat(), "reason": "後見開始"}
    with pytest.raises(Invalid) as wrong:
        representation.record_representation(db, desk(), keys, base)
    assert wrong.value.problems[0]["field"] == "evidence"
    family["day"]["today"] = CHILD_TURNS_18
    with pytest.raises(Invalid) as of_age:
        representation.record_representation(db, desk(), keys, {**base, "kind": "parental", "starts_on":
                                                                 CHILD_TURNS_18.isoformat()})
    assert "18歳" in of_age.value.message_ja


def test_the_parents_act_is_recorded_as_by_the_parent_and_the_service_receives_nothing_of_them(db, family):
    navi = family["navi"]
    actor = _parent_actor(db, family)
    representation.check_in_force(db, family["keys"], family["representation"].id, family["parent"].id)
    portal.save_consent(db, actor, family["child"], navi.id, content_hash=consent.current_text(db, navi).content_hash,
                        optional_purposes=[], items=["氏名"], assurance_level=3)
    db.commit()
    parent_id = family["parent"].common_id
    # the audit records of the act name the parent, acting under the representation
    acts = db.scalars(sa.select(AuditRecord).where(AuditRecord.action.in_(
        ("resident.representation.act", "resident.disclosure.set")))).all()
    assert acts and all(parent_id in act.actor_name and "親権者" in act.actor_name for act in acts)
    act = next(act for act in acts if act.action == "resident.representation.act")
    assert act.target_id == family["child"].common_id
    assert json.loads(act.after)["representation_id"] == family["representation"].id
    # what the service reads: the consent record and its receipt, the brokerage's answer; none names the parent
    record = db.scalar(sa.select(ConsentRecord).order_by(ConsentRecord.seq.desc()))
    assert record.subject_id == "navi-child-0001"
    receipt = json.dumps(consent.receipt(db, record), ensure_ascii=False, default=str)
    stored = " ".join(str(getattr(record, column)) for column in ConsentRecord.model_fields)
    answer = brokerage.broker(db, _service_actor(family["navi_client"]), family["keys"], {
        "service_id": navi.id, "service_user_id": "navi-child-0001", "items": ["氏名"], "purpose": "行政サービスの案内"})
    assert answer.allowed and answer.items == {"氏名": "熊本 陽太"}
    sent = json.dumps(answer.as_dict(), ensure_ascii=False)
    for text in (receipt, stored, sent):
        assert parent_id not in text and "代理" not in text and "熊本 花子" not in text


def test_at_the_18th_birthday_the_representation_has_ended_and_the_next_act_is_refused(db, family):
    keys, row, parent = family["keys"], family["representation"], family["parent"]
    family["day"]["today"] = CHILD_TURNS_18 - dt.timedelta(days=1)  # still 17: the parent acts
    assert representation.check_in_force(db, keys, row.id, parent.id) == row
    assert [person.id for _, person in representation.representing(db, keys, parent.id)] == [family["child"].id]
    with pytest.raises(Forbidden):  # only the representative may use it: not the child, nor anyone else
        representation.check_in_force(db, keys, row.id, family["child"].id)
    family["day"]["today"] = CHILD_TURNS_18
    with pytest.raises(Forbidden):
        representation.check_in_force(db, keys, row.id, parent.id)
    assert representation.representing(db, keys, parent.id) == []


def test_the_desk_ends_a_representation_early_audited(db, family):
    representation.end_representation(db, desk(), KUMAMOTO, family["representation"].id, "親権者の変更")
    db.commit()
    with pytest.raises(Forbidden):
        representation.check_in_force(db, family["keys"], family["representation"].id, family["parent"].id)
    ended = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "resident.representation.end"))
    assert json.loads(ended.after)["reason"] == "親権者の変更"


def _csrf(client) -> str:
    with client.session_transaction() as session:
        session.setdefault("csrf", "test-csrf-token")
        return session["csrf"]


def test_in_the_portal_a_parent_acts_for_their_child_until_the_child_turns_18(client, db, family):
    parent, child, navi = family["parent"], family["child"], family["navi"]
    with client.session_transaction() as session:  # the parent signed in with their own card
        session["resident"] = {"resident_id": parent.id, "tenant_code": KUMAMOTO, "common_id": parent.common_id,
                               "status": "active", "provider": "mynumber-card", "assurance_level": 3,
                               "signed_in_at": "2026-11-27T01:00:00+00:00", "seen": time.time()}
    page = client.get("/portal/representation").get_data(as_text=True)
    assert child.common_id in page and "親権者" in page
    chosen = client.post("/portal/representation/act", data={"csrf_token": _csrf(client),
                                                             "representation": str(family["representation"].id)})
    assert chosen.status_code == 302
    home = client.get("/portal/").get_data(as_text=True)
    assert 'id="acting-for"' in home and child.common_id in home
    services = client.get("/portal/services").get_data(as_text=True)
    assert "navi-child-0001" in services  # the child's services, not the parent's
    text_hash = consent.current_text(db, navi).content_hash
    saved = client.post(f"/portal/services/{navi.id}/consent", data={
        "csrf_token": _csrf(client), "content_hash": text_hash, "items": ["氏名"], "optional_purposes": []})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    act = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "resident.representation.act"))
    assert act.target_id == child.common_id and parent.common_id in act.actor_name
    given = db.scalar(sa.select(sa.func.count()).select_from(ConsentRecord))
    assert client.get("/portal/leave").status_code == 403  # leaving is for the person, at the desk


    family["day"]["today"] = CHILD_TURNS_18  # the child turns 18: the parent's next act is refused
    refused = client.post(f"/portal/services/{navi.id}/withdraw", data={"csrf_token": _csrf(client)})
    assert refused.status_code == 403
    assert "18歳に達した" in refused.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == given  # nothing was withdrawn
    # and the parent is back to themself: the child's services are no longer theirs to see
    assert "navi-child-0001" not in client.get("/portal/services").get_data(as_text=True)
    assert db.get(Representation, family["representation"].id).ended_at is None  # ended by its dates, not by a write


def test_the_desks_page_records_one_and_keeps_what_was_typed_beside_a_refusal(client, db, family):
    from tests.conftest import sign_in

    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    form = {"csrf_token": "t", "tenant": KUMAMOTO, "representative_common_id": family["parent"].common_id,
            "represented_common_id": family["child"].common_id, "kind": "guardian", "evidence": "family_register",
            "starts_on": TODAY.isoformat(), "until": "", "reason": "後見開始の審判"}
    refused = client.post("/admin/resident-representations/", data=form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="evidence-error"' in page and "成年後見人の確認書類ではありません" in page and "後見開始の審判" in page
    recorded = client.post("/admin/resident-representations/", data={**form, "evidence": "guardianship_certificate"})
    page = recorded.get_data(as_text=True)
    assert recorded.status_code == 200 and "法定代理人を記録しました" in page
    assert page.count("成年後見人") >= 1 and page.count(family["child"].common_id) >= 2
