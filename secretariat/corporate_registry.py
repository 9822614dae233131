"""The 国税庁 法人番号公表サイト's difference file (差分データ), read offline: the one home of its layout.

The site publishes, per day, the corporate numbers that were newly designated, changed or closed, as a CSV
file without a header row, in a Shift_JIS version (JIS 第一・第二水準) and a Unicode (UTF-8) version; both are read
(:func:`core.csvfile.decode_with_encoding`: UTF-8 with or without BOM, else CP932, a superset of the Shift_JIS
version). Each row has 30 items in this order (リソース定義書 第4.0版, the 全件 and 差分 files alike):

1 一連番号, 2 法人番号, 3 処理区分, 4 訂正区分, 5 更新年月日, 6 変更年月日, 7 商号又は名称, 8 商号又は名称イメージID,
9 法人種別, 10–12 国内所在地 (都道府県, 市区町村, 丁目番地等), 13 国内所在地イメージID, 14 都道府県コード,
15 市区町村コード, 16 郵便番号, 17 国外所在地, 18 国外所在地イメージID, 19 登記記録の閉鎖等年月日,
20 登記記録の閉鎖等の事由, 21 承継先法人番号, 22 変更事由の詳細, 23 法人番号指定年月日, 24 最新履歴,
25 英語表記の商号又は名称, 26 英語表記の国内所在地, 27 フリガナ, 28 検索対象除外 (and, in the current version,
the further English items; a row is read by position, so the first 28 are what renkei needs and a row shorter
than that is refused).

Reading is all or nothing: every row is checked (the corporate number with its check digit, the 処理区分 and the
事由 against their code lists, the dates, a successor's number), every problem named with its file line, and a
file with any problem is refused whole (:class:`DifferenceFileRejected`).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

from core import csvfile
from core.codes import corporate_number_problem
from core.errors import Invalid, problem
from core.labelled import LabelledEnum

MIN_ITEMS = 28
MAX_ROWS = 200_000  # a day's file holds a few thousand rows; a month of them fits


class Process(LabelledEnum):
    """処理区分: what happened to the number. The decision column says whether the secretariat must decide."""

    new = "01", "新規", "Newly designated"
    renamed = "11", "商号又は名称の変更", "Name changed"
    moved = "12", "国内所在地の変更", "Address changed"
    moved_abroad = "13", "国外所在地の変更", "Address abroad changed"
    closed = "21", "登記記録の閉鎖等", "Registration closed"
    restored = "22", "登記記録の復活等", "Registration restored"
    merged = "71", "吸収合併", "Absorbed in a merger"
    merger_void = "72", "吸収合併無効", "Merger annulled"
    trade_name_erased = "81", "商号の登記の抹消", "Trade name registration erased"
    deleted = "99", "削除", "Deleted"


# what the secretariat decides on (the member may have ceased to exist); the others are for information
FOR_DECISION = frozenset({Process.closed, Process.merged, Process.deleted})


class CloseCause(LabelledEnum):
    """登記記録の閉鎖等の事由."""

    liquidated = "01", "清算の結了等", "Liquidation completed"
    merger = "11", "合併による解散等", "Dissolved by a merger"
    by_registrar = "21", "登記官による閉鎖", "Closed by the registrar"
    other = "31", "その他の清算の結了等", "Other completion of liquidation"


@dataclasses.dataclass(frozen=True)
class RegistryRow:
    """One row of a difference file, as renkei keeps it."""

    line: int
    sequence: int
    corporate_number: str
    process: Process
    corrected: bool
    updated_on: dt.date
    changed_on: dt.date
    name: str
    address: str
    closed_on: dt.date | None
    close_cause: CloseCause | None
    successor: str


class DifferenceFileRejected(Invalid):
    """The file has problems; nothing was imported."""


def _date(text: str, field: str, label: str, line: int, problems: csvfile.Problems, *,
          required: bool) -> dt.date | None:
    """A date of the file (``2025-04-01``); blank is None where the item may be blank."""
    if not text and not required:
        return None
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    problems.add(problem(f"line {line}: {field}", f"{label} {text!r} is not a date (YYYY-MM-DD).",
                         f"{label} {text!r} は日付（YYYY-MM-DD）ではありません。"))
    return None


def _row(line: int, values: list[str], problems: csvfile.Problems) -> RegistryRow | None:
    if len(values) < MIN_ITEMS:
        problems.add(problem(f"line {line}", f"The row has {len(values)} items; a difference file's row has 30.",
                             f"項目が {len(values)} 個しかありません。差分データの行は 30 項目です。"))
        return None
    cell = [value.strip() for value in values]
    found = problems.total
    if not (cell[0].isascii() and cell[0].isdigit()):
        problems.add(problem(f"line {line}: sequence", f"一連番号 {cell[0]!r} is not a number.",
                             f"一連番号 {cell[0]!r} が数字ではありません。"))
    if (why := corporate_number_problem(cell[1])) is not None:
        problems.add(problem(f"line {line}: corporate_number", *why))
    process = next((p for p in Process if p.value == cell[2]), None)
    if process is None:
        problems.add(problem(f"line {line}: process", f"処理区分 {cell[2]!r} is not one of the published codes.",
                             f"処理区分 {cell[2]!r} は公表されているコードではありません。"))
    updated = _date(cell[4], "updated_on", "更新年月日", line, problems, required=True)
    changed = _date(cell[5], "changed_on", "変更年月日", line, problems, required=True)
    closed = _date(cell[18], "closed_on", "登記記録の閉鎖等年月日", line, problems, required=False)
    cause = next((c for c in CloseCause if c.value == cell[19]), None)
    if cell[19] and cause is None:
        problems.add(problem(f"line {line}: close_cause", f"登記記録の閉鎖等の事由 {cell[19]!r} is not a published code.",
                             f"登記記録の閉鎖等の事由 {cell[19]!r} は公表されているコードではありません。"))
    if cell[20] and (why := corporate_number_problem(cell[20])) is not None:
        problems.add(problem(f"line {line}: successor", f"承継先法人番号: {why[0]}", f"承継先法人番号: {why[1]}"))
    if problems.total > found:
        return None
    return RegistryRow(line, int(cell[0]), cell[1], process, cell[3] == "1", updated, changed, cell[6],
                       "".join(cell[9:12]) or cell[16], closed, cause, cell[20])


def read(raw: bytes) -> list[RegistryRow]:
    """Every row of a difference file, checked; any problem refuses the whole file with each bad line named."""
    text = csvfile.decode(raw, rejected=DifferenceFileRejected).lstrip("\ufeff")
    csv.field_size_limit(csvfile.FIELD_LIMIT_CHARS)
    reader = csv.reader(io.StringIO(text, newline=""))
    problems, rows, last_line = csvfile.Problems(), [], 0
    try:
        for values in reader:
            line, last_line = last_line + 1, reader.line_num
            if csvfile.blank(values):
                continue
            if len(rows) >= MAX_ROWS:
                raise csvfile.too_many_rows(MAX_ROWS, line, DifferenceFileRejected)
            row = _row(line, values, problems)
            if row is not None:
                rows.append(row)
    except csv.Error as error:
        raise DifferenceFileRejected(f"The file is not readable as CSV ({error}); nothing was imported.",
                                     "CSV として読めません。何も取り込んでいません。",
                                     problems=[problem(f"line {reader.line_num}", str(error), "CSV として読めない行です。")]) from None
    if not problems and not rows:
        problems.add(problem("line 1", "The file has no rows.", "データ行がありません。"))
    if problems:
        more_en, more_ja = problems.summary()
        raise DifferenceFileRejected(f"The difference file has {problems.total:,} problem(s); nothing was imported{more_en}.",
                                     f"差分データに {problems.total:,} 件の誤りがあります。何も取り込んでいません{more_ja}。",
                                     **problems.details())
    return rows
