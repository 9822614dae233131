"""The residents' API against the real Keycloak: a residents' desk enrols, finds the second counter
enrolment of the same person in the review queue, looks people up with a reason, links a service; another
municipality's desk and the city's own admin get nothing."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.codes import is_common_id
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO

pytestmark = pytest.mark.keycloak

PERSON = {"full_name": "髙橋 太郎", "address": "熊本県熊本市中央区水前寺六丁目18番1号", "birth_date": "1980-04-01", "sex": "1",
          "verification": "my_number_card", "assurance_level": 3}


def test_the_desk_enrols_reviews_looks_up_with_a_reason_and_others_get_nothing(client, db, consent_setup, user_factory):
    _, desk = user_factory(("resident-desk",), KUMAMOTO)
    _, other_desk = user_factory(("resident-desk",), YATSUSHIRO)
    _, city_admin = user_factory(("municipal-admin",), KUMAMOTO)
    base = f"/api/v1/tenants/{KUMAMOTO}"
    first = client.post(f"{base}/residents", json=PERSON, headers=desk)
    assert first.status_code == 201, first.get_json()
    common_id = first.get_json()["common_id"]
    assert is_common_id(common_id) and first.get_json()["review_id"] is None
    again = client.post(f"{base}/residents", headers=desk, json={
        **PERSON, "full_name": "高橋　太郎", "address": "熊本市中央区水前寺６－１８－１", "verification": "photo_id"})
    assert again.status_code == 201 and again.get_json()["common_id"] is None
    queue = client.get(f"{base}/resident-reviews", headers=desk).get_json()["items"]
    assert [(item["matched_common_id"], item["reason"], item["address_matches"]) for item in queue] == [
        (common_id, "basic_four", True)]

    lookup = {"common_id": common_id, "reason": "転入届の本人確認"}
    seen = client.post(f"{base}/residents/lookup", json=lookup, headers=desk)
    assert seen.status_code == 200 and seen.get_json()["full_name"] == "髙橋 太郎"
    assert client.post(f"{base}/residents/lookup", json={"common_id": common_id}, headers=desk).status_code == 422
    assert client.post(f"{base}/residents/lookup", json={"common_id": common_id, "reason": " "},
                       headers=desk).status_code == 422
    # another municipality's desk: refused on Kumamoto, and no such person in its own municipality
    assert client.post(f"{base}/residents/lookup", json=lookup, headers=other_desk).status_code == 403
    assert client.post(f"/api/v1/tenants/{YATSUSHIRO}/residents/lookup", json=lookup,
                       headers=other_desk).status_code == 404
    assert client.get(f"{base}/resident-reviews", headers=other_desk).status_code == 403
    # the city's own admin is not the residents' desk
    assert client.post(f"{base}/residents/lookup", json=lookup, headers=city_admin).status_code == 403
    assert client.post(f"{base}/residents", json=PERSON, headers=city_admin).status_code == 403

    navi = consent_setup()
    linked = client.post(f"{base}/residents/{common_id}/links", headers=desk, json={
        "service_id": navi.id, "service_user_id": "navi-user-0001", "assurance_level": 3})
    assert linked.status_code == 201, linked.get_json()
    by_service = client.post(f"{base}/residents/lookup-by-service", headers=desk, json={
        "service_id": navi.id, "service_user_id": "navi-user-0001", "reason": "サービスからの問合せ"})
    assert by_service.get_json()["common_id"] == common_id
    assert client.post(f"/api/v1/tenants/{YATSUSHIRO}/residents/lookup-by-service", headers=other_desk, json={
        "service_id": navi.id, "service_user_id": "navi-user-0001", "reason": "確認"}).status_code == 404

    decided = client.post(f"{base}/resident-reviews/{queue[0]['id']}/decide", headers=desk,
                          json={"same_person": True, "reason": "券面の住所が一致"})
    assert decided.status_code == 200 and decided.get_json()["status"] == "same_person"
    db.expire_all()
    views = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.view").order_by(AuditRecord.seq)).all()
    assert [json.loads(view.after)["reason"] for view in views] == ["転入届の本人確認", "サービスからの問合せ"]
    # no audit record holds a personal item
    every = " ".join(f"{r.before} {r.after}" for r in db.scalars(sa.select(AuditRecord)))
    assert "髙橋" not in every and "水前寺" not in every and "1980" not in every


def test_the_desk_searches_by_name_with_a_reason_and_reads_the_figures_and_others_get_nothing(
        client, db, consent_setup, user_factory):
    _, desk = user_factory(("resident-desk",), KUMAMOTO)
    _, other_desk = user_factory(("resident-desk",), YATSUSHIRO)
    _, city_admin = user_factory(("municipal-admin",), KUMAMOTO)
    _, other_admin = user_factory(("municipal-admin",), YATSUSHIRO)
    base = f"/api/v1/tenants/{KUMAMOTO}"
    common_id = client.post(f"{base}/residents", json=PERSON, headers=desk).get_json()["common_id"]
    search = {"full_name": "高橋　太郎", "birth_date": "1980-04-01", "reason": "福祉課からの照会"}
    found = client.post(f"{base}/residents/search-by-name", json=search, headers=desk)
    assert found.status_code == 200, found.get_json()
    assert [(item["common_id"], item["full_name"]) for item in found.get_json()["items"]] == [(common_id, "髙橋 太郎")]
    assert client.post(f"{base}/residents/search-by-name", json={**search, "birth_date": "1980-04-02"},
                       headers=desk).get_json()["items"] == []
    missing = client.post(f"{base}/residents/search-by-name", json={"full_name": "高橋 太郎"}, headers=desk)
    assert missing.status_code == 422 and missing.mimetype == "application/problem+json"
    assert client.post(f"{base}/residents/search-by-name", json=search, headers=other_desk).status_code == 403
    assert client.post(f"{base}/residents/search-by-name", json=search, headers=city_admin).status_code == 403
    assert client.post(f"/api/v1/tenants/{YATSUSHIRO}/residents/search-by-name", json=search,
                       headers=other_desk).get_json()["items"] == []

    numbers = client.get(f"{base}/residents/figures", headers=city_admin)
    assert numbers.status_code == 200, numbers.get_json()
    assert numbers.get_json()["threshold"] == 10
    assert numbers.get_json()["enrolments"]["total"] == {"value": None, "suppressed": True}  # one person: < 10
    assert client.get(f"{base}/residents/figures", headers=desk).status_code == 200
    assert client.get(f"{base}/residents/figures", headers=other_admin).status_code == 403
    assert client.get(f"{base}/residents/figures", headers=other_desk).status_code == 403
    assert client.get(f"{base}/residents/figures?fiscal_year=1900", headers=desk).status_code == 422

    db.expire_all()
    searches = [json.loads(r.after) for r in db.scalars(sa.select(AuditRecord).where(
        AuditRecord.action == "resident.search").order_by(AuditRecord.seq))]
    assert [(after["reason"], [step["target_id"] for step in after.get("steps", [])]) for after in searches] == [
        ("福祉課からの照会", [common_id]), ("福祉課からの照会", []), ("福祉課からの照会", [])]
    every = " ".join(f"{r.before} {r.after}" for r in db.scalars(sa.select(AuditRecord)))
    assert "高橋" not in every and "髙橋" not in every
