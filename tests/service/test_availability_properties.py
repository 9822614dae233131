"""The month's availability from recorded intervals, with maintenance excluded, against an independent
count minute by minute (issue 39 Done-when 1): up minutes over the minutes measured up or down, time
not measured counted neither way (issue 55 item 3)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from service.availability import availability, percent_text

START = dt.datetime(2026, 10, 31, 15, tzinfo=dt.timezone.utc)  # 2026-11-01 00:00 JST
MINUTES = 30 * 24 * 60  # November
PERIOD = (START, START + dt.timedelta(minutes=MINUTES))


def at(minute: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minute)


@st.composite
def timelines(draw):
    """States one after another (up, down or unmeasured), some starting before or running past the
    month, as a monitor records them; and up to three maintenance windows, possibly overlapping."""
    cuts = sorted(draw(st.sets(st.integers(-600, MINUTES + 600), min_size=2, max_size=40)))
    states = draw(st.lists(st.sampled_from(["up", "down", "gap"]), min_size=len(cuts) - 1, max_size=len(cuts) - 1))
    windows = draw(st.lists(st.tuples(st.integers(-120, MINUTES + 120), st.integers(1, 3000)), max_size=3))
    return list(zip(cuts, cuts[1:], states)), [(start, start + length) for start, length in windows]


def by_minute(pieces, windows) -> tuple[int, int, int]:
    """(minutes up, minutes down, minutes in the month), all outside maintenance, one minute at a time."""
    up = down = counted = 0
    for minute in range(MINUTES):
        if any(a <= minute < b for a, b in windows):
            continue
        counted += 1
        up += any(a <= minute < b and state == "up" for a, b, state in pieces)
        down += any(a <= minute < b and state == "down" for a, b, state in pieces)
    return up, down, counted


@settings(max_examples=60, deadline=None)
@given(timelines())
def test_the_months_availability_equals_a_minute_by_minute_count(timeline):
    pieces, windows = timeline
    spans = {state: [(at(a), at(b)) for a, b, s in pieces if s == state] for state in ("up", "down")}
    measured = availability(spans["up"], spans["down"], [(at(a), at(b)) for a, b in windows], PERIOD)
    up, down, counted = by_minute(pieces, windows)
    assert measured.counted == counted * 60_000_000
    assert measured.maintenance == (MINUTES - counted) * 60_000_000
    assert measured.ratio == (Fraction(up, up + down) if up + down else None)  # nothing measured: no availability
    assert measured.down == down * 60_000_000
    assert measured.unmeasured == (counted - up - down) * 60_000_000
    assert measured.measured_share == (Fraction(up + down, counted) if counted else None)


def test_a_percentage_is_written_down_never_up():
    assert percent_text(Fraction(999_999, 1_000_000)) == "99.999"
    assert percent_text(Fraction(1)) == "100.000"
    assert percent_text(Fraction(1, 3)) == "33.333"
    assert percent_text(None) == "—"


def test_an_hour_down_in_november_with_a_maintenance_window_is_exact():
    up = [(at(0), at(600)), (at(660), at(MINUTES))]
    down = [(at(600), at(660))]
    window = [(at(630), at(750))]  # half the outage falls inside planned maintenance
    measured = availability(up, down, window, PERIOD)
    assert measured.ratio == Fraction(MINUTES - 120 - 30, MINUTES - 120)
    assert percent_text(measured.ratio) == "99.930"
    assert measured.meets(Fraction(9950, 10000)) is True


def test_a_month_measured_only_in_its_second_half_gives_the_availability_of_that_half():
    half = MINUTES // 2
    up = [(at(half), at(MINUTES - 60))]
    down = [(at(MINUTES - 60), at(MINUTES))]  # the last hour down
    measured = availability(up, down, [], PERIOD)
    assert measured.ratio == Fraction(half - 60, half)  # not (half - 60) / MINUTES: the first half is not down
    assert percent_text(measured.ratio) == "99.722"
    assert measured.measured_share == Fraction(1, 2)
    assert measured.unmeasured == half * 60_000_000


def test_a_month_never_measured_has_no_availability_not_zero():
    measured = availability([], [], [], PERIOD)
    assert measured.ratio is None and measured.meets(Fraction(9950, 10000)) is None
    assert measured.measured_share == 0 and measured.unmeasured == MINUTES * 60_000_000
