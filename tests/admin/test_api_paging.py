"""Every list of the API pages by the same bounds (admin/api/paging.py): a page number from 1 and at
most 1,000 rows a page, stated alike in the contract and refused alike beyond them."""

from __future__ import annotations

import pytest

LISTS = ["/api/v1/tenants", "/api/v1/members", "/api/v1/datasets", "/api/v1/audit/records"]


def _query_schema(spec, path, name):
    parameter = next(p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name)
    return parameter["schema"]


def test_the_contract_states_the_same_bounds_for_every_list(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in LISTS:
        assert (_query_schema(spec, path, "page")["minimum"], _query_schema(spec, path, "per_page")["minimum"],
                _query_schema(spec, path, "per_page")["maximum"]) == (1, 1, 1000), path


@pytest.mark.parametrize("path", LISTS)
def test_a_page_of_a_thousand_rows_is_taken_and_one_more_refused(client, as_operator, path):
    assert client.get(f"{path}?per_page=1000", headers=as_operator).status_code == 200
    refused = client.get(f"{path}?per_page=1001", headers=as_operator)
    assert refused.status_code == 422 and [e["field"] for e in refused.get_json()["errors"]] == ["per_page"]
