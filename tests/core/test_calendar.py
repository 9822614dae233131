"""The calendar: Japan time, the fiscal year (April to March) and era names, with worked values.

Every expected value below is worked out by hand from the calendar, not taken from the code:
Japan is UTC+9 all year, so 1 April 00:00 JST is 31 March 15:00 UTC.
"""

import datetime as dt

import pytest

from core import calendar

UTC = dt.timezone.utc


# --- era names -------------------------------------------------------------------------------------

@pytest.mark.parametrize("fiscal_year,label", [
    (1988, "昭和63年度"),   # the last Showa fiscal year (April 1988 - March 1989)
    (1989, "平成元年度"),   # Heisei began on 8 January 1989
    (1990, "平成2年度"),
    (2010, "平成22年度"),
    (2018, "平成30年度"),
    (2019, "令和元年度"),   # labelled Reiwa although 1 April 2019 was still Heisei 31
    (2020, "令和2年度"),
    (2025, "令和7年度"),
])
def test_a_fiscal_year_is_named_by_its_era_and_the_first_year_is_gannen(fiscal_year, label):
    assert calendar.fiscal_year_ja(fiscal_year) == label


def test_english_readers_see_the_western_year():
    assert calendar.fiscal_year_en(2025) == "FY2025"
    assert calendar.fiscal_year_label(2010, "en") == "FY2010"
    assert calendar.fiscal_year_label(2010, "ja") == "平成22年度"
    assert calendar.fiscal_year_label(2019) == "令和元年度"


@pytest.mark.parametrize("era,year,fiscal_year", [
    ("令和", 7, 2025), ("R", 1, 2019), ("平成", 22, 2010), ("H", 1, 1989), ("平成", 31, 2019), ("昭和", 63, 1988),
])
def test_an_era_year_as_people_write_it_is_a_western_fiscal_year(era, year, fiscal_year):
    assert calendar.fiscal_year_from_era(era, year) == fiscal_year


def test_an_unknown_era_is_refused():
    with pytest.raises(ValueError):
        calendar.fiscal_year_from_era("大正", 1)


# --- the supported years -----------------------------------------------------------------------------

def test_the_supported_years_run_from_heisei_1_to_2100():
    assert (calendar.FIRST_FISCAL_YEAR, calendar.LAST_FISCAL_YEAR) == (1989, 2100)
    assert calendar.is_supported_fiscal_year(1989) and calendar.is_supported_fiscal_year(2100)
    assert not calendar.is_supported_fiscal_year(1988) and not calendar.is_supported_fiscal_year(2101)


# --- fiscal year boundaries ------------------------------------------------------------------------

@pytest.mark.parametrize("moment,fiscal_year", [
    (dt.datetime(2026, 3, 31, 14, 59, 59, tzinfo=UTC), 2025),   # 31 March 23:59:59 JST
    (dt.datetime(2026, 3, 31, 15, 0, 0, tzinfo=UTC), 2026),     # 1 April 00:00 JST
    (dt.datetime(2026, 3, 31, 15, 0, 0), 2026),                 # naive values are UTC, as renkei stores them
    (dt.datetime(2025, 4, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))), 2025),
    (dt.datetime(2019, 3, 31, 14, 59, tzinfo=UTC), 2018),
    (dt.datetime(2019, 3, 31, 15, 0, tzinfo=UTC), 2019),
])
def test_the_fiscal_year_of_an_instant_turns_at_midnight_japan_time_on_1_april(moment, fiscal_year):
    assert calendar.fiscal_year_of(moment) == fiscal_year


@pytest.mark.parametrize("day,fiscal_year", [
    (dt.date(2025, 4, 1), 2025), (dt.date(2026, 3, 31), 2025), (dt.date(2026, 1, 1), 2025), (dt.date(2025, 3, 31), 2024),
])
def test_the_fiscal_year_of_a_day(day, fiscal_year):
    assert calendar.fiscal_year_of(day) == fiscal_year


def test_a_fiscal_year_starts_on_1_april_japan_time():
    assert calendar.fiscal_year_start(2025) == dt.datetime(2025, 3, 31, 15, 0, tzinfo=UTC)


# --- Japan time and days ---------------------------------------------------------------------------

def test_japan_time_is_nine_hours_ahead_of_utc_all_year():
    for month in (1, 7):  # no daylight saving time
        assert calendar.JST.utcoffset(dt.datetime(2025, month, 1)) == dt.timedelta(hours=9)


def test_the_japanese_day_of_an_instant():
    assert calendar.jst_day(dt.datetime(2025, 3, 31, 14, 59, tzinfo=UTC)) == dt.date(2025, 3, 31)
    assert calendar.jst_day(dt.datetime(2025, 3, 31, 15, 0, tzinfo=UTC)) == dt.date(2025, 4, 1)
    assert calendar.today_jst(dt.datetime(2025, 12, 31, 16, 0, tzinfo=UTC)) == dt.date(2026, 1, 1)
    assert calendar.to_jst(dt.datetime(2025, 6, 1, 0, 0)).hour == 9  # naive: UTC


def test_a_japanese_day_begins_at_15_00_utc_the_day_before():
    assert calendar.day_start_utc(dt.date(2025, 4, 1)) == dt.datetime(2025, 3, 31, 15, 0, tzinfo=UTC)


def test_an_instant_as_a_japanese_clock_reads_it():
    assert calendar.jst_text(dt.datetime(2025, 3, 31, 15, 30, tzinfo=UTC)) == "2025/04/01 00:30"


# --- months ----------------------------------------------------------------------------------------

def test_the_months_of_a_fiscal_year_run_april_to_march():
    months = calendar.fiscal_months(2025)
    assert len(months) == 12
    assert months[0] == dt.date(2025, 4, 1) and months[8] == dt.date(2025, 12, 1)
    assert months[9] == dt.date(2026, 1, 1) and months[11] == dt.date(2026, 3, 1)


def test_the_months_of_a_fiscal_year_as_instants_cover_it_without_gaps():
    jst = dt.timezone(dt.timedelta(hours=9))
    spans = calendar.fiscal_month_spans(2025)
    assert spans[0] == (dt.datetime(2025, 4, 1, tzinfo=jst), dt.datetime(2025, 5, 1, tzinfo=jst))
    assert spans[8] == (dt.datetime(2025, 12, 1, tzinfo=jst), dt.datetime(2026, 1, 1, tzinfo=jst))
    assert spans[11] == (dt.datetime(2026, 3, 1, tzinfo=jst), dt.datetime(2026, 4, 1, tzinfo=jst))
    assert all(end == next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))


@pytest.mark.parametrize("month,count,expected", [
    (dt.date(2025, 11, 1), 3, dt.date(2026, 2, 1)),
    (dt.date(2025, 1, 1), -1, dt.date(2024, 12, 1)),
    (dt.date(2025, 4, 1), -12, dt.date(2024, 4, 1)),
    (dt.date(2025, 12, 1), 1, dt.date(2026, 1, 1)),
    (dt.date(2025, 6, 1), 0, dt.date(2025, 6, 1)),
])
def test_adding_months(month, count, expected):
    assert calendar.add_months(month, count) == expected


def test_the_month_of_an_instant_is_its_japanese_month():
    assert calendar.month_of(dt.date(2025, 6, 17)) == dt.date(2025, 6, 1)
    assert calendar.current_month(dt.datetime(2025, 4, 30, 14, 59, tzinfo=UTC)) == dt.date(2025, 4, 1)
    assert calendar.current_month(dt.datetime(2025, 4, 30, 15, 0, tzinfo=UTC)) == dt.date(2025, 5, 1)


def test_a_japanese_month_begins_at_15_00_utc_on_the_last_day_before_it():
    assert calendar.month_start_utc(dt.date(2025, 4, 1)) == dt.datetime(2025, 3, 31, 15, 0, tzinfo=UTC)
    assert calendar.month_start_utc(dt.date(2026, 1, 1)) == dt.datetime(2025, 12, 31, 15, 0, tzinfo=UTC)


def test_fiscal_years_are_read_as_people_write_them():
    from core.calendar import read_fiscal_year

    for text, year in (("FY2025", 2025), ("2025", 2025), ("2025年度", 2025), ("２０２５年度", 2025), ("R7", 2025),
                       ("令和7年度", 2025), ("令和元年度", 2019), ("平成30年度", 2018), ("H30", 2018),
                       ("令和6年度（2024年度）", 2024)):
        assert read_fiscal_year(text) == year, text
    for text in ("", "来年度", "7", "令和", "2025-04"):
        assert read_fiscal_year(text) is None, text


def test_a_date_is_written_in_its_era_as_a_document_writes_it():
    import datetime as dt

    from core.calendar import date_ja

    assert date_ja(dt.date(2025, 8, 1)) == "令和7年8月1日"
    assert date_ja(dt.date(2019, 4, 30)) == "平成31年4月30日"  # the last day of Heisei
    assert date_ja(dt.date(2019, 5, 1)) == "令和元年5月1日"


def test_a_month_is_read_one_way_for_the_api_the_pages_and_the_commands():
    import datetime as dt

    import pytest

    from core.calendar import parse_month
    from core.errors import Invalid

    assert parse_month("2025-06") == dt.date(2025, 6, 1)
    for bad in ("2025-13", "2025/06", "June", "1989-03", "2101-04"):
        with pytest.raises(Invalid) as caught:
            parse_month(bad, field="month")
        assert caught.value.problems[0]["field"] == "month" and bad in caught.value.message_en


def test_the_usage_page_and_the_api_refuse_the_same_months(client, db, as_operator):
    from tests.conftest import sign_in

    sign_in(client, ["platform-operator"])
    for bad in ("2025-13", "1989-03"):
        assert client.get(f"/admin/usage/?month={bad}").status_code == 400
        assert client.get(f"/api/v1/usage/report?month={bad}", headers=as_operator).status_code == 422
    assert client.get("/admin/usage/?month=2025-06").status_code == 200


@pytest.mark.parametrize("text, day", [
    ("2024-04-01", dt.date(2024, 4, 1)), ("2024/4/1", dt.date(2024, 4, 1)), ("2024年4月1日", dt.date(2024, 4, 1)),
    ("２０２４／４／１", dt.date(2024, 4, 1)), ("令和6年4月1日", dt.date(2024, 4, 1)), ("R6.4.1", dt.date(2024, 4, 1)),
    ("令和元年5月1日", dt.date(2019, 5, 1)), ("平成31年4月30日", dt.date(2019, 4, 30)), ("昭和64年1月7日", dt.date(1989, 1, 7)),
])
def test_dates_are_read_as_people_and_excel_write_them(text, day):
    from core.calendar import read_date

    assert read_date(text) == day


@pytest.mark.parametrize("text", ["2024/2/30", "令和元年4月30日", "令和6年13月1日", "昨日", "4/1", ""])
def test_what_is_not_a_day_is_not_read_as_one(text):
    from core.calendar import read_date

    assert read_date(text) is None
