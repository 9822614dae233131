"""Availability, exactly: up time / (up time + down time), both outside planned maintenance, as a fraction.

Pure functions over spans (start, end) of aware datetimes, counted in whole microseconds so that
the result is exact (:class:`fractions.Fraction`). Time inside a maintenance window counts neither
as up nor as down. Time no probe covered (before measuring started, while the due job did not run)
is 未計測 (not measured): never up, never down, reported apart with the share of the period that was
measured. A period with no measurement outside maintenance has no availability (None), never 0 %.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from fractions import Fraction

Span = tuple[dt.datetime, dt.datetime]
_MICRO = dt.timedelta(microseconds=1)


def micros(delta: dt.timedelta) -> int:
    return delta // _MICRO


def clip(spans: Iterable[Span], period: Span) -> list[Span]:
    """The parts of ``spans`` inside ``period``, sorted and merged where they overlap or touch."""
    start, end = period
    inside = sorted((max(a, start), min(b, end)) for a, b in spans if min(b, end) > max(a, start))
    merged: list[Span] = []
    for a, b in inside:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def measure(spans: Iterable[Span]) -> int:
    """Microseconds covered by already merged spans."""
    return sum(micros(b - a) for a, b in spans)


def subtract(spans: list[Span], holes: list[Span]) -> list[Span]:
    """``spans`` without ``holes`` (both merged and sorted)."""
    result: list[Span] = []
    for a, b in spans:
        cursor = a
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= b:
                continue
            if h_start > cursor:
                result.append((cursor, h_start))
            cursor = max(cursor, h_end)
        if cursor < b:
            result.append((cursor, b))
    return result


@dataclasses.dataclass(frozen=True)
class Availability:
    """One component's period: microseconds up, down, unmeasured and in maintenance."""

    period: int
    maintenance: int
    up: int
    down: int

    @property
    def counted(self) -> int:
        """The period less planned maintenance."""
        return self.period - self.maintenance

    @property
    def measured_time(self) -> int:
        """Time measured up or down outside maintenance: the denominator."""
        return self.up + self.down

    @property
    def unmeasured(self) -> int:
        """Time outside maintenance no probe covered (未計測): neither up nor down."""
        return self.counted - self.up - self.down

    @property
    def ratio(self) -> Fraction | None:
        """Up time over measured time (up + down); None when nothing was measured."""
        return Fraction(self.up, self.measured_time) if self.measured_time > 0 else None

    @property
    def measured_share(self) -> Fraction | None:
        """The share of the period outside maintenance that was measured; None when all of it was maintenance."""
        return Fraction(self.measured_time, self.counted) if self.counted > 0 else None

    def meets(self, target: Fraction) -> bool | None:
        ratio = self.ratio
        return None if ratio is None else ratio >= target


def availability(up: Iterable[Span], down: Iterable[Span], maintenance: Iterable[Span], period: Span) -> Availability:
    """The period's availability from the up and down intervals, maintenance excluded."""
    holes = clip(maintenance, period)
    up_counted = subtract(clip(up, period), holes)
    down_counted = subtract(subtract(clip(down, period), holes), up_counted)
    return Availability(period=micros(period[1] - period[0]), maintenance=measure(holes),
                        up=measure(up_counted), down=measure(down_counted))


def percent_text(ratio: Fraction | None, places: int = 3) -> str:
    """A percentage written down, never up (99.9996 % is not 100 %): ``99.812``; ``—`` for none."""
    if ratio is None:
        return "—"
    scaled = (ratio * 100 * 10 ** places).numerator // (ratio * 100 * 10 ** places).denominator
    whole, part = divmod(scaled, 10 ** places)
    return f"{whole}.{part:0{places}d}" if places else str(whole)
