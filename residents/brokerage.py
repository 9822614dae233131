"""The brokerage (データ仲介, issue 42 item 6): a data service, through its own API client, asks for the
items of a person it knows by its own user ID; renkei resolves the link, keeps to the resident's
disclosure range (公開範囲), asks the consent check, and returns only what is allowed.

Rules, in the order asked (the first that refuses is the answer, and says which rule it was):
``not_your_service`` (the caller is not the service's API client), ``not_linked`` (the service's user
ID is tied to no resident: said only of the caller's own ID, so nothing tells whether the person is
known elsewhere), ``not_disclosed`` (none of the asked items is within the range the resident set for
this service), then the consent check's own reasons (:mod:`residents.consent.check`, asked for the
items within the range). Items outside the range, or that renkei does not hold, are listed as
``withheld`` and never sent. The consent check appends the linkage record (the service, the person as
the service knows them, the items sent, allowed or refused), once it is asked (a refusal before it sends
nothing and is recorded nowhere yet). The items a linked resident did not tick are asked of the check as
well, on their own: it refuses them (``not_disclosed``, or an earlier rule) and records that refusal, so
the resident's history shows every item a service asked for and did not receive because they said no.
The answer never holds the common ID or another service's ID.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import authz
from core.actor import Actor
from residents.consent.check import REASONS as CHECK_REASONS, TICKS, consent_check, not_ticked, with_check_inputs
from residents.consent.models import DataService
from residents.consent.schemas import validated
from residents.crypto import Keyring
from residents.models import CURRENT_LINK, ENCRYPTED_FIELDS, Resident, ServiceLink
from residents.operations import personal_items, translate
from residents.schemas import BrokerIn, LinkedIdIn

# the consent texts' item names of the 基本4情報 renkei holds, and the resident's field of each
HELD_ITEMS = {"氏名": "full_name", "住所": "address", "生年月日": "birth_date", "性別": "sex"}

REASONS: dict[str, tuple[str, str]] = {
    "not_your_service": ("このクライアントのサービスではない", "Not a service of this client"),
    "same_service": ("問合せ元と同じサービス", "The target is the asking service itself"),
    "target_not_consented": ("連携先のサービスについて本人の同意がない（連携していない場合を含む）",
                             "No consent of the person for the target service (or no link to it)"),
    "not_linked": ("このサービスのIDは連携されていない", "The service's user ID is not linked"),
    **CHECK_REASONS,
}

# the service and, for the caller's user ID, the link's resident, with the consent check's own read of the same
# service and person (the person being the caller's user ID in the resident's municipality), the resident's ticks
# (their newest disclosure range, residents.consent.check.TICKS) included: one read, the only one before the check
# writes its linkage record
_INPUTS = with_check_inputs(
    sa.select(DataService.api_client_id, ServiceLink.resident_id,
              Resident.uid, Resident.tenant_code, *(getattr(Resident, field) for field in ENCRYPTED_FIELDS))
    .select_from(DataService)
    .outerjoin(ServiceLink, sa.and_(ServiceLink.service_id == DataService.id, CURRENT_LINK,
                                    ServiceLink.service_user_id == sa.bindparam("user_id")))
    .outerjoin(Resident, Resident.id == ServiceLink.resident_id)
    .where(DataService.id == sa.bindparam("service_id")),
    tenant_code=Resident.tenant_code, subject_id=sa.bindparam("user_id"))


@dataclasses.dataclass(frozen=True)
class Answer:
    allowed: bool
    reason: str
    items: dict[str, str]
    withheld: tuple[str, ...]
    linkage_record: int | None

    def as_dict(self) -> dict[str, Any]:
        ja, en = REASONS[self.reason]
        return {"allowed": self.allowed, "reason": self.reason, "reason_ja": ja, "reason_en": en, "items": self.items,
                "withheld": list(self.withheld), "linkage_record": self.linkage_record}


def _refused(reason: str, withheld: tuple[str, ...] = (), linkage: int | None = None) -> Answer:
    return Answer(False, reason, {}, withheld, linkage)


def broker(session: Session, actor: Actor, keys: Keyring, payload: BrokerIn | dict, *,
           autocommit: sa.Connection | None = None) -> Answer:
    """Answer a service's request for a person's items (see the module's rules)."""
    authz.authorize(actor, "resident.broker")
    request = validated(BrokerIn, payload)
    connection = autocommit if autocommit is not None else session.connection()  # PostgreSQL: no BEGIN/COMMIT
    row = connection.execute(_INPUTS, {"service_id": request.service_id, "user_id": request.service_user_id}).first()
    if row is None or row.api_client_id is None or row.api_client_id != actor.client_id:
        return _refused("not_your_service")
    if row.resident_id is None:
        return _refused("not_linked", tuple(request.items))
    not_allowed = not_ticked(getattr(row, TICKS), request.items)  # the consent check's one rule of the ticks
    sendable = tuple(item for item in request.items if item not in not_allowed and item in HELD_ITEMS)
    withheld = tuple(item for item in request.items if item not in sendable)
    check = {"service_id": request.service_id, "tenant_code": row.tenant_code, "subject_id": request.service_user_id,
             "purpose": request.purpose, "client": f"brokerage:{actor.client_id}"}
    decision = None
    if sendable:
        decision = consent_check(session, _as_broker(actor), {**check, "items": list(sendable)},
                                 autocommit=autocommit, inputs=row)
    # the items the resident did not tick are asked of the check too, which refuses them and records the refusal
    # (after the check of what may be sent, whose read ``row`` holds the linkage chain's head as it was)
    refusal = consent_check(session, _as_broker(actor), {**check, "items": list(not_allowed)},
                            autocommit=autocommit) if not_allowed else None
    if decision is None:
        return _refused("not_disclosed", withheld, refusal.linkage_seq if refusal is not None else None)
    if not decision.allowed:
        return _refused(decision.reason, withheld, decision.linkage_seq)
    plain = personal_items(row, keys, tuple(HELD_ITEMS[item] for item in sendable))  # only what is sent
    return Answer(True, "allowed", {item: plain[HELD_ITEMS[item]] for item in sendable}, withheld, decision.linkage_seq)


def _as_broker(actor: Actor) -> Actor:
    """The consent check is the platform broker's (``consent.check``, the platform components' role): renkei
    asks it on the service's behalf for this one call, the caller staying recorded as who asked. The
    service's client itself may not call the check (it would learn other people's consent states)."""
    return dataclasses.replace(actor, roles=frozenset({authz.METERING}))


# --- the person's ID at another service (the second question) ---------------------------------------

# the data item a consent text names for a service's own user ID passed between services: the asking service's
# text (it receives the ID) and the target's (its ID is given) must both cover it, with the purpose asked
ID_ITEM = "利用者ID"


@dataclasses.dataclass(frozen=True)
class LinkedId:
    allowed: bool
    reason: str
    target_service_user_id: str | None
    linkage_record: int | None

    def as_dict(self) -> dict[str, Any]:
        ja, en = REASONS[self.reason]
        return {"allowed": self.allowed, "reason": self.reason, "reason_ja": ja, "reason_en": en,
                "target_service_user_id": self.target_service_user_id,
                "linkage_record": self.linkage_record}


def linked_id(session: Session, actor: Actor, payload: LinkedIdIn | dict, *,
              autocommit: sa.Connection | None = None) -> LinkedId:
    """The person's user ID at ``target_service_id``, for a service that knows them by its own ID, when the
    linkage is consented on both sides. Rules, in order: ``not_your_service``, ``same_service``, ``not_linked``
    (the caller's own user ID), then the consent check of the asking service (its person, :data:`ID_ITEM`, the
    purpose: its reasons as they are, since they are about its own person), then ``target_not_consented`` for
    every refusal on the target's side, whether the person is not linked there or the target's consent check
    refused: the answer never tells whether the person is known to the other service. Each consent check
    appends its linkage record (``client`` says what went where: ``brokerage:<client>:from:<target>`` on the
    asking service's, ``brokerage:<client>:to:<asking>`` on the target's); the ID goes out only when both allowed.
    """
    authz.authorize(actor, "resident.broker")
    request = validated(LinkedIdIn, payload)
    connection = autocommit if autocommit is not None else session.connection()
    row = connection.execute(_INPUTS, {"service_id": request.service_id, "user_id": request.service_user_id}).first()
    if row is None or row.api_client_id is None or row.api_client_id != actor.client_id:
        return LinkedId(False, "not_your_service", None, None)
    if request.target_service_id == request.service_id:
        return LinkedId(False, "same_service", None, None)
    if row.resident_id is None:
        return LinkedId(False, "not_linked", None, None)
    broker_actor, client = _as_broker(actor), f"brokerage:{actor.client_id}"
    asking = consent_check(session, broker_actor, {
        "service_id": request.service_id, "tenant_code": row.tenant_code, "subject_id": request.service_user_id,
        "items": [ID_ITEM], "purpose": request.purpose, "client": f"{client}:from:{request.target_service_id}"},
        autocommit=autocommit, inputs=row)
    if not asking.allowed:
        return LinkedId(False, asking.reason, None, asking.linkage_seq)
    target_user_id = translate(session, request.service_id, request.service_user_id, request.target_service_id)
    if target_user_id is None:
        return LinkedId(False, "target_not_consented", None, asking.linkage_seq)
    given = consent_check(session, broker_actor, {
        "service_id": request.target_service_id, "tenant_code": row.tenant_code, "subject_id": target_user_id,
        "items": [ID_ITEM], "purpose": request.purpose, "client": f"{client}:to:{request.service_id}"},
        autocommit=autocommit)
    if not given.allowed:
        return LinkedId(False, "target_not_consented", None, asking.linkage_seq)
    return LinkedId(True, "allowed", target_user_id, given.linkage_seq)
