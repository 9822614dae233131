"""The secretariat's bulk import of the members who already exist (issue 40 item 1).

The consortium's list of members (the prefecture's 参加した会員の情報が記載された資料) comes as an Excel
workbook or a CSV file in UTF-8 or CP932 with Japanese headers (法人番号, 名称, 所在地, 業種, 規模, 担当者,
入会日 …). It is read by the one reader every import uses (:mod:`core.csvfile`: encodings, workbooks,
a row cap, the problems listed bounded and all counted) and checked as the tenant import checks its
file (:mod:`tenancy.registry.importing`):

* **every row is checked before anything is written**: the corporate number with its check digit
  (:func:`core.codes.corporate_number_problem`), the name, the join date, the industry
  (日本標準産業分類 major group, :data:`core.codes.INDUSTRY_MAJOR_GROUPS`), the size band, the
  municipality (a local-government code with its check digit, or read from the address);
  a number that appears twice in the file is named with the line it first appears on;
* a file with any problem is refused whole (:class:`tenancy.errors.ImportRejected`, the bad lines
  named); nothing is written;
* a file without problems gives a **preview**: each row is *new*, *already a member* (the register
  has the same information) or *differs* (the register has the number with other information;
  the fields are named). A number the register holds as an application still under screening, or
  rejected, is a problem: the import does not decide applications.

Confirming writes it all in one flush with one audit record (``member.import``): new members are
entered as members (入会承認済み, or 退会 when the row has a leave date) with their join date, and
without a Keycloak group: their accounts are opened later, one by one, when the secretariat invites
their admin. A member that *differs* gets the file's member information (industry, size, employees,
capital, municipality, join date); its name, status and contacts stay as the register has them. No
one is mailed unless the secretariat asks (``notify``): then each new member's contact gets one
message through the outbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, csvfile, outbox
from core.actor import Actor
from core.calendar import read_date, read_era_date, today_jst
from core.codes import (INDUSTRY_MAJOR_GROUPS, LOCAL_GOVERNMENT_BASE_PREFIX, code_problem, corporate_number_problem,
                        industry_of)
from core.errors import problem
from core.labelled import LabelledEnum, labels
from core.spreadsheet import csv_bytes, safe_row
from core.validation import email_problem, text_field_problem
from tenancy.errors import ImportRejected
from tenancy.members.models import PREFECTURES, MemberStatus, Organisation, OrganisationKind, SizeBand, size_band_of
from tenancy.registry.importing import reference_municipalities
from tenancy.registry.models import Tenant
from tenancy.registry.prefecture import home_prefecture_name

ACTION = "member.import"

HEADER_ALIASES: dict[str, str] = {
    "法人番号": "corporate_number", "corporate_number": "corporate_number",
    "名称": "name", "団体名": "name", "法人名": "name", "会員名": "name", "name": "name",
    "フリガナ": "name_kana", "名称（カナ）": "name_kana", "カナ": "name_kana", "name_kana": "name_kana",
    "種別": "kind", "kind": "kind",
    "所在地": "address", "住所": "address", "address": "address",
    "市区町村コード": "municipality_code", "市町村コード": "municipality_code", "団体コード": "municipality_code",
    "municipality_code": "municipality_code",
    "業種": "industry", "産業分類": "industry", "industry": "industry",
    "規模": "size_band", "size_band": "size_band",
    "従業員数": "employees", "employees": "employees",
    "資本金": "capital_yen", "資本金（円）": "capital_yen", "capital_yen": "capital_yen",
    "代表者": "representative", "代表者名": "representative", "representative": "representative",
    "担当者": "contact_name", "担当者名": "contact_name", "contact_name": "contact_name",
    "メールアドレス": "contact_email", "メール": "contact_email", "contact_email": "contact_email",
    "電話番号": "contact_phone", "電話": "contact_phone", "contact_phone": "contact_phone",
    "入会日": "joined_on", "joined_on": "joined_on",
    "退会日": "left_on", "left_on": "left_on",
    "退会理由": "leave_reason", "leave_reason": "leave_reason",
}
HEADERS_JA = {
    "corporate_number": "法人番号", "name": "名称", "name_kana": "フリガナ", "kind": "種別", "address": "所在地",
    "municipality_code": "市区町村コード", "industry": "業種", "size_band": "規模", "employees": "従業員数",
    "capital_yen": "資本金", "representative": "代表者", "contact_name": "担当者", "contact_email": "メールアドレス",
    "contact_phone": "電話番号", "joined_on": "入会日", "left_on": "退会日", "leave_reason": "退会理由",
}
REQUIRED_COLUMNS = ("corporate_number", "name", "joined_on")
COLUMNS = csvfile.Columns(HEADER_ALIASES, required=REQUIRED_COLUMNS, labels_ja=HEADERS_JA,
                          max_rows=csvfile.IMPORT_MAX_ROWS)

# what a row that differs from the register changes there (name, status and contacts never)
INFO_FIELDS = ("industry", "size_band", "employees", "capital_yen", "municipality_code", "joined_on")
FIELD_LABELS = {name: (HEADERS_JA[name], name.replace("_", " ")) for name in HEADERS_JA}

_KIND_WORDS = {word: kind for kind, (ja, en) in labels(OrganisationKind).items() for word in (ja, en, kind.value)} | {
    "大学": OrganisationKind.university, "研究機関": OrganisationKind.university, "NPO": OrganisationKind.npo,
    "団体": OrganisationKind.npo, "法人": OrganisationKind.company, "株式会社": OrganisationKind.company,
}
_SIZE_WORDS = {word: band for band, (ja, en) in labels(SizeBand).items() for word in (ja, en, band.value)} | {
    "小規模": SizeBand.small, "小規模事業者": SizeBand.small, "中小": SizeBand.medium, "中小企業": SizeBand.medium,
    "大企業": SizeBand.large, "大": SizeBand.large, "対象外": SizeBand.not_applicable,
}


class Outcome(LabelledEnum):
    """What a row of the file is beside the register."""

    NEW = "new", "新規", "New"
    SAME = "same", "登録済み（同じ内容）", "Already a member"
    DIFFERS = "differs", "登録済み（内容が異なる）", "Differs from the register"


@dataclasses.dataclass(frozen=True)
class CheckedRow:
    """One row of the file as checked: what it would write and what the register says now."""

    line: int
    values: dict[str, Any]  # Organisation fields
    outcome: Outcome = Outcome.NEW
    changes: dict[str, tuple[Any, Any]] = dataclasses.field(default_factory=dict)  # field -> (register, file)

    @property
    def corporate_number(self) -> str:
        return self.values["corporate_number"]

    @property
    def name(self) -> str:
        return self.values["name"]


@dataclasses.dataclass(frozen=True)
class Preview:
    rows: list[CheckedRow]

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


@dataclasses.dataclass(frozen=True)
class ImportResult:
    created: list[str]
    updated: list[str]
    unchanged: int
    notified: int


# --- one row ---------------------------------------------------------------------------------------

def _normal(value: str) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


def _whole_number(value: str, field: str, where: str, problems: list[dict[str, str]]) -> int | None:
    """``1,200``, ``１２００`` or ``3000万``-free digits with an optional 人 / 円; None when blank."""
    text = _normal(value).replace(",", "").removesuffix("人").removesuffix("円").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) <= 15:
        return int(text)
    label = HEADERS_JA[field]
    problems.append(problem(f"{where}: {field}", f"{value!r} is not a whole number.", f"{label} {value!r} は 0 以上の整数ではありません。"))
    return None


def _date(value: str, field: str, where: str, problems: list[dict[str, str]]) -> dt.date | None:
    text = _normal(value)
    if not text:
        return None
    day = read_date(text) or read_era_date(text)
    if day is None:
        try:
            day = dt.date.fromisoformat(text[:10])
        except ValueError:
            label = HEADERS_JA[field]
            problems.append(problem(f"{where}: {field}", f"{value!r} is not a date (e.g. 2024-04-01 or 令和6年4月1日).",
                                    f"{label} {value!r} は日付ではありません（例: 2024-04-01、令和6年4月1日）。"))
            return None
    if day > today_jst():
        problems.append(problem(f"{where}: {field}", f"{day.isoformat()} is in the future.",
                                f"{HEADERS_JA[field]} {day.isoformat()} は未来の日付です。"))
        return None
    return day


class Places:
    """Where an address is: its prefecture, and its municipality's code by name (the municipalities the
    registry and renkei's reference data know); the home prefecture for an address that names none."""

    def __init__(self, session: Session) -> None:
        self.home = home_prefecture_name(session)
        names = {code: row["name_ja"] for code, row in reference_municipalities().items()}
        names.update({code: name for code, name in session.execute(sa.select(Tenant.code, Tenant.name_ja))})
        self.names = names
        self.by_name = {name: code for code, name in names.items() if code[2:5] != "000"}

    def prefecture(self, address: str, municipality_code: str) -> str:
        for name in PREFECTURES:
            if address.startswith(name):
                return name
        if municipality_code:
            number = int(municipality_code[:2])
            if 1 <= number <= len(PREFECTURES):
                return PREFECTURES[number - 1]
        return self.home

    def municipality(self, address: str, prefecture: str) -> str:
        """The code of the municipality an address names (熊本県上益城郡益城町… → 434434), or ""."""
        rest = address.removeprefix(prefecture)
        if "郡" in rest[:6]:
            rest = rest[rest.index("郡") + 1:]
        best = ""
        for name, code in self.by_name.items():
            if rest.startswith(name) and len(name) > len(best) and PREFECTURES[int(code[:2]) - 1] == prefecture:
                best = name
        return self.by_name.get(best, "")

    def name_of(self, code: str) -> str:
        return self.names.get(code, "")


def _text(row: dict[str, str], field: str, limit: int, where: str, problems: list[dict[str, str]], *,
          required: bool = False) -> str:
    value = row.get(field, "").strip()
    found = text_field_problem(f"{where}: {field}", value, field.replace("_", " "), HEADERS_JA[field], limit, required=required)
    if found is not None:
        problems.append(found)
    return value


def _coded(row: dict[str, str], where: str, places: Places, problems: list[dict[str, str]]) -> dict[str, Any]:
    """The row's coded fields: kind, industry, size band, employees, capital, municipality, prefecture."""
    values: dict[str, Any] = {}
    kind_text = _normal(row.get("kind", ""))
    values["kind"] = _KIND_WORDS.get(kind_text, OrganisationKind.company if not kind_text else None)
    if values["kind"] is None:
        problems.append(problem(f"{where}: kind", f"Unknown kind {kind_text!r}.",
                                f"種別 {kind_text!r} は使えません（{'、'.join(ja for ja, _ in labels(OrganisationKind).values())}）。"))
    industry_text = row.get("industry", "")
    values["industry"] = industry_of(industry_text) or ""
    if industry_text.strip() and not values["industry"]:
        problems.append(problem(f"{where}: industry",
                                f"{industry_text!r} is neither a major group of the JSIC (A–T) nor a middle group (01–99) "
                                "of one (a letter given with a middle group must be its own).",
                                f"業種 {industry_text!r} は日本標準産業分類の大分類（A〜T、例: E 製造業）でも中分類（01〜99、"
                                "例: G39 情報サービス業）でもありません（中分類に付けた大分類の文字はその中分類のものに限ります）。"))
    values["employees"] = _whole_number(row.get("employees", ""), "employees", where, problems)
    values["capital_yen"] = _whole_number(row.get("capital_yen", ""), "capital_yen", where, problems)
    size_text = _normal(row.get("size_band", ""))
    band = _SIZE_WORDS.get(size_text) if size_text else size_band_of(values["employees"], values["capital_yen"])
    if size_text and band is None:
        problems.append(problem(f"{where}: size_band", f"Unknown size band {size_text!r}.",
                                f"規模 {size_text!r} は使えません（小規模事業者、中小企業、大企業、対象外）。"))
    values["size_band"] = band.value if band else ""
    address = _text(row, "address", 300, where, problems)
    code = _normal(row.get("municipality_code", ""))
    if code:
        bad = code_problem(code)
        if bad is not None:
            problems.append(problem(f"{where}: municipality_code", *bad))
            code = ""
    values["address"] = address
    values["prefecture"] = places.prefecture(address, code)
    values["municipality_code"] = code or places.municipality(address, values["prefecture"])
    values["in_prefecture"] = values["prefecture"] == places.home
    return values


def _number(row: dict[str, str], where: str, problems: list[dict[str, str]]) -> str:
    number = _normal(row.get("corporate_number", "")).replace("-", "")
    if not number:
        problems.append(problem(f"{where}: corporate_number", "Enter the corporate number.", "法人番号を入力してください。"))
        return ""
    bad = corporate_number_problem(number)
    if bad is not None:
        problems.append(problem(f"{where}: corporate_number", *bad))
        return ""
    if number[1:].startswith(LOCAL_GOVERNMENT_BASE_PREFIX):
        problems.append(problem(f"{where}: corporate_number", f"{number} is a local government's number: it takes part as a tenant.",
                                f"法人番号 {number} は地方公共団体の番号です。地方公共団体は参加団体として登録します。"))
        return ""
    return number


def _values(row: csvfile.Row, places: Places, notify: bool, problems: list[dict[str, str]]) -> dict[str, Any]:
    """Every field of one row as the register would hold it; its problems added to ``problems``."""
    where, raw = row.where, row.values
    values: dict[str, Any] = {"corporate_number": _number(raw, where, problems),
                              "name": _text(raw, "name", 200, where, problems, required=True),
                              "name_kana": _text(raw, "name_kana", 200, where, problems),
                              "representative": _text(raw, "representative", 100, where, problems),
                              "contact_name": _text(raw, "contact_name", 100, where, problems),
                              "contact_phone": _text(raw, "contact_phone", 32, where, problems),
                              "leave_reason": _text(raw, "leave_reason", 2000, where, problems)}
    email = _normal(raw.get("contact_email", ""))
    if email or notify:
        bad = email_problem(f"{where}: contact_email", email)
        if bad is not None:
            problems.append(bad)
    values["contact_email"] = email
    values |= _coded(raw, where, places, problems)
    values["joined_on"] = _date(raw.get("joined_on", ""), "joined_on", where, problems)
    if values["joined_on"] is None and not _normal(raw.get("joined_on", "")):
        problems.append(problem(f"{where}: joined_on", "Enter the join date.", "入会日を入力してください。"))
    values["left_on"] = _date(raw.get("left_on", ""), "left_on", where, problems)
    if values["left_on"] and values["joined_on"] and values["left_on"] < values["joined_on"]:
        problems.append(problem(f"{where}: left_on", "The leave date is before the join date.", "退会日が入会日より前です。"))
    values["status"] = MemberStatus.withdrawn if values["left_on"] else MemberStatus.approved
    return values


# --- the whole file ----------------------------------------------------------------------------------

def parse(source: csvfile.Source) -> Iterator[csvfile.Row]:
    return csvfile.source_rows(source, COLUMNS, rejected=ImportRejected)


def _compared(line: int, values: dict[str, Any], existing: Organisation | None, where: str,
              problems: list[dict[str, str]]) -> CheckedRow | None:
    if existing is None:
        return CheckedRow(line, values)
    if existing.status not in (MemberStatus.approved, MemberStatus.withdrawn):
        problems.append(problem(
            f"{where}: corporate_number",
            f"{existing.corporate_number} has an application that is not decided ({existing.status.value}); decide it on its page.",
            f"法人番号 {existing.corporate_number} は入会申請（{existing.status.value}）があり、会員ではありません。申請の画面で審査してください。"))
        return None
    changes = {name: (getattr(existing, name), values[name]) for name in INFO_FIELDS
               if values[name] not in (None, "") and getattr(existing, name) != values[name]}
    return CheckedRow(line, values, Outcome.DIFFERS if changes else Outcome.SAME, changes)


def _registered(session: Session, numbers: Iterable[str]) -> dict[str, Organisation]:
    wanted = sorted({number for number in numbers if number})
    found: dict[str, Organisation] = {}
    for start in range(0, len(wanted), 1000):
        for org in session.scalars(sa.select(Organisation).where(Organisation.corporate_number.in_(wanted[start:start + 1000]))):
            found[org.corporate_number] = org
    return found


def check_rows(session: Session, rows: Iterable[csvfile.Row], *, notify: bool = False) -> Preview:
    """Every row checked (one pass, the register asked once per 1,000 numbers); raises
    :class:`ImportRejected` naming the bad lines, else the preview of what an import would do."""
    problems = csvfile.Problems()
    places = Places(session)
    parsed: list[tuple[csvfile.Row, dict[str, Any]]] = []
    first_line: dict[str, int] = {}
    for row in rows:
        found: list[dict[str, str]] = list(row.problems)
        values = _values(row, places, notify, found)
        number = values["corporate_number"]
        if number and number in first_line:
            found.append(problem(f"{row.where}: corporate_number", f"Corporate number {number} also appears on line {first_line[number]}.",
                                 f"法人番号 {number} は {first_line[number]} 行目と重複しています。"))
        elif number:
            first_line[number] = row.line
        if found:
            problems.add(*found)
        elif not problems:
            parsed.append((row, values))
    if not first_line and not problems:
        problems.add(csvfile.no_data_rows())
    checked: list[CheckedRow] = []
    if not problems:
        register = _registered(session, first_line)
        for row, values in parsed:
            found = []
            compared = _compared(row.line, values, register.get(values["corporate_number"]), row.where, found)
            problems.add(*found)
            if compared is not None:
                checked.append(compared)
    if problems:
        listed_en, listed_ja = problems.summary()
        raise ImportRejected(
            f"{problems.total:,} problem(s) found{listed_en}; nothing was imported. Correct the lines named and import the whole file again.",
            f"{problems.total:,} 件の誤りがあります{listed_ja}。取り込みは行っていません。該当行を修正し、ファイル全体をもう一度取り込んでください。",
            **problems.details())
    return Preview(checked)


def check_file(session: Session, actor: Actor, source: csvfile.Source, *, notify: bool = False) -> Preview:
    """The preview of an import, nothing written: raises as :func:`import_file` would."""
    authz.authorize(actor, ACTION)  # before reading the file: a refusal says nothing about it
    return check_rows(session, parse(source), notify=notify)


def _welcome(session: Session, org: Organisation) -> None:
    outbox.queue(session, kind="member.imported", tenant=org, subject="【会員】会員名簿への登録のお知らせ",
                 body=f"{org.name} {org.contact_name} 様\n\n貴団体を会員名簿に登録しました（入会日 {org.joined_on.isoformat()}）。\n"
                      "アカウントの発行は事務局からご案内します。\n")


def import_file(session: Session, actor: Actor, source: csvfile.Source, *, notify: bool = False) -> ImportResult:
    """Check every row, then write them all in one flush with one audit record; ``notify`` mails each
    new member's contact (through the outbox), else no one is mailed."""
    preview = check_file(session, actor, source, notify=notify)
    created: list[Organisation] = []
    updated: dict[str, dict[str, Any]] = {}
    register = _registered(session, [row.corporate_number for row in preview.rows if row.outcome == Outcome.DIFFERS])
    for row in preview.rows:
        if row.outcome == Outcome.NEW:
            created.append(Organisation(**row.values, decided_at=None, decision_reason="一括取込（既存会員）"))
        elif row.outcome == Outcome.DIFFERS:
            org = register[row.corporate_number]
            for name, (_before, after) in row.changes.items():
                setattr(org, name, after)
            updated[row.corporate_number] = {name: [_json(before), _json(after)] for name, (before, after) in row.changes.items()}
    session.add_all(created)
    session.flush()
    if notify:
        for org in created:
            _welcome(session, org)
    numbers = [org.corporate_number for org in created]
    audit.record(session, actor, ACTION, "member", numbers[0] if len(numbers) == 1 else f"{len(numbers)} members",
                 tenant_code=numbers[0] if len(numbers) == 1 else None,
                 after={"created": numbers, "updated": updated, "unchanged": preview.count(Outcome.SAME),
                        "notified": len(created) if notify else 0})
    return ImportResult(numbers, sorted(updated), preview.count(Outcome.SAME), len(created) if notify else 0)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


# --- the template offered on the page -------------------------------------------------------------------

TEMPLATE_COLUMNS = ("corporate_number", "name", "name_kana", "kind", "address", "municipality_code", "industry",
                    "size_band", "employees", "capital_yen", "representative", "contact_name", "contact_email",
                    "contact_phone", "joined_on", "left_on", "leave_reason")
TEMPLATE_EXAMPLE = ("7000012050002", "株式会社くまもとデータ", "カブシキガイシャクマモトデータ", "企業", "熊本県熊本市中央区水前寺6-18-1",
                    "431001", "G 情報通信業", "中小企業", "45", "10000000", "熊本 太郎", "連携 花子", "renkei@example.jp",
                    "096-000-0000", "2024-04-01", "", "")


def template_csv() -> bytes:
    """The import's columns with one example row, as a CSV file for Excel (UTF-8 with BOM)."""
    return csv_bytes([[HEADERS_JA[name] for name in TEMPLATE_COLUMNS], list(TEMPLATE_EXAMPLE)])


def template_xlsx() -> bytes:
    """The same as an Excel workbook, with a second sheet listing the industries and size bands."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "会員一覧"
    sheet.append([HEADERS_JA[name] for name in TEMPLATE_COLUMNS])
    sheet.append(safe_row(TEMPLATE_EXAMPLE))
    codes = book.create_sheet("コード表")
    codes.append(["業種（日本標準産業分類 大分類）", "名称", "", "規模", "基準"])
    bands = list(labels(SizeBand).values())
    for index, (letter, (ja, _en)) in enumerate(INDUSTRY_MAJOR_GROUPS.items()):
        band = bands[index] if index < len(bands) else ("", "")
        codes.append([letter, ja, "", band[0].split("（")[0], band[0]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
