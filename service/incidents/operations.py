"""The incident register's use cases: open (by hand, or by the availability probe through
:func:`open_for_outage`), the timeline, recovery, the first report and closing with the final report.

Invariants:

* one unrecovered incident per component opened by the probe (``Incident.outage_key``, unique), so
  :func:`open_for_outage` may be called at every failed probe and opens one incident;
* the status moves only as :data:`INCIDENTS` says: 対応中 → 復旧済み → 完了; closing needs the first
  report sent and writes the final report;
* each report is a letter numbered once in the office's one sequence
  (:func:`billing.documents.next_sequences`); the affected municipalities and members receive a
  notice (:func:`governance.notices.publish_notice`, which queues their e-mails) and the prefecture's
  recipients an outbox message;
* every act is audited; the probe acts as :data:`PROBE` (a system identity, never a person).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.documents import next_sequences
from core import audit, authz, outbox
from core.actor import Actor
from core.calendar import fiscal_year_of, jst_day, jst_text, today_jst
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import labels
from core.lifecycle import Lifecycle, Move, WhyNot
from core.validation import text_field_problem
from governance.notices import NoticeAudience, NoticeDraft, publish_notice
from service.incidents.models import (
    EntryKind, Incident, IncidentComponent, IncidentEntry, IncidentMember, IncidentReport,
    IncidentStatus, IncidentTenant, ReportKind, Severity,
)
from tenancy.members.models import Organisation
from tenancy.registry.models import Tenant, TenantStatus
from tenancy.registry.prefecture import home_prefecture, require_settings

READ = "incident.read"
MANAGE = "incident.manage"
RECOVERY_HOURS = 24  # seed 001: recover within 24 hours where possible, counted from detection
DEFAULT_FIRST_REPORT_HOURS = 1
TITLE_MAX, TEXT_MAX = 200, 1000
ENTRY_MAX = 500
PART_MAX = 300  # each part of the final report: the four fit its one page
REPORT_KIND = "incident.report"  # the outbox kind of a report to the prefecture

# the availability probe's identity: an operator's rights for these acts only, named in the audit log
PROBE = Actor(issuer="urn:renkei:probe", subject="availability-probe", name="稼働監視（自動）",
              roles=frozenset({authz.OPERATOR}))


def _first_report_sent(incident: Incident, session: Session) -> WhyNot | None:
    sent = session.scalar(sa.select(IncidentReport.id).where(IncidentReport.incident_id == incident.id,
                                                             IncidentReport.kind == ReportKind.first))
    if sent is None:
        return WhyNot("Send the first report to the prefecture before closing the incident.",
                      "障害を完了にする前に、県への第一報を送ってください。")
    return None


INCIDENTS = Lifecycle("障害", "incident", IncidentStatus, labels(IncidentStatus), [
    Move("recover", frozenset({IncidentStatus.open}), IncidentStatus.recovered, "復旧を記録", "record the recovery",
         grant=MANAGE),
    Move("close", frozenset({IncidentStatus.recovered}), IncidentStatus.closed, "完了（最終報告）", "close",
         guard=_first_report_sent, grant=MANAGE),
], initial=[IncidentStatus.open])


@dataclasses.dataclass(frozen=True)
class IncidentDraft:
    """What the operator writes to open an incident (``components``: (code, name) pairs)."""

    title: str
    severity: str = Severity.major.value
    detected_at: dt.datetime | None = None
    description: str = ""
    components: Sequence[tuple[str, str]] = ()
    tenant_codes: Sequence[str] = ()
    member_numbers: Sequence[str] = ()


@dataclasses.dataclass(frozen=True)
class FinalReport:
    cause: str
    impact: str
    response: str
    prevention: str


# --- checks ------------------------------------------------------------------------------------------

def _severity(value: str) -> Severity | None:
    try:
        return Severity(value)
    except ValueError:
        return None


def _draft_problems(session: Session, draft: IncidentDraft, now: dt.datetime) -> list[dict]:
    problems = [p for p in (
        text_field_problem("title", (draft.title or "").strip(), "title", "件名", TITLE_MAX, required=True),
        text_field_problem("description", (draft.description or "").strip(), "description", "内容", TEXT_MAX,
                           single_line=False),
    ) if p is not None]
    if _severity(draft.severity) is None:
        problems.append(problem("severity", "Choose a severity.", "重大度を選んでください。"))
    if draft.detected_at is not None and draft.detected_at > now + dt.timedelta(minutes=5):
        problems.append(problem("detected_at", "The detection cannot be in the future.", "検知日時は現在より前にしてください。"))
    known = set(session.scalars(sa.select(Tenant.code).where(Tenant.code.in_(sorted(set(draft.tenant_codes))))))
    if unknown := sorted(set(draft.tenant_codes) - known):
        problems.append(problem("tenant_codes", f"Unknown tenants: {', '.join(unknown)}.",
                                f"登録されていない団体です: {'、'.join(unknown)}"))
    members = set(session.scalars(sa.select(Organisation.corporate_number)
                                  .where(Organisation.corporate_number.in_(sorted(set(draft.member_numbers))))))
    if unknown := sorted(set(draft.member_numbers) - members):
        problems.append(problem("member_numbers", f"Unknown members: {', '.join(unknown)}.",
                                f"登録されていない会員です: {'、'.join(unknown)}"))
    return problems


def _text(field: str, value: str, en: str, ja: str, *, required: bool = False, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    found = text_field_problem(field, value, en, ja, limit, required=required, single_line=False)
    if found is not None:
        raise Invalid(found["message_en"], found["message_ja"], problems=[found])
    return value


# --- opening ------------------------------------------------------------------------------------------

def _entry(session: Session, incident: Incident, kind: EntryKind, actor: Actor, text: str,
           at: dt.datetime | None = None) -> IncidentEntry:
    entry = IncidentEntry(incident_id=incident.id, kind=kind, at=at or utcnow(), by=actor.recorded_name, text=text)
    session.add(entry)
    return entry


def summary(session: Session, incident: Incident) -> dict:
    """The audit log's picture of an incident."""
    return {"title": incident.title, "severity": incident.severity.value, "status": incident.status.value,
            "detected_at": incident.detected_at.isoformat(), "affected_components": component_codes(session, incident.id),
            "affected_tenants": tenant_codes(session, incident.id), "affected_members": member_numbers(session, incident.id)}


def open_incident(session: Session, actor: Actor, draft: IncidentDraft, *, now: dt.datetime | None = None) -> Incident:
    """Open an incident by hand: the detection is its first timeline entry; audited ``incident.open``."""
    authz.authorize(actor, MANAGE)
    now = now or utcnow()
    if problems := _draft_problems(session, draft, now):
        raise Invalid("The incident cannot be opened as written; nothing was recorded.",
                      "入力内容に誤りがあります。障害は登録していません。", problems=problems)
    incident = Incident(title=draft.title.strip(), severity=Severity(draft.severity), status=IncidentStatus.open,
                        source="manual", description=(draft.description or "").strip(),
                        detected_at=draft.detected_at or now, opened_by=actor.recorded_name)
    session.add(incident)
    session.flush()
    _set_affected(session, incident, draft.components, draft.tenant_codes, draft.member_numbers)
    _entry(session, incident, EntryKind.detected, actor, incident.description or incident.title, incident.detected_at)
    session.flush()
    audit.record(session, actor, "incident.open", "incident", str(incident.id), after=summary(session, incident))
    return incident


def _set_affected(session: Session, incident: Incident, components: Sequence[tuple[str, str]],
                  tenants: Sequence[str], members: Sequence[str]) -> None:
    for code, name in dict(components).items():
        session.add(IncidentComponent(incident_id=incident.id, component_code=code, component_name=name or code))
    for code in sorted(set(tenants)):
        session.add(IncidentTenant(incident_id=incident.id, tenant_code=code))
    for number in sorted(set(members)):
        session.add(IncidentMember(incident_id=incident.id, corporate_number=number))


def open_for_outage(session: Session, component_code: str, component_name: str, detected_at: dt.datetime) -> Incident:
    """The incident of a component's outage, opened by the availability probe: the one already open for
    the component if there is one (idempotent, also between processes), else a new one, audited
    ``incident.open`` by :data:`PROBE`."""
    standing = _open_outage(session, component_code)
    if standing is not None:
        return standing
    incident = Incident(title=f"{component_name} の応答停止", severity=Severity.major, status=IncidentStatus.open,
                        source="probe", outage_key=component_code, detected_at=detected_at, opened_by=PROBE.recorded_name,
                        description=f"稼働監視で {component_name}（{component_code}）の応答がありません。")
    try:
        with session.begin_nested():
            session.add(incident)
            session.flush()
    except IntegrityError:  # another process opened it first: that one is the incident
        return _open_outage(session, component_code)
    _set_affected(session, incident, [(component_code, component_name)], (), ())
    _entry(session, incident, EntryKind.detected, PROBE, incident.description, detected_at)
    session.flush()
    audit.record(session, PROBE, "incident.open", "incident", str(incident.id), after=summary(session, incident))
    return incident


def _open_outage(session: Session, component_code: str) -> Incident | None:
    return session.scalar(sa.select(Incident).where(Incident.outage_key == component_code))


def record_recovered(session: Session, component_code: str, recovered_at: dt.datetime) -> Incident | None:
    """The probe saw the component answer again: its open outage incident (if any) is recovered."""
    incident = _open_outage(session, component_code)
    if incident is None:
        return None
    return _recover(session, PROBE, incident, recovered_at, "稼働監視で応答の再開を確認しました。")


def _recover(session: Session, actor: Actor, incident: Incident, at: dt.datetime, text: str) -> Incident:
    move = INCIDENTS.move("recover", incident.status, incident)
    before = incident.status.value
    incident.status, incident.recovered_at, incident.outage_key = move.target, at, None
    _entry(session, incident, EntryKind.recovered, actor, text, at)
    session.flush()
    audit.record(session, actor, "incident.recover", "incident", str(incident.id),
                 before={"status": before}, after={"status": incident.status.value, "recovered_at": at.isoformat()})
    return incident


# --- reading -----------------------------------------------------------------------------------------

def _edit_problems(session: Session, severity: str | None, tenant_codes: Sequence[str],
                   member_numbers: Sequence[str]) -> list[dict]:
    draft = IncidentDraft(title="-", severity=severity or Severity.minor.value, tenant_codes=list(tenant_codes),
                          member_numbers=list(member_numbers))
    return _draft_problems(session, draft, utcnow())


def edit_incident(session: Session, actor: Actor, incident_id: int, *, severity: str | None = None,
                  add_tenant_codes: Sequence[str] = (), add_member_numbers: Sequence[str] = ()) -> Incident:
    """After opening (an incident the probe opened names nobody): change the severity and add the
    affected municipalities and members. Parties are only ever added (the notices already sent to
    them stay true); a closed incident is not edited. A timeline entry says what changed; audited
    ``incident.edit`` with before and after. The next report (first or final) notifies those added."""
    authz.authorize(actor, MANAGE)
    incident = get_incident(session, actor, incident_id, lock=True)
    if incident.status is IncidentStatus.closed:
        raise Conflict(f"Incident {incident.id} is closed and cannot be edited.",
                       f"番号 {incident.id} の障害は完了しているため変更できません。")
    if problems := _edit_problems(session, severity, add_tenant_codes, add_member_numbers):
        raise Invalid("The incident was not changed.", "入力内容に誤りがあります。障害は変更していません。", problems=problems)
    before = summary(session, incident)
    tenants = sorted(set(add_tenant_codes) - set(tenant_codes(session, incident.id)))
    members = sorted(set(add_member_numbers) - set(member_numbers(session, incident.id)))
    new_severity = Severity(severity) if severity else incident.severity
    if new_severity is incident.severity and not tenants and not members:
        return incident  # nothing to change: nothing recorded
    words = []
    if new_severity is not incident.severity:
        words.append(f"重大度: {Severity(incident.severity).ja} → {Severity(new_severity).ja}")
        incident.severity = new_severity
        session.add(incident)
    _set_affected(session, incident, (), tenants, members)
    if tenants:
        words.append(f"影響を受けた市町村を追加: {'、'.join(tenants)}")
    if members:
        words.append(f"影響を受けた会員を追加: {'、'.join(members)}")
    _entry(session, incident, EntryKind.note, actor, "\n".join(words))
    session.flush()
    audit.record(session, actor, "incident.edit", "incident", str(incident.id), before=before,
                 after=summary(session, incident))
    return incident


def get_incident(session: Session, actor: Actor, incident_id: int, *, lock: bool = False) -> Incident:
    authz.authorize(actor, READ)
    incident = session.get(Incident, incident_id, with_for_update=lock)
    if incident is None:
        raise NotFound(f"No incident {incident_id}.", f"番号 {incident_id} の障害はありません。")
    return incident


def component_codes(session: Session, incident_id: int) -> list[str]:
    return list(session.scalars(sa.select(IncidentComponent.component_code)
                                .where(IncidentComponent.incident_id == incident_id).order_by(IncidentComponent.component_code)))


def components(session: Session, incident_id: int) -> list[IncidentComponent]:
    return list(session.scalars(sa.select(IncidentComponent).where(IncidentComponent.incident_id == incident_id)
                                .order_by(IncidentComponent.component_code)))


def tenant_codes(session: Session, incident_id: int) -> list[str]:
    return list(session.scalars(sa.select(IncidentTenant.tenant_code)
                                .where(IncidentTenant.incident_id == incident_id).order_by(IncidentTenant.tenant_code)))


def tenants(session: Session, incident_id: int) -> list[tuple[str, str]]:
    """(code, Japanese name) of the affected municipalities."""
    return [(code, name or "") for code, name in session.execute(
        sa.select(IncidentTenant.tenant_code, Tenant.name_ja).outerjoin(Tenant, Tenant.code == IncidentTenant.tenant_code)
        .where(IncidentTenant.incident_id == incident_id).order_by(IncidentTenant.tenant_code))]


def member_numbers(session: Session, incident_id: int) -> list[str]:
    return list(session.scalars(sa.select(IncidentMember.corporate_number)
                                .where(IncidentMember.incident_id == incident_id).order_by(IncidentMember.corporate_number)))


def members(session: Session, incident_id: int) -> list[tuple[str, str]]:
    return [(number, name or "") for number, name in session.execute(
        sa.select(IncidentMember.corporate_number, Organisation.name)
        .outerjoin(Organisation, Organisation.corporate_number == IncidentMember.corporate_number)
        .where(IncidentMember.incident_id == incident_id).order_by(IncidentMember.corporate_number))]


def timeline(session: Session, incident_id: int) -> list[IncidentEntry]:
    return list(session.scalars(sa.select(IncidentEntry).where(IncidentEntry.incident_id == incident_id)
                                .order_by(IncidentEntry.at, IncidentEntry.id)))


def reports(session: Session, incident_id: int) -> dict[ReportKind, IncidentReport]:
    return {report.kind: report for report in session.scalars(
        sa.select(IncidentReport).where(IncidentReport.incident_id == incident_id))}


def list_incidents(session: Session, actor: Actor, *, limit: int = 200) -> list[Incident]:
    """The register, newest detection first."""
    authz.authorize(actor, READ)
    return list(session.scalars(sa.select(Incident).order_by(Incident.detected_at.desc(), Incident.id.desc()).limit(limit)))


@dataclasses.dataclass(frozen=True)
class Clock:
    """The 24-hour recovery clock of an incident and the first report's deadline, at ``now``."""

    incident: Incident
    recover_by: dt.datetime
    first_report_by: dt.datetime
    first_report_sent: bool
    now: dt.datetime

    @property
    def remaining(self) -> dt.timedelta:
        return self.recover_by - self.now

    @property
    def overdue(self) -> bool:
        return self.incident.recovered_at is None and self.now > self.recover_by

    @property
    def first_report_overdue(self) -> bool:
        return not self.first_report_sent and self.now > self.first_report_by


def clock(session: Session, incident: Incident, *, first_report_hours: float = DEFAULT_FIRST_REPORT_HOURS,
          now: dt.datetime | None = None) -> Clock:
    sent = ReportKind.first in reports(session, incident.id)
    return Clock(incident, incident.detected_at + dt.timedelta(hours=RECOVERY_HOURS),
                 incident.detected_at + dt.timedelta(hours=first_report_hours), sent, now or utcnow())


def running_clocks(session: Session, actor: Actor, *, first_report_hours: float = DEFAULT_FIRST_REPORT_HOURS,
                   now: dt.datetime | None = None) -> list[Clock]:
    """The clocks of the incidents not recovered yet (the operator's home page), oldest first."""
    authz.authorize(actor, READ)
    unrecovered = session.scalars(sa.select(Incident).where(Incident.status == IncidentStatus.open)
                                  .order_by(Incident.detected_at))
    return [clock(session, incident, first_report_hours=first_report_hours, now=now) for incident in unrecovered]


# --- the timeline --------------------------------------------------------------------------------------

ENTRY_KINDS_BY_HAND = (EntryKind.workaround, EntryKind.note, EntryKind.recovered)


def add_entry(session: Session, actor: Actor, incident_id: int, kind: str, text: str,
              at: dt.datetime | None = None) -> IncidentEntry | Incident:
    """A person's timeline entry: a workaround, progress, or the recovery (which moves the status)."""
    authz.authorize(actor, MANAGE)
    incident = get_incident(session, actor, incident_id, lock=True)
    try:
        entry_kind = EntryKind(kind)
    except ValueError:
        entry_kind = None
    if entry_kind not in ENTRY_KINDS_BY_HAND:
        raise Invalid("Choose what the entry is.", "記録の種類を選んでください。",
                      problems=[problem("kind", "Choose workaround, progress or recovery.", "暫定対応・経過・復旧から選んでください。")])
    text = _text("text", text, "entry", "記録の内容", required=True, limit=ENTRY_MAX)
    at = at or utcnow()
    if at < incident.detected_at:
        raise Invalid("The entry is before the detection.", "記録の日時が検知より前です。",
                      problems=[problem("at", "Not before the detection.", "検知日時以降にしてください。")])
    if entry_kind is EntryKind.recovered:
        return _recover(session, actor, incident, at, text)
    if incident.status is IncidentStatus.closed:
        raise INCIDENTS.refuse("close", incident.status, incident)
    entry = _entry(session, incident, entry_kind, actor, text, at)
    session.flush()
    audit.record(session, actor, "incident.entry", "incident", str(incident.id),
                 after={"kind": entry_kind.value, "at": at.isoformat(), "text": text})
    return entry


# --- the reports ------------------------------------------------------------------------------------

def _number(session: Session, incident: Incident, kind: ReportKind, actor: Actor,
            issued_on: dt.date | None) -> IncidentReport:
    settings = require_settings(session)
    issued_on = issued_on or today_jst()
    year = fiscal_year_of(issued_on)
    sequence = next(next_sequences(session, year))
    report = IncidentReport(incident_id=incident.id, kind=kind, number_year=year, sequence=sequence,
                            number=f"{settings.document_symbol}第{sequence}号", issued_on=issued_on, issued_by=actor.recorded_name)
    session.add(report)
    session.flush()
    return report


def _tell(session: Session, actor: Actor, incident: Incident, report: IncidentReport, title: str, body: str,
          recipients: Sequence[str]) -> list[str]:
    """The affected municipalities and members get a notice (and its e-mails); the prefecture's
    recipients an e-mail. Returns the notified tenant codes."""
    prefecture = home_prefecture(session)
    outbox.queue(session, kind=REPORT_KIND, subject=f"【{report.number}】{title}", body=body,
                 tenant_code=prefecture.code if prefecture else None, recipients=", ".join(recipients),
                 dedupe_key=f"incident-report:{report.id}")
    codes = list(session.scalars(sa.select(IncidentTenant.tenant_code).join(Tenant, Tenant.code == IncidentTenant.tenant_code)
                                 .where(IncidentTenant.incident_id == incident.id, Tenant.status == TenantStatus.active)
                                 .order_by(IncidentTenant.tenant_code)))
    to_members = bool(member_numbers(session, incident.id))
    if codes or to_members:
        publish_notice(session, actor, NoticeDraft(title=title, body=body, audience=NoticeAudience.chosen,
                                                   tenant_codes=codes, to_members=to_members), step_of=MANAGE)
    return codes


def _notice_body(session: Session, incident: Incident, report: IncidentReport, extra: str = "") -> str:
    names = "、".join(c.component_name for c in components(session, incident.id)) or "—"
    lines = [f"文書番号: {report.number}", f"障害: {incident.title}", f"対象: {names}",
             f"検知: {jst_text(incident.detected_at)}"]
    if incident.recovered_at:
        lines.append(f"復旧: {jst_text(incident.recovered_at)}")
    return "\n".join(lines) + (f"\n\n{extra}" if extra else "")



def send_first_report(session: Session, actor: Actor, incident_id: int, *, recipients: Sequence[str] = (),
                      issued_on: dt.date | None = None) -> IncidentReport:
    """The first report (第一報) to the prefecture: a numbered letter, a timeline entry, notices to
    the affected; once per incident; audited ``incident.report.first``."""
    authz.authorize(actor, MANAGE)
    incident = get_incident(session, actor, incident_id, lock=True)
    if ReportKind.first in reports(session, incident.id):
        raise _already(incident, "first")
    with audit.act(session, actor, "incident.report.first", "incident", str(incident.id)):  # the notice a step of it
        report = _number(session, incident, ReportKind.first, actor, issued_on)
        _entry(session, incident, EntryKind.first_report, actor, f"県へ第一報（{report.number}）を送付しました。")
        notified = _tell(session, actor, incident, report, f"障害発生のお知らせ: {incident.title}",
                         _notice_body(session, incident, report, incident.description), recipients)
        session.flush()
        audit.record(session, actor, "incident.report.first", "incident", str(incident.id),
                     after={"number": report.number, "issued_on": report.issued_on.isoformat(), "notified": notified,
                            "recipients": list(recipients)})
    return report


def _already(incident: Incident, kind: str) -> Conflict:
    words = {"first": ("first report", "第一報"), "final": ("final report", "最終報告")}[kind]
    return Conflict(f"The {words[0]} of incident {incident.id} was sent already.",
                    f"番号 {incident.id} の障害の{words[1]}は送付済みです。")


def close_incident(session: Session, actor: Actor, incident_id: int, final: FinalReport, *,
                   recipients: Sequence[str] = (), issued_on: dt.date | None = None) -> IncidentReport:
    """Close a recovered incident with the final report (原因, 影響, 対応, 再発防止策): a numbered
    letter, a timeline entry, notices to the affected; audited ``incident.close``."""
    authz.authorize(actor, MANAGE)
    incident = get_incident(session, actor, incident_id, lock=True)
    parts = {name: _text(name, getattr(final, name), en, ja, required=True, limit=PART_MAX) for name, en, ja in (
        ("cause", "cause", "原因"), ("impact", "impact", "影響"), ("response", "response", "対応"),
        ("prevention", "prevention", "再発防止策"))}
    move = INCIDENTS.move("close", incident.status, incident, session)
    before = incident.status.value
    for name, value in parts.items():
        setattr(incident, name, value)
    incident.status, incident.closed_at = move.target, utcnow()
    with audit.act(session, actor, "incident.close", "incident", str(incident.id)):  # the notice a step of it
        report = _number(session, incident, ReportKind.final, actor, issued_on)
        _entry(session, incident, EntryKind.closed, actor, f"県へ最終報告（{report.number}）を送付し、完了しました。")
        words = "\n".join(f"{label}: {parts[name]}" for name, label in (
            ("cause", "原因"), ("impact", "影響"), ("response", "対応"), ("prevention", "再発防止策")))
        notified = _tell(session, actor, incident, report, f"障害の報告: {incident.title}",
                         _notice_body(session, incident, report, words), recipients)
        from governance import submissions  # the report the vendor owes the prefecture: inspected there

        submissions.owe_incident_report(session, actor, incident.id, incident.title, report.issued_on)
        session.flush()
        audit.record(session, actor, "incident.close", "incident", str(incident.id), before={"status": before},
                     after={"status": incident.status.value, "number": report.number, **parts, "notified": notified})
    return report


def get_report(session: Session, actor: Actor, incident_id: int, kind: str) -> IncidentReport:
    incident = get_incident(session, actor, incident_id)
    try:
        found = reports(session, incident.id).get(ReportKind(kind))
    except ValueError:
        found = None
    if found is None:
        raise NotFound(f"Incident {incident_id} has no {kind} report yet.", f"番号 {incident_id} の障害の報告書はまだありません。")
    return found


def year_rows(session: Session, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.date, str, str, str]]:
    """The incidents detected in ``[start, end)`` as the annual report lists them (billing.annual_report's
    ``PLATFORM_INCIDENTS``, wired by the composition root): the day of detection in Japan, the title, the
    affected municipalities' names (「—」 when none was named), and the state by the register's words."""
    found = list(session.scalars(sa.select(Incident).where(Incident.detected_at >= start, Incident.detected_at < end)
                                 .order_by(Incident.detected_at, Incident.id)))
    named: dict[int, list[str]] = {}
    if found:
        for incident_id, name in session.execute(
                sa.select(IncidentTenant.incident_id, Tenant.name_ja).join(Tenant, Tenant.code == IncidentTenant.tenant_code)
                .where(IncidentTenant.incident_id.in_([i.id for i in found])).order_by(Tenant.code)):
            named.setdefault(incident_id, []).append(name)
    return [(jst_day(incident.detected_at), f"障害：{incident.title}", "、".join(named.get(incident.id, [])) or "—",
             IncidentStatus(incident.status).ja) for incident in found]
