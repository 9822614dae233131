"""Monthly usage reports (月次利用実績報告) per tenant and for the whole platform: CSV, Excel, PNG chart.

Everything here reads monthly aggregates only. A month's figure is the sum for a counter
(``api_calls``) and the peak level for a gauge. Limits shown are those in force when the report
is made (plans and overrides keep no history); the report says so in its notes.

The chart is drawn with matplotlib (Agg backend, no display needed). Tenant names are in
Japanese when a Japanese font is installed (IPAGothic, Noto Sans CJK, ...), otherwise in their
registered English names, so the PNG never shows empty boxes.

Every report asks ``usage.read`` itself: for the tenants asked for, each one; otherwise every
tenant for an all-tenants grant (the platform report), or only the actor's own tenants.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import authz
from core.actor import Actor
from usage.metering import monthly_values
from core.calendar import current_month, fiscal_months, fiscal_year_en, fiscal_year_ja, fiscal_year_of, jst_text, now_jst
from core.charts import japanese_font
from core.spreadsheet import csv_bytes, csv_chunks
from catalogue.models import Dataset
from usage.models import METRICS, Granularity, MetricKind, UsageAggregate, UsageDatasetMonth
from tenancy.registry.models import Tenant
from usage.quotas import EffectiveLimit, effective_limits_of, plans_of, tenant_quota_status

TOTAL_LABEL_JA = "合計（全団体）"


@dataclasses.dataclass(frozen=True)
class TenantMonth:
    code: str
    name_ja: str
    name_en: str
    population: int
    plan: str
    values: dict[str, int]  # metric → the month's figure
    limits: dict[str, EffectiveLimit]

    def percent(self, metric: str) -> int | None:
        limit = self.limits.get(metric)
        if limit is None or limit.limit == 0:
            return None
        return self.values[metric] * 100 // limit.limit


@dataclasses.dataclass(frozen=True)
class UsageReport:
    month: dt.date
    tenants: list[TenantMonth]
    trend_months: list[dt.date]  # the fiscal year's months up to ``month``
    trend: dict[tuple[str, str], list[int]]  # (tenant, metric) → one figure per trend month
    platform: bool  # True: every tenant (the prefecture's report); False: only some tenants
    count: int | None = None  # a page of the report: how many tenants match in all
    grand_totals: dict[str, int] | None = None  # a page of the report: the totals of every readable tenant

    def totals(self) -> dict[str, int]:
        if self.grand_totals is not None:
            return self.grand_totals
        return {metric: sum(t.values[metric] for t in self.tenants) for metric in METRICS}


def _matching(query, tenant_codes: Sequence[str] | None, search: str | None):
    if tenant_codes is not None:
        query = query.where(Tenant.code.in_(list(tenant_codes)))
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(Tenant.code.like(pattern, escape="\\"), Tenant.name_ja.like(pattern, escape="\\"),
                                   Tenant.name_en.ilike(pattern, escape="\\"), Tenant.name_kana.like(pattern, escape="\\")))
    return query


def _tenants(session: Session, tenant_codes: Sequence[str] | None, search: str | None = None,
             offset: int = 0, limit: int | None = None) -> list[Tenant]:
    query = _matching(sa.select(Tenant).options(sa.orm.lazyload(Tenant.contacts)).order_by(Tenant.code),  # contacts unused
                      tenant_codes, search)
    if limit is not None:
        query = query.offset(offset).limit(limit)
    return list(session.scalars(query))


def readable_codes(actor: Actor, tenant_codes: Sequence[str] | None) -> list[str] | None:
    """The tenants whose usage the actor reads: those asked for (``usage.read`` on each), else
    every tenant (None) for an all-tenants grant, or the actor's own tenants."""
    if tenant_codes is not None:
        for code in tenant_codes:
            authz.authorize(actor, "usage.read", code)
        return list(tenant_codes)
    grant = authz.authorize(actor, "usage.read")
    return None if grant.all_tenants else sorted(grant.tenant_codes)


def tenant_usage(session: Session, actor: Actor, tenant_code: str, fiscal_year: int | None = None, *,
                 now: dt.datetime | None = None) -> dict[str, Any]:
    """One tenant's usage now against its limits, and per month of a fiscal year (default: the current one)."""
    authz.authorize(actor, "usage.read", tenant_code)
    status = tenant_quota_status(session, actor, tenant_code, now=now)
    year = fiscal_year or fiscal_year_of(current_month(now))
    months = fiscal_months(year)
    values = monthly_values(session, months, [tenant_code])
    return {
        "tenant": tenant_code, "fiscal_year": year, "now": status,
        "months": [{"month": m.strftime("%Y-%m"), **{metric: values.get((tenant_code, metric, m), 0) for metric in METRICS}}
                   for m in months],
    }


def _figure_column():
    """A monthly aggregate's figure: the peak for a gauge, the total for a counter."""
    table = UsageAggregate.__table__
    gauges = [name for name, spec in METRICS.items() if spec.kind is MetricKind.gauge]
    return sa.case((table.c.metric.in_(gauges), table.c.peak), else_=table.c.total)


def _monthly_figures(session: Session, months: Sequence[dt.date], tenant_codes: Sequence[str] | None,
                     metrics: Sequence[str] | None = None) -> dict[tuple[str, str], list[int]]:
    """(tenant, metric) → its figure for each of ``months`` (0 = no usage), as
    :func:`usage.metering.monthly_values` gives them, but pivoted in SQL: one row per tenant
    and metric instead of one per month (at 1,741 tenants, fetching the rows was most of a report's time)."""
    if not months:
        return {}
    table = UsageAggregate.__table__
    figure = _figure_column()
    # (tenant, metric, granularity, period_start) is unique: max() picks the month's one row
    query = sa.select(table.c.tenant_code, table.c.metric,
                      *[sa.func.max(sa.case((table.c.period_start == m, figure))) for m in months]).where(
        table.c.granularity == Granularity.month.value, table.c.period_start.in_(list(months)),
        table.c.metric.in_(list(metrics if metrics is not None else METRICS)))
    if tenant_codes is not None:
        query = query.where(table.c.tenant_code.in_(list(tenant_codes)))
    query = query.group_by(table.c.tenant_code, table.c.metric)
    return {(row[0], row[1]): [int(value) if value is not None else 0 for value in row[2:]]
            for row in session.execute(query)}


def _metric_totals(session: Session, month: dt.date, tenant_codes: Sequence[str] | None) -> dict[str, int]:
    """metric → the month's figures summed over the tenants (every tenant when None), in SQL."""
    return _metric_totals_by_month(session, [month], tenant_codes)[month]


def _metric_totals_by_month(session: Session, months: Sequence[dt.date], tenant_codes: Sequence[str] | None,
                            metrics: Sequence[str] = tuple(METRICS)) -> dict[dt.date, dict[str, int]]:
    """month → metric → the month's figures summed over the tenants (every tenant when None), in one
    grouped query: the usage page's total row for each month, whichever page shows it (only
    ``metrics`` read: a chart of one metric reads a fifth of the rows)."""
    table = UsageAggregate.__table__
    query = sa.select(table.c.period_start, table.c.metric, sa.func.sum(_figure_column())).where(
        table.c.granularity == Granularity.month.value, table.c.period_start.in_(list(months)),
        table.c.metric.in_(list(metrics)))
    if tenant_codes is not None:
        query = query.where(table.c.tenant_code.in_(list(tenant_codes)))
    found: dict[tuple[dt.date, str], int] = {}
    for start, metric, total in session.execute(query.group_by(table.c.period_start, table.c.metric)):
        start = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start)[:10])
        found[(start, metric)] = int(total or 0)
    return {month: {metric: found.get((month, metric), 0) for metric in metrics} for month in months}


def months_of_year(session: Session, actor: Actor, fiscal_year: int, metric: str,
                   tenant_codes: Sequence[str] | None = None, *, now: dt.datetime | None = None) -> list[tuple[dt.date, int]]:
    """The fiscal year's months up to this one, each with ``metric`` summed over the readable tenants:
    the same figure as the usage page's total row for that month (:func:`build_report`)."""
    tenant_codes = readable_codes(actor, tenant_codes)
    this_month = current_month(now)
    months = [m for m in fiscal_months(fiscal_year) if m <= this_month] or fiscal_months(fiscal_year)[:1]
    totals = _metric_totals_by_month(session, months, tenant_codes, [metric])
    return [(month, totals[month][metric]) for month in months]


def build_report(session: Session, actor: Actor, month: dt.date,
                 tenant_codes: Sequence[str] | None = None, *, search: str | None = None,
                 offset: int = 0, limit: int | None = None, with_trend: bool = True) -> UsageReport:
    """The month's figures per tenant (every tenant the actor may read when ``tenant_codes`` is None),
    and the fiscal-year trend, in a bounded number of queries whatever the number of tenants.

    With ``limit`` (a page of the report): the tenants whose code or name contains ``search``, from
    ``offset``; the report then holds how many match in all and the totals of every readable tenant.
    ``with_trend=False`` (the CSV, which has no trend): ``trend`` is left empty and only the month is read."""
    tenant_codes = readable_codes(actor, tenant_codes)
    month = month.replace(day=1)
    tenants = _tenants(session, tenant_codes, search, offset, limit)
    codes = [t.code for t in tenants]
    trend_months = [m for m in fiscal_months(fiscal_year_of(month)) if m <= month]
    read_months = trend_months if with_trend else [month]
    # every readable tenant (the download): no list of 1,741 codes in the query
    figures = _monthly_figures(session, read_months, codes if limit is not None or tenant_codes is not None else None)
    count = grand_totals = None
    if limit is not None:
        count = session.scalar(_matching(sa.select(sa.func.count()).select_from(Tenant), tenant_codes, search))
        grand_totals = _metric_totals(session, month, tenant_codes)
    plans = plans_of(session, tenants)  # a bounded number of queries whatever the number of tenants
    limits = effective_limits_of(session, tenants, plans=plans)
    none = [0] * len(read_months)
    rows = []
    for tenant in tenants:
        plan = plans[tenant.code]
        rows.append(TenantMonth(
            code=tenant.code, name_ja=tenant.name_ja, name_en=tenant.name_en, population=tenant.population,
            plan=plan.code if plan else "",
            values={metric: figures.get((tenant.code, metric), none)[-1] for metric in METRICS},
            limits=limits[tenant.code],
        ))
    trend = {(code, metric): list(figures.get((code, metric), none)) for code in codes for metric in METRICS} \
        if with_trend else {}
    return UsageReport(month, rows, trend_months, trend, platform=tenant_codes is None, count=count,
                       grand_totals=grand_totals)


# --- usage by dataset --------------------------------------------------------------------------

DATASET_METRIC = "api_calls"  # what usage by dataset counts: calls to the dataset's API (件)
PAGE_TOP_DATASETS = 10  # the page shows the month's top datasets and providers; the downloads all of them


@dataclasses.dataclass(frozen=True)
class DatasetUse:
    name: str  # the catalogue's name (CKAN's package name)
    title_ja: str
    provider_code: str
    provider_name: str
    calls: int


@dataclasses.dataclass(frozen=True)
class ProviderUse:
    code: str
    name_ja: str
    calls: int
    datasets: int  # how many of its datasets were used in the month


@dataclasses.dataclass(frozen=True)
class DatasetUsage:
    """A month's API calls by dataset: the datasets most used (largest first), and per provider."""

    month: dt.date
    top: list[DatasetUse]
    providers: list[ProviderUse]
    total: int  # every call that named a dataset, over the readable providers
    datasets: int  # how many datasets were used in all (``top`` may hold fewer)


def dataset_usage(session: Session, actor: Actor, month: dt.date, tenant_codes: Sequence[str] | None = None, *,
                  top: int | None = None, through: dt.date | None = None) -> DatasetUsage:
    """The month's usage by dataset of the providers the actor may read (``usage.read``, as
    :func:`build_report`: the operator every provider, a municipality its own): the ``top`` datasets
    by calls (every dataset used when None) and the totals by provider, from the month figures
    (``usage_dataset_month``), in a bounded number of queries. With ``through``, the months from
    ``month`` to ``through`` together (a fiscal year: the annual report)."""
    codes = readable_codes(actor, tenant_codes)
    month = month.replace(day=1)
    table = UsageDatasetMonth.__table__
    where = [table.c.period_start == month if through is None
             else table.c.period_start.between(month, through.replace(day=1)), table.c.metric == DATASET_METRIC]
    if codes is not None:
        where.append(table.c.tenant_code.in_(codes))
    calls = sa.func.sum(table.c.total)
    query = (sa.select(table.c.dataset, table.c.tenant_code, calls).where(*where)
             .group_by(table.c.dataset, table.c.tenant_code).order_by(calls.desc(), table.c.dataset))
    rows = session.execute(query.limit(top) if top is not None else query).all()
    providers = session.execute(
        sa.select(table.c.tenant_code, calls, sa.func.count(sa.distinct(table.c.dataset))).where(*where)
        .group_by(table.c.tenant_code).order_by(calls.desc(), table.c.tenant_code)).all()
    names = [row[0] for row in rows]
    titles = dict(session.execute(sa.select(Dataset.name, Dataset.title_ja).where(Dataset.name.in_(names))).all()) \
        if names else {}
    provider_codes = sorted({row[1] for row in rows} | {row[0] for row in providers})
    tenant_names = dict(session.execute(sa.select(Tenant.code, Tenant.name_ja).where(Tenant.code.in_(provider_codes))).all()) \
        if provider_codes else {}
    return DatasetUsage(
        month,
        [DatasetUse(name, titles.get(name, name), code, tenant_names.get(code, code), int(total)) for name, code, total in rows],
        [ProviderUse(code, tenant_names.get(code, code), int(total), int(count)) for code, total, count in providers],
        total=sum(int(row[1]) for row in providers), datasets=sum(int(row[2]) for row in providers))


def _dataset_headers(japanese: bool) -> list[str]:
    if japanese:
        return ["対象月", "順位", "データセット識別名", "データセット名", "提供団体コード", "提供団体名", "API 呼び出し回数（件）"]
    return ["month", "rank", "dataset", "title_ja", "provider_code", "provider_name", "api_calls"]


def _dataset_rows(usage: DatasetUsage) -> Iterator[list[Any]]:
    for rank, use in enumerate(usage.top, start=1):
        yield [usage.month.strftime("%Y-%m"), rank, use.name, use.title_ja, use.provider_code, use.provider_name, use.calls]


def _provider_headers() -> list[str]:
    return ["対象月", "提供団体コード", "提供団体名", "利用されたデータセット数", "API 呼び出し回数（件）"]


def _provider_rows(usage: DatasetUsage) -> Iterator[list[Any]]:
    for provider in usage.providers:
        yield [usage.month.strftime("%Y-%m"), provider.code, provider.name_ja, provider.datasets, provider.calls]


def dataset_csv(usage: DatasetUsage, japanese_headers: bool = True) -> bytes:
    """Usage by dataset as CSV (UTF-8 with BOM, as the report's CSV): one row per dataset used in
    the month, most used first (the totals by provider are the Excel report's sheet)."""
    return csv_bytes([_dataset_headers(japanese_headers), *_dataset_rows(usage)])


# --- CSV ---------------------------------------------------------------------------------------

def _headers(japanese: bool) -> list[str]:
    if japanese:
        head = ["対象月", "団体コード", "団体名", "人口", "プラン"]
        for metric in METRICS.values():
            head += [metric.label_ja, f"{metric.label_ja} 上限", f"{metric.label_ja} 利用率(%)"]
        return head
    head = ["month", "tenant_code", "tenant_name", "population", "plan"]
    for name in METRICS:
        head += [name, f"{name}_limit", f"{name}_percent"]
    return head


def _row(report: UsageReport, tenant: TenantMonth, japanese: bool) -> list[Any]:
    row: list[Any] = [report.month.strftime("%Y-%m"), tenant.code, tenant.name_ja if japanese else (tenant.name_en or tenant.name_ja),
                      tenant.population, tenant.plan]
    for metric in METRICS:
        limit = tenant.limits.get(metric)
        percent = tenant.percent(metric)
        row += [tenant.values[metric], "" if limit is None else limit.limit, "" if percent is None else percent]
    return row


def _total_row(report: UsageReport, japanese: bool) -> list[Any]:
    totals = report.totals()
    row: list[Any] = [report.month.strftime("%Y-%m"), "", TOTAL_LABEL_JA if japanese else "Total (all tenants)",
                      sum(t.population for t in report.tenants), ""]
    for metric in METRICS:
        row += [totals[metric], "", ""]
    return row


def report_csv_chunks(report: UsageReport, japanese_headers: bool = True, rows_per_chunk: int = 200) -> Iterator[bytes]:
    """The CSV in pieces of ``rows_per_chunk`` rows, for a streamed download: UTF-8 with BOM (Excel
    opens it with the right encoding); a total row for the platform report."""
    rows = itertools.chain([_headers(japanese_headers)], (_row(report, tenant, japanese_headers) for tenant in report.tenants),
                           [_total_row(report, japanese_headers)] if report.platform else [])
    return csv_chunks(rows, rows_per_chunk)


def report_csv(report: UsageReport, japanese_headers: bool = True) -> bytes:
    """The whole CSV at once (the API and the command line); see :func:`report_csv_chunks`."""
    return b"".join(report_csv_chunks(report, japanese_headers))


# --- Excel -------------------------------------------------------------------------------------

def report_xlsx(report: UsageReport, datasets: DatasetUsage | None = None) -> bytes:
    """The report as an Excel workbook, each row written straight into the file as XML
    (core.xlsxstream: inline strings, no cell objects): at 1,741 tenants and their 8,705 trend rows
    this is several times faster than openpyxl's write-only mode. With ``datasets``, two more
    sheets: the month's usage by dataset and its totals by provider."""
    from core.xlsxstream import BOLD, HEADER, TITLE, StreamedWorkbook

    out = io.BytesIO()
    book = StreamedWorkbook(out)
    header_row = 4
    widths = {index: 14 if index > 3 else 12 for index in range(1, len(_headers(True)) + 1)}
    widths[3] = 18
    sheet = book.sheet("月次利用実績", freeze=f"D{header_row + 1}", widths=widths)
    scope = "全団体" if report.platform else "、".join(t.name_ja for t in report.tenants)
    era = fiscal_year_ja(fiscal_year_of(report.month))
    sheet.append([f"{report.month.year}年{report.month.month}月（{era}）利用実績報告（{scope}）"], style=TITLE)
    sheet.append([f"作成日時: {jst_text(now_jst())}（日本時間）。"
                  "月は日本時間の暦月。API 呼び出し回数は月間合計、その他は月内の最大値。上限は作成時点の設定。"])
    sheet.append([])
    sheet.append(_headers(True), style=HEADER)
    for tenant in report.tenants:
        sheet.append(_row(report, tenant, True), number_from=4)
    if report.platform:
        sheet.append(_total_row(report, True), style=BOLD, number_from=4)

    trend = book.sheet("月別推移", freeze="D2", widths={2: 16, 3: 28})
    trend.append(["団体コード", "団体名", "指標"] + [f"{m.year}年{m.month}月" for m in report.trend_months], style=BOLD)
    labels = [(metric.name, metric.label_ja) for metric in METRICS.values()]
    for tenant in report.tenants:
        for name, label in labels:
            trend.append([tenant.code, tenant.name_ja, label] + report.trend[(tenant.code, name)], number_from=4)
    if datasets is not None:
        by_dataset = book.sheet("データセット別", freeze="A2", widths={3: 24, 4: 36, 6: 18, 7: 18})
        by_dataset.append(_dataset_headers(True), style=BOLD)
        for row in _dataset_rows(datasets):
            by_dataset.append(row, number_from=7)
        by_provider = book.sheet("提供団体別", freeze="A2", widths={3: 18, 4: 18, 5: 18})
        by_provider.append(_provider_headers(), style=BOLD)
        for row in _provider_rows(datasets):
            by_provider.append(row, number_from=4)
        by_provider.append(["", "", TOTAL_LABEL_JA, datasets.datasets, datasets.total], style=BOLD, number_from=4)
    book.close()
    return out.getvalue()


# --- chart -------------------------------------------------------------------------------------

def warm_up() -> None:
    """Import and set up what the first chart of a process needs (matplotlib with its Agg canvas,
    the Japanese font lookup: about 1 s), ahead of that chart. Safe to call more than once."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401
    from matplotlib.ticker import FuncFormatter  # noqa: F401

    japanese_font()


OTHERS_LABEL_JA, OTHERS_LABEL_EN = "その他", "Others"
CHART_TOP = 10


@dataclasses.dataclass(frozen=True)
class _ShownTenant:
    """A tenant with a line of its own on a chart: what the chart writes of it."""

    code: str
    name_ja: str
    name_en: str | None


@dataclasses.dataclass(frozen=True)
class _ChartLines:
    """What a chart shows: the shown tenants with their monthly figures, and the rest summed. A value (hashable): the
    same lines are drawn once (:func:`_draw_chart`)."""

    months: tuple[dt.date, ...]
    tenants: tuple[_ShownTenant, ...]  # the shown tenants, largest figure first
    values: tuple[tuple[tuple[str, str, dt.date], int], ...]  # ((tenant code, metric, month), figure) of the shown tenants
    others: int  # how many readable tenants are not shown
    others_series: tuple[int, ...] | None  # their figures summed per month (None when every tenant is shown)


def chart_png(session: Session, actor: Actor, fiscal_year: int, metric: str, tenant_codes: Sequence[str] | None = None,
              *, last_month: dt.date | None = None, dpi: int = 100, top: int = CHART_TOP) -> bytes:
    """A line chart of ``metric`` over the fiscal year's months, as PNG bytes: the ``top`` tenants
    with the largest figures over those months, one line each, and the rest summed in one line
    (その他, with how many tenants it holds), so that the chart stays readable at 1,741 tenants.
    The ranking, the top tenants' series and the monthly totals (for その他) are grouped queries of the
    monthly aggregates, so a handful of rows leave the database whatever the number of tenants.
    The first chart of a process also imports matplotlib (about 1 s, once)."""
    tenant_codes = readable_codes(actor, tenant_codes)
    months = fiscal_months(fiscal_year)
    if last_month is not None:
        months = [m for m in months if m <= last_month] or months[:1]
    return _draw_chart(_chart_lines(session, metric, months, tenant_codes, top), fiscal_year, metric, dpi)


def _chart_lines(session: Session, metric: str, months: list[dt.date], tenant_codes: Sequence[str] | None,
                 top: int) -> _ChartLines:
    """The chart's lines from the monthly aggregates: the ``top`` tenants by their figures over
    ``months`` (every readable tenant, used or not, when there are at most ``top + 1``), and the
    others' monthly figures summed (each month's total less the shown tenants')."""
    table = UsageAggregate.__table__
    figure = table.c.peak if METRICS[metric].kind is MetricKind.gauge else table.c.total
    readable = session.scalar(_matching(sa.select(sa.func.count()).select_from(Tenant), tenant_codes, None)) or 0
    # the ranking in SQL: only the top rows leave the database, not a row per tenant and month
    scope = [table.c.granularity == Granularity.month.value, table.c.metric == metric, table.c.period_start.in_(months)]
    if tenant_codes is not None:
        scope.append(table.c.tenant_code.in_(list(tenant_codes)))
    sum_figure = sa.func.sum(figure)
    ordered = [code for code, _total in session.execute(
        sa.select(table.c.tenant_code, sum_figure).where(*scope).group_by(table.c.tenant_code)
        .order_by(sum_figure.desc(), table.c.tenant_code).limit(top + 1))]
    shown_codes = ordered if readable <= top + 1 else ordered[:top]
    if readable <= top + 1 and len(shown_codes) < readable:  # few tenants: every one, used or not
        shown_codes = [t.code for t in _tenants(session, tenant_codes)]
    by_code = {t.code: t for t in _tenants(session, shown_codes)} if shown_codes else {}
    tenants = tuple(_ShownTenant(by_code[code].code, by_code[code].name_ja, by_code[code].name_en)
                    for code in shown_codes if code in by_code)
    shown = set(shown_codes)
    series_of = _monthly_figures(session, months, shown_codes, [metric]) if shown_codes else {}
    values = {(code, metric, month): value for (code, _metric), row in series_of.items() for month, value in zip(months, row)}
    others = readable - len(tenants)
    others_series = None
    if others > 0:  # every tenant's figure per month, less the shown tenants' (shown codes outside the scope add 0)
        month_totals = {month: int(total or 0) for month, total in session.execute(
            sa.select(table.c.period_start, sa.func.sum(figure)).where(*scope).group_by(table.c.period_start))}
        others_series = tuple(month_totals.get(month, 0) - sum(values.get((code, metric, month), 0) for code in shown)
                              for month in months)
    return _ChartLines(tuple(months), tenants, tuple(sorted(values.items())), others, others_series)


def _chart_title(lines: _ChartLines, fiscal_year: int, metric: str, japanese: bool) -> str:
    """The chart's title (and the PNG's): the metric and fiscal year, and that the rest are summed when they are."""
    info = METRICS[metric]
    if japanese:
        title = f"{info.label_ja} 団体別推移（{fiscal_year_ja(fiscal_year)} / {fiscal_year_en(fiscal_year)}）"
        return title + (f"\n上位{len(lines.tenants)}団体とその他" if lines.others_series is not None else "")
    title = f"{info.label_en} per tenant, {fiscal_year_en(fiscal_year)} (April-March, Japan time)"
    return title + (f"\ntop {len(lines.tenants)} tenants and the rest" if lines.others_series is not None else "")


def _plot_lines(axes: Any, lines: _ChartLines, metric: str, japanese: bool, colours: Sequence[Any]) -> None:
    """One line per shown tenant (named in Japanese when a Japanese font is installed), and the others' line."""
    x = list(range(len(lines.months)))
    values = dict(lines.values)
    # 21 tenants outnumber any palette: colour, marker and dash vary together so lines stay apart
    # (also for readers who do not tell colours apart)
    for index, tenant in enumerate(lines.tenants):
        series = [values.get((tenant.code, metric, m), 0) for m in lines.months]
        name = tenant.name_ja if japanese else (tenant.name_en or tenant.name_ja)
        axes.plot(x, series, color=colours[(index * 2) % 20 + (index // 10) % 2], marker="osD^v"[index % 5],
                  linestyle=("-", "--", ":")[(index // 7) % 3], linewidth=1.6, markersize=4,
                  label=f"{name} ({tenant.code})")
    if lines.others_series is not None:
        label = (f"{OTHERS_LABEL_JA}（{lines.others:,}団体の合計）" if japanese
                 else f"{OTHERS_LABEL_EN} ({lines.others:,} tenants summed)")
        axes.plot(x, lines.others_series, color="#555555", linestyle="-.", linewidth=2.2, marker="x", markersize=5,
                  label=label)


@functools.lru_cache(maxsize=32)
def _draw_chart(lines: _ChartLines, fiscal_year: int, metric: str, dpi: int) -> bytes:
    """The PNG of ``lines``: months along, figures up (with thousands separators), the legend beside. Kept for the
    same lines (as core.charts keeps its SVGs): a chart asked again with nothing changed is not drawn again (drawing
    takes about 100 ms); the bytes are a function of the lines (no date is written into the PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    font = japanese_font()
    japanese = font is not None
    figure = Figure(figsize=(10, 5.6), dpi=dpi)
    axes = figure.add_subplot(1, 1, 1)
    _plot_lines(axes, lines, metric, japanese, matplotlib.colormaps["tab20"].colors)
    axes.set_xticks(list(range(len(lines.months))), [f"{m.month}月" if japanese else m.strftime("%b") for m in lines.months])
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.grid(True, alpha=0.3)
    axes.set_ylim(bottom=0)
    title = _chart_title(lines, fiscal_year, metric, japanese)
    axes.set_title(title, fontfamily=font or "DejaVu Sans")
    if lines.tenants or lines.others_series is not None:
        legend = axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                             prop={"family": font or "DejaVu Sans", "size": 8})
        legend.set_title(None)
    for label in axes.get_xticklabels():
        label.set_fontfamily(font or "DejaVu Sans")
    figure.subplots_adjust(left=0.1, right=0.72, top=0.9, bottom=0.1)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Title": title, "Software": "renkei"})
    return out.getvalue()
