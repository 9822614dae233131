"""A resident moves between the platform's municipalities (転出・転入, issue 56 item 2).

Each municipality is the controller of its residents' data: it keeps its own common IDs, services and consents
(:mod:`residents.portal_municipalities`). When the address on the resident's card (the one renkei holds, refreshed at
each sign-in: :func:`residents.operations.refresh_claims`) lies in another municipality, the resident is told at
sign-in (:func:`destination`) and decides on one page (:func:`plan`, then :func:`move`):

* **Into another municipality of the portal.** That municipality's common ID is found or issued under its own
  controller (:func:`residents.operations.sign_in_person`, the one enrolment rule: a match waits for its desk's
  review, and then nothing moves). Each current link is carried over only where the resident ticks it and the new
  municipality runs the same service (an approved service of the same provider and the same name: the same app run
  for several municipalities) that accepts the service's user ID at the resident's assurance; the carried link is
  made anew under the new common ID (method ``moved``), and a consent in force is given anew to the new service's
  current text (the one shown on the page, by its hash), with the optional purposes of the same wording and the
  disclosure range's items that the new text names. Every other link ends.
* **Out of the platform's area** (an address in no member municipality): every link ends.
* **Into a member municipality that does not take part in the portal**: the resident is told to ask its counter;
  nothing moves.

On the old municipality's row every link ends (``転出``), every consent in force is withdrawn, and the status is
``moved`` with where to and when; the row is kept to the retention of residents who left
(:func:`residents.portal_records.erase_left`). The new row records where from. Both municipalities' desks see it
(the resident's page and the audit log): ``resident.move_out`` under the old municipality, ``resident.move_in``
under the new one. A legal representative cannot move the person here (the desk does it).
"""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.actor import Actor
from core.db import utcnow
from core.errors import Conflict, DomainError, Forbidden, Invalid, problem
from residents.consent import operations as consent
from residents.consent.models import ConsentEvent, ConsentText, DataService, ServiceStatus
from residents.consent.state import consent_state
from residents.consent.subject_ids import check_user_id
from residents.crypto import Keyring
from residents.lifecycle import RESIDENTS
from residents.models import (CURRENT_LINK, LinkMethod, Resident, ResidentDisclosure, ResidentIdentity, ResidentStatus,
                              ServiceLink, VerificationMethod)
from residents.operations import link_in_the_way, personal_items, record_disclosure, sign_in_person
from residents.portal import RepresentativeActor, as_consent_app

MOVED_OUT = "転出"


@dataclasses.dataclass(frozen=True)
class Destination:
    """Where the card's address now lies, seen from the resident's municipality."""

    code: str  # the municipality's code; "" outside the platform's area
    name: str
    in_portal: bool  # the municipality takes part in the portal (a move can be made here)

    @property
    def outside(self) -> bool:
        return not self.code


def _member_name(session: Session, code: str) -> str | None:
    """The name of an active member municipality of the platform, or None."""
    from tenancy.registry.models import Tenant, TenantStatus

    return session.scalar(sa.select(Tenant.name_ja).where(Tenant.code == code, Tenant.status == TenantStatus.active))


def destination(session: Session, keys: Keyring, resident: Resident) -> Destination | None:
    """None while the card's address lies in the resident's own municipality (or the resident is not an active one);
    else the municipality it lies in, or outside the area."""
    from residents.portal_municipalities import municipality_of_address, opted_in

    if resident.status is not ResidentStatus.active:
        return None
    home = municipality_of_address(session, personal_items(resident, keys, ("address",))["address"])
    if home == resident.tenant_code:
        return None
    name = _member_name(session, home) if home else None
    if name is None:
        return Destination("", "", False)
    return Destination(home, name, home in opted_in(session))


def _same(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def described(session: Session, *, moved_to: str | None, moved_from: str | None,
              moved_at=None) -> tuple[str, str] | None:
    """A row's move in words (Japanese, English) for the desks: where to and when, or where from; None when none."""
    from core.calendar import jst_text
    from tenancy.registry.models import Tenant

    def name(code: str) -> str:
        return session.scalar(sa.select(Tenant.name_ja).where(Tenant.code == code)) or code

    if moved_to is not None:
        when = jst_text(moved_at) if moved_at else ""
        if not moved_to:
            return f"転出済み（参加市町村の区域外へ、{when}）", f"Moved out of the platform's area ({when})"
        return f"転出済み（{name(moved_to)}へ、{when}）", f"Moved to {name(moved_to)} ({when})"
    if moved_from:
        return f"転入（{name(moved_from)}から）", f"Moved in from {name(moved_from)}"
    return None


@dataclasses.dataclass(frozen=True)
class Carry:
    """One current link of the resident and what a move does with it."""

    link: ServiceLink
    service: DataService
    successor: DataService | None  # the new municipality's same service, when it may be carried there
    text: ConsentText | None  # the successor's current consent text (what the resident consents to)
    consented: bool  # a consent to the old service is in force (it is given anew to the successor's text)
    why_not: str  # why it cannot be carried ("" when it can)


@dataclasses.dataclass(frozen=True)
class Plan:
    destination: Destination
    carries: list[Carry]


def _successor(session: Session, service: DataService, code: str) -> DataService | None:
    candidates = session.scalars(sa.select(DataService).where(DataService.owner_code == code,
                                                              DataService.status == ServiceStatus.approved)
                                 .order_by(DataService.id))
    return next((s for s in candidates if _same(s.provider) == _same(service.provider)
                 and _same(s.name) == _same(service.name)), None)


def _consent_in_force(session: Session, resident: Resident, link: ServiceLink):
    latest = consent.latest_event(session, link.service_id, resident.tenant_code, link.service_user_id)
    if latest is not None and consent_state(latest.event, latest.expires_at, utcnow()) == ConsentEvent.given:
        return latest
    return None


def plan(session: Session, keys: Keyring, resident: Resident, assurance_level: int) -> Plan | None:
    """What a move would do now (None when there is none to make): each current link, carried or ended, and why."""
    where = destination(session, keys, resident)
    if where is None:
        return None
    carries = []
    links = session.execute(sa.select(ServiceLink, DataService).join(DataService, DataService.id == ServiceLink.service_id)
                            .where(ServiceLink.resident_id == resident.id, CURRENT_LINK).order_by(ServiceLink.id)).all()
    for link, service in links:
        consented = _consent_in_force(session, resident, link) is not None
        successor = _successor(session, service, where.code) if where.in_portal else None
        text = consent.current_text(session, successor) if successor is not None else None
        why_not = ""
        if not where.in_portal:
            why_not = "転出先では利用できません。" if where.outside else "転出先の市町村はポータルに参加していません。"
        elif successor is None:
            why_not = f"{where.name}では、このサービスは提供されていません。"
        elif text is None:
            why_not = f"{where.name}のこのサービスには、同意文書がまだありません。"
        elif successor.required_level > assurance_level:
            why_not = f"{where.name}のこのサービスには、より高い個人認証レベル（{successor.required_level}）が必要です。"
        else:
            try:
                check_user_id(successor, link.service_user_id)
            except DomainError:
                why_not = f"{where.name}のこのサービスでは、今のサービスIDを使えません。"
        carries.append(Carry(link, service, successor if not why_not else None, text if not why_not else None,
                             consented, why_not))
    return Plan(where, carries)


NOT_BY_REPRESENTATIVE = ("A legal representative cannot move the person here: ask the municipality's residents' desk.",
                         "法定代理人はここで本人の転出・転入の手続きはできません。市町村の住民窓口にお申し出ください。")
NO_MOVE = ("The address on your card lies in your municipality: there is no move to make.",
           "マイナンバーカードの住所はお住まいの市町村のままです。転出・転入の手続きはありません。")
NOT_IN_PORTAL = ("The municipality you moved to does not take part in the residents' portal: ask its counter.",
                 "転入先の市町村は住民ポータルに参加していません。転入先の市町村の窓口にお問い合わせください。")
TEXT_CHANGED = ("A service's consent text changed while you were deciding: look at the page again.",
                "確認中にサービスの同意文書が変わりました。もう一度内容を確認してください。")
NEW_IN_REVIEW = ("Your enrolment with the new municipality waits for its desk to confirm who you are: nothing was "
                 "moved. Ask the new municipality's residents' desk.",
                 "転入先の市町村での登録は、窓口による本人確認（同一人物の確認）待ちになるため、何も引き継いでいません。"
                 "転入先の住民窓口にお問い合わせください。")


@dataclasses.dataclass(frozen=True)
class Moved:
    old: Resident
    new: Resident | None  # None for a move out of the area
    carried: list[int]  # the old services' ids carried over
    ended: list[int]  # the old links ended without a successor


def _verified_of(session: Session, keys: Keyring, resident: Resident, actor: Actor, code: str,
                 assurance_level: int) -> dict[str, Any]:
    """The sign-in's verified facts for the new municipality: the 基本4情報 renkei holds (refreshed at this sign-in)
    and the provider's identifier the resident signed in with."""
    identity = session.scalar(sa.select(ResidentIdentity).where(
        ResidentIdentity.resident_id == resident.id, ResidentIdentity.issuer == actor.issuer,
        ResidentIdentity.subject == actor.subject).limit(1))
    if identity is None:
        raise Forbidden("Sign in with your card again to move.", "転出・転入の手続きには、カードでもう一度サインインしてください。")
    return {"tenant_code": code, **personal_items(resident, keys), "verification": VerificationMethod.provider.value,
            "assurance_level": assurance_level, "issuer": identity.issuer, "subject": identity.subject}


def move(session: Session, actor: Actor, keys: Keyring, resident: Resident, *, carry: set[int],
         shown: dict[int, str], assurance_level: int) -> Moved:
    """The resident's move, as :func:`plan` shows it: ``carry`` the old services' ids the resident ticked, ``shown``
    the successor's consent text hash shown for each (a text changed since is refused); audited under both."""
    if isinstance(actor, RepresentativeActor):
        raise Forbidden(*NOT_BY_REPRESENTATIVE)
    found = plan(session, keys, resident, assurance_level)
    if found is None:
        raise Conflict(*NO_MOVE)
    where = found.destination
    if not where.outside and not where.in_portal:
        raise Conflict(*NOT_IN_PORTAL)
    unknown = carry - {c.service.id for c in found.carries if not c.why_not}
    if unknown:
        raise Invalid("A service that cannot be carried over was chosen.", "引き継げないサービスが選ばれています。",
                      problems=[problem("carry", "Choose among the services that can be carried over.",
                                        "引き継げるサービスから選んでください。")])
    chosen = [c for c in found.carries if c.service.id in carry]
    if any(shown.get(c.service.id) != c.text.content_hash for c in chosen if c.consented):
        raise Conflict(*TEXT_CHANGED)
    new = None
    if not where.outside:
        signed = sign_in_person(session, actor, keys, _verified_of(session, keys, resident, actor, where.code,
                                                                   assurance_level))
        new = signed.resident
        if new.status is not ResidentStatus.active or not new.common_id:
            raise Conflict(*NEW_IN_REVIEW)
    now = utcnow()
    carried, ended, withdrawn, made = [], [], [], []
    for c in found.carries:
        given = _consent_in_force(session, resident, c.link)
        if given is not None:
            record = consent.withdraw_consent(session, as_consent_app(actor, resident.tenant_code), {
                "service_id": c.service.id, "tenant_code": resident.tenant_code, "subject_id": c.link.service_user_id,
                "method": "web"})
            withdrawn.append(record.receipt_id)
        c.link.ended_at, c.link.ended_by = now, actor.recorded_name
        if c.service.id in carry:
            c.link.ended_reason = f"{MOVED_OUT}（{where.name}へ引継ぎ）"
            carried.append(c.service.id)
            made.append(_carry(session, actor, new, c, given, assurance_level))
        else:
            c.link.ended_reason = MOVED_OUT
            ended.append(c.service.id)
    session.flush()
    before = resident.status.value
    resident.status = RESIDENTS.move("move", resident.status, resident).target
    resident.moved_at, resident.moved_to, resident.left_at = now, where.code, now
    if new is not None and not new.moved_from:
        new.moved_from = resident.tenant_code
    session.flush()
    audit.record(session, actor, "resident.move_out", "resident", resident.common_id or str(resident.id),
                 tenant_code=resident.tenant_code, before={"status": before},
                 after={"status": resident.status.value, "moved_to": where.code or "outside",
                        "links_carried": carried, "links_ended": ended, "consents_withdrawn": withdrawn})
    if new is not None:
        audit.record(session, actor, "resident.move_in", "resident", new.common_id, tenant_code=new.tenant_code,
                     after={"moved_from": resident.tenant_code, "links": made})
    return Moved(resident, new, carried, ended)


def _carry(session: Session, actor: Actor, new: Resident, c: Carry, given, assurance_level: int) -> dict[str, Any]:
    """The link made anew under the new common ID, and the consent given anew to the successor's text."""
    service = c.successor
    taken = link_in_the_way(session, service.id, c.link.service_user_id, new.id)
    if taken is not None:
        raise Conflict(f"{service.name}: this user ID or you are linked already in the new municipality.",
                       f"{service.name}：転入先で、このサービスIDまたはあなたはすでに連携されています。")
    link = ServiceLink(resident_id=new.id, service_id=service.id, service_user_id=c.link.service_user_id,
                       method=LinkMethod.moved, verification=VerificationMethod.provider,
                       assurance_level=assurance_level, linked_by=actor.recorded_name)
    session.add(link)
    session.flush()
    done: dict[str, Any] = {"service_id": service.id, "link_id": link.id, "from_service_id": c.service.id}
    if given is not None:
        before = set(json.loads(given.purposes))
        optional = [p for p in consent.purposes_of(session, c.text.id, required=False) if p in before]
        record = consent.give_consent(session, as_consent_app(actor, new.tenant_code), {
            "service_id": service.id, "tenant_code": new.tenant_code, "subject_id": link.service_user_id,
            "content_hash": c.text.content_hash, "optional_purposes": optional, "method": "web",
            "assurance_level": assurance_level})
        done["receipt"] = record.receipt_id
        old_range = session.scalar(sa.select(ResidentDisclosure.items).where(
            ResidentDisclosure.resident_id == c.link.resident_id, ResidentDisclosure.service_id == c.service.id)
            .order_by(ResidentDisclosure.id.desc()).limit(1))
        if old_range is not None:
            names = {item.name for item in consent.items_of(session, c.text.id)}
            items = [name for name in json.loads(old_range) if name in names]
            record_disclosure(session, actor, new, service.id, items, "転入時に本人がポータルで引継ぎ")
    return done
