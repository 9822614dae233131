"""The lists a dataset chooses from through the API (issue 22, Build 9): /api/v1/dataset-categories and
/api/v1/dataset-licences, read by the register's readers and kept by the operator, refusals as problem+json
in Japanese and English."""

from __future__ import annotations

import pytest

from tests.datasets.test_lists import ODBL

pytestmark = pytest.mark.keycloak
PROBLEM = "application/problem+json"


def test_the_operator_adds_stops_and_resumes_a_licence_that_a_provider_reads_and_chooses(client, db, providers,
                                                                                           as_operator, user_factory):
    _account, kumamoto = user_factory(("municipal-admin",), "431001")
    added = client.post("/api/v1/dataset-licences", headers=as_operator, json={**ODBL, "own_terms": False})
    assert added.status_code == 201
    assert added.get_json() == {**ODBL, "own_terms": False, "active": True, "position": 4}

    listed = client.get("/api/v1/dataset-licences", headers=kumamoto).get_json()
    assert listed["total"] == 5 and [i["code"] for i in listed["items"]] == ["CC-BY-4.0", "CC0-1.0", "PDL-1.0",
                                                                             "own-terms", "ODbL-1.0"]
    body = {"provider_code": "431001", "title_ja": "AED設置箇所一覧", "category_code": "health_welfare",
            "licence_code": "ODbL-1.0"}
    assert client.post("/api/v1/datasets", headers=kumamoto, json=body).status_code == 201

    stopped = client.put("/api/v1/dataset-licences/ODbL-1.0/active", headers=as_operator, json={"active": False})
    assert stopped.status_code == 200 and stopped.get_json()["active"] is False
    assert [i["code"] for i in client.get("/api/v1/dataset-licences?state=stopped", headers=kumamoto).get_json()["items"]] \
        == ["ODbL-1.0"]
    assert "ODbL-1.0" not in [i["code"] for i in client.get("/api/v1/dataset-licences?state=in_use",
                                                            headers=kumamoto).get_json()["items"]]
    refused = client.post("/api/v1/datasets", headers=kumamoto, json={**body, "title_ja": "別のデータ"})
    assert refused.status_code == 422 and [e["field"] for e in refused.get_json()["errors"]] == ["licence_code"]
    resumed = client.put("/api/v1/dataset-licences/ODbL-1.0/active", headers=as_operator, json={"active": True})
    assert resumed.get_json()["active"] is True
    assert client.post("/api/v1/datasets", headers=kumamoto, json={**body, "title_ja": "別のデータ"}).status_code == 201


def test_refusals_name_the_field_in_both_languages(client, db, as_operator, user_factory):
    taken = client.post("/api/v1/dataset-licences", headers=as_operator, json={"code": "pdl-1.0", "title_ja": "重複"})
    assert taken.status_code == 409 and taken.mimetype == PROBLEM
    problem = taken.get_json()
    assert "PDL-1.0" in problem["detail_ja"] and "PDL-1.0" in problem["detail_en"]
    assert [e["field"] for e in problem["errors"]] == ["code"]
    bad = client.post("/api/v1/dataset-licences", headers=as_operator,
                      json={"code": "x", "title_ja": " ", "url": "ftp://example.jp"})
    assert bad.status_code == 422 and bad.mimetype == PROBLEM
    assert {e["field"] for e in bad.get_json()["errors"]} == {"code", "title_ja", "url"}
    assert all(e["message_ja"] and e["message_en"] for e in bad.get_json()["errors"])
    unknown = client.put("/api/v1/dataset-licences/GPL-3.0/active", headers=as_operator, json={"active": False})
    assert unknown.status_code == 404 and unknown.mimetype == PROBLEM
    assert client.post("/api/v1/dataset-categories", headers=as_operator,
                       json={"code": "tourism", "label_ja": "観光"}).status_code == 409

    _account, kumamoto = user_factory(("municipal-admin",), "431001")
    forbidden = client.post("/api/v1/dataset-licences", headers=kumamoto, json=ODBL)
    assert forbidden.status_code == 403 and forbidden.mimetype == PROBLEM
    _account, finance = user_factory(("finance-officer",))
    assert client.get("/api/v1/dataset-licences", headers=finance).status_code == 403


def test_the_operator_keeps_the_categories(client, db, as_operator, user_factory):
    added = client.post("/api/v1/dataset-categories", headers=as_operator,
                        json={"code": "smart_city", "label_ja": " スマートシティ ", "label_en": "Smart city"})
    assert added.status_code == 201
    assert added.get_json() == {"code": "smart_city", "label_ja": "スマートシティ", "label_en": "Smart city", "active": True,
                                "position": 8}
    assert client.put("/api/v1/dataset-categories/tourism/active", headers=as_operator,
                      json={"active": False}).get_json()["active"] is False
    _account, staff = user_factory(("municipal-staff",), "431001")
    items = {i["code"]: i["active"] for i in client.get("/api/v1/dataset-categories", headers=staff).get_json()["items"]}
    assert items["smart_city"] is True and items["tourism"] is False and len(items) == 9
