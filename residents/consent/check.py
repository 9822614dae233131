"""The broker's consent check (同意確認): allowed or refused, with the reason and the consent relied on.

It sits in front of every transfer of personal data, so it is short: one read (the service's
status, required level and current text, the person's latest consent event, the linkage chain's
head), the decision, and the linkage record appended to its hash chain after that head. Given a
connection in autocommit (PostgreSQL; the API gives one), the read and the write are two statements
on it, and the write, one statement, commits itself: two round trips, no BEGIN or COMMIT. Otherwise
(SQLite, where the append is two statements; or another check appended between the read and the
write) the record is appended in the caller's transaction, which the request commits once. Either
way the answer goes out only once the record is committed, and a record that could not be written
makes the whole call fail (the broker then refuses the transfer). Every call is written, allowed or
refused, even for a service that does not exist. Withdrawal and suspension are read on every call,
so they apply to the next check at once.

Reasons, in the order they are asked (the first that applies is the answer):
``unknown_service``, ``service_not_approved``, ``service_suspended``, ``service_ended``,
``no_consent``, ``withdrawn``, ``expired`` (recorded, or past the expiry: :mod:`residents.consent.state`),
``text_superseded`` (the consent is to an older
version of the text), ``assurance_too_low``, ``item_not_covered``, ``not_disclosed`` (an item the resident did not
tick: see below), ``purpose_not_covered`` (asked per purpose: the consent covers the text's required purposes and the
optional ones the person chose); else ``allowed``.

What the resident allowed per item (renkei issue 50 item 4) has one definition, here: when the person, as the
service knows them, is a resident linked to the service (:class:`residents.models.ServiceLink`, current), an item
is allowed only if it is in their newest disclosure range (公開範囲: the items they ticked, in the portal or through
the desk, :func:`residents.operations.record_disclosure`; none set: nothing), besides the consent covering it. The
brokerage reads the same column (:data:`TICKS`) and the portal's history shows the records this check writes, so
an item not ticked is refused everywhere. A person no resident is linked as (the consent app's world) is judged
by the consent alone.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import authz, chain
from core.actor import Actor
from core.db import utcnow
from residents.consent.models import LINKAGE_HASHED_FIELDS, ConsentEvent, ConsentRecord, DataService, LinkageRecord, ServiceStatus
from residents.consent.schemas import CheckIn, validated
from residents.consent.state import consent_state
from residents.models import Resident, ResidentDisclosure, ServiceLink

REASONS: dict[str, tuple[str, str]] = {
    "allowed": ("本人の同意に基づき許可", "Allowed on the person's consent"),
    "unknown_service": ("登録されていないサービス", "No such service"),
    "service_not_approved": ("運営者の承認を受けていないサービス", "The service is not approved"),
    "service_suspended": ("一時停止中のサービス", "The service is suspended"),
    "service_ended": ("終了したサービス", "The service has ended"),
    "no_consent": ("本人の同意がない", "No consent"),
    "withdrawn": ("同意が撤回されている", "Consent withdrawn"),
    "expired": ("同意の有効期限切れ", "Consent expired"),
    "text_superseded": ("同意文が改定され、新しい版への同意がない", "Consent is to an older version of the text"),
    "assurance_too_low": ("本人確認の個人認証レベルが不足", "Identity assurance level too low"),
    "item_not_covered": ("同意の範囲外のデータ項目", "A data item is not covered by the consent"),
    "not_disclosed": ("本人が提供を許可していないデータ項目（公開範囲外）",
                      "A data item the resident did not allow (outside their disclosure range)"),
    "purpose_not_covered": ("同意の範囲外の利用目的", "The purpose is not covered by the consent"),
}

_STATUS_REASONS = {ServiceStatus.registered: "service_not_approved", ServiceStatus.suspended: "service_suspended",
                   ServiceStatus.ended: "service_ended"}


@dataclasses.dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    consent_receipt_id: str | None
    consent_record_id: int | None
    linkage_seq: int
    linkage_id: int
    checked_at: str
    not_covered: tuple[str, ...] = ()
    linkage_hash: str = ""

    def as_dict(self) -> dict[str, Any]:
        ja, en = REASONS[self.reason]
        return {"allowed": self.allowed, "reason": self.reason, "reason_ja": ja, "reason_en": en,
                "consent_record": self.consent_receipt_id, "linkage_record": self.linkage_seq,
                "linkage_hash": self.linkage_hash, "checked_at": self.checked_at, "not_covered": list(self.not_covered)}


# The service and the person's latest consent event for it, in one indexed read (one round trip to
# the database): the service's row, joined with its newest consent record of the person if any, and
# the linkage chain's head, which the linkage record is then written after (core.chain.append: only
# if the head still holds it; else after the head read under lock). A caller that reads other things
# of the same service first (the brokerage) adds this read to its own (:func:`with_check_inputs`), so
# that the check costs it no round trip of its own.
_NEWEST = ConsentRecord.__table__.alias("newest")
# the resident's ticks: the newest disclosure range of the resident linked (now) to the service as the subject,
# '[]' when they never set one, NULL when no resident is linked as the subject (aliases: the brokerage's own read
# joins the same tables)
_TICKS_LINK = ServiceLink.__table__.alias("ticks_link")
_TICKS_RESIDENT = Resident.__table__.alias("ticks_resident")
_TICKS_RANGE = ResidentDisclosure.__table__.alias("ticks_range")
_NEWEST_TICKS = (sa.select(_TICKS_RANGE.c["items"])
                 .where(_TICKS_RANGE.c.resident_id == _TICKS_LINK.c.resident_id,
                        _TICKS_RANGE.c.service_id == _TICKS_LINK.c.service_id)
                 .order_by(_TICKS_RANGE.c.id.desc()).limit(1).correlate(_TICKS_LINK).scalar_subquery())
TICKS = "ticks"  # the column of the check's read holding the resident's ticks (the JSON list, or NULL)


def _ticks(tenant_code: Any, subject_id: Any) -> sa.ScalarSelect:
    return (sa.select(sa.func.coalesce(_NEWEST_TICKS, "[]"))
            .select_from(_TICKS_LINK.join(_TICKS_RESIDENT, _TICKS_RESIDENT.c.id == _TICKS_LINK.c.resident_id))
            .where(_TICKS_LINK.c.service_id == sa.bindparam("service_id"), _TICKS_LINK.c.service_user_id == subject_id,
                   _TICKS_LINK.c.ended_at.is_(None), _TICKS_RESIDENT.c.tenant_code == tenant_code)
            .limit(1).scalar_subquery())


def not_ticked(ticks: str | None, items: Any) -> tuple[str, ...]:
    """Of ``items``, those the resident did not allow (the ticks read as :data:`TICKS`; None: no resident is
    linked as the subject, so nothing is excluded here)."""
    if ticks is None:
        return ()
    allowed = set(json.loads(ticks))
    return tuple(item for item in items if item not in allowed)
_LINKAGE_HEAD = chain.head_row(LinkageRecord.__table__)
_INPUT_COLUMNS = (DataService.status, DataService.required_level, DataService.current_text_id, DataService.owner_code,
                  ConsentRecord.id, ConsentRecord.receipt_id, ConsentRecord.event, ConsentRecord.refers_to,
                  ConsentRecord.text_id, ConsentRecord.purposes, ConsentRecord.items, ConsentRecord.assurance_level,
                  ConsentRecord.expires_at, _LINKAGE_HEAD.table.c.last_seq.label("head_seq"),
                  _LINKAGE_HEAD.table.c.last_hash.label("head_hash"))


def with_check_inputs(query: sa.Select, tenant_code: Any = None, subject_id: Any = None) -> sa.Select:
    """``query`` (a select from :class:`DataService` of the service ``:service_id``) with the check's read
    added: its columns (``status`` ... ``head_hash``; the latest record's ``id``, ``items`` and so on) and
    their joins. ``tenant_code``/``subject_id``: the person's, as SQL expressions (by default the
    parameters of those names); the row read is then given to :func:`consent_check` as ``inputs``."""
    tenant_code = sa.bindparam("tenant_code") if tenant_code is None else tenant_code
    subject_id = sa.bindparam("subject_id") if subject_id is None else subject_id
    latest_id = (sa.select(_NEWEST.c.id)
                 .where(_NEWEST.c.service_id == sa.bindparam("service_id"), _NEWEST.c.tenant_code == tenant_code,
                        _NEWEST.c.subject_id == subject_id)
                 .order_by(_NEWEST.c.seq.desc()).limit(1).scalar_subquery())
    return (query.add_columns(*_INPUT_COLUMNS, _ticks(tenant_code, subject_id).label(TICKS))
            .outerjoin(ConsentRecord, ConsentRecord.id == latest_id)
            .outerjoin(_LINKAGE_HEAD.table, _LINKAGE_HEAD.condition))


_INPUTS = with_check_inputs(sa.select().select_from(DataService).where(DataService.id == sa.bindparam("service_id")))
_RECEIPT = sa.select(ConsentRecord.receipt_id).where(ConsentRecord.id == sa.bindparam("record_id"))


def decide(service: Any, latest: Any, request: CheckIn, now: Any) -> tuple[str, int | None, tuple[str, ...]]:
    """The rule: (reason, id of the consent record relied on, items not covered)."""
    if service is None:
        return "unknown_service", None, ()
    status = ServiceStatus(service.status)
    if status != ServiceStatus.approved:
        return _STATUS_REASONS[status], None, ()
    if latest is None:
        return "no_consent", None, ()
    state = consent_state(latest.event, latest.expires_at, now)  # the one rule of a consent's state
    if state == ConsentEvent.withdrawn:
        return "withdrawn", latest.id, ()
    if state == ConsentEvent.expired:
        return "expired", latest.id, ()
    if latest.text_id != service.current_text_id:
        return "text_superseded", latest.id, ()
    level = latest.assurance_level if request.assurance_level is None else min(latest.assurance_level, request.assurance_level)
    if level < service.required_level:
        return "assurance_too_low", latest.id, ()
    covered = set(json.loads(latest.items))
    missing = tuple(item for item in request.items if item not in covered)
    if missing:
        return "item_not_covered", latest.id, missing
    outside = not_ticked(getattr(service, TICKS, None), request.items)
    if outside:
        return "not_disclosed", latest.id, outside
    if request.purpose not in json.loads(latest.purposes):
        return "purpose_not_covered", latest.id, ()
    return "allowed", latest.id, ()


def consent_check(session: Session, actor: Actor, request: CheckIn | dict, *,
                  autocommit: sa.Connection | None = None, inputs: sa.Row | None = None) -> Decision:
    """Answer the broker and write the linkage record (``consent.check``), in ``session``'s
    transaction, which the caller commits before answering.

    ``autocommit``: a connection in autocommit to the same PostgreSQL database (the API gives one).
    The check then reads on it and writes its record by one statement of its own
    (:func:`core.chain.append_alone`), committed when that statement returns: two round trips in
    all, no BEGIN and no COMMIT. If another check appended between the read and the write (nothing
    written), the record is appended in ``session``'s transaction as without it.

    ``inputs``: the check's read, already made by the caller in its own read (:func:`with_check_inputs`,
    for this request's service, tenant and subject, on the same connection), which it then does not repeat."""
    authz.authorize(actor, "consent.check")
    request = validated(CheckIn, request)
    connection = autocommit if autocommit is not None else session.connection()
    keys = {"service_id": request.service_id, "tenant_code": request.tenant_code, "subject_id": request.subject_id}
    # the service's columns, then the latest record's (or NULLs)
    service = inputs if inputs is not None else connection.execute(_INPUTS, keys).first()
    latest = service if service is not None and service.id is not None else None
    now = utcnow()
    reason, record_id, missing = decide(service, latest, request, now)
    receipt_id = None
    if record_id is not None:
        receipt_id = latest.receipt_id if latest.id == record_id else connection.execute(_RECEIPT, {"record_id": record_id}).scalar()
    head = (service.head_seq, service.head_hash) if service is not None and service.head_seq is not None else None
    values = {
        "occurred_at": now, "service_id": request.service_id, "service_owner": service.owner_code if service else "",
        "tenant_code": request.tenant_code, "subject_id": request.subject_id,
        "items": json.dumps(list(request.items), ensure_ascii=False), "purpose": request.purpose,
        "allowed": reason == "allowed", "reason": reason, "consent_record_id": record_id, "consent_receipt_id": receipt_id,
        "client": request.client, "caller_issuer": actor.issuer, "caller_subject": actor.subject,
        "request_id": actor.request_id}
    stored = None
    if autocommit is not None and head is not None:
        stored = chain.append_alone(autocommit, LinkageRecord.__table__, LINKAGE_HASHED_FIELDS, values, head)
    if stored is None:
        stored = chain.append(session, LinkageRecord.__table__, LINKAGE_HASHED_FIELDS, values,
                              after=head if autocommit is None else None)
    return Decision(reason == "allowed", reason, receipt_id, record_id, stored["seq"], stored["id"],
                    chain.timestamp_text(now), missing, stored["hash"])
