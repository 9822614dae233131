"""Each small rule has one home (renkei issue 53 item 4): Japan time is core.calendar's (``JST``, ``JST_ZONE_NAME``),
the name a record keeps for the person acting is core.actor's (``Actor.recorded_name``), and the way the office
writes a day or a moment is core.calendar's (``day_text``, ``jst_text``, ``jst_seconds_text``, ``jst_text_ja``: one
function per kind, which every page, document, export and template reads). A module or template that states any of
them again is named here with its line. Migrations are left out: each is frozen as it ran.

A state's words are its labelled enum's (core.labelled): a module-level ``*_LABELS*`` dict whose keys are all members
of one enum states that enum's words a second time, beside it, and is named here too."""

from __future__ import annotations

import ast
import enum
import importlib
import importlib.util
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


# A module-level name with _LABELS in it, holding a dict (``X_LABELS_JA = {...}``, ``X_LABELS: dict[...] = {...}``).
LABELS_NAME = re.compile(r"_LABELS")

# Dicts keyed by one enum's members that are not that enum's words, each with why it stays.
OTHER_WORDS = {
    # the resident's standing in the portal's own voice (同意しています), beside the event's words (ConsentEvent: 同意)
    "admin/portal/services.py:CONSENT_STATE_LABELS",
}


def _labels_dicts(path: Path) -> list[tuple[int, str]]:
    """(line, name) of each module-level assignment to a ``*_LABELS*`` name."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        found += [(node.lineno, target.id) for target in targets
                  if isinstance(target, ast.Name) and LABELS_NAME.search(target.id)]
    return found


def _module(root: Path, path: Path):
    relative = path.relative_to(root).with_suffix("")
    if root == ROOT:
        return importlib.import_module(".".join(relative.parts))
    spec = importlib.util.spec_from_file_location("_one_home_" + "_".join(relative.parts), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def labels_beside_enums(root: Path) -> list[str]:
    """Each module-level ``*_LABELS*`` dict whose keys are all members of one enum (the module is imported to read
    the keys: a dict written out, a comprehension over the enum or one built from another all count)."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            candidates = [] if "/migrations/" in relative else _labels_dicts(path)
            if not candidates:
                continue
            module = _module(root, path)
            for number, name in candidates:
                value = getattr(module, name, None)
                keyed_by = {type(key) for key in value} if isinstance(value, dict) and value else set()
                if (len(keyed_by) == 1 and issubclass(enum_type := keyed_by.pop(), enum.Enum)
                        and f"{relative}:{name}" not in OTHER_WORDS):
                    found.append(f"{relative}:{number}: {name} states the words of {enum_type.__name__} beside it "
                                 f"(declare them on its members, core.labelled.LabelledEnum)")
    return found


def test_no_labels_dict_states_an_enums_words_beside_it():
    assert labels_beside_enums(ROOT) == []


def test_the_check_names_a_labels_dict_keyed_by_an_enum(tmp_path):
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "runs.py").write_text(
        "import enum\n\nclass Kind(str, enum.Enum):\n    final = 'final'\n    provisional = 'provisional'\n\n"
        "KIND_LABELS_JA = {Kind.final: '確定', Kind.provisional: '概算'}\n"
        "KIND_LABELS_EN = {kind: kind.value for kind in Kind}\n"
        "FIELD_LABELS = {'name': ('名称', 'name')}\n", encoding="utf-8")
    assert [line.split(": ")[1].split(" states")[0] for line in labels_beside_enums(tmp_path)] == [
        "KIND_LABELS_JA", "KIND_LABELS_EN"]
