"""The residents' portal, links and consents (issue 42 items 2, 5, 7): what a signed-in resident does about
the services linked to their common ID, and the one-time code a service issues for that.

* A service issues a one-time link code for one of its own user IDs (:func:`issue_link_code`, through its
  own API client): 8 characters of an unambiguous alphabet, valid 10 minutes, used once, kept hashed.
* The resident, signed in to the portal, enters it with the service chosen (:func:`link_with_code`): their
  common ID is linked to that user ID (method ``portal_code``, at the sign-in's assurance).
* The resident ends a link (:func:`unlink`: ``ended_at``, by them, kept), gives, changes or withdraws their
  consent to a linked service's current text and sets the items it may receive (:func:`save_consent`,
  :func:`withdraw`): the consent records of :mod:`residents.consent`, the disclosure range of
  :func:`residents.operations.record_disclosure`.

The resident acts for themself, or a legal representative for them (:mod:`residents.representation`):
:func:`resident_actor` is who they are in the records (the provider's issuer
and their identifier there, as at sign-in, :mod:`residents.signin`). Their own consent is recorded as the
consent app records one (``consent.record`` on their municipality, for that one call); no other right is
granted. Every act is audited with the resident as the actor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import secrets
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.calendar import jst_text
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.validation import RowId
from residents.consent import operations as consent
from residents.consent.models import (AssuranceLevel, ConsentEvent, ConsentRecord, ConsentText, DataService,
                                       ServiceStatus)
from residents.consent.state import consent_state
from residents.consent.schemas import NewSubjectId, validated
from residents.consent.subject_ids import check_user_id
from residents.brokerage import HELD_ITEMS
from residents.models import (CURRENT_LINK, LinkMethod, Representation, Resident, ResidentLinkAttempt,
                              ResidentLinkCode, ResidentProvider, ResidentSignIn, ResidentStatus, ServiceLink)
from residents.operations import disclosed_items, link_in_the_way, record_disclosure

# no 0/O, 1/I/L, 2/Z, 5/S, 8/B: a code read aloud or copied from a phone's screen is not mistaken
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8
CODE_VALID = dt.timedelta(minutes=10)
# guessing a code is limited: after this many wrong codes by one resident within the window, every attempt is
# refused until the window has passed (25**8 codes, each valid 10 minutes: a handful of guesses find nothing)
WRONG_CODES_ALLOWED = 5
WRONG_CODE_WINDOW = dt.timedelta(minutes=15)
UNLINK_REASON = "本人による連携解除"
PORTAL_ISSUER = "urn:renkei:residents-portal"


class LinkCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: RowId
    service_user_id: NewSubjectId


# --- who the resident is in the records -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RepresentativeActor(Actor):
    """A legal representative acting in the portal for the person of ``representation_id``
    (:mod:`residents.representation`): the actor's identity is the representative's own."""

    representation_id: int = 0
    represented_common_id: str = ""


def _newest_sign_in_subject(session: Session, resident_id: int, provider: ResidentProvider | None) -> str | None:
    """The resident's identifier at the provider, from their newest sign-in through it (None: no such sign-in)."""
    if provider is None:
        return None
    return session.scalar(sa.select(ResidentSignIn.subject).where(
        ResidentSignIn.resident_id == resident_id, ResidentSignIn.provider_id == provider.id)
        .order_by(ResidentSignIn.id.desc()).limit(1))


def resident_actor(session: Session, resident_id: int, provider_alias: str, *, request_id: str | None = None,
                   source_ip: str | None = None, representative_id: int | None = None,
                   representation_id: int | None = None) -> Actor:
    """The signed-in resident as the actor of their own acts: the provider's issuer and their identifier there
    (their newest sign-in through it), named 住民本人（provider）as at sign-in; no role.

    Acting for another (``representative_id``, who signed in, and the ``representation_id`` in force; the caller
    checked it): the representative is the actor, by their own identifier, named 法定代理人（kind）with their common
    ID, as a :class:`RepresentativeActor`; ``resident_id`` is the person acted for."""
    signed_in = representative_id or resident_id
    provider = session.scalar(sa.select(ResidentProvider).where(ResidentProvider.alias == provider_alias))
    subject = _newest_sign_in_subject(session, signed_in, provider)
    common_id = session.scalar(sa.select(Resident.common_id).where(Resident.id == signed_in))
    issuer = provider.issuer if provider is not None and subject else PORTAL_ISSUER
    subject = subject or f"resident:{common_id or signed_in}"
    if representative_id is None:
        return Actor(issuer=issuer, subject=subject,
                     name=f"住民本人（{provider.display_name if provider is not None else provider_alias}）",
                     request_id=request_id, source_ip=source_ip)
    return _representative(session, Actor(issuer=issuer, subject=subject, request_id=request_id, source_ip=source_ip),
                           common_id, resident_id, representation_id)


def _representative(session: Session, signed_in: Actor, common_id: str | None, resident_id: int,
                    representation_id: int | None) -> RepresentativeActor:
    """The signed-in representative (``common_id`` theirs) acting for ``resident_id`` under the representation."""
    representation = session.get(Representation, representation_id)
    represented = session.scalar(sa.select(Resident.common_id).where(Resident.id == resident_id))
    kind = representation.kind.ja if representation is not None else "代理人"
    return RepresentativeActor(issuer=signed_in.issuer, subject=signed_in.subject,
                               name=f"法定代理人（{kind}・共通ID {common_id}）",
                               request_id=signed_in.request_id, source_ip=signed_in.source_ip,
                               representation_id=representation_id or 0, represented_common_id=represented or "")


NO_COMMON_ID = Conflict("You have no common ID yet, so no service can be linked: the municipality's residents' desk "
                        "is checking whether you are already enrolled.",
                        "共通IDがまだ発行されていないため、サービスと連携できません。市町村の住民窓口で、既に登録済みでないかを"
                        "確認しています。")


def my_resident(session: Session, resident_id: int, tenant_code: str) -> Resident:
    """The signed-in resident's row, of the portal's municipality, with a common ID (status active): the
    precondition of every page here; otherwise refused in words (:data:`NO_COMMON_ID`)."""
    resident = session.get(Resident, resident_id)
    if resident is None or resident.tenant_code != tenant_code:
        raise NotFound("No such resident.", "該当する住民は見つかりません。")
    if resident.status is not ResidentStatus.active or not resident.common_id:
        raise NO_COMMON_ID
    return resident


# --- the code a service issues ------------------------------------------------------------------------

def _code_hash(service_id: int, code: str) -> str:
    return hashlib.sha256(f"{service_id}:{code}".encode()).hexdigest()


def normalise_code(text: str) -> str:
    """A code as typed: spaces and hyphens dropped, upper case."""
    return "".join(ch for ch in (text or "").upper() if ch not in " -\u3000")


def issue_link_code(session: Session, actor: Actor, payload: LinkCodeIn | dict, *,
                    now: dt.datetime | None = None) -> tuple[ResidentLinkCode, str]:
    """A one-time code for ``service_user_id`` of the caller's own service (its API client must be the caller;
    another's service is not found): the row (only the code's hash is kept) and the code, shown once; valid
    for :data:`CODE_VALID` from ``now`` (by default the present)."""
    authz.authorize(actor, "resident.link_code")
    data = validated(LinkCodeIn, payload)
    service = session.get(DataService, data.service_id)
    if service is None or service.api_client_id is None or service.api_client_id != actor.client_id:
        raise NotFound(f"No service {data.service_id} of this client.",
                       f"このクライアントの番号 {data.service_id} のサービスはありません。")
    if service.status is not ServiceStatus.approved:
        raise Conflict("The service is not approved: it cannot be linked.", "このサービスは承認されていないため、連携できません。")
    check_user_id(service, data.service_user_id)
    linked = session.scalar(sa.select(ServiceLink.id).where(ServiceLink.service_id == service.id, CURRENT_LINK,
                                                            ServiceLink.service_user_id == data.service_user_id))
    if linked is not None:
        raise Conflict("That user ID of the service is linked already.", "このサービスのそのIDは既に連携されています。",
                       problems=[problem("service_user_id", "Linked already.", "既に連携されています。")])
    now = now or utcnow()
    while True:  # 25**8 codes per service: a collision with a code kept is a curiosity, but never two alike
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.scalar(sa.select(ResidentLinkCode.id).where(ResidentLinkCode.service_id == service.id,
                                                               ResidentLinkCode.code_hash == _code_hash(service.id, code))) is None:
            break
    row = ResidentLinkCode(service_id=service.id, service_user_id=data.service_user_id,
                           code_hash=_code_hash(service.id, code), issued_at=now, issued_by=actor.recorded_name,
                           expires_at=now + CODE_VALID)
    session.add(row)
    session.flush()
    audit.record(session, actor, "resident.link_code.issue", "resident_link_code", str(row.id),
                 tenant_code=service.owner_code,
                 after={"service_id": service.id, "service_user_id": data.service_user_id,
                        "expires_at": row.expires_at.isoformat()})
    return row, code


# --- the resident's services -----------------------------------------------------------------------------

def linkable_services(session: Session, tenant_code: str) -> list[DataService]:
    """The municipality's approved data services, by name: those its residents may link in the portal."""
    return list(session.scalars(sa.select(DataService).where(DataService.owner_code == tenant_code,
                                                             DataService.status == ServiceStatus.approved)
                                .order_by(DataService.name, DataService.id)))


def my_links(session: Session, resident: Resident) -> list[tuple[ServiceLink, DataService]]:
    """The resident's current links with their services, by service name."""
    rows = session.execute(sa.select(ServiceLink, DataService).join(DataService, DataService.id == ServiceLink.service_id)
                           .where(ServiceLink.resident_id == resident.id, CURRENT_LINK)
                           .order_by(DataService.name, ServiceLink.id))
    return [(link, service) for link, service in rows]


@dataclasses.dataclass(frozen=True)
class ToDo:
    """Something the resident may act on, shown on the portal's home page: ``consent`` (a linked service whose
    current consent text has no consent of theirs in force) or ``link`` (a service of their municipality not
    linked yet, linked with the code that service gives them)."""

    kind: str
    service_id: int
    service_name: str


def to_do(session: Session, resident: Resident) -> list[ToDo]:
    """What the resident may act on: consents to give first, then the services they may link."""
    items, linked, now = [], set(), utcnow()
    for link, service in my_links(session, resident):
        linked.add(service.id)
        text = consent.current_text(session, service)
        record = consent.latest_event(session, service.id, resident.tenant_code, link.service_user_id)
        in_force = record is not None and consent_state(record.event, record.expires_at, now) is ConsentEvent.given
        if text is not None and not (in_force and record.text_id == text.id):
            items.append(ToDo("consent", service.id, service.name))
    items += [ToDo("link", service.id, service.name) for service in linkable_services(session, resident.tenant_code)
              if service.id not in linked]
    return items


WRONG_CODE = Invalid("The code is not right for that service, has expired or was used already. Ask the service for "
                     "a new code.",
                     "コードが正しくないか、有効期限（10分）が切れているか、既に使われています。サービスで新しいコードを"
                     "発行してください。",
                     problems=[problem("code", "Not a valid code for the chosen service (wrong, expired or used).",
                                       "選んだサービスの有効なコードではありません（誤り・期限切れ・使用済み）。")])


class WrongCode(Invalid):
    """A code refused as wrong, expired or used, once counted (:func:`link_with_code`): the count (and the
    lock's audit record) must be kept although the link is refused, so the caller commits on this refusal."""


def _locked_until(session: Session, resident: Resident, now: dt.datetime) -> dt.datetime | None:
    """When the resident may enter codes again, if they entered :data:`WRONG_CODES_ALLOWED` wrong ones within
    :data:`WRONG_CODE_WINDOW` before ``now``: the window of the oldest of those; None when they may now."""
    recent = list(session.scalars(sa.select(ResidentLinkAttempt.attempted_at).where(
        ResidentLinkAttempt.resident_id == resident.id, ResidentLinkAttempt.attempted_at > now - WRONG_CODE_WINDOW)
        .order_by(ResidentLinkAttempt.attempted_at.desc()).limit(WRONG_CODES_ALLOWED)))
    return recent[-1] + WRONG_CODE_WINDOW if len(recent) >= WRONG_CODES_ALLOWED else None


def _locked(until: dt.datetime) -> Invalid:
    at = jst_text(until)[-5:]
    return Invalid(f"You entered a wrong code {WRONG_CODES_ALLOWED} times, so no code can be entered until {at} "
                   "(Japan time), not even the right one. Try again after that.",
                   f"誤ったコードが{WRONG_CODES_ALLOWED}回入力されたため、{at} まではコードを入力できません（正しいコードも"
                   "受け付けません）。時間をおいてもう一度お試しください。",
                   problems=[problem("code", f"Too many wrong codes: try again after {at}.",
                                     f"誤ったコードが続いたため、{at} 以降にもう一度お試しください。")])


def _count_wrong_code(session: Session, actor: Actor, resident: Resident, service: DataService,
                      now: dt.datetime) -> WrongCode:
    """Keep a wrong code (never what was typed); the one that reaches the limit locks the resident out for the
    rest of the window, audited once (``resident.link_code.locked``). The refusal to raise."""
    session.add(ResidentLinkAttempt(resident_id=resident.id, service_id=service.id, attempted_at=now))
    session.flush()
    until = _locked_until(session, resident, now)
    if until is not None:
        audit.record(session, actor, "resident.link_code.locked", "resident", resident.common_id,
                     tenant_code=resident.tenant_code,
                     after={"common_id": resident.common_id, "service_id": service.id,
                            "wrong_codes": WRONG_CODES_ALLOWED, "window_minutes": WRONG_CODE_WINDOW.seconds // 60,
                            "locked_until": until.isoformat()})
    return WrongCode(WRONG_CODE.message_en, WRONG_CODE.message_ja, problems=WRONG_CODE.problems)


def link_with_code(session: Session, actor: Actor, resident: Resident, service_id: int | None, code: str,
                   assurance_level: int, *, now: dt.datetime | None = None) -> ServiceLink:
    """Link the resident to the user ID a service issued ``code`` for: a correct, unexpired, unused code of
    that service (used now, never again), a service of the resident's municipality, a sign-in at the
    service's required level or higher, and neither the user ID nor the resident linked to it already.

    A wrong (or expired, or used) code is counted (:class:`WrongCode`: the caller keeps the count); after
    :data:`WRONG_CODES_ALLOWED` of them within :data:`WRONG_CODE_WINDOW` every code is refused, the right one
    too, until the window has passed. A right code resets nothing: the wrong ones still count."""
    service = session.get(DataService, service_id) if service_id else None
    if service is None or service.owner_code != resident.tenant_code or service.status is not ServiceStatus.approved:
        raise Invalid("Choose a service of the list.", "一覧からサービスを選んでください。",
                      problems=[problem("service_id", "Choose a service of the list.", "一覧からサービスを選んでください。")])
    typed = normalise_code(code)
    if not typed:
        raise Invalid("Enter the code the service gave you.", "サービスから受け取ったコードを入力してください。",
                      problems=[problem("code", "Required.", "必須です。")])
    now = now or utcnow()
    # one resident's attempts one at a time, whichever worker takes them: the count and the lock are exact
    session.execute(sa.select(Resident.id).where(Resident.id == resident.id).with_for_update())
    until = _locked_until(session, resident, now)
    if until is not None:
        raise _locked(until)
    row = session.scalar(sa.select(ResidentLinkCode).where(ResidentLinkCode.service_id == service.id,
                                                           ResidentLinkCode.code_hash == _code_hash(service.id, typed)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise _count_wrong_code(session, actor, resident, service, now)
    if assurance_level < service.required_level:
        level = session.get(AssuranceLevel, service.required_level)
        raise Invalid(f"This service needs a sign-in at level {service.required_level} or higher "
                      f"({level.label_en if level and level.label_en else ''}): sign in with the My Number card.",
                      f"このサービスとの連携には個人認証レベル {service.required_level} 以上"
                      f"（{level.label_ja if level else ''}）のサインインが必要です。マイナンバーカードでサインインし直してください。",
                      problems=[problem("service_id", f"Needs a sign-in at level {service.required_level} or higher.",
                                        f"個人認証レベル {service.required_level} 以上のサインインが必要です。")])
    if link_in_the_way(session, service.id, row.service_user_id, resident.id) is not None:
        raise Conflict("You, or that user ID of the service, are linked to this service already.",
                       "あなた、またはサービスのそのIDは、このサービスと既に連携しています。",
                       problems=[problem("service_id", "Linked already.", "既に連携しています。")])
    # used once: a second request racing this one finds it used (the row changes only while unused)
    used = session.execute(sa.update(ResidentLinkCode).where(ResidentLinkCode.id == row.id, ResidentLinkCode.used_at.is_(None))
                           .values(used_at=now, resident_id=resident.id))
    if used.rowcount != 1:
        raise WRONG_CODE
    link = ServiceLink(resident_id=resident.id, service_id=service.id, service_user_id=row.service_user_id,
                       method=LinkMethod.portal_code, assurance_level=assurance_level, linked_by=actor.recorded_name)
    session.add(link)
    session.flush()
    audit.record(session, actor, "resident.link", "service_link", str(link.id), tenant_code=resident.tenant_code,
                 after={"common_id": resident.common_id, "service_id": service.id,
                        "service_user_id": row.service_user_id, "method": LinkMethod.portal_code.value,
                        "assurance_level": assurance_level, "link_code": row.id})
    return link


def current_link(session: Session, resident: Resident, service_id: int) -> tuple[ServiceLink, DataService]:
    """The resident's current link to ``service_id`` and the service; not found otherwise (whether the
    service exists, is another municipality's, or is not linked: the same words)."""
    found = session.execute(sa.select(ServiceLink, DataService).join(DataService, DataService.id == ServiceLink.service_id)
                            .where(ServiceLink.resident_id == resident.id, ServiceLink.service_id == service_id,
                                   CURRENT_LINK)).first()
    if found is None:
        raise NotFound("You are not linked to that service.", "そのサービスとは連携していません。")
    return found[0], found[1]


def unlink(session: Session, actor: Actor, resident: Resident, service_id: int) -> ServiceLink:
    """End the resident's link to a service (kept, ended by them): the service receives nothing about them
    any more (the brokerage finds no link)."""
    link, service = current_link(session, resident, service_id)
    link.ended_at, link.ended_by, link.ended_reason = utcnow(), actor.recorded_name, UNLINK_REASON
    session.flush()
    audit.record(session, actor, "resident.unlink", "service_link", str(link.id), tenant_code=resident.tenant_code,
                 before={"common_id": resident.common_id, "service_id": service.id,
                         "service_user_id": link.service_user_id},
                 after={"ended_at": link.ended_at.isoformat(), "reason": UNLINK_REASON})
    return link


# --- consent and the disclosure range --------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ServiceState:
    """What the resident's page of one linked service shows."""

    link: ServiceLink
    service: DataService
    text: ConsentText | None
    required_purposes: list[str]
    optional_purposes: list[str]
    items: list[str]  # the text's data items, in order
    held: list[str]  # those of them renkei holds (the 基本4情報): the only ones that can be sent
    state: ConsentEvent | None  # given, withdrawn, expired; None: never asked
    record: ConsentRecord | None  # the newest record (the consent's text version, when)
    chosen_purposes: list[str]  # the optional purposes of the consent in force
    disclosed: list[str]  # the disclosure range in force


def _text_terms(session: Session, text) -> tuple[list, list, list[str]]:
    """The consent text's required purposes, optional purposes and item names (all empty without a text)."""
    if not text:
        return [], [], []
    return (consent.purposes_of(session, text.id, required=True), consent.purposes_of(session, text.id, required=False),
            [item.name for item in consent.items_of(session, text.id)])


def service_state(session: Session, resident: Resident, service_id: int) -> ServiceState:
    link, service = current_link(session, resident, service_id)
    text = consent.current_text(session, service)
    required, optional, items = _text_terms(session, text)
    record = consent.latest_event(session, service.id, resident.tenant_code, link.service_user_id)
    state = consent_state(record.event, record.expires_at, utcnow()) if record is not None else None
    chosen = [p for p in json.loads(record.purposes) if p in optional] if state is ConsentEvent.given else []
    return ServiceState(link, service, text, required, optional, items, [i for i in items if i in HELD_ITEMS], state,
                        record, chosen, disclosed_items(session, resident.id, service.id))


def as_consent_app(actor: Actor, tenant_code: str) -> Actor:
    """The resident recording their own consent, as the consent app records one: ``consent.record`` on their
    municipality for this one call (the records keep the resident as who recorded it).

    A representative's act (:class:`RepresentativeActor`) is written as by the portal for the person (issuer
    :data:`PORTAL_ISSUER`, the person's common ID): a service reads consent records as receipts, and services
    receive nothing of the representative. Who acted is in the audit record (:func:`representative_act`)."""
    if isinstance(actor, RepresentativeActor):
        return Actor(issuer=PORTAL_ISSUER, subject=f"resident:{actor.represented_common_id}", name="住民ポータル",
                     roles=frozenset({authz.CONSENT_APP}), tenant_codes=frozenset({tenant_code}),
                     request_id=actor.request_id, source_ip=actor.source_ip)
    return dataclasses.replace(actor, roles=frozenset({authz.CONSENT_APP}), tenant_codes=frozenset({tenant_code}))


def representative_act(session: Session, actor: Actor, resident: Resident, act: str, **facts: Any) -> None:
    """A representative's act whose own record is written as by the portal (a consent record): audited
    ``resident.representation.act`` with the representative as the actor; nothing for the resident's own acts."""
    if isinstance(actor, RepresentativeActor):
        audit.record(session, actor, "resident.representation.act", "resident", resident.common_id,
                     tenant_code=resident.tenant_code,
                     after={"representation_id": actor.representation_id, "act": act, **facts})


def save_consent(session: Session, actor: Actor, resident: Resident, service_id: int, *, content_hash: str,
                 optional_purposes: list[str], items: list[str], assurance_level: int) -> dict[str, Any]:
    """The resident's consent to the linked service's current text (the one they were shown: ``content_hash``)
    with the optional purposes they chose, and the items the service may receive: a consent record
    (``give_consent``, method web, the person as the service knows them) and a new disclosure range."""
    link, service = current_link(session, resident, service_id)
    record = consent.give_consent(session, as_consent_app(actor, resident.tenant_code), {
        "service_id": service.id, "tenant_code": resident.tenant_code, "subject_id": link.service_user_id,
        "content_hash": content_hash, "optional_purposes": list(dict.fromkeys(optional_purposes)), "method": "web",
        "assurance_level": assurance_level})
    by = "法定代理人がポータルで設定" if isinstance(actor, RepresentativeActor) else "本人がポータルで設定"
    disclosure = record_disclosure(session, actor, resident, service.id, list(items), by)
    representative_act(session, actor, resident, "consent.give", service_id=service.id, receipt=record.receipt_id)
    return {"record": record, "disclosure": disclosure}


def withdraw(session: Session, actor: Actor, resident: Resident, service_id: int) -> ConsentRecord:
    """Withdraw the resident's consent to a linked service (effective for the service's next request)."""
    link, service = current_link(session, resident, service_id)
    record = consent.withdraw_consent(session, as_consent_app(actor, resident.tenant_code), {
        "service_id": service.id, "tenant_code": resident.tenant_code, "subject_id": link.service_user_id,
        "method": "web"})
    representative_act(session, actor, resident, "consent.withdraw", service_id=service.id, receipt=record.receipt_id)
    return record
