"""The monthly report to the prefecture (issue 39, item 5): for a month made in the test, every count
equals what the test put into the request log and the database (counted here, not by the code);
the workbook opens with openpyxl and the PDF reads back with pdftotext; the due job writes last
month's report once; the operator sends it to the prefecture's recipients, once, audited."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa

from core import audit, chain
from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import JST, add_months, current_month, month_start_utc
from core.errors import Conflict, NotPermitted
from core.outbox import Notification
from residents.consent.models import LINKAGE_HASHED_FIELDS, LinkageRecord
from secretariat import inquiries
from service import monthly_report
from service.models import ComponentState, MonthlyReport, ServiceComponent, ServiceInterval, SignInEvent
from service.sign_ins import SignIns
from tenancy.identity.models import ApiClient
from tenancy.members import operations as members
from tenancy.members.models import MemberStatus, Organisation
from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
from tenancy.registry.sample import KUMAMOTO_SETTINGS
from tests.billing.test_statement_documents import pdf_pages, pdf_text
from tests.datasets.conftest import KUMAMOTO_ADMIN, draft

UTC = dt.timezone.utc
AUDITOR = Actor(issuer="urn:test", subject="auditor-1", name="監査 花子", roles=frozenset({"auditor"}))


def log_line(path: str, status: int = 200, method: str = "GET") -> str:
    return json.dumps({"time": "2026-01-01T00:00:00.000+00:00", "request_id": "r", "actor": None, "tenant": None,
                       "method": method, "path": path, "status": status, "duration_ms": 3.0}, ensure_ascii=False) + "\n"


def handed_out(db, report_id: int) -> list[tuple[str, str, int]]:
    """The audit log's hand-outs of a writing: (format, SHA-256, bytes), oldest first."""
    db.expire_all()
    records = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "service.monthly_report.download",
                                                      AuditRecord.target_id == str(report_id)).order_by(AuditRecord.id))
    return [(after["format"], after["sha256"], after["bytes"]) for after in (json.loads(r.after) for r in records)]


def digest(data: bytes) -> tuple[str, int]:
    import hashlib

    return hashlib.sha256(data).hexdigest(), len(data)


def write_log(folder, day: dt.date, lines: list[str]) -> None:
    (folder / f"requests-{day.isoformat()}.jsonl").write_text("".join(lines), encoding="utf-8")


def month_log(folder, month: dt.date) -> None:
    """The month's request log: 3 catalogue pages read, 7 catalogue API calls (2 of them searches), 5
    admin pages, 2 admin API calls, 4 public pages read (the status page, the inquiry form, the events, the
    membership application)
    and the public status read once by a machine; and lines that are no page view (errors, POSTs,
    health, static)."""
    first = [log_line("/catalogue/dataset/aed"), log_line("/catalogue/themes"), log_line("/api/3/action/package_show"),
             log_line("/api/3/action/package_search"), log_line("/catalog.ttl"), log_line("/admin/"),
             log_line("/admin/tenants/"), log_line("/api/v1/tenants"),
             log_line("/catalogue/dataset/none", 404), log_line("/admin/tenants/", 302), log_line("/admin/x", 200, "POST"),
             log_line("/healthz"), log_line("/static/app.css"), "not json\n",
             log_line("/status"), log_line("/inquiry/"), log_line("/status.json"), log_line("/inquiry/", 200, "POST")]
    last = [log_line("/catalogue/provider/431001"), log_line("/api/action/package_search"),
            log_line("/api/3/action/package_list"), log_line("/api/3/action/tag_list"), log_line("/api/3/action/status_show"),
            log_line("/admin/usage/"), log_line("/admin/audit/"), log_line("/admin/service/"), log_line("/api/v1/usage"),
            log_line("/api/3/action/package_search", 409), log_line("/events/"), log_line("/events/9", 404), log_line("/join/")]
    write_log(folder, month, first)
    write_log(folder, add_months(month, 1) - dt.timedelta(days=1), last)
    # the days around the month: not counted
    write_log(folder, month - dt.timedelta(days=1), [log_line("/catalogue/themes"), log_line("/admin/")] * 5)
    write_log(folder, add_months(month, 1), [log_line("/api/3/action/package_search")] * 4)


@pytest.fixture
def prefecture(db, operator, tenant_factory):
    tenant_factory("430005", kind="prefecture", name_ja="熊本県", name_en="Kumamoto Prefecture")
    tenant_factory("431001")
    tenant_factory("432024")
    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    db.commit()


def _linkage(db, at: dt.datetime, allowed: bool, n: int) -> None:
    values = {"service_id": 1, "service_owner": "", "tenant_code": "431001", "subject_id": f"person-{n}", "items": "[]",
              "purpose": "試験", "allowed": allowed, "reason": "ok" if allowed else "no_consent",
              "consent_record_id": None, "consent_receipt_id": None, "client": "", "caller_issuer": "urn:test",
              "caller_subject": "broker", "request_id": None, "occurred_at": at}
    chain.append(db, LinkageRecord.__table__, LINKAGE_HASHED_FIELDS, values)


def _organisation(db, number: str, joined_on: dt.date) -> None:
    members.apply(db, members.Application(number, f"会員 {number}", "company", "熊本県", "代表 太郎", "担当 花子",
                                          f"m{number}@example.jp"),
                  confirm_url=lambda token: f"http://renkei.test/join/confirm/{token}")
    row = db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number))
    row.status, row.joined_on = MemberStatus.approved, joined_on
    db.commit()


def _inquiry(db, operator, category: str, now: dt.datetime) -> None:
    inquiries.record_inquiry(db, operator, inquiries.InquiryDraft(
        inquirer_kind="resident", channel="mail", category=category, subject="質問", question="教えてください。",
        inquirer_name="県民 一郎", email="q@example.jp"), now=now)


@pytest.fixture
def month_made(db, operator, prefecture, monkeypatch, request_log_folder):
    """This month (Japan time), made: what each figure must count is said beside what is made."""
    from catalogue import operations as datasets
    from usage import metering

    month = current_month()
    start, before = month_start_utc(month), month_start_utc(month) - dt.timedelta(hours=2)
    # the month before, written first (the audit chain is in time order): not counted
    with monkeypatch.context() as patched:
        patched.setattr("core.audit.utcnow", lambda: before)
        audit.record(db, operator, "user.invite", "user", "old-invite")
        audit.record(db, Actor(issuer="urn:test", subject="old"), "auth.sign_in", "user", "old")
        db.commit()
    _linkage(db, before, True, 0)
    # this month: 3 invitations; renkei's own records of 4 sign-ins to the admin (each also a LOGIN event of
    # Keycloak: not counted again)
    for n in range(3):
        audit.record(db, operator, "user.invite", "user", f"invited-{n}")
    for subject in ("tanaka", "tanaka", "sato", "tanaka"):
        audit.record(db, Actor(issuer="urn:test", subject=subject, name=subject), "auth.sign_in", "user", subject)
    # Keycloak's LOGIN events kept: 5 sign-ins of 3 people this month (Japan time: the first 30 minutes after
    # the month's start, the day before in UTC), 3 to the admin and 2 to the portal; 1 ten minutes before it
    for n, (minutes, client, user) in enumerate(((-10, "renkei-admin", "u-1"), (30, "renkei-admin", "u-1"),
                                                 (60, "catalogue-portal", "u-2"), (24 * 60 + 5, "renkei-admin", "u-1"),
                                                 (24 * 60 + 6, "catalogue-portal", "u-3"), (24 * 60 + 7, "renkei-admin", "u-2"))):
        at = start + dt.timedelta(minutes=minutes)
        db.add(SignInEvent(event_id=f"kc-{n}", at=at, day=at.astimezone(JST).date(), client_id=client, user_id=user))
    # consent checks: 3 allowed and 2 refused this month
    for n, allowed in enumerate((True, False, True, True, False), start=1):
        _linkage(db, start + dt.timedelta(minutes=n), allowed, n)
    # API clients: 2 this month, 1 the month before
    for n, created in enumerate((start + dt.timedelta(hours=1), start + dt.timedelta(hours=3), before)):
        db.add(ApiClient(tenant_code="431001", name=f"連携 {n}", purpose="試験", allowlist="192.0.2.0/24",
                         expires_on=month + dt.timedelta(days=300), created_by="unei", created_at=created))
    db.commit()
    # members: 2 joined this month, 1 the month before
    _organisation(db, "7000012050002", month)
    _organisation(db, "8000012050001", month)
    _organisation(db, "3000012050006", month - dt.timedelta(days=1))
    # datasets: 2 registered (now, so in this month); 431001's first used 500 times
    aed = datasets.register(db, KUMAMOTO_ADMIN, draft(standard_kind=None)).name
    datasets.register(db, KUMAMOTO_ADMIN, draft(standard_kind=None, title_ja="避難所一覧"))
    at = start.isoformat()
    metering.ingest(db, operator, [
        {"tenant": "431001", "metric": "api_calls", "quantity": 500, "timestamp": at, "event_id": "m-1", "dataset": aed},
        {"tenant": "431001", "metric": "api_calls", "quantity": 100, "timestamp": at, "event_id": "m-2"},
        {"tenant": "432024", "metric": "api_calls", "quantity": 7, "timestamp": at, "event_id": "m-3"},
    ])
    # inquiries: 2 technical and 1 fault this month, 1 the month before
    _inquiry(db, operator, "technical", start + dt.timedelta(hours=1))
    _inquiry(db, operator, "technical", start + dt.timedelta(hours=2))
    _inquiry(db, operator, "fault", start + dt.timedelta(hours=3))
    _inquiry(db, operator, "technical", before)
    # a registered component down 45 minutes in the month
    component = ServiceComponent(key="c-broker", name_ja="ブローカー", url="http://127.0.0.1:9/version")
    db.add(component)
    db.flush()
    down_from, down_to = start + dt.timedelta(hours=1), start + dt.timedelta(hours=1, minutes=45)
    db.add_all([ServiceInterval(component_id=component.id, state=ComponentState.up, started_at=start, ended_at=down_from,
                                last_probe_at=down_from),
                ServiceInterval(component_id=component.id, state=ComponentState.down, started_at=down_from,
                                ended_at=down_to, last_probe_at=down_to, outage_confirmed_at=down_from)])
    db.commit()
    month_log(request_log_folder, month)
    return month, aed


def test_every_figure_of_a_made_month_is_what_was_made(db, operator, month_made, request_log_folder):
    month, aed = month_made
    found = monthly_report.figures(db, operator, month, request_log_folder)

    assert found.requests == monthly_report.RequestCounts(catalogue_people=3, catalogue_machines=7, admin_people=5,
                                                          admin_machines=2, public_people=4, public_machines=1, searches=2)
    assert found.registrations == {"members": 2, "users": 3, "api_clients": 2, "datasets": 2}
    assert found.sign_ins == SignIns(total=5, people=3, by_client=[("renkei-admin", 3), ("catalogue-portal", 2)],
                                     by_day=[(month, 2), (month + dt.timedelta(days=1), 3)])
    assert found.consent == {"checks": 5, "linkages": 3}
    assert {c: n for c, n in found.inquiries.items() if n} == {"technical": 2, "fault": 1}
    assert [(code, calls) for code, _name, calls in found.by_tenant if calls] == [("431001", 600), ("432024", 7)]
    assert [(name, calls) for name, _title, _provider, calls in found.by_dataset] == [(aed, 500)]
    broker = next(row for row in found.availability if row.component.key == "c-broker")
    assert broker.measured.down == 45 * 60 * 1_000_000


def test_the_written_report_opens_as_a_workbook_and_a_pdf_of_a_few_pages(db, operator, month_made, request_log_folder,
                                                                         tmp_path):
    from openpyxl import load_workbook

    month, _aed = month_made
    row = monthly_report.write(db, operator, month, request_log_folder,
                               now=month_start_utc(add_months(month, 1)) - dt.timedelta(seconds=1))
    db.commit()

    book = load_workbook(io.BytesIO(row.xlsx))
    views = [tuple(r) for r in book["閲覧数"].iter_rows(min_row=4, values_only=True)]
    assert views == [("カタログ", 3, 7), ("管理画面", 5, 2), ("公開ページ（稼働状況・問合せ・イベントなど）", 4, 1)]
    registrations = dict(tuple(r) for r in book["登録"].iter_rows(min_row=4, values_only=True))
    assert registrations == {"新規会員": 2, "新規利用者（招待）": 3, "新規 API クライアント": 2, "新規データセット": 2}
    assert [tuple(r) for r in book["サインイン"].iter_rows(min_row=4, values_only=True)] == [
        ("サインイン回数", 5), ("サインインした人数", 3)]
    assert [tuple(r) for r in book["サインイン（クライアント別）"].iter_rows(min_row=4, values_only=True)] == [
        ("renkei-admin", 3), ("catalogue-portal", 2)]
    text = pdf_text(row.pdf, tmp_path)
    assert f"{month.year}年{month.month}月" in text and "月次運用報告" in text
    assert "ブローカー" in text and "閲覧数" in text and "同意確認" in text
    assert 1 <= len(pdf_pages(row.pdf, tmp_path)) <= 6
    assert json.loads(row.figures)["downtime_minutes"]["c-broker"] == 45
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "service.monthly_report.write"))
    assert json.loads(record.after) == {"month": f"{month:%Y-%m}", "version": 1}

    again = monthly_report.write(db, operator, month, request_log_folder)
    db.commit()
    assert (again.version, len(monthly_report.history(db, operator))) == (2, 2)  # the first one kept


def test_sending_queues_it_to_the_recipients_once_and_is_audited(db, operator, month_made, request_log_folder):
    month, _aed = month_made
    row = monthly_report.write(db, operator, month, request_log_folder)
    db.commit()

    monthly_report.send(db, operator, row.id, ["kikaku@pref.example.jp"])
    db.commit()

    message = db.scalar(sa.select(Notification).where(Notification.kind == monthly_report.KIND))
    assert message.recipients == "kikaku@pref.example.jp"
    assert f"{month.year}年{month.month}月" in message.subject
    assert "カタログ 人 3 件・機械 7 件" in message.body and "検索：2 回" in message.body
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "service.monthly_report.send"))
    assert json.loads(record.after)["recipients"] == ["kikaku@pref.example.jp"]
    with pytest.raises(Conflict):
        monthly_report.send(db, operator, row.id, ["kikaku@pref.example.jp"])
    db.rollback()


def test_sending_without_recipients_says_where_the_operator_sets_them(db, operator, month_made, request_log_folder):
    month, _aed = month_made
    row = monthly_report.write(db, operator, month, request_log_folder)
    db.commit()
    with pytest.raises(Conflict) as refused:
        monthly_report.send(db, operator, row.id, [])
    assert "「稼働目標の設定」で報告の送付先" in refused.value.message_ja  # the settings page, not an environment variable
    assert "RENKEI_" not in refused.value.message_en


def test_nobody_without_the_service_rights_writes_or_sends(db, operator, month_made, request_log_folder):
    month, _aed = month_made
    with pytest.raises(NotPermitted):
        monthly_report.write(db, AUDITOR, month, request_log_folder)
    row = monthly_report.write(db, operator, month, request_log_folder)
    db.commit()
    with pytest.raises(NotPermitted):
        monthly_report.send(db, AUDITOR, row.id, ["kikaku@pref.example.jp"])


def test_the_due_job_writes_last_months_report_once(app, db, prefecture):
    def run():
        return app.test_cli_runner().invoke(args=["jobs", "run-due", "--only", "monthly-report", "--as", "jobs-test"])

    first = run()
    assert "[OK  ] monthly-report" in first.output, first.output
    db.expire_all()
    rows = db.scalars(sa.select(MonthlyReport)).all()
    assert [row.month for row in rows] == [add_months(current_month(), -1)]
    assert "[SKIP] monthly-report" in run().output
    assert db.scalar(sa.select(sa.func.count()).select_from(MonthlyReport)) == 1


def test_the_operator_writes_downloads_and_sends_it_from_the_page_and_the_auditor_only_reads(
        client, db, month_made, monkeypatch, app):
    from openpyxl import load_workbook

    from tests.conftest import sign_in

    month, _aed = month_made
    monkeypatch.setitem(app.config, "RENKEI_INCIDENT_REPORT_RECIPIENTS", "kikaku@pref.example.jp")
    csrf = "monthly-report-csrf"
    sign_in(client, csrf=csrf)
    empty = client.get("/admin/service/monthly-reports/")
    assert empty.status_code == 200 and "月次運用報告はまだ作成されていません" in empty.get_data(as_text=True)
    bad = client.post("/admin/service/monthly-reports/write", data={"csrf_token": csrf, "month": "2026-13"})
    assert bad.status_code == 400
    written = client.post("/admin/service/monthly-reports/write", data={"csrf_token": csrf, "month": f"{month:%Y-%m}"},
                          follow_redirects=True)
    text = written.get_data(as_text=True)
    assert written.status_code == 200 and f"{month:%Y-%m} の月次運用報告を作成しました" in text
    assert "kikaku@pref.example.jp" in text
    # page views of people: 3 catalogue + 5 admin + 4 public made, and this test's own first look at the
    # page (the app logs into the same folder); machines: 7 + 2 + 1
    assert "13 / 10" in text
    assert "ブローカー 45" in text  # its 45 minutes down
    row = db.scalar(sa.select(MonthlyReport))
    pdf = client.get(f"/admin/service/monthly-reports/{row.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    workbook = client.get(f"/admin/service/monthly-reports/{row.id}.xlsx").data
    book = load_workbook(io.BytesIO(workbook))
    assert "閲覧数" in book.sheetnames
    assert handed_out(db, row.id) == [("pdf", *digest(pdf.data)), ("xlsx", *digest(workbook))]
    asked = client.post(f"/admin/service/monthly-reports/{row.id}/send", data={"csrf_token": csrf})
    assert "この月次運用報告を県に送付しますか" in asked.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == monthly_report.KIND)) == 0
    sent = client.post(f"/admin/service/monthly-reports/{row.id}/send", data={"csrf_token": csrf, "confirmed": "1"},
                       follow_redirects=True)
    assert "送信待ちにしました" in sent.get_data(as_text=True)
    assert db.scalar(sa.select(Notification.recipients).where(Notification.kind == monthly_report.KIND)) == "kikaku@pref.example.jp"

    sign_in(client, roles=("auditor",), csrf=csrf)
    page = client.get("/admin/service/monthly-reports/").get_data(as_text=True)
    assert f"/admin/service/monthly-reports/{row.id}.pdf" in page and "報告を作成" not in page
    assert client.post("/admin/service/monthly-reports/write", data={"csrf_token": csrf, "month": f"{month:%Y-%m}"}
                       ).status_code in (302, 403)
    assert db.scalar(sa.select(sa.func.count()).select_from(MonthlyReport)) == 1


def test_the_command_line_writes_lists_downloads_and_sends(app, db, month_made, monkeypatch, tmp_path):
    from openpyxl import load_workbook

    month, _aed = month_made

    def renkei(*args):
        return app.test_cli_runner().invoke(args=["service", "monthly-report", *args, "--as", "service-test"])

    written = renkei("write", "--month", f"{month:%Y-%m}")
    assert written.exit_code == 0, written.output
    report_id = int(written.output.split("\t")[0])
    assert f"{report_id}\t{month:%Y-%m}\tv1\t" in renkei("list").output
    saved = tmp_path / "report.xlsx"
    assert renkei("download", str(report_id), "--format", "xlsx", "--output", str(saved)).exit_code == 0
    assert [tuple(r) for r in load_workbook(saved)["閲覧数"].iter_rows(min_row=4, values_only=True)] == [
        ("カタログ", 3, 7), ("管理画面", 5, 2), ("公開ページ（稼働状況・問合せ・イベントなど）", 4, 1)]
    assert handed_out(db, report_id) == [("xlsx", *digest(saved.read_bytes()))]
    monkeypatch.setitem(app.config, "RENKEI_INCIDENT_REPORT_RECIPIENTS", "kikaku@pref.example.jp, joho@pref.example.jp")
    sent = renkei("send", str(report_id))
    assert sent.exit_code == 0 and "sent to kikaku@pref.example.jp, joho@pref.example.jp" in sent.output
    again = renkei("send", str(report_id))
    assert again.exit_code != 0 and "送付済み" in again.output
    assert renkei("write", "--month", "2099-01").exit_code != 0


def test_the_api_writes_lists_hands_out_and_sends_it(app, db, month_made, monkeypatch):
    from openpyxl import load_workbook

    month, _aed = month_made
    monkeypatch.setitem(app.config, "RENKEI_API_OPEN_FOR_DEVELOPMENT", True)
    monkeypatch.setitem(app.config, "RENKEI_INCIDENT_REPORT_RECIPIENTS", "kikaku@pref.example.jp")
    api = app.test_client()
    future = api.post("/api/v1/service/monthly-reports", json={"month": "2099-01"})
    assert future.status_code == 422 and future.get_json()["errors"][0]["field"] == "month"
    written = api.post("/api/v1/service/monthly-reports", json={"month": f"{month:%Y-%m}"})
    assert written.status_code == 201, written.get_json()
    body = written.get_json()
    assert body["figures"]["requests"]["catalogue_machines"] == 7 and body["figures"]["registrations"]["members"] == 2
    assert body["figures"]["downtime"] == [{"name_ja": "ブローカー", "minutes": 45}]
    assert body["figures"]["sign_ins"] == {"sign_ins": 5, "people": 3}
    assert body["figures"]["sign_ins_by_client"] == [{"client_id": "renkei-admin", "sign_ins": 3},
                                                     {"client_id": "catalogue-portal", "sign_ins": 2}]
    assert [day["sign_ins"] for day in body["figures"]["sign_ins_by_day"]] == [2, 3]
    assert [item["id"] for item in api.get("/api/v1/service/monthly-reports").get_json()["items"]] == [body["id"]]
    xlsx = api.get(f"/api/v1/service/monthly-reports/{body['id']}?format=xlsx")
    assert load_workbook(io.BytesIO(xlsx.data))["登録"]["B4"].value == 2
    pdf = api.get(f"/api/v1/service/monthly-reports/{body['id']}?format=pdf").data
    assert pdf.startswith(b"%PDF")
    api.get(f"/api/v1/service/monthly-reports/{body['id']}")  # its figures: no file handed out
    assert handed_out(db, body["id"]) == [("xlsx", *digest(xlsx.data)), ("pdf", *digest(pdf))]
    sent = api.post(f"/api/v1/service/monthly-reports/{body['id']}/send")
    assert sent.status_code == 200 and sent.get_json()["recipients"] == "kikaku@pref.example.jp"
    assert api.post(f"/api/v1/service/monthly-reports/{body['id']}/send").status_code == 409
    assert api.get("/api/v1/service/monthly-reports/999999").status_code == 404
