"""The annual report (年度報告書, seed 001's 成果品 (1), A4): a fiscal year in one document, PDF and xlsx.

Everything in it is **read from the records**, each figure from the one function that owns it, never
typed and never worked out a second time here:

* the municipalities (tenants) that took part, their months (:func:`tenancy.registry.history.participation_months`),
  who joined and who withdrew during the year (their status history);
* the consortium's member organisations that joined (入会) or left (退会) during the year: the
  ``member.approve`` and ``member.withdraw`` acts of the audit log, named from the member register;
* the datasets published by the year's end and their conformance, labelled by
  :func:`catalogue.conformance.verdict_of` (:func:`~catalogue.conformance.conformance_state`'s verdict), counted
  by the database for both formats' summaries and listed (read row by row) only for the workbook;
* usage: API calls per tenant (:func:`usage.metering.usage_totals`) and per dataset
  (:func:`usage.reports.dataset_usage` over the twelve months);
* the 収支決算 (:func:`billing.year_close.accounts_of_year`: revenue by source, costs by category);
* the grants with what each funds (:func:`billing.grants.year_funding`);
* the 負担金 of each municipality, charged, paid and owed (:func:`billing.statements.build_summary`,
  from the ledger);
* the council's decisions of the year, read through the composition root's
  :data:`billing.allocation_policies.COUNCIL_RESOLUTIONS` (billing and governance do not import each other);
* incidents: the platform's failures (障害) of the incident register, read through the composition
  root's :data:`PLATFORM_INCIDENTS` (service builds on billing, so billing does not import it), and the
  identity incidents recorded in the year (:mod:`tenancy.identity.incidents`), by day.

The PDF is what an office reads and prints: every figure of the year, with the lists of a row per
municipality or per dataset summarised (by kind of municipality, by standard dataset, the ten most
used) and the short lists of the year's events (who joined or left, the council's decisions, the
incidents) in full up to :data:`PRINTED_ROWS` rows. The workbook (:func:`sections`) has every section
of the PDF but its excerpts (the ten most used, a short list that its full list holds) and, beside
each summary, the full list it summarises (1,741 municipalities, 52,000 datasets at national size), so
it holds every fact the PDF shows. (A printed table of 1,741 rows is 40 pages, and 20 s of WeasyPrint.)
The PDF is HTML rendered by WeasyPrint on A4 with the Japanese Gothic of Debian's
fonts-ipafont-gothic, as the 収支決算 and the 納入通知書 are; the workbook is openpyxl, one sheet per
section, every text cell neutralised (:func:`core.spreadsheet.safe_cell`). Generating a file
(:func:`generate`) is audited with the year, the format and the SHA-256 of the bytes handed out.

Who may: the operator, the finance officer and the auditor (``report.annual``, every tenant).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Literal, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import allocation_policies, grants, statements, year_close
from billing.documents import issuer_line
from billing.models import CostItem, JournalEntry
from core import audit, authz, report_document
from core.report_document import Section
from core.actor import Actor
from core.audit import AuditRecord
from core.codes import is_prefecture
from core.calendar import date_ja, fiscal_months, fiscal_year_en, fiscal_year_ja, fiscal_year_of, fiscal_year_start, \
    jst_day, today_jst
from catalogue import standards
from catalogue.models import DatasetStatus
from catalogue.conformance import CONFORMANT, NOT_CONFORMANT, UNCHECKED, label_of, verdict_of
from catalogue.operations import published_by, published_groups
from tenancy.identity.incidents import incidents_between
from tenancy.members.models import Organisation
from tenancy.registry.history import histories, participation_months
from tenancy.registry.models import Tenant, TenantKind, TenantStatus
from tenancy.registry.prefecture import consortium_name, get_settings
from usage.metering import usage_totals
from usage.reports import DATASET_METRIC, dataset_usage

ACTION = "report.annual"
AUDIT_ACTION = "report.annual.generate"
Format = Literal["pdf", "xlsx"]
MEDIA_TYPES = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
INCIDENTS_NOTE = ("障害の台帳（プラットフォームの障害）と認証サーバーの不整合のうち、この年度に検知・記録したものです"
                  "（日付は検知日、対応は報告時点の状態）。")

PRINTED_ROWS = 25  # a list of the year's events longer than this is counted in the PDF, listed in the workbook
TOP = 10  # the most used tenants and datasets the PDF names
NOT_STANDARD = "（標準データセットではありません）"

IncidentRow = tuple[dt.date, str, str, str]  # day, what, municipalities, its state


def _no_register(session: Session, start: dt.datetime, end: dt.datetime) -> list[IncidentRow]:
    raise RuntimeError("the incident register is not wired (admin/wiring.py sets PLATFORM_INCIDENTS)")


PLATFORM_INCIDENTS: Callable[[Session, dt.datetime, dt.datetime], list[IncidentRow]] = _no_register
"""``(session, start, end) -> [(day, what, municipalities, state)]``: the platform incidents detected in
``[start, end)``. Set by the composition root; unset, a report refuses to be made rather than omit them."""


# --- the facts of the year ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Participant:
    code: str
    name: str
    kind: str
    months: int  # months of the year it took part in (what billing charges for)
    joined_on: dt.date | None  # activated during the year
    left_on: dt.date | None  # withdrew during the year
    status: str  # its status now


@dataclasses.dataclass(frozen=True)
class MemberMove:
    corporate_number: str
    name: str
    on: dt.date
    joined: bool  # 入会 (else 退会)


class DatasetLine(NamedTuple):
    """A dataset of the year's list: a row of the workbook's sheet as it is (a named tuple: 52,000 frozen
    dataclasses took a tenth of a second to make, and a tuple of each again for the sheet)."""

    provider: str
    name: str
    title: str
    status: str
    standard: str
    conformance: str  # conformance_state's verdict, in Japanese


@dataclasses.dataclass(frozen=True)
class DatasetCount:
    """Published datasets counted: their providers, the datasets, and the datasets by verdict ("" for no standard kind)."""

    providers: int
    datasets: int
    verdicts: collections.Counter[str]


@dataclasses.dataclass(frozen=True)
class DatasetCounts:
    """The datasets published by the year's end, counted by the title of their standard kind ("" for none), and in all."""

    by_standard: Mapping[str, DatasetCount]
    total: DatasetCount


@dataclasses.dataclass(frozen=True)
class AnnualReport:
    fiscal_year: int
    issuer: str
    participants: tuple[Participant, ...]
    member_moves: tuple[MemberMove, ...]
    members_now: int
    datasets: tuple[DatasetLine, ...] | None  # the workbook's list (None: not read, the PDF lists none)
    dataset_counts: DatasetCounts  # what both formats' summaries show
    calls_by_tenant: tuple[tuple[str, str, int], ...]  # code, name, API calls in the year
    calls_by_dataset: tuple[tuple[str, str, str, int], ...]  # name, title, provider, calls
    accounts: year_close.AccountsOfYear
    funding: grants.YearFunding
    burdens: statements.Summary
    decisions: tuple[allocation_policies.CouncilDecision, ...]
    incidents: tuple[IncidentRow, ...]  # day, what, municipalities, its state
    generated_on: dt.date
    tenant_kinds: Mapping[str, str] = dataclasses.field(default_factory=dict)  # every tenant's TenantKind, by code

    @property
    def era(self) -> str:
        return fiscal_year_ja(self.fiscal_year)

    @property
    def title(self) -> str:
        return f"{self.era} 連携基盤共同利用事業 年度報告書"

    @property
    def municipalities(self) -> int:
        """The municipalities that took part in a month or more of the year."""
        return len(municipalities_taking_part(self.participants))

    @property
    def municipal_burden(self) -> int:
        """The municipalities' 負担金 as the statements give them (the prefecture's share left out)."""
        return sum(row.charged for row in self.burdens.rows if not is_prefecture(row.tenant_code))


def _year_bounds(fiscal_year: int) -> tuple[dt.datetime, dt.datetime]:
    return fiscal_year_start(fiscal_year), fiscal_year_start(fiscal_year + 1)


def _joined_and_left(in_year: list) -> tuple[dt.date | None, dt.date | None]:
    """The days (Japan time) a tenant joined (not back from a suspension) and withdrew, among the year's moves."""
    joined = next((jst_day(move.at) for move in in_year if move.to_status == TenantStatus.active
                   and move.from_status != TenantStatus.suspended), None)
    left = next((jst_day(move.at) for move in in_year if move.to_status == TenantStatus.withdrawn), None)
    return joined, left


def participants(session: Session, fiscal_year: int) -> tuple[Participant, ...]:
    """The tenants that took part in the year (a month or more), joined or withdrew during it, by code.

    The tenants are read as rows of the columns the history reads (``id``, ``status``, ``wave_fiscal_year``) and
    the report shows, not as whole tenants: 1,741 tenants loaded whole took a third of a second."""
    start, end = _year_bounds(fiscal_year)
    tenants = session.execute(sa.select(Tenant.id, Tenant.code, Tenant.name_ja, Tenant.kind, Tenant.status,
                                        Tenant.wave_fiscal_year).order_by(Tenant.code)).all()
    moves = histories(session, tenants)
    found = []
    for tenant in tenants:
        transitions = moves[tenant.id]
        joined, left = _joined_and_left([move for move in transitions if start <= move.at < end])
        months = participation_months(session, tenant, fiscal_year, transitions)
        if months or joined or left:
            found.append(Participant(tenant.code, tenant.name_ja, TenantKind(tenant.kind).ja, months,
                                     joined, left, TenantStatus(tenant.status).ja))
    return tuple(found)


def _municipality_taking_part(code: str, months: int) -> bool:
    """The one rule of a municipality counted as taking part: a month or more of the year, the prefecture left out."""
    return bool(months) and not is_prefecture(code)


def municipalities_taking_part(found: tuple[Participant, ...]) -> tuple[Participant, ...]:
    """The municipalities among ``found`` (the prefecture left out) that took part in a month or more of the year:
    the annual report's count (:func:`municipalities_taking_part_count` counts the same)."""
    return tuple(participant for participant in found if _municipality_taking_part(participant.code, participant.months))


def municipalities_taking_part_count(session: Session, fiscal_year: int) -> int:
    """How many municipalities :func:`municipalities_taking_part` finds among the year's :func:`participants`: the
    results report's (service.kpis) figure. Only the months are worked out (from the columns the history reads),
    not each participant's names, kind and moves of the year: at national size (1,741 tenants) that took 50 ms."""
    tenants = session.execute(sa.select(Tenant.id, Tenant.code, Tenant.status, Tenant.wave_fiscal_year)).all()
    moves = histories(session, tenants)
    return sum(1 for tenant in tenants
               if _municipality_taking_part(tenant.code, participation_months(session, tenant, fiscal_year, moves[tenant.id])))


def _member_moves(session: Session, fiscal_year: int) -> tuple[tuple[MemberMove, ...], int]:
    """Approvals and withdrawals of member organisations in the year (the audit log's acts), and the
    members now."""
    start, end = _year_bounds(fiscal_year)
    acts = session.execute(
        sa.select(AuditRecord.action, AuditRecord.target_id, AuditRecord.occurred_at, AuditRecord.before)
        .where(AuditRecord.action.in_(("member.approve", "member.withdraw")),
               AuditRecord.occurred_at >= start, AuditRecord.occurred_at < end).order_by(AuditRecord.seq)).all()
    numbers = sorted({act.target_id for act in acts})
    names = dict(session.execute(sa.select(Organisation.corporate_number, Organisation.name)
                                 .where(Organisation.corporate_number.in_(numbers))).all()) if numbers else {}
    moves = []
    for act in acts:
        joined = act.action == "member.approve"
        if not joined and json.loads(act.before or "{}").get("status") != "approved":
            continue  # an applicant who withdrew was never a member
        moves.append(MemberMove(act.target_id, names.get(act.target_id, ""), jst_day(act.occurred_at), joined))
    now = session.scalar(sa.select(sa.func.count()).select_from(Organisation).where(Organisation.status == "approved"))
    return tuple(moves), int(now or 0)


def _datasets(session: Session, fiscal_year: int) -> tuple[DatasetLine, ...]:
    """The datasets published by the year's end, with the latest verdict on their file as the catalogue labels it
    (:func:`catalogue.conformance.verdict_of`, ``conformance_state``'s verdict from the columns it reads).

    The verdict and the labels are worked out once for each distinct value of what they read (a kind, a verdict
    and a count of problems; four statuses), not once per dataset (52,000 at national size)."""
    _, end = _year_bounds(fiscal_year)
    names = dict(session.execute(sa.select(Tenant.code, Tenant.name_ja)).all())  # the providers' (a member's: its code)
    verdicts: dict[tuple, str] = {}  # (kind, conformant, problems) -> its verdict's label
    standard_titles: dict[str | None, str] = {}
    status_labels: dict[str, str] = {}
    lines = []
    for found in published_by(session, end):
        lines += _lines(found, names, verdicts, standard_titles, status_labels)
    return tuple(lines)


def _lines(found, names: dict[str, str], verdicts: dict[tuple, str], standard_titles: dict[str | None, str],
           status_labels: dict[str, str]) -> list[DatasetLine]:
    """The lines of rows of published_by (the labels worked out once, kept in the dicts given)."""
    lines = []
    # unpacked in PUBLISHED_COLUMNS' order: a row's attributes read by name cost more than the rest of the loop
    for provider, name, title, status, standard_kind, conformant, problem_count in found:
        rule = (standard_kind, conformant, problem_count)
        verdict = verdicts.get(rule)
        if verdict is None:
            verdict = verdicts[rule] = label_of(verdict_of(standard_kind, conformant), problem_count)[0] or NOT_STANDARD
        standard = standard_titles.get(standard_kind)
        if standard is None:
            standard = standard_titles[standard_kind] = _standard_title(standard_kind)
        status_label = status_labels.get(status)
        if status_label is None:
            status_label = status_labels[status] = DatasetStatus(status).ja
        lines.append(DatasetLine(names.get(provider, provider), name, title, status_label, standard, verdict))
    return lines


def _standard_title(standard_kind: str | None) -> str:
    """The title of a dataset's standard kind as the report shows it ("" for none)."""
    kind = standards.kind_of(standard_kind)
    return kind.title_ja if kind else ""


def _dataset_counts(session: Session, fiscal_year: int) -> DatasetCounts:
    """The datasets published by the year's end (those :func:`_datasets` lists), counted by the database for each
    standard kind, verdict and provider (:func:`catalogue.operations.published_groups`): at national size some
    14,000 groups are read, not 52,000 datasets."""
    _, end = _year_bounds(fiscal_year)
    return _counted(published_groups(session, end))


def _counted(groups: Iterable[tuple[str | None, bool | None, str, int]]) -> DatasetCounts:
    """:class:`DatasetCounts` of ``groups`` of datasets: (standard kind, conformant, provider, how many)."""
    by_rule: collections.Counter[tuple[str | None, bool | None]] = collections.Counter()
    kinds_of: dict[str | None, set[str]] = {}  # standard kind -> its providers
    for standard_kind, conformant, provider, count in groups:
        by_rule[standard_kind, conformant] += count
        if standard_kind not in kinds_of:
            kinds_of[standard_kind] = set()
        kinds_of[standard_kind].add(provider)
    providers: dict[str, set[str]] = {}
    datasets: collections.Counter[str] = collections.Counter()
    verdicts: dict[str, collections.Counter[str]] = {}
    for (standard_kind, conformant), count in by_rule.items():
        title = _standard_title(standard_kind)
        datasets[title] += count
        verdicts.setdefault(title, collections.Counter())[verdict_of(standard_kind, conformant)] += count
    for standard_kind, found in kinds_of.items():
        providers.setdefault(_standard_title(standard_kind), set()).update(found)
    total: collections.Counter[str] = collections.Counter()
    for found in verdicts.values():
        total.update(found)
    return DatasetCounts({title: DatasetCount(len(providers[title]), datasets[title], verdicts[title]) for title in datasets},
                         DatasetCount(len(set().union(*providers.values())), sum(datasets.values()), total))


def _tenant_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(sa.select(Tenant.code, Tenant.name_ja).where(Tenant.code.in_(sorted(codes)))).all())


def _usage(session: Session, actor: Actor, fiscal_year: int):
    totals = usage_totals(session, DATASET_METRIC, fiscal_year)
    names = _tenant_names(session, set(totals))
    by_tenant = tuple((code, names.get(code, ""), totals[code]) for code in sorted(totals))
    months = fiscal_months(fiscal_year)
    used = dataset_usage(session, actor, months[0], through=months[-1])
    by_dataset = tuple((use.name, use.title_ja, use.provider_name, use.calls) for use in used.top)
    return by_tenant, by_dataset


def _decisions(session: Session, fiscal_year: int) -> tuple[allocation_policies.CouncilDecision, ...]:
    found = [item for item in allocation_policies.COUNCIL_RESOLUTIONS(session, None) if item.fiscal_year == fiscal_year]
    return tuple(sorted(found, key=lambda item: item.number))


def _incidents(session: Session, fiscal_year: int) -> tuple[IncidentRow, ...]:
    start, end = _year_bounds(fiscal_year)
    identity = [(jst_day(view.incident.at), f"認証サーバーの不整合：{view.operation_ja}",
                 view.tenant_name or view.incident.tenant_code, "解消済み" if view.incident.resolved_at else "未解消")
                for view in incidents_between(session, start, end)]
    return tuple(sorted([*PLATFORM_INCIDENTS(session, start, end), *identity], key=lambda row: row[0]))


def _issuer(session: Session) -> str:
    settings = get_settings(session)
    parts = [consortium_name(session)]
    if settings is not None:
        parts.append(issuer_line(settings))
    return "　".join(part for part in parts if part)


def build_annual_report(session: Session, actor: Actor, fiscal_year: int, *, dataset_list: bool = True) -> AnnualReport:
    """The year's report from the records (``report.annual``: the operator, finance and the auditor).
    ``dataset_list=False``: the datasets are counted but not listed (the PDF, which lists none: at national size
    reading the 52,000 took a third of a second); :func:`sections` (the workbook) then refuses the report."""
    authz.authorize(actor, ACTION)
    moves, members_now = _member_moves(session, fiscal_year)
    datasets = _datasets(session, fiscal_year) if dataset_list else None
    by_tenant, by_dataset = _usage(session, actor, fiscal_year)
    return AnnualReport(
        fiscal_year=fiscal_year, issuer=_issuer(session), participants=participants(session, fiscal_year),
        member_moves=moves, members_now=members_now, datasets=datasets,
        dataset_counts=_dataset_counts(session, fiscal_year),
        calls_by_tenant=by_tenant, calls_by_dataset=by_dataset,
        accounts=year_close.accounts_of_year(session, actor, fiscal_year),
        funding=grants.year_funding(session, actor, fiscal_year),
        burdens=statements.build_summary(session, actor, fiscal_year),
        decisions=_decisions(session, fiscal_year), incidents=_incidents(session, fiscal_year),
        generated_on=today_jst(), tenant_kinds=dict(session.execute(sa.select(Tenant.code, Tenant.kind)).all()))


def report_years(session: Session, actor: Actor) -> list[int]:
    """The years a report can be made of, newest first: every year with costs or entries, and this one."""
    authz.authorize(actor, ACTION)
    years = {fiscal_year_of(today_jst())}
    years.update(session.scalars(sa.select(CostItem.fiscal_year).distinct()))
    years.update(session.scalars(sa.select(JournalEntry.fiscal_year).distinct()))
    return sorted(years, reverse=True)


# --- the sections, shared by both formats ----------------------------------------------------------------

def _day(day: dt.date | None) -> str:
    return date_ja(day) if day else ""


VERDICTS = ((CONFORMANT, "準拠"), (NOT_CONFORMANT, "不適合"), (UNCHECKED, "未確認"))  # the datasets' columns


def _in_print(section: Section, sheet: str) -> Section:
    """``section`` as the PDF shows it: its rows when at most :data:`PRINTED_ROWS`, else how many and the
    workbook's sheet that lists them."""
    if len(section.rows) <= PRINTED_ROWS:
        return section
    return dataclasses.replace(section, rows=(), empty=f"{len(section.rows):,} 件。一覧は xlsx 版の「{sheet}」シートにあります。")


def _by_kind(report: AnnualReport, items: Iterable, code_of: Callable) -> list[tuple[str, list]]:
    """``items`` grouped by the kind of their tenant (``code_of(item)``), in TenantKind's order: (its label, its items)."""
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(report.tenant_kinds.get(code_of(item), ""), []).append(item)
    return [(TenantKind(kind).ja if kind else "（種別不明）", groups[kind])
            for kind in [*(kind.value for kind in TenantKind), ""] if kind in groups]


def _summary_section(report: AnnualReport) -> Section:
    verdicts = report.dataset_counts.total.verdicts
    counts = [(f"公開データセット（{label}）", verdicts[verdict]) for verdict, label in VERDICTS if verdicts[verdict]]
    if verdicts[""]:
        counts.append(("公開データセット（標準データセット以外）", verdicts[""]))
    rows = [("年度", f"{report.era}（{fiscal_year_en(report.fiscal_year)}、{date_ja(fiscal_year_start(report.fiscal_year).date())}"
                     f"～{date_ja(fiscal_year_start(report.fiscal_year + 1).date() - dt.timedelta(days=1))}）"),
            ("作成者", report.issuer), ("作成日", date_ja(report.generated_on)),
            ("参加団体（年度中に参加した団体）", len(report.participants)),
            ("うち市町村（1か月以上参加）", report.municipalities),
            ("うち年度中に参加", sum(1 for p in report.participants if p.joined_on)),
            ("うち年度中に脱退", sum(1 for p in report.participants if p.left_on)),
            ("会員の入会（年度中）", sum(1 for m in report.member_moves if m.joined)),
            ("会員の退会（年度中）", sum(1 for m in report.member_moves if not m.joined)),
            ("会員数（作成時点）", report.members_now),
            ("公開データセット（年度末まで）", report.dataset_counts.total.datasets), *counts,
            ("API 呼び出し回数（年間）", sum(calls for *_, calls in report.calls_by_tenant)),
            ("支出合計（円）", report.accounts.expenditure_total),
            ("交付金収入（円）", dict(report.accounts.revenue).get("交付金収入", 0)),
            ("市町村の負担金（円）", report.municipal_burden),
            ("協議会の議決", len(report.decisions)),
            ("障害・不整合", len(report.incidents))]
    return Section("概要", ("項目", "内容"), tuple(rows))


def _participants_summary(report: AnnualReport) -> Section:
    def row(label: str, found) -> tuple:
        return (label, len(found), sum(1 for p in found if p.months == 12), sum(1 for p in found if p.joined_on),
                sum(1 for p in found if p.left_on))

    rows = [row(label, found) for label, found in _by_kind(report, report.participants, lambda p: p.code)]
    return Section("参加団体（種別ごと）", ("種別", "参加団体", "うち12か月参加", "うち年度中に参加", "うち年度中に脱退"),
                   (*rows, row("合計", report.participants)) if rows else (),
                   note="年度中に1か月以上参加した団体と、年度中に参加・脱退した団体。団体ごとの参加月数・参加日・脱退日は "
                        "xlsx 版の「参加団体」シートにあります。")


def _moves_section(report: AnnualReport) -> Section:
    return Section("年度中の参加・脱退", ("団体コード", "団体名", "種別", "年度中の参加日", "年度中の脱退日"),
                   tuple((p.code, p.name, p.kind, _day(p.joined_on), _day(p.left_on))
                         for p in report.participants if p.joined_on or p.left_on),
                   empty="年度中に参加・脱退した団体はありません。")


def _participants_section(report: AnnualReport) -> Section:
    return Section("参加団体", ("団体コード", "団体名", "種別", "参加月数", "年度中の参加日", "年度中の脱退日", "現在の状態"),
                   tuple((p.code, p.name, p.kind, p.months, _day(p.joined_on), _day(p.left_on), p.status)
                         for p in report.participants))


def _members_section(report: AnnualReport) -> Section:
    return Section("会員の入退会", ("区分", "法人番号", "名称", "日付"),
                   tuple(("入会" if m.joined else "退会", m.corporate_number, m.name, date_ja(m.on))
                         for m in report.member_moves),
                   note=f"会員数（作成時点）: {report.members_now:,}。入会・退会は操作ログの記録（入会承認・退会）から数えています。")


def _datasets_section(report: AnnualReport) -> Section:
    if report.datasets is None:
        raise ValueError("the report was built without its list of datasets (dataset_list=False): the workbook lists them")
    return Section("データセット", ("提供者", "名前", "タイトル", "状態（現在）", "標準データセット", "準拠状況"),
                   report.datasets,  # DatasetLine: the sheet's row
                   note="年度末までに公開されたデータセット。準拠状況は最後の項目定義の確認によります（作成時点）。")


def _datasets_summary(report: AnnualReport) -> Section:
    def row(label: str, count: DatasetCount, standard: bool = True) -> tuple:
        return (label, count.providers, count.datasets,
                *((count.verdicts[verdict] for verdict, _ in VERDICTS) if standard else (None,) * len(VERDICTS)))

    by_standard = report.dataset_counts.by_standard
    rows = [row(kind.title_ja, by_standard[kind.title_ja]) for kind in standards.kinds().values()
            if kind.title_ja in by_standard]
    if "" in by_standard:
        rows.append(row("標準データセット以外", by_standard[""], standard=False))
    return Section("データセット（標準データセット別）",
                   ("標準データセット", "提供団体", "公開データセット", *(label for _, label in VERDICTS)),
                   (*rows, row("合計", report.dataset_counts.total)) if rows else (),
                   note="年度末までに公開されたデータセットを標準データセットの種類ごとに数えています。準拠状況は最後の項目定義の確認"
                        "によります（作成時点）。データセットごとの一覧は xlsx 版の「データセット」シートにあります。")


def _usage_summary(report: AnnualReport) -> Section:
    rows = [(label, len(found), sum(calls for *_, calls in found))
            for label, found in _by_kind(report, report.calls_by_tenant, lambda row: row[0])]
    return Section("利用実績（種別ごと）", ("種別", "団体", "API 呼び出し回数（年間）"),
                   (*rows, ("合計", len(report.calls_by_tenant), sum(calls for *_, calls in report.calls_by_tenant)))
                   if rows else (), note="団体ごとの回数は xlsx 版の「利用実績（団体別）」シートにあります。")


def _usage_top(report: AnnualReport) -> list[Section]:
    """The :data:`TOP` tenants and datasets most used in the year (the PDF's excerpt of the workbook's lists)."""
    tenants = sorted(report.calls_by_tenant, key=lambda row: (-row[2], row[0]))[:TOP]
    return [Section(f"利用実績（上位{TOP}団体）", ("団体コード", "団体名", "API 呼び出し回数（年間）"), tuple(tenants)),
            Section(f"利用実績（上位{TOP}データセット）", ("データセット", "タイトル", "提供者", "API 呼び出し回数（年間）"),
                    report.calls_by_dataset[:TOP],
                    note=f"データセットごとの回数（{len(report.calls_by_dataset):,} 件）は xlsx 版の「利用実績（データセット別）」"
                         "シートにあります。")]


def _usage_sections(report: AnnualReport) -> list[Section]:
    total = sum(calls for *_, calls in report.calls_by_tenant)
    by_tenant = Section("利用実績（団体別）", ("団体コード", "団体名", "API 呼び出し回数（年間）"),
                        (*report.calls_by_tenant, ("合計", "", total)) if report.calls_by_tenant else ())
    dataset_total = sum(calls for *_, calls in report.calls_by_dataset)
    by_dataset = Section("利用実績（データセット別）", ("データセット", "タイトル", "提供者", "API 呼び出し回数（年間）"),
                         (*report.calls_by_dataset, ("合計", "", "", dataset_total)) if report.calls_by_dataset else ())
    return [by_tenant, by_dataset]


def _accounts_section(report: AnnualReport) -> Section:
    header, *rows = year_close.accounts_rows(report.accounts)
    return Section("収支決算", tuple(header), tuple(tuple(row) for row in rows), yen=frozenset({2}),
                   note="支出は費目の区分別（構築費・運用費・一般管理費）。会計帳簿（計上済みの仕訳）から作成。")


def _grants_section(report: AnnualReport) -> Section:
    rows = tuple((grant.name, grant.grantor, grant.rate, "・".join(grants.grant_summary(grant)["categories_ja"]),
                  grant.decided_amount, grant.fixed_amount, share.amount) for grant, share in report.funding.grants)
    if rows:
        rows += (("合計", "", "", "", None, None, report.funding.grant_total),)
    return Section("交付金", ("名称", "交付元", "補助率", "対象経費", "交付決定額（円）", "確定額（円）", "充当額（円）"),
                   rows, yen=frozenset({4, 5, 6}),
                   note=f"事業費 {report.funding.cost_total:,}円、交付金充当額 {report.funding.grant_total:,}円、"
                        f"負担対象額 {report.funding.shared:,}円。")


def _burdens_section(report: AnnualReport) -> Section:
    summary = report.burdens
    rows = tuple((row.tenant_code, row.tenant_name, row.months, row.charged, row.paid, row.balance) for row in summary.rows)
    if rows:
        rows += (("合計", "", None, summary.charged, summary.paid, summary.balance),)
    run = f"按分計算 #{summary.run_id}" if summary.run_id else "計上済みの按分計算なし"
    return Section("負担金（団体別）", ("団体コード", "団体名", "参加月数", "負担金額（円）", "入金額（円）", "未納額（円）"),
                   rows, yen=frozenset({3, 4, 5}), note=f"会計帳簿の負担金（{run}）。{statements.TAX_NOTE}",
                   empty="この年度の負担金はまだ計上されていません。")


def _burdens_summary(report: AnnualReport) -> Section:
    summary = report.burdens

    def row(label: str, found) -> tuple:
        return (label, len(found), sum(r.charged for r in found), sum(r.paid for r in found),
                sum(r.balance for r in found), sum(1 for r in found if r.balance > 0))

    rows = [row(label, found) for label, found in _by_kind(report, summary.rows, lambda r: r.tenant_code)]
    run = f"按分計算 #{summary.run_id}" if summary.run_id else "計上済みの按分計算なし"
    return Section("負担金（種別ごと）", ("種別", "団体", "負担金額（円）", "入金額（円）", "未納額（円）", "未納のある団体"),
                   (*rows, row("合計", summary.rows)) if rows else (), yen=frozenset({2, 3, 4}),
                   note=f"会計帳簿の負担金（{run}）。{statements.TAX_NOTE}団体ごとの額は xlsx 版の「負担金（団体別）」シートにあります。",
                   empty="この年度の負担金はまだ計上されていません。")


def _council_section(report: AnnualReport) -> Section:
    return Section("協議会の議決", ("議決", "議案", "議決日", "結果", "実施"),
                   tuple((d.label_ja, d.title, date_ja(jst_day(d.decided_at)), "可決" if d.adopted else "否決",
                          "実施済み" if d.enacted_ref else "") for d in report.decisions))


def _incidents_section(report: AnnualReport) -> Section:
    return Section("障害・不整合", ("発生日", "内容", "団体", "対応"), report.incidents, note=INCIDENTS_NOTE,
                   empty="この年度に記録された障害・認証サーバーの不整合はありません。")


def sections(report: AnnualReport) -> list[Section]:
    """The workbook's sheets in order: the PDF's sections but its excerpts, each summary beside its full list."""
    return [_summary_section(report), _participants_summary(report), _participants_section(report),
            _members_section(report), _datasets_summary(report), _datasets_section(report), _usage_summary(report),
            *_usage_sections(report), _accounts_section(report), _grants_section(report), _burdens_summary(report),
            _burdens_section(report), _council_section(report), _incidents_section(report)]


def printed_sections(report: AnnualReport) -> list[Section]:
    """The PDF's sections in order: the summaries, the most used, and the year's events up to PRINTED_ROWS each."""
    return [_summary_section(report), _participants_summary(report), _in_print(_moves_section(report), "参加団体"),
            _in_print(_members_section(report), "会員の入退会"), _datasets_summary(report), _usage_summary(report),
            *_usage_top(report), _accounts_section(report), _grants_section(report), _burdens_summary(report),
            _in_print(_council_section(report), "協議会の議決"), _in_print(_incidents_section(report), "障害・不整合")]


# --- the workbook ------------------------------------------------------------------------------------------

def to_xlsx(report: AnnualReport) -> bytes:
    """One sheet per section (:func:`core.report_document.to_xlsx`)."""
    return report_document.to_xlsx(report.title, sections(report), font=statements.SHEET_FONT)


# --- the PDF -----------------------------------------------------------------------------------------------

def to_html(report: AnnualReport) -> str:
    return report_document.to_html(report.title, report.issuer, report.generated_on, printed_sections(report),
                                   fixed_layout=True)


def to_pdf(report: AnnualReport) -> bytes:
    return report_document.to_pdf(to_html(report), "annual report", "年度報告書")


# --- generating a file (audited) ---------------------------------------------------------------------------

def filename(fiscal_year: int, fmt: str) -> tuple[str, str]:
    """(ASCII file name, Japanese file name) of a report file."""
    return f"annual-report-{fiscal_year_en(fiscal_year)}.{fmt}", f"年度報告書_{fiscal_year_ja(fiscal_year)}.{fmt}"


def generate(session: Session, actor: Actor, fiscal_year: int, fmt: Format) -> bytes:
    """The year's report as a file; audited with who, the year, the format and the file's SHA-256."""
    if fmt not in MEDIA_TYPES:
        raise ValueError(f"no annual report format {fmt!r}")
    report = build_annual_report(session, actor, fiscal_year, dataset_list=fmt == "xlsx")
    data = to_pdf(report) if fmt == "pdf" else to_xlsx(report)
    audit.record(session, actor, AUDIT_ACTION, "fiscal_year", str(fiscal_year), after={
        "fiscal_year": fiscal_year, "era": report.era, "format": fmt, "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data), "municipal_burden": report.municipal_burden,
        "expenditure_total": report.accounts.expenditure_total})
    return data
