"""Where the suite's time goes: a pytest plugin (loaded by tests/conftest.py) and a command.

* ``--times-report FILE`` writes, at the end of a run, one JSON line per test: its id, package, the
  markers that cost time (keycloak, browser, database), its seconds (set-up, call and tear-down
  together), the worker that ran it and when (``start``, ``stop``), and prints the breakdown below the
  summary: tests and seconds per package and per marker, per worker (and how long it sat idle at the
  end), and the slowest tests.
* ``python -m tests.suite_times FILE [FILE ...]`` prints the same breakdown from such files (the two
  passes of CI together, for example), the worker table once per file, with ``--slowest N``.

It measures and prints; it never fails a test (a loaded machine must not change an outcome).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

MARKERS = ("keycloak", "browser", "database")


def pytest_addoption(parser):
    parser.addoption("--times-report", metavar="FILE", default=None,
                     help="write each test's seconds and markers to FILE (JSON lines) and print a breakdown")
    parser.addoption("--times-slowest", metavar="N", type=int, default=25,
                     help="how many of the slowest tests the breakdown lists (default 25)")


class _Recorder:
    def __init__(self, path: Path, slowest: int):
        self.path = path
        self.slowest = slowest
        self.markers: dict[str, tuple[str, ...]] = {}
        self.seconds: dict[str, float] = collections.defaultdict(float)
        self.outcome: dict[str, str] = {}
        self.worker: dict[str, str] = {}
        self.span: dict[str, tuple[float, float]] = {}

    def pytest_runtest_logreport(self, report):
        # a report's keywords hold its markers, also those added at collection, also from xdist's workers
        self.markers[report.nodeid] = tuple(name for name in MARKERS if name in report.keywords)
        self.seconds[report.nodeid] += report.duration
        # which worker ran it (xdist sets the report's node in the controller), and when: set-up start to tear-down end
        gateway = getattr(getattr(report, "node", None), "gateway", None)
        self.worker[report.nodeid] = getattr(gateway, "id", "main")
        start, stop = getattr(report, "start", None), getattr(report, "stop", None)
        if start is not None and stop is not None:
            earlier = self.span.get(report.nodeid, (start, stop))
            self.span[report.nodeid] = (min(earlier[0], start), max(earlier[1], stop))
        if report.failed or (report.skipped and self.outcome.get(report.nodeid) != "failed"):
            self.outcome[report.nodeid] = report.outcome

    def pytest_terminal_summary(self, terminalreporter):
        rows = [{"id": nodeid, "package": package_of(nodeid), "markers": list(self.markers.get(nodeid, ())),
                 "seconds": round(seconds, 3), "outcome": self.outcome.get(nodeid, "passed"),
                 "worker": self.worker.get(nodeid, "main"),
                 **({"start": round(self.span[nodeid][0], 3), "stop": round(self.span[nodeid][1], 3)}
                    if nodeid in self.span else {})}
                for nodeid, seconds in self.seconds.items()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        terminalreporter.write_sep("=", f"where the time went ({self.path})")
        for line in breakdown(rows, self.slowest):
            terminalreporter.write_line(line)


def pytest_configure(config):
    path = config.getoption("--times-report")
    if path:
        config.pluginmanager.register(_Recorder(Path(path), config.getoption("--times-slowest")), "renkei-suite-times")


def package_of(nodeid: str) -> str:
    """``tests/identity/test_x.py::t`` → ``identity``; a module at the top → its file name."""
    parts = nodeid.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 2 else parts[-1]


def breakdown(rows: list[dict], slowest: int = 25, workers: bool = True) -> list[str]:
    lines = []
    total = sum(row["seconds"] for row in rows)
    lines.append(f"{len(rows)} tests, {total:.0f} s of test time")

    def table(title: str, key) -> None:
        groups: dict[str, list[float]] = collections.defaultdict(list)
        for row in rows:
            for name in key(row):
                groups[name].append(row["seconds"])
        lines.append(f"{title:<28} {'tests':>6} {'seconds':>9} {'share':>6}")
        for name, seconds in sorted(groups.items(), key=lambda item: -sum(item[1])):
            lines.append(f"  {name:<26} {len(seconds):>6} {sum(seconds):>9.1f} {sum(seconds) / (total or 1):>6.0%}")

    table("by package", lambda row: [row["package"]])
    table("by marker", lambda row: row["markers"] or ["(none)"])
    if workers:
        lines.extend(by_worker(rows))
    lines.append(f"the {slowest} slowest")
    for row in sorted(rows, key=lambda row: -row["seconds"])[:slowest]:
        lines.append(f"  {row['seconds']:>8.2f} s  {row['id']}")
    return lines


def by_worker(rows: list[dict]) -> list[str]:
    """Each worker's tests, its seconds in them, and when it ran its last: a worker done long before the other sat
    idle (the end of a run waiting on one long test). Times from the session's first test's start: the rows of
    one session (one file)."""
    timed = [row for row in rows if "start" in row and "stop" in row]
    if not timed:
        return []
    origin = min(row["start"] for row in timed)
    end = max(row["stop"] for row in timed)
    workers: dict[str, list[dict]] = collections.defaultdict(list)
    for row in timed:
        workers[row.get("worker", "main")].append(row)
    lines = [f"{'by worker':<28} {'tests':>6} {'seconds':>9} {'last end':>9} {'idle after':>10}"]
    for name, mine in sorted(workers.items()):
        last = max(row["stop"] for row in mine)
        lines.append(f"  {name:<26} {len(mine):>6} {sum(row['seconds'] for row in mine):>9.1f} "
                     f"{last - origin:>9.0f} {end - last:>10.0f}")
    lines.append(f"  first start to last end: {end - origin:.0f} s")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--slowest", type=int, default=25)
    args = parser.parse_args(argv)
    sessions = {path: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
                for path in args.files}
    print("\n".join(breakdown([row for rows in sessions.values() for row in rows], args.slowest, workers=False)))
    for path, rows in sessions.items():
        table = by_worker(rows)
        if table:
            print(f"{path.name}:")
            print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
