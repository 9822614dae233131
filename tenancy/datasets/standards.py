"""The national standard kinds (自治体標準オープンデータセット) and the check of a file against one.

Each kind's columns are a Frictionless Table Schema shipped as data (``standards/<kind>.json``):
the field names as the Digital Agency's item definitions name them, their types, the required
ones and the code lists. :func:`check_file` decodes a provider's CSV (UTF-8 with or without BOM,
or CP932, :func:`core.csvfile.decode`), checks the header (every required column present, no
column the standard does not know), then has ``frictionless`` check every cell against the
schema, and lists each problem by row and column in Japanese and English, bounded
(:class:`core.csvfile.Problems`).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
from pathlib import Path
from typing import Any

from core import csvfile
from core.errors import problem

STANDARDS_DIR = Path(__file__).parent / "standards"


@dataclasses.dataclass(frozen=True)
class StandardKind:
    code: str
    title_ja: str
    title_en: str
    position: int
    descriptor: dict[str, Any]

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.descriptor["fields"]]

    @property
    def required(self) -> list[str]:
        return [f["name"] for f in self.descriptor["fields"] if f.get("constraints", {}).get("required")]

    @property
    def uri(self) -> str:
        """What a conforming dataset's ``dct:conformsTo`` names (this kind's schema, as renkei ships it)."""
        return f"urn:renkei:standard:{self.code}"


@functools.cache
def kinds() -> dict[str, StandardKind]:
    """Every standard kind, in the order of the national list as Kumamoto's catalogue shows it."""
    found = []
    for path in STANDARDS_DIR.glob("*.json"):
        descriptor = json.loads(path.read_text(encoding="utf-8"))
        meta = descriptor["x-renkei"]
        found.append(StandardKind(meta["kind"], descriptor["title"], meta["title_en"], meta["position"], descriptor))
    return {kind.code: kind for kind in sorted(found, key=lambda k: k.position)}


def kind_of(code: str | None) -> StandardKind | None:
    return kinds().get(code) if code else None


@dataclasses.dataclass(frozen=True)
class CheckResult:
    conformant: bool
    encoding: str
    row_count: int
    problem_count: int
    problems: list[dict[str, str]]  # the first ones, each {"field": "行 3・列 緯度", "message_ja", "message_en"}

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


def _constraint_message(note: str, cell: Any) -> tuple[str, str]:
    name = note.split('"')[1] if '"' in note else ""
    value = note.split('is "', 1)[1].rstrip('"') if 'is "' in note else ""
    if name == "required":
        return "A value is required.", "値が必要です（必須項目）。"
    if name == "minimum":
        return f"{cell} is below the minimum {value}.", f"{cell} は最小値 {value} より小さい値です。"
    if name == "maximum":
        return f"{cell} is above the maximum {value}.", f"{cell} は最大値 {value} より大きい値です。"
    if name == "enum":
        return f"{cell} is not one of {value}.", f"{cell} はコード表の値（{value}）のいずれでもありません。"
    if name == "pattern":
        return f"{cell} does not have the required form.", f"{cell} は決められた形式ではありません。"
    return f"{cell} breaks the constraint {name}.", f"{cell} は制約 {name} を満たしません。"


_TYPE_JA = {"number": "数値", "integer": "整数", "date": "日付（YYYY-MM-DD）", "time": "時刻", "string": "文字列"}


def check_file(kind: StandardKind, raw: bytes, *, limit: int | None = None) -> CheckResult:
    """Check ``raw`` (a CSV file as uploaded) against ``kind``'s Table Schema."""
    from frictionless import Resource, Schema  # imported here: heavy, and only a check needs it

    found = csvfile.Problems(limit)
    try:
        text, encoding = csvfile.decode_with_encoding(raw)
    except csvfile.FileRejected as error:
        found.add(_entry(None, None, error.message_en, error.message_ja))
        return CheckResult(False, "", 0, found.total, found.listed)
    text = text.lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(text, newline="")), None) or []
    header = [name.strip() for name in header]
    if not any(header):
        found.add(_entry(None, None, "The file is empty.", "ファイルが空です。"))
        return CheckResult(False, encoding, 0, found.total, found.listed)
    _check_header(kind, header, found)
    data = "".join([_header_line(header), *text.split("\n", 1)[1:]]).encode("utf-8")
    # the columns a file has are matched by name ("subset": an optional column may be left out)
    schema = Schema.from_descriptor({**{k: v for k, v in kind.descriptor.items() if k != "x-renkei"},
                                     "fieldsMatch": "subset"})
    report = Resource(data=data, format="csv", encoding="utf-8", schema=schema).validate()
    rows = 0
    for task in report.tasks:
        rows = max(rows, (task.stats.get("rows") or 0))
        for error in task.errors:
            entry = _row_problem(kind, error)
            if entry is not None:
                found.add(entry)
    return CheckResult(not found, encoding, rows, found.total, found.listed)


def _check_header(kind: StandardKind, header: list[str], found: csvfile.Problems) -> None:
    """Required columns missing, columns the standard has not, and columns named twice (all on line 1)."""
    known = set(kind.field_names)
    for name in kind.required:
        if name not in header:
            found.add(_entry(1, name, "A required column is missing.", "必須の列がありません。"))
    for name in header:
        if name and name not in known:
            found.add(_entry(1, name, f"The standard {kind.title_en} has no such column.",
                             f"標準（{kind.title_ja}）にない列です。"))
    seen: set[str] = set()
    for name in header:
        if name in seen:
            found.add(_entry(1, name, "The column appears twice.", "同じ名前の列が二つあります。"))
        seen.add(name)


def _row_problem(kind: StandardKind, error: Any) -> dict[str, Any] | None:
    """One of frictionless's errors as a problem by row and column in words, or None where it is not one
    (blank lines are skipped; the header was checked by :func:`_check_header`; a short row's optional cell is blank)."""
    kind_name = error.type
    if kind_name == "blank-row" or kind_name.endswith("-label"):
        return None
    row = getattr(error, "row_number", None)
    column = getattr(error, "field_name", None)
    cell = getattr(error, "cell", "")
    if kind_name == "type-error":
        field_type = getattr(error, "field_type", "")
        return _entry(row, column, f"{cell} is not a {field_type}.",
                      f"{cell} は{_TYPE_JA.get(field_type, field_type)}ではありません。")
    if kind_name == "constraint-error":
        return _entry(row, column, *_constraint_message(error.note, cell))
    if kind_name == "extra-cell":
        return _entry(row, column, "The row has more values than the header.", "見出しより多くの値があります。")
    if kind_name == "missing-cell":
        return _entry(row, column, "A value is required.", "値が必要です（必須項目）。") if column in kind.required else None
    return _entry(row, column, error.message, f"形式に誤りがあります（{error.title}）。")


def _header_line(names: list[str]) -> str:
    """The header row again, its names trimmed, written by the csv module as the file's reader reads it."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(names)
    return buffer.getvalue()
