"""What is past its retention (the due list), its signed export, the recorded act of disposal, and a
closed fiscal year's records as one signed archive for the prefecture's document management.

The periods are :mod:`core.retention`'s (the one table); this module only counts the rows each kind
holds past them. Nothing here deletes a row: the books (journal entries, runs, statements, cost
items) are never deleted by renkei (the ledger's guards), and the logs go through their own purges
(``renkei audit purge``, ``renkei consent purge``, ``renkei usage purge``), which ask the same table.
Disposal (:func:`dispose`) is the operator's recorded act that the records listed went out of the
prefecture's keeping (their paper and file copies), with the signed list of what went.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import tarfile
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.closed_years import is_closed
from billing.models import (
    AllocationRun, AllocationRunLine, Budget, BudgetLine, CostItem, Grant, JournalEntry, Posting, StatementDocument, EstimateLetter,
    YearClose,
)
from core import audit, authz, retention
from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import JST, fiscal_year_of, fiscal_year_ja, is_supported_fiscal_year, today_jst
from core.db import utcnow
from core.errors import Conflict, Invalid, problem
from core.signing import Signer, canonical
from residents.consent.models import LinkageRecord
from governance.models import AgreementAcceptance, AgreementVersion, CouncilResolution, VersionStatus
from usage.models import UsageEvent

DUE_FORMAT = "renkei-retention-due-1"
YEAR_FORMAT = "renkei-year-archive-1"

# The tables each fiscal-year kind holds (read only): the column that says the year.
YEAR_TABLES: dict[str, tuple[Any, ...]] = {
    "ledger": (JournalEntry,),
    "allocation_runs": (AllocationRun,),
    "letters_statements": (StatementDocument, EstimateLetter),
    "costs_invoices": (CostItem, Grant, Budget, YearClose),
    "council": (CouncilResolution,),
}
# Logs: the table and its time column.
LOG_TABLES: dict[str, Any] = {"audit_log": AuditRecord, "linkage": LinkageRecord, "usage_events": UsageEvent}


@dataclasses.dataclass
class Due:
    """One kind's records past retention: how many, of which years or before which day, row ids by table."""

    key: str
    label_ja: str
    label_en: str
    count: int
    through_ja: str
    through_en: str
    rows: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    how_ja: str = ""
    how_en: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.key, "label_ja": self.label_ja, "label_en": self.label_en, "count": self.count,
                "through_ja": self.through_ja, "through_en": self.through_en, "how_ja": self.how_ja,
                "how_en": self.how_en}


def _ids(session: Session, model: Any, condition: Any) -> list[int]:
    return list(session.scalars(sa.select(model.id).where(condition).order_by(model.id)))


def _count(session: Session, model: Any, condition: Any) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(model).where(condition)))


def _year_due(session: Session, key: str, today: dt.date, with_rows: bool = False) -> Due:
    """Counted in the database; the rows' ids only for an export (a page or the API needs the counts)."""
    rule = retention.kind(key)
    last = retention.oldest_disposable_year(key, today)
    models = YEAR_TABLES[key]
    rows = {m.__tablename__: _ids(session, m, m.fiscal_year <= last) for m in models} if with_rows else {}
    count = sum(map(len, rows.values())) if with_rows else sum(_count(session, m, m.fiscal_year <= last) for m in models)
    return Due(key, rule.label_ja, rule.label_en, count,
               f"{fiscal_year_ja(last)}以前", f"FY{last} and before", {k: v for k, v in rows.items() if v},
               "廃棄の記録（renkei retention dispose）。データベースの行は残ります（会計の記録は削除しません）",
               "record the disposal (renkei retention dispose); the database rows stay (the books are never deleted)")


def _agreements_due(session: Session, today: dt.date) -> Due:
    """Versions replaced by a later published version that took effect in a year now past retention."""
    rule = retention.kind("agreements")
    last = retention.oldest_disposable_year("agreements", today)
    published = list(session.scalars(sa.select(AgreementVersion).where(AgreementVersion.status == VersionStatus.published)
                                     .order_by(AgreementVersion.document, AgreementVersion.number)))
    gone: list[int] = []
    for older, newer in zip(published, published[1:]):
        if older.document == newer.document and fiscal_year_of(newer.effective_on) <= last:
            gone.append(older.id)
    accepted = _ids(session, AgreementAcceptance, AgreementAcceptance.version_id.in_(gone)) if gone else []
    rows = {k: v for k, v in {"agreement_version": gone, "agreement_acceptance": accepted}.items() if v}
    return Due("agreements", rule.label_ja, rule.label_en, len(gone) + len(accepted),
               f"{fiscal_year_ja(last)}以前に次の版が効力を生じた版", f"versions replaced in FY{last} or before", rows,
               "廃棄の記録（renkei retention dispose）", "record the disposal (renkei retention dispose)")


_LOG_HOW = {
    "audit_log": ("renkei audit purge（アーカイブしてから削除）", "renkei audit purge (archived, then removed)"),
    "linkage": ("renkei consent purge（アーカイブしてから削除）", "renkei consent purge (archived, then removed)"),
    "usage_events": ("renkei usage purge（月次集計は残ります）", "renkei usage purge (monthly totals stay)"),
}


def _log_due(session: Session, key: str, now: dt.datetime) -> Due:
    rule = retention.kind(key)
    model = LOG_TABLES[key]
    before = now - dt.timedelta(days=rule.days)
    count = session.scalar(sa.select(sa.func.count()).select_from(model).where(model.occurred_at < before))
    day = before.astimezone(JST).date()
    how_ja, how_en = _LOG_HOW[key]
    return Due(key, rule.label_ja, rule.label_en, int(count), f"{day.isoformat()} より前", f"before {day.isoformat()}",
               {}, how_ja, how_en)


def due_list(session: Session, actor: Actor, *, now: dt.datetime | None = None, with_rows: bool = False) -> list[Due]:
    """Every kind's records past retention now (the operator and the auditor); kinds never purged
    and the request log (files, the due job's) are not listed. ``with_rows``: the books' row ids too."""
    authz.authorize(actor, "retention.read")
    now = now or utcnow()
    today = today_jst(now)
    found: list[Due] = []
    for rule in retention.KINDS:
        if rule.key in YEAR_TABLES:
            found.append(_year_due(session, rule.key, today, with_rows))
        elif rule.key == "agreements":
            found.append(_agreements_due(session, today))
        elif rule.key in LOG_TABLES:
            found.append(_log_due(session, rule.key, now))
    return found


def due_document(due: list[Due], actor: Actor, now: dt.datetime) -> dict[str, Any]:
    return {"format": DUE_FORMAT, "created_at": now.astimezone(dt.timezone.utc).isoformat(timespec="seconds"),
            "created_by": actor.name, "kinds": [dict(d.as_dict(), rows=d.rows) for d in due]}


def signed(document: dict[str, Any], signer: Signer) -> bytes:
    """A JSON document with its SHA-256 and signature over its canonical bytes, as one file."""
    body = canonical(document)
    return (json.dumps({"document": document, "sha256": hashlib.sha256(body).hexdigest(), "signature": signer.sign(body)},
                       ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def export_due(session: Session, actor: Actor, signer: Signer, *, now: dt.datetime | None = None) -> bytes:
    """The due list as a signed JSON file (audited: ``retention.due.export``)."""
    now = now or utcnow()
    due = due_list(session, actor, now=now, with_rows=True)
    document = due_document(due, actor, now)
    data = signed(document, signer)
    audit.record(session, actor, "retention.due.export", "retention", "due",
                 after={"sha256": hashlib.sha256(canonical(document)).hexdigest(),
                        "counts": {d.key: d.count for d in due}})
    return data


def dispose(session: Session, actor: Actor, key: str, fiscal_year: int, signer: Signer, *,
            now: dt.datetime | None = None) -> tuple[bytes, Due]:
    """The recorded act of disposal of ``key``'s records of ``fiscal_year`` and before: refused while
    any of them is inside its retention (core.retention), refused for the logs (their purges do it);
    returns the signed list of what went, whose hash the audit record (``retention.dispose``) holds."""
    authz.authorize(actor, "retention.dispose")
    if key not in YEAR_TABLES and key != "agreements":
        raise Invalid(f"{key} is not disposed of here: use its purge.", f"{key} はここでは廃棄しません。削除コマンドを使ってください。",
                      problems=[problem("kind", "one of " + ", ".join([*YEAR_TABLES, "agreements"]), "会計・協定の記録の種類")])
    now = now or utcnow()
    retention.refuse_fiscal_year(key, fiscal_year, today_jst(now))
    due = _agreements_due(session, today_jst(now)) if key == "agreements" else _year_due(session, key, today_jst(now), True)
    if not due.count:
        raise Conflict(f"Nothing of {due.label_en} is due for disposal.", f"廃棄の対象となる{due.label_ja}はありません。")
    document = dict(due_document([due], actor, now), disposal={"kind": key, "through_fiscal_year": fiscal_year})
    data = signed(document, signer)
    audit.record(session, actor, "retention.dispose", "retention", key,
                 after={"kind": key, "through_fiscal_year": fiscal_year, "count": due.count,
                        "sha256": hashlib.sha256(canonical(document)).hexdigest(), "key_id": signer.key_id})
    return data, due


# --- a closed fiscal year's archive ------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _rows(session: Session, model: Any, condition: Any) -> list[dict[str, Any]]:
    table = model.__table__
    return [{c.name: _plain(row[c.name]) for c in table.columns}
            for row in session.execute(sa.select(table).where(condition).order_by(table.c.id)).mappings()]


def _year_members(session: Session, fiscal_year: int) -> dict[str, list[dict[str, Any]]]:
    entries = _rows(session, JournalEntry, JournalEntry.fiscal_year == fiscal_year)
    runs = _rows(session, AllocationRun, AllocationRun.fiscal_year == fiscal_year)
    budgets = _rows(session, Budget, Budget.fiscal_year == fiscal_year)
    return {
        "journal_entries": entries,
        "postings": _rows(session, Posting, Posting.entry_id.in_([e["id"] for e in entries])),
        "allocation_runs": runs,
        "allocation_run_lines": _rows(session, AllocationRunLine, AllocationRunLine.run_id.in_([r["id"] for r in runs])),
        "statements": _rows(session, StatementDocument, StatementDocument.fiscal_year == fiscal_year),
        "estimates": _rows(session, EstimateLetter, EstimateLetter.fiscal_year == fiscal_year),
        "cost_items": _rows(session, CostItem, CostItem.fiscal_year == fiscal_year),
        "grants": _rows(session, Grant, Grant.fiscal_year == fiscal_year),
        "budgets": budgets,
        "budget_lines": _rows(session, BudgetLine, BudgetLine.budget_id.in_([b["id"] for b in budgets])),
        "year_close": _rows(session, YearClose, YearClose.fiscal_year == fiscal_year),  # its 収支決算 (statement_json)
        "council_resolutions": _rows(session, CouncilResolution, CouncilResolution.fiscal_year == fiscal_year),
    }


def year_archive(session: Session, actor: Actor, fiscal_year: int, signer: Signer, *,
                 now: dt.datetime | None = None) -> bytes:
    """A closed fiscal year's records as one tar file: a JSON file per kind, ``manifest.json`` (each
    member's SHA-256 and row count), ``manifest.json.sha256`` and ``manifest.json.sig`` (Ed25519).
    Refused for a year not closed (its records may still change). Audited (``retention.year_archive``)."""
    authz.authorize(actor, "retention.read")
    if not is_supported_fiscal_year(fiscal_year):
        raise Invalid(f"FY{fiscal_year} is outside the supported years.", f"{fiscal_year} 年度は対象外の年度です。",
                      problems=[problem("fiscal_year", "a supported fiscal year", "対象の年度")])
    if not is_closed(session, fiscal_year):
        raise Conflict(f"FY{fiscal_year} is not closed: its records may still change; close the year first.",
                       f"{fiscal_year_ja(fiscal_year)}は決算（締め）が済んでいないため書き出せません。先に年度を締めてください。")
    now = now or utcnow()
    members = {f"{name}.json": (json.dumps(rows, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
               for name, rows in _year_members(session, fiscal_year).items()}
    manifest = {"format": YEAR_FORMAT, "fiscal_year": fiscal_year, "fiscal_year_ja": fiscal_year_ja(fiscal_year),
                "created_at": now.astimezone(dt.timezone.utc).isoformat(timespec="seconds"), "created_by": actor.name,
                "kept_until": retention.kind("ledger").keep_until_year(fiscal_year).isoformat(),
                "members": {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                   "rows": len(json.loads(data))} for name, data in members.items()}}
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8") + b"\n"
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    files = {"manifest.json": manifest_bytes, "manifest.json.sha256": f"{digest}  manifest.json\n".encode(),
             "manifest.json.sig": (json.dumps(signer.sign(manifest_bytes), indent=1) + "\n").encode(), **members}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(now.timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
    audit.record(session, actor, "retention.year_archive", "fiscal_year", str(fiscal_year),
                 after={"manifest_sha256": digest, "key_id": signer.key_id,
                        "rows": {name: m["rows"] for name, m in manifest["members"].items()}})
    return out.getvalue()


def verify_year_archive(data: bytes, trusted: dict) -> dict[str, Any]:
    """The manifest of a year archive whose signature, manifest hash and members all check; else refused."""
    from core.signing import verify

    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    manifest_bytes = files["manifest.json"]
    verify(manifest_bytes, json.loads(files["manifest.json.sig"]), trusted, "The year archive's manifest", "年度の記録の目録")
    if files["manifest.json.sha256"].split()[0].decode() != hashlib.sha256(manifest_bytes).hexdigest():
        raise Invalid("The manifest's SHA-256 does not match.", "目録の SHA-256 が一致しません。")
    manifest = json.loads(manifest_bytes)
    for name, member in manifest["members"].items():
        if hashlib.sha256(files.get(name, b"")).hexdigest() != member["sha256"]:
            raise Invalid(f"{name} does not match the manifest.", f"{name} が目録と一致しません。")
    return manifest
