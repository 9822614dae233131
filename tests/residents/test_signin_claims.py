"""Each sign-in keeps what the provider verified (issue 42 item 4): a known person's changed address or name
(moved house, a renewed certificate) replaces what renkei held, sealed, with the name's blind index; the change
is audited without its values and told to the resident on the portal's front page; a change that makes the
person match another enrolled person is not merged silently but waits for review."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from residents import operations as residents
from residents import signin
from residents.models import Resident, ResidentReview, ResidentStatus
from tests.residents.conftest import KUMAMOTO, desk, person
from tests.residents.test_signin_rules import card, claims  # noqa: F401  (the fixture)


@pytest.fixture
def keys(app):
    """The app's own key ring (not the suite's test ring): these tests open the portal's pages, which read the
    residents' items with it, as production does."""
    from admin.resident_keys import keyring

    with app.app_context():
        return keyring()


MOVED = "熊本県熊本市東区東町4丁目1-1"


def _records(db, action: str) -> list[AuditRecord]:
    return list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)))


def test_a_changed_address_is_kept_sealed_audited_without_values_and_shown_on_the_portal(app, client, db, card, keys,
                                                                                          monkeypatch):
    first = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000101"))
    db.commit()
    again = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000101", renkei_address=MOVED))
    db.commit()
    assert again.resident_id == first.resident_id and again.how == "known"
    resident = db.get(Resident, first.resident_id)
    assert residents.personal_items(resident, keys, ("address",)) == {"address": MOVED}
    assert "東町" not in resident.address  # ciphertext
    records = _records(db, "resident.claims.update")
    assert len(records) == 1
    after = json.loads(records[0].after)
    assert after["items"] == ["address"] and after["issuer"] == "https://card.example.jp"
    assert "東町" not in records[0].after and "髙橋" not in records[0].after and "水前寺" not in records[0].after

    # the resident sees it on the portal's front page, in Japanese and English
    monkeypatch.setitem(app.config, "RENKEI_PORTAL_TENANT", KUMAMOTO)
    with client.session_transaction() as session:
        session["resident"] = {"resident_id": resident.id, "tenant_code": KUMAMOTO, "common_id": resident.common_id,
                               "status": "active", "provider": "mynumber-card", "assurance_level": 3,
                               "signed_in_at": "2026-11-25T10:00:00+00:00", "seen": time.time()}
    page = client.get("/portal/").get_data(as_text=True)
    assert 'id="updated-from-card"' in page and "住所" in page and "カードの情報で更新しました" in page
    assert "address were updated from the card" in client.get("/portal/?lang=en").get_data(as_text=True)

    # the same claims again change nothing (a width or spacing of the card's form is no change either)
    signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000101", renkei_address=MOVED, renkei_name="髙橋　太郎"))
    db.commit()
    assert len(_records(db, "resident.claims.update")) == 1


def test_a_changed_name_is_found_by_the_name_search_under_the_new_name(db, card, keys):
    first = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000102", renkei_name="山田 花子", renkei_gender="female"))
    db.commit()
    signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000102", renkei_name="鈴木 花子", renkei_gender="female"))
    db.commit()
    found = residents.search_by_name(db, desk(), keys, KUMAMOTO, reason="改姓の確認", full_name="鈴木 花子")
    assert [row["common_id"] for row in found] == [first.common_id]
    assert residents.search_by_name(db, desk(), keys, KUMAMOTO, reason="改姓の確認", full_name="山田 花子") == []
    after = json.loads(_records(db, "resident.claims.update")[0].after)
    assert after["items"] == ["full_name"] and "花子" not in _records(db, "resident.claims.update")[0].after


def test_a_change_that_matches_another_person_waits_for_review(db, card, keys):
    other = residents.enrol(db, desk(), keys, person(full_name="佐藤 花子", birth_date="1985-05-05", sex="2")).resident
    first = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000103", renkei_name="山田 花子",
                                                      renkei_birthdate="1985-05-05", renkei_gender="female"))
    db.commit()
    for _ in range(2):  # signing in twice with the same change opens one review
        signed = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000103", renkei_name="佐藤 花子",
                                                           renkei_birthdate="1985-05-05", renkei_gender="female"))
        db.commit()
    assert signed.resident_id == first.resident_id and signed.common_id == first.common_id
    resident = db.get(Resident, first.resident_id)
    assert residents.personal_items(resident, keys, ("full_name",)) == {"full_name": "山田 花子"}  # not applied
    reviews = list(db.scalars(sa.select(ResidentReview)))
    assert len(reviews) == 1 and reviews[0].matched_id == other.id
    assert db.get(Resident, reviews[0].candidate_id).status is ResidentStatus.review
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident).where(Resident.common_id.is_not(None))) == 2
    held = _records(db, "resident.claims.review")
    assert len(held) == 1 and "花子" not in held[0].after and other.common_id in held[0].after
    assert _records(db, "resident.claims.update") == []
    # the desk's queue says whose sign-in it is
    listed = residents.list_reviews(db, desk(), KUMAMOTO)
    assert [(row["matched_common_id"], row["claims_of_common_id"]) for row in listed] == [(other.common_id, first.common_id)]


def test_the_desk_decides_a_held_change_and_no_second_common_id_is_issued(db, card, keys):
    other = residents.enrol(db, desk(), keys, person(full_name="佐藤 花子", birth_date="1985-05-05", sex="2")).resident
    first = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000104", renkei_name="山田 花子",
                                                      renkei_birthdate="1985-05-05", renkei_gender="female"))
    signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000104", renkei_name="佐藤 花子",
                                              renkei_birthdate="1985-05-05", renkei_gender="female"))
    db.commit()
    review = db.scalar(sa.select(ResidentReview))
    residents.decide_review(db, desk(), KUMAMOTO, review.id, same_person=False, reason="別人（同姓同名・同日生）と確認",
                            keys=keys)
    db.commit()
    resident = db.get(Resident, first.resident_id)
    assert residents.personal_items(resident, keys, ("full_name",)) == {"full_name": "佐藤 花子"}
    assert db.get(Resident, review.candidate_id).status is ResidentStatus.duplicate
    issued = db.scalars(sa.select(Resident.common_id).where(Resident.common_id.is_not(None))).all()
    assert sorted(issued) == sorted([first.common_id, other.common_id])
