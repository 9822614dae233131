"""Japan time and the Japanese fiscal calendar: the one home of every date rule renkei shares.

* **Japan time** (:data:`JST`): a fixed +09:00 (Japan has no daylight saving time). Moments are
  stored in UTC; days and months are Japan-time calendar periods, because people, reports and
  limits read Japanese days and months. A naive datetime is read as UTC (renkei stores UTC).
* **Fiscal year** (年度): 1 April to 31 March, named by the year it begins in: 2025-04-01 00:00 JST
  .. 2026-03-31 23:59 JST is FY2025. Months are handled as the ``date`` of their first day.
* **Supported years**: :data:`FIRST_FISCAL_YEAR` .. :data:`LAST_FISCAL_YEAR` inclusive, the one
  range every form, API field and file check accepts. Registry dates reach back into Heisei, so
  the range opens with 平成元年度 (FY1989).
* **Era names** (和暦): a fiscal year takes the era of the calendar year it begins in, a calendar
  year taking the era that began in it, and an era's first year is 元年. So FY1989 is 平成元年度
  and FY2019 is 令和元年度 (as the government labels it, although 1 April 2019 was still
  Heisei 31); FY2010 is 平成22年度 and FY2025 令和7年度. Showa is known so that no older date
  is ever labelled with a wrong era.

This module imports nothing from renkei: every package may use it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
import unicodedata

JST = dt.timezone(dt.timedelta(hours=9), "JST")
JST_ZONE_NAME = "Asia/Tokyo"  # the same clock by its tz database name (Babel, the browser)
UTC = dt.timezone.utc

FIRST_FISCAL_YEAR = 1989  # 平成元年度
LAST_FISCAL_YEAR = 2100

FISCAL_YEAR_FIRST_MONTH = 4  # April

# (name, first western year, initial), newest first; the eras a registry date can fall in
ERAS: tuple[tuple[str, int, str], ...] = (
    ("令和", 2019, "R"),
    ("平成", 1989, "H"),
    ("昭和", 1926, "S"),
)


# --- Japan time ----------------------------------------------------------------------------------

def utc_aware(moment: dt.datetime) -> dt.datetime:
    """``moment`` with a zone: a naive value is read as UTC (how renkei stores moments)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def to_jst(moment: dt.datetime) -> dt.datetime:
    """The same instant on Japan's clock."""
    return utc_aware(moment).astimezone(JST)


def now_jst() -> dt.datetime:
    return dt.datetime.now(JST)


def jst_day(moment: dt.datetime) -> dt.date:
    """The Japanese calendar day of an instant (:func:`to_jst`'s day, written out: the ingest asks it
    of every event)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(JST).date()


def today_jst(now: dt.datetime | None = None) -> dt.date:
    """Today in Japan (of ``now`` when given)."""
    return jst_day(now) if now is not None else now_jst().date()


def day_start_utc(day: dt.date) -> dt.datetime:
    """The instant a Japanese calendar day begins (00:00 JST), in UTC."""
    return dt.datetime.combine(day, dt.time(), JST).astimezone(UTC)


# How the office writes days and moments (Japan time), one function per kind: every page, document,
# export and command line writes them through these (tests/core/test_one_home.py refuses a second
# formatter). Machine formats (ISO 8601 in APIs and hashes, ``%Y-%m`` month keys, file names, a form's
# ``datetime-local`` value) are not the office's words and stay where they are read.
DAY_FORMAT = "%Y/%m/%d"
MINUTE_FORMAT = f"{DAY_FORMAT} %H:%M"
SECOND_FORMAT = f"{MINUTE_FORMAT}:%S"


def day_text(day: dt.date | dt.datetime) -> str:
    """``2025/04/01``: a calendar day (an instant: its Japan-time day)."""
    if isinstance(day, dt.datetime):
        day = to_jst(day)
    return f"{day:{DAY_FORMAT}}"


def jst_text(moment: dt.datetime) -> str:
    """``2025/04/01 09:30``: an instant as a Japanese clock reads it."""
    return f"{to_jst(moment):{MINUTE_FORMAT}}"


def jst_seconds_text(moment: dt.datetime) -> str:
    """``2025/04/01 09:30:05``: an instant to the second, as evidence records it (the audit log, consent records)."""
    return f"{to_jst(moment):{SECOND_FORMAT}}"


def jst_text_ja(moment: dt.datetime) -> str:
    """``令和7年4月1日 09:30``: an instant as an official letter writes it (the era date, the Japan-time clock)."""
    local = to_jst(moment)
    return f"{date_ja(local.date())} {local:%H:%M}"


# --- months --------------------------------------------------------------------------------------

def month_of(day: dt.date) -> dt.date:
    """The month (its first day) a day falls in."""
    return day.replace(day=1)


def current_month(now: dt.datetime | None = None) -> dt.date:
    """The Japan-time month of ``now`` (default: this moment)."""
    return month_of(today_jst(now))


def add_months(month: dt.date, count: int) -> dt.date:
    """The month ``count`` months after (before, when negative) ``month``."""
    index = month.year * 12 + (month.month - 1) + count
    return dt.date(index // 12, index % 12 + 1, 1)


def month_start(month: dt.date) -> dt.datetime:
    """The instant a Japan-time month begins (the 1st, 00:00 JST), aware in JST."""
    return dt.datetime(month.year, month.month, 1, tzinfo=JST)


def month_start_utc(month: dt.date) -> dt.datetime:
    """The instant a Japan-time month begins, in UTC."""
    return month_start(month).astimezone(UTC)


# --- fiscal year ---------------------------------------------------------------------------------

def fiscal_year_of(value: dt.date | dt.datetime) -> int:
    """The fiscal year of a day, a month, or an instant (read in Japan time)."""
    day = jst_day(value) if isinstance(value, dt.datetime) else value
    return day.year if day.month >= FISCAL_YEAR_FIRST_MONTH else day.year - 1


def fiscal_year_start(fiscal_year: int) -> dt.datetime:
    """1 April 00:00 JST of ``fiscal_year``."""
    return month_start(dt.date(fiscal_year, FISCAL_YEAR_FIRST_MONTH, 1))


def fiscal_months(fiscal_year: int) -> list[dt.date]:
    """The twelve months of a fiscal year, April to March, each as the date of its first day."""
    first = dt.date(fiscal_year, FISCAL_YEAR_FIRST_MONTH, 1)
    return [add_months(first, i) for i in range(12)]


def fiscal_month_spans(fiscal_year: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """The twelve months of a fiscal year as [start, end) instants, aware in JST."""
    return [(month_start(month), month_start(add_months(month, 1))) for month in fiscal_months(fiscal_year)]


def is_supported_fiscal_year(fiscal_year: int) -> bool:
    """Whether ``fiscal_year`` lies in the range every form, API and file accepts."""
    return FIRST_FISCAL_YEAR <= fiscal_year <= LAST_FISCAL_YEAR


# --- era names -----------------------------------------------------------------------------------


def parse_month(text: str | None, field: str = "month") -> dt.date:
    """A month written ``YYYY-MM`` (Japan time), the current month when ``text`` is empty; ``Invalid``
    naming ``field`` when it is not such a month or lies outside the supported fiscal years. The one
    reading of a month for the API, the pages and the commands."""
    from core.errors import Invalid, problem

    if not text:
        return current_month()
    try:
        value = dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise Invalid(f"{field} must be YYYY-MM, not {text!r}.", f"{field} は YYYY-MM 形式で指定してください（{text!r}）。",
                      problems=[problem(field, "use YYYY-MM, e.g. 2025-06", "YYYY-MM 形式（例: 2025-06）")]) from None
    if not is_supported_fiscal_year(fiscal_year_of(value)):
        first, last = FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
        raise Invalid(f"{field} {text!r} is outside FY{first}-FY{last} ({first}-04 to {last + 1}-03).",
                      f"{field} は {first}年4月から{last + 1}年3月までの月を指定してください（{text!r}）。",
                      problems=[problem(field, f"a month from {first}-04 to {last + 1}-03",
                                        f"{first}年4月から{last + 1}年3月までの月")])
    return value

def era_of(fiscal_year: int) -> tuple[str, int]:
    """(era name, year of the era) of a fiscal year: FY2025 -> ("令和", 7), FY2019 -> ("令和", 1)."""
    for name, first, _ in ERAS:
        if fiscal_year >= first:
            return name, fiscal_year - first + 1
    raise ValueError(f"FY{fiscal_year} is before the eras renkei knows (from {ERAS[-1][1]})")


def fiscal_year_ja(fiscal_year: int) -> str:
    """``令和7年度``; the first year of an era is 元年 (``令和元年度``).

    A year before Showa (never a registry date) is written in the western form, ``1900年度``,
    so that a stray old date on a page is shown rather than refused.
    """
    if fiscal_year < ERAS[-1][1]:
        return f"{fiscal_year}年度"
    name, year = era_of(fiscal_year)
    return f"{name}{'元' if year == 1 else year}年度"


# The first day of each era (a calendar date's era: 2019-04-30 is 平成31年, 2019-05-01 令和元年).
ERA_FIRST_DAYS: tuple[tuple[str, dt.date], ...] = (
    ("令和", dt.date(2019, 5, 1)),
    ("平成", dt.date(1989, 1, 8)),
    ("昭和", dt.date(1926, 12, 25)),
)


def date_ja(day: dt.date) -> str:
    """A calendar date as an official document writes it: ``令和7年8月1日`` (``令和元年5月1日``)."""
    for name, first in ERA_FIRST_DAYS:
        if day >= first:
            year = day.year - first.year + 1
            return f"{name}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"


_ERA_DATE = re.compile(r"(令和|平成|昭和|R|H|S)\s*(\d{1,2}|元)\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?")


def read_era_date(text: str) -> dt.date | None:
    """A calendar date written in an era, as people write it (``令和6年4月1日``, ``R6.4.1``, ``令和元年5月1日``,
    full-width digits too), or None when ``text`` is not one or names no real day of that era."""
    match = _ERA_DATE.fullmatch(unicodedata.normalize("NFKC", str(text)).strip().upper())
    if match is None:
        return None
    era, year_text, month, day = match.groups()
    year = 1 if year_text == "元" else int(year_text)
    initials = {initial: name for name, _, initial in ERAS}
    first = dict(ERA_FIRST_DAYS)[initials.get(era, era)]
    try:
        value = dt.date(first.year + year - 1, int(month), int(day))
    except ValueError:
        return None
    return value if value >= first else None


_WESTERN_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def read_date(text: str) -> dt.date | None:
    """A calendar date as people and Excel write it, or None: ``2024-04-01``, ``2024/4/1`` (Excel's own
    form), ``2024年4月1日``, and an era date (:func:`read_era_date`); full-width digits too."""
    value = unicodedata.normalize("NFKC", str(text)).strip()
    match = _WESTERN_DATE.fullmatch(value)
    if match is None:
        return read_era_date(value)
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def fiscal_year_en(fiscal_year: int) -> str:
    """``FY2025``."""
    return f"FY{fiscal_year}"


def fiscal_year_label(fiscal_year: int, locale: str = "ja") -> str:
    """The fiscal year as a reader of ``locale`` writes it: ``令和7年度`` in Japanese, ``FY2025`` otherwise."""
    return fiscal_year_ja(fiscal_year) if locale == "ja" else fiscal_year_en(fiscal_year)


_ERA_NAMES = "|".join(part for name, _, initial in ERAS for part in (name, initial))


def read_fiscal_year(text: str) -> int | None:
    """A fiscal year as people write it, or None: ``FY2025``, ``2025``, ``2025年度``, ``R7``, ``令和7年度``,
    ``令和元年度``, and an export's ``令和7年度（2025年度）``; full-width digits too. The range is the caller's."""
    value = unicodedata.normalize("NFKC", str(text)).strip().upper()
    if m := re.fullmatch(rf"(?:{_ERA_NAMES})(?:\d{{1,2}}|元)年度\((\d{{4}})年度\)", value):
        return int(m.group(1))
    if m := re.fullmatch(r"(?:FY)?(\d{4})(?:年度)?", value):
        return int(m.group(1))
    if m := re.fullmatch(rf"({_ERA_NAMES})(\d{{1,2}}|元)(?:年度)?", value):
        return fiscal_year_from_era(m.group(1), 1 if m.group(2) == "元" else int(m.group(2)))
    return None


def fiscal_year_from_era(era: str, year: int) -> int:
    """The western fiscal year of an era year: ("令和", 7) or ("R", 7) -> 2025."""
    for name, first, initial in ERAS:
        if era in (name, initial, initial.lower()):
            return first + year - 1
    raise ValueError(f"unknown era {era!r}")


# --- Japanese public holidays and business days --------------------------------------------------
# 国民の祝日に関する法律 as amended, from 1989 (the first supported fiscal year): the fixed days,
# the Happy Monday days (from 2000 and 2003), the equinoxes by the astronomical formula the Cabinet
# Office's announcements follow (valid 1980-2099), the one-off days (the 2019 accession, the 2020
# and 2021 Olympic moves), 振替休日 (a holiday on a Sunday moves to the next day that is no
# holiday; before 2007 only to the Monday) and 国民の休日 (a weekday between two holidays).

LAST_HOLIDAY_YEAR = 2099  # the equinox formula's range

_MOVED_OLYMPIC = {  # year -> (海の日, スポーツの日, 山の日)
    2020: (dt.date(2020, 7, 23), dt.date(2020, 7, 24), dt.date(2020, 8, 10)),
    2021: (dt.date(2021, 7, 22), dt.date(2021, 7, 23), dt.date(2021, 8, 8)),
}
_ONE_OFF = {
    dt.date(1989, 2, 24): "大喪の礼",
    dt.date(1990, 11, 12): "即位礼正殿の儀",
    dt.date(1993, 6, 9): "結婚の儀",
    dt.date(2019, 5, 1): "天皇の即位の日",
    dt.date(2019, 10, 22): "即位礼正殿の儀",
}


def _nth_monday(year: int, month: int, nth: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(7 - first.weekday()) % 7 + 7 * (nth - 1))


def _equinoxes(year: int) -> tuple[dt.date, dt.date]:
    shift = 0.242194 * (year - 1980) - (year - 1980) // 4
    return dt.date(year, 3, int(20.8431 + shift)), dt.date(year, 9, int(23.2488 + shift))


def _named_holidays(year: int) -> dict[dt.date, str]:
    """The year's holidays named by the law (before substitutes and citizens' holidays)."""
    spring, autumn = _equinoxes(year)
    days = {dt.date(year, 1, 1): "元日", dt.date(year, 2, 11): "建国記念の日", spring: "春分の日", autumn: "秋分の日",
            dt.date(year, 5, 3): "憲法記念日", dt.date(year, 5, 5): "こどもの日", dt.date(year, 11, 3): "文化の日",
            dt.date(year, 11, 23): "勤労感謝の日"}
    days[_nth_monday(year, 1, 2) if year >= 2000 else dt.date(year, 1, 15)] = "成人の日"
    if year >= 2020:
        days[dt.date(year, 2, 23)] = "天皇誕生日"
    elif year <= 2018:
        days[dt.date(year, 12, 23)] = "天皇誕生日"
    days[dt.date(year, 4, 29)] = "昭和の日" if year >= 2007 else "みどりの日"
    if year >= 2007:
        days[dt.date(year, 5, 4)] = "みどりの日"
    sea, sports, mountain = _MOVED_OLYMPIC.get(year, (
        _nth_monday(year, 7, 3) if year >= 2003 else dt.date(year, 7, 20),
        _nth_monday(year, 10, 2) if year >= 2000 else dt.date(year, 10, 10),
        dt.date(year, 8, 11)))
    if year >= 1996:
        days[sea] = "海の日"
    if year >= 2016:
        days[mountain] = "山の日"
    days[sports] = "スポーツの日" if year >= 2020 else "体育の日"
    days[_nth_monday(year, 9, 3) if year >= 2003 else dt.date(year, 9, 15)] = "敬老の日"
    days.update({day: name for day, name in _ONE_OFF.items() if day.year == year})
    return days


def _holidays_of(year: int) -> dict[dt.date, str]:
    days = _named_holidays(year)
    for day in sorted(days):
        if day.weekday() == 6:  # 振替休日
            substitute = day + dt.timedelta(days=1)
            while year >= 2007 and substitute in days:
                substitute += dt.timedelta(days=1)
            if substitute not in days:
                days[substitute] = "振替休日"
    for day in sorted(days):  # 国民の休日: a day between two holidays that is none itself
        between = day + dt.timedelta(days=1)
        if between not in days and between + dt.timedelta(days=1) in days and between.weekday() != 6:
            days[between] = "国民の休日"
    return dict(sorted(days.items()))


_HOLIDAY_CACHE: dict[int, dict[dt.date, str]] = {}


def holidays_of(year: int) -> dict[dt.date, str]:
    """Japan's public holidays of a calendar year, day -> name (振替休日 and 国民の休日 included)."""
    if not 1989 <= year <= LAST_HOLIDAY_YEAR:
        raise ValueError(f"public holidays are known for 1989-{LAST_HOLIDAY_YEAR}, not {year}")
    if year not in _HOLIDAY_CACHE:
        _HOLIDAY_CACHE[year] = _holidays_of(year)
    return _HOLIDAY_CACHE[year]


def holiday_name(day: dt.date) -> str | None:
    """The public holiday ``day`` is (its name), or None."""
    return holidays_of(day.year).get(day)


def is_year_end_closure(day: dt.date) -> bool:
    """12/29 to 1/3: the offices' year-end closure (年末年始; 行政機関の休日に関する法律 art. 1, and each
    prefecture's ordinance on its own days off), whatever the weekday."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def is_business_day(day: dt.date, closed: Collection[dt.date] = ()) -> bool:
    """A day the office is open: a weekday that is no public holiday, not in the year-end closure (12/29-1/3)
    and not one of the office's own ``closed`` days. Every due date that counts business days counts these."""
    return (day.weekday() < 5 and holiday_name(day) is None and not is_year_end_closure(day)
            and day not in closed)


def add_business_days(day: dt.date, count: int, closed: Collection[dt.date] = ()) -> dt.date:
    """The ``count``-th business day after ``day`` (``day`` itself never counts; 0 is ``day``)."""
    if count < 0:
        raise ValueError("count must not be negative")
    while count:
        day += dt.timedelta(days=1)
        count -= is_business_day(day, closed)
    return day


def business_days_between(start: dt.date, end: dt.date, closed: Collection[dt.date] = ()) -> int:
    """How many business days lie after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_business_day(day, closed)
    return count
