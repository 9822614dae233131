"""The disclosure range (公開範囲, issue 42 item 5): per resident and linked service, the items of the service's
consent text that service may receive, set at the desk on the resident's behalf, kept as history, audited."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.errors import Invalid, NotFound, NotPermitted
from residents import operations as residents
from residents.models import ResidentDisclosure
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO, desk, person

ITEMS = {"氏名": {}, "住所": {}, "生年月日": {}}


def linked(db, consent_setup, keys):
    navi = consent_setup(text={"title": "同意", "body_ja": "利用します。", "purposes": ["案内"], "items": ITEMS})
    clinic = consent_setup(name="健康ポイント")
    common_id = residents.enrol(db, desk(), keys, person()).resident.common_id
    residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id, "service_user_id": "navi-user-0001",
                                                             "assurance_level": 3})
    resident_id = residents.enrolled_resident(db, KUMAMOTO, common_id).id
    return navi, clinic, common_id, resident_id


def test_a_range_allows_only_the_chosen_items_and_a_change_keeps_the_history(db, consent_setup, keys):
    navi, _, common_id, resident_id = linked(db, consent_setup, keys)
    assert residents.disclosed_items(db, resident_id, navi.id) == []  # nothing set: nothing disclosed
    residents.set_disclosure(db, desk(), KUMAMOTO, common_id,
                             {"service_id": navi.id, "items": ["生年月日", "氏名"], "reason": "本人の申出"})
    assert residents.disclosed_items(db, resident_id, navi.id) == ["氏名", "生年月日"]  # the text's order
    residents.set_disclosure(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id, "items": ["氏名"], "reason": "住所を外す"})
    assert residents.disclosed_items(db, resident_id, navi.id) == ["氏名"]
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentDisclosure)) == 2
    records = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.disclosure.set")
                         .order_by(AuditRecord.seq)).all()
    assert [(json.loads(r.before)["items"], json.loads(r.after)["items"], json.loads(r.after)["reason"]) for r in records] == [
        ([], ["氏名", "生年月日"], "本人の申出"), (["氏名", "生年月日"], ["氏名"], "住所を外す")]


def test_only_the_texts_items_a_linked_service_and_the_own_desk(db, consent_setup, keys):
    navi, clinic, common_id, _ = linked(db, consent_setup, keys)
    with pytest.raises(Invalid):  # not an item of the service's consent text
        residents.set_disclosure(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id, "items": ["年収"], "reason": "申出"})
    with pytest.raises(Invalid):  # the resident is not linked to that service
        residents.set_disclosure(db, desk(), KUMAMOTO, common_id, {"service_id": clinic.id, "items": [], "reason": "申出"})
    with pytest.raises(Invalid):  # a reason is required
        residents.set_disclosure(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id, "items": ["氏名"]})
    with pytest.raises(NotPermitted):
        residents.set_disclosure(db, desk(YATSUSHIRO), KUMAMOTO, common_id,
                                 {"service_id": navi.id, "items": ["氏名"], "reason": "申出"})
    with pytest.raises(NotFound):
        residents.set_disclosure(db, desk(YATSUSHIRO), YATSUSHIRO, common_id,
                                 {"service_id": navi.id, "items": ["氏名"], "reason": "申出"})
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentDisclosure)) == 0
