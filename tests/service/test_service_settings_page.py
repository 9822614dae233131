"""The service settings on the prefecture settings page (issue 39, item 4): the operator edits the
availability target, the incident settings (outage time, first-report deadline), the permitted
hours, the search-word minimum and the prefecture's recipients of the reports; a problem shows
beside its field and saves nothing; a save is audited with before and after; the incident register
and the monthly report then use them instead of the installation's defaults."""

from __future__ import annotations

import json

import sqlalchemy as sa

from core.audit import AuditRecord
from service import settings
from service.models import ServiceSettings
from tests.conftest import sign_in

CSRF = "service-settings-csrf"
FORM = {"csrf_token": CSRF, "target_basis_points": "9990", "outage_after_minutes": "3", "maintenance_weekdays_only": "y",
        "maintenance_start_hour": "9", "maintenance_end_hour": "17", "search_words_minimum": "4",
        "first_report_minutes": "30", "report_recipients": "kikaku@pref.example.jp\njoho@pref.example.jp"}


def test_the_operator_keeps_the_service_settings_on_the_prefecture_settings_page(app, client, db, monkeypatch):
    from admin.service.incident_settings import first_report_hours, report_recipients

    monkeypatch.setitem(app.config, "RENKEI_INCIDENT_FIRST_REPORT_HOURS", 2)
    monkeypatch.setitem(app.config, "RENKEI_INCIDENT_REPORT_RECIPIENTS", "env@pref.example.jp")
    sign_in(client, csrf=CSRF)
    page = client.get("/admin/settings/").get_data(as_text=True)
    assert 'id="service-settings-h"' in page
    assert 'name="first_report_minutes"' in page and 'value="120"' in page  # the installation's default until saved

    bad = client.post("/admin/settings/service", data={**FORM, "report_recipients": "kikaku@pref.example.jp\nnot-an-address"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "not-an-address はメールアドレスの形式ではありません" in text
    assert 'id="report_recipients"' in text and 'aria-invalid="true"' in text
    out_of_range = client.post("/admin/settings/service", data={**FORM, "first_report_minutes": "0"})
    assert out_of_range.status_code == 422
    assert db.scalar(sa.select(sa.func.count()).select_from(ServiceSettings)) == 0  # nothing saved

    saved = client.post("/admin/settings/service", data=FORM, follow_redirects=True)
    assert saved.status_code == 200 and "稼働目標の設定を保存しました" in saved.get_data(as_text=True)
    db.expire_all()
    row = settings.current(db)
    assert (row.target_basis_points, row.outage_after_minutes, row.search_words_minimum, row.first_report_minutes) == \
        (9990, 3, 4, 30)
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "service.settings"))
    assert json.loads(record.after)["report_recipients"] == ["kikaku@pref.example.jp", "joho@pref.example.jp"]
    assert json.loads(record.after)["first_report_minutes"] == 30
    with app.test_request_context():
        assert first_report_hours() == 0.5  # the saved setting, not the installation's 2 hours
        assert report_recipients() == ["kikaku@pref.example.jp", "joho@pref.example.jp"]

    # the auditor sees the prefecture's settings but not the operator's form
    sign_in(client, roles=("auditor",), csrf=CSRF)
    assert client.post("/admin/settings/service", data=FORM).status_code in (302, 403)


def test_the_api_keeps_what_it_is_not_given(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_API_OPEN_FOR_DEVELOPMENT", True)
    api = app.test_client()
    base = {"target_basis_points": 9950, "outage_after_minutes": 5, "maintenance_weekdays_only": True,
            "maintenance_start_hour": 9, "maintenance_end_hour": 17}
    first = api.put("/api/v1/service/settings", json={**base, "first_report_minutes": 45,
                                                       "report_recipients": ["kikaku@pref.example.jp"]})
    assert first.status_code == 200, first.get_json()
    again = api.put("/api/v1/service/settings", json={**base, "outage_after_minutes": 7})
    assert again.get_json()["first_report_minutes"] == 45
    assert again.get_json()["report_recipients"] == ["kikaku@pref.example.jp"]
    bad = api.put("/api/v1/service/settings", json={**base, "report_recipients": ["nobody"]})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
