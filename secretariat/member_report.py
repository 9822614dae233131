"""The member report to the prefecture (会員情報の定期報告, issue 40 item 2) and the year's recruitment target.

A report covers a period: a month (``2026-05``), a quarter of the fiscal year (``2026-Q1`` = April to
June 2026) or a fiscal year (``FY2026``). It counts, from the member register
(:class:`tenancy.members.models.Organisation`):

* the members **at the period's end**: an organisation that joined on or before the last day and had
  not left by then (left after it, or never), by industry (日本標準産業分類 major group), size band and
  municipality (local-government code; a member outside the prefecture by its prefecture);
* the members who **joined** and who **left** in the period (join or leave date within it), named;
* the **recruitment target**'s progress: the members who joined from the start of the fiscal year
  the period ends in up to the period's end, against the year's target
  (:class:`~tenancy.members.models.RecruitmentTarget`, :data:`DEFAULT_RECRUITMENT_TARGET` when unset).

Municipalities (tenants) are not counted: they take part as tenants, not as member organisations.
One list of sections feeds the PDF and the workbook (:mod:`core.report_document`); every file handed
out is audited (``member.report``) with the period, the format and the file's SHA-256.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections import Counter
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, report_document
from core.actor import Actor
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, fiscal_year_ja, fiscal_year_of, today_jst
from core.codes import INDUSTRY_MAJOR_GROUPS
from core.errors import Invalid, problem
from core.report_document import Section
from tenancy.members.models import DEFAULT_RECRUITMENT_TARGET, MemberStatus, Organisation, RecruitmentTarget, SizeBand
from tenancy.registry.prefecture import consortium_name
from secretariat.members_import import Places

ACTION = "member.report"
TARGET_ACTION = "member.target"
Format = Literal["pdf", "xlsx"]
MEDIA_TYPES = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
UNKNOWN = "未登録"


# --- periods -----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Period:
    key: str  # 2026-05, 2026-Q1, FY2026
    start: dt.date
    end: dt.date  # inclusive
    label: str    # 令和8年5月, 令和8年度 第1四半期（4月〜6月）, 令和8年度

    @property
    def fiscal_year(self) -> int:
        return fiscal_year_of(self.end)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^FY(\d{4})$", re.IGNORECASE)
# the periods parse_period reads, years within renkei's calendar (1989–2100), for the API's schema
_YEARS = r"(19(89|9\d)|20\d\d|2100)"
PERIOD_PATTERN = rf"^({_YEARS}-(0[1-9]|1[0-2])|{_YEARS}-[Qq][1-4]|[Ff][Yy]{_YEARS})$"


def _month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _bad_period(text: str) -> Invalid:
    en = f"{text!r} is not a period: give a month (2026-05), a quarter of the fiscal year (2026-Q1) or a fiscal year (FY2026)."
    ja = f"{text!r} は期間ではありません。月（2026-05）、四半期（2026-Q1: 2026年度の4〜6月）、年度（FY2026）で指定してください。"
    return Invalid(en, ja, problems=[problem("period", en, ja)])


def parse_period(text: str) -> Period:
    """The period ``text`` names; :class:`Invalid` for anything else (a year outside renkei's calendar too)."""
    text = (text or "").strip()
    if found := _MONTH.match(text):
        year, month = int(found[1]), int(found[2])
        if not 1 <= month <= 12 or not FIRST_FISCAL_YEAR <= year <= LAST_FISCAL_YEAR:
            raise _bad_period(text)
        start = dt.date(year, month, 1)
        era = fiscal_year_ja(fiscal_year_of(start)).removesuffix("年度")
        return Period(f"{year}-{month:02d}", start, _month_end(year, month), f"{year}年{month}月（{era}年度）")
    if found := _QUARTER.match(text):
        year, quarter = int(found[1]), int(found[2])
        if not FIRST_FISCAL_YEAR <= year <= LAST_FISCAL_YEAR:
            raise _bad_period(text)
        first = 4 + 3 * (quarter - 1)
        start = dt.date(year + (first - 1) // 12, (first - 1) % 12 + 1, 1)
        last = first + 2
        end = _month_end(year + (last - 1) // 12, (last - 1) % 12 + 1)
        return Period(f"{year}-Q{quarter}", start, end,
                      f"{fiscal_year_ja(year)} 第{quarter}四半期（{start.month}月〜{end.month}月）")
    if found := _YEAR.match(text):
        year = int(found[1])
        if not FIRST_FISCAL_YEAR <= year <= LAST_FISCAL_YEAR:
            raise _bad_period(text)
        return Period(f"FY{year}", dt.date(year, 4, 1), dt.date(year + 1, 3, 31), fiscal_year_ja(year))
    raise _bad_period(text)


def current_quarter(today: dt.date | None = None) -> Period:
    today = today or today_jst()
    quarter = ((today.month - 4) % 12) // 3 + 1
    return parse_period(f"{fiscal_year_of(today)}-Q{quarter}")


# --- the target ---------------------------------------------------------------------------------------

def recruitment_target(session: Session, fiscal_year: int) -> int:
    saved = session.get(RecruitmentTarget, fiscal_year)
    return saved.target if saved is not None else DEFAULT_RECRUITMENT_TARGET


def set_recruitment_target(session: Session, actor: Actor, fiscal_year: int, target: int) -> RecruitmentTarget:
    """The secretariat sets the year's target (new members to recruit); audited with before and after."""
    authz.authorize(actor, TARGET_ACTION)
    if not FIRST_FISCAL_YEAR <= fiscal_year <= LAST_FISCAL_YEAR or not 1 <= target <= 100_000:
        raise Invalid("The target must be a whole number from 1 to 100,000 for a fiscal year renkei knows.",
                      "目標は 1〜100,000 の整数で指定してください。",
                      problems=[problem("target", "From 1 to 100,000.", "1〜100,000 の整数で指定してください。")])
    saved = session.get(RecruitmentTarget, fiscal_year)
    before = saved.target if saved is not None else DEFAULT_RECRUITMENT_TARGET
    if saved is None:
        saved = RecruitmentTarget(fiscal_year=fiscal_year, target=target)
        session.add(saved)
    saved.target, saved.set_by = target, actor.recorded_name
    session.flush()
    audit.record(session, actor, TARGET_ACTION, "fiscal_year", str(fiscal_year),
                 before={"target": before}, after={"target": target})
    return saved


# --- the report ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Mover:
    corporate_number: str
    name: str
    day: dt.date
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Progress:
    fiscal_year: int
    target: int
    joined: int  # from the fiscal year's first day to the period's end

    @property
    def percent(self) -> int:
        return min(100, self.joined * 100 // self.target) if self.target else 100

    @property
    def remaining(self) -> int:
        return max(0, self.target - self.joined)


@dataclasses.dataclass(frozen=True)
class MemberReport:
    period: Period
    title: str
    issuer: str
    generated_on: dt.date
    members: int                               # at the period's end
    by_industry: dict[str, int]                # letter ("" unknown) -> members
    by_size: dict[str, int]                    # SizeBand value ("" unknown) -> members
    by_location: dict[str, int]                # municipality code, or a prefecture's name, or "" -> members
    location_names: dict[str, str]
    joined: list[Mover]
    left: list[Mover]
    progress: Progress


def _is_member_on(org: Organisation, day: dt.date) -> bool:
    return org.joined_on is not None and org.joined_on <= day and (org.left_on is None or org.left_on > day)


def _location(org: Organisation, home: str) -> str:
    if org.prefecture and org.prefecture != home:
        return org.prefecture
    return org.municipality_code


def _register(session: Session) -> list[Organisation]:
    """Every organisation that is or was a member (approved or withdrawn, with a join date)."""
    return list(session.scalars(sa.select(Organisation).where(
        Organisation.status.in_((MemberStatus.approved, MemberStatus.withdrawn)), Organisation.joined_on.is_not(None))))


def current_members(register: list[Organisation], day: dt.date) -> list[Organisation]:
    """The organisations of ``register`` that were members on ``day`` (joined by it, not left by it)."""
    return [org for org in register if _is_member_on(org, day)]


def members_on(session: Session, day: dt.date) -> int:
    """The consortium's members on ``day``: the member report's 会員数 at its period's end, and the results
    report's (service.kpis) at the year's end."""
    return len(current_members(_register(session), day))


def progress_of(session: Session, fiscal_year: int, until: dt.date, register: list[Organisation] | None = None) -> Progress:
    start = dt.date(fiscal_year, 4, 1)
    orgs = _register(session) if register is None else register
    joined = sum(1 for org in orgs if start <= org.joined_on <= until)
    return Progress(fiscal_year, recruitment_target(session, fiscal_year), joined)


def build_report(session: Session, actor: Actor, period: Period) -> MemberReport:
    authz.authorize(actor, ACTION)
    register = _register(session)
    places = Places(session)
    current = current_members(register, period.end)
    by_location = Counter(_location(org, places.home) for org in current)
    names = {key: (places.name_of(key) or key) if key else UNKNOWN for key in by_location}
    joined = sorted((Mover(org.corporate_number, org.name, org.joined_on) for org in register
                     if period.start <= org.joined_on <= period.end), key=lambda m: (m.day, m.corporate_number))
    left = sorted((Mover(org.corporate_number, org.name, org.left_on, org.leave_reason) for org in register
                   if org.left_on is not None and period.start <= org.left_on <= period.end),
                  key=lambda m: (m.day, m.corporate_number))
    return MemberReport(
        period=period, title=f"会員状況報告書（{period.label}）", issuer=consortium_name(session) or "事務局",
        generated_on=today_jst(), members=len(current),
        by_industry=dict(Counter(org.industry for org in current)), by_size=dict(Counter(org.size_band for org in current)),
        by_location=dict(by_location), location_names=names, joined=joined, left=left,
        progress=progress_of(session, period.fiscal_year, min(period.end, dt.date(period.fiscal_year + 1, 3, 31)), register))


# --- the sections, shared by both formats ------------------------------------------------------------

def _counted(counts: dict[str, int], order: list[tuple[str, str]]) -> tuple[tuple[str, str, int], ...]:
    """Rows (code, name, members) in ``order``, the unknown last; categories with no member left out."""
    rows = [(code, name, counts[code]) for code, name in order if counts.get(code)]
    if counts.get(""):
        rows.append(("", UNKNOWN, counts[""]))
    return tuple(rows)


def _size_word(band: SizeBand) -> str:
    """The size band in a word (小規模事業者, 中小企業, 大企業, 対象外): its label without the line drawn in brackets."""
    return SizeBand(band).ja.split("（")[0]


def sections(report: MemberReport) -> list[Section]:
    period, progress = report.period, report.progress
    summary = (("期間", f"{period.label}（{period.start.isoformat()}〜{period.end.isoformat()}）"),
               ("期末の会員数", f"{report.members:,}"),
               ("期間中の入会", f"{len(report.joined):,}"), ("期間中の退会", f"{len(report.left):,}"),
               (f"{fiscal_year_ja(progress.fiscal_year)}の新規会員募集目標", f"{progress.target:,}"),
               ("年度当初から期末までの入会", f"{progress.joined:,}（達成率 {progress.percent}%、残り {progress.remaining:,}）"))
    industries = [(letter, f"{letter} {ja}") for letter, (ja, _en) in INDUSTRY_MAJOR_GROUPS.items()]
    sizes = [(_size_word(band), band.ja) for band in SizeBand]
    locations = sorted(((code, report.location_names[code]) for code in report.by_location if code),
                       key=lambda item: (not item[0].isdigit(), item[0]))
    return [
        Section("概要", ("項目", "内容"), summary),
        Section("業種別", ("大分類", "業種（日本標準産業分類）", "会員数"), _counted(report.by_industry, industries),
                note="期末時点の会員。"),
        Section("規模別", ("区分", "規模", "会員数"),
                _counted({_size_word(SizeBand(code)) if code else "": count for code, count in report.by_size.items()},
                         sizes), note="期末時点の会員。"),
        Section("所在地別", ("団体コード・都道府県", "市区町村", "会員数"), _counted(report.by_location, locations),
                note="期末時点の会員。県外の会員は都道府県ごとに数えています。"),
        Section("入会", ("法人番号", "名称", "入会日"), tuple((m.corporate_number, m.name, m.day.isoformat()) for m in report.joined)),
        Section("退会", ("法人番号", "名称", "退会日", "理由"),
                tuple((m.corporate_number, m.name, m.day.isoformat(), m.reason) for m in report.left)),
    ]


def to_xlsx(report: MemberReport) -> bytes:
    return report_document.to_xlsx(report.title, sections(report))


def to_pdf(report: MemberReport) -> bytes:
    return report_document.to_pdf(report_document.to_html(report.title, report.issuer, report.generated_on, sections(report)),
                                  "member report", "会員状況報告書")


def filename(period: Period, fmt: str) -> tuple[str, str]:
    return f"member-report-{period.key}.{fmt}", f"会員状況報告書_{period.key}.{fmt}"


def generate(session: Session, actor: Actor, period: Period, fmt: Format) -> bytes:
    """The report as a file; audited with the period, the format and the file's SHA-256."""
    if fmt not in MEDIA_TYPES:
        raise ValueError(f"no member report format {fmt!r}")
    report = build_report(session, actor, period)
    data = to_pdf(report) if fmt == "pdf" else to_xlsx(report)
    audit.record(session, actor, ACTION, "period", period.key, after={
        "period": period.key, "format": fmt, "member_count": report.members, "joined": len(report.joined),
        "left": len(report.left), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    return data
