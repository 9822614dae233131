"""Reading files from Japanese offices: text decoding, CSV header aliases and line numbers.

The one home of these rules; every file renkei reads from people (tenant imports, onboarding
wave files, gateway usage logs, simulation scenarios) goes through it.

* **Decoding** (:func:`decode`): UTF-8 with or without BOM first, then CP932 (Shift_JIS as
  Excel and older Windows tools write it). A file with NUL bytes (UTF-16, or not text at all)
  or in neither encoding is refused in English and Japanese, saying how to save it.
* **Headers** (:class:`Columns`): each kind of file maps the column names people write, in
  Japanese or English, to its field names. Names are compared after NFKC normalisation (full-
  and half-width forms are the same), without spaces and case-insensitively, so 「団体コード」,
  ``団体 コード`` and ``Code`` all match. Every header problem (an unknown column, a required
  column missing, two columns meaning the same field) is reported on ``line 1`` at once.
* **Files of any size** (:func:`stream_rows`, :func:`lines`): the same rules, decoded as the file
  is read (the encoding sniffed from its first non-ASCII bytes), so memory stays bounded.
* **Rows** (:func:`rows`, :func:`read`): each non-blank row with the number of the file line
  it starts on (the header is line 1), its recognised values stripped, and a problem when it
  has values beyond the header's columns (a value under a column without a name is one: a
  workbook's sheet reaches its widest row, so CSV files and workbooks are judged alike).
* **Cells before any header rule** (:func:`table`): the same reader for a check that applies rules
  of its own (the standard kinds' check, :mod:`catalogue.standards`).
* **Excel workbooks** (:func:`source_rows`, :func:`read`): an ``.xlsx`` file (known by its first
  bytes, whatever its name) is read as its first sheet, row 1 the header, under the same header
  and row rules, each row's line being its row number in Excel; numbers are read as Excel shows
  them (``431001``, not ``431001.0``), dates as ``2025-04-01``. Read as it streams (openpyxl's
  read-only mode), so memory stays bounded too.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from core.errors import DomainError, Invalid, problem


class FileRejected(Invalid):
    """A file could not be read (encoding, emptiness, header row); nothing was done with it."""


Rejected = type[DomainError]  # the error a caller wants raised (e.g. its own ImportRejected)

_ENCODINGS = ("utf-8-sig", "cp932")


def decode(raw: bytes, *, rejected: Rejected = FileRejected) -> str:
    """The text of ``raw``: UTF-8 (BOM or not), else CP932; anything else raises ``rejected``."""
    return decode_with_encoding(raw, rejected=rejected)[0]


def decode_with_encoding(raw: bytes, *, rejected: Rejected = FileRejected) -> tuple[str, str]:
    """The text of ``raw`` as :func:`decode` reads it, and the encoding it was in (``utf-8`` or ``cp932``)."""
    if b"\x00" not in raw:  # NUL bytes: UTF-16 or a binary file (CP932 would decode them silently)
        for encoding in _ENCODINGS:
            try:
                return raw.decode(encoding), ("utf-8" if encoding == "utf-8-sig" else encoding)
            except UnicodeDecodeError:
                continue
    raise _not_text(rejected)


def _not_text(rejected: Rejected) -> DomainError:
    return rejected(
        "The file is neither UTF-8 nor Shift_JIS (CP932) text; save it as UTF-8 "
        "(from Excel: CSV UTF-8) and try again.",
        "ファイルの文字コードが UTF-8 でも Shift_JIS (CP932) でもありません。"
        "UTF-8 で保存し直してください（Excel では「CSV UTF-8」）。",
    )


# --- files of any size: decoded as they are read, never held whole ------------------------------

CHUNK_BYTES = 1 << 20


def sniff_encoding(path: Path, *, rejected: Rejected = FileRejected, chunk_bytes: int = CHUNK_BYTES) -> str:
    """``utf-8-sig`` or ``cp932``, as :func:`decode` would choose, reading ``path`` chunk by chunk.

    The first chunk with a non-ASCII byte decides: valid UTF-8 there means UTF-8, otherwise CP932
    (a file that changes encoding later is refused while it is read). A file of ASCII only is UTF-8.
    NUL bytes (UTF-16, or not text) are refused.
    """
    with open(path, "rb") as binary:
        return sniff_stream_encoding(binary, rejected=rejected, chunk_bytes=chunk_bytes)


def lines(path: Path, *, rejected: Rejected = FileRejected, encoding: str | None = None) -> Iterator[str]:
    """The text lines of ``path`` (line ends kept, as CSV wants them), decoded as they are read:
    memory stays bounded whatever the file size. Bytes that do not decode, or NUL, raise ``rejected``."""
    encoding = encoding or sniff_encoding(path, rejected=rejected)
    with open(path, encoding=encoding, newline="") as text:
        yield from _text_lines(text, rejected)


def _text_lines(text: Iterable[str], rejected: Rejected) -> Iterator[str]:
    """The lines of a decoding text stream; bytes that do not decode, or NUL, raise ``rejected``."""
    try:
        for line in text:
            if "\x00" in line:
                raise _not_text(rejected)
            yield line
    except UnicodeDecodeError:
        raise _not_text(rejected) from None


def stream_rows(path: Path, columns: Columns, *, rejected: Rejected = FileRejected) -> Iterator[Row]:
    """:func:`rows` of the file at ``path``, read and decoded as the rows are consumed."""
    return _rows_of(lines(path, rejected=rejected), columns, rejected)


def sniff_stream_encoding(binary: BinaryIO, *, rejected: Rejected = FileRejected,
                          chunk_bytes: int = CHUNK_BYTES) -> str:
    """:func:`sniff_encoding` for an open binary stream that can seek (an upload spooled by werkzeug,
    a file): reads chunk by chunk up to the first non-ASCII bytes, then goes back to the start."""
    start = binary.tell()
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoding = "utf-8-sig"
    try:
        while chunk := binary.read(chunk_bytes):
            if b"\x00" in chunk:
                raise _not_text(rejected)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                encoding = "cp932"
                break
            if not chunk.isascii():
                break
    finally:
        binary.seek(start)
    return encoding


def stream_lines(binary: BinaryIO, *, rejected: Rejected = FileRejected) -> Iterator[str]:
    """The text lines of an open binary stream (an upload's ``FileStorage.stream``), decoded as they
    are read (:class:`io.TextIOWrapper` after sniffing the encoding on the first bytes): memory stays
    bounded whatever the size. A stream that cannot seek is first spooled to a temporary file."""
    if not (hasattr(binary, "seekable") and binary.seekable()):
        spool = tempfile.SpooledTemporaryFile(max_size=CHUNK_BYTES)
        shutil.copyfileobj(binary, spool, CHUNK_BYTES)
        spool.seek(0)
        binary = spool
    encoding = sniff_stream_encoding(binary, rejected=rejected)
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")  # type: ignore[arg-type]
    try:
        yield from _text_lines(text, rejected)
    finally:
        text.detach()  # the caller's stream stays open (and is the caller's to close)


Source = bytes | str | Path | BinaryIO  # what a file check accepts: held bytes or text, a path, a stream


def source_rows(source: Source, columns: Columns, *, rejected: Rejected = FileRejected) -> Iterator[Row]:
    """:func:`rows` of ``source``: a path or a binary stream is read row by row as the rows are
    consumed (never held whole); bytes are decoded as :func:`decode` says; text is read as it is.
    An Excel workbook (bytes, path or stream) is read as :func:`workbook_rows` says."""
    if isinstance(source, str):
        return rows(source, columns, rejected=rejected)
    if isinstance(source, (bytes, bytearray, memoryview)):
        if is_workbook(bytes(source[:len(XLSX_MAGIC)])):
            return workbook_rows(io.BytesIO(bytes(source)), columns, rejected=rejected)
        return rows(decode(bytes(source), rejected=rejected), columns, rejected=rejected)
    if isinstance(source, Path):
        with open(source, "rb") as head:
            if is_workbook(head.read(len(XLSX_MAGIC))):
                return workbook_rows(source, columns, rejected=rejected)
        return stream_rows(source, columns, rejected=rejected)
    if hasattr(source, "seekable") and source.seekable():
        start = source.tell()
        first = source.read(len(XLSX_MAGIC))
        source.seek(start)
        if is_workbook(first):
            return workbook_rows(source, columns, rejected=rejected)
    return _rows_of(stream_lines(source, rejected=rejected), columns, rejected)


# --- Excel workbooks ------------------------------------------------------------------------------

XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx is a ZIP archive; no CSV starts with these bytes


def is_workbook(first_bytes: bytes) -> bool:
    """Whether a file starting with ``first_bytes`` is an Excel workbook (.xlsx) rather than text."""
    return first_bytes[:len(XLSX_MAGIC)] == XLSX_MAGIC


def cell_text(value: Any) -> str:
    """A cell's value as the person sees it in Excel: whole numbers without ``.0``, dates as
    ``2025-04-01`` (with the time only when there is one), empty cells as ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


class _SheetReader:
    """A worksheet's rows as :func:`csv.reader` gives a file's (lists of text, ``line_num`` the row
    just read), so that the header and row rules of CSV files apply unchanged."""

    def __init__(self, sheet_rows: Iterator[tuple[Any, ...]]) -> None:
        self._rows = sheet_rows
        self.line_num = 0

    def __iter__(self) -> _SheetReader:
        return self

    def __next__(self) -> list[str]:
        values = next(self._rows)
        self.line_num += 1
        return [cell_text(value) for value in values]


def _not_a_workbook(rejected: Rejected) -> DomainError:
    return rejected("The file looks like an Excel workbook but cannot be read as one (.xlsx); save it again "
                    "from Excel as .xlsx or as CSV UTF-8 and try again.",
                    "Excel ブック（.xlsx）として読めません。Excel で .xlsx または「CSV UTF-8」として保存し直してください。")


def workbook_rows(source: Path | BinaryIO, columns: Columns, *, rejected: Rejected = FileRejected) -> Iterator[Row]:
    """:func:`rows` of an Excel workbook's first sheet (row 1 the header; see the module's text)."""
    return _rows_of_reader(_workbook_reader(source, rejected), columns, rejected)


def _workbook_reader(source: Path | BinaryIO, rejected: Rejected) -> _SheetReader:
    """A workbook's first sheet, read like a CSV file (:class:`_SheetReader`)."""
    from openpyxl import load_workbook  # only when a workbook comes (heavy; the CLI starts without it)
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(source, read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except (zipfile.BadZipFile, InvalidFileException, KeyError, IndexError, OSError, ValueError, TypeError):
        raise _not_a_workbook(rejected) from None
    return _SheetReader(_sheet_rows(book, sheet, rejected))


def _sheet_rows(book: Any, sheet: Any, rejected: Rejected) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows of values, the workbook closed when they end; a part of the archive that
    turns out broken while it streams is the same refusal as a workbook that cannot be opened."""
    try:
        yield from sheet.iter_rows(values_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError):
        raise _not_a_workbook(rejected) from None
    finally:
        book.close()


def header_key(name: str) -> str:
    """How a column name is compared: NFKC, without spaces (half- or full-width), case-folded."""
    normal = unicodedata.normalize("NFKC", name).replace("\ufeff", "")
    return "".join(normal.split()).casefold()


@dataclass(frozen=True)
class Columns:
    """The columns of one kind of file.

    ``aliases`` maps column names as people write them to field names (include each field's own
    name); ``required`` fields must have a column; ``labels_ja`` names fields in Japanese in the
    messages; columns not in ``aliases`` are refused unless ``ignore_unknown`` (a log export may
    carry columns renkei does not read); ``max_rows``: the most data rows the file may have (a
    longer one is refused as soon as the row after the last allowed is read, nothing checked further).
    """

    aliases: Mapping[str, str]
    required: Sequence[str] = ()
    labels_ja: Mapping[str, str] = field(default_factory=dict)
    ignore_unknown: bool = False
    max_rows: int | None = None  # a file of records: refused at its row max_rows + 1 (IMPORT_MAX_ROWS)
    _by_key: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key: dict[str, str] = {}
        for name, target in self.aliases.items():
            key = header_key(name)
            if by_key.setdefault(key, target) != target:
                raise ValueError(f"header alias {name!r} names both {by_key[key]!r} and {target!r}")
        object.__setattr__(self, "_by_key", by_key)

    def field_of(self, name: str) -> str | None:
        """The field a column name means, or None."""
        return self._by_key.get(header_key(name))

    def fields(self) -> list[str]:
        """Every field, in the order the aliases first name them."""
        return list(dict.fromkeys(self.aliases.values()))

    def label(self, name: str) -> str:
        """``団体コード（code）``: how a field is named in Japanese messages."""
        label = self.labels_ja.get(name)
        return f"{label}（{name}）" if label and label != name else name


@dataclass(frozen=True)
class Row:
    """One data row: ``line`` is the file line it starts on (the header is line 1)."""

    line: int
    values: dict[str, str]  # field -> value, stripped; only recognised columns
    problems: tuple[dict[str, str], ...] = ()  # problems of the row's shape (too many values)

    @property
    def where(self) -> str:
        return f"line {self.line}"


# The most data rows a file of records may have (a dataset list, a tenant registry, a wave of
# municipalities): Japan has 1,741 municipalities, and a prefecture's catalogue a few thousand
# datasets (whose import has a lower cap of its own: catalogue.importing.MAX_ROWS). A file
# beyond it is refused at its row IMPORT_MAX_ROWS + 1, and the largest accepted file
# is judged in seconds (docs/datasets.md, "Imports: a row cap and a time budget";
# bench/bench_imports.py). The usage logs are not records: streamed, bounded by memory, not rows.
IMPORT_MAX_ROWS = 10_000


def too_many_rows(limit: int, line: int, rejected: Rejected) -> DomainError:
    """The refusal of a file with more than ``limit`` data rows (found on ``line``)."""
    en = f"The file has more than {limit:,} rows; split it into files of at most {limit:,} rows. Nothing was done."
    ja = f"ファイルの行数が {limit:,} 行を超えています。{limit:,} 行以内のファイルに分けてください。何も処理していません。"
    return rejected(en, ja, problems=[problem(f"line {line}", en, ja)])


HEADER_ERRORS = ("The header row has errors; nothing was done.", "見出し行に誤りがあります。何も処理していません。")
EMPTY_FILE = ("The file is empty.", "ファイルが空です。")


def _header_fields(header: Sequence[str], columns: Columns) -> tuple[list[str | None], list[dict[str, str]]]:
    fields: list[str | None] = []
    problems: list[dict[str, str]] = []
    first_column: dict[str, str] = {}
    for name in header:
        target = columns.field_of(name)
        if target is None:
            if name.strip() and not columns.ignore_unknown:
                problems.append(problem("line 1", f"Unknown column {name!r}.", f"列名 {name!r} は使えません。"))
        elif target in first_column:
            problems.append(problem(
                "line 1",
                f"Columns {first_column[target]!r} and {name!r} both mean {target}; keep one of them.",
                f"列 {first_column[target]!r} と {name!r} は同じ項目 {columns.label(target)} です。どちらか一方にしてください。",
            ))
            target = None
        else:
            first_column[target] = name
        fields.append(target)
    for name in columns.required:
        if name not in first_column:
            label = columns.label(name)
            problems.append(problem(
                "line 1",
                f"Required column {name!r} is missing.",
                f"必須の列 {label}{'' if label.endswith('）') else ' '}がありません。",
            ))
    return fields, problems


def rows(text: str, columns: Columns, *, rejected: Rejected = FileRejected) -> Iterator[Row]:
    """The non-blank data rows of CSV ``text``. The header is checked first, before any row is
    returned: an empty file or a header with problems raises ``rejected`` (listing them all)."""
    return _rows_of(io.StringIO(text, newline=""), columns, rejected)


# The longest value a CSV field may have (Python's csv module refuses longer ones; so does renkei).
FIELD_LIMIT_CHARS = 128 * 1024


def _unreadable(error: csv.Error, line: int, rejected: Rejected) -> DomainError:
    """A CSV the csv module cannot read (a field over :data:`FIELD_LIMIT_CHARS`, a broken quote)."""
    if "field larger than field limit" in str(error):
        en = f"A value is longer than {FIELD_LIMIT_CHARS:,} characters; nothing was done."
        ja = f"{FIELD_LIMIT_CHARS:,} 文字を超える値があります。何も処理していません。"
    else:
        en, ja = f"The file is not readable as CSV ({error}); nothing was done.", "CSV として読めません。何も処理していません。"
    return rejected(en, ja, problems=[problem(f"line {line}", en, ja)])


def _guarded(reader: Any, rejected: Rejected) -> Iterator[list[str]]:
    """The rows of ``reader``; a csv.Error becomes ``rejected`` naming the line, never a 500."""
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _unreadable(error, reader.line_num, rejected) from None
        yield values


def _rows_of(lines: Iterable[str], columns: Columns, rejected: Rejected) -> Iterator[Row]:
    csv.field_size_limit(FIELD_LIMIT_CHARS)
    return _rows_of_reader(csv.reader(lines), columns, rejected)


def _header_of(reader: Any, rejected: Rejected) -> list[str]:
    """The header row of a CSV reader (or a sheet read like one); an empty file raises ``rejected``."""
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise _unreadable(error, 1, rejected) from None
    if header is None or not any(name.strip() for name in header):
        raise rejected(*EMPTY_FILE)
    return header


def _rows_of_reader(reader: Any, columns: Columns, rejected: Rejected) -> Iterator[Row]:
    """The header checked, then the data rows, of a CSV reader (or a sheet read like one)."""
    header = _header_of(reader, rejected)
    fields, problems = _header_fields(header, columns)
    if problems:
        raise rejected(*HEADER_ERRORS, problems=problems)
    return _data_rows(reader, fields, rejected, columns.max_rows, unnamed=unnamed_columns(header))


def unnamed_columns(header: Sequence[str]) -> frozenset[int]:
    """The positions of a header's columns without a name. A value under one is a value beyond the
    header, in a CSV file and a workbook alike (a sheet's rows reach its widest row, so a column of
    values right of the header comes with a blank header cell; a CSV row is simply longer)."""
    return frozenset(i for i, name in enumerate(header) if not name.strip())


EXTRA_VALUES = ("The row has more values than the header has columns.", "見出しより多くの値があります。")


def beyond_header(values: Sequence[str], width: int, unnamed: frozenset[int]) -> bool:
    """Whether a row has a value beyond its header of ``width`` columns, ``unnamed`` of them without a
    name (:func:`unnamed_columns`): the one test, for the imports' rows and the standards' check alike."""
    return any(value.strip() for i, value in enumerate(values) if i >= width or i in unnamed)


def blank(values: Iterable[str]) -> bool:
    """A row without values (every cell empty or white space): not a data row."""
    return not any(value.strip() for value in values)


def _data_rows(reader: Any, fields: list[str | None], rejected: Rejected = FileRejected,
               max_rows: int | None = None, unnamed: frozenset[int] = frozenset()) -> Iterator[Row]:
    last_line = reader.line_num
    count = 0
    for values in _guarded(reader, rejected):
        line, last_line = last_line + 1, reader.line_num
        if blank(values):
            continue
        count += 1
        if max_rows is not None and count > max_rows:
            raise too_many_rows(max_rows, line, rejected)
        shape: tuple[dict[str, str], ...] = ()
        if beyond_header(values, len(fields), unnamed):
            shape = (problem(f"line {line}", *EXTRA_VALUES),)
        cells = {name: value.strip() for name, value in zip(fields, values) if name}
        yield Row(line, cells, shape)


@dataclass
class Table:
    """A file's cells as read, before any header rule: CSV (UTF-8, UTF-8 with BOM, CP932) or an
    Excel workbook's first sheet, by the same reader the imports use. ``encoding`` is ``utf-8``,
    ``cp932`` or ``xlsx``; ``header`` the first row; ``rows`` yields ``(line, values)`` for every row
    after it, blank ones included (``line``: the file line or the sheet's row the row starts on)."""

    encoding: str
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


def table(raw: bytes, *, rejected: Rejected = FileRejected) -> Table:
    """The :class:`Table` of ``raw``, a CSV file or an Excel workbook held in memory."""
    if is_workbook(raw[:len(XLSX_MAGIC)]):
        reader: Any = _workbook_reader(io.BytesIO(raw), rejected)
        encoding = "xlsx"
    else:
        text, encoding = decode_with_encoding(raw, rejected=rejected)
        csv.field_size_limit(FIELD_LIMIT_CHARS)
        reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = _header_of(reader, rejected)
    return Table(encoding, header, _numbered(reader, rejected))


def _numbered(reader: Any, rejected: Rejected) -> Iterator[tuple[int, list[str]]]:
    last_line = reader.line_num
    for values in _guarded(reader, rejected):
        line, last_line = last_line + 1, reader.line_num
        yield line, values


# How many problems a file check lists (the total is always counted): a file with a million bad
# rows gives a small report, not a page of hundreds of megabytes. The one setting,
# RENKEI_MAX_PROBLEMS_LISTED, sets it at start-up (admin.create_app).
MAX_PROBLEMS_LISTED = 200


def no_data_rows() -> dict[str, str]:
    """The problem of a file with a header row and no data rows."""
    return problem("line 2", "The file has no data rows.", "データ行がありません。")


class Problems:
    """The problems of a file check: the first ``limit`` kept, all of them counted."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_PROBLEMS_LISTED if limit is None else limit  # the setting, read when the check starts
        self.listed: list[dict[str, str]] = []
        self.total = 0

    def add(self, *found: dict[str, str]) -> None:
        self.total += len(found)
        room = self.limit - len(self.listed)
        if room > 0:
            self.listed.extend(found[:room])

    def __bool__(self) -> bool:
        return self.total > 0

    def details(self) -> dict[str, Any]:
        """What a refusal of the file carries: the problems listed, and how many there are in all."""
        return {"problems": self.listed, "errors_total": self.total, "errors_listed": len(self.listed)}

    def summary(self) -> tuple[str, str]:
        """``(first 200 of 199,999 listed)`` in English and Japanese, or empty when all are listed."""
        if self.total <= len(self.listed):
            return "", ""
        return (f" (the first {len(self.listed):,} of {self.total:,} are listed)",
                f"（{self.total:,} 件のうち最初の {len(self.listed):,} 件を示します）")


def read(raw: bytes, columns: Columns, *, rejected: Rejected = FileRejected) -> list[Row]:
    """All the rows of ``raw``: a CSV decoded as :func:`decode` says, or an Excel workbook."""
    return list(source_rows(raw, columns, rejected=rejected))
