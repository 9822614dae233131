"""Enrolment at a counter: a common ID with its check character, the duplicate search by the provider's
identifier and by the 基本4情報 written other ways, the review queue; the items encrypted in the database
and readable after a key rotation; another municipality's desk finds no one; a service sees only its ID."""

from __future__ import annotations

import json

import sqlalchemy as sa
import pytest

from core.codes import common_id_check_character, is_common_id, is_my_number_shaped
from core.errors import Conflict, Invalid, NotFound, NotPermitted
from residents import operations as residents
from residents.crypto import new_key_entry, parse_keys
from residents.models import Resident
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO, desk, person

REASON = "転入手続きの本人確認"


def test_a_counter_enrolment_issues_a_common_id_with_a_valid_check_character(db, consent_setup, keys):
    enrolment = residents.enrol(db, desk(), keys, person())
    db.commit()
    common_id = enrolment.resident.common_id
    assert enrolment.review is None and is_common_id(common_id)
    assert not is_my_number_shaped(common_id) and len(common_id) == 16
    # a single wrong character is caught by the check character
    wrong = ("1" if common_id[3] != "1" else "2").join((common_id[:3], common_id[4:]))
    assert not is_common_id(wrong)
    assert common_id_check_character(common_id[:-1]) == common_id[-1]
    # two enrolments of different people get different IDs, neither derived from them
    other = residents.enrol(db, desk(), keys, person(full_name="佐藤 花子", birth_date="1990-01-02", sex="2"))
    assert other.resident.common_id != common_id


def test_the_same_person_written_in_other_widths_and_old_kanji_goes_to_review_not_a_second_id(db, consent_setup, keys):
    first = residents.enrol(db, desk(), keys, person())
    second = residents.enrol(db, desk(), keys, person(full_name="高橋　太郎", address="熊本市中央区水前寺６－１８－１",
                                                   verification="photo_id", assurance_level=2))
    db.commit()
    assert second.resident.common_id is None and second.review is not None
    assert (second.review.reason.value, second.review.address_matches) == ("basic_four", True)
    queue = residents.list_reviews(db, desk(), KUMAMOTO)
    assert [(item["matched_common_id"], item["status"]) for item in queue] == [(first.resident.common_id, "open")]
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident).where(Resident.common_id.is_not(None))) == 1
    # decided the same person: still one common ID, the review closed with its reason
    residents.decide_review(db, desk(), KUMAMOTO, second.review.id, True, "券面と住所が一致")
    assert residents.list_reviews(db, desk(), KUMAMOTO) == []
    with pytest.raises(Conflict):
        residents.decide_review(db, desk(), KUMAMOTO, second.review.id, False, "やり直し")
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident).where(Resident.common_id.is_not(None))) == 1


def test_a_provider_identifier_seen_before_is_the_same_person_even_with_other_items(db, consent_setup, keys):
    first = residents.enrol(db, desk(), keys, person(issuer="https://card.example", subject="card-subject-0001"))
    moved = residents.enrol(db, desk(), keys, person(full_name="髙橋 太朗", address="熊本市東区新南部1-1-1",
                                                  issuer="https://card.example", subject="card-subject-0001"))
    assert moved.resident.common_id is None
    assert (moved.review.reason.value, moved.review.address_matches) == ("provider_identifier", False)
    # decided a different person: the enrolment gets its own ID
    residents.decide_review(db, desk(), KUMAMOTO, moved.review.id, False, "別人（同姓同名）と確認")
    assert is_common_id(moved.resident.common_id) and moved.resident.common_id != first.resident.common_id


def test_the_same_items_in_another_municipality_are_another_person(db, consent_setup, keys):
    residents.enrol(db, desk(), keys, person())
    other = residents.enrol(db, desk(YATSUSHIRO), keys, person(tenant_code=YATSUSHIRO))
    assert other.review is None and is_common_id(other.resident.common_id)


def test_the_personal_columns_read_raw_from_the_database_are_ciphertext(db, consent_setup, keys):
    enrolment = residents.enrol(db, desk(), keys, person())
    db.commit()
    row = db.execute(sa.text("SELECT full_name, address, birth_date, sex, person_hash, address_hash FROM resident "
                             "WHERE common_id = :id"), {"id": enrolment.resident.common_id}).one()
    raw = " ".join(row)
    for plain in ("髙橋", "太郎", "水前寺", "熊本", "1980", "04-01"):
        assert plain not in raw
    assert all(value.startswith("v1:k1:") for value in row[:4])
    # the same value twice is two different ciphertexts (a fresh nonce each time)
    again = residents.enrol(db, desk(YATSUSHIRO), keys, person(tenant_code=YATSUSHIRO))
    db.commit()
    assert db.scalar(sa.text("SELECT full_name FROM resident WHERE id = :id"), {"id": again.resident.id}) != row[0]


def test_rotation_keeps_every_value_readable_and_matching_goes_on(db, consent_setup, operator, keys):
    enrolled = [residents.enrol(db, desk(), keys, person(full_name=f"住民 {n}", birth_date=f"19{50 + n}-02-03"))
                .resident.common_id for n in range(5)]
    db.commit()
    wrong_k1 = parse_keys(f"{new_key_entry('k2')},{new_key_entry('k1')}")  # k2 current, a k1 that is not the one used
    with pytest.raises(Conflict, match="key 'k1' .* is not the key 5 resident"):  # refused in words, nothing written
        residents.rotate_key(db, operator, wrong_k1)
    db.rollback()
    assert set(db.scalars(sa.text("SELECT DISTINCT key_id FROM resident"))) == {"k1"}
    ring = parse_keys(f"{new_key_entry('k2')},k1:{_encoded(keys)}")
    assert residents.rotate_key(db, operator, ring) == {"rewritten": 5, "residents": 5}
    db.commit()
    assert set(db.scalars(sa.text("SELECT DISTINCT key_id FROM resident"))) == {"k2"}
    only_new = parse_keys(ring_entry(ring, 0))
    for n, common_id in enumerate(enrolled):
        seen = residents.look_up(db, desk(), only_new, KUMAMOTO, common_id=common_id, reason=REASON)
        assert (seen["full_name"], seen["birth_date"]) == (f"住民 {n}", f"19{50 + n}-02-03")
    # the matching hashes moved with the key: the same person again still goes to review
    again = residents.enrol(db, desk(), only_new, person(full_name="住民　2", birth_date="1952-02-03"))
    assert again.review is not None
    # the operator who rotates the key is not the residents' desk: they read no one
    with pytest.raises(NotPermitted):
        residents.look_up(db, operator, only_new, KUMAMOTO, common_id=enrolled[0], reason=REASON)


def _encoded(keys) -> str:
    import base64

    return base64.urlsafe_b64encode(keys.keys[0][1]).decode()


def ring_entry(ring, index: int) -> str:
    import base64

    key_id, key = ring.keys[index]
    return f"{key_id}:{base64.urlsafe_b64encode(key).decode()}"


def test_every_view_needs_a_reason_and_is_audited_and_another_municipality_finds_no_one(db, consent_setup, keys):
    from core.audit import AuditRecord

    common_id = residents.enrol(db, desk(), keys, person()).resident.common_id
    db.commit()
    with pytest.raises(Invalid):
        residents.look_up(db, desk(), keys, KUMAMOTO, common_id=common_id, reason=" ")
    seen = residents.look_up(db, desk(), keys, KUMAMOTO, common_id=common_id, reason=REASON)
    assert (seen["full_name"], seen["address"], seen["sex"]) == ("髙橋 太郎", "熊本県熊本市中央区水前寺六丁目18番1号", "1")
    db.commit()
    views = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.view")).all()
    assert [(v.target_id, v.actor_subject, json.loads(v.after)["reason"]) for v in views] == [(common_id, "desk-431001", REASON)]
    # Yatsushiro's desk: not permitted for Kumamoto, and its own municipality has no such person
    with pytest.raises(NotPermitted):
        residents.look_up(db, desk(YATSUSHIRO), keys, KUMAMOTO, common_id=common_id, reason=REASON)
    with pytest.raises(NotFound):
        residents.look_up(db, desk(YATSUSHIRO), keys, YATSUSHIRO, common_id=common_id, reason=REASON)
    with pytest.raises(NotPermitted):
        residents.list_reviews(db, desk(YATSUSHIRO), KUMAMOTO)
    # a municipal admin or clerk of the same city is not the residents' desk either
    from tests.consent.conftest import admin_of, clerk

    for other in (admin_of(KUMAMOTO), clerk(KUMAMOTO)):
        with pytest.raises(NotPermitted):
            residents.look_up(db, other, keys, KUMAMOTO, common_id=common_id, reason=REASON)


def test_a_service_knows_the_person_only_by_its_own_id(db, consent_setup, keys):
    navi, clinic = consent_setup(), consent_setup(name="健康ポイント")
    common_id = residents.enrol(db, desk(), keys, person()).resident.common_id
    residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id, "service_user_id": "navi-user-0001",
                                                             "assurance_level": 3})
    residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": clinic.id, "service_user_id": "clinic-77-0001",
                                                             "method": "counter", "assurance_level": 2})
    with pytest.raises(Conflict):  # one link per person and service, one person per service's ID
        residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id,
                                                                 "service_user_id": "navi-user-0002", "assurance_level": 3})
    view = residents.service_view(db, navi.id, "navi-user-0001")
    assert view["service_user_id"] == "navi-user-0001" and view["assurance_level"] == 3
    assert common_id not in repr(view) and "clinic-77-0001" not in repr(view)
    assert residents.translate(db, navi.id, "navi-user-0001", clinic.id) == "clinic-77-0001"
    assert residents.translate(db, clinic.id, "clinic-77-0001", navi.id) == "navi-user-0001"
    assert residents.translate(db, navi.id, "navi-user-9999", clinic.id) is None
    # staff find the person by a service's user ID, within their own municipality only
    found = residents.look_up(db, desk(), keys, KUMAMOTO, service_id=clinic.id, service_user_id="clinic-77-0001",
                              reason=REASON)
    assert found["common_id"] == common_id and {link["service_user_id"] for link in found["links"]} == {
        "navi-user-0001", "clinic-77-0001"}
    with pytest.raises(NotFound):
        residents.look_up(db, desk(YATSUSHIRO), keys, YATSUSHIRO, service_id=clinic.id,
                          service_user_id="clinic-77-0001", reason=REASON)


def test_a_service_user_id_of_the_my_number_shape_is_refused(db, consent_setup, keys):
    navi = consent_setup()
    common_id = residents.enrol(db, desk(), keys, person()).resident.common_id
    with pytest.raises(Invalid):
        residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id, "service_user_id": "123456789018",
                                                                 "assurance_level": 3})


@pytest.mark.parametrize(("one", "other"), [
    ("熊本県熊本市中央区水前寺六丁目18番1号", "熊本市中央区水前寺６－１８－１"),
    ("熊本市中央区手取本町1丁目1番地", "熊本市 中央区 手取本町 一丁目1"),
    ("東京都千代田区霞が関一丁目２番２号", "千代田区霞が関1-2-2"),
])
def test_one_address_written_in_the_forms_a_jusho_takes_compares_the_same(one, other):
    from residents import normalise

    assert normalise.address(one) == normalise.address(other)
    assert normalise.address(one) != normalise.address(other + "0")


@pytest.mark.parametrize(("one", "other"), [("髙橋　太郎", "高橋太郎"), ("渡邉 﨑子", "渡辺崎子"), ("ｻｲﾄｳ", "サイトウ"),
                                            ("齋藤 眞", "斎藤 真")])
def test_one_name_in_other_widths_spaces_and_old_forms_compares_the_same(one, other):
    from residents import normalise

    assert normalise.name(one) == normalise.name(other)


def test_rotation_goes_through_more_residents_than_one_batch(db, consent_setup, operator, keys, monkeypatch):
    monkeypatch.setattr(residents, "ROTATION_BATCH", 2)
    enrolled = [residents.enrol(db, desk(), keys, person(full_name=f"住民 {n}")).resident.common_id for n in range(5)]
    db.commit()
    ring = parse_keys(f"{new_key_entry('k2')},k1:{_encoded(keys)}")
    assert residents.rotate_key(db, operator, ring) == {"rewritten": 5, "residents": 5}
    db.commit()
    names = {residents.look_up(db, desk(), parse_keys(ring_entry(ring, 0)), KUMAMOTO, common_id=c, reason=REASON)["full_name"]
             for c in enrolled}
    assert names == {f"住民 {n}" for n in range(5)}


def test_a_link_below_the_level_the_service_requires_is_refused(db, consent_setup, keys):
    card_only = consent_setup(name="マイナ手続きナビ", required_level=3)
    common_id = residents.enrol(db, desk(), keys, person()).resident.common_id
    with pytest.raises(Invalid) as refused:
        residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": card_only.id,
                                                                 "service_user_id": "navi-user-0003", "assurance_level": 2})
    assert refused.value.problems[0]["field"] == "assurance_level" and "3" in refused.value.message_ja
    link = residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": card_only.id,
                                                                    "service_user_id": "navi-user-0003", "assurance_level": 3})
    assert link.assurance_level == 3
