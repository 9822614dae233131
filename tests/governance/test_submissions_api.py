"""The documents owed to the prefecture through /api/v1 (issue 57 item 2): minutes of the Christmas meeting due on
2027-01-05, returned with a reason and approved through the meeting's endpoints, the approved version's SHA-256 on
the submission; a vendor's file submitted, its own contractor's only, problem+json in Japanese and English."""

from __future__ import annotations

import base64
import hashlib


def test_the_minutes_and_a_vendors_report_through_the_api(client, db, user_factory):
    secretariat = user_factory(("secretariat",), None)[1]
    vendor = user_factory(("platform-vendor",), None)[1]
    prefecture = user_factory(("platform-operator",), "430005", fresh=True)[1]
    created = client.post("/api/v1/meetings", json={"kind": "prefecture", "title": "県との定例会（12月）",
                                                    "held_at": "2026-12-25T15:00:00+09:00"}, headers=secretariat)
    assert created.status_code == 201, created.get_json()
    meeting_id = created.get_json()["id"]
    [owed] = [row for row in client.get("/api/v1/submissions?kind=minutes", headers=prefecture).get_json()["items"]
              if row["refers_to"] == f"meeting:{meeting_id}"]
    assert (owed["due_on"], owed["status"], owed["contractor"]) == ("2027-01-05", "open", "secretariat")

    assert client.put(f"/api/v1/meetings/{meeting_id}/minutes", json={"text": "第1版"}, headers=secretariat).status_code == 200
    empty = client.post(f"/api/v1/meetings/{meeting_id}/minutes/return", json={"reason": " "}, headers=prefecture)
    assert empty.status_code == 422 and empty.mimetype == "application/problem+json"
    assert client.post(f"/api/v1/meetings/{meeting_id}/minutes/return", json={"reason": "決定事項がありません"},
                       headers=prefecture).status_code == 200
    refused = client.post(f"/api/v1/meetings/{meeting_id}/minutes/approve", headers=prefecture)  # returned: nothing to approve
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert client.put(f"/api/v1/meetings/{meeting_id}/minutes", json={"text": "第2版"}, headers=secretariat).status_code == 200
    elsewhere = client.post(f"/api/v1/submissions/{owed['id']}/versions", json={"text": "x"}, headers=secretariat)
    assert elsewhere.status_code == 409  # minutes are written on their meeting
    approved = client.post(f"/api/v1/submissions/{owed['id']}/approve", headers=prefecture)  # the same rule as the meeting's
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["approved_sha256"] == hashlib.sha256("第2版".encode()).hexdigest() and body["approved_version"] == 2
    assert [(v["inspection"], v["reason"]) for v in body["versions"]] == [("returned", "決定事項がありません"), ("approved", "")]
    assert client.get(f"/api/v1/meetings/{meeting_id}", headers=prefecture).get_json()["minutes_status"] == "approved"

    opened = client.post("/api/v1/submissions", json={"kind": "incident_report", "title": "障害報告書（API 停止）",
                                                      "due_on": "2027-01-15", "refers_to": "incident:api-1"},
                         headers=prefecture)
    assert opened.status_code == 201, opened.get_json()
    report_id = opened.get_json()["id"]
    assert client.post("/api/v1/submissions", json={"kind": "incident_report", "title": "重複", "due_on": "2027-01-15",
                                                   "refers_to": "incident:api-1"}, headers=prefecture).status_code == 422
    not_theirs = client.post(f"/api/v1/submissions/{report_id}/versions", json={"text": "x"}, headers=secretariat)
    assert not_theirs.status_code == 404 and not_theirs.mimetype == "application/problem+json"
    pdf = b"%PDF-1.7 incident"
    sent = client.post(f"/api/v1/submissions/{report_id}/versions", headers=vendor,
                       json={"file_base64": base64.b64encode(pdf).decode(), "filename": "incident.pdf"})
    assert sent.status_code == 201 and sent.get_json()["versions"][0]["sha256"] == hashlib.sha256(pdf).hexdigest()
    file = client.get(f"/api/v1/submissions/{report_id}/versions/1/content", headers=prefecture)
    assert file.status_code == 200 and file.get_data() == pdf and file.mimetype == "application/pdf"
    problem = client.post(f"/api/v1/submissions/{report_id}/return", json={"reason": ""}, headers=prefecture).get_json()
    assert problem["status"] == 422 and [e["field"] for e in problem["errors"]] == ["reason"]
    assert problem["errors"][0]["message_ja"] and problem["errors"][0]["message_en"]  # in Japanese and English
