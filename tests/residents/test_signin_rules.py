"""The sign-in's rules without Keycloak (residents.signin.sign_in with an ID token's claims as the residents'
realm gives them): the provider must be one renkei knows; without the 基本4情報 nobody is enrolled; the sex
the provider gives in either form; a renewal that fits more than one person goes to review."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.errors import Conflict, Invalid
from residents import operations as residents
from residents import signin
from residents.models import Resident, ResidentIdentity, ResidentProvider, ResidentReview, ResidentSignIn
from tests.residents.conftest import KUMAMOTO, desk, person

ISSUER = "https://card.example.jp"


def claims(subject: str, **fields) -> dict:
    return {"renkei_idp": "mynumber-card", "renkei_subject": subject, "renkei_name": "髙橋 太郎",
            "renkei_address": "熊本県熊本市中央区水前寺六丁目18番1号", "renkei_birthdate": "1980-04-01",
            "renkei_gender": "male", **fields}


@pytest.fixture
def card(db, consent_setup):
    db.add(ResidentProvider(alias="mynumber-card", display_name="マイナンバーカード", issuer=ISSUER,
                            discovery_url=f"{ISSUER}/.well-known/openid-configuration", assurance_level=3, created_by="test"))
    db.commit()


def test_a_sign_in_through_a_provider_renkei_does_not_know_is_refused(db, card, keys):
    with pytest.raises(Invalid):
        signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000001", renkei_idp="elsewhere"))
    with pytest.raises(Invalid):
        signin.sign_in(db, keys, KUMAMOTO, {key: value for key, value in claims("sub-00000001").items()
                                            if key != "renkei_idp"})
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident)) == 0


def test_without_the_basic_four_nobody_is_enrolled(db, card, keys):
    with pytest.raises(Invalid) as refused:
        signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000002", renkei_address=""))
    assert "基本4情報" in refused.value.message_ja
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident)) == 0


@pytest.mark.parametrize("given, sex", [("male", "1"), ("female", "2"), ("2", "2"), ("1", "1"), ("9", "9")])
def test_the_sex_is_read_in_the_provider_s_words(db, card, keys, given, sex):
    signed = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000003", renkei_gender=given))
    resident = db.get(Resident, signed.resident_id)
    assert residents.personal_items(resident, keys, ("sex",)) == {"sex": sex}
    assert signed.assurance_level == 3 and signed.how == "enrolled" and signed.common_id


def test_a_renewal_that_fits_two_people_goes_to_review(db, card, keys):
    first = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000004"))
    # a second person of the same 基本4情報 and provider (enrolled at the counter with their identifier there),
    # decided by the desk to be someone else
    second = residents.enrol(db, desk(), keys, person(issuer=ISSUER, subject="sub-00000005")).resident
    assert second.common_id is None
    review = db.scalar(sa.select(ResidentReview))
    residents.decide_review(db, desk(), KUMAMOTO, review.id, same_person=False, reason="別人と確認（同姓同名・同日生）")
    db.commit()
    renewed = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000006"))
    assert renewed.how == "enrolled" and renewed.status == "review" and renewed.common_id is None
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentReview)) == 2
    # the identifier already known is the person, whatever else matches
    again = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000004"))
    assert (again.how, again.common_id) == ("known", first.common_id)
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentSignIn)) == 3


def test_a_counter_enrolment_and_then_a_renewal(db, card, keys):
    """A person enrolled at the counter, then signed in (review; the desk decides the same person: the
    identifier moves to them), then renewed with a new identifier: the name alone joins no one, so the renewal
    waits for the desk too, which joins it to the same person."""
    counter = residents.enrol(db, desk(), keys, person()).resident
    db.commit()
    signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000007"))
    review = db.scalar(sa.select(ResidentReview))
    residents.decide_review(db, desk(), KUMAMOTO, review.id, same_person=True, reason="窓口で本人確認済み")
    db.commit()
    renewed = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000008"))
    assert (renewed.how, renewed.status, renewed.common_id) == ("enrolled", "review", None)
    review = db.scalar(sa.select(ResidentReview).where(ResidentReview.candidate_id == renewed.resident_id))
    assert review.matched_id == counter.id
    residents.decide_review(db, desk(), KUMAMOTO, review.id, same_person=True, reason="証明書の更新と確認")
    db.commit()
    again = signin.sign_in(db, keys, KUMAMOTO, claims("sub-00000008"))
    assert (again.how, again.common_id) == ("known", counter.common_id)
    assert {row.subject for row in db.scalars(sa.select(ResidentIdentity).where(
        ResidentIdentity.resident_id == counter.id))} == {"sub-00000007", "sub-00000008"}


MISAKI = {"renkei_name": "田中 美咲", "renkei_birthdate": "1992-07-15", "renkei_gender": "female"}


def test_two_card_holders_of_one_name_birth_date_and_sex_never_share_a_common_id(db, card, keys):
    """Renkei issue 50 item 2: two 田中 美咲, born the same day, living in different towns, each with their own
    identifier at the card's provider. The second's sign-in waits for the desk's review: no shared common ID,
    the first's address untouched, neither sees the other's sign-ins."""
    first = signin.sign_in(db, keys, KUMAMOTO, claims("sub-misaki-1", renkei_address="熊本県熊本市中央区水前寺一丁目1番1号",
                                                       **MISAKI))
    db.commit()
    second = signin.sign_in(db, keys, KUMAMOTO, claims("sub-misaki-2", renkei_address="熊本県熊本市北区植木町岩野238番地",
                                                        **MISAKI))
    db.commit()
    assert first.how == "enrolled" and first.common_id
    assert (second.how, second.status, second.common_id) == ("enrolled", "review", None)
    assert second.resident_id != first.resident_id
    review = db.scalar(sa.select(ResidentReview).where(ResidentReview.candidate_id == second.resident_id))
    assert review.matched_id == first.resident_id and review.reason.value == "basic_four" and not review.address_matches
    held = residents.personal_items(db.get(Resident, first.resident_id), keys, ("address",))
    assert held == {"address": "熊本県熊本市中央区水前寺一丁目1番1号"}
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentSignIn)
                     .where(ResidentSignIn.resident_id == first.resident_id)) == 1
    # the same address would not join them either: only the provider's identifier or the desk does
    third = signin.sign_in(db, keys, KUMAMOTO, claims("sub-misaki-3", renkei_address="熊本県熊本市中央区水前寺一丁目1番1号",
                                                       **MISAKI))
    assert (third.status, third.common_id) == ("review", None)
    # the desk says the second is someone else: her own common ID, her own address
    residents.decide_review(db, desk(), KUMAMOTO, review.id, same_person=False, reason="別人（住所・写真で確認）")
    db.commit()
    again = signin.sign_in(db, keys, KUMAMOTO, claims("sub-misaki-2", renkei_address="熊本県熊本市北区植木町岩野238番地",
                                                       **MISAKI))
    assert again.how == "known" and again.common_id and again.common_id != first.common_id
    assert residents.personal_items(db.get(Resident, first.resident_id), keys, ("address",)) == held


@pytest.mark.parametrize("differs, reason", [({"birth_date": "1980-04-02"}, "birth_date_differs"),
                                             ({"sex": "2"}, "sex_differs")])
def test_a_person_differing_only_in_birth_date_or_sex_goes_to_review(db, consent_setup, keys, differs, reason):
    first = residents.enrol(db, desk(), keys, person()).resident
    second = residents.enrol(db, desk(), keys, person(**differs))
    assert second.resident.common_id is None and second.review is not None
    assert (second.review.matched_id, second.review.reason.value) == (first.id, reason)
    # a namesake elsewhere differing in the date of birth only: another person (a common name never floods the queue)
    elsewhere = residents.enrol(db, desk(), keys, person(birth_date="1980-04-03", address="熊本市東区新南部1-1-1"))
    assert elsewhere.review is None and elsewhere.resident.common_id
    # both differing: another person, a common ID of their own
    other = residents.enrol(db, desk(), keys, person(birth_date="1975-01-01", sex="9"))
    assert other.review is None and other.resident.common_id


def test_a_namesake_of_a_person_who_left_is_not_told_they_left(db, card, keys):
    """Renkei issue 50 item 6: leaving is the person's own status. A namesake (same 基本4情報, another identifier)
    who never enrolled is not refused as 退会済み: their enrolment waits for the desk, which tells them apart."""
    from residents.portal_records import leave
    from residents.portal import resident_actor

    left = signin.sign_in(db, keys, KUMAMOTO, claims("sub-left-1"))
    db.commit()
    leave(db, resident_actor(db, left.resident_id, "mynumber-card"), db.get(Resident, left.resident_id))
    db.commit()
    with pytest.raises(Conflict) as refused:  # the person who left, by their identifier
        signin.sign_in(db, keys, KUMAMOTO, claims("sub-left-1"))
    assert "退会" in refused.value.message_ja
    namesake = signin.sign_in(db, keys, KUMAMOTO, claims("sub-namesake-2"))
    db.commit()
    assert (namesake.status, namesake.common_id) == ("review", None)
    review = db.scalar(sa.select(ResidentReview).where(ResidentReview.candidate_id == namesake.resident_id))
    assert (review.matched_id, review.reason.value) == (left.resident_id, "left_person")
    residents.decide_review(db, desk(), KUMAMOTO, review.id, same_person=False, reason="別人と確認")
    db.commit()
    again = signin.sign_in(db, keys, KUMAMOTO, claims("sub-namesake-2"))
    assert again.how == "known" and again.common_id and again.common_id != left.common_id


def test_a_portal_that_names_no_registered_municipality_enrols_no_one(db, card, keys):
    from core.errors import Unavailable

    for tenant in ("", "439999"):
        with pytest.raises(Unavailable):
            signin.sign_in(db, keys, tenant, claims("sub-00000009"))
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident)) == 0
