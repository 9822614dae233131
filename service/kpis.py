"""The grant's results report (実績報告, issue 57 item 7): the indicators (成果指標, KPI) the plan declares per fiscal
year, their targets, the actual figures and the sheet handed to the grantor (xlsx and PDF).

The operator sets each year's targets (:func:`set_targets`, audited with before and after); an indicator without
a target that year has none (「未設定」), never a rate of 0 %. The actual figures are **read from the records by the
function each page uses** (:data:`MEASURES`), never counted a second time here:

* 参加市町村数: the municipalities (the prefecture left out) that took part in a month or more of the year, from
  their status history (:func:`billing.annual_report.municipalities_taking_part_count`, the annual report's count);
* データ利用サービス数: the data services (住民の同意でデータを受け取るサービス) registered by the year's end and approved
  now (:func:`residents.consent.operations.services_in_use`; renkei has no other register of services);
* 公開データセット数: the datasets published by the year's end (:func:`catalogue.operations.published_count`, the
  annual report's list counted);
* API 呼び出し回数: the gateway's counted calls of every tenant in the year
  (:func:`usage.metering.usage_grand_total`, the usage page's monthly totals added up);
* コンソーシアム会員数: the members on the year's last day (:func:`secretariat.member_report.members_on`, the member
  report's 会員数);
* 登録住民数: the residents enrolled by the year's end and enrolled now (:func:`residents.figures.enrolled_by`).

A year not begun is not measured (「未計測」); the running year is measured up to now and says so. One list of
sections (:func:`sections`) feeds the workbook and the PDF (:mod:`core.report_document`); each file handed out is
audited with the year, the format and its SHA-256, as the annual report's are.

Who may: the operator, finance and the auditor read (``kpi.read``); the operator sets targets (``kpi.manage``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.annual_report import municipalities_taking_part_count
from billing.documents import issuer_line
from billing.grants import year_grants
from catalogue.operations import published_count
from core import audit, authz, report_document
from core.actor import Actor
from core.calendar import date_ja, fiscal_year_en, fiscal_year_ja, fiscal_year_start, is_supported_fiscal_year, \
    jst_day, today_jst
from core.db import utcnow
from core.errors import Invalid, problem
from core.report_document import Section
from residents.consent.operations import services_in_use
from residents.figures import enrolled_by
from secretariat.member_report import members_on
from service.models import Kpi, KpiTarget
from tenancy.registry.prefecture import consortium_name, get_settings
from usage.metering import usage_grand_total

ACTION, MANAGE = "kpi.read", "kpi.manage"
TARGET_ACTION = "kpi.target"  # the audit record of a change of targets
AUDIT_ACTION = "report.results.generate"
MAX_TARGET = 10**12
Format = Literal["pdf", "xlsx"]
MEDIA_TYPES = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
NOT_SET = ("未設定", "Not set")
NOT_MEASURED = ("未計測", "Not measured")


@dataclasses.dataclass(frozen=True)
class Measure:
    unit: tuple[str, str]
    how_ja: str  # what is counted, as the sheet states it
    count: Callable[[Session, int, dt.datetime], int]  # (session, fiscal year, measured until) -> the figure


def _last_day(until: dt.datetime) -> dt.date:
    return jst_day(until - dt.timedelta(microseconds=1))


MEASURES: dict[Kpi, Measure] = {
    Kpi.municipalities: Measure(("団体", "municipalities"), "年度中に1か月以上参加した市町村（県を除く）。参加団体の状態の履歴から。",
                                lambda s, year, until: municipalities_taking_part_count(s, year)),
    Kpi.services: Measure(("件", "services"), "住民の同意でデータを受け取るデータ利用サービスのうち、年度末までに登録され、"
                                             "現在承認済み（利用可）のもの。",
                          lambda s, year, until: services_in_use(s, until)),
    Kpi.datasets: Measure(("件", "datasets"), "年度末までに公開されたデータセット（現在の状態を問わない）。",
                          lambda s, year, until: published_count(s, until)),
    Kpi.api_calls: Measure(("回", "calls"), "API ゲートウェイが数えた年度中の API 呼び出し回数（全団体の合計）。",
                           lambda s, year, until: usage_grand_total(s, "api_calls", year)),
    Kpi.members: Measure(("者", "members"), "年度末日（年度途中は作成日）に会員であった企業・団体。",
                         lambda s, year, until: members_on(s, _last_day(until))),
    Kpi.residents: Measure(("人", "residents"), "年度末までに登録され、現在も登録中の住民（全市町村の合計）。",
                           lambda s, year, until: enrolled_by(s, until)),
}


# --- targets ---------------------------------------------------------------------------------------------

def targets(session: Session, fiscal_year: int) -> dict[Kpi, int]:
    """The year's targets set so far (an indicator without one is absent)."""
    rows = session.scalars(sa.select(KpiTarget).where(KpiTarget.fiscal_year == fiscal_year))
    return {Kpi(row.kpi): row.target for row in rows}


def _target_problems(fiscal_year: int, changes: Mapping[str, Any]) -> list[dict[str, str]]:
    problems = []
    if not is_supported_fiscal_year(fiscal_year):
        problems.append(problem("fiscal_year", "Choose a fiscal year renkei knows.", "年度を選んでください。"))
    known = {kpi.value for kpi in Kpi}
    for key, value in changes.items():
        if key not in known:
            problems.append(problem(f"targets.{key}", f"No indicator {key!r}.", f"成果指標 {key!r} はありません。"))
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TARGET):
            problems.append(problem(f"targets.{key}", f"A whole number from 1 to {MAX_TARGET:,}, or none.",
                                    f"1〜{MAX_TARGET:,} の整数で入力してください（目標を置かない場合は空欄）。"))
    return problems


def set_targets(session: Session, actor: Actor, fiscal_year: int, changes: Mapping[str, int | None]) -> dict[Kpi, int]:
    """The operator sets the year's targets: each indicator named in ``changes`` gets its number, or none (None:
    未設定); those not named stay as they are. Audited once with the year's targets before and after."""
    authz.authorize(actor, MANAGE)
    problems = _target_problems(fiscal_year, changes)
    if problems:
        raise Invalid("The targets have problems; nothing was saved.", "目標値に誤りがあります。保存していません。",
                      problems=problems)
    rows = {Kpi(row.kpi): row for row in session.scalars(sa.select(KpiTarget).where(KpiTarget.fiscal_year == fiscal_year))}
    before = {kpi.value: row.target for kpi, row in rows.items()}
    for key, value in changes.items():
        kpi, row = Kpi(key), rows.get(Kpi(key))
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(KpiTarget(fiscal_year=fiscal_year, kpi=kpi, target=value, set_by=actor.recorded_name))
        elif row.target != value:
            row.target, row.set_at, row.set_by = value, utcnow(), actor.recorded_name
    session.flush()
    after = {kpi.value: target for kpi, target in targets(session, fiscal_year).items()}
    audit.record(session, actor, TARGET_ACTION, "fiscal_year", str(fiscal_year),
                 before={"fiscal_year": fiscal_year, "targets": before},
                 after={"fiscal_year": fiscal_year, "era": fiscal_year_ja(fiscal_year), "targets": after})
    return targets(session, fiscal_year)


# --- the figures -----------------------------------------------------------------------------------------

def measured_until(fiscal_year: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """The moment the year's figures are counted to: its end, or now in the running year; None before it begins."""
    now = now or utcnow()
    if now < fiscal_year_start(fiscal_year):
        return None
    return min(now, fiscal_year_start(fiscal_year + 1))


@dataclasses.dataclass(frozen=True)
class KpiLine:
    kpi: Kpi
    target: int | None
    actual: int | None  # None: not measured (the year has not begun)

    @property
    def unit(self) -> tuple[str, str]:
        return MEASURES[self.kpi].unit

    @property
    def rate_tenths(self) -> int | None:
        """actual / target in tenths of a percent (rounded down); None without a target or a figure."""
        if self.target is None or self.actual is None:
            return None
        return self.actual * 1000 // self.target

    def rate_label(self) -> tuple[str, str]:
        """「85.0%」, or why there is none: 「未設定」 (no target), 「未計測」 (not measured)."""
        if self.target is None:
            return NOT_SET
        if self.actual is None:
            return NOT_MEASURED
        tenths = self.rate_tenths
        text = f"{tenths // 10:,}.{tenths % 10}%"
        return text, text

    def as_dict(self) -> dict[str, Any]:
        return {"kpi": self.kpi.value, "label_ja": self.kpi.ja, "label_en": self.kpi.en, "unit_ja": self.unit[0],
                "target": self.target, "actual": self.actual, "rate_tenths": self.rate_tenths,
                "rate_ja": self.rate_label()[0], "rate_en": self.rate_label()[1], "how_ja": MEASURES[self.kpi].how_ja}


@dataclasses.dataclass(frozen=True)
class ResultsReport:
    fiscal_year: int
    issuer: str
    lines: tuple[KpiLine, ...]
    until: dt.datetime | None  # counted to (None: the year has not begun)
    grants: tuple[tuple[str, str, str, int, int | None], ...]  # name, grantor, rate, decided, fixed
    generated_on: dt.date

    @property
    def era(self) -> str:
        return fiscal_year_ja(self.fiscal_year)

    @property
    def title(self) -> str:
        return f"{self.era} 連携基盤共同利用事業 実績報告書（成果指標）"

    @property
    def complete(self) -> bool:
        """The year is over: its figures are the year's, not so far."""
        return self.until is not None and self.until >= fiscal_year_start(self.fiscal_year + 1)

    def line(self, kpi: Kpi) -> KpiLine:
        return next(line for line in self.lines if line.kpi == kpi)

    @property
    def counted_to(self) -> str:
        """When the figures were counted to, in words."""
        if self.until is None:
            return "年度開始前（未計測）"
        if self.complete:
            return f"年度末（{date_ja(_last_day(self.until))}）まで"
        return f"{date_ja(_last_day(self.until))}まで（年度途中）"


def _issuer(session: Session) -> str:
    settings = get_settings(session)
    parts = [consortium_name(session)]
    if settings is not None:
        parts.append(issuer_line(settings))
    return "　".join(part for part in parts if part)


def results_report(session: Session, actor: Actor, fiscal_year: int, now: dt.datetime | None = None) -> ResultsReport:
    """The year's indicators, targets and actual figures (``kpi.read``: the operator, finance and the auditor)."""
    authz.authorize(actor, ACTION)
    if not is_supported_fiscal_year(fiscal_year):
        raise Invalid(f"No fiscal year {fiscal_year}.", f"{fiscal_year} 年度は扱えません。",
                      problems=[problem("fiscal_year", "Choose a fiscal year renkei knows.", "年度を選んでください。")])
    until = measured_until(fiscal_year, now)
    set_ = targets(session, fiscal_year)
    lines = tuple(KpiLine(kpi, set_.get(kpi), None if until is None else MEASURES[kpi].count(session, fiscal_year, until))
                  for kpi in Kpi)
    grants = tuple((grant.name, grant.grantor, grant.rate, grant.decided_amount, grant.fixed_amount)
                   for grant in year_grants(session, fiscal_year))
    return ResultsReport(fiscal_year, _issuer(session), lines, until, grants, today_jst())


# --- the sheet, both formats ------------------------------------------------------------------------------

def _figure(value: int | None, missing: tuple[str, str]) -> int | str:
    return missing[0] if value is None else value


def sections(report: ResultsReport) -> list[Section]:
    """The sheet's sections in order: the indicators (実績報告), what each counts (算定方法), the year's grants."""
    rows = tuple((line.kpi.ja, line.unit[0], _figure(line.target, NOT_SET), _figure(line.actual, NOT_MEASURED),
                  line.rate_label()[0]) for line in report.lines)
    kpis = Section("実績報告", ("成果指標", "単位", "目標値", "実績値", "達成率"), rows,
                   note=f"{report.era}（{fiscal_year_en(report.fiscal_year)}）の成果指標。"
                        + ("年度開始前のため実績値は未計測です。" if report.until is None
                           else f"実績値は{report.counted_to}の記録から算定しています。")
                        + "目標値のない指標の達成率は「未設定」です。")
    how = Section("算定方法", ("成果指標", "算定方法"), tuple((kpi.ja, MEASURES[kpi].how_ja) for kpi in Kpi))
    grants = Section("交付金", ("名称", "交付元", "補助率", "交付決定額（円）", "確定額（円）"), report.grants,
                     yen=frozenset({3, 4}), empty="この年度の交付金は登録されていません。")
    return [kpis, how, grants]


def to_xlsx(report: ResultsReport) -> bytes:
    return report_document.to_xlsx(report.title, sections(report))


def to_html(report: ResultsReport) -> str:
    return report_document.to_html(report.title, report.issuer, report.generated_on, sections(report))


def to_pdf(report: ResultsReport) -> bytes:
    return report_document.to_pdf(to_html(report), "results report", "実績報告書")


def filename(fiscal_year: int, fmt: str) -> tuple[str, str]:
    """(ASCII file name, Japanese file name)."""
    return f"results-report-{fiscal_year_en(fiscal_year)}.{fmt}", f"実績報告_{fiscal_year_ja(fiscal_year)}.{fmt}"


def generate(session: Session, actor: Actor, fiscal_year: int, fmt: Format) -> bytes:
    """The year's results report as a file; audited with who, the year, the format, the figures and the SHA-256."""
    if fmt not in MEDIA_TYPES:
        raise ValueError(f"no results report format {fmt!r}")
    report = results_report(session, actor, fiscal_year)
    data = to_pdf(report) if fmt == "pdf" else to_xlsx(report)
    audit.record(session, actor, AUDIT_ACTION, "fiscal_year", str(fiscal_year), after={
        "fiscal_year": fiscal_year, "era": report.era, "format": fmt, "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data), "actual": {line.kpi.value: line.actual for line in report.lines},
        "targets": {line.kpi.value: line.target for line in report.lines}})
    return data
