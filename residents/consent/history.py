"""A person's history and the linkage searches; every read is itself audited.

* :func:`person_history` (開示請求): everything about one identifier in one tenant (consents,
  withdrawals, every linkage allowed or refused), for a clerk of that tenant (``consent.history``
  on the tenant), the operator and the auditor.
* :func:`search_linkages`: linkage records by service, period and result across tenants, for the
  auditor and the operator (``consent.linkage.read``).
* :func:`service_linkages`: one service's linkages, for its owner's admins (``consent.service.read``
  on the service's owner): never another service's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.calendar import day_start_utc, jst_seconds_text
from core.db import utcnow
from core.errors import Invalid, NotFound, problem
from core.spreadsheet import safe_row
from residents.consent.check import REASONS
from residents.consent.models import (ConsentEvent, ConsentMethod,
                                       ConsentRecord, DataService, LinkageRecord)
from tenancy.registry.operations import find_tenant

SUBJECT_ID_MAX = ConsentRecord.__table__.c.subject_id.type.length  # the column's: no record holds a longer one

MAX_ROWS = 10_000  # a page or file of one search; narrow the period for more


@dataclasses.dataclass
class PersonHistory:
    tenant_code: str
    subject_id: str
    consents: list[ConsentRecord]
    linkages: list[LinkageRecord]
    services: dict[int, str]
    receipts: dict[int, str]  # consent record id -> receipt id
    ended: dict[int, ConsentRecord] = dataclasses.field(default_factory=dict)  # given record id -> what ended it
    now: dt.datetime = dataclasses.field(default_factory=utcnow)  # the moment the states are read at

    def state(self, record: ConsentRecord) -> ConsentEvent:
        """The state now of the consent ``record`` belongs to (:func:`residents.consent.operations.state_of`)."""
        from residents.consent.operations import state_of

        return state_of(record, self.ended.get(record.id), self.now)


def _services(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(sa.select(DataService.id, DataService.name).where(DataService.id.in_(sorted(ids)))).all())


def person_history(session: Session, actor: Actor, tenant_code: str, subject_id: str) -> PersonHistory:
    authz.authorize(actor, "consent.history", tenant_code)
    subject_id = subject_id.strip()
    if not subject_id:
        raise Invalid("Give the person's identifier.", "本人の識別子を入力してください。",
                      problems=[problem("subject_id", "Give the identifier.", "識別子を入力してください。")])
    if len(subject_id) > SUBJECT_ID_MAX:
        raise Invalid("No person has so long an identifier.", "この長さの識別子の本人はいません。",
                      problems=[problem("subject_id", f"At most {SUBJECT_ID_MAX} characters.",
                                        f"{SUBJECT_ID_MAX}文字以内で入力してください。")])
    if find_tenant(session, tenant_code) is None:  # nobody of it is on record (and its code names no audit record)
        raise NotFound(f"No municipality {tenant_code[:13]!r} is registered.", "登録されている団体ではありません。",
                       problems=[problem("tenant_code", "Choose a registered municipality.", "登録されている団体を選んでください。")])
    consents = list(session.scalars(sa.select(ConsentRecord).where(
        ConsentRecord.tenant_code == tenant_code, ConsentRecord.subject_id == subject_id).order_by(ConsentRecord.seq)))
    linkages = list(session.scalars(sa.select(LinkageRecord).where(
        LinkageRecord.tenant_code == tenant_code, LinkageRecord.subject_id == subject_id)
        .order_by(LinkageRecord.seq).limit(MAX_ROWS)))
    audit.record(session, actor, "consent.history.read", "person", subject_id, tenant_code=tenant_code,
                 after={"consents": len(consents), "linkages": len(linkages)})
    from residents.consent.operations import ending_events

    return PersonHistory(tenant_code, subject_id, consents, linkages,
                         _services(session, {c.service_id for c in consents} | {li.service_id for li in linkages}),
                         {c.id: c.receipt_id for c in consents}, ending_events(session, consents))


def _period(first_day: dt.date | None, last_day: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    if first_day and last_day and first_day > last_day:
        raise Invalid("The period ends before it starts.", "期間の終わりが始まりより前です。",
                      problems=[problem("last_day", "End after the start.", "開始日以降の日付にしてください。")])
    return (day_start_utc(first_day) if first_day else None,
            day_start_utc(last_day + dt.timedelta(days=1)) if last_day else None)


def _linkage_query(service_id: int | None, first_day: dt.date | None, last_day: dt.date | None,
                   allowed: bool | None) -> sa.Select:
    start, end = _period(first_day, last_day)
    query = sa.select(LinkageRecord).order_by(LinkageRecord.seq.desc()).limit(MAX_ROWS)
    if service_id is not None:
        query = query.where(LinkageRecord.service_id == service_id)
    if start is not None:
        query = query.where(LinkageRecord.occurred_at >= start)
    if end is not None:
        query = query.where(LinkageRecord.occurred_at < end)
    if allowed is not None:
        query = query.where(LinkageRecord.allowed == allowed)
    return query


def search_linkages(session: Session, actor: Actor, *, service_id: int | None = None, first_day: dt.date | None = None,
                    last_day: dt.date | None = None, allowed: bool | None = None) -> list[LinkageRecord]:
    authz.authorize(actor, "consent.linkage.read")
    rows = list(session.scalars(_linkage_query(service_id, first_day, last_day, allowed)))
    audit.record(session, actor, "consent.linkage.search", "linkage_record", str(service_id or "all"),
                 after={"service_id": service_id, "first_day": first_day.isoformat() if first_day else None,
                        "last_day": last_day.isoformat() if last_day else None, "allowed": allowed, "count": len(rows)})
    return rows


def service_linkages(session: Session, actor: Actor, service_id: int, *, first_day: dt.date | None = None,
                     last_day: dt.date | None = None, allowed: bool | None = None) -> list[LinkageRecord]:
    service = session.get(DataService, service_id)
    if service is None or not authz.allowed(actor, "consent.service.read", service.owner_code):
        authz.authorize(actor, "consent.service.read")  # a 403 for those with no such right at all
        raise NotFound(f"No service {service_id}.", f"番号 {service_id} のデータ利用サービスはありません。")
    rows = list(session.scalars(_linkage_query(service_id, first_day, last_day, allowed)))
    audit.record(session, actor, "consent.linkage.service_read", "data_service", str(service_id),
                 tenant_code=service.owner_code, after={"count": len(rows)})
    return rows


# --- what the pages and files show ----------------------------------------------------------------

def _jst(moment: dt.datetime | None) -> str:
    return jst_seconds_text(moment) if moment else ""


def consent_row(record: ConsentRecord, services: dict[int, str], lang: str = "ja", *,
                state: ConsentEvent | None = None) -> dict[str, Any]:
    """A consent record as the pages and files show it: the event recorded, and the state now of the
    consent it belongs to (``state``, :meth:`PersonHistory.state`; 期限切れ past the expiry)."""
    index = 0 if lang == "ja" else 1
    return {"seq": record.seq, "at": _jst(record.occurred_at),
            "event": ConsentEvent(record.event).label[index],
            "state": ConsentEvent(state or ConsentEvent(record.event)).label[index], "hash": record.hash,
            "service": services.get(record.service_id, str(record.service_id)), "version": record.text_number,
            "purposes": "、".join(json.loads(record.purposes)), "items": "、".join(json.loads(record.items)),
            "method": ConsentMethod(record.method).label[index], "level": record.assurance_level,
            "expires": _jst(record.expires_at), "recorded_by": record.recorded_by_name or record.recorded_by_subject,
            "receipt": record.receipt_id}


def linkage_row(record: LinkageRecord, services: dict[int, str], lang: str = "ja") -> dict[str, Any]:
    index = 0 if lang == "ja" else 1
    return {"seq": record.seq, "at": _jst(record.occurred_at),
            "service": services.get(record.service_id, str(record.service_id)),
            "tenant_code": record.tenant_code, "subject_id": record.subject_id,
            "items": "、".join(json.loads(record.items)), "purpose": record.purpose,
            "result": ("許可" if record.allowed else "拒否") if lang == "ja" else ("allowed" if record.allowed else "refused"),
            "reason": REASONS.get(record.reason, (record.reason, record.reason))[index],
            "consent": record.consent_receipt_id or "", "client": record.client, "hash": record.hash}


HISTORY_HEADERS = {
    "ja": ["区分", "番号", "日時", "内容", "サービス", "版", "利用目的", "データ項目", "方法・結果", "理由・個人認証レベル",
           "同意記録", "現在の状態", "記録のハッシュ値"],
    "en": ["kind", "seq", "at", "what", "service", "version", "purposes", "items", "method or result",
           "reason or level", "consent record", "state now", "record hash"],
}


def history_rows(history: PersonHistory, lang: str = "ja") -> Iterator[list[Any]]:
    """One table of the whole history (consents, then linkages), for CSV and xlsx; each record with its
    hash in its chain (``renkei consent verify --record HASH``)."""
    for record in history.consents:
        row = consent_row(record, history.services, lang, state=history.state(record))
        yield [("同意記録" if lang == "ja" else "consent"), row["seq"], row["at"], row["event"], row["service"],
               row["version"], row["purposes"], row["items"], row["method"], row["level"], row["receipt"],
               row["state"], row["hash"]]
    for record in history.linkages:
        row = linkage_row(record, history.services, lang)
        yield [("連携記録" if lang == "ja" else "linkage"), row["seq"], row["at"], row["result"], row["service"], "",
               row["purpose"], row["items"], row["result"], row["reason"], row["consent"], "", row["hash"]]


def history_json(session: Session, history: PersonHistory, lang: str = "ja", seals: Any = None) -> dict[str, Any]:
    """The history as the API and ``renkei consent history --format json`` give it: each consent as its
    receipt (its state now, its hash, its proof), each linkage with its hash and its proof
    (:func:`residents.consent.linkage.record_proof`, sealed by ``seals``)."""
    from residents.consent.linkage import record_proof
    from residents.consent.operations import receipt

    return {"tenant_code": history.tenant_code, "subject_id": history.subject_id,
            "consents": [receipt(session, record, ended=history.ended.get(record.id), looked_up=True, seals=seals)
                         for record in history.consents],
            "linkages": [{**linkage_row(row, history.services, lang), "record_hash": row.hash,
                          "proof": record_proof(row, seals)} for row in history.linkages]}


def history_csv(history: PersonHistory, lang: str = "ja") -> bytes:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HISTORY_HEADERS[lang])
    for row in history_rows(history, lang):
        writer.writerow(safe_row(row))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def history_xlsx(history: PersonHistory, lang: str = "ja") -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("履歴" if lang == "ja" else "history")
    sheet.append(HISTORY_HEADERS[lang])
    for row in history_rows(history, lang):
        sheet.append(safe_row(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def linkage_dicts(rows: Sequence[LinkageRecord], session: Session, lang: str = "ja") -> list[dict[str, Any]]:
    services = _services(session, {row.service_id for row in rows})
    return [linkage_row(row, services, lang) for row in rows]
