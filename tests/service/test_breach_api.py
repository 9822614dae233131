"""Personal-data breaches through the API and on the home page (issue 56 item 4): list, read, mark and record a
submission with problem+json refusals in both languages (an unknown incident, a wrong kind, another municipality's
breach); the home page lists each report not yet submitted with its era deadline and the days left, or 期限超過, for
those who may read the breach only."""

from __future__ import annotations

import datetime as dt

import pytest

from core.calendar import JST
from service import breaches
from service.incidents import operations as incidents
from tests.consent.conftest import KUMAMOTO, YATSUSHIRO, consent_setup  # noqa: F401  (the fixture)
from tests.conftest import sign_in

TEXT = {"title": "くらしナビへの情報提供の同意", "body_ja": "氏名を案内に利用します。", "purposes": ["行政サービスの案内"],
        "items": {"氏名": {}}}


def _era(day: dt.date) -> str:
    assert day >= dt.date(2019, 5, 1)
    return f"令和{day.year - 2018}年{day.month}月{day.day}日"


@pytest.fixture
def known(db, operator, consent_setup):  # noqa: F811  (the fixture)
    """An incident, a service, and a breach of 熊本市's residents that became known ten days ago (Japan time)."""
    service = consent_setup(name="くらしナビ", text=TEXT)
    incident = incidents.open_incident(db, operator, incidents.IncidentDraft(title="くらしナビの設定誤り"))
    db.commit()
    at = dt.datetime.now(JST).replace(microsecond=0) - dt.timedelta(days=10)
    breach = breaches.mark_breach(db, operator, incident.id, breaches.BreachDraft(
        tenant_code=KUMAMOTO, kind="leak", window_start=at - dt.timedelta(days=2), window_end=at - dt.timedelta(days=1),
        known_at=at, service_ids=[service.id]))
    db.commit()
    return {"breach": breach, "incident": incident, "service": service, "known_on": at.date()}


def _problem(answer, status: int, ja: str) -> None:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    assert ja in answer.get_data(as_text=True)


@pytest.mark.keycloak
def test_breaches_through_the_api(client, known, user_factory):
    operator = user_factory(("platform-operator",))[1]
    breach_id, incident_id = known["breach"].id, known["incident"].id
    listed = client.get("/api/v1/breaches", headers=operator).get_json()
    [row] = listed["items"]
    final_due = known["known_on"] + dt.timedelta(days=30)
    assert row["id"] == breach_id and row["preliminary"]["overdue"] and not row["preliminary"]["submitted"]
    assert row["final"]["due_on_ja"] == _era(final_due) and row["final"]["days_left"] == 20

    read = client.get(f"/api/v1/breaches/{breach_id}", headers=operator).get_json()
    assert read["affected_count"] == 0 and [s["name"] for s in read["services"]] == ["くらしナビ"]
    assert read["municipality"] == "熊本市" and read["kind_ja"] == "漏えい"

    body = {"tenant_code": YATSUSHIRO, "kind": "unauthorised_access", "window_start": "2026-01-01T00:00:00+09:00",
            "window_end": "2026-01-02T00:00:00+09:00", "known_at": "2026-01-05T10:00:00+09:00",
            "service_ids": [known["service"].id]}
    _problem(client.post("/api/v1/incidents/999999/breaches", json=body, headers=operator), 404, "障害はありません")
    _problem(client.post(f"/api/v1/incidents/{incident_id}/breaches", json={**body, "kind": "rumour"}, headers=operator),
             422, "kind")
    marked = client.post(f"/api/v1/incidents/{incident_id}/breaches", json=body, headers=operator)
    assert marked.status_code == 201, marked.get_data(as_text=True)
    other = marked.get_json()
    assert other["final"]["due_on"] == "2026-03-06"  # 不正アクセス: sixty days from 5 January
    _problem(client.post(f"/api/v1/incidents/{incident_id}/breaches", json=body, headers=operator), 409, "記録済み")

    _problem(client.post(f"/api/v1/breaches/{breach_id}/submissions", json={"kind": "interim"}, headers=operator),
             422, "kind")
    _problem(client.post(f"/api/v1/breaches/{breach_id}/submissions", json={"kind": "final"}, headers=operator),
             409, "先に速報の提出を記録してください")
    submitted = client.post(f"/api/v1/breaches/{breach_id}/submissions", json={"kind": "preliminary"}, headers=operator)
    assert submitted.status_code == 201 and submitted.get_json()["preliminary"]["submitted"]
    _problem(client.post(f"/api/v1/breaches/{breach_id}/submissions", json={"kind": "preliminary"}, headers=operator),
             409, "提出済み")

    # 八代市's admin sees 八代市's breach only; 熊本市's is not found to them, and they cannot act on it
    admin = user_factory(("municipal-admin",), YATSUSHIRO)[1]
    assert [r["id"] for r in client.get("/api/v1/breaches", headers=admin).get_json()["items"]] == [other["id"]]
    _problem(client.get(f"/api/v1/breaches/{breach_id}", headers=admin), 404, "漏えい等の記録はありません")
    _problem(client.post(f"/api/v1/breaches/{breach_id}/submissions", json={"kind": "final"}, headers=admin),
             404, "漏えい等の記録はありません")
    # marking is for those who read the incident register: 八代市's admin may not mark even its own residents' breach
    refused = client.post(f"/api/v1/incidents/{incident_id}/breaches", json={**body, "tenant_code": YATSUSHIRO},
                          headers=admin)
    assert refused.status_code == 403 and refused.headers["Content-Type"].startswith("application/problem+json")
    staff = user_factory(("municipal-staff",), KUMAMOTO)[1]
    assert client.get("/api/v1/breaches", headers=staff).status_code == 403


def test_the_home_page_shows_each_report_due_to_those_who_may_read_the_breach(client, db, operator, known):
    known_on = known["known_on"]
    sign_in(client, ["municipal-admin"], [KUMAMOTO])
    page = client.get("/admin/").get_data(as_text=True)
    assert f'/admin/breaches/{known["breach"].id}' in page
    assert _era(known_on + dt.timedelta(days=5)) in page and "期限超過" in page  # the 速報, five days ago
    assert _era(known_on + dt.timedelta(days=30)) in page and "残り20日" in page  # the 確報

    breaches.record_report(db, operator, known["breach"].id, "preliminary")
    db.commit()
    page = client.get("/admin/").get_data(as_text=True)
    assert "期限超過" not in page and "残り20日" in page  # submitted: only the 確報 is left

    other = client.application.test_client()
    sign_in(other, ["municipal-admin"], [YATSUSHIRO])
    elsewhere = other.get("/admin/").get_data(as_text=True)
    assert "残り20日" not in elsewhere and f'/admin/breaches/{known["breach"].id}' not in elsewhere

