"""The inquiries and events API (operator through the development-open API): typed bodies, problem+json
refusals naming the field or the illegal move, and the figures as the domain computes them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core.outbox import Notification


def _inquiry(open_api, **fields):
    body = {"inquirer_kind": "member", "channel": "phone", "category": "joining", "subject": "入会の手続き",
            "question": "必要な書類を教えてください。", "inquirer_name": "会員 太郎", "email": "m@example.jp", **fields}
    return open_api.post("/api/v1/inquiries", json=body)


def test_an_inquiry_is_recorded_replied_to_and_closed_and_an_illegal_move_is_a_409(open_api, db):
    created = _inquiry(open_api)
    assert created.status_code == 201, created.get_json()
    inquiry = created.get_json()
    assert inquiry["status"] == "received" and inquiry["category_ja"] == "入会" and not inquiry["overdue"]
    refused = open_api.post(f"/api/v1/inquiries/{inquiry['id']}/transitions", json={"move": "close"})
    assert refused.status_code == 409 and refused.content_type == "application/problem+json"
    assert "受付" in refused.get_json()["detail_ja"]
    replied = open_api.post(f"/api/v1/inquiries/{inquiry['id']}/replies", json={"body": "誓約書と会社概要です。"})
    assert replied.status_code == 201 and replied.get_json()["status"] == "answered"
    [sent] = replied.get_json()["replies"]
    assert db.get(Notification, sent["notification_id"]).body == "誓約書と会社概要です。"
    closed = open_api.post(f"/api/v1/inquiries/{inquiry['id']}/transitions", json={"move": "close"})
    assert closed.get_json()["status"] == "closed"
    listed = open_api.get("/api/v1/inquiries?status=closed").get_json()
    assert [row["id"] for row in listed["items"]] == [inquiry["id"]]


def test_a_bad_inquiry_is_a_422_naming_its_fields(open_api, db):
    refused = _inquiry(open_api, category="spam", member_number="123")
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"
    assert "category" in str(refused.get_json()["errors"])
    unknown = _inquiry(open_api, member_number="8000012050001")
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["field"] == "member_number"


def test_an_event_fills_up_and_a_cancellation_moves_the_first_waiting_up(open_api, db):
    starts = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)
    created = open_api.post("/api/v1/events", json={
        "kind": "member_seminar", "title": "DX 事例", "starts_at": starts.isoformat(),
        "ends_at": (starts + dt.timedelta(hours=2)).isoformat(), "capacity": 1, "audience": "anyone",
        "online_url": "https://meet.example.jp/dx"})
    assert created.status_code == 201, created.get_json()
    event_id = created.get_json()["id"]
    first = open_api.post(f"/api/v1/events/{event_id}/registrations", json={"name": "一", "email": "1@example.jp"})
    second = open_api.post(f"/api/v1/events/{event_id}/registrations", json={"name": "二", "email": "2@example.jp"})
    assert (first.get_json()["status"], second.get_json()["status"]) == ("registered", "waitlisted")
    cancelled = open_api.post(f"/api/v1/event-registrations/{first.get_json()['id']}/cancel")
    assert cancelled.get_json()["promoted_id"] == second.get_json()["id"]
    figures = open_api.get(f"/api/v1/events/{event_id}").get_json()["figures"]
    assert figures == {"registrations": 1, "waitlisted": 0, "attended": 0, "members": 0, "non_members": 0,
                       "new_members": 0}
    early = open_api.put(f"/api/v1/events/{event_id}/attendance", json={"attended": [second.get_json()["id"]]})
    assert early.status_code == 422  # not before the day
    year = open_api.get(f"/api/v1/event-years/{starts.year if starts.month >= 4 else starts.year - 1}").get_json()
    assert {row["kind"]: row["events_target"] for row in year["kinds"]}["open_event"] == 1
    target = open_api.put("/api/v1/event-years/2025/targets/member_seminar", json={"events": 6, "attendance": 180})
    assert {row["kind"]: row["attendance_target"] for row in target.get_json()["kinds"]}["member_seminar"] == 180
    bad = open_api.post("/api/v1/events", json={"kind": "party", "title": "", "starts_at": "2025-01-01T10:00:00"})
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    assert db.scalar(sa.select(sa.func.count()).select_from(sa.text("secretariat_event"))) == 1
