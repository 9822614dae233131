"""The gateway's quota check repeated: answered from the quota cache with the same bytes each
time, usage recorded by this process counted at once, and refusals answered as always."""

from __future__ import annotations

import pytest

from tests.usage.test_quotas import plan, send

PATH = "/api/v1/tenants/431001/quota-check"


@pytest.fixture
def kumamoto(tenant_factory, db, operator):
    tenant_factory("431001")
    plan(db, operator, api_calls=100, enforcement="hard")


def _answer(response):
    return response.status_code, dict(response.headers), response.get_data()


def test_a_repeated_check_gives_the_same_bytes(client, kumamoto, metering_headers, long_memories):
    send(client, metering_headers, "431001", 99)
    headers = {**metering_headers, "X-Request-ID": "gw-1"}
    for query in ("", "?metric=api_calls", "?metric=api_calls&quantity=2", "?quantity=1"):
        first = client.get(PATH + query, headers=headers)  # may load the cache
        second = client.get(PATH + query, headers=headers)
        assert _answer(second) == _answer(first)
    allowed = client.get(PATH, headers=headers)
    assert allowed.get_json()["allowed"] is True and allowed.headers["X-Quota-Remaining"] == "1"
    assert client.get(PATH + "?quantity=2", headers=headers).get_json()["allowed"] is False


def test_usage_recorded_by_this_process_counts_at_once(client, kumamoto, metering_headers, long_memories):
    send(client, metering_headers, "431001", 99)
    assert client.get(PATH, headers=metering_headers).get_json()["allowed"] is True
    send(client, metering_headers, "431001", 1)
    denied = client.get(PATH, headers=metering_headers)
    assert (denied.get_json()["allowed"], denied.get_json()["reason"]) == (False, "hard_limit_reached")


@pytest.mark.parametrize("query, status", [("?metric=nothing", 422), ("?quantity=0", 422),
                                           ("?quantity=1000000001", 422), ("?metric=api_calls&metric=datasets", 200)])
def test_a_repeated_check_with_a_bad_query_is_refused(client, kumamoto, metering_headers, long_memories, query, status):
    client.get(PATH, headers=metering_headers)
    client.get(PATH + "?metric=datasets", headers=metering_headers)
    assert client.get(PATH + query, headers=metering_headers).status_code == status


def test_another_tenants_admin_is_refused(client, kumamoto, metering_headers, user_factory, tenant_factory,
                                          long_memories):
    tenant_factory("432024")
    _, own = user_factory(("municipal-admin",), "432024")
    client.get(PATH, headers=metering_headers)
    client.get("/api/v1/tenants/432024/quota-check", headers=own)
    refused = client.get(PATH, headers=own)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
