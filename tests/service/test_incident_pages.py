"""The incident register's pages: opening by the form, the incident's page with its clock, timeline and
reports (asked first), the PDF letters, the 24-hour clock on the operator's home page, and the request
log of the incident's window."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from core.calendar import JST
from service.incidents import operations
from service.incidents.models import Incident, IncidentStatus
from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
from tenancy.registry.sample import KUMAMOTO_SETTINGS
from tests.admin.test_labels import visible_text
from tests.conftest import sign_in

UTC = dt.timezone.utc


@pytest.fixture
def prefecture(db, operator, tenant_factory):
    tenant_factory("430005", kind="prefecture", name_ja="熊本県", name_en="Kumamoto Prefecture")
    tenant_factory("431001")
    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    db.commit()


def local(moment: dt.datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%dT%H:%M")


def test_the_operator_opens_an_incident_by_the_form_and_works_it_to_the_end(client, db, prefecture):
    sign_in(client, csrf="t")
    form = client.get("/admin/incidents/new").get_data(as_text=True)
    assert 'name="components"' in form and 'id="tenant-431001"' in form  # pickers
    assert 'value="ckan"' in form and 'value="dcat"' in form  # the components are the monitor's registry
    detected = dt.datetime.now(UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=2)
    refused = client.post("/admin/incidents/new", data={"csrf_token": "t", "title": "", "severity": "major"})
    assert refused.status_code == 400 and "件名を入力してください" in visible_text(refused.get_data(as_text=True))
    done = client.post("/admin/incidents/new", data={
        "csrf_token": "t", "title": "カタログ検索の停止", "severity": "critical", "detected_at": local(detected),
        "description": "検索が 500 を返しています。", "components": ["ckan"], "tenant_codes": ["431001"]})
    assert done.status_code == 302
    incident = db.scalar(sa.select(Incident))
    assert incident.detected_at == detected and incident.severity.value == "critical"
    page = visible_text(client.get(f"/admin/incidents/{incident.id}").get_data(as_text=True))
    assert "カタログ検索の停止" in page and "重大（全面停止）" in page
    assert re.search(r"残り 2[12] 時間 \d+ 分", page)  # 24 hours from the detection two hours ago
    assert "カタログ API（CKAN）" in page and "431001 熊本市" in page

    # the operator's home page shows the clock
    home = client.get("/admin/").get_data(as_text=True)
    assert f'data-incident="{incident.id}"' in home and "障害：24時間以内の復旧" in visible_text(home)
    assert "県への第一報が期限超過" in visible_text(home)  # due one hour after detection by default

    asked = client.post(f"/admin/incidents/{incident.id}/first-report", data={"csrf_token": "t"})
    assert asked.status_code == 200 and "県へ第一報を送りますか" in asked.get_data(as_text=True)
    assert operations.reports(db, incident.id) == {}  # nothing before the confirmation
    client.post(f"/admin/incidents/{incident.id}/first-report", data={"csrf_token": "t", "confirmed": "1"})
    pdf = client.get(f"/admin/incidents/{incident.id}/reports/first.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get(f"/admin/incidents/{incident.id}/reports/final.pdf").status_code == 404

    client.post(f"/admin/incidents/{incident.id}/entries", data={"csrf_token": "t", "kind": "workaround",
                                                                 "text": "旧検索に切り替えました。"})
    client.post(f"/admin/incidents/{incident.id}/entries", data={"csrf_token": "t", "kind": "recovered",
                                                                 "text": "復旧しました。", "confirmed": "1"})
    db.expire_all()
    assert db.get(Incident, incident.id).status is IncidentStatus.recovered
    assert f'data-incident="{incident.id}"' not in client.get("/admin/").get_data(as_text=True)  # the clock stopped

    final = {"csrf_token": "t", "cause": "索引の破損", "impact": "検索が3時間停止", "response": "索引を再作成",
             "prevention": "索引の整合性を毎日検査"}
    client.post(f"/admin/incidents/{incident.id}/close", data={**final, "confirmed": "1"})
    db.expire_all()
    assert db.get(Incident, incident.id).status is IncidentStatus.closed
    assert client.get(f"/admin/incidents/{incident.id}/reports/final.pdf").status_code == 200
    page = visible_text(client.get(f"/admin/incidents/{incident.id}").get_data(as_text=True))
    assert "暫定対応" in page and "完了（最終報告）" in page and "デ戦第2号" in page
    assert "県への提出: 未提出" in page  # the incident's report the vendor now owes (governance.submissions)


def test_an_incident_opened_by_the_probe_is_in_the_register(client, db, prefecture):
    incident = operations.open_for_outage(db, "keycloak", "認証サーバー", dt.datetime.now(UTC))
    db.commit()
    sign_in(client)
    page = client.get("/admin/incidents/").get_data(as_text=True)
    assert 'data-kind="platform"' in page and f"/admin/incidents/{incident.id}" in page
    assert "認証サーバー の応答停止" in visible_text(page)


def test_the_auditor_reads_but_does_not_act(client, db, prefecture):
    incident = operations.open_for_outage(db, "keycloak", "認証サーバー", dt.datetime.now(UTC))
    db.commit()
    sign_in(client, ["auditor"], csrf="t")
    assert client.get(f"/admin/incidents/{incident.id}").status_code == 200
    assert client.get("/admin/incidents/new").status_code == 403
    assert client.post(f"/admin/incidents/{incident.id}/first-report",
                       data={"csrf_token": "t", "confirmed": "1"}).status_code in (302, 403)
    assert operations.reports(db, incident.id) == {}
    sign_in(client, ["municipal-admin"], ["431001"])
    assert client.get(f"/admin/incidents/{incident.id}").status_code == 403


def test_the_incident_links_to_the_request_log_of_its_window(client, db, prefecture, request_log_folder):
    incident = operations.open_for_outage(db, "gateway", "API ゲートウェイ", dt.datetime.now(UTC) - dt.timedelta(minutes=5))
    db.commit()
    sign_in(client)
    client.get("/admin/incidents/")  # a request of the window, logged to the day file
    page = client.get(f"/admin/incidents/{incident.id}").get_data(as_text=True)
    start = page.index("/admin/request-log/?")
    link = page[start:page.index('"', start)].replace("&amp;", "&")
    found = client.get(link)
    assert found.status_code == 200 and "/admin/incidents/" in found.get_data(as_text=True)
    day = next(request_log_folder.glob("requests-*.jsonl"))
    line = json.loads(day.read_text(encoding="utf-8").splitlines()[0])
    by_id = visible_text(client.get(f"{link}&request_id={line['request_id']}").get_data(as_text=True))
    assert "該当件数: 1" in by_id and line["request_id"] in by_id
    none = visible_text(client.get(f"{link}&status=5xx").get_data(as_text=True))
    assert "該当件数: 0" in none


def test_the_command_line_keeps_the_register_too(app, db, prefecture, tmp_path):
    runner = app.test_cli_runner()
    opened = runner.invoke(args=["incidents", "open", "夜間バッチの停止", "--severity", "minor", "--tenant", "431001",
                                 "--component", "renkei=renkei", "--as", "tanaka"])
    assert opened.exit_code == 0, opened.output
    incident = db.scalar(sa.select(Incident))
    assert incident.title == "夜間バッチの停止" and operations.tenant_codes(db, incident.id) == ["431001"]
    listed = runner.invoke(args=["incidents", "list", "--as", "tanaka"])
    assert f"#{incident.id}" in listed.output and "対応中" in listed.output
    sent = runner.invoke(args=["incidents", "first-report", str(incident.id), "--yes", "--as", "tanaka"])
    assert sent.exit_code == 0 and "デ戦第1号" in sent.output, sent.output
    runner.invoke(args=["incidents", "entry", str(incident.id), "recovered", "再実行で復旧", "--as", "tanaka"])
    closed = runner.invoke(args=["incidents", "close", str(incident.id), "--cause", "ディスク不足", "--impact", "集計の遅れ",
                                 "--response", "領域を拡張", "--prevention", "容量の監視", "--yes", "--as", "tanaka"])
    assert closed.exit_code == 0 and "デ戦第2号" in closed.output, closed.output
    target = tmp_path / "final.pdf"
    written = runner.invoke(args=["incidents", "report", str(incident.id), "final", "-o", str(target), "--as", "tanaka"])
    assert written.exit_code == 0 and target.read_bytes().startswith(b"%PDF")
    refused = runner.invoke(args=["incidents", "entry", str(incident.id), "note", "  ", "--as", "tanaka"])
    assert refused.exit_code == 2 and "記録の内容を入力してください" in refused.output


def test_the_operator_gives_an_incident_of_the_probe_its_severity_and_municipality_on_its_page(client, db, tenant_factory):
    import datetime as _dt

    from service.incidents import operations as _operations
    from tests.conftest import sign_in as _sign_in

    tenant_factory("431001")
    incident = _operations.open_for_outage(db, "gateway", "API ゲートウェイ", _dt.datetime(2026, 11, 2, 1, 0, tzinfo=_dt.timezone.utc))
    db.commit()
    _sign_in(client, csrf="edit-csrf")
    page = client.get(f"/admin/incidents/{incident.id}").get_data(as_text=True)
    assert f"/admin/incidents/{incident.id}/edit" in page
    form = client.get(f"/admin/incidents/{incident.id}/edit")
    assert form.status_code == 200 and "影響を受けた市町村を追加" in form.get_data(as_text=True)
    done = client.post(f"/admin/incidents/{incident.id}/edit", data={
        "csrf_token": "edit-csrf", "severity": "critical", "tenant_codes": ["431001"]}, follow_redirects=True)
    assert "障害の内容を変更しました。" in done.get_data(as_text=True)
    db.expire_all()
    assert (db.get(type(incident), incident.id).severity.value, _operations.tenant_codes(db, incident.id)) == (
        "critical", ["431001"])

    _sign_in(client, roles=("auditor",), csrf="edit-csrf")
    assert client.get(f"/admin/incidents/{incident.id}/edit").status_code == 403
    assert client.post(f"/admin/incidents/{incident.id}/edit", data={"csrf_token": "edit-csrf", "severity": "minor"}
                       ).status_code == 403
