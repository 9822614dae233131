"""Records out of the audit log (操作ログ): read by period, exported (CSV, JSON lines), archived
and purged.

* :func:`records_in_period` and :func:`read_records` list records (``audit.read``, asked here);
  :func:`export_download` and :func:`write_export` write them as CSV (Japanese headers, formula-safe
  cells) or JSON lines, the same bytes record by record as :func:`governance.audit.record_dict`
  gives, made a group at a time (the fast path below).
* :func:`purge` archives, then removes, the records older than the retention period (at least
  :mod:`core.retention`'s ``audit_log`` period); the archive ends with a manifest naming the anchor's hash, and
  :func:`verify_archive` checks a file against it. Both are every hash chain's rule
  (:mod:`core.chain_archive`) with the audit log's archive format (:data:`AUDIT_ARCHIVE`); the
  chain's verification is :mod:`governance.audit`'s.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit as core_audit
from core import authz, chain_archive, retention
from core.actor import Actor
from core.audit import AUDIT_CHAIN, AuditRecord, timestamp_text
from core.calendar import day_start_utc
from core.chain import ChainBreak
from core.errors import Invalid, problem
from core.spreadsheet import BOM, FORMULA_START, csv_text, is_safe_text
from governance.audit import RECORD_FIELDS, _COLUMNS, _JSON, record_dict
from governance.errors import ChainBroken

RETENTION_DAYS = 365
ARCHIVE_FORMAT = "renkei-audit-archive/1"

EXPORT_HEADERS_JA = {
    "seq": "番号", "occurred_at": "日時(UTC)", "actor_issuer": "操作者の発行者", "actor_subject": "操作者ID",
    "actor_name": "操作者", "actor_role": "役割", "tenant_code": "団体コード", "action": "操作",
    "target_type": "対象種別", "target_id": "対象", "before": "変更前", "after": "変更後",
    "request_id": "リクエストID", "source_ip": "接続元IP", "prev_hash": "前レコードのハッシュ", "hash": "ハッシュ",
}


# --- the fast path of exports and archives (issue 12) ------------------------------------------------
# The same bytes as ``_jsonl(record_dict(entry))`` and ``core.spreadsheet.csv_text`` give record by
# record, made a group of records at a time and column by column, so that the per-value work runs in
# C (map, zip, join, slice assignment), not in a Python loop per value: a column's values are looked at
# (and escaped, for JSON) joined, once, and a group's lines are one list of cells and fixed pieces
# (separators, keys, quotes) joined once (issue 55).

_GROUP = 256  # records per piece of text: about 90 KB of CSV or 140 KB of JSON lines
_COLUMN_NAMES = tuple(column.name for column in _COLUMNS)
_TO_RECORD_ORDER = [_COLUMN_NAMES.index(name) for name in RECORD_FIELDS]
_OCCURRED_AT = RECORD_FIELDS.index("occurred_at")
_SEQ, _HASH = RECORD_FIELDS.index("seq"), RECORD_FIELDS.index("hash")
_EXPORT_SEQ = _COLUMN_NAMES.index("seq")  # in the rows read by _COLUMNS
# A JSON line is an object with sorted keys and no spaces: the keys' text is fixed, only the values vary.
_JSON_KEYS = sorted(RECORD_FIELDS)
_KEY_ORDER = [RECORD_FIELDS.index(name) for name in _JSON_KEYS]
# A column's values are joined with a printable character seldom typed (and ASCII, so that columns
# of ASCII text stay ASCII when joined) to be looked at once: a value holding it only makes the
# column take a slower way below.
_SEPARATOR = "`"
_json_text = json.encoder.encode_basestring  # what _JSON writes for a str (ensure_ascii=False)
# After the values of a column are joined with "\n", a value (other than the first) that starts like a
# formula follows a "\n"; a "\n" inside a value can only raise a false alarm, which takes the slow path.
_FORMULA_AFTER_JOIN = re.compile("\n[" + re.escape("".join(FORMULA_START)) + "]")
_ISO_MICRO = functools.partial(dt.datetime.isoformat, timespec="microseconds")
_TZINFO, _YEAR, _UTCOFFSET = operator.attrgetter("tzinfo"), operator.attrgetter("year"), operator.methodcaller("utcoffset")


def _timestamps(moments: Sequence[dt.datetime]) -> list[str]:
    """:func:`core.audit.timestamp_text` of each moment (the same text), without strftime for the usual
    values: all naive (UTC by convention, SQLite) or all aware at offset zero (PostgreSQL in UTC),
    and no year before 1000 (strftime writes those unpadded). Anything else goes value by value."""
    zones = set(map(_TZINFO, moments))
    if moments and min(map(_YEAR, moments)) >= 1000:
        # joined and split on a character no timestamp holds, so the per-value work stays in C
        if zones == {None}:
            return ("Z\x1e".join(map(_ISO_MICRO, moments)) + "Z").split("\x1e")
        if None not in zones and set(map(_UTCOFFSET, moments)) == {dt.timedelta(0)}:
            return "\x1e".join(map(_ISO_MICRO, moments)).replace("+00:00", "Z").split("\x1e")
    return [timestamp_text(moment) for moment in moments]


# How SQLAlchemy stores a DATETIME in SQLite: "2025-04-01 09:00:00.000005" (UTC by renkei's convention).
_STORED_WIDTH = 26
_STORED_MARKS = ((4, "-"), (7, "-"), (10, " "), (13, ":"), (16, ":"), (19, "."))
_STORED_DIGITS = tuple(sorted(set(range(_STORED_WIDTH)) - {place for place, _ in _STORED_MARKS}))


def _stored_timestamps(stored: Sequence[Any]) -> list[str] | None:
    """:func:`_timestamps` of the moments SQLite holds as text in its one storage format (the same
    text, written from the stored text: "2025-04-01 09:00:00.000005" is "2025-04-01T09:00:00.000005Z"),
    looked at joined, column by column of characters; None when a value is not that form (a year
    before 1000 included), which is then read as SQLAlchemy reads it."""
    try:
        joined = "\n".join(stored)
    except TypeError:
        return None  # not text: PostgreSQL's moments
    count, width = len(stored), _STORED_WIDTH + 1
    if not count or len(joined) != count * width - 1 or not joined.isascii():
        return None
    if any(joined[place::width] != mark * count for place, mark in _STORED_MARKS) \
            or joined[_STORED_WIDTH::width] != "\n" * (count - 1) or "0" in joined[0::width]:
        return None
    if not "".join([joined[place::width] for place in _STORED_DIGITS]).isdigit():  # ASCII: 0-9 only
        return None
    return (joined.replace(" ", "T").replace("\n", "Z\n") + "Z").split("\n")


_NOTHING = object()


def _same_columns(group: list[Any]) -> bool:
    """Every entry is a row of this module's queries (the columns of ``_COLUMNS``, in order)."""
    known = _NOTHING
    for entry in group:
        parent = getattr(entry, "_parent", None)  # the result's metadata, shared by the rows of a batch
        if parent is not known:
            if parent is None or not isinstance(entry, sa.Row) or entry._fields != _COLUMN_NAMES:
                return False
            known = parent
    return True


def _in_record_order(by_column: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    """The columns of a group read by :data:`_COLUMNS` as those of :data:`RECORD_FIELDS`, in
    order, ``occurred_at`` as :func:`record_dict` writes it."""
    columns = [by_column[index] for index in _TO_RECORD_ORDER]
    columns[_OCCURRED_AT] = _timestamps(columns[_OCCURRED_AT])
    return columns


def _record_columns(records: Iterable[AuditRecord | sa.Row]) -> Iterator[tuple[int, list[Sequence[Any]]]]:
    """Groups of records as (count, columns): the values of each of :data:`RECORD_FIELDS`, in order,
    ``occurred_at`` as :func:`record_dict` writes it. Rows of this module's queries are taken by
    position, anything else (ORM records, other rows) through :func:`record_dict`."""
    if isinstance(records, _Records):
        yield from records.column_groups(_GROUP)
        return
    entries = iter(records)
    while group := list(itertools.islice(entries, _GROUP)):
        if _same_columns(group):
            columns = _in_record_order(list(zip(*group)))
        else:
            columns = list(zip(*[[data[name] for name in RECORD_FIELDS] for data in map(record_dict, group)]))
        yield len(group), columns


def _json_value(value: Any) -> str:
    if value is None:
        return "null"
    return int.__repr__(value) if value.__class__ is int else _JSON.encode(value)


def _json_column(values: Sequence[Any]) -> list[str]:
    """Each value as _JSON writes it inside an object."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return list(map(_json_text, values))
    if kinds == {int}:
        return list(map(int.__repr__, values))  # what the encoder writes for an int
    return [_json_text(value) if value.__class__ is str else _json_value(value) for value in values]


def _json_cells(values: Sequence[Any]) -> tuple[str, Sequence[Any]]:
    """(quote, cells): the column's values as _JSON writes them, but for the quotes around them, which
    the line's fixed pieces write when ``quote`` is ``'"'``. A column of text is encoded joined (with
    :data:`_SEPARATOR`, which the encoder leaves as it is), once: when nothing was escaped the values
    are written as they are, else the encoded text is split again (unless a value holds the separator)."""
    try:
        joined = _SEPARATOR.join(values)  # refused unless every value is text
    except TypeError:
        return "", _json_column(values)
    encoded = _json_text(joined)
    if len(encoded) == len(joined) + 2:  # the encoder escaped nothing: no value needs it
        return '"', values
    if joined.count(_SEPARATOR) == len(values) - 1:
        return '"', encoded[1:-1].split(_SEPARATOR)
    return "", list(map(_json_text, values))


@functools.lru_cache(maxsize=64)
def _json_pieces(quotes: tuple[str, ...]) -> tuple[str, ...]:
    """The fixed text around the cells of a line: "{", the keys, the quotes of the columns written as is, "}\n"."""
    opening = ("{", *[","] * (len(_JSON_KEYS) - 1))
    return (*[before + start + _JSON.encode(name) + ":" + quote
              for before, start, name, quote in zip(("", *quotes), opening, _JSON_KEYS, quotes)],
            quotes[-1] + "}\n")


def _interleaved(pieces: Sequence[str], columns: Sequence[Sequence[str]]) -> str:
    """``pieces[0] columns[0][r] pieces[1] columns[1][r] ... pieces[-1]`` for every row r, as one text:
    one list, filled column by column (slice assignment), and one join."""
    rows, width = len(columns[0]), 2 * len(columns) + 1
    flat: list[Any] = [None] * (rows * width)
    for index, piece in enumerate(pieces):
        flat[2 * index::width] = [piece] * rows
    for index, cells in enumerate(columns):
        flat[2 * index + 1::width] = cells
    return "".join(flat)


def _jsonl_text(columns: list[Sequence[Any]]) -> str:
    """The JSON lines of a group, the same text as ``_jsonl(record_dict(entry))`` for each record."""
    quotes, cells = zip(*[_json_cells(columns[index]) for index in _KEY_ORDER])
    return _interleaved(_json_pieces(quotes), cells)


# What makes csv.writer (QUOTE_MINIMAL, doublequote, "," and '"', lineterminator "\r\n") quote a field.
_CSV_QUOTED = re.compile('[,"\r\n]')
_FORMULA_AFTER_SEPARATOR = re.compile(_SEPARATOR + "[" + re.escape("".join(FORMULA_START)) + "]")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7f))
_CONTAINS = str.__contains__


def _printable(text: str) -> bool:
    """No control character (tab, CR and LF included) and no lone surrogate: nothing
    :func:`core.spreadsheet.is_safe_text` refuses for its characters. ASCII text as bytes, at C speed."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _PRINTABLE_ASCII)
    return text.isprintable()


def _quoted_cells(values: Sequence[str]) -> Sequence[str]:
    """Text cells as csv.writer writes them: quoted (quotes doubled) when they hold a comma, quote, CR or LF."""
    if not _CSV_QUOTED.search("".join(values)):
        return values
    # str's own searches, not the pattern's, value by value
    return ['"' + value.replace('"', '""') + '"' if '"' in value or "," in value or "\n" in value or "\r" in value
            else value for value in values]


def _csv_cells(values: Sequence[Any]) -> tuple[str, Sequence[str]] | None:
    """(quote, cells): a column's cells as csv.writer writes them (None as an empty cell), but for the
    quotes around them, which the line's fixed pieces write when ``quote`` is ``'"'``; None when a value
    needs :func:`core.spreadsheet.safe_cell` (an illegal character, a formula start) or the column mixes
    numbers and text: the group then goes through ``csv_text`` itself.

    The column's values are looked at joined: printable text (no control character, tab, CR and LF
    included, no lone surrogate, so nothing :func:`is_safe_text` refuses) is searched for a formula start
    after each separator; anything else as before, joined with LF (``is_safe_text`` and a formula start
    after a LF; a LF inside a value can only raise a false alarm, which takes the slow path)."""
    try:
        joined = _SEPARATOR.join(values)  # refused unless every value is text
    except TypeError:
        kinds = set(map(type, values))
        if kinds == {int}:
            return "", list(map(int.__repr__, values))  # str() of an int
        if kinds - {type(None)} - {str}:
            return None  # numbers and text (or None) in one column: the group goes through csv_text
        values = ["" if value is None else value for value in values]
        joined = _SEPARATOR.join(values)
    if not _printable(joined):
        lines = "\n".join(values)
        if not is_safe_text(lines) or _FORMULA_AFTER_JOIN.search(lines):
            return None
        return "", _quoted_cells(values)
    if joined.startswith(FORMULA_START) or _FORMULA_AFTER_SEPARATOR.search(joined):
        return None
    if "," not in joined and '"' not in joined:  # (CR and LF are not printable)
        return "", values
    if joined.count(_SEPARATOR) == len(values) - 1 and all(map(_CONTAINS, values, itertools.repeat('"'))):
        # every value holds a quote (JSON text): all quoted, the quotes doubled in the joined text at once
        return '"', joined.replace('"', '""').split(_SEPARATOR)
    return "", _quoted_cells(values)


@functools.lru_cache(maxsize=64)
def _csv_pieces(quotes: tuple[str, ...]) -> tuple[str, ...]:
    """The fixed text around the cells of a line: the commas, the quotes of the columns quoted whole, CRLF."""
    return (quotes[0], *[before + "," + after for before, after in zip(quotes, quotes[1:])], quotes[-1] + "\r\n")


def _csv_text(columns: list[Sequence[Any]]) -> str:
    """The CSV lines of a group, the same text as :func:`core.spreadsheet.csv_text` of its records
    (None as an empty cell). When no column needs neutralising (the usual case) the lines are put
    together here; any other group goes through ``csv_text`` itself."""
    cells = list(map(_csv_cells, columns))
    if None in cells:
        return csv_text(zip(*[["" if value is None else value for value in values] for values in columns]))
    quotes, texts = zip(*cells)
    return _interleaved(_csv_pieces(quotes), texts)


def period_bounds(first_day: dt.date | None, last_day: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start, end) in UTC for whole Japanese (JST) days ``first_day`` .. ``last_day`` inclusive."""
    start = day_start_utc(first_day) if first_day else None
    end = day_start_utc(last_day + dt.timedelta(days=1)) if last_day else None
    return start, end


def _check_period(first_day: dt.date | None, last_day: dt.date | None) -> None:
    if first_day and last_day and last_day < first_day:
        raise Invalid("The period ends before it starts.", "期間の終わりが始まりより前です。",
                      problems=[{"field": "to", "message_en": "Must not be before 'from'.",
                                 "message_ja": "開始日以降の日付を指定してください。"}])


def records_in_period(session: Session, actor: Actor, first_day: dt.date | None, last_day: dt.date | None,
                      batch: int = 5000) -> Iterable[sa.Row]:
    """Records of whole JST days ``first_day`` .. ``last_day`` (either open), in sequence order, for
    an export (``audit.read``): read-only rows, ``occurred_at`` in UTC (naive on SQLite).

    The right and the period are checked at once (not when the first record is read), so a
    refusal or a bad period is an error before any output is written.
    """
    _check_export(actor, first_day, last_day)
    start, end = period_bounds(first_day, last_day)
    return _records_between(session, start, end, batch)


def _check_export(actor: Actor, first_day: dt.date | None, last_day: dt.date | None) -> None:
    authz.authorize(actor, "audit.read")
    _check_period(first_day, last_day)


def read_records(session: Session, actor: Actor, *, first_day: dt.date | None = None, last_day: dt.date | None = None,
                 action: str | None = None, tenant_code: str | None = None, page: int = 1,
                 per_page: int = 100) -> tuple[list[AuditRecord], int]:
    """One page of records, newest first, and the total matching: filtered by whole JST days,
    action and tenant (``audit.read``)."""
    authz.authorize(actor, "audit.read")
    start, end = period_bounds(first_day, last_day)
    query = sa.select(AuditRecord)
    if start is not None:
        query = query.where(AuditRecord.occurred_at >= start)
    if end is not None:
        query = query.where(AuditRecord.occurred_at < end)
    if action:
        query = query.where(AuditRecord.action == action)
    if tenant_code:
        query = query.where(AuditRecord.tenant_code == tenant_code)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(AuditRecord.seq.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


# An export's columns: occurred_at read as the database gives it (naive UTC on SQLite, aware on
# PostgreSQL), without core.db.UTCDateTime's per-value step; the export writes it in UTC either way.
_EXPORT_COLUMNS = tuple(sa.type_coerce(column, sa.DateTime(timezone=True)).label(column.name)
                        if column.name == "occurred_at" else column for column in _COLUMNS)
# What an export writes, in order (no id): read so by _Records.column_groups
_RECORD_COLUMNS = tuple(next(column for column in _EXPORT_COLUMNS if column.name == name) for name in RECORD_FIELDS)


class _Records:
    """Records in sequence order between two moments, read ``batch`` at a time (keyset on seq, so
    memory stays bounded on both databases, with no cursor held open between batches).

    Iterated, they are read-only rows (attribute access like a record). An export reads them
    through :meth:`column_groups` instead: the driver's tuples, with the result processing
    SQLAlchemy would apply to each column, without building a row object per record."""

    def __init__(self, session: Session, start: dt.datetime | None, end: dt.datetime | None, batch: int) -> None:
        self.session, self.start, self.end, self.batch = session, start, end, batch

    def _results(self, columns: Sequence[Any] = _EXPORT_COLUMNS) -> Iterator[sa.CursorResult]:
        """One result per batch; the caller reads it whole, and its last row's seq (``self.last``)
        starts the next batch. Stops at an empty batch."""
        if self.session.autoflush:
            self.session.flush()  # as an ORM query would, before the plain reads below
        core_audit.append_pending(self.session)  # and the records this transaction made (core.audit)
        connection = self.session.connection()
        self.last = 0
        while True:
            query = sa.select(*columns).where(AuditRecord.seq > self.last)
            if self.start is not None:
                query = query.where(AuditRecord.occurred_at >= self.start)
            if self.end is not None:
                query = query.where(AuditRecord.occurred_at < self.end)
            before = self.last
            yield connection.execute(query.order_by(AuditRecord.seq).limit(self.batch))
            if self.last == before:
                return

    def __iter__(self) -> Iterator[sa.Row]:
        for result in self._results():
            rows = result.all()
            if rows:
                yield from rows
                self.last = rows[-1].seq

    def column_groups(self, size: int) -> Iterator[tuple[int, list[Sequence[Any]]]]:
        """Groups of up to ``size`` records as (count, the values of each of :data:`RECORD_FIELDS`),
        ``occurred_at`` as :func:`record_dict` writes it (from SQLite's stored text when it is in
        SQLAlchemy's format, :func:`_stored_timestamps`, else read as SQLAlchemy reads it)."""
        processors = None
        for result in self._results(_RECORD_COLUMNS):
            with result:
                tuples = result.cursor.fetchall()  # the DBAPI cursor: plain tuples, no row objects
                if processors is None:
                    dialect = result.dialect
                    processors = [(index, column.type.dialect_impl(dialect).result_processor(dialect, described[1]))
                                  for index, (column, described) in enumerate(zip(_RECORD_COLUMNS, result.cursor.description))]
                    moment = processors.pop(_OCCURRED_AT)[1]
                    processors = [(index, processor) for index, processor in processors if processor]
            if not tuples:
                continue
            self.last = tuples[-1][_SEQ]
            for first in range(0, len(tuples), size):
                columns: list[Sequence[Any]] = list(zip(*tuples[first:first + size]))
                for index, processor in processors:
                    columns[index] = list(map(processor, columns[index]))
                stored = columns[_OCCURRED_AT]
                columns[_OCCURRED_AT] = _stored_timestamps(stored) or \
                    _timestamps(list(map(moment, stored)) if moment else stored)
                yield len(columns[0]), columns


def _records_between(session: Session, start: dt.datetime | None, end: dt.datetime | None,
                     batch: int) -> _Records:
    return _Records(session, start, end, batch)


def export_jsonl(records: Iterable[AuditRecord]) -> Iterator[str]:
    """One JSON object per line; the lines verify with :func:`verify_archive_lines`. Yields the text of
    a few records at a time."""
    for _count, columns in _record_columns(records):
        yield _jsonl_text(columns)


def export_csv(records: Iterable[AuditRecord], japanese_headers: bool = True) -> Iterator[str]:
    """CSV for Excel: a BOM, then a header row, then one row per record (times in UTC, ISO 8601)."""
    yield BOM + csv_text([[EXPORT_HEADERS_JA[f] if japanese_headers else f for f in RECORD_FIELDS]])
    for _count, columns in _record_columns(records):
        yield _csv_text(columns)  # safe for Excel (see _csv_text); JSONL verifies


def export_bytes(records: Iterable[AuditRecord], fmt: str = "csv", japanese_headers: bool = True,
                 chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """An export (``csv`` or ``jsonl``) as UTF-8 pieces of about ``chunk_size`` bytes, for a streamed
    download: memory stays bounded whatever the number of records."""
    chunks = export_jsonl(records) if fmt == "jsonl" else export_csv(records, japanese_headers=japanese_headers)
    pending, size = [], 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= chunk_size:
            yield "".join(pending).encode("utf-8")
            pending, size = [], 0
    if pending:
        yield "".join(pending).encode("utf-8")


def export_download(bind: sa.engine.Engine, actor: Actor, first_day: dt.date | None, last_day: dt.date | None,
                    fmt: str = "csv", japanese_headers: bool = True) -> Iterator[bytes]:
    """A streamed download of whole JST days ``first_day`` .. ``last_day``: :func:`export_bytes`
    of :func:`records_in_period`, read on a session of its own (a download outlives the request's
    session), so the first bytes leave at once and memory stays bounded whatever the size of the log.

    The right and the period are checked here, before anything is returned; a refusal or a bad
    period is an error the caller answers with, never a broken download."""
    _check_export(actor, first_day, last_day)

    def pieces() -> Iterator[bytes]:
        with Session(bind) as session:
            yield from export_bytes(records_in_period(session, actor, first_day, last_day), fmt,
                                    japanese_headers=japanese_headers)

    return pieces()


def write_export(out: BinaryIO, records: Iterable[AuditRecord], fmt: str = "csv", japanese_headers: bool = True) -> int:
    """Write an export (``csv`` or ``jsonl``) to a binary file; returns the number of bytes written."""
    return sum(out.write(piece) for piece in export_bytes(records, fmt, japanese_headers=japanese_headers))


# --- archives and purge: every chain's rule (core.chain_archive) ------------------------------------

def _archive_lines(entries: Iterable[sa.Row]) -> chain_archive.Lines:
    """The archive's lines of the audit log: :func:`export_jsonl`'s fast path, a group at a time."""
    for count, columns in _record_columns(entries):
        yield count, _jsonl_text(columns), (columns[_SEQ][-1], columns[_HASH][-1])


def _archive_name(first: int, through: int, now: dt.datetime) -> str:
    return f"audit-archive-{first:09d}-{through:09d}-{now.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}.jsonl"


# The audit log's archives: JSON lines of record_dict, a manifest naming the last record
# (last_seq, last_hash); a JSON-lines export verifies as a stretch of the chain.
AUDIT_ARCHIVE = chain_archive.ArchiveFormat(ARCHIVE_FORMAT, _archive_name, ("last_seq", "last_hash"),
                                            _archive_lines, exports=True)
ArchiveReport = chain_archive.ArchiveReport
PurgeResult = chain_archive.PurgeResult


def verify_archive_lines(lines: Iterable[bytes], name: str = "") -> ArchiveReport:
    """Verify a purge archive (records + manifest) or a JSON-lines export (records only):
    :func:`core.chain_archive.verify_lines`."""
    return chain_archive.verify_lines(lines, AUDIT_CHAIN, AUDIT_ARCHIVE, name)


def verify_archive(path: Path) -> ArchiveReport:
    return chain_archive.verify_archive(path, AUDIT_CHAIN, AUDIT_ARCHIVE)


def _refuse(broken: ChainBreak) -> ChainBroken:
    return ChainBroken(
        f"The audit log is broken at {broken.describe()}; it is not purged. Investigate first.",
        f"操作ログの改ざん・欠落を検出しました（{broken.describe()}）。削除は行いません。先に調査してください。",
    )


def refuse_before_linkages(retention_days: int, linkage_retention_days: int) -> None:
    """The residents' portal shows each desk look-up of a resident from the audit log
    (:func:`residents.portal_history.desk_lookups`) as long as the linkage records are kept: a purge of
    the log keeping fewer days than the linkage records' retention (``RENKEI_LINKAGE_RETENTION_DAYS``) is refused."""
    if retention_days >= linkage_retention_days:
        return
    raise Invalid(
        f"The audit log holds the residents' desk look-up history, which is kept as long as the linkage records "
        f"({linkage_retention_days} days): keep at least {linkage_retention_days} days. Nothing was purged.",
        f"操作ログには住民ポータルで本人に示す窓口での閲覧の記録が含まれ、連携記録と同じ期間（{linkage_retention_days}日）"
        f"保存します。{linkage_retention_days}日以上を指定してください。何も削除していません。",
        problems=[problem("retention_days", f"at least {linkage_retention_days} days",
                          f"{linkage_retention_days}日以上")])


def purge(session: Session, actor: Actor, archive_dir: Path, *, retention_days: int = RETENTION_DAYS,
          now: dt.datetime | None = None, linkage_retention_days: int | None = None) -> PurgeResult | None:
    """Archive, then remove, the records older than the retention period; None if there are none
    (:func:`core.chain_archive.purge`: the log verified first, a broken log not purged). The purge
    records itself (``audit.purge``, repeating the new anchor, which verification requires).
    ``linkage_retention_days``: the linkage records' setting, which the log is kept at least as long as
    (:func:`refuse_before_linkages`)."""
    now = now or chain_archive.utcnow()  # the purge's own clock
    retention.refuse_before("audit_log", now - dt.timedelta(days=retention_days), now)  # the one table
    if linkage_retention_days is not None:
        refuse_before_linkages(retention_days, linkage_retention_days)
    result = chain_archive.purge(session, AUDIT_CHAIN, AUDIT_ARCHIVE, archive_dir, retention_days=retention_days,
                                 refuse=_refuse, now=now)
    if result is not None:
        core_audit.record(session, actor, "audit.purge", "audit_log", f"{result.first_seq}-{result.through_seq}",
                          after={"first_seq": result.first_seq, "through_seq": result.through_seq,
                                 "through_hash": result.through_hash, "count": result.count,
                                 "archive": result.archive_path.name, "archive_sha256": result.archive_sha256,
                                 "archive_dir": str(result.archive_path.parent.resolve()),
                                 "retention_days": retention_days})
    return result
