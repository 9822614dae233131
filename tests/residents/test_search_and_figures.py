"""The residents' desk's search by name with a reason (issue 42 item 8): found through the keyed hash of the
normalised name, only the rows found decrypted, the search and each person shown audited with the reason
(never the name); and the numbers for policy work, small counts suppressed so that none can be derived."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.errors import Invalid, NotPermitted
from residents.consent import operations as consent
from residents import figures, operations as residents
from residents.figures import Cell, suppress
from residents.models import Resident
from tests.consent.conftest import admin_of, clerk
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO, desk, person

REASON = "福祉課からの照会（本人の申出）"


def test_the_desk_finds_a_person_by_the_name_written_another_way_and_each_view_is_audited(db, consent_setup, keys):
    taro = residents.enrol(db, desk(), keys, person()).resident
    namesake = residents.enrol(db, desk(), keys, person(birth_date="1975-12-24", address="熊本市東区新南部1-1-1")).resident
    hanako = residents.enrol(db, desk(), keys, person(full_name="佐藤 花子", birth_date="1990-01-02", sex="2")).resident
    db.commit()
    # a row that does not decrypt any more: a search that read the whole table would fail on it
    hanako.full_name = hanako.full_name[:-6] + "AAAAAA"
    db.commit()

    found = residents.search_by_name(db, desk(), keys, KUMAMOTO, reason=REASON, full_name="高橋　太郎")
    assert [(row["common_id"], row["birth_date"]) for row in found] == [
        (taro.common_id, "1980-04-01"), (namesake.common_id, "1975-12-24")]
    assert found[0]["full_name"] == "髙橋 太郎"
    narrowed = residents.search_by_name(db, desk(), keys, KUMAMOTO, reason=REASON, full_name="髙橋太郎",
                                        birth_date="1975-12-24")
    assert [row["common_id"] for row in narrowed] == [namesake.common_id]
    assert residents.search_by_name(db, desk(), keys, KUMAMOTO, reason=REASON, full_name="高橋 次郎") == []
    db.commit()

    records = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.search")
                         .order_by(AuditRecord.seq)).all()
    # one record a search, with its reason and a view step naming each person shown
    afters = [json.loads(r.after) for r in records]
    assert [(r.target_id, after["reason"], after["found"]) for r, after in zip(records, afters)] == [
        (KUMAMOTO, REASON, 2), (KUMAMOTO, REASON, 1), (KUMAMOTO, REASON, 0)]
    assert [[(step["action"], step["target_id"], step["after"]["reason"]) for step in after.get("steps", [])]
            for after in afters] == [
        [("resident.view", taro.common_id, REASON), ("resident.view", namesake.common_id, REASON)],
        [("resident.view", namesake.common_id, REASON)], []]
    every = " ".join(f"{r.before} {r.after}" for r in db.scalars(sa.select(AuditRecord)))
    assert "髙橋" not in every and "高橋" not in every and "1975" not in every


def test_a_search_by_name_needs_a_reason_and_stays_within_the_municipality(db, consent_setup, keys):
    residents.enrol(db, desk(), keys, person())
    db.commit()
    with pytest.raises(Invalid):
        residents.search_by_name(db, desk(), keys, KUMAMOTO, reason=" ", full_name="髙橋 太郎")
    with pytest.raises(NotPermitted):
        residents.search_by_name(db, desk(YATSUSHIRO), keys, KUMAMOTO, reason=REASON, full_name="髙橋 太郎")
    with pytest.raises(NotPermitted):  # the city's own admin is not the residents' desk
        residents.search_by_name(db, admin_of(KUMAMOTO), keys, KUMAMOTO, reason=REASON, full_name="髙橋 太郎")
    assert residents.search_by_name(db, desk(YATSUSHIRO), keys, YATSUSHIRO, reason=REASON, full_name="髙橋 太郎") == []


def test_a_row_enrolled_before_the_name_index_is_found_after_the_key_rotation_writes_it(db, consent_setup, keys, operator):
    taro = residents.enrol(db, desk(), keys, person()).resident
    db.commit()
    db.execute(sa.update(Resident).values(name_hash=""))
    db.commit()
    assert residents.search_by_name(db, desk(), keys, KUMAMOTO, reason=REASON, full_name="髙橋 太郎") == []
    assert residents.rotate_key(db, operator, keys)["rewritten"] == 1
    db.commit()
    found = residents.search_by_name(db, desk(), keys, KUMAMOTO, reason=REASON, full_name="髙橋 太郎")
    assert [row["common_id"] for row in found] == [taro.common_id]


def values(cells: list[Cell]) -> list[int | None]:
    return [cell.value for cell in cells]


def test_small_counts_are_suppressed_and_cannot_be_derived_from_the_total():
    # one small cell alone would be the total less the others: the smallest shown cell goes too
    cells, total = suppress([12, 3, 20], 35, 10)
    assert values(cells) == [None, None, 20] and total.value == 35
    # a single cell under the threshold: the total would tell it
    cells, total = suppress([4], 4, 10)
    assert values(cells) == [None] and total.suppressed
    cells, total = suppress([25, 9], 34, 10)
    assert values(cells) == [None, None] and total.value == 34
    # nothing small: all shown; two small cells already protect each other
    assert values(suppress([12, 15], 27, 10)[0]) == [12, 15]
    assert values(suppress([3, 4, 50], 57, 10)[0]) == [None, None, 50]
    # the threshold is a setting
    assert values(suppress([3, 4, 50], 57, 3)[0]) == [3, 4, 50]


def test_policy_figures_count_enrolments_links_and_opt_ins_with_small_counts_suppressed(db, consent_setup, keys, operator):
    navi, health = consent_setup(), consent_setup(name="健康ポイント")
    people = [residents.enrol(db, desk(), keys, person(full_name=f"住民 {number:02d}", birth_date=f"1980-01-{number:02d}"))
              .resident for number in range(1, 14)]
    for number, resident in enumerate(people):
        service = navi if number < 11 else health
        residents.link_service(db, desk(), KUMAMOTO, resident.common_id, {
            "service_id": service.id, "service_user_id": f"user-{number:04d}", "assurance_level": 3})
    db.commit()
    text = consent.current_text(db, navi)
    for number in range(20):
        consent.give_consent(db, clerk(), {"service_id": navi.id, "tenant_code": KUMAMOTO, "subject_id": f"navi-{number:04d}",
                                           "content_hash": text.content_hash, "method": "paper", "assurance_level": 2})
    for number in range(10):
        consent.withdraw_consent(db, clerk(), {"service_id": navi.id, "tenant_code": KUMAMOTO,
                                               "subject_id": f"navi-{number:04d}", "method": "paper"})
    db.commit()

    numbers = figures.policy_figures(db, admin_of(KUMAMOTO), KUMAMOTO)
    months = numbers["enrolments"]["months"]
    assert len(months) == 12 and numbers["enrolments"]["total"] == {"value": 13, "suppressed": False}
    assert [month["value"] for month in months if not month["suppressed"]] == [13]
    # 11 and 2 links: the 2 is small, and the 11 would give it away from the total
    assert [(row["service_id"], row["value"]) for row in numbers["links"]["services"]] == [(navi.id, None), (health.id, None)]
    assert numbers["links"]["total"]["value"] == 13
    # 20 people asked, 10 withdrawn: both sides at the threshold, the rate shown
    [navi_opt_ins] = numbers["opt_ins"]
    assert navi_opt_ins["asked"]["value"] == 20
    assert [(item["item"], item["opted_in"]["value"], item["rate_percent"]) for item in navi_opt_ins["items"]] == [
        ("生年月日", 10, 50.0), ("世帯構成", 10, 50.0)]

    higher = figures.policy_figures(db, desk(), KUMAMOTO, threshold=11)
    assert higher["enrolments"]["total"]["value"] == 13
    assert [item["rate_percent"] for item in higher["opt_ins"][0]["items"]] == [None, None]
    assert [row["value"] for row in figures.policy_figures(db, desk(), KUMAMOTO, threshold=2)["links"]["services"]] == [11, 2]
    with pytest.raises(NotPermitted):
        figures.policy_figures(db, admin_of(YATSUSHIRO), KUMAMOTO)
    with pytest.raises(NotPermitted):
        figures.policy_figures(db, desk(YATSUSHIRO), KUMAMOTO)
    with pytest.raises(NotPermitted):
        figures.policy_figures(db, operator, KUMAMOTO)
