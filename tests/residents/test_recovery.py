"""Recovery (issue 42 item 3): a wrong link split by two people of the residents' desk, two common IDs of one
person merged by two; the proposer never approves; nothing is deleted; the records made under a wrong link
are marked; the service and the resident are told; consents follow a merge with where they came from; the
brokerage and the translation by either ID's links reach the same person; another municipality gets nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.errors import Conflict, NotFound, NotPermitted
from core.outbox import Notification
from residents.consent import operations as consent
from residents.consent.check import consent_check
from residents.consent.models import LinkageRecord
from residents import brokerage, operations as residents, recovery
from residents.models import LinkageMark, Resident, ResidentNotice, ResidentStatus, ServiceLink
from tenancy.identity.models import ApiClient
from tests.consent.conftest import BROKER, clerk
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO, api_client, desk, person

TEXT = {"title": "くらしナビへの情報提供の同意", "body_ja": "氏名・住所を案内に利用します。", "purposes": ["行政サービスの案内"],
        "items": {"氏名": {}, "住所": {}}}


def second_desk(code: str = KUMAMOTO) -> Actor:
    return Actor(issuer="urn:test", subject=f"desk2-{code}", name=f"住民窓口 二人目 {code}",
                 roles=frozenset({"resident-desk"}), tenant_codes=frozenset({code}))


def enrolled(db, keys, **fields) -> str:
    return residents.enrol(db, desk(), keys, person(**fields)).resident.common_id


def link(db, common_id, service, user_id):
    residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": service.id, "service_user_id": user_id,
                                                             "assurance_level": 3})


def give(db, service, user_id):
    text = consent.current_text(db, service)
    consent.give_consent(db, clerk(), {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": user_id,
                                       "content_hash": text.content_hash, "method": "paper", "assurance_level": 3})


def check(db, service, user_id):
    return consent_check(db, BROKER, {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": user_id,
                                      "items": ["氏名"], "purpose": "行政サービスの案内"})


def test_a_wrong_link_split_by_two_marks_its_records_and_tells_the_service_and_the_resident(db, consent_setup, keys):
    navi = consent_setup(name="くらしナビ", text=TEXT)
    other = consent_setup(name="健康ポイント", text=TEXT)
    common_id = enrolled(db, keys)
    link(db, common_id, navi, "navi-user-0001")
    give(db, navi, "navi-user-0001")
    db.commit()
    before = check(db, other, "navi-user-0001")  # another service's record about a same-looking ID: not marked
    under = [check(db, navi, "navi-user-0001").linkage_seq, check(db, navi, "navi-user-0001").linkage_seq]
    db.commit()

    proposal = recovery.propose_split(db, desk(), KUMAMOTO, common_id, navi.id, "別人の利用者IDと連携していた")
    db.commit()
    with pytest.raises(recovery.OwnProposal):  # four eyes: the proposer cannot approve
        recovery.approve(db, desk(), KUMAMOTO, proposal.id)
    db.rollback()
    with pytest.raises(NotPermitted):  # another municipality's desk gets nothing
        recovery.approve(db, desk(YATSUSHIRO), KUMAMOTO, proposal.id)
    db.rollback()
    with pytest.raises(NotFound):
        recovery.approve(db, desk(YATSUSHIRO), YATSUSHIRO, proposal.id)
    db.rollback()
    assert db.get(ServiceLink, proposal.link_id).ended_at is None  # nothing happened yet
    done = recovery.approve(db, second_desk(), KUMAMOTO, proposal.id, "申出書で確認")
    db.commit()

    assert done["marked"] == sorted(under)
    assert recovery.marked_records(db, proposal.id) == sorted(under) and before.linkage_seq not in done["marked"]
    assert db.scalar(sa.select(sa.func.count()).select_from(LinkageRecord)) == 3  # the records themselves kept
    ended = db.get(ServiceLink, proposal.link_id)  # kept, ended: when, by whom, why
    assert ended.ended_at is not None and ended.ended_by == "住民窓口 二人目 431001"
    assert ended.ended_reason == "別人の利用者IDと連携していた"
    # the link no longer answers: the service learns nothing more about the person through it
    assert residents.service_view(db, navi.id, "navi-user-0001") is None
    with pytest.raises(NotFound):
        residents.look_up(db, desk(), keys, KUMAMOTO, reason="確認", service_id=navi.id, service_user_id="navi-user-0001")
    # the right person may be linked to that user ID now
    right = enrolled(db, keys, full_name="別の 人", birth_date="1990-01-01")
    link(db, right, navi, "navi-user-0001")
    db.commit()
    [mail] = db.scalars(sa.select(Notification).where(Notification.kind == "resident.link_split")).all()
    assert mail.tenant_code == KUMAMOTO and "navi-user-0001" in mail.body and "2 件" in mail.body
    assert common_id not in mail.body and "別人の利用者ID" not in mail.body  # no common ID, no staff's words
    resident_id = db.scalar(sa.select(Resident.id).where(Resident.common_id == common_id))
    [notice] = recovery.notices_for(db, resident_id)
    assert notice.kind == "resident.link_split" and "navi-user-0001" in notice.body_ja and notice.recovery_id == proposal.id
    actions = [(r.action, r.actor_subject) for r in db.scalars(sa.select(AuditRecord).where(
        AuditRecord.action.like("resident.recovery.%")).order_by(AuditRecord.seq))]
    assert actions == [("resident.recovery.propose", "desk-431001"), ("resident.recovery.approve", "desk2-431001")]
    every = " ".join(f"{r.before} {r.after}" for r in db.scalars(sa.select(AuditRecord)))
    assert "髙橋" not in every and "水前寺" not in every and "1980" not in every


def test_refused_and_cancelled_proposals_change_nothing_and_each_needs_its_person(db, consent_setup, keys):
    navi = consent_setup(name="くらしナビ", text=TEXT)
    common_id = enrolled(db, keys)
    link(db, common_id, navi, "navi-user-0001")
    first = recovery.propose_split(db, desk(), KUMAMOTO, common_id, navi.id, "確認のため")
    with pytest.raises(Conflict):  # one open proposal at a time about the resident
        recovery.propose_split(db, second_desk(), KUMAMOTO, common_id, navi.id, "二重の提案")
    with pytest.raises(recovery.OwnProposal):  # the proposer cancels, never refuses
        recovery.refuse(db, desk(), KUMAMOTO, first.id, "自分で却下")
    with pytest.raises(recovery.NotTheProposer):
        recovery.cancel(db, second_desk(), KUMAMOTO, first.id, "他人が取下げ")
    assert recovery.refuse(db, second_desk(), KUMAMOTO, first.id, "連携は正しい").status.value == "refused"
    second = recovery.propose_split(db, desk(), KUMAMOTO, common_id, navi.id, "再度の確認")
    assert recovery.cancel(db, desk(), KUMAMOTO, second.id, "提案の誤り").status.value == "cancelled"
    db.commit()
    with pytest.raises(Conflict):  # decided: no second decision
        recovery.approve(db, second_desk(), KUMAMOTO, second.id)
    db.rollback()
    assert db.scalar(sa.select(ServiceLink.ended_at)) is None
    assert [row["status"] for row in recovery.list_recoveries(db, desk(), KUMAMOTO, open_only=False)] == [
        "cancelled", "refused"]
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentNotice)) == 0


def test_a_merge_keeps_both_consent_histories_with_their_origin_and_either_ids_links_reach_the_survivor(
        db, consent_setup, keys):
    a_client, b_client = api_client(db, "くらしナビ"), api_client(db, "健康ポイント")
    navi = consent_setup(name="くらしナビ", text=TEXT, api_client_id=a_client)
    health = consent_setup(name="健康ポイント", text=TEXT, api_client_id=b_client)
    survivor = enrolled(db, keys)
    # the same person enrolled again as a different one (the review decided wrongly): a second common ID
    enrolment = residents.enrol(db, desk(), keys, person(full_name="高橋　太郎"))
    residents.decide_review(db, desk(), KUMAMOTO, enrolment.review.id, False, "別人と判断")
    second = enrolment.resident.common_id
    link(db, survivor, navi, "navi-user-0001")
    link(db, second, health, "health-77-0001")
    for common_id, service in ((survivor, navi), (second, health)):
        residents.set_disclosure(db, desk(), KUMAMOTO, common_id, {"service_id": service.id, "items": ["氏名"],
                                                                   "reason": "本人の申出"})
    give(db, navi, "navi-user-0001")
    give(db, health, "health-77-0001")
    db.commit()
    assert residents.translate(db, health.id, "health-77-0001", navi.id) is None  # two people so far

    proposal = recovery.propose_merge(db, desk(), KUMAMOTO, survivor, second, "同一人物の二重登録")
    db.commit()
    with pytest.raises(recovery.OwnProposal):
        recovery.approve(db, desk(), KUMAMOTO, proposal.id)
    db.rollback()
    recovery.approve(db, second_desk(), KUMAMOTO, proposal.id, "券面で確認")
    db.commit()

    merged = db.scalar(sa.select(Resident).where(Resident.common_id == second))
    assert merged.status is ResidentStatus.merged and merged.merged_into_id is not None  # kept, marked
    view = residents.look_up(db, desk(), keys, KUMAMOTO, common_id=second, reason="統合の確認")  # resolves
    assert view["common_id"] == survivor and view["merged_from"] == [second]
    assert [(c["service_id"], c["event"], c["origin_common_id"]) for c in view["consents"]] == [
        (navi.id, "given", survivor), (health.id, "given", second)]
    assert {link["service_user_id"]: link["origin_common_id"] for link in view["links"]} == {
        "navi-user-0001": survivor, "health-77-0001": second}
    # translation by either ID's links reaches the same person
    assert residents.translate(db, health.id, "health-77-0001", navi.id) == "navi-user-0001"
    assert residents.translate(db, navi.id, "navi-user-0001", health.id) == "health-77-0001"
    # the brokerage by the merged ID's link answers with the surviving person's items and range
    health_actor = Actor(issuer="urn:test", subject="svc-health", roles=frozenset({"brokerage-client"}), client_id=b_client)
    answer = brokerage.broker(db, health_actor, keys, {"service_id": health.id, "service_user_id": "health-77-0001",
                                                       "items": ["氏名"], "purpose": "行政サービスの案内"})
    assert answer.allowed and answer.items == {"氏名": "髙橋 太郎"}
    navi_actor = Actor(issuer="urn:test", subject="svc-navi", roles=frozenset({"brokerage-client"}), client_id=a_client)
    assert brokerage.broker(db, navi_actor, keys, {"service_id": navi.id, "service_user_id": "navi-user-0001",
                                                   "items": ["氏名"], "purpose": "行政サービスの案内"}).allowed
    db.commit()
    mails = db.scalars(sa.select(Notification).where(Notification.kind == "resident.merged")).all()
    assert ["health-77-0001" in m.body for m in mails] == [True]  # the service whose user moved
    assert all(survivor not in m.body and second not in m.body for m in mails)
    [notice] = recovery.notices_for(db, merged.merged_into_id)
    assert survivor in notice.body_ja and second in notice.body_ja
    after = json.loads(db.scalar(sa.select(AuditRecord.after).where(AuditRecord.action == "resident.recovery.approve")))
    assert after["common_id"] == survivor and after["merged_common_id"] == second and after["reason"] == "同一人物の二重登録"


def test_a_merge_of_two_ids_linked_to_one_service_waits_for_a_split_and_others_get_nothing(db, consent_setup, keys):
    navi = consent_setup(name="くらしナビ", text=TEXT)
    first = enrolled(db, keys)
    second = enrolled(db, keys, full_name="別の 人", birth_date="1990-01-01")
    link(db, first, navi, "navi-user-0001")
    link(db, second, navi, "navi-user-0002")
    with pytest.raises(Conflict):
        recovery.propose_merge(db, desk(), KUMAMOTO, first, second, "同一人物")
    with pytest.raises(NotPermitted):
        recovery.propose_merge(db, desk(YATSUSHIRO), KUMAMOTO, first, second, "同一人物")
    with pytest.raises(NotFound):
        recovery.propose_merge(db, desk(YATSUSHIRO), YATSUSHIRO, first, second, "同一人物")
    with pytest.raises(NotPermitted):
        recovery.list_recoveries(db, desk(YATSUSHIRO), KUMAMOTO)
    assert recovery.list_recoveries(db, desk(YATSUSHIRO), YATSUSHIRO) == []
    assert db.scalar(sa.select(sa.func.count()).select_from(LinkageMark)) == 0
