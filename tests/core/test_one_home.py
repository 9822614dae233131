"""Each small rule has one home (renkei issue 53 item 4): Japan time is core.calendar's (``JST``, ``JST_ZONE_NAME``),
the name a record keeps for the person acting is core.actor's (``Actor.recorded_name``), and the way the office
writes a day or a moment is core.calendar's (``day_text``, ``jst_text``, ``jst_seconds_text``, ``jst_text_ja``: one
function per kind, which every page, document, export and template reads). A module or template that states any of
them again is named here with its line. Migrations are left out: each is frozen as it ran."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "tenancy", "catalogue", "usage", "billing", "governance", "secretariat", "service", "competition",
            "residents", "maintenance", "admin", "bench", "scripts")

# A day or a clock time written out (``%Y/%m/%d``, ``%Y-%m-%d``, ``%H:%M``). Machine formats are not the office's
# words and are left alone: ISO 8601 (``...T%H:%M...``: APIs, hashes, a form's ``datetime-local`` value), the formats
# a command or a form reads (``click.DateTime``, ``strptime``), ``%Y-%m`` month keys and ``%Y%m%d`` file names (the
# pattern does not match them), and a time marked UTC (a machine's log line).
DATE_FORMAT = re.compile(r"%Y[/-]%m[/-]%d(?!T)|(?<!T)%H:%M")
MACHINE_FORMAT = re.compile(r"DateTime(Local)?(Field)?\(|strptime\(|\bUTC\b")

RULES = {
    "Japan time": (re.compile(r"timedelta\(hours=9\)|[\"']Asia/Tokyo[\"']"), {"core/calendar.py"}),
    "the actor's recorded name": (re.compile(r"\bactor\.name or [\w.]*actor\.subject|def _?who\(actor\b"),
                                  {"core/actor.py"}),
    "a date or time format": (DATE_FORMAT, {"core/calendar.py"}),
}


def stated_again(root: Path) -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if "/migrations/" in relative:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                for rule, (pattern, homes) in RULES.items():
                    if relative not in homes and pattern.search(line) and not (
                            pattern is DATE_FORMAT and MACHINE_FORMAT.search(line)):
                        found.append(f"{relative}:{number}: {rule} stated again: {line.strip()}")
    for path in sorted((root / "admin" / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if DATE_FORMAT.search(line):
                found.append(f"{path.relative_to(root).as_posix()}:{number}: a date or time format stated again: "
                             f"{line.strip()}")
    return found


def test_japan_time_the_actors_recorded_name_and_the_office_date_formats_are_stated_once():
    assert stated_again(ROOT) == []


def test_the_check_names_a_module_that_states_them_again(tmp_path):
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "letters.py").write_text(
        "import datetime as dt\nJ = dt.timezone(dt.timedelta(hours=9))\n\ndef _who(actor):\n"
        "    return actor.name or actor.subject\n\ndef _when(moment):\n    return f\"{moment:%Y-%m-%d %H:%M}\"\n\n"
        "def _iso(moment):\n    return moment.strftime(\"%Y-%m-%dT%H:%M:%S\")\n", encoding="utf-8")
    (tmp_path / "admin" / "templates").mkdir(parents=True)
    (tmp_path / "admin" / "templates" / "page.html").write_text("{{ day.strftime('%Y/%m/%d') }}\n", encoding="utf-8")
    assert [line.split(": ")[1] for line in stated_again(tmp_path)] == [
        "Japan time stated again", "the actor's recorded name stated again", "the actor's recorded name stated again",
        "a date or time format stated again", "a date or time format stated again"]
