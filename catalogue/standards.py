"""The national standard kinds (自治体標準オープンデータセット) and the check of a file against one.

Each kind's items are a Frictionless Table Schema shipped as data (``standards/<kind>.json``): the
item names as the Digital Agency's current item definitions name them (aligned with the government
interoperability framework, GIF: 全国地方公共団体コード, ID, 地方公共団体名, 名称_英語, the address in parts, 画像 ...),
their types, the required ones, code lists and forms, with the definition's source and version date
(``x-renkei.standard``). The older 推奨データセット names of the same items are declared there too
(``x-renkei.older``: renamed items, the items one current item replaced, the items the older
definition did not have); from them :func:`kinds` derives the older version's schema, so a file in
either form can conform, and the verdict says which version it met (:attr:`CheckResult.version`).

Both versions' schemas are published as they are checked (:func:`schema_document`, served at
:func:`schema_path`), so that ``frictionless validate --schema <url> file.csv`` gives renkei's
verdict. Two things renkei adds that a Table Schema cannot carry are stated in docs/datasets.md:
the check digits (frictionless custom checks, :mod:`catalogue.standard_checks`) and that a
file without data rows is 不適合.

:func:`check_file` reads a provider's file with the imports' one reader (:func:`core.csvfile.table`:
CSV in UTF-8, UTF-8 with BOM or CP932, or an Excel workbook), checks the header (every required
column present, no column the standard does not know, none twice, no values under a column without
a name), then has frictionless check every cell against the schema and the custom checks, and lists
each problem by row and column in Japanese and English, bounded (:class:`core.csvfile.Problems`).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import functools
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

from core import csvfile
from core.errors import problem

STANDARDS_DIR = Path(__file__).parent / "standards"
CURRENT, OLDER = "current", "older"


@dataclasses.dataclass(frozen=True)
class Version:
    """One version of a kind's item definition, as a Table Schema renkei checks and publishes."""

    key: str  # CURRENT or OLDER
    name: str  # 自治体標準オープンデータセット 正式版, 推奨データセット
    date: str  # the definition's version date (ISO), "" when not recorded
    source: str  # where the Digital Agency publishes it
    descriptor: dict[str, Any]  # the Table Schema, as published
    items: dict[str, str]  # column name -> the current item it is
    other_names: dict[str, str] = dataclasses.field(default_factory=dict)  # the other version's name -> this one's

    @property
    def label_ja(self) -> str:
        return f"{self.name}（{self.date}）" if self.date else self.name

    @property
    def label_en(self) -> str:
        if self.key == CURRENT:
            return f"Municipal standard open dataset, the definition of {self.date}" if self.date else \
                "Municipal standard open dataset, the current definition"
        return "Recommended dataset, the older item names"

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.descriptor["fields"]]

    @property
    def required(self) -> list[str]:
        return [f["name"] for f in self.descriptor["fields"] if f.get("constraints", {}).get("required")]

    def field(self, name: str | None) -> dict[str, Any]:
        return next((f for f in self.descriptor["fields"] if f["name"] == name), {"name": name or "", "type": "string"})


@dataclasses.dataclass(frozen=True)
class StandardKind:
    code: str
    title_ja: str
    title_en: str
    position: int
    descriptor: dict[str, Any]  # the shipped file: the current version's schema and x-renkei
    versions: tuple[Version, ...] = ()

    @property
    def current(self) -> Version:
        return self.versions[0]

    @property
    def field_names(self) -> list[str]:
        return self.current.field_names

    @property
    def required(self) -> list[str]:
        return self.current.required

    def version(self, key: str) -> Version | None:
        return next((v for v in self.versions if v.key == key), None)

    def version_titles(self, version: Version) -> tuple[str, str]:
        """The kind and version named together (the title of the version's standard node in the feed)."""
        return f"{self.title_ja}（{version.label_ja}）", f"{self.title_en} ({version.label_en})"


def verdict_version(kind: StandardKind | None, stored: str) -> Version | None:
    """The version of ``kind`` a verdict names (``DatasetCheck.standard_version``): its key (what a check
    stores, :attr:`CheckResult.version_key`) or, in a verdict given before the key was stored, the version's
    label (:attr:`Version.label_ja`) or name; None when it names none of the kind's versions (a digest of an
    unversioned definition, or nothing)."""
    if kind is None or not stored:
        return None
    return kind.version(stored) or next((v for v in kind.versions if stored in (v.label_ja, v.name)), None)


def _published(descriptor: dict[str, Any], fields: list[dict[str, Any]], primary_key: list[str] | None,
               title_suffix: str = "") -> dict[str, Any]:
    out = {k: v for k, v in descriptor.items() if k not in ("x-renkei", "fields", "primaryKey")}
    out["title"] = descriptor["title"] + title_suffix
    out["fields"] = fields
    if primary_key:
        out["primaryKey"] = primary_key
    return out


def _versions(descriptor: dict[str, Any]) -> tuple[Version, ...]:
    meta = descriptor["x-renkei"]
    standard, older = meta["standard"], meta["older"]
    current = Version(CURRENT, f"{standard['name']} {standard['version']}", standard.get("date", ""), standard["source"],
                      _published(descriptor, descriptor["fields"], descriptor.get("primaryKey")),
                      {f["name"]: f["name"] for f in descriptor["fields"]})
    fields: list[dict[str, Any]] = []
    items: dict[str, str] = {}
    for field in descriptor["fields"]:
        name = field["name"]
        if name in older.get("new", []):
            continue
        for old_name in older.get("replaced", {}).get(name, []):
            fields.append({"name": old_name, "type": "string"})
            items[old_name] = old_name
        if name in older.get("replaced", {}):
            continue
        old = copy.deepcopy(field)
        constraints = old.setdefault("constraints", {})
        if name in older.get("renamed", {}):
            old["name"] = older["renamed"][name]
            constraints.pop("required", None)
            if name in (descriptor.get("primaryKey") or []):
                constraints["unique"] = True  # optional in the older definition, unique where given
        if old["name"] in older.get("required", []):  # required there though not (or not by this name) now
            constraints["required"] = True
        if not constraints:
            del old["constraints"]
        fields.append(old)
        items[old["name"]] = name
    title = f"（{older['name']}の項目名）"
    to_current = {old: new for new, old in older.get("renamed", {}).items()}
    to_current |= {old: new for new, olds in older.get("replaced", {}).items() for old in olds}
    to_older = {new: old for new, old in older.get("renamed", {}).items()}
    to_older |= {new: "・".join(olds) for new, olds in older.get("replaced", {}).items()}
    return (dataclasses.replace(current, other_names=to_current),
            Version(OLDER, older["name"], older.get("date", ""), older["source"],
                    _published(descriptor, fields, None, title), items, to_older))


@functools.cache
def kinds() -> dict[str, StandardKind]:
    """Every standard kind, in the order of the national list as Kumamoto's catalogue shows it."""
    found = []
    for path in STANDARDS_DIR.glob("*.json"):
        descriptor = json.loads(path.read_text(encoding="utf-8"))
        meta = descriptor["x-renkei"]
        found.append(StandardKind(meta["kind"], descriptor["title"], meta["title_en"], meta["position"], descriptor,
                                  _versions(descriptor)))
    return {kind.code: kind for kind in sorted(found, key=lambda k: k.position)}


def kind_of(code: str | None) -> StandardKind | None:
    return kinds().get(code) if code else None


# --- the published schemas -----------------------------------------------------------------------------

# Where each version's schema is published, under the deployment's base URL ({kind}: the kind's code).
SCHEMA_PATHS = {CURRENT: "/standards/{kind}/schema.json", OLDER: "/standards/{kind}/older/schema.json"}
CHECKLIST_PATHS = {CURRENT: "/standards/{kind}/checklist.json", OLDER: "/standards/{kind}/older/checklist.json"}


def schema_path(kind: str, version: str = CURRENT) -> str:
    """The stable path (under the deployment's base URL) at which ``kind``'s Table Schema is published
    for anyone to validate against: ``/standards/aed/schema.json`` (the current definition) and
    ``/standards/aed/older/schema.json`` (the older 推奨データセット names). The one builder of
    these addresses: the DCAT feed and the pages link to what it returns, and the web shell's routes
    are :data:`SCHEMA_PATHS`."""
    if kind not in kinds() or version not in SCHEMA_PATHS:
        raise KeyError(f"no standard schema {kind!r} ({version})")
    return SCHEMA_PATHS[version].format(kind=kind)


def checklist_path(kind: str, version: str = CURRENT) -> str:
    """Where the frictionless checklist that goes with :func:`schema_path`'s schema is published (what a
    schema cannot carry: the check digits and at least one data row); the routes are :data:`CHECKLIST_PATHS`."""
    if kind not in kinds() or version not in CHECKLIST_PATHS:
        raise KeyError(f"no standard checklist {kind!r} ({version})")
    return CHECKLIST_PATHS[version].format(kind=kind)


def checklist_document(kind: str, version: str = CURRENT) -> dict[str, Any] | None:
    """The checklist published at :func:`checklist_path` (None for an unknown kind or version)."""
    from catalogue import standard_checks  # with frictionless, only when asked

    found = kind_of(kind)
    chosen = found.version(version) if found else None
    return standard_checks.published_checklist(chosen.descriptor["fields"], chosen.items) if chosen else None


def schema_document(kind: str, version: str = CURRENT) -> dict[str, Any] | None:
    """The Table Schema published at :func:`schema_path` (None for an unknown kind or version)."""
    found = kind_of(kind)
    chosen = found.version(version) if found else None
    return chosen.descriptor if chosen else None


# --- the check of a file --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CheckResult:
    conformant: bool
    encoding: str  # utf-8, cp932 or xlsx ("" when the file could not be read)
    row_count: int  # data rows (blank rows not counted)
    problem_count: int
    problems: list[dict[str, str]]  # the first ones, each {"field": "row 3", "message_ja", "message_en", "row", "column"}
    version: str = ""  # the definition's version the file met or was checked against (Version.label_ja)
    version_key: str = ""  # CURRENT or OLDER
    schema_path: str = ""  # where that version's schema is published (schema_path)
    sha256: str = ""
    size: int = 0

    @property
    def label_ja(self) -> str:
        return "準拠" if self.conformant else f"不適合（{self.problem_count:,} 件）"


def _where(row: int | None, column: str | None) -> tuple[str, str]:
    parts_ja, parts_en = [], []
    if row is not None:
        parts_ja.append(f"{row} 行目")
        parts_en.append(f"row {row}")
    if column:
        parts_ja.append(f"列「{column}」")
        parts_en.append(f"column {column}")
    return "・".join(parts_ja) or "ファイル", ", ".join(parts_en) or "file"


def _entry(row: int | None, column: str | None, en: str, ja: str) -> dict[str, str]:
    where_ja, where_en = _where(row, column)
    entry = problem(f"row {row}" if row is not None else "line 1", f"{where_en}: {en}", f"{where_ja}: {ja}")
    entry.update(row=str(row or 1), column=column or "")
    return entry


@dataclasses.dataclass(frozen=True)
class _File:
    """A file as the one reader read it: its header (names trimmed), every row after it with its line,
    and how many of those rows are data rows (counted once, as read: the rows do not change)."""

    encoding: str
    header: list[str]
    rows: list[tuple[int, list[str]]]
    data_rows: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_rows", sum(1 for _, values in self.rows if not csvfile.blank(values)))

    def csv_bytes(self) -> bytes:
        """The file as UTF-8 CSV, rows in place (so frictionless's row positions are the file's rows)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(values for _, values in self.rows)
        return buffer.getvalue().encode("utf-8")

    def line_of(self, row_number: int | None) -> int | None:
        """The file line (or sheet row) of frictionless's row position (the header is position 1)."""
        if row_number is None:
            return None
        index = row_number - 2
        return self.rows[index][0] if 0 <= index < len(self.rows) else row_number


def check_file(kind: StandardKind, raw: bytes, *, limit: int | None = None, filename: str = "",
               area: Any = None) -> CheckResult:
    """Check ``raw`` (a CSV file or an Excel workbook, as uploaded) against ``kind``'s definition, in
    its current form or its older names: the verdict names the version the file met (or, when it met
    neither, the one it came nearer to, with that version's problems). Rows are checked against the
    versions whose header rules the header meets (against both when it meets neither). ``filename`` is
    the caller's record only: the content decides the format (a workbook is known by its first bytes).
    ``area`` is the platform's prefecture (a :class:`core.areas.Box`): a point outside it is named; None
    checks points against Japan's extent only."""
    digest, size = hashlib.sha256(raw).hexdigest(), len(raw)
    try:
        table = csvfile.table(raw)
        read = _File(table.encoding, [name.strip() for name in table.header], list(table.rows))
    except csvfile.FileRejected as error:
        found = csvfile.Problems(limit)
        found.add(*([_entry(_line(p["field"]), None, p["message_en"], p["message_ja"]) for p in error.problems]
                    or [_entry(None, None, error.message_en, error.message_ja)]))
        return CheckResult(False, "", 0, found.total, found.listed, sha256=digest, size=size)
    results = []
    for version in _candidates(kind, read.header):  # the current definition first
        found = csvfile.Problems(limit)
        _check(version, read, found, area)
        result = CheckResult(not found, read.encoding, read.data_rows, found.total, found.listed, version.label_ja,
                             version.key, schema_path(kind.code, version.key), digest, size)
        if result.conformant:
            return result
        results.append(result)
    return min(results, key=lambda r: r.problem_count)  # met neither: the nearer one's problems (a tie: the current)


def _line(field: str) -> int | None:
    """The line a reader's problem names (``line 7``), or None."""
    number = field.removeprefix("line ")
    return int(number) if number.isdigit() else None


def _candidates(kind: StandardKind, header: list[str]) -> list[Version]:
    """The versions whose header rules the file's header meets (each row is checked against those
    only: a file in the older form is not read twice); all of them when it meets none."""
    fitting = []
    for version in kind.versions:
        found = csvfile.Problems(0)
        _check_header(version, header, found)
        if not found:
            fitting.append(version)
    return fitting or list(kind.versions)


def _check_rows_shape(read: _File, found: csvfile.Problems) -> None:
    """A file without data rows, and each row with values beyond the header's columns or left blank."""
    if read.data_rows == 0:
        where = read.rows[0][0] if read.rows else 2
        found.add(_entry(where, None, "The file has no data rows.", "データ行がありません（見出しだけのファイルは準拠しません）。"))
    unnamed = csvfile.unnamed_columns(read.header)
    for line, values in read.rows:
        if csvfile.beyond_header(values, len(read.header), unnamed):
            found.add(_entry(line, None, *csvfile.EXTRA_VALUES))
        elif read.data_rows and csvfile.blank(values):
            found.add(_entry(line, None, *BLANK_ROW))


def _check(version: Version, read: _File, found: csvfile.Problems, area: Any = None) -> None:
    from frictionless import Checklist, Resource, Schema  # imported here: heavy, and only a check needs it

    from catalogue import standard_checks

    _check_header(version, read.header, found)
    _check_rows_shape(read, found)
    if read.data_rows == 0:
        return
    schema = Schema.from_descriptor(version.descriptor)
    by_row = _ByRow(lambda errors: _add_row(version, read, errors, found, area))
    box = [[area.south, area.north], [area.west, area.east]] if area is not None else None
    checklist = _streamed(Checklist)(checks=standard_checks.checks_for(version.descriptor["fields"], version.items, box))
    checklist.take = by_row.take
    report = Resource(data=read.csv_bytes(), format="csv", encoding="utf-8", schema=schema).validate(checklist)
    for error in (error for task in report.tasks for error in task.errors):  # what did not pass the checklist
        by_row.take(error)
    by_row.flush()


@functools.cache
def _streamed(checklist_class: type) -> type:
    """frictionless's Checklist that hands each error it matches to ``take`` as the rows are read, and keeps
    none: frictionless keeps its errors in a list that it cuts at ``limit_errors`` (1,000 by default),
    so a file's problems are counted here, all of them, while :class:`core.csvfile.Problems` keeps the
    first ones only. A clean file costs nothing more (no error, no call)."""

    class Streamed(checklist_class):  # type: ignore[misc, valid-type]
        take: Any = None

        def match(self, error: Any) -> bool:
            if super().match(error):
                self.take(error)
            return False

    return Streamed


class _ByRow:
    """frictionless's errors as they come, handed on a row at a time (a row's swapped coordinates are
    named once, as a swap, and its constraint errors on 緯度 and 経度 come before the swap is known)."""

    def __init__(self, hand_on: Any) -> None:
        self.hand_on, self.row, self.errors = hand_on, None, []

    def take(self, error: Any) -> None:
        row = getattr(error, "row_number", None)
        if self.errors and row != self.row:
            self.flush()
        self.row = row
        self.errors.append(error)

    def flush(self) -> None:
        if self.errors:
            self.hand_on(self.errors)
        self.errors = []


def _add_row(version: Version, read: _File, errors: list[Any], found: csvfile.Problems, area: Any = None) -> None:
    swapped = {error.row_number for error in errors if error.type == "coordinates-swapped"}
    mistyped = {getattr(error, "field_name", None) for error in errors if error.type == "type-error"}
    for error in errors:
        if error.type == "url-form" and error.field_name in mistyped:
            continue  # frictionless's own URI check named it already
        entry = _row_problem(version, read, error, swapped, area)
        if entry is not None:
            found.add(entry)


def _check_header(version: Version, header: list[str], found: csvfile.Problems) -> None:
    """Required columns missing, columns the version has not, and columns named twice (all on line 1)."""
    known = set(version.field_names)
    for name in version.required:
        if name not in header:
            found.add(_entry(1, name, "A required column is missing.", "必須の列がありません。"))
    by_key = {csvfile.header_key(name): name for name in known}
    for name in header:
        if name and name not in known:
            found.add(_entry(1, name, *_unknown_column(version, name, by_key.get(csvfile.header_key(name)))))
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            found.add(_entry(1, name, "The column appears twice.", "同じ名前の列が二つあります。"))
        seen.add(name)


def _unknown_column(version: Version, name: str, near: str | None) -> tuple[str, str]:
    """A column the version has not, with the fix where there is one: the name written in another width
    or case, or the name the other version gives the same item."""
    en, ja = f"The definition ({version.name}) has no such column.", f"項目定義（{version.name}）にない列です。"
    if near:
        return f"{en} Write it as {near}.", f"{ja}「{near}」と書いてください。"
    if name in version.other_names:
        other = version.other_names[name]
        return (f"{en} It is the item's name in the other version of the definition; here it is {other}.",
                f"{ja}項目定義の別の版での名前です。この版では「{other}」です。")
    return en, ja


# A blank row in published data is a row of empty values to whoever reads the file (frictionless's
# ``blank-row``): it does not conform, so that renkei and frictionless give one verdict on one file.
BLANK_ROW = ("The row is blank: delete it (to anyone who reads the file it is a row without values).",
             "空行です。行を削除してください（データを読む人には、値のない行として読まれます）。")
_IGNORED = ("blank-row", "extra-label", "missing-label", "duplicate-label", "blank-label", "incorrect-label",
            "blank-header", "extra-cell")  # the header, the row shape and blank rows are checked above, in words
_POSITION = re.compile(r"position (\d+)")


def _row_problem(version: Version, read: _File, error: Any, swapped: set[int], area: Any = None) -> dict[str, Any] | None:
    """One of frictionless's errors as a problem by row and column in words, or None where it is not one."""
    from catalogue import standard_checks  # with frictionless, only when a file is checked

    kind_name = error.type
    row_number = getattr(error, "row_number", None)
    column = getattr(error, "field_name", None)
    cell = getattr(error, "cell", "")
    if kind_name in _IGNORED or _blank(read, row_number):
        return None
    line = read.line_of(row_number)
    field = version.field(column)
    item = version.items.get(column or "", column or "")
    if kind_name == "type-error":
        return _entry(line, column, *standard_checks.type_words(field, cell))
    if kind_name == "constraint-error":
        if row_number in swapped and item in (standard_checks.LATITUDE, standard_checks.LONGITUDE):
            return None  # named once, as a swap
        return _entry(line, column, *standard_checks.constraint_words(field, error.note, cell))
    if kind_name == "missing-cell":
        return _entry(line, column, "A value is required.", "値が必要です（必須項目）。") if column in version.required else None
    if kind_name == "check-digit":
        return _entry(line, column, *standard_checks.check_digit_words(item, str(cell)))
    if kind_name == "coordinates-swapped":
        lat, lon = _values(version, read, row_number, standard_checks.LATITUDE, standard_checks.LONGITUDE)
        return _entry(line, f"{standard_checks.LATITUDE}・{standard_checks.LONGITUDE}", *standard_checks.swapped_words(lat, lon))
    if kind_name == "outside-area":
        lat, lon = _values(version, read, row_number, standard_checks.LATITUDE, standard_checks.LONGITUDE)
        return _entry(line, f"{standard_checks.LATITUDE}・{standard_checks.LONGITUDE}",
                      *standard_checks.outside_area_words(lat, lon, area))
    if kind_name == "url-form":
        return _entry(line, column, *(standard_checks.url_problem(str(cell)) or ("", "")))
    if kind_name in ("primary-key", "unique-error"):
        return _duplicate(version, read, error, line, column)
    return _entry(line, column, f"{cell} does not meet the item's definition ({error.title}).",
                  f"「{cell}」は項目定義に合いません。" if cell else "項目定義に合いません。")


def _blank(read: _File, row_number: int | None) -> bool:
    if row_number is None or not 0 <= row_number - 2 < len(read.rows):
        return False
    return csvfile.blank(read.rows[row_number - 2][1])


def _values(version: Version, read: _File, row_number: int, *items: str) -> list[str]:
    columns = {version.items.get(name, name): i for i, name in enumerate(read.header)}
    values = read.rows[row_number - 2][1]
    return [values[columns[item]].strip() if item in columns and columns[item] < len(values) else "" for item in items]


def _duplicate(version: Version, read: _File, error: Any, line: int | None, column: str | None) -> dict[str, Any] | None:
    """ID given twice (the schema's ``primaryKey``, or NO's ``unique`` in the older form); an empty ID is
    the required constraint's to report."""
    key = column or version.descriptor.get("primaryKey", ["ID"])[0]
    (value,) = _values(version, read, error.row_number, version.items.get(key, key))
    if not value:
        return None
    first = _POSITION.search(error.note or "")
    earlier = read.line_of(int(first.group(1))) if first else None
    at_ja, at_en = (f"{earlier} 行目", f"row {earlier}") if earlier else ("前の行", "an earlier row")
    return _entry(line, key, f"{value} is the {key} of {at_en} too; each row needs its own {key}.",
                  f"「{value}」は {at_ja}と同じ {key} です。行ごとに異なる {key} にしてください。")
