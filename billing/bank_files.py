"""The bank's files of money received, read into credit lines (pure: no database).

Three forms are read:

* the 全銀協 入出金取引明細 (種別コード 03) and 振込入金通知 (種別コード 01): fixed-width records of 200
  bytes in the bank's character set (JIS X 0201 half-width kana and ASCII, read as cp932), with or
  without a line break after each record; a header record (データ区分 1), data records (2), a trailer
  (8) with the count and total the data records must add up to, and an end record (9). Dates are
  和暦 YYMMDD in 令和. Only credits are kept (入払区分 1 of the 入出金取引明細; every record of the
  振込入金通知 that is not a cancellation).
* the common CSV form: a header row naming 日付 (or date), 金額 (amount), 振込依頼人 (payer) and 参照
  (reference), UTF-8 (with or without BOM) or cp932.

Anything else is refused whole, with the record or row that is wrong (:class:`MalformedBankFile`).
A line's ``identity`` says which credit it is (the account, the bank's 照会番号 where the file has
one, the date, the amount and the payer): the same identity twice is the same credit reported again.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import re

RECORD = 200
REIWA_BEFORE_FIRST = 2018  # 令和 YY is the year 2018 + YY


class MalformedBankFile(ValueError):
    """The file is not one the bank sends; ``line`` is the record or row (1-based) that is wrong."""

    def __init__(self, message_en: str, message_ja: str, line: int | None = None) -> None:
        super().__init__(message_en)
        self.message_en, self.message_ja, self.line = message_en, message_ja, line


@dataclasses.dataclass(frozen=True)
class CreditLine:
    line_no: int  # the record (or row) of the file, from 1
    booked_on: dt.date  # 勘定日
    amount: int  # yen
    payer: str  # 振込依頼人名 as the bank wrote it
    reference: str  # EDI情報 or the CSV's reference ("" when none)
    bank_ref: str  # the bank's 照会番号 ("" in a CSV)
    sender_bank: str = ""  # 仕向銀行名 / 仕向店名

    def identity(self, account: str) -> str:
        parts = (account, self.bank_ref, self.booked_on.isoformat(), str(self.amount), self.payer.strip(),
                 self.reference.strip())
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class BankFile:
    kind: str  # "zengin_transactions" (入出金取引明細), "zengin_transfers" (振込入金通知), "csv"
    account: str  # bank code, branch code and account number as the header gives them ("" in a CSV)
    credits: tuple[CreditLine, ...]
    sha256: str


KIND_LABELS = {"zengin_transactions": ("全銀協 入出金取引明細", "Zengin deposit/withdrawal details"),
               "zengin_transfers": ("全銀協 振込入金通知", "Zengin transfer credit notice"),
               "csv": ("CSV", "CSV")}


def _records(raw: bytes) -> list[bytes]:
    body = raw.rstrip(b"\x1a")  # an MS-DOS end-of-file mark some banks add
    if b"\n" in body or b"\r" in body:
        records = [record for record in re.split(rb"\r\n|\n|\r", body)]
        while records and records[-1] == b"":
            records.pop()
    else:
        if len(body) % RECORD:
            raise MalformedBankFile(f"the file's length ({len(body)} bytes) is not a multiple of {RECORD}",
                                    f"ファイルの長さ（{len(body)} バイト）が {RECORD} バイトの倍数ではありません。")
        records = [body[start:start + RECORD] for start in range(0, len(body), RECORD)]
    for number, record in enumerate(records, 1):
        if len(record) != RECORD:
            raise MalformedBankFile(f"record {number} is {len(record)} bytes long, not {RECORD}",
                                    f"{number} 件目のレコードが {len(record)} バイトです（{RECORD} バイトのはずです）。", number)
    return records


def _text(record: bytes, start: int, length: int) -> str:
    """Field at 1-based ``start`` of ``length`` bytes, decoded from the bank's character set."""
    return record[start - 1:start - 1 + length].decode("cp932", errors="strict").rstrip(" ")


def _number(record: bytes, start: int, length: int, number: int, name_ja: str) -> int:
    text = record[start - 1:start - 1 + length].decode("ascii", errors="replace")
    if not text.isdigit():
        raise MalformedBankFile(f"record {number}: {name_ja} is not a number ({text.strip()!r})",
                                f"{number} 件目のレコード: {name_ja}が数字ではありません（「{text.strip()}」）。", number)
    return int(text)


def _date(record: bytes, start: int, number: int, name_ja: str) -> dt.date:
    text = record[start - 1:start + 5].decode("ascii", errors="replace")
    try:
        if not text.isdigit():
            raise ValueError(text)
        return dt.date(REIWA_BEFORE_FIRST + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        raise MalformedBankFile(f"record {number}: {name_ja} {text!r} is not a date (令和 YYMMDD)",
                                f"{number} 件目のレコード: {name_ja}「{text}」が日付（令和の年月日 YYMMDD）ではありません。",
                                number) from None


def read_zengin(raw: bytes) -> BankFile:
    """A 全銀協 入出金取引明細 or 振込入金通知 (its header's 種別コード says which)."""
    records = _records(raw)
    if not records:
        raise MalformedBankFile("the file is empty", "ファイルが空です。")
    try:
        kinds = [chr(record[0]) for record in records]
        header = records[0]
        if kinds[0] != "1":
            raise MalformedBankFile("the first record is not a header record (データ区分 1)",
                                    "最初のレコードがヘッダー・レコード（データ区分 1）ではありません。", 1)
        code = header[1:3].decode("ascii", errors="replace")
        if code not in ("01", "03"):
            raise MalformedBankFile(f"種別コード {code!r} is neither 01 (振込入金通知) nor 03 (入出金取引明細)",
                                    f"種別コード「{code}」は 01（振込入金通知）でも 03（入出金取引明細）でもありません。", 1)
        account = f"{_text(header, 23, 4)}-{_text(header, 42, 3)}-{_text(header, 64, 10)}"
        if kinds[-1] != "9" or kinds[-2:-1] != ["8"]:
            raise MalformedBankFile("the file does not end with a trailer record (8) and an end record (9)",
                                    "ファイルの最後がトレーラー・レコード（8）とエンド・レコード（9）ではありません。", len(records))
        data = records[1:-2]
        for number, kind in enumerate(kinds[1:-2], 2):
            if kind != "2":
                raise MalformedBankFile(f"record {number} is not a data record (データ区分 {kind!r})",
                                        f"{number} 件目のレコードがデータ・レコードではありません（データ区分「{kind}」）。", number)
        credits = [_zengin_credit(record, number, code) for number, record in enumerate(data, 2)]
        trailer, trailer_no = records[-2], len(records) - 1
        count = _number(trailer, 2, 6, trailer_no, "件数")
        total = _number(trailer, 8, 12 if code == "01" else 13, trailer_no, "合計金額")
        if code == "01":
            cancelled = _number(trailer, 20, 6, trailer_no, "取消件数")
            wanted = (len(data) - cancelled, sum(c.amount for c in credits if c is not None))
            found = (count - cancelled, total - _number(trailer, 26, 12, trailer_no, "取消金額"))
        else:
            wanted = (sum(1 for c in credits if c is not None), sum(c.amount for c in credits if c is not None))
            found = (count, total)
        if found != wanted:
            raise MalformedBankFile(
                f"the trailer says {found[0]} credit(s) of {found[1]:,} yen, the data records hold {wanted[0]} of {wanted[1]:,} yen",
                f"トレーラー・レコードの入金は {found[0]} 件 {found[1]:,} 円ですが、データ・レコードは {wanted[0]} 件 "
                f"{wanted[1]:,} 円です。", trailer_no)
    except UnicodeDecodeError:
        raise MalformedBankFile("the file holds characters outside the bank's character set (JIS X 0201 / Shift_JIS)",
                                "銀行の文字コード（JIS X 0201・シフトJIS）にない文字が含まれています。") from None
    return BankFile("zengin_transfers" if code == "01" else "zengin_transactions", account,
                    tuple(credit for credit in credits if credit is not None), hashlib.sha256(raw).hexdigest())


def _zengin_credit(record: bytes, number: int, code: str) -> CreditLine | None:
    if code == "01":  # 振込入金通知: 照会番号 6, 勘定日, 起算日, 金額 10, 他店券 10, 依頼人コード 10, 依頼人名 48, ...
        if _text(record, 128, 1) == "1":
            return None  # 取消区分: a cancelled transfer
        return CreditLine(number, _date(record, 8, number, "勘定日"), _number(record, 20, 10, number, "金額"),
                          _text(record, 50, 48), _text(record, 129, 20), _text(record, 2, 6),
                          " ".join(filter(None, (_text(record, 98, 15), _text(record, 113, 15)))))
    # 入出金取引明細: 照会番号 8, 勘定日, 預入払出日, 入払区分 1, 取引区分 2, 取引金額 12, ... 依頼人名 48 at 82
    direction = _text(record, 22, 1)
    if direction not in ("1", "2"):
        raise MalformedBankFile(f"record {number}: 入払区分 {direction!r} is neither 1 (入金) nor 2 (出金)",
                                f"{number} 件目のレコード: 入払区分「{direction}」は 1（入金）でも 2（出金）でもありません。", number)
    amount = _number(record, 25, 12, number, "取引金額")
    booked = _date(record, 10, number, "勘定日")
    if direction == "2":
        return None  # money paid out is not a payment received
    return CreditLine(number, booked, amount, _text(record, 82, 48), _text(record, 180, 20), _text(record, 2, 8),
                      " ".join(filter(None, (_text(record, 130, 15), _text(record, 145, 15)))))


CSV_COLUMNS = {"date": ("日付", "date", "勘定日", "取引日"), "amount": ("金額", "amount", "入金額", "入金金額"),
               "payer": ("振込依頼人", "振込依頼人名", "payer", "依頼人名"), "reference": ("参照", "reference", "摘要", "EDI情報")}


def read_csv(raw: bytes) -> BankFile:
    """The common CSV form: 日付, 金額, 振込依頼人 (kana), 参照; UTF-8 or cp932."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp932")
        except UnicodeDecodeError:
            raise MalformedBankFile("the CSV is neither UTF-8 nor Shift_JIS", "CSV が UTF-8 でもシフトJIS でもありません。") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise MalformedBankFile("the file is empty", "ファイルが空です。")
    header = [cell.strip() for cell in rows[0]]
    where = {}
    for field, names in CSV_COLUMNS.items():
        found = [index for index, cell in enumerate(header) if cell in names or cell.lower() in names]
        if not found and field != "reference":
            raise MalformedBankFile(f"the CSV has no column {names[1]} ({names[0]})",
                                    f"CSV に「{names[0]}」の列がありません。", 1)
        where[field] = found[0] if found else None
    credits = []
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(field: str) -> str:
            index = where[field]
            return row[index].strip() if index is not None and index < len(row) else ""
        day = _csv_date(cell("date"))
        amount_text = cell("amount").replace(",", "").replace("円", "")
        if day is None or not amount_text.isdigit() or int(amount_text) <= 0 or not cell("payer"):
            raise MalformedBankFile(
                f"row {number}: a date (2025-09-01), an amount in whole yen above 0 and a payer are needed",
                f"{number} 行目: 日付（2025-09-01 など）、1 円以上の金額（整数）、振込依頼人が必要です。", number)
        credits.append(CreditLine(number, day, int(amount_text), cell("payer"), cell("reference"), ""))
    return BankFile("csv", "", tuple(credits), hashlib.sha256(raw).hexdigest())


def _csv_date(text: str) -> dt.date | None:
    from core.calendar import read_date

    return read_date(text.replace("/", "-")) if text else None


def read_bank_file(raw: bytes) -> BankFile:
    """Either form, told apart by the first byte: a 全銀協 file starts with its header's データ区分 1."""
    if raw[:1] == b"1" and len(raw.split(b"\n", 1)[0].rstrip(b"\r")) >= RECORD:
        return read_zengin(raw)
    return read_csv(raw)
