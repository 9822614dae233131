"""The monthly report to the prefecture (月次運用報告, seed 001: 月に１回、閲覧数や検索状況等のログ情報を
収集し、県に報告書を提出すること), written by the due job on the first of each month for the month before.

Each figure has one function here, which the admin page, the API, the workbook and the PDF all use:

* :func:`request_counts`: page views of the catalogue, the admin and the public pages, and catalogue
  searches, from the request log's day files (``RENKEI_REQUEST_LOG``). A page view is a GET answered
  with 2xx. People and machines are told apart by what they asked for, because the request log
  records neither the session nor the client: people read pages (``/admin/…``, ``/catalogue/…``; the
  public pages ``/status``, ``/inquiry/…``, ``/events/…``, ``/join/…``, ``/competition/…``), machines call APIs (the admin's
  ``/api/v1/…``; the catalogue's CKAN API ``/api/3/…``, ``/api/action/…`` and the DCAT feed
  ``/catalog.*``; the public status ``/status.json`` and its schema). A search is a ``package_search`` call of the CKAN API (the portal's
  searches arrive that way).
* :func:`search_words`: the month's most frequent catalogue search words (:mod:`service.search_words`:
  counted by word and day as each search answers, no query, reader or address kept), those searched
  fewer times than the service setting ``search_words_minimum`` (default 5) omitted: never shown.
* :func:`registrations`: new members (their 入会日 in the month), new users (invitations, from the
  audit log: ``user.invite``), new API clients and new datasets (created in the month).
* :func:`sign_ins`: sign-ins to the platform (every client: the admin, the portal, …), per client
  and per Japan-time day, from Keycloak's LOGIN events as the due job kept them
  (:mod:`service.sign_ins`; renkei's own ``auth.sign_in`` records are not counted beside them:
  each is also a LOGIN event).
* :func:`api_calls`: API calls by municipality (the usage report's ``api_calls``) and by dataset.
* :func:`consent_checks`: the consent broker's checks in the month and how many were allowed
  (linkages) — the linkage records.
* :func:`inquiries`: inquiries received in the month, by category.
* :func:`availability_rows`, :func:`incidents_in`, :func:`maintenance_in`: availability per
  component (:mod:`service.report`), the incident register's incidents detected in the month, the
  maintenance windows in it.
* :func:`subcontractors`: the platform vendor's subcontractors approved by the prefecture and in effect in the
  month (:func:`governance.subcontracts.approved_in`, issue 57 item 3).

Each writing is kept (:class:`service.models.MonthlyReport`, one version per writing: its history);
the operator reviews the newest and sends it to the prefecture's recipients through the outbox. Both
acts are audited.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, charts, outbox, report_document
from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import JST, add_months, current_month, date_ja, jst_text, month_start_utc
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.report_document import Section
from governance import subcontracts as subcontracts_, submissions
from residents.consent.models import LinkageRecord
from secretariat.inquiries import Category, Inquiry
from service import maintenance as maintenance_, search_words as search_words_, settings as settings_
from service import sign_ins as sign_ins_
from service.availability import percent_text
from service.incidents.models import Incident, IncidentStatus, Severity
from service.models import MonthlyReport
from service.report import _month_files, month_availability
from catalogue.models import Dataset
from tenancy.identity.models import ApiClient
from tenancy.members.models import Organisation
from tenancy.registry.prefecture import home_prefecture
from usage.reports import build_report, dataset_usage

KIND = "service.monthly_report"  # the outbox kind
READ, MANAGE = "service.read", "service.manage"
PEOPLE_PREFIXES = {"catalogue": ("/catalogue",), "admin": ("/admin",)}
MACHINE_PREFIXES = {"catalogue": ("/api/3/", "/api/3", "/api/action/", "/catalog."), "admin": ("/api/v1/",)}
SEARCH_PATHS = ("/api/3/action/package_search", "/api/action/package_search")


def _span(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return month_start_utc(month), month_start_utc(add_months(month, 1))


# --- the request log ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RequestCounts:
    catalogue_people: int = 0
    catalogue_machines: int = 0
    admin_people: int = 0
    admin_machines: int = 0
    public_people: int = 0
    public_machines: int = 0
    searches: int = 0
    logged: bool = True  # False: the request log is not written to files (stdout, off)


# the pages anyone reads without an account: the status page, the inquiry form, the events, the membership
# application and the competition
PUBLIC_PAGES = ("/status", "/inquiry", "/events", "/join", "/competition")
PUBLIC_MACHINES = ("/status.json", "/status.schema.json")


def _public(path: str) -> str | None:
    if path in PUBLIC_MACHINES:
        return "machines"
    if path in PUBLIC_PAGES or path.startswith(tuple(f"{page}/" for page in PUBLIC_PAGES)):
        return "people"
    return None


def _area(path: str) -> tuple[str, str] | None:
    public = _public(path)
    if public is not None:
        return "public", public
    for area, prefixes in PEOPLE_PREFIXES.items():
        if path.startswith(prefixes):
            return area, "people"
    for area, prefixes in MACHINE_PREFIXES.items():
        if path.startswith(prefixes):
            return area, "machines"
    return None


def request_counts(directory: str | Path | None, month: dt.date) -> RequestCounts:
    """Page views (people and machines apart) and catalogue searches of the month's request log."""
    if not directory or str(directory) in ("stdout", "off"):
        return RequestCounts(logged=False)
    counts: Counter[str] = Counter()
    for path in _month_files(Path(directory), month):
        with path.open(encoding="utf-8") as lines:
            for text in lines:
                try:
                    line = json.loads(text)
                except ValueError:
                    continue
                if not isinstance(line, dict) or line.get("method") != "GET" or not isinstance(line.get("status"), int) \
                        or not 200 <= line["status"] < 300 or not isinstance(line.get("path"), str):
                    continue
                if line["path"] in SEARCH_PATHS:
                    counts["searches"] += 1
                area = _area(line["path"])
                if area is not None:
                    counts[f"{area[0]}_{area[1]}"] += 1
    return RequestCounts(**counts)


# --- the database and the audit log ----------------------------------------------------------------

def _count(session: Session, query) -> int:
    return int(session.scalar(query) or 0)


@dataclasses.dataclass(frozen=True)
class SearchWords:
    minimum: int  # words searched fewer times are omitted
    top: list[tuple[str, int]]  # (word, times), the most first


def search_words(session: Session, month: dt.date) -> SearchWords:
    """The month's most frequent catalogue search words, those below the minimum omitted."""
    minimum = settings_.current(session).search_words_minimum
    return SearchWords(minimum, search_words_.top_words(session, month, minimum))


def registrations(session: Session, month: dt.date) -> dict[str, int]:
    since, until = _span(month)
    return {
        "members": _count(session, sa.select(sa.func.count()).select_from(Organisation).where(
            Organisation.joined_on >= month, Organisation.joined_on < add_months(month, 1))),
        "users": _audit_count(session, "user.invite", since, until),
        "api_clients": _count(session, sa.select(sa.func.count()).select_from(ApiClient).where(
            ApiClient.created_at >= since, ApiClient.created_at < until)),
        "datasets": _count(session, sa.select(sa.func.count()).select_from(Dataset).where(
            Dataset.created_at >= since, Dataset.created_at < until)),
    }


def _audit_count(session: Session, action: str, since: dt.datetime, until: dt.datetime) -> int:
    return _count(session, sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == action, AuditRecord.occurred_at >= since, AuditRecord.occurred_at < until))


def sign_ins(session: Session, month: dt.date) -> sign_ins_.SignIns:
    """Sign-ins in the month, the people who signed in, per client and per day (Keycloak's LOGIN events)."""
    return sign_ins_.month_counts(session, month)


def api_calls(session: Session, actor: Actor, month: dt.date) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, str, int]]]:
    """API calls of the month by municipality (code, name, calls) and by dataset (name, title, provider, calls)."""
    report = build_report(session, actor, month)
    by_tenant = sorted(((t.code, t.name_ja, int(t.values.get("api_calls", 0))) for t in report.tenants),
                       key=lambda row: (-row[2], row[0]))
    usage = dataset_usage(session, actor, month)
    by_dataset = [(d.name, d.title_ja, d.provider_name, d.calls) for d in usage.top]
    return by_tenant, by_dataset


def consent_checks(session: Session, month: dt.date) -> dict[str, int]:
    since, until = _span(month)
    where = (LinkageRecord.occurred_at >= since, LinkageRecord.occurred_at < until)
    return {"checks": _count(session, sa.select(sa.func.count()).select_from(LinkageRecord).where(*where)),
            "linkages": _count(session, sa.select(sa.func.count()).select_from(LinkageRecord).where(
                *where, LinkageRecord.allowed.is_(True)))}


def inquiries(session: Session, month: dt.date) -> dict[str, int]:
    """Inquiries received in the month by category (every category named, zero included)."""
    since, until = _span(month)
    found = dict(session.execute(sa.select(Inquiry.category, sa.func.count()).where(
        Inquiry.received_at >= since, Inquiry.received_at < until).group_by(Inquiry.category)).all())
    return {category.value: int(found.get(category, 0)) for category in Category}


def incidents_in(session: Session, month: dt.date) -> list[Incident]:
    since, until = _span(month)
    return list(session.scalars(sa.select(Incident).where(Incident.detected_at >= since, Incident.detected_at < until)
                                .order_by(Incident.detected_at, Incident.id)))


def maintenance_in(session: Session, month: dt.date):
    return maintenance_.windows(session, since=_span(month)[0], until=_span(month)[1])


def subcontractors(session: Session, month: dt.date) -> list[dict[str, Any]]:
    """The vendor's subcontractors approved and in effect in the month, as the writing keeps them."""
    rows = subcontracts_.approved_in(session, subcontracts_.Contractor.vendor, month, add_months(month, 1) - dt.timedelta(days=1))
    return [dict(zip(SUBCONTRACTOR_KEYS, values)) for values in subcontracts_.report_rows(rows)]


SUBCONTRACTOR_KEYS = ("name", "corporate_number", "address", "scope", "period", "amount", "approved_on")


def availability_rows(session: Session, actor: Actor, month: dt.date, now: dt.datetime | None = None):
    return month_availability(session, actor, month, now=now)


# --- the report -----------------------------------------------------------------------------------

def _minutes(micros: int) -> int:
    return micros // 60_000_000


def _when(moment: dt.datetime | None) -> str:
    return jst_text(moment) if moment else "—"


@dataclasses.dataclass(frozen=True)
class Figures:
    month: dt.date
    requests: RequestCounts
    registrations: dict[str, int]
    sign_ins: sign_ins_.SignIns
    by_tenant: list[tuple[str, str, int]]
    by_dataset: list[tuple[str, str, str, int]]
    consent: dict[str, int]
    inquiries: dict[Any, int]
    availability: list
    incidents: list[Incident]
    maintenance: list
    search_words: SearchWords = SearchWords(5, [])
    subcontractors: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The counts kept with each writing (JSON)."""
        return {
            "month": f"{self.month:%Y-%m}", "requests": dataclasses.asdict(self.requests),
            "registrations": self.registrations, "sign_ins": self.sign_ins.summary(),
            "sign_ins_by_client": [[client, n] for client, n in self.sign_ins.by_client],
            "sign_ins_by_day": [[day.isoformat(), n] for day, n in self.sign_ins.by_day],
            "api_calls": sum(row[2] for row in self.by_tenant), "consent": self.consent,
            "inquiries": sum(self.inquiries.values()), "incidents": len(self.incidents),
            "maintenance": len(self.maintenance),
            "search_words": [[word, times] for word, times in self.search_words.top],
            "search_words_minimum": self.search_words.minimum,
            "subcontractors": self.subcontractors,
            **self._availability_summary(),
        }

    def _availability_summary(self) -> dict[str, Any]:
        """Per component: minutes down, availability and the share measured (None: not measured); the downtimes."""
        return {
            "downtime_minutes": {row.component.key: _down_minutes(row.measured) for row in self.availability},
            "availability_percent": {row.component.key: None if row.measured.ratio is None else percent_text(row.measured.ratio)
                                     for row in self.availability},
            "measured_percent": {row.component.key: None if row.measured.measured_share is None
                                 else percent_text(row.measured.measured_share) for row in self.availability},
            "downtime": [[row.component.name_ja, _minutes(row.measured.down)] for row in self.availability
                         if row.measured.down],
        }


def figures(session: Session, actor: Actor, month: dt.date, request_log: str | Path | None,
            now: dt.datetime | None = None) -> Figures:
    authz.authorize(actor, READ)
    by_tenant, by_dataset = api_calls(session, actor, month)
    return Figures(month, request_counts(request_log, month), registrations(session, month), sign_ins(session, month),
                   by_tenant, by_dataset, consent_checks(session, month), inquiries(session, month),
                   availability_rows(session, actor, month, now), incidents_in(session, month),
                   maintenance_in(session, month), search_words(session, month), subcontractors(session, month))


def title_of(month: dt.date) -> str:
    return f"データ連携基盤 月次運用報告（{month.year}年{month.month}月）"


def _request_sections(r) -> list[Section]:
    """Page views by people and machines, and catalogue searches, as the request log counts them (or why not)."""
    log_note = "" if r.logged else "要求ログがファイルに記録されていないため、閲覧数・検索数は計測できません。"
    return [
        Section("閲覧数", ("対象", "人（画面）", "機械（API）"),
                (("カタログ", r.catalogue_people, r.catalogue_machines), ("管理画面", r.admin_people, r.admin_machines),
                 ("公開ページ（稼働状況・問合せ・イベントなど）", r.public_people, r.public_machines)),
                note=log_note or "人は画面の閲覧、機械は API の呼出しとして要求ログから数えています（正常に応答した GET のみ）。"),
        Section("カタログの検索", ("項目", "件数"), (("検索回数", r.searches),),
                note=log_note or "カタログ API（package_search）の検索を要求ログから数えています。"),
    ]


def sections(f: Figures) -> list[Section]:
    return [
        Section("稼働状況", ("構成要素", "稼働率（%）", "目標（%）", "停止（分）", "計画メンテナンス（分）", "未計測（分）",
                             "計測した割合（%）", "障害件数"),
                tuple((row.component.name_ja, _ratio_text(row.measured.ratio), percent_text(row.target, 2),
                       _or_unmeasured(_down_minutes(row.measured)), _minutes(row.measured.maintenance),
                       _minutes(row.measured.unmeasured),
                       percent_text(row.measured.measured_share), row.outages) for row in f.availability),
                note=availability_note(f.availability)),
        Section("障害", ("番号", "障害", "重大度", "状態", "検知", "復旧"),
                tuple((i.id, i.title, Severity(i.severity).ja, IncidentStatus(i.status).ja,
                       _when(i.detected_at), _when(i.recovered_at)) for i in f.incidents)),
        Section("計画メンテナンス", ("件名", "開始", "終了"),
                tuple((w.title, _when(w.starts_at), _when(w.ends_at)) for w in f.maintenance)),
        *_request_sections(f.requests),
        Section("よく検索された語", ("検索語", "回数"), tuple(f.search_words.top),
                note="検索語は語と日ごとの回数だけを記録しています（検索した人や検索文は記録していません）。"
                     f"{f.search_words.minimum} 回未満の語は載せていません。"),
        Section("登録", ("項目", "件数"), (("新規会員", f.registrations["members"]), ("新規利用者（招待）", f.registrations["users"]),
                                          ("新規 API クライアント", f.registrations["api_clients"]),
                                          ("新規データセット", f.registrations["datasets"]))),
        Section("サインイン", ("項目", "件数"), (("サインイン回数", f.sign_ins.total), ("サインインした人数", f.sign_ins.people)),
                note="認証サーバー（Keycloak）のサインインの記録から数えています（管理画面・ポータルなどすべてのクライアント）。"),
        Section("サインイン（クライアント別）", ("クライアント", "回数"), tuple(f.sign_ins.by_client)),
        Section("サインイン（日別）", ("日", "回数"), tuple((day.isoformat(), n) for day, n in f.sign_ins.by_day)),
        Section("API 呼出し（市町村別）", ("団体コード", "団体", "呼出し"), tuple(f.by_tenant)),
        Section("API 呼出し（データセット別）", ("データセット", "名称", "提供者", "呼出し"), tuple(f.by_dataset)),
        Section("同意確認と連携", ("項目", "件数"), (("同意確認", f.consent["checks"]), ("連携（許可）", f.consent["linkages"]))),
        Section("問合せ", ("分類", "件数"), tuple((Category(c).ja, n) for c, n in f.inquiries.items())),
        Section("再委託（承認済み）", subcontracts_.REPORT_HEADERS,
                tuple(tuple(row[key] for key in SUBCONTRACTOR_KEYS) for row in f.subcontractors),
                note="県の承認を受け、当月に再委託の期間がある再委託先（基盤運用事業者）。"),
    ]


def _ratio_text(ratio) -> str:
    return "未計測" if ratio is None else percent_text(ratio)


def _down_minutes(measured) -> int | None:
    """Minutes down in the month; None (未計測) when nothing was measured: a component never probed was
    not 0 minutes down, it was not measured."""
    return None if measured.ratio is None else _minutes(measured.down)


def _or_unmeasured(value: int | None) -> int | str:
    return "未計測" if value is None else value


def availability_note(rows) -> str:
    """How the availability was counted, and what share of the month was measured (per component when
    not all of it)."""
    note = ("稼働率は、計測した時間（稼働または停止）に占める稼働時間の割合です。計画メンテナンスの時間は除き、"
            "計測していない時間（未計測）は稼働にも停止にも数えません。")
    partly = [f"{row.component.name_ja} {percent_text(row.measured.measured_share)} %" for row in rows
              if row.measured.measured_share is not None and 0 < row.measured.measured_share < 1]
    never = [row.component.name_ja for row in rows if row.measured.ratio is None]
    if partly:
        note += f"月の一部だけを計測した構成要素の稼働率は、その計測した期間のものです（計測した割合：{'、'.join(partly)}）。"
    if never:
        note += f"この月に計測のない構成要素（{'、'.join(never)}）には稼働率を示しません（未計測）。"
    if not partly and not never:
        note += "この月は全期間を計測しています。"
    return note


def _charts(f: Figures) -> str:
    r = f.requests
    views = charts.of("monthly-views", "閲覧数", "カタログ・管理画面・公開ページの閲覧数（人と機械）",
                      [("カタログ（人）", r.catalogue_people), ("カタログ（機械）", r.catalogue_machines),
                       ("管理画面（人）", r.admin_people), ("管理画面（機械）", r.admin_machines),
                       ("公開ページ（人）", r.public_people), ("公開ページ（機械）", r.public_machines)],
                      category_header="対象", series_name="件数", unit="件", horizontal=True)
    measured = [row for row in f.availability if row.measured.ratio is not None]  # 未計測: no bar, never a 0
    unmeasured = [row.component.name_ja for row in f.availability if row.measured.ratio is None]
    down = charts.of("monthly-downtime", "停止時間", "構成要素ごとの停止時間（分）"
                     + (f"。未計測のため含めていない構成要素：{'、'.join(unmeasured)}" if unmeasured else ""),
                     [(row.component.name_ja, _minutes(row.measured.down)) for row in measured] or [("—", 0)],
                     category_header="構成要素", series_name="停止（分）", unit="分", horizontal=True)
    return "".join(f'<div class="chart"><img alt="{html.escape(chart.title)}" src="data:image/svg+xml;base64,'
                   f'{base64.b64encode(charts.svg(chart).encode()).decode()}"></div>' for chart in (views, down))


def to_xlsx(f: Figures) -> bytes:
    return report_document.to_xlsx(title_of(f.month), sections(f))


def to_pdf(f: Figures, issuer: str, day: dt.date) -> bytes:
    document = report_document.to_html(title_of(f.month), issuer, day, sections(f))
    document = document.replace("</style>", ".chart { width: 70%; margin: 2mm 0; } .chart img { width: 100%; }</style>", 1)
    document = document.replace('</p>', '</p>' + _charts(f), 1)  # after the issuer's line: the charts first
    return report_document.to_pdf(document, "monthly report", "月次運用報告")


def write(session: Session, actor: Actor, month: dt.date, request_log: str | Path | None, *, issuer: str = "",
          now: dt.datetime | None = None) -> MonthlyReport:
    """Write the month's report (a new version); audited ``service.monthly_report.write``."""
    authz.authorize(actor, MANAGE)
    now = now or utcnow()
    if month_start_utc(month) > now:
        raise Invalid(f"The month {month:%Y-%m} has not begun: there is nothing to report.",
                      f"{month.year}年{month.month}月はまだ始まっていないため、報告を作成できません。",
                      problems=[problem("month", "A month that has begun.", "始まった月を指定してください。")])
    found = figures(session, actor, month, request_log, now=now)
    issuer = issuer or f"{_prefecture_name(session)}データ連携基盤 運営者"
    version = _count(session, sa.select(sa.func.max(MonthlyReport.version)).where(MonthlyReport.month == month)) + 1
    row = MonthlyReport(month=month, version=version, figures=json.dumps(found.summary(), ensure_ascii=False, sort_keys=True),
                        xlsx=to_xlsx(found), pdf=to_pdf(found, issuer, now.astimezone(JST).date()),
                        written_at=now, written_by=actor.recorded_name)
    session.add(row)
    session.flush()
    audit.record(session, actor, "service.monthly_report.write", "service_monthly_report", str(row.id),
                 after={"month": f"{month:%Y-%m}", "version": version})
    return row


def _prefecture_name(session: Session) -> str:
    prefecture = home_prefecture(session)
    return prefecture.name_ja if prefecture is not None else ""


def write_last_month(session: Session, actor: Actor, request_log: str | Path | None, *,
                     now: dt.datetime | None = None) -> MonthlyReport | None:
    """The due job: last month's report, once (None when it was written before)."""
    month = add_months(current_month(now), -1)
    if session.scalar(sa.select(MonthlyReport.id).where(MonthlyReport.month == month).limit(1)) is not None:
        return None
    return write(session, actor, month, request_log, now=now)


def history(session: Session, actor: Actor, *, limit: int = 120) -> list[MonthlyReport]:
    """Every writing, newest month first (the files deferred: a list reads no PDF)."""
    authz.authorize(actor, READ)
    return list(session.scalars(sa.select(MonthlyReport).options(sa.orm.defer(MonthlyReport.xlsx), sa.orm.defer(MonthlyReport.pdf))
                                .order_by(MonthlyReport.month.desc(), MonthlyReport.version.desc()).limit(limit)))


def get(session: Session, actor: Actor, report_id: int) -> MonthlyReport:
    authz.authorize(actor, READ)
    row = session.get(MonthlyReport, report_id)
    if row is None:
        raise NotFound(f"No monthly report {report_id}.", f"月次運用報告 {report_id} はありません。")
    return row


FORMATS = ("pdf", "xlsx")


def download(session: Session, actor: Actor, report_id: int, fmt: str) -> tuple[MonthlyReport, bytes]:
    """A writing's PDF or workbook, handed out: audited ``service.monthly_report.download`` with the
    file's SHA-256, as the other documents handed out (the minutes, the progress report)."""
    if fmt not in FORMATS:
        raise Invalid(f"No format {fmt!r}: pdf or xlsx.", f"形式 {fmt} はありません（pdf または xlsx）。",
                      problems=[problem("format", "pdf or xlsx.", "pdf または xlsx を指定してください。")])
    row = get(session, actor, report_id)
    data = row.pdf if fmt == "pdf" else row.xlsx
    audit.record(session, actor, "service.monthly_report.download", "service_monthly_report", str(row.id),
                 after={"month": f"{row.month:%Y-%m}", "version": row.version, "format": fmt,
                        "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    return row, data


def submit(session: Session, actor: Actor, report_id: int, *, now: dt.datetime | None = None) -> Any:
    """The vendor submits a writing's PDF to the prefecture as the month's service report
    (:func:`governance.submissions.submit_monthly`: inspected there, final once approved)."""
    row = get(session, actor, report_id)
    with audit.act(session, actor, "submission.submit", "submission", f"service_report:{row.month:%Y-%m}"):
        return submissions.submit_monthly(session, actor, submissions.K.service_report, row.month,
                                          f"運用月次報告書（{row.month.year}年{row.month.month}月）", row.pdf,
                                          filename(row, "pdf"), now=now)


def filename(row: MonthlyReport, fmt: str) -> str:
    return f"monthly-report-{row.month:%Y-%m}-v{row.version}.{fmt}"


def summary_of(row: MonthlyReport) -> dict[str, Any]:
    return json.loads(row.figures)


def send(session: Session, actor: Actor, report_id: int, recipients: list[str]) -> MonthlyReport:
    """Send a writing to the prefecture's recipients (the outbox); once; audited ``service.monthly_report.send``."""
    authz.authorize(actor, MANAGE)
    row = get(session, actor, report_id)
    if row.sent_at is not None:
        raise Conflict(f"The monthly report {report_id} was sent already.", f"この月次運用報告（{report_id}）は送付済みです。")
    if not recipients:
        raise Conflict("The prefecture has no recipients for the reports: set them on the settings page (Service settings) "
                       "or give the prefecture settings an e-mail address.",
                       "県の送付先が設定されていません。設定画面の「稼働目標の設定」で報告の送付先を入力するか、県の設定にメールアドレスを入力してください。")
    data = summary_of(row)
    prefecture = home_prefecture(session)
    outbox.queue(session, kind=KIND, tenant_code=prefecture.code if prefecture else None, recipients=", ".join(recipients),
                 dedupe_key=f"monthly-report:{row.id}", subject=f"【エリアデータ連携基盤】{title_of(row.month)}",
                 body=_mail_body(row, data))
    row.sent_at, row.sent_by, row.recipients = utcnow(), actor.recorded_name, ", ".join(recipients)[:1000]
    session.add(row)
    session.flush()
    audit.record(session, actor, "service.monthly_report.send", "service_monthly_report", str(row.id),
                 after={"month": f"{row.month:%Y-%m}", "version": row.version, "recipients": recipients})
    return row


def _mail_body(row: MonthlyReport, data: dict[str, Any]) -> str:
    r = data["requests"]
    return "\n".join([
        f"{title_of(row.month)}（第{row.version}版、{date_ja(row.written_at.astimezone(JST).date())}作成）をお送りします。", "",
        f"閲覧数：カタログ 人 {r['catalogue_people']:,} 件・機械 {r['catalogue_machines']:,} 件、"
        f"管理画面 人 {r['admin_people']:,} 件・機械 {r['admin_machines']:,} 件、"
        f"公開ページ 人 {r.get('public_people', 0):,} 件・機械 {r.get('public_machines', 0):,} 件",
        f"カタログの検索：{r['searches']:,} 回",
        *([f"よく検索された語：{'、'.join(f'{w}（{n:,}）' for w, n in data['search_words'][:10])}"]
          if data.get("search_words") else []),
        f"API 呼出し：{data['api_calls']:,} 件　障害：{data['incidents']} 件　計画メンテナンス：{data['maintenance']} 件", "",
        "報告書（PDF・Excel）は共同利用管理システムの「月次運用報告」から取得できます。",
        "本メールは共同利用管理システム（renkei）から送信しています。",
    ])
