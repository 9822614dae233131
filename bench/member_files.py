"""Member lists as the secretariat's spreadsheet has them (issue 40): the benchmark's files and the tests'.

``member_rows(count)`` makes ``count`` members with valid corporate numbers (check digit computed by
:func:`core.codes.corporate_check_digit`), Kumamoto addresses, industries, size bands and join dates;
``faulty`` spoils three of them the way Done-when 1 says: a wrong check digit, a number repeated from an
earlier row, and a missing name. ``as_xlsx`` and ``as_csv`` write them with the template's headers.
"""

from __future__ import annotations

import datetime as dt
import io

from core.codes import INDUSTRY_MAJOR_GROUPS, corporate_check_digit

HEADER = ("法人番号", "名称", "所在地", "業種", "規模", "従業員数", "担当者", "メールアドレス", "入会日")
TOWNS = (("熊本市中央区水前寺6-18-1", "431001"), ("八代市松江城町1-25", "432024"), ("菊池郡菊陽町久保田2800", "434043"))
BANDS = ("小規模事業者", "中小企業", "大企業")


def corporate_number(index: int) -> str:
    base = f"{3_000_000_000 + index:012d}"[:12]
    return f"{corporate_check_digit(base)}{base}"


def member_rows(count: int, first_joined: dt.date = dt.date(2019, 4, 1)) -> list[list[str]]:
    letters = list(INDUSTRY_MAJOR_GROUPS)
    rows = []
    for i in range(count):
        town, _code = TOWNS[i % len(TOWNS)]
        letter = letters[i % len(letters)]
        rows.append([corporate_number(i), f"会員{i:04d}株式会社", f"熊本県{town}", f"{letter} {INDUSTRY_MAJOR_GROUPS[letter][0]}",
                     BANDS[i % len(BANDS)], str(5 + i % 400), f"担当{i:04d}", f"member{i}@example.jp",
                     (first_joined + dt.timedelta(days=i % 1500)).isoformat()])
    return rows


FAULTY_LINES = {"check digit": 12, "duplicate": 250, "missing name": 401}  # file lines (the header is line 1)


def faulty(rows: list[list[str]]) -> list[list[str]]:
    """The rows with three faults, at :data:`FAULTY_LINES`: row index = line - 2."""
    spoiled = [list(row) for row in rows]
    number = spoiled[FAULTY_LINES["check digit"] - 2][0]
    spoiled[FAULTY_LINES["check digit"] - 2][0] = f"{(int(number[0]) + 1) % 10}{number[1:]}"
    spoiled[FAULTY_LINES["duplicate"] - 2][0] = spoiled[2][0]  # line 4's number again
    spoiled[FAULTY_LINES["missing name"] - 2][1] = ""
    return spoiled


def as_xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def as_csv(rows: list[list[str]], encoding: str = "cp932") -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([list(HEADER), *rows])
    return buffer.getvalue().encode(encoding)
