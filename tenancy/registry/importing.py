"""Tenant import and export (CSV from Japanese offices, JSON).

Import is all-or-nothing: every row is validated first (check digit, duplicates within the file
and against the registry, positive integer population, required fields, known kind) and the bad
rows are reported with their line numbers (the first ones listed, all counted); if any row fails
nothing is written. The file is read row by row in one pass (from a path or an upload's stream it
is never held whole), keeping only the checked rows a write needs.

Accepted files: UTF-8 with or without BOM, or CP932 (Shift_JIS as Excel writes it); headers in
Japanese (団体コード, 団体名, 種別, 人口 …) or English (code, name_ja, kind, population …).
"""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from importlib import resources
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from core import audit, authz
from core import csvfile
from core.spreadsheet import csv_bytes
from core.actor import Actor
from core.errors import problem
from tenancy.errors import ImportRejected
from core.calendar import fiscal_year_ja, read_fiscal_year
from tenancy.registry.prefecture import home_prefecture, second_prefecture_refused
from tenancy.registry.models import Tenant, TenantContact, TenantKind, TenantStatus
from tenancy.registry.operations import summary
from tenancy.registry.schemas import TenantCreate
from core.validation import problems_from

# Column name (as people write it) -> field; compared as core.csvfile.header_key says.
HEADER_ALIASES: dict[str, str] = {
    "code": "code", "団体コード": "code", "地方公共団体コード": "code", "コード": "code",
    "name_ja": "name_ja", "団体名": "name_ja", "名称": "name_ja", "団体名称": "name_ja",
    "name_en": "name_en", "団体名（英語）": "name_en", "団体名(英語)": "name_en", "英語名": "name_en",
    "name_kana": "name_kana", "団体名（カナ）": "name_kana", "団体名(カナ)": "name_kana", "フリガナ": "name_kana", "カナ": "name_kana",
    "kind": "kind", "種別": "kind", "区分": "kind",
    "population": "population", "人口": "population",
    "population_source": "population_source", "人口出典": "population_source", "出典": "population_source",
    "status": "status", "状態": "status", "ステータス": "status",
    "wave_fiscal_year": "wave_fiscal_year", "wave": "wave_fiscal_year", "参加年度": "wave_fiscal_year",
    "user_seat_limit": "user_seat_limit", "利用者数上限": "user_seat_limit",
    "contact_name": "contact_name", "担当者名": "contact_name", "担当者": "contact_name",
    "contact_department": "contact_department", "担当部署": "contact_department", "所属": "contact_department",
    "contact_email": "contact_email", "メールアドレス": "contact_email", "メール": "contact_email",
    "contact_phone": "contact_phone", "電話番号": "contact_phone", "電話": "contact_phone",
}

EXPORT_HEADERS_JA = {
    "code": "団体コード", "name_ja": "団体名", "name_en": "団体名（英語）", "name_kana": "団体名（カナ）",
    "kind": "種別", "population": "人口", "population_source": "人口出典", "status": "状態",
    "wave_fiscal_year": "参加年度", "user_seat_limit": "利用者数上限", "contact_name": "担当者名",
    "contact_department": "担当部署", "contact_email": "メールアドレス", "contact_phone": "電話番号",
}
REQUIRED_COLUMNS = ("code", "name_ja", "kind", "population")
COLUMNS = csvfile.Columns(HEADER_ALIASES, required=REQUIRED_COLUMNS, labels_ja=EXPORT_HEADERS_JA,
                          max_rows=csvfile.IMPORT_MAX_ROWS)

_KIND_WORDS = {kind.ja: kind.value for kind in TenantKind} | {
    "県": "prefecture", "府": "prefecture", "都": "prefecture", "道": "prefecture", "区": "ward",
    "指定都市": "designated_city", "政令市": "designated_city",
}
_STATUS_WORDS = {status.ja: status.value for status in TenantStatus}


@dataclasses.dataclass(frozen=True)
class ImportResult:
    created: list[str]


@cache
def reference_municipalities() -> dict[str, dict[str, str]]:
    """Kumamoto reference data shipped with renkei (2020 census preliminary counts), by code."""
    raw = (resources.files("tenancy") / "data" / "kumamoto_municipalities.csv").read_bytes()
    return {row.values["code"]: row.values for row in csvfile.read(raw, COLUMNS)}


def _digits(value: str) -> int | str:
    """``738,865``, ``738865`` and full-width ``７３８，８６５`` are 738865; anything else stays text."""
    cleaned = unicodedata.normalize("NFKC", value).replace(",", "").strip()
    return int(cleaned) if cleaned.isascii() and cleaned.isdigit() else value


def _row_payload(row: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for field in ("code", "name_ja", "name_en", "name_kana", "population_source"):
        if row.get(field):
            payload[field] = row[field]
    if row.get("kind"):
        payload["kind"] = _KIND_WORDS.get(row["kind"], row["kind"])
    if row.get("status"):
        payload["status"] = _STATUS_WORDS.get(row["status"], row["status"])
    for field in ("population", "user_seat_limit"):
        if row.get(field):
            payload[field] = _digits(row[field])
    if row.get("wave_fiscal_year"):  # 2024, FY2024, 令和6年度 or the export's 令和6年度（2024年度）
        payload["wave_fiscal_year"] = read_fiscal_year(row["wave_fiscal_year"]) or row["wave_fiscal_year"]
    if "name_en" not in payload and payload.get("code") in reference_municipalities():
        payload["name_en"] = reference_municipalities()[payload["code"]]["name_en"]
    if row.get("contact_name") or row.get("contact_email"):
        payload["contacts"] = [{
            "role": "admin",
            "name": row.get("contact_name", ""),
            "department": row.get("contact_department", ""),
            "email": row.get("contact_email", ""),
            "phone": row.get("contact_phone", ""),
        }]
    return payload


def parse_csv(source: csvfile.Source) -> Iterator[csvfile.Row]:
    """The file's rows, read as they are consumed (see :mod:`core.csvfile`; a path or an upload's
    stream is never held whole); an unreadable file or header raises ImportRejected."""
    return csvfile.source_rows(source, COLUMNS, rejected=ImportRejected)


BATCH_ROWS = 1000  # rows checked against the registry with one query


def _batches(rows: Iterable[csvfile.Row]) -> Iterator[list[csvfile.Row]]:
    batch: list[csvfile.Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def validate_rows(session: Session, rows: Iterable[csvfile.Row]) -> list[TenantCreate]:
    """Every row checked in one streamed pass; raises :class:`ImportRejected` naming the first bad
    lines (:class:`core.csvfile.Problems`: the first ones listed, all counted), else the creates.

    Only what the write needs is kept: the checked rows while none has failed (after a failure
    they can never be written, so they are dropped) and each code's first line, for duplicates.
    """
    problems = csvfile.Problems()
    valid: list[TenantCreate] = []
    first_line: dict[str, int] = {}
    prefecture = _PrefectureRows(home_prefecture(session))
    seen_rows = False
    for batch in _batches(rows):
        seen_rows = True
        registered = _registered_codes(session, [row.values.get("code", "") for row in batch])
        for row in batch:
            data = _checked(row, registered, first_line, problems)
            if data is not None and not prefecture.admits(row, data, problems):
                data = None
            if data is not None and not problems:
                valid.append(data)
        if problems:
            valid.clear()
    if not seen_rows:
        problems.add(csvfile.no_data_rows())
    if problems:
        listed_en, listed_ja = problems.summary()
        raise ImportRejected(
            f"{problems.total:,} problem(s) found{listed_en}; nothing was imported. Correct the lines named and import the whole file again.",
            f"{problems.total:,} 件の誤りがあります{listed_ja}。取り込みは行っていません。該当行を修正し、ファイル全体をもう一度取り込んでください。",
            **problems.details(),
        )
    return valid


class _PrefectureRows:
    """The registry keeps one home prefecture (tenancy.registry.prefecture): a file's prefecture row
    is refused when the registry has its prefecture, and a second one when the file has named one."""

    def __init__(self, home: Tenant | None) -> None:
        self.home = home
        self.line: int | None = None

    def admits(self, row: csvfile.Row, data: TenantCreate, problems: csvfile.Problems) -> bool:
        if data.kind != TenantKind.prefecture:
            return True
        if self.home is not None:
            problems.add(problem(f"{row.where}: kind", *second_prefecture_refused(self.home, data.code)))
            return False
        if self.line is not None:
            problems.add(problem(
                f"{row.where}: kind",
                f"Line {self.line} already names the prefecture; a registry has one.",
                f"県は {self.line} 行目で登録されます。県は 1 団体だけです。",
            ))
            return False
        self.line = row.line
        return True


def _checked(row: csvfile.Row, registered: set[str], first_line: dict[str, int],
             problems: csvfile.Problems) -> TenantCreate | None:
    """One row's create, or None with its problems added."""
    where = row.where
    if row.problems:
        problems.add(*row.problems)
        return None
    try:
        data = TenantCreate.model_validate(_row_payload(row.values))
    except ValidationError as error:
        problems.add(*(problem(f"{where}: {item['field']}", item["message_en"], item["message_ja"])
                       for item in problems_from(error)))
        return None
    if data.code in first_line:
        problems.add(problem(
            f"{where}: code",
            f"Code {data.code} also appears on line {first_line[data.code]}.",
            f"団体コード {data.code} は {first_line[data.code]} 行目と重複しています。",
        ))
        return None
    first_line[data.code] = row.line
    if data.code in registered:
        problems.add(problem(
            f"{where}: code",
            f"Code {data.code} is already registered.",
            f"団体コード {data.code} はすでに登録されています。",
        ))
        return None
    return data


def _registered_codes(session: Session, codes: Sequence[str]) -> set[str]:
    """Which of ``codes`` are already registered: one query per 1,000 codes, not one per row."""
    wanted = sorted({code for code in codes if code})
    found: set[str] = set()
    for start in range(0, len(wanted), 1000):
        found.update(session.scalars(sa.select(Tenant.code).where(Tenant.code.in_(wanted[start:start + 1000]))))
    return found


def check_csv(session: Session, actor: Actor, source: csvfile.Source) -> list[TenantCreate]:
    """Every row of the file checked as :func:`import_csv` checks it, nothing written: the step before
    the operator confirms an import in the admin UI. Raises :class:`ImportRejected` as the import
    would (the first bad lines listed, all counted); else the tenants the import would register."""
    authz.authorize(actor, "tenant.create")
    return validate_rows(session, parse_csv(source))


def import_csv(session: Session, actor: Actor, source: csvfile.Source) -> ImportResult:
    """Validate every row, then register them all in one flush (one transaction, the caller's) with
    ONE audit record for the import (count and codes), not one per tenant. ``source``: the file's
    bytes, its path or an open binary stream (read row by row, never held whole)."""
    authz.authorize(actor, "tenant.create")  # before reading the file: a refusal says nothing about it
    creates = validate_rows(session, parse_csv(source))
    tenants = [Tenant(**data.model_dump(exclude={"contacts"}),
                      contacts=[TenantContact(**contact.model_dump()) for contact in data.contacts])
               for data in creates]
    session.add_all(tenants)
    session.flush()
    codes = [tenant.code for tenant in tenants]
    audit.record(session, actor, "tenant.import", "tenant", codes[0] if len(codes) == 1 else f"{len(codes)} tenants",
                 tenant_code=codes[0] if len(codes) == 1 else None, after={"count": len(codes), "codes": codes})
    return ImportResult(codes)


def _flat(tenant: Tenant) -> dict[str, Any]:
    data = summary(tenant)
    contact = data.pop("contacts")[:1]
    first = contact[0] if contact else {}
    for key in ("name", "department", "email", "phone"):
        data[f"contact_{key}"] = first.get(key, "")
    return data


def _in_words(flat: dict[str, Any]) -> dict[str, Any]:
    """The row as a person reads it: kind and status in Japanese (the import reads them back), the
    joining year in era form beside the western one."""
    words = dict(flat)
    words["kind"] = TenantKind(flat["kind"]).ja if flat.get("kind") else ""
    words["status"] = TenantStatus(flat["status"]).ja if flat.get("status") else ""
    if flat.get("wave_fiscal_year"):
        words["wave_fiscal_year"] = f"{fiscal_year_ja(flat['wave_fiscal_year'])}（{flat['wave_fiscal_year']}年度）"
    return words


def export_csv(tenants: Iterable[Tenant], japanese_headers: bool = True) -> bytes:
    """CSV with a UTF-8 BOM so that Excel opens it with the right characters.

    With Japanese headers (for people) kinds, statuses and years are words, which the import reads
    back; with English headers (for machines) they are the codes of the API.
    """
    columns = list(EXPORT_HEADERS_JA)

    def row(tenant: Tenant) -> list[Any]:
        flat = _in_words(_flat(tenant)) if japanese_headers else _flat(tenant)
        return [flat[c] for c in columns]

    return csv_bytes([[EXPORT_HEADERS_JA[c] for c in columns] if japanese_headers else columns, *map(row, tenants)])


def export_json(tenants: Iterable[Tenant]) -> str:
    return json.dumps([summary(t) for t in tenants], ensure_ascii=False, indent=2)


