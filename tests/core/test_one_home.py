"""Each small rule has one home (renkei issue 53 item 4): Japan time is core.calendar's (``JST``, ``JST_ZONE_NAME``),
and the name a record keeps for the person acting is core.actor's (``Actor.recorded_name``). A module that states
either again is named here with its line. Migrations are left out: each is frozen as it ran."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "tenancy", "catalogue", "billing", "governance", "secretariat", "service", "competition",
            "residents", "maintenance", "admin", "bench", "scripts")

RULES = {
    "Japan time": (re.compile(r"timedelta\(hours=9\)|[\"']Asia/Tokyo[\"']"), {"core/calendar.py"}),
    "the actor's recorded name": (re.compile(r"\bactor\.name or [\w.]*actor\.subject|def _?who\(actor\b"),
                                  {"core/actor.py"}),
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
                    if relative not in homes and pattern.search(line):
                        found.append(f"{relative}:{number}: {rule} stated again: {line.strip()}")
    return found


def test_japan_time_and_the_actors_recorded_name_are_stated_once():
    assert stated_again(ROOT) == []


def test_the_check_names_a_module_that_states_them_again(tmp_path):
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "letters.py").write_text(
        "import datetime as dt\nJ = dt.timezone(dt.timedelta(hours=9))\n\ndef _who(actor):\n"
        "    return actor.name or actor.subject\n", encoding="utf-8")
    assert [line.split(": ")[1] for line in stated_again(tmp_path)] == [
        "Japan time stated again", "the actor's recorded name stated again", "the actor's recorded name stated again"]
