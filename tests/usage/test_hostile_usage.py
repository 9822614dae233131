"""Hostile usage batches (issue 14): refused with a 422 problem naming the event, never a 500."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.usage.conftest import JST, event

PROBLEM = "application/problem+json"


def problem_fields(response, status: int) -> tuple[dict, set[str]]:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == PROBLEM
    body = response.get_json()
    return body, {item["field"] for item in body["errors"]}


@pytest.fixture
def kumamoto(tenant_factory):
    return tenant_factory("431001")


def test_a_lone_surrogate_in_an_event_id_is_refused(client, kumamoto, metering_headers):
    good = event("431001")
    raw = json.dumps({"events": [good, {**event("431001"), "event_id": "PLACEHOLDER"}]})
    raw = raw.replace('"PLACEHOLDER"', '"ev-\\ud800"')
    answer = client.post("/api/v1/usage", data=raw, content_type="application/json", headers=metering_headers)
    body, fields = problem_fields(answer, 422)
    assert fields == {"events[1].event_id"}


def test_a_batch_that_would_overflow_a_days_aggregate_is_refused_naming_the_event(client, kumamoto, metering_headers):
    at = dt.datetime.now(JST) - dt.timedelta(minutes=5)
    first = [event("431001", "storage_bytes", 2**53, at=at) for _ in range(512)]
    assert client.post("/api/v1/usage", json={"events": first}, headers=metering_headers).status_code == 200
    second = [event("431001", "storage_bytes", 2**53, at=at) for _ in range(512)]
    body, fields = problem_fields(client.post("/api/v1/usage", json={"events": second}, headers=metering_headers), 422)
    # 512 stored + 511 more reach 2^63 - 2^53; the 512th of this batch is the one that overflows
    assert "events[511].quantity" in fields
    assert second[511]["event_id"] in body["errors"][0]["message_en"]
    # a batch that fits is still accepted afterwards (the refused one wrote nothing)
    fits = [event("431001", "storage_bytes", 2**53, at=at) for _ in range(10)]
    assert client.post("/api/v1/usage", json={"events": fits}, headers=metering_headers).status_code == 200


def test_a_resent_batch_with_new_events_that_would_overflow_is_refused_and_writes_nothing(client, kumamoto,
                                                                                        metering_headers):
    """A batch holding events already stored takes the careful path on PostgreSQL: the aggregates'
    limit is checked there too."""
    at = dt.datetime.now(JST) - dt.timedelta(minutes=5)
    first = [event("431001", "storage_bytes", 2**53, at=at) for _ in range(512)]
    assert client.post("/api/v1/usage", json={"events": first}, headers=metering_headers).status_code == 200
    again = first[:3] + [event("431001", "storage_bytes", 2**53, at=at) for _ in range(512)]
    body, fields = problem_fields(client.post("/api/v1/usage", json={"events": again}, headers=metering_headers), 422)
    (field,) = fields  # one event named (the check counts the resent events too: it errs on the safe side)
    assert field.startswith("events[") and field.endswith("].quantity") and body["errors"][0]["event_id"] in {
        e["event_id"] for e in again[3:]}
    fits = first[:3] + [event("431001", "storage_bytes", 2**53, at=at) for _ in range(10)]
    answer = client.post("/api/v1/usage", json={"events": fits}, headers=metering_headers).get_json()
    assert (answer["accepted"], answer["duplicates"]) == (10, 3)  # the refused batch wrote nothing
