"""The secretariat's year: its schedule of work items, its issue list and the monthly progress report
to the prefecture (進捗管理及び課題管理, issue 40 item 7).

Rules:

* A **work item** (作業項目) has a title, a due date, an owner and a status (未着手 → 実施中 → 完了,
  or back). It belongs to the fiscal year of its due date; the schedule of a fiscal year lists its
  items by due date. Its owner is one of the **secretariat's people** (the holders of the operator
  role, :func:`secretariat_people`): picked from them, never typed; the operation refuses anyone
  else. Marking it 完了 records the day (Japan time); leaving 完了 clears it.
* An item is **late** when it is not done and its due day (a Japan-time date) has passed: at 00:00
  JST on the day after the due date, whatever the server's clock zone (:func:`is_late`).
* An **issue** (課題) records when it was raised (Japan-time day) and by whom (the signed-in person),
  an owner (picked like an item's), a status (未対応 → 対応中 → 解決済) and, once resolved, its
  resolution (required) and the day.
* The **monthly report** (:func:`build_report`) for a month: the items done in it, the items late at
  its end (due on or before its last day that has passed, and not done by then; for the current month
  the days passed so far), the issues open at its end, raised in it and resolved in it, and the
  secretariat's subcontractors approved and in effect in it (:func:`governance.subcontracts.approved_in`,
  issue 57 item 3). The same sections feed the page, the PDF and the workbook (:mod:`core.report_document`);
  every file handed out is audited (``progress.report``) with the month, the format and the file's SHA-256.

Every change is audited: ``progress.item.add``, ``progress.item.update``, ``progress.issue.raise``,
``progress.issue.update``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any, Callable, Iterable, Literal, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz, report_document
from core.actor import Actor
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, fiscal_year_ja, fiscal_year_of, today_jst
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Invalid, NotFound, problem
from core.labelled import LabelledEnum, labels
from core.lifecycle import Lifecycle, Move
from core.report_document import Section
from core.validation import text_field_problem
from governance import subcontracts, submissions
from governance.subcontracts import Contractor, Subcontract
from secretariat import advisers
from secretariat.member_report import MEDIA_TYPES, Period, parse_period
from tenancy.registry.prefecture import consortium_name

READ, MANAGE, REPORT = "progress.read", "progress.manage", "progress.report"
Format = Literal["pdf", "xlsx"]
TITLE_MAX, TEXT_MAX = 200, 4000


class ItemStatus(LabelledEnum):
    planned = "planned", "未着手", "Not started"
    in_progress = "in_progress", "実施中", "In progress"
    done = "done", "完了", "Done"


class IssueStatus(LabelledEnum):
    open = "open", "未対応", "Open"
    in_progress = "in_progress", "対応中", "In progress"
    resolved = "resolved", "解決済", "Resolved"


def _free(statuses: type[LabelledEnum], subject_ja: str, subject_en: str) -> Lifecycle:
    """The secretariat moves an item or an issue to any other status (forward, or back when it reopens):
    the transition table says so, one move into each status from the others, and the updates move by it."""
    return Lifecycle(subject_ja, subject_en, statuses, labels(statuses), tuple(
        Move(target.value, frozenset(s for s in statuses if s is not target), target, target.ja, target.en)
        for target in statuses), initial=(next(iter(statuses)),))


ITEM_LIFECYCLE = _free(ItemStatus, "作業項目", "work item")
ISSUE_LIFECYCLE = _free(IssueStatus, "課題", "issue")


class WorkItem(SQLModel, table=True):
    __tablename__ = "secretariat_work_item"

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    title: str = Field(max_length=TITLE_MAX)
    detail: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    due_on: dt.date = Field(index=True)
    owner_subject: str = Field(max_length=255)
    owner_name: str = Field(max_length=200)
    status: ItemStatus = Field(sa_column=enum_column(ItemStatus, length=16, checked=True))
    done_on: Optional[dt.date] = Field(default=None)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class Issue(SQLModel, table=True):
    __tablename__ = "secretariat_issue"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    detail: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    raised_on: dt.date = Field(index=True)
    raised_by: str = Field(max_length=200)
    owner_subject: str = Field(max_length=255)
    owner_name: str = Field(max_length=200)
    status: IssueStatus = Field(sa_column=enum_column(IssueStatus, length=16, checked=True))
    resolution: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    resolved_on: Optional[dt.date] = Field(default=None)


# --- the secretariat's people ----------------------------------------------------------------------

def secretariat_people(directory: Any) -> dict[str, str]:
    """``{user id: 「姓 名」}`` of the enabled holders of the operator's or the contracted secretariat's role,
    by name: the only people a work item or an issue can be given to."""
    people = {}
    holders = {*directory.enabled_role_holders(authz.OPERATOR), *directory.enabled_role_holders(authz.SECRETARIAT)}
    for user_id in holders:
        people[user_id] = directory.account(user_id).display_name
    return dict(sorted(people.items(), key=lambda item: (item[1], item[0])))


People = Mapping[str, str] | Callable[[], Mapping[str, str]]


def owners(actor: Actor, people: People) -> dict[str, str]:
    """The people a work item or an issue can be given to (``people``, or what it answers when called:
    the shell passes :func:`secretariat_people` unevaluated, so Keycloak is asked only after the
    actor is authorised and only when an owner is being chosen)."""
    authz.authorize(actor, MANAGE)
    return dict(people() if callable(people) else people)


def _owner(owner: str, people: People) -> tuple[str, str] | dict[str, str]:
    owner = (owner or "").strip()
    people = people() if callable(people) else people
    if owner in people:
        return owner, people[owner]
    return problem("owner", "Choose the owner from the secretariat's people.", "担当者を事務局の職員から選んでください。")


class ProgressInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The entry has problems; nothing was saved.", "入力内容に誤りがあります。保存していません。",
                         problems=problems)


def _texts(title: str | None, detail: str | None) -> list[dict[str, str]]:
    found = []
    if title is not None:
        found.append(text_field_problem("title", title, "title", "件名", TITLE_MAX, required=True))
    if detail is not None:
        found.append(text_field_problem("detail", detail, "detail", "内容", TEXT_MAX, single_line=False))
    return [p for p in found if p is not None]


def _due(due_on: Any) -> tuple[dt.date | None, list[dict[str, str]]]:
    if isinstance(due_on, str):
        try:
            due_on = dt.date.fromisoformat(due_on.strip())
        except ValueError:
            due_on = None
    if not isinstance(due_on, dt.date) or not FIRST_FISCAL_YEAR <= fiscal_year_of(due_on) <= LAST_FISCAL_YEAR:
        return None, [problem("due_on", "Give the due date as YYYY-MM-DD, within renkei's calendar (fiscal years "
                                        f"{FIRST_FISCAL_YEAR}–{LAST_FISCAL_YEAR}).",
                              f"期限を日付（YYYY-MM-DD、{FIRST_FISCAL_YEAR}〜{LAST_FISCAL_YEAR}年度）で入力してください。")]
    return due_on, []


# --- work items -------------------------------------------------------------------------------------

def _item_summary(item: WorkItem) -> dict[str, Any]:
    return {"title": item.title, "item_due_on": item.due_on.isoformat(), "owner": item.owner_name,
            "owner_subject": item.owner_subject, "item_status": item.status.value,
            "done_on": item.done_on.isoformat() if item.done_on else None}


def add_item(session: Session, actor: Actor, people: People, *, title: str, due_on: Any, owner: str,
             detail: str = "") -> WorkItem:
    """A work item of the schedule (its fiscal year is its due date's); audited ``progress.item.add``."""
    authz.authorize(actor, MANAGE)
    title, detail = (title or "").strip(), (detail or "").strip()
    due, found = _due(due_on)
    found = _texts(title, detail) + found
    who = _owner(owner, people)
    if isinstance(who, dict):
        found.append(who)
    if found:
        raise ProgressInvalid(found)
    item = WorkItem(fiscal_year=fiscal_year_of(due), title=title, detail=detail, due_on=due, owner_subject=who[0],
                    owner_name=who[1], status=ItemStatus.planned)
    session.add(item)
    session.flush()
    audit.record(session, actor, "progress.item.add", "work_item", str(item.id), after=_item_summary(item))
    return item


def get_item(session: Session, actor: Actor, item_id: int) -> WorkItem:
    authz.authorize(actor, READ)
    item = session.get(WorkItem, item_id)
    if item is None:
        raise NotFound(f"No work item {item_id}.", f"作業項目 {item_id} はありません。")
    return item


def _status(value: Any, enum_cls: type[LabelledEnum]) -> LabelledEnum | dict[str, str]:
    try:
        return enum_cls(value)
    except ValueError:
        return problem("status", f"Choose one of: {', '.join(m.value for m in enum_cls)}.", "状況を選んでください。")


def update_item(session: Session, actor: Actor, people: People, item_id: int, *, title: str | None = None,
                due_on: Any = None, owner: str | None = None, status: str | None = None,
                now: dt.datetime | None = None) -> WorkItem:
    """Change an item's title, due date, owner or status (done: the Japan-time day is recorded);
    audited ``progress.item.update`` with before and after."""
    authz.authorize(actor, MANAGE)
    item = get_item(session, actor, item_id)
    found = _texts(title.strip() if title is not None else None, None)
    due = new_status = who = None
    if due_on not in (None, ""):
        due, wrong = _due(due_on)
        found += wrong
    if owner not in (None, ""):
        who = _owner(owner, people)
        found += [who] if isinstance(who, dict) else []
    if status not in (None, ""):
        new_status = _status(status, ItemStatus)
        found += [new_status] if isinstance(new_status, dict) else []
    if found:
        raise ProgressInvalid(found)
    before = _item_summary(item)
    if title is not None:
        item.title = title.strip()
    if due is not None:
        item.due_on, item.fiscal_year = due, fiscal_year_of(due)
    if who is not None:
        item.owner_subject, item.owner_name = who
    if new_status is not None and new_status is not item.status:
        item.status = ITEM_LIFECYCLE.move(new_status.value, item.status, item).target
        item.done_on = today_jst(now or utcnow()) if new_status is ItemStatus.done else None
    session.flush()
    audit.record(session, actor, "progress.item.update", "work_item", str(item.id), before=before,
                 after=_item_summary(item))
    return item


def schedule(session: Session, actor: Actor, fiscal_year: int) -> list[WorkItem]:
    """The fiscal year's work items by due date."""
    authz.authorize(actor, READ)
    return list(session.scalars(sa.select(WorkItem).where(WorkItem.fiscal_year == fiscal_year)
                                .order_by(WorkItem.due_on, WorkItem.id)))


def is_late(item: WorkItem, now: dt.datetime | None = None) -> bool:
    """Not done, and its due day (Japan time) is over."""
    return item.status is not ItemStatus.done and item.due_on < today_jst(now or utcnow())


# --- issues -----------------------------------------------------------------------------------------

def _issue_summary(issue: Issue) -> dict[str, Any]:
    return {"title": issue.title, "raised_on": issue.raised_on.isoformat(), "raised_by": issue.raised_by,
            "owner": issue.owner_name, "owner_subject": issue.owner_subject, "issue_status": issue.status.value,
            "issue_resolution": issue.resolution, "resolved_on": issue.resolved_on.isoformat() if issue.resolved_on else None}


def raise_issue(session: Session, actor: Actor, people: People, *, title: str, owner: str,
                detail: str = "", now: dt.datetime | None = None) -> Issue:
    """An issue raised today (Japan time) by the signed-in person; audited ``progress.issue.raise``."""
    authz.authorize(actor, MANAGE)
    title, detail = (title or "").strip(), (detail or "").strip()
    found = _texts(title, detail)
    who = _owner(owner, people)
    if isinstance(who, dict):
        found.append(who)
    if found:
        raise ProgressInvalid(found)
    issue = Issue(title=title, detail=detail, raised_on=today_jst(now or utcnow()),
                  raised_by=actor.recorded_name[:200], owner_subject=who[0], owner_name=who[1],
                  status=IssueStatus.open)
    session.add(issue)
    session.flush()
    audit.record(session, actor, "progress.issue.raise", "issue", str(issue.id), after=_issue_summary(issue))
    return issue


def get_issue(session: Session, actor: Actor, issue_id: int) -> Issue:
    authz.authorize(actor, READ)
    issue = session.get(Issue, issue_id)
    if issue is None:
        raise NotFound(f"No issue {issue_id}.", f"課題 {issue_id} はありません。")
    return issue


def update_issue(session: Session, actor: Actor, people: People, issue_id: int, *,
                 owner: str | None = None, status: str | None = None, resolution: str | None = None,
                 now: dt.datetime | None = None) -> Issue:
    """Change an issue's owner or status; resolving it takes its resolution (the day is recorded, Japan
    time); reopening clears the day. Audited ``progress.issue.update`` with before and after."""
    authz.authorize(actor, MANAGE)
    issue = get_issue(session, actor, issue_id)
    found: list[dict[str, str]] = []
    who = new_status = None
    if owner not in (None, ""):
        who = _owner(owner, people)
        found += [who] if isinstance(who, dict) else []
    if status not in (None, ""):
        new_status = _status(status, IssueStatus)
        found += [new_status] if isinstance(new_status, dict) else []
    resolution = (resolution or "").strip() if resolution is not None else None
    if resolution is not None and (wrong := text_field_problem("resolution", resolution, "resolution", "対応結果",
                                                               TEXT_MAX, single_line=False)):
        found.append(wrong)
    if new_status is IssueStatus.resolved and not (resolution or issue.resolution):
        found.append(problem("resolution", "Say how the issue was resolved.", "対応結果（解決の内容）を入力してください。"))
    if found:
        raise ProgressInvalid(found)
    before = _issue_summary(issue)
    if who is not None:
        issue.owner_subject, issue.owner_name = who
    if resolution is not None:
        issue.resolution = resolution
    if new_status is not None and new_status is not issue.status:
        issue.status = ISSUE_LIFECYCLE.move(new_status.value, issue.status, issue).target
        issue.resolved_on = today_jst(now or utcnow()) if new_status is IssueStatus.resolved else None
    session.flush()
    audit.record(session, actor, "progress.issue.update", "issue", str(issue.id), before=before,
                 after=_issue_summary(issue))
    return issue


def issues(session: Session, actor: Actor, *, unresolved_only: bool = False) -> list[Issue]:
    authz.authorize(actor, READ)
    query = sa.select(Issue).order_by(Issue.raised_on.desc(), Issue.id.desc())
    if unresolved_only:
        query = query.where(Issue.status != IssueStatus.resolved)
    return list(session.scalars(query))


# --- the monthly report -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class MonthlyReport:
    period: Period
    title: str
    issuer: str
    generated_on: dt.date
    through: dt.date            # the last day counted for lateness (the month's end, or yesterday)
    done: list[WorkItem]        # done in the month
    late: list[WorkItem]        # due by ``through`` and not done by then
    open_issues: list[Issue]    # raised by the month's end, not resolved by then
    raised: list[Issue]         # raised in the month
    resolved: list[Issue]       # resolved in the month
    consultations: advisers.Held = advisers.Held(0, 0)  # members' consultations with advisers held in the month
    subcontractors: tuple[Subcontract, ...] = ()  # the secretariat's, approved and in effect in the month


def parse_month(text: str) -> Period:
    """A month ``2026-05`` (the member report's periods, months only)."""
    period = parse_period(text)
    if period.start.day != 1 or period.end.month != period.start.month or period.start.year != period.end.year:
        raise Invalid(f"{text!r} is not a month: give it as 2026-05.", f"{text!r} は月ではありません。2026-05 の形で指定してください。",
                      problems=[problem("month", "A month such as 2026-05.", "2026-05 の形で指定してください。")])
    return period


def current_month(now: dt.datetime | None = None) -> Period:
    today = today_jst(now or utcnow())
    return parse_month(f"{today.year}-{today.month:02d}")


def _within(day: dt.date | None, start: dt.date, end: dt.date) -> bool:
    return day is not None and start <= day <= end


def build_report(session: Session, actor: Actor, period: Period, *, now: dt.datetime | None = None) -> MonthlyReport:
    authz.authorize(actor, REPORT)
    today = today_jst(now or utcnow())
    through = min(period.end, today - dt.timedelta(days=1))
    items = list(session.scalars(sa.select(WorkItem).where(WorkItem.due_on <= period.end)
                                 .order_by(WorkItem.due_on, WorkItem.id)))
    items += list(session.scalars(sa.select(WorkItem).where(WorkItem.due_on > period.end,
                                                            WorkItem.done_on.between(period.start, period.end))
                                  .order_by(WorkItem.due_on, WorkItem.id)))
    done = sorted((i for i in items if _within(i.done_on, period.start, period.end)), key=lambda i: (i.done_on, i.id))
    late = [i for i in items if i.due_on <= through and (i.done_on is None or i.done_on > through)]
    every = list(session.scalars(sa.select(Issue).where(Issue.raised_on <= period.end).order_by(Issue.raised_on, Issue.id)))
    return MonthlyReport(
        period=period, title=f"進捗・課題管理報告書（{period.label}）", issuer=consortium_name(session) or "事務局",
        generated_on=today, through=through, done=done, late=late,
        open_issues=[i for i in every if i.resolved_on is None or i.resolved_on > period.end],
        raised=[i for i in every if _within(i.raised_on, period.start, period.end)],
        resolved=[i for i in every if _within(i.resolved_on, period.start, period.end)],
        consultations=advisers.consultations_held(session, period.start, period.end),
        subcontractors=tuple(subcontracts.approved_in(session, Contractor.secretariat, period.start, period.end)))


def _item_rows(items: Iterable[WorkItem], *, with_done: bool) -> tuple[tuple[Any, ...], ...]:
    return tuple((i.id, i.title, i.due_on.isoformat(), i.owner_name, i.status.ja)
                 + ((i.done_on.isoformat() if i.done_on else "",) if with_done else ()) for i in items)


def _issue_rows(found: Iterable[Issue]) -> tuple[tuple[Any, ...], ...]:
    return tuple((i.id, i.title, i.raised_on.isoformat(), i.raised_by, i.owner_name, i.status.ja, i.resolution)
                 for i in found)


def sections(report: MonthlyReport) -> list[Section]:
    period = report.period
    summary = (("対象月", f"{period.label}（{period.start.isoformat()}〜{period.end.isoformat()}）"),
               ("当月に完了した作業項目", f"{len(report.done):,}"),
               ("遅延している作業項目", f"{len(report.late):,}（{report.through.isoformat()} までが期限で未完了）"),
               ("月末時点で未解決の課題", f"{len(report.open_issues):,}"),
               ("当月に提起された課題", f"{len(report.raised):,}"), ("当月に解決した課題", f"{len(report.resolved):,}"),
               ("当月に実施したアドバイザー相談", f"{report.consultations.consultations:,} 件（{report.consultations.hours:,} 時間）"),
               ("承認済みの再委託先", f"{len(report.subcontractors):,}"))
    item_headers = ("番号", "作業項目", "期限", "担当者", "状況")
    issue_headers = ("番号", "課題", "提起日", "提起者", "担当者", "状況", "対応結果")
    return [
        Section("概要", ("項目", "内容"), summary),
        Section("完了した作業項目", item_headers + ("完了日",), _item_rows(report.done, with_done=True)),
        Section("遅延している作業項目", item_headers, _item_rows(report.late, with_done=False),
                note="期限（日本時間）を過ぎて完了していない作業項目。"),
        Section("未解決の課題", issue_headers, _issue_rows(report.open_issues), note="月末時点。"),
        Section("当月に提起された課題", issue_headers, _issue_rows(report.raised)),
        Section("当月に解決した課題", issue_headers, _issue_rows(report.resolved)),
        Section("再委託（承認済み）", subcontracts.REPORT_HEADERS, subcontracts.report_rows(list(report.subcontractors)),
                note="県の承認を受け、当月に再委託の期間がある再委託先。"),
    ]


def filename(period: Period, fmt: str) -> tuple[str, str]:
    return f"progress-report-{period.key}.{fmt}", f"進捗・課題管理報告書_{period.key}.{fmt}"


def generate(session: Session, actor: Actor, period: Period, fmt: Format, *, now: dt.datetime | None = None) -> bytes:
    """The monthly report as a file; audited ``progress.report`` with the month, format and SHA-256."""
    if fmt not in MEDIA_TYPES:
        raise ValueError(f"no progress report format {fmt!r}")
    report = build_report(session, actor, period, now=now)
    parts = sections(report)
    data = (report_document.to_pdf(report_document.to_html(report.title, report.issuer, report.generated_on, parts),
                                   "progress report", "進捗・課題管理報告書")
            if fmt == "pdf" else report_document.to_xlsx(report.title, parts))
    audit.record(session, actor, REPORT, "period", period.key, after={
        "period": period.key, "format": fmt, "done": len(report.done), "late": len(report.late),
        "open_issues": len(report.open_issues),
        "subcontractors": len(report.subcontractors), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    return data


def submit_report(session: Session, actor: Actor, period: Period, *, now: dt.datetime | None = None) -> Any:
    """The secretariat submits the month's report (its PDF) to the prefecture as the monthly progress report
    (:func:`governance.submissions.submit_monthly`: inspected there, final once approved)."""
    with audit.act(session, actor, "submission.submit", "submission", f"progress_report:{period.start:%Y-%m}"):
        data = generate(session, actor, period, "pdf", now=now)
        return submissions.submit_monthly(session, actor, submissions.K.progress_report, period.start,
                                          f"進捗・課題管理報告書（{period.label}）", data, filename(period, "pdf")[0], now=now)


def fiscal_year_label(fiscal_year: int) -> str:
    """「令和8年度（2026年度）」: the schedule's heading."""
    return f"{fiscal_year_ja(fiscal_year)}（{fiscal_year}年度）"
