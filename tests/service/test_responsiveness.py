"""The 3-second rule (seed 004): the share of a month's requests over 3 s, from the request log's day files."""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction

from service.report import responsiveness


def write_day(folder, day: str, durations) -> None:
    lines = [json.dumps({"path": "/api/v1/tenants", "status": 200, "duration_ms": d}) for d in durations]
    (folder / f"requests-{day}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_months_requests_over_three_seconds_are_counted_from_its_day_files(tmp_path):
    write_day(tmp_path, "2026-11-01", [120.0, 3000.0, 3000.1, 8000])
    write_day(tmp_path, "2026-11-30", [2999.9, 4100.5])
    write_day(tmp_path, "2026-12-01", [9000, 9000])  # the next month: not counted
    with (tmp_path / "requests-2026-11-30.jsonl").open("a", encoding="utf-8") as log:
        log.write("not json\n" + json.dumps({"path": "/x", "duration_ms": None}) + "\n")
    counted = responsiveness(tmp_path, dt.date(2026, 11, 1))
    assert (counted.requests, counted.slow) == (6, 3)  # 3000.0 is within 3 s; 3000.1, 8000 and 4100.5 are not
    assert counted.slow_share == Fraction(1, 2)


def test_no_figure_when_the_log_is_not_in_files(tmp_path):
    assert responsiveness("stdout", dt.date(2026, 11, 1)) is None
    assert responsiveness("off", dt.date(2026, 11, 1)) is None
    assert responsiveness(tmp_path, dt.date(2026, 11, 1)).slow_share is None  # no request logged
