"""The incident register (障害): opened by hand or by the probe (once per outage), a timeline by people,
the 24-hour clock, and the first and final reports to the prefecture as one-page A4 letters numbered in
the office's one sequence, with notices and e-mails to the affected."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.errors import Conflict, Invalid, NotPermitted
from core.outbox import Notification
from governance.models import Notice, NoticeTenant
from service.incidents import letters, operations
from service.incidents.models import EntryKind, IncidentStatus
from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
from tenancy.registry.sample import KUMAMOTO_SETTINGS
from tests.billing.test_statement_documents import pdf_page_size, pdf_pages, pdf_text
from core.actor import Actor

UTC = dt.timezone.utc
AUDITOR = Actor(issuer="urn:test", subject="auditor-1", name="監査 花子", roles=frozenset({"auditor"}))
# the platform's contracted vendor (issue 57 item 1): keeps the register and reports as the operator does
VENDOR = Actor(issuer="urn:test", subject="vendor-1", name="運用 次郎", roles=frozenset({"platform-vendor"}))


@pytest.fixture
def prefecture(db, operator, tenant_factory):
    tenant_factory("430005", kind="prefecture", name_ja="熊本県", name_en="Kumamoto Prefecture")
    tenant_factory("431001")
    tenant_factory("432024")
    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    db.commit()


def actions(db, action: str) -> list[AuditRecord]:
    return list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id)))


def after(record: AuditRecord) -> dict:
    return json.loads(record.after)


def opened(db, operator, **fields):
    draft = operations.IncidentDraft(**{"title": "API ゲートウェイの応答遅延", "severity": "major",
                                        "detected_at": dt.datetime(2026, 11, 2, 1, 0, tzinfo=UTC),
                                        "description": "データ取得 API がタイムアウトしています。",
                                        "components": [("gateway", "API ゲートウェイ")],
                                        "tenant_codes": ["431001"], **fields})
    incident = operations.open_incident(db, operator, draft, now=dt.datetime(2026, 11, 2, 1, 5, tzinfo=UTC))
    db.commit()
    return incident


def test_opening_by_hand_records_the_detection_and_is_audited(db, operator, prefecture):
    incident = opened(db, operator)
    assert incident.status is IncidentStatus.open and incident.source == "manual"
    entries = operations.timeline(db, incident.id)
    assert [(e.kind, e.by) for e in entries] == [(EntryKind.detected, operator.name)]
    assert entries[0].at == dt.datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    assert operations.tenants(db, incident.id) == [("431001", "熊本市")]
    [record] = actions(db, "incident.open")
    assert after(record)["affected_tenants"] == ["431001"] and after(record)["affected_components"] == ["gateway"]


def test_a_draft_with_mistakes_is_refused_by_field_and_records_nothing(db, operator, prefecture):
    with pytest.raises(Invalid) as refused:
        operations.open_incident(db, operator, operations.IncidentDraft(
            title=" ", severity="huge", tenant_codes=["999999"],
            detected_at=dt.datetime.now(UTC) + dt.timedelta(days=1)))
    assert {p["field"] for p in refused.value.problems} == {"title", "severity", "tenant_codes", "detected_at"}
    db.rollback()
    assert operations.list_incidents(db, operator) == [] and actions(db, "incident.open") == []


def test_the_probe_opens_one_incident_per_outage_and_records_the_recovery(db, operator, prefecture):
    down = dt.datetime(2026, 11, 3, 0, 0, tzinfo=UTC)
    first = operations.open_for_outage(db, "catalogue", "データカタログ", down)
    again = operations.open_for_outage(db, "catalogue", "データカタログ", down + dt.timedelta(minutes=1))
    other = operations.open_for_outage(db, "keycloak", "認証サーバー", down)
    db.commit()
    assert first.id == again.id != other.id
    assert first.source == "probe" and first.opened_by == operations.PROBE.name
    assert operations.component_codes(db, first.id) == ["catalogue"]

    recovered = operations.record_recovered(db, "catalogue", down + dt.timedelta(hours=2))
    db.commit()
    assert recovered.id == first.id and recovered.status is IncidentStatus.recovered
    assert [e.kind for e in operations.timeline(db, first.id)] == [EntryKind.detected, EntryKind.recovered]
    assert operations.record_recovered(db, "catalogue", down + dt.timedelta(hours=3)) is None  # nothing open
    # the next outage of the same component is a new incident
    later = operations.open_for_outage(db, "catalogue", "データカタログ", down + dt.timedelta(days=1))
    assert later.id not in (first.id, other.id)
    assert [r.actor_subject for r in actions(db, "incident.open")] == ["availability-probe"] * 3


def test_the_clock_runs_24_hours_from_detection_and_the_first_report_is_due_after_the_setting(db, operator, prefecture):
    incident = opened(db, operator)
    at = incident.detected_at
    clock = operations.clock(db, incident, first_report_hours=1, now=at + dt.timedelta(hours=2))
    assert clock.recover_by == at + dt.timedelta(hours=24) and clock.remaining == dt.timedelta(hours=22)
    assert clock.first_report_overdue and not clock.overdue
    late = operations.clock(db, incident, first_report_hours=3, now=at + dt.timedelta(hours=25))
    assert late.overdue and late.first_report_by == at + dt.timedelta(hours=3)
    assert [c.incident.id for c in operations.running_clocks(db, operator)] == [incident.id]


def test_people_write_the_timeline_and_the_recovery_moves_the_status(db, operator, prefecture):
    incident = opened(db, operator)
    at = incident.detected_at
    operations.add_entry(db, operator, incident.id, "workaround", "キャッシュから応答するよう切り替えました。", at + dt.timedelta(minutes=20))
    with pytest.raises(Invalid):
        operations.add_entry(db, operator, incident.id, "note", "   ")
    with pytest.raises(Invalid):
        operations.add_entry(db, operator, incident.id, "note", "検知前", at - dt.timedelta(hours=1))
    with pytest.raises(Invalid):
        operations.add_entry(db, operator, incident.id, "detected", "二度目の検知")
    with pytest.raises(NotPermitted):
        operations.add_entry(db, AUDITOR, incident.id, "note", "監査は書けない")
    operations.add_entry(db, operator, incident.id, "recovered", "ゲートウェイを再起動し復旧しました。", at + dt.timedelta(hours=3))
    db.commit()
    assert [e.kind for e in operations.timeline(db, incident.id)] == [
        EntryKind.detected, EntryKind.workaround, EntryKind.recovered]
    assert incident.status is IncidentStatus.recovered and incident.recovered_at == at + dt.timedelta(hours=3)
    assert [after(r)["kind"] for r in actions(db, "incident.entry")] == ["workaround"]
    assert len(actions(db, "incident.recover")) == 1


FINAL = operations.FinalReport(cause="設定変更の誤り", impact="熊本市のデータ取得が2時間停止", response="設定を戻し再起動",
                               prevention="変更前のレビューを必須にする")


def test_closing_needs_the_recovery_and_the_first_report(db, operator, prefecture):
    incident = opened(db, operator)
    with pytest.raises(Conflict):
        operations.close_incident(db, operator, incident.id, FINAL)
    db.rollback()
    operations.add_entry(db, operator, incident.id, "recovered", "復旧", incident.detected_at + dt.timedelta(hours=1))
    with pytest.raises(Conflict) as refused:
        operations.close_incident(db, operator, incident.id, FINAL)
    assert "第一報" in refused.value.message_ja


@pytest.mark.parametrize("who", ["operator", "vendor"])
def test_the_reports_are_numbered_letters_and_reach_the_affected(db, operator, prefecture, who):
    operator = operator if who == "operator" else VENDOR  # the vendor's notices are a step of its report, as the operator's
    incident = opened(db, operator, member_numbers=())
    first = operations.send_first_report(db, operator, incident.id, recipients=["kenchou@example.jp"],
                                         issued_on=dt.date(2026, 11, 2))
    db.commit()
    assert first.number == "デ戦第1号"
    with pytest.raises(Conflict):
        operations.send_first_report(db, operator, incident.id)
    db.rollback()
    operations.add_entry(db, operator, incident.id, "recovered", "復旧", incident.detected_at + dt.timedelta(hours=2))
    final = operations.close_incident(db, operator, incident.id, FINAL, recipients=["kenchou@example.jp"],
                                      issued_on=dt.date(2026, 11, 4))
    db.commit()
    assert final.number == "デ戦第2号" and incident.status is IncidentStatus.closed and incident.cause == FINAL.cause

    mails = list(db.scalars(sa.select(Notification).where(Notification.kind == operations.REPORT_KIND).order_by(Notification.id)))
    assert [(m.tenant_code, m.recipients) for m in mails] == [("430005", "kenchou@example.jp")] * 2
    assert "デ戦第1号" in mails[0].subject and "デ戦第2号" in mails[1].subject
    notices = list(db.scalars(sa.select(Notice).order_by(Notice.id)))
    assert len(notices) == 2 and "原因: 設定変更の誤り" in notices[1].body
    assert set(db.scalars(sa.select(NoticeTenant.tenant_code))) == {"431001"}  # 432024 was not affected
    notice_mails = db.scalars(sa.select(Notification.tenant_code).where(Notification.kind == "notice")).all()
    assert sorted(notice_mails) == ["431001", "431001"]
    assert [after(r)["number"] for r in actions(db, "incident.report.first")] == ["デ戦第1号"]
    assert [after(r)["number"] for r in actions(db, "incident.close")] == ["デ戦第2号"]
    # the vendor now owes the prefecture the incident's report, due the fifth business day after closing
    from governance import submissions

    owed = submissions.find(db, submissions.K.incident_report, f"incident:{incident.id}")
    assert owed.contractor is submissions.Contractor.vendor and owed.status is submissions.S.open
    assert owed.due_on == dt.date(2026, 11, 11)  # 11/4 (Wed) + 5 business days: 5, 6, 9, 10, 11
    assert incident.title in owed.title


def test_the_numbers_continue_the_billing_letters_sequence(db, operator, prefecture):
    """One numbering for every letter the office sends: an incident report takes the next number after
    the billing letters of the same fiscal year, and the billing letters count the incident reports."""
    from billing import documents
    from billing.models import EstimateLetter

    db.add(EstimateLetter(fiscal_year=2027, version=1, tenant_code="431001", amount=1000, components_json="[]",
                          basis_json="{}", assumptions_json="{}", number_year=2026, sequence=7, number="デ戦第7号",
                          issued_on=dt.date(2026, 10, 1)))
    db.flush()
    incident = opened(db, operator)
    report = operations.send_first_report(db, operator, incident.id, issued_on=dt.date(2026, 11, 2))
    assert report.number == "デ戦第8号"
    assert next(documents.next_sequences(db, 2026)) == 9  # the next 納入通知書 does not take 8 again
    assert next(documents.next_sequences(db, 2025)) == 1  # a number counts in its fiscal year


@pytest.mark.parametrize("kind", ["first", "final"])
def test_each_report_is_one_a4_page_with_issuer_number_and_date(db, operator, prefecture, tmp_path, kind):
    incident = opened(db, operator, description="長" * operations.TEXT_MAX)
    for n in range(12):  # more entries than the first report shows
        operations.add_entry(db, operator, incident.id, "note", "経過" * 200, incident.detected_at + dt.timedelta(minutes=n + 1))
    operations.send_first_report(db, operator, incident.id, issued_on=dt.date(2026, 11, 2))
    operations.add_entry(db, operator, incident.id, "recovered", "復旧", incident.detected_at + dt.timedelta(hours=2))
    longest = "障" * operations.PART_MAX
    operations.close_incident(db, operator, incident.id, operations.FinalReport(longest, longest, longest, longest),
                              issued_on=dt.date(2026, 11, 4))
    db.commit()
    letter = letters.report_letter(db, operator, incident.id, kind)
    pdf = letters.report_pdf(letter)
    assert len(pdf_pages(pdf, tmp_path / "pages")) == 1
    assert pdf_page_size(pdf, tmp_path).endswith("(A4)")
    text = pdf_text(pdf, tmp_path).replace(" ", "")
    number, date = ("デ戦第1号", "令和8年11月2日") if kind == "first" else ("デ戦第2号", "令和8年11月4日")
    assert number in text and date in text
    assert "熊本県知事様" in text and "熊本県データ連携基盤運営者" in text  # addressee and issuer
    assert ("第一報" if kind == "first" else "再発防止策") in text


def test_only_the_operator_and_the_vendor_act_and_the_auditor_reads(db, operator, prefecture):
    incident = opened(db, operator)
    assert [i.id for i in operations.list_incidents(db, AUDITOR)] == [incident.id]
    secretariat = Actor(issuer="urn:test", subject="s-1", roles=frozenset({"secretariat"}))
    for refused in (AUDITOR, secretariat):
        with pytest.raises(NotPermitted):
            operations.send_first_report(db, refused, incident.id)
    with pytest.raises(NotPermitted):
        operations.list_incidents(db, secretariat)
    municipal = Actor(issuer="urn:test", subject="m-1", roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"431001"}))
    with pytest.raises(NotPermitted):
        operations.list_incidents(db, municipal)


def test_an_incident_opened_by_the_probe_is_given_its_severity_and_municipalities_and_the_report_tells_them(
        db, operator, prefecture):
    incident = operations.open_for_outage(db, "gateway", "API ゲートウェイ", dt.datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    db.commit()
    assert operations.tenant_codes(db, incident.id) == []  # the probe names nobody

    operations.edit_incident(db, operator, incident.id, severity="critical", add_tenant_codes=["431001"])
    db.commit()

    assert (incident.severity.value, operations.tenant_codes(db, incident.id)) == ("critical", ["431001"])
    (record,) = actions(db, "incident.edit")
    assert (json.loads(record.before)["severity"], after(record)["severity"]) == ("major", "critical")
    assert after(record)["affected_tenants"] == ["431001"]
    assert "影響を受けた市町村を追加: 431001" in operations.timeline(db, incident.id)[-1].text
    operations.send_first_report(db, operator, incident.id, recipients=["kikaku@pref.example.jp"])
    db.commit()
    targets = db.scalars(sa.select(NoticeTenant.tenant_code)).all()
    assert targets == ["431001"]  # the municipality added is told


def test_editing_refuses_unknown_parties_and_a_closed_incident_and_needs_the_right(db, operator, prefecture):
    incident = opened(db, operator)
    with pytest.raises(Invalid) as refused:
        operations.edit_incident(db, operator, incident.id, severity="huge", add_tenant_codes=["999999"])
    assert {p["field"] for p in refused.value.problems} == {"severity", "tenant_codes"}
    db.rollback()
    with pytest.raises(NotPermitted):
        operations.edit_incident(db, AUDITOR, incident.id, severity="minor")
    db.rollback()
    operations.send_first_report(db, operator, incident.id)
    operations.add_entry(db, operator, incident.id, "recovered", "復旧", dt.datetime(2026, 11, 2, 3, 0, tzinfo=UTC))
    operations.close_incident(db, operator, incident.id, operations.FinalReport("原因", "影響", "対応", "防止"))
    db.commit()
    with pytest.raises(Conflict):
        operations.edit_incident(db, operator, incident.id, severity="minor")
    db.rollback()
    assert actions(db, "incident.edit") == []


def test_the_command_line_edits_an_incident(app, db, operator, prefecture):
    incident = operations.open_for_outage(db, "gateway", "API ゲートウェイ", dt.datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    db.commit()
    result = app.test_cli_runner().invoke(args=["incidents", "edit", str(incident.id), "--severity", "minor",
                                                "--tenant", "431001", "--tenant", "432024", "--as", "unei"])
    assert result.exit_code == 0, result.output
    assert f"incident #{incident.id} changed: minor, 431001, 432024" in result.output
