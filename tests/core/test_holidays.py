"""Japan's public holidays and business days (core.calendar), against the Cabinet Office's published
tables (内閣府「国民の祝日について」) for years with substitutes, citizens' holidays and moved days."""

from __future__ import annotations

import datetime as dt

import pytest

from core.calendar import add_business_days, business_days_between, holiday_name, holidays_of, is_business_day

D = dt.date

PUBLISHED = {
    2019: ["01-01", "01-14", "02-11", "03-21", "04-29", "04-30", "05-01", "05-02", "05-03", "05-04", "05-05", "05-06",
           "07-15", "08-11", "08-12", "09-16", "09-23", "10-14", "10-22", "11-03", "11-04", "11-23"],
    2020: ["01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06", "07-23",
           "07-24", "08-10", "09-21", "09-22", "11-03", "11-23"],
    2021: ["01-01", "01-11", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05", "07-22", "07-23", "08-08",
           "08-09", "09-20", "09-23", "11-03", "11-23"],
    2025: ["01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06", "07-21",
           "08-11", "09-15", "09-23", "10-13", "11-03", "11-23", "11-24"],
    2026: ["01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06", "07-20", "08-11",
           "09-21", "09-22", "09-23", "10-12", "11-03", "11-23"],
}


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_holidays_match_the_published_tables(year):
    assert [f"{day:%m-%d}" for day in holidays_of(year)] == PUBLISHED[year]


def test_substitute_and_citizens_holidays_are_named():
    assert holiday_name(D(2025, 11, 24)) == "振替休日"
    assert holiday_name(D(2026, 9, 22)) == "国民の休日"
    assert holiday_name(D(2025, 11, 25)) is None


def test_business_days_skip_weekends_and_holidays():
    # Friday 2025-11-21; Sat, Sun, then Monday 11-24 the substitute holiday for 勤労感謝の日
    assert add_business_days(D(2025, 11, 21), 1) == D(2025, 11, 25)
    assert add_business_days(D(2025, 11, 21), 3) == D(2025, 11, 27)
    # Golden Week 2026: Thursday 4-30 + 2 business days -> Fri 5-1, then Thu 5-7 (5-2..5-6 all off)
    assert add_business_days(D(2026, 4, 30), 2) == D(2026, 5, 7)
    assert not is_business_day(D(2025, 11, 24)) and is_business_day(D(2025, 11, 25))
    assert business_days_between(D(2025, 11, 21), D(2025, 11, 27)) == 3


def test_the_year_end_closure_and_the_offices_own_days_are_no_business_days():
    # Friday 2025-12-26 + 1: not Monday 12-29 (年末年始, 12/29-1/3, whatever the weekday) but Monday 2026-01-05
    assert add_business_days(D(2025, 12, 26), 1) == D(2026, 1, 5)
    assert [is_business_day(D(2025, 12, day)) for day in (26, 29, 30, 31)] == [True, False, False, False]
    assert not is_business_day(D(2027, 1, 1)) and not is_business_day(D(2027, 1, 3))  # 1/3 a Sunday anyway
    assert not is_business_day(D(2024, 1, 2)) and is_business_day(D(2024, 1, 4))  # Tuesday 1-2, Thursday 1-4
    assert business_days_between(D(2025, 12, 25), D(2026, 1, 6)) == 3  # 12-26, 1-5, 1-6
    # the office's own closed days (an office's anniversary, a move): passed by the caller, skipped as well
    assert add_business_days(D(2025, 11, 25), 1, closed={D(2025, 11, 26)}) == D(2025, 11, 27)
    assert business_days_between(D(2025, 11, 21), D(2025, 11, 27), closed=[D(2025, 11, 26)]) == 2


def test_years_outside_the_known_range_are_refused():
    with pytest.raises(ValueError):
        holidays_of(2100)
