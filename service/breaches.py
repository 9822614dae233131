"""Personal-data breaches (個人情報保護法 漏えい等報告, issue 56 item 4): an incident marked as a breach of one
municipality's residents' data, the residents and items possibly affected, the two deadlines to the Commission
(個人情報保護委員会), the report's items as its form asks them, and the notices to the residents.

Rules:

* A breach names the incident, the municipality whose residents are concerned (the controller, who reports), the
  kind (漏えい, 滅失, 毀損, 不正アクセス), whether it may have been done with an unlawful purpose (不正の目的), the
  data services concerned, the window, and when it became known (:attr:`IncidentBreach.known_at`). One breach per
  incident and municipality.
* The residents possibly affected are exactly those whose items a named service *received* in the window: the
  allowed linkage records (the brokerage log: :mod:`residents.brokerage` asks the consent check, which appends one
  record per answer) of those services in ``[window_start, window_end]`` of the municipality, each resolved to the
  resident whose link held that service user ID at the record's time (as the portal's history does,
  :func:`residents.portal_records.history`). A refused record sent nothing and concerns no one. The items are those
  the records sent. Linkage records purged after their year are no longer there to be listed.
* Deadlines, in Japan time, counted in calendar days from the day it became known (the day itself not counted):
  the 速報 is due "promptly" (速やかに; the Commission's guidelines say 概ね3〜5日以内): renkei takes
  :data:`PRELIMINARY_DAYS` (5) days; the 確報 within :data:`FINAL_DAYS` (30) days, :data:`FINAL_DAYS_UNLAWFUL` (60)
  where it came from an unauthorised act (the kind 不正アクセス, or the 不正の目的 flag). A deadline is met once the
  report is recorded as submitted (:func:`record_report`); :func:`remind_due` reminds the municipality's contacts
  when a deadline is near (:data:`REMIND_DAYS`) or passed, once each.
* The notices (:func:`notify_residents`): each affected resident who can sign in to the residents' portal gets a
  notice there naming the service and their own items; the others are put on the letter list (:func:`letter_list`,
  their name and address decrypted for the municipality's own people only). Each resident is told once.
* Who may: the breach and its deadlines and report (no resident named) ``breach.read`` (the operator, the auditor,
  the platform vendor, the municipality's admin and residents' desk); marking an incident as one ``breach.mark`` (the
  operator, who runs the incident register); the report's items, the submissions and the notices
  ``breach.manage`` (the operator, the municipality's admin); the affected residents by common ID ``breach.residents``
  (the operator, the municipality's admin); the letter list with names and addresses ``breach.letters`` (the
  municipality's admin and residents' desk). Every act, and every reading of the letter list, is audited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, outbox
from core.actor import Actor
from core.calendar import date_ja, jst_day, jst_text, today_jst
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.report_document import Section
from core.validation import text_field_problem
from residents.consent.models import DataService, LinkageRecord
from residents.models import Resident, ResidentIdentity, ResidentNotice, ResidentStatus, ServiceLink
from service.incidents.models import (
    BreachKind, BreachReportKind, Incident, IncidentBreach, IncidentBreachNotice, IncidentBreachService, NoticeChannel,
)
from tenancy.registry.models import Tenant

READ = "breach.read"
MANAGE = "breach.manage"
MARK = "breach.mark"  # an incident marked as a breach: the incident register's people (the operator)
RESIDENTS = "breach.residents"
LETTERS = "breach.letters"

PRELIMINARY_DAYS = 5  # 速報: 速やかに (the guidelines: 概ね3〜5日以内); renkei's deadline is the 5th day
FINAL_DAYS = 30  # 確報
FINAL_DAYS_UNLAWFUL = 60  # 確報 where the breach came from an unauthorised act (不正の目的)
REMIND_DAYS = 2  # a reminder this many days before a deadline, and one once it has passed
PART_MAX = 2000
NOTICE_KIND = "incident.breach"
REMINDER_KIND = "incident.breach.reminder"

# the report's items, as the Commission's form asks them (the field, its Japanese heading)
REPORT_PARTS = (("summary", "概要"), ("cause", "原因"), ("secondary_damage", "二次被害又はそのおそれの有無及びその内容"),
                ("response_to_persons", "本人への対応の実施状況"), ("publication", "公表の実施状況"),
                ("prevention", "再発防止のための措置"), ("other", "その他参考となる事項"))


@dataclasses.dataclass(frozen=True)
class BreachDraft:
    """What is written to mark an incident as a breach (moments aware; ``service_ids`` of ``data_service``)."""

    tenant_code: str
    kind: str
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    known_at: dt.datetime | None
    service_ids: Sequence[int] = ()
    unlawful_purpose: bool = False
    summary: str = ""


# --- deadlines ----------------------------------------------------------------------------------------

def unauthorised(breach: IncidentBreach) -> bool:
    return BreachKind(breach.kind) is BreachKind.unauthorised_access or bool(breach.unlawful_purpose)


@dataclasses.dataclass(frozen=True)
class Deadline:
    kind: BreachReportKind
    due_on: dt.date
    reported_at: dt.datetime | None
    today: dt.date

    @property
    def overdue(self) -> bool:
        return self.reported_at is None and self.today > self.due_on

    @property
    def days_left(self) -> int:
        return (self.due_on - self.today).days


def deadlines(breach: IncidentBreach, *, today: dt.date | None = None) -> tuple[Deadline, Deadline]:
    """The 速報's and the 確報's deadlines (see the module's rule), in Japan time."""
    known_on = jst_day(breach.known_at)
    today = today or today_jst()
    final_days = FINAL_DAYS_UNLAWFUL if unauthorised(breach) else FINAL_DAYS
    return (Deadline(BreachReportKind.preliminary, known_on + dt.timedelta(days=PRELIMINARY_DAYS),
                     breach.preliminary_reported_at, today),
            Deadline(BreachReportKind.final, known_on + dt.timedelta(days=final_days), breach.final_reported_at, today))


# --- reading ------------------------------------------------------------------------------------------

def _visible(actor: Actor, action: str) -> sa.ColumnElement[bool]:
    grant = authz.authorize(actor, action)
    return sa.true() if grant.all_tenants else IncidentBreach.tenant_code.in_(sorted(grant.tenant_codes))


def get_breach(session: Session, actor: Actor, breach_id: int, action: str = READ, *, lock: bool = False) -> IncidentBreach:
    """The breach, if the actor may ``action`` on its municipality (another's is not found)."""
    grant = authz.authorize(actor, action)
    breach = session.get(IncidentBreach, breach_id, with_for_update=lock)
    if breach is None or not grant.covers(breach.tenant_code):
        raise NotFound(f"No breach {breach_id}.", f"番号 {breach_id} の漏えい等の記録はありません。")
    return breach


def list_breaches(session: Session, actor: Actor, *, incident_id: int | None = None, limit: int = 200) -> list[IncidentBreach]:
    """The breaches the actor may read, newest known first."""
    query = sa.select(IncidentBreach).where(_visible(actor, READ))
    if incident_id is not None:
        query = query.where(IncidentBreach.incident_id == incident_id)
    return list(session.scalars(query.order_by(IncidentBreach.known_at.desc(), IncidentBreach.id.desc()).limit(limit)))


def open_deadlines(session: Session, actor: Actor, *, today: dt.date | None = None) -> list[tuple[IncidentBreach, Deadline]]:
    """Each deadline not yet met (its report not recorded as submitted) of the breaches the actor may read, soonest
    due first: what the home page lists (:func:`deadlines` computes each)."""
    today = today or today_jst()
    query = (sa.select(IncidentBreach).where(_visible(actor, READ), IncidentBreach.final_reported_at.is_(None))
             .order_by(IncidentBreach.known_at, IncidentBreach.id))
    found = [(breach, due) for breach in session.scalars(query) for due in deadlines(breach, today=today)
             if due.reported_at is None]
    return sorted(found, key=lambda pair: (pair[1].due_on, pair[0].id))


def services(session: Session, breach_id: int) -> list[tuple[int, str]]:
    return [(sid, name) for sid, name in session.execute(
        sa.select(DataService.id, DataService.name).join(IncidentBreachService, IncidentBreachService.service_id == DataService.id)
        .where(IncidentBreachService.breach_id == breach_id).order_by(DataService.id))]


def municipality_name(session: Session, code: str) -> str:
    return session.scalar(sa.select(Tenant.name_ja).where(Tenant.code == code)) or code


@dataclasses.dataclass(frozen=True)
class Affected:
    """A resident whose items a named service received in the window."""

    resident_id: int
    common_id: str
    items: tuple[str, ...]  # every item sent, in first-sent order
    services: tuple[str, ...]
    records: int
    portal: bool  # can sign in to the residents' portal (has a provider's identifier and is not gone)


def _affected(session: Session, breach: IncidentBreach) -> list[Affected]:
    named = [sid for sid, _ in services(session, breach.id)]
    if not named:
        return []
    during = sa.and_(ServiceLink.service_id == LinkageRecord.service_id, ServiceLink.service_user_id == LinkageRecord.subject_id,
                     ServiceLink.linked_at <= LinkageRecord.occurred_at,
                     sa.or_(ServiceLink.ended_at.is_(None), LinkageRecord.occurred_at <= ServiceLink.ended_at))
    rows = session.execute(
        sa.select(Resident.id, Resident.common_id, Resident.uid, LinkageRecord.items, DataService.name)
        .select_from(LinkageRecord).join(ServiceLink, during)
        .join(Resident, sa.and_(Resident.id == ServiceLink.resident_id, Resident.tenant_code == LinkageRecord.tenant_code))
        .join(DataService, DataService.id == LinkageRecord.service_id)
        .where(LinkageRecord.tenant_code == breach.tenant_code, LinkageRecord.allowed.is_(True),
               LinkageRecord.service_id.in_(named), LinkageRecord.occurred_at >= breach.window_start,
               LinkageRecord.occurred_at <= breach.window_end)
        .order_by(LinkageRecord.seq))
    found: dict[int, dict] = {}
    for resident_id, common_id, uid, items, service_name in rows:
        entry = found.setdefault(resident_id, {"common_id": common_id or f"resident-{uid}", "items": {}, "services": {},
                                               "records": 0})
        for item in json.loads(items):
            entry["items"].setdefault(item, None)
        entry["services"].setdefault(service_name, None)
        entry["records"] += 1
    reachable = set(session.scalars(
        sa.select(ResidentIdentity.resident_id).join(Resident, Resident.id == ResidentIdentity.resident_id)
        .where(ResidentIdentity.resident_id.in_(sorted(found)),
               Resident.status.in_((ResidentStatus.active, ResidentStatus.review))))) if found else set()
    return sorted((Affected(rid, e["common_id"], tuple(e["items"]), tuple(e["services"]), e["records"], rid in reachable)
                   for rid, e in found.items()), key=lambda a: a.common_id)


def affected_count(session: Session, actor: Actor, breach_id: int) -> int:
    """How many residents are possibly affected (no one named: ``breach.read``)."""
    return len(_affected(session, get_breach(session, actor, breach_id)))


def affected_items(session: Session, actor: Actor, breach_id: int) -> list[str]:
    """The items possibly affected, over every resident (no one named: ``breach.read``)."""
    seen: dict[str, None] = {}
    for one in _affected(session, get_breach(session, actor, breach_id)):
        for item in one.items:
            seen.setdefault(item, None)
    return list(seen)


def affected_residents(session: Session, actor: Actor, breach_id: int) -> list[Affected]:
    """The residents possibly affected, by common ID (``breach.residents`` on the municipality)."""
    return _affected(session, get_breach(session, actor, breach_id, RESIDENTS))


def notices_sent(session: Session, breach_id: int) -> dict[int, NoticeChannel]:
    return {rid: NoticeChannel(channel) for rid, channel in session.execute(
        sa.select(IncidentBreachNotice.resident_id, IncidentBreachNotice.channel)
        .where(IncidentBreachNotice.breach_id == breach_id))}


# --- marking ------------------------------------------------------------------------------------------

def _kind(value: str) -> BreachKind | None:
    try:
        return BreachKind(value)
    except ValueError:
        return None


def _draft_problems(session: Session, draft: BreachDraft, now: dt.datetime) -> list[dict]:
    problems = []
    if _kind(draft.kind) is None:
        problems.append(problem("kind", "Choose what happened.", "事態の区分を選んでください。"))
    if session.scalar(sa.select(Tenant.id).where(Tenant.code == (draft.tenant_code or ""))) is None:
        problems.append(problem("tenant_code", "Choose the municipality whose residents are concerned.",
                                "対象の住民の市町村を選んでください。"))
    for field, value, en, ja in (("window_start", draft.window_start, "the window's start", "対象期間の開始"),
                                 ("window_end", draft.window_end, "the window's end", "対象期間の終了"),
                                 ("known_at", draft.known_at, "when it became known", "事態を知った日時")):
        if value is None:
            problems.append(problem(field, f"Enter {en}.", f"{ja}を入力してください。"))
        elif value > now + dt.timedelta(minutes=5):
            problems.append(problem(field, "Not in the future.", "現在より前にしてください。"))
    if draft.window_start and draft.window_end and draft.window_end < draft.window_start:
        problems.append(problem("window_end", "The window ends before it starts.", "終了は開始より後にしてください。"))
    ids = sorted({int(i) for i in draft.service_ids})
    if not ids:
        problems.append(problem("service_ids", "Choose the services concerned.", "対象のサービスを選んでください。"))
    elif len(set(session.scalars(sa.select(DataService.id).where(DataService.id.in_(ids))))) != len(ids):
        problems.append(problem("service_ids", "Unknown service.", "登録されていないサービスです。"))
    found = text_field_problem("summary", (draft.summary or "").strip(), "summary", "概要", PART_MAX, single_line=False)
    if found is not None:
        problems.append(found)
    return problems


def summary_of(session: Session, breach: IncidentBreach) -> dict:
    """The audit log's picture of a breach (no resident in it)."""
    return {"incident_id": breach.incident_id, "tenant_code": breach.tenant_code, "kind": BreachKind(breach.kind).value,
            "unlawful_purpose": breach.unlawful_purpose, "window_start": breach.window_start.isoformat(),
            "window_end": breach.window_end.isoformat(), "known_at": breach.known_at.isoformat(),
            "services": [sid for sid, _ in services(session, breach.id)]}


def mark_breach(session: Session, actor: Actor, incident_id: int, draft: BreachDraft, *,
                now: dt.datetime | None = None) -> IncidentBreach:
    """Mark an incident as a personal-data breach of ``draft.tenant_code``'s residents; audited ``incident.breach.mark``.
    Marking is ``breach.mark`` (the operator, who runs the incident register): a municipality's people, who record
    and report their residents' breaches once marked, never learn from here which incidents exist."""
    authz.authorize(actor, MARK, draft.tenant_code or None)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"No incident {incident_id}.", f"番号 {incident_id} の障害はありません。")
    now = now or utcnow()
    if problems := _draft_problems(session, draft, now):
        raise Invalid("The breach cannot be recorded as written; nothing was recorded.",
                      "入力内容に誤りがあります。漏えい等は記録していません。", problems=problems)
    if session.scalar(sa.select(IncidentBreach.id).where(IncidentBreach.incident_id == incident_id,
                                                         IncidentBreach.tenant_code == draft.tenant_code)) is not None:
        raise Conflict("This incident is marked as a breach of that municipality's residents already.",
                       "この障害は、その市町村の住民についての漏えい等として記録済みです。")
    breach = IncidentBreach(incident_id=incident_id, tenant_code=draft.tenant_code, kind=BreachKind(draft.kind),
                            unlawful_purpose=bool(draft.unlawful_purpose), window_start=draft.window_start,
                            window_end=draft.window_end, known_at=draft.known_at, marked_at=now,
                            marked_by=actor.recorded_name, summary=(draft.summary or "").strip())
    session.add(breach)
    session.flush()
    for sid in sorted({int(i) for i in draft.service_ids}):
        session.add(IncidentBreachService(breach_id=breach.id, service_id=sid))
    session.flush()
    audit.record(session, actor, "incident.breach.mark", "incident_breach", str(breach.id), tenant_code=breach.tenant_code,
                 after=summary_of(session, breach))
    return breach


def write_report(session: Session, actor: Actor, breach_id: int, parts: dict[str, str]) -> IncidentBreach:
    """The report's items (概要, 原因, …) as written now; audited ``incident.breach.report`` with before and after."""
    breach = get_breach(session, actor, breach_id, MANAGE, lock=True)
    problems, values = [], {}
    for name, ja in REPORT_PARTS:
        value = (parts.get(name) or "").strip()
        found = text_field_problem(name, value, name.replace("_", " "), ja, PART_MAX, single_line=False)
        if found is not None:
            problems.append(found)
        values[name] = value
    if problems:
        raise Invalid("The report's items have a problem; nothing was saved.", "報告事項に誤りがあります。保存していません。",
                      problems=problems)
    before = {name: getattr(breach, name) for name, _ in REPORT_PARTS}
    if before == values:
        return breach
    for name, value in values.items():
        setattr(breach, name, value)
    session.add(breach)
    session.flush()
    audit.record(session, actor, "incident.breach.report", "incident_breach", str(breach.id),
                 tenant_code=breach.tenant_code, before=before, after=values)
    return breach


def record_report(session: Session, actor: Actor, breach_id: int, kind: str, *, at: dt.datetime | None = None) -> IncidentBreach:
    """The 速報 or the 確報 submitted to the Commission (once each; the 確報 after the 速報); audited."""
    breach = get_breach(session, actor, breach_id, MANAGE, lock=True)
    try:
        report = BreachReportKind(kind)
    except ValueError:
        raise Invalid("Choose the report.", "報告の種類を選んでください。",
                      problems=[problem("kind", "Preliminary or final.", "速報か確報を選んでください。")]) from None
    field = f"{report.value}_reported_at"
    if getattr(breach, field) is not None:
        raise Conflict(f"The {report.en.lower()} was recorded already.", f"{report.ja}は提出済みとして記録されています。")
    if report is BreachReportKind.final and breach.preliminary_reported_at is None:
        raise Conflict("Record the preliminary report first.", "先に速報の提出を記録してください。")
    at = at or utcnow()
    if at < breach.known_at:
        raise Invalid("The submission is before the breach became known.", "提出日時が事態を知った日時より前です。",
                      problems=[problem("at", "Not before it became known.", "事態を知った日時以降にしてください。")])
    setattr(breach, field, at)
    setattr(breach, f"{report.value}_reported_by", actor.recorded_name)
    session.add(breach)
    session.flush()
    due = dict((d.kind, d) for d in deadlines(breach, today=jst_day(at)))[report]
    audit.record(session, actor, f"incident.breach.{report.value}", "incident_breach", str(breach.id),
                 tenant_code=breach.tenant_code, after={"reported_at": at.isoformat(), "due_on": due.due_on.isoformat(),
                                                        "late": jst_day(at) > due.due_on})
    return breach


# --- telling the residents -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Notified:
    portal: int
    letter: int
    already: int


def _notice_texts(breach: IncidentBreach, one: Affected, municipality: str) -> tuple[str, str, str, str]:
    kind = BreachKind(breach.kind)
    services_ja, items_ja = "、".join(one.services), "、".join(one.items)
    start, end = jst_text(breach.window_start), jst_text(breach.window_end)
    body_ja = (f"{municipality}からのお知らせです。{services_ja}に提供されたあなたの情報について、"
               f"{kind.ja}のおそれがあることが分かりました。\n"
               f"対象の期間: {start} 〜 {end}\n対象となるあなたの情報: {items_ja}\n")
    body_en = (f"A notice from {municipality}. Your data provided to {', '.join(one.services)} may have been affected "
               f"by a {kind.en.lower()}.\nPeriod: {start} to {end}\nYour items concerned: {', '.join(one.items)}\n")
    if breach.response_to_persons:
        body_ja += f"\n{breach.response_to_persons}\n"
        body_en += f"\n{breach.response_to_persons}\n"
    body_ja += "ご不明な点は、住民ポータルの「問合せ」からお尋ねください。"
    body_en += "If you have a question, ask it through the portal's inquiry page."
    return ("個人情報の漏えい等に関するお知らせ", "About a breach of your personal data", body_ja, body_en)


def notify_residents(session: Session, actor: Actor, breach_id: int) -> Notified:
    """Tell each affected resident not told yet: a portal notice to those who can sign in, the letter list for the
    others; audited ``incident.breach.notify`` with the counts (each resident's row is kept in incident_breach_notice)."""
    breach = get_breach(session, actor, breach_id, MANAGE, lock=True)
    authz.authorize(actor, RESIDENTS, breach.tenant_code)
    told = notices_sent(session, breach.id)
    municipality = municipality_name(session, breach.tenant_code)
    portal = letter = already = 0
    for one in _affected(session, breach):
        if one.resident_id in told:
            already += 1
            continue
        notice_id = None
        if one.portal:
            title_ja, title_en, body_ja, body_en = _notice_texts(breach, one, municipality)
            notice = ResidentNotice(resident_id=one.resident_id, kind=NOTICE_KIND, title_ja=title_ja, title_en=title_en,
                                    body_ja=body_ja, body_en=body_en)
            session.add(notice)
            session.flush()
            notice_id, portal = notice.id, portal + 1
        else:
            letter += 1
        session.add(IncidentBreachNotice(breach_id=breach.id, resident_id=one.resident_id,
                                         channel=NoticeChannel.portal if one.portal else NoticeChannel.letter,
                                         notice_id=notice_id, items=json.dumps(list(one.items), ensure_ascii=False),
                                         by=actor.recorded_name))
    session.flush()
    if portal or letter:
        audit.record(session, actor, "incident.breach.notify", "incident_breach", str(breach.id),
                     tenant_code=breach.tenant_code, after={"portal": portal, "letter": letter, "already": already})
    return Notified(portal, letter, already)


@dataclasses.dataclass(frozen=True)
class LetterRow:
    common_id: str
    full_name: str
    address: str
    items: tuple[str, ...]


def letter_list(session: Session, actor: Actor, keys, breach_id: int) -> list[LetterRow]:
    """The residents to be told by letter (put on the list by :func:`notify_residents`), with their name and
    address decrypted: the municipality's own people only; audited ``incident.breach.letters`` (how many, no one)."""
    from residents.operations import personal_items

    breach = get_breach(session, actor, breach_id, LETTERS)
    rows = session.execute(sa.select(Resident, IncidentBreachNotice.items).join(
        IncidentBreachNotice, IncidentBreachNotice.resident_id == Resident.id)
        .where(IncidentBreachNotice.breach_id == breach.id, IncidentBreachNotice.channel == NoticeChannel.letter)
        .order_by(Resident.common_id, Resident.id)).all()
    found = []
    for resident, items in rows:
        plain = personal_items(resident, keys, ("full_name", "address")) if resident.erased_at is None else {}
        found.append(LetterRow(resident.common_id or f"resident-{resident.uid}", plain.get("full_name", ""),
                               plain.get("address", ""), tuple(json.loads(items))))
    audit.record(session, actor, "incident.breach.letters", "incident_breach", str(breach.id),
                 tenant_code=breach.tenant_code, after={"residents": len(found)})
    return found


# --- reminders ----------------------------------------------------------------------------------------

def remind_due(session: Session, actor: Actor, *, today: dt.date | None = None) -> int:
    """Queue a reminder to the municipality's contacts for each deadline not met that is within
    :data:`REMIND_DAYS` or passed: once as it nears and once when passed (the due job ``breach-reminders``)."""
    authz.authorize(actor, MANAGE)
    today = today or today_jst()
    queued = 0
    open_breaches = session.scalars(sa.select(IncidentBreach).where(IncidentBreach.final_reported_at.is_(None))
                                    .order_by(IncidentBreach.id))
    for breach in open_breaches:
        tenant = session.scalar(sa.select(Tenant).where(Tenant.code == breach.tenant_code))
        for due in deadlines(breach, today=today):
            if due.reported_at is not None or due.days_left > REMIND_DAYS:
                continue
            stage = "overdue" if due.overdue else "near"
            words = "期限を過ぎています" if due.overdue else f"期限まであと{due.days_left}日です"
            message = outbox.queue(
                session, kind=REMINDER_KIND, tenant=tenant, tenant_code=breach.tenant_code,
                subject=f"【個人情報の漏えい等】{due.kind.ja}の{words}（{date_ja(due.due_on)}）",
                body=(f"障害番号 {breach.incident_id} の漏えい等（{BreachKind(breach.kind).ja}）について、個人情報保護委員会への"
                      f"{due.kind.ja}の期限は{date_ja(due.due_on)}です（事態を知った日: {date_ja(jst_day(breach.known_at))}）。\n"
                      "提出したら renkei に提出を記録してください。\n"),
                dedupe_key=f"breach:{breach.id}:{due.kind.value}:{stage}")
            queued += message is not None
    if queued:
        audit.record(session, actor, "incident.breach.remind", "incident_breach", "due", after={"reminders": queued})
    return queued


# --- the report to the Commission ------------------------------------------------------------------------

def report_sections(session: Session, actor: Actor, breach_id: int, kind: str) -> tuple[str, str, list[Section]]:
    """(title, issuer, sections) of the 速報 or 確報 as the Commission's form asks its items: no resident is named,
    only how many (``breach.read``)."""
    breach = get_breach(session, actor, breach_id)
    try:
        report = BreachReportKind(kind)
    except ValueError:
        raise NotFound(f"No report {kind}.", "報告の種類が正しくありません。") from None
    people = _affected(session, breach)
    items: dict[str, None] = {}
    for one in people:
        for item in one.items:
            items.setdefault(item, None)
    municipality = municipality_name(session, breach.tenant_code)
    incident = session.get(Incident, breach.incident_id)
    preliminary, final = deadlines(breach)
    told = notices_sent(session, breach.id)

    def when(moment: dt.datetime | None) -> str:
        return jst_text(moment) if moment else "未提出"

    outline = Section("報告の概要", ("項目", "内容"), (
        ("報告の種類", report.ja), ("報告者（個人情報の管理者）", f"{municipality}（{breach.tenant_code}）"),
        ("事態の区分", BreachKind(breach.kind).ja),
        ("不正の目的をもって行われたおそれ", "あり" if unauthorised(breach) else "なし"),
        ("事態を知った日時", jst_text(breach.known_at)),
        ("発生期間（対象の期間）", f"{jst_text(breach.window_start)} 〜 {jst_text(breach.window_end)}"),
        ("関係する障害", f"障害番号 {breach.incident_id}：{incident.title if incident else ''}"),
        ("対象のサービス", "、".join(name for _, name in services(session, breach.id)) or "—"),
    ))
    parts = Section("報告事項", ("項目", "内容"), (
        ("概要", breach.summary or "（未記入）"),
        ("漏えい等が発生し、又は発生したおそれがある個人情報の項目", "、".join(items) or "該当なし"),
        ("本人の数", f"{len(people)}人"),
        *((ja, getattr(breach, name) or "（未記入）") for name, ja in REPORT_PARTS[1:]),
    ))
    dates = Section("報告の期限と提出", ("報告", "期限", "提出日時"), (
        ("速報", date_ja(preliminary.due_on), when(breach.preliminary_reported_at)),
        ("確報", date_ja(final.due_on), when(breach.final_reported_at)),
    ), note=f"速報は速やかに（概ね3〜5日以内、renkei は事態を知った日から{PRELIMINARY_DAYS}日）、確報は{FINAL_DAYS}日以内"
            f"（不正の目的によるおそれがある場合は{FINAL_DAYS_UNLAWFUL}日以内）。")
    persons = Section("本人への通知", ("方法", "人数"), (
        ("住民ポータルのお知らせ", sum(1 for c in told.values() if c is NoticeChannel.portal)),
        ("郵送", sum(1 for c in told.values() if c is NoticeChannel.letter)),
        ("未通知", sum(1 for one in people if one.resident_id not in told)),
    ))
    title = f"個人情報の漏えい等報告（{report.ja}）"
    return title, municipality, [outline, parts, dates, persons]
