"""Recovery over the API against the real Keycloak (issue 42 item 3): two people of the city's residents' desk
split a wrong link (the proposer's own approval refused, 409 in problem+json), another municipality's desk
gets nothing; a merge by two makes either common ID answer with the surviving person."""

from __future__ import annotations

import pytest

from tests.residents.conftest import KUMAMOTO, YATSUSHIRO

pytestmark = pytest.mark.keycloak

PERSON = {"full_name": "髙橋 太郎", "address": "熊本県熊本市中央区水前寺六丁目18番1号", "birth_date": "1980-04-01", "sex": "1",
          "verification": "my_number_card", "assurance_level": 3}
BASE = f"/api/v1/tenants/{KUMAMOTO}"


def test_two_people_split_a_wrong_link_and_merge_two_ids(client, db, consent_setup, user_factory):
    _, proposer = user_factory(("resident-desk",), KUMAMOTO)
    _, approver = user_factory(("resident-desk",), KUMAMOTO, fresh=True)  # a second person of the same desk
    _, other_desk = user_factory(("resident-desk",), YATSUSHIRO)
    navi = consent_setup()
    common_id = client.post(f"{BASE}/residents", json=PERSON, headers=proposer).get_json()["common_id"]
    assert client.post(f"{BASE}/residents/{common_id}/links", headers=proposer, json={
        "service_id": navi.id, "service_user_id": "navi-user-0001", "assurance_level": 3}).status_code == 201

    made = client.post(f"{BASE}/resident-recoveries/split", headers=proposer,
                       json={"common_id": common_id, "service_id": navi.id, "reason": "別人の利用者IDと連携していた"})
    assert made.status_code == 201, made.get_json()
    proposal = made.get_json()
    assert proposal["status"] == "proposed" and proposal["own"] and proposal["service_user_id"] == "navi-user-0001"
    url = f"{BASE}/resident-recoveries/{proposal['id']}"
    own = client.post(f"{url}/approve", headers=proposer, json={})
    assert own.status_code == 409 and own.mimetype == "application/problem+json"
    assert client.post(f"{url}/approve", headers=other_desk, json={}).status_code == 403
    assert client.get(f"{BASE}/resident-recoveries", headers=other_desk).status_code == 403
    assert client.get(f"/api/v1/tenants/{YATSUSHIRO}/resident-recoveries", headers=other_desk).get_json()["items"] == []
    listed = client.get(f"{BASE}/resident-recoveries", headers=approver).get_json()["items"]
    assert [(row["id"], row["own"]) for row in listed] == [(proposal["id"], False)]
    approved = client.post(f"{url}/approve", headers=approver, json={"reason": "申出書で確認"})
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved" and approved.get_json()["decision_reason"] == "申出書で確認"
    seen = client.post(f"{BASE}/residents/lookup", headers=approver, json={"common_id": common_id, "reason": "解除の確認"})
    [ended] = seen.get_json()["links"]
    assert ended["ended_at"] and ended["ended_reason"] == "別人の利用者IDと連携していた"

    second = client.post(f"{BASE}/residents", headers=proposer, json={
        **PERSON, "full_name": "別人 花子", "birth_date": "1990-02-02"}).get_json()["common_id"]
    merge = client.post(f"{BASE}/resident-recoveries/merge", headers=proposer, json={
        "surviving_common_id": common_id, "merged_common_id": second, "reason": "同一人物の二重登録"}).get_json()
    refused = client.post(f"{BASE}/resident-recoveries/{merge['id']}/refuse", headers=proposer, json={"reason": "誤り"})
    assert refused.status_code == 409
    assert client.post(f"{BASE}/resident-recoveries/{merge['id']}/approve", headers=approver, json={}).status_code == 200
    by_old = client.post(f"{BASE}/residents/lookup", headers=approver, json={"common_id": second, "reason": "統合の確認"})
    assert by_old.get_json()["common_id"] == common_id and by_old.get_json()["merged_from"] == [second]
