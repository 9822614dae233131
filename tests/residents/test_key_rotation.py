"""A key rotation opens no window (renkei issue 50 item 3): between the restart with a new key first in the
ring and `renkei residents rotate-key`, residents still under the old key are found by a re-enrolment, a
card renewal and the desk's search (never a second person); and renkei refuses to start with a ring that
cannot read the residents' items, naming the key (never its material), as `renkei check` does."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from admin.config import ConfigurationError
from core.actor import Actor
from core.errors import Conflict
from residents import operations as residents
from residents.crypto import new_key_entry, parse_keys
from residents.models import Resident, ResidentReview
from tests.residents.conftest import KUMAMOTO, desk, person

CARD = "https://card.example.jp"


def entry(ring, index: int = 0) -> str:
    key_id, key = ring.keys[index]
    return f"{key_id}:{base64.urlsafe_b64encode(key).decode()}"


def rotating(old):
    """The ring of the documented order's middle step: a new key k2 first, the old one after it."""
    return parse_keys(f"{new_key_entry('k2')},{entry(old)}")


def common_ids(db) -> list[str]:
    return list(db.scalars(sa.select(Resident.common_id).where(Resident.common_id.is_not(None))))


def test_during_a_rotation_a_re_enrolment_goes_to_review_and_the_desk_finds_the_person(db, consent_setup, keys):
    first = residents.enrol(db, desk(), keys, person()).resident
    namesake = residents.enrol(db, desk(), keys, person(full_name="佐藤 花子", birth_date="1990-01-02", sex="2")).resident
    db.commit()
    ring = rotating(keys)  # the app restarted with k2 first; rotate-key has not run yet
    again = residents.enrol(db, desk(), ring, person(full_name="高橋　太郎", address="熊本市中央区水前寺６－１８－１"))
    assert again.resident.common_id is None and again.review.matched_id == first.id
    assert (again.review.reason.value, again.review.address_matches) == ("basic_four", True)
    # only the date of birth differs (a typing error at the counter): review too, not a second person
    typo = residents.enrol(db, desk(), ring, person(full_name="佐藤 花子", birth_date="1990-01-03", sex="2"))
    assert (typo.review.reason.value, typo.review.matched_id) == ("birth_date_differs", namesake.id)
    db.commit()
    assert sorted(common_ids(db)) == sorted([first.common_id, namesake.common_id])
    found = residents.search_by_name(db, desk(), ring, KUMAMOTO, reason="本人からの照会", full_name="髙橋太郎")
    assert [row["common_id"] for row in found] == [first.common_id, None]  # and the enrolment waiting for review
    # after the rotation, the new key alone still finds everyone
    residents.rotate_key(db, Actor(issuer="urn:test", subject="op", roles=frozenset({"platform-operator"})), ring)
    db.commit()
    only_new = parse_keys(entry(ring))
    assert residents.enrol(db, desk(), only_new, person()).review.matched_id == first.id


def test_during_a_rotation_a_renewed_card_and_a_moved_address_find_the_person(db, consent_setup, keys):
    resident = Actor(issuer=CARD, subject="card-0001", name="髙橋 太郎")
    card = {"verification": "provider", "issuer": CARD}
    signed = residents.sign_in_person(db, resident, keys, person(**card, subject="card-0001"))
    db.commit()
    assert signed.how == "enrolled" and signed.resident.common_id
    ring = rotating(keys)
    renewed = residents.sign_in_person(db, Actor(issuer=CARD, subject="card-0002"), ring, person(**card, subject="card-0002"))
    db.commit()
    assert renewed.resident.common_id is None and renewed.review.matched_id == signed.resident.id
    assert common_ids(db) == [signed.resident.common_id]
    # the known card with a moved address: the items are written anew, not held as another person's
    known = residents.sign_in_person(db, resident, ring, person(**card, subject="card-0001", address="熊本市東区東町4丁目1-1"))
    assert known.how == "known"
    refreshed = residents.refresh_claims(db, resident, ring, known.resident,
                                         person(**card, subject="card-0001", address="熊本市東区東町4丁目1-1"), "カード")
    db.commit()
    assert refreshed.changed == ("address",) and refreshed.review is None
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentReview)) == 1  # the renewal's only


def _app_with(app, tmp_path, keys_text: str, **settings):
    from admin import create_app

    return create_app({**{k: v for k, v in app.config.items() if k.startswith(("RENKEI_", "SECRET", "SQLALCHEMY"))},
                       "TESTING": True, "RENKEI_VAR_DIR": str(tmp_path), "RENKEI_RESIDENT_KEYS": keys_text, **settings})


def test_renkei_refuses_to_start_with_a_ring_that_cannot_read_the_residents_and_says_which_key(app, db, consent_setup,
                                                                                               keys, tmp_path):
    for n in range(3):
        residents.enrol(db, desk(), keys, person(full_name=f"住民 {n}"))
    db.commit()
    ring = rotating(keys)
    only_new = entry(ring)
    with pytest.raises(ConfigurationError) as refused:  # the old key dropped before the rotation
        _app_with(app, tmp_path, only_new)
    said = str(refused.value)
    assert "3 resident(s)' items are sealed under the key 'k1'" in said and "rotate-key" in said
    assert "鍵 k1" in said
    assert entry(keys).split(":")[1] not in said and only_new.split(":")[1] not in said  # never the key material
    with pytest.raises(ConfigurationError, match="key 'k1' of the residents' key ring .* is not the key"):
        _app_with(app, tmp_path, f"{only_new},{new_key_entry('k1')}")  # a k1, but not the one they were sealed with
    # the documented order's ring starts, and so does the commands' app (which `renkei check` then speaks for)
    assert _app_with(app, tmp_path, f"{only_new},{entry(keys)}") is not None
    # after the rotation, an app given back the old key alone is refused too, naming the new one
    residents.rotate_key(db, Actor(issuer="urn:test", subject="op", roles=frozenset({"platform-operator"})), ring)
    db.commit()
    with pytest.raises(ConfigurationError, match="3 resident\\(s\\)' items are sealed under the key 'k2'"):
        _app_with(app, tmp_path, entry(keys))
    from admin import create_app

    assert create_app({**{k: v for k, v in app.config.items() if k.startswith(("RENKEI_", "SECRET", "SQLALCHEMY"))},
                       "TESTING": True, "RENKEI_VAR_DIR": str(tmp_path), "RENKEI_RESIDENT_KEYS": only_new},
                      check_data=False) is not None


def test_renkei_check_and_rotate_key_name_the_missing_key(app, db, consent_setup, keys, monkeypatch):
    residents.enrol(db, desk(), keys, person())
    db.commit()
    only_new = entry(rotating(keys))
    monkeypatch.setitem(app.config, "RENKEI_RESIDENT_KEYS", only_new)
    monkeypatch.setitem(app.extensions, "renkei_resident_keys", None)
    checked = app.test_cli_runner().invoke(args=["check", "--as", "unei"])
    assert checked.exit_code == 1
    assert "resident keys: 1 resident(s)' items are sealed under the key 'k1'" in checked.output
    assert only_new.split(":")[1] not in checked.output
    rotation = app.test_cli_runner().invoke(args=["residents", "rotate-key", "--as", "unei"])
    assert rotation.exit_code != 0 and "'k1'" in rotation.output and "鍵 k1" in rotation.output
    db.expire_all()
    assert set(db.scalars(sa.text("SELECT key_id FROM resident"))) == {"k1"}  # nothing rewritten
    with pytest.raises(Conflict):
        residents.rotate_key(db, Actor(issuer="urn:test", subject="op", roles=frozenset({"platform-operator"})),
                             parse_keys(only_new))
    # with the old key after the new one, check passes and the rotation runs
    monkeypatch.setitem(app.config, "RENKEI_RESIDENT_KEYS", f"{only_new},{entry(keys)}")
    monkeypatch.setitem(app.extensions, "renkei_resident_keys", None)
    passed = app.test_cli_runner().invoke(args=["check", "--as", "unei"])
    assert passed.exit_code == 0 and "resident keys: 2" in passed.output, passed.output
    assert app.test_cli_runner().invoke(args=["residents", "rotate-key", "--as", "unei"]).exit_code == 0


def test_an_erased_resident_holds_nothing_to_read_and_neither_blocks_the_rotation_nor_the_check(app, db, consent_setup,
                                                                                                keys):
    import datetime as dt

    from core.db import utcnow
    from residents import portal_records

    operator = Actor(issuer="urn:test", subject="op", roles=frozenset({"platform-operator"}))
    gone = residents.enrol(db, desk(), keys, person()).resident
    kept = residents.enrol(db, desk(), keys, person(full_name="佐藤 花子", birth_date="1990-01-02", sex="2")).resident
    db.commit()
    portal_records.leave(db, Actor(issuer=CARD, subject="card-0001", name="髙橋 太郎"), gone)
    db.commit()
    assert portal_records.erase_left(db, operator, days=365, now=utcnow() + dt.timedelta(days=800)) == 1
    db.commit()
    ring = rotating(keys)
    assert residents.unreadable_keys(db, parse_keys(entry(ring))) == [
        residents.UnreadableKey("k1", 1, missing=True)]  # the one left to read, not the erased one
    assert residents.rotate_key(db, operator, ring) == {"rewritten": 1, "residents": 2}
    db.commit()
    assert residents.unreadable_keys(db, parse_keys(entry(ring))) == []
    assert residents.look_up(db, desk(), parse_keys(entry(ring)), KUMAMOTO, common_id=kept.common_id,
                             reason="鍵の交換の確認")["full_name"] == "佐藤 花子"
