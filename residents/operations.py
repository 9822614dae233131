"""Operations of the residents' side: enrolment with the duplicate search, the review queue, looking a
person up (always with a reason, always audited), links to services' IDs, the translation between
services, and the key rotation.

Each takes the session, the acting person and (where personal items are read or written) the key
ring (:mod:`residents.crypto`), asks :mod:`core.authz`, flushes and audits; the request commits once.
The audit log never holds a person's items: it holds the common ID, what was done and why.

A municipality is the controller of its residents' data: ``resident.*`` is granted to its own
residents' desk only, and a person of another municipality is not found (never "forbidden"), so that
staff cannot learn whether someone is enrolled elsewhere.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.calendar import read_date
from core.codes import COMMON_ID_BODY_ALPHABET, COMMON_ID_LENGTH, common_id_check_character
from core.db import lock_key, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from residents.consent.models import AssuranceLevel, ConsentRecord, DataService, ServiceStatus
from residents.consent.operations import items_of as consent_items_of
from residents.consent.schemas import validated
from residents.consent.subject_ids import check_user_id
from residents import normalise
from residents.crypto import Keyring
from residents.lifecycle import RESIDENTS, REVIEWS
from residents.models import (CURRENT_LINK, ENCRYPTED_FIELDS, ITEM_LABELS, MatchReason, Resident, ResidentDisclosure,
                              ResidentIdentity, ResidentNotice, ResidentReview, ResidentStatus, ReviewStatus,
                              ServiceLink, VerificationMethod)
from residents.schemas import DisclosureIn, EnrolmentIn, LinkIn


def new_common_id() -> str:
    """Fifteen random characters and their check character: nothing about the person goes into it."""
    body = "".join(secrets.choice(COMMON_ID_BODY_ALPHABET) for _ in range(COMMON_ID_LENGTH - 1))
    return body + common_id_check_character(body)


def _issue(session: Session) -> str:
    while True:  # 32**15 possibilities: a collision is a curiosity, but never a second person's ID
        common_id = new_common_id()
        if session.scalar(sa.select(Resident.id).where(Resident.common_id == common_id)) is None:
            return common_id


def _context(resident: Resident, field: str) -> str:
    return f"resident:{resident.uid}:{field}"


def _seal(resident: Resident, keys: Keyring, plain: dict[str, str]) -> None:
    """Write the four items encrypted and their matching hashes, all under the current key."""
    for field in ENCRYPTED_FIELDS:
        setattr(resident, field, keys.encrypt(plain[field], _context(resident, field)))
    resident.person_hash = keys.digest(normalise.person_key(plain["full_name"], plain["birth_date"], plain["sex"]))
    resident.address_hash = keys.digest(normalise.address(plain["address"]))
    resident.name_hash = keys.digest(normalise.name(plain["full_name"]))
    resident.key_id = keys.current_id


def personal_items(resident: Any, keys: Keyring, fields: tuple[str, ...] = ENCRYPTED_FIELDS) -> dict[str, str]:
    """The items (``fields``, by default the four) in plain text, of a resident or a row with its ``uid`` and
    encrypted columns (callers audit the view: :func:`look_up`)."""
    return {field: keys.decrypt(getattr(resident, field), _context(resident, field)) for field in fields}


# --- enrolment ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Enrolment:
    resident: Resident
    review: ResidentReview | None  # set when the enrolment matched an existing person


def _identified(session: Session, data: EnrolmentIn) -> Resident | None:
    """The person the provider's identifier of ``data`` belongs to."""
    return session.scalar(sa.select(Resident).join(ResidentIdentity, ResidentIdentity.resident_id == Resident.id).where(
        ResidentIdentity.tenant_code == data.tenant_code, ResidentIdentity.issuer == data.issuer,
        ResidentIdentity.subject == data.subject))


NAMESAKES_COMPARED = 50  # the people of one name at one address whose date of birth and sex are compared


def _person_hashes(keys: Keyring, full_name: str, birth_date: str, sex: str) -> tuple[str, ...]:
    """The person's match key (the keyed hash of the normalised name, date of birth and sex) under every key of
    the ring, current first: a row holds the one of the key it was written with (a rotation under way leaves
    rows of the old key), so a look-up matches any of them (:meth:`residents.crypto.Keyring.digests`)."""
    return keys.digests(normalise.person_key(full_name, birth_date, sex))


def _data_hashes(keys: Keyring, data: EnrolmentIn) -> tuple[str, ...]:
    return _person_hashes(keys, data.full_name, data.birth_date.isoformat(), data.sex.value)


def _match(session: Session, keys: Keyring, data: EnrolmentIn,
           person_hashes: tuple[str, ...]) -> tuple[Resident, MatchReason] | None:
    """The existing person an enrolment is, or may be: first by the provider's identifier (the only match that
    joins a sign-in to a person by itself), then by the name, date of birth and sex (whatever the address), then
    a person otherwise matching (the same name and address) who differs only in the date of birth or only in the
    sex (a typing error at a counter, a provider's correction: never silently a second ID). Every match but the first goes to
    review. A sign-in (verification ``provider``) also matches a person who left, not yet erased: whether it is
    them or a namesake is the desk's to say (:func:`_left_namesake`)."""
    if data.issuer and data.subject:  # the person with the identity, in one read
        known = _identified(session, data)
        if known is not None:
            return known, MatchReason.provider_identifier
    found = session.scalars(sa.select(Resident).where(
        Resident.tenant_code == data.tenant_code, Resident.person_hash.in_(person_hashes),
        Resident.status.in_((ResidentStatus.active, ResidentStatus.review))).order_by(Resident.status, Resident.id)).first()
    if found is not None:
        return found, MatchReason.basic_four
    return _almost(session, keys, data) or _left_namesake(session, data, person_hashes)


def _almost(session: Session, keys: Keyring, data: EnrolmentIn) -> tuple[Resident, MatchReason] | None:
    """A person of the same name and address (normalised) whose date of birth or sex, but not both, differs:
    found through the blind indexes (``name_hash``, ``address_hash``); only those rows' date of birth and sex are
    decrypted. Namesakes elsewhere are not compared: a common name would send every enrolment to review.
    Each row is looked for under every key of the ring (a name and an address hash of one key: the row's)."""
    under_each_key = [sa.and_(Resident.name_hash == name, Resident.address_hash == address) for name, address in
                      zip(keys.digests(normalise.name(data.full_name)), keys.digests(normalise.address(data.address)))]
    namesakes = session.scalars(sa.select(Resident).where(
        Resident.tenant_code == data.tenant_code, sa.or_(*under_each_key),
        Resident.status.in_((ResidentStatus.active, ResidentStatus.review)))
        .order_by(Resident.status, Resident.id).limit(NAMESAKES_COMPARED))
    for namesake in namesakes:
        held = personal_items(namesake, keys, ("birth_date", "sex"))
        same_birth, same_sex = held["birth_date"] == data.birth_date.isoformat(), held["sex"] == data.sex.value
        if same_birth != same_sex:
            return namesake, MatchReason.sex_differs if same_birth else MatchReason.birth_date_differs
    return None


def _left_namesake(session: Session, data: EnrolmentIn,
                   person_hashes: tuple[str, ...]) -> tuple[Resident, MatchReason] | None:
    if data.verification is not VerificationMethod.provider:  # the desk enrols a person who left anew, knowingly
        return None
    left = session.scalar(sa.select(Resident).where(
        Resident.tenant_code == data.tenant_code, Resident.person_hash.in_(person_hashes),
        Resident.status == ResidentStatus.left, Resident.erased_at.is_(None)).order_by(Resident.id.desc()).limit(1))
    return (left, MatchReason.left_person) if left is not None else None


def find_same_person(session: Session, keys: Keyring, data: EnrolmentIn) -> tuple[Resident, MatchReason] | None:
    """The duplicate search of an enrolment, on its own (bench/bench_duplicate_search.py measures it): the
    existing person of the municipality the enrolment is, by the provider's identifier, then by the keyed
    hash of the normalised name, date of birth and sex, then by the name and address with the date of birth or
    the sex differing (each under every key of the ring)."""
    return _match(session, keys, data, _data_hashes(keys, data))


def enrol(session: Session, actor: Actor, keys: Keyring, payload: EnrolmentIn | dict) -> Enrolment:
    """Enrol a person at a counter: a new common ID, or, when they match someone already enrolled, a
    review item for staff and no ID."""
    data = validated(EnrolmentIn, payload)
    authz.authorize(actor, "resident.enrol", data.tenant_code)
    return _enrol(session, actor, keys, data)


def _hold_person(session: Session, tenant_code: str, person_hashes: tuple[str, ...]) -> None:
    """Hold the person's match key (municipality and keyed hash of the 基本4情報) until the transaction
    ends: enrolments and sign-ins of one person at once queue up, and each searches for duplicates after
    the one before has enrolled them (never a second common ID). The key is held under every key of the
    ring, in one order (no two holders wait on each other): during a rotation an app with the new key first
    and one with the old key alone share the old key's, so they queue up too."""
    for person_hash in sorted(set(person_hashes)):
        lock_key(session, "residents.person", f"{tenant_code}:{person_hash}")


def _enrol(session: Session, actor: Actor, keys: Keyring, data: EnrolmentIn) -> Enrolment:
    """The enrolment itself (asked by :func:`enrol` for staff and :func:`sign_in_person` for a resident)."""
    if session.get(AssuranceLevel, data.assurance_level) is None:
        raise Invalid("Unknown assurance level.", "その個人認証レベルは登録されていません。",
                      problems=[problem("assurance_level", "Choose one of the levels.", "一覧から個人認証レベルを選んでください。")])
    plain = {"full_name": data.full_name, "address": data.address, "birth_date": data.birth_date.isoformat(),
             "sex": data.sex.value}
    resident = Resident(uid=uuid.uuid4().hex, tenant_code=data.tenant_code, status=ResidentStatus.active,
                        verification=data.verification, assurance_level=data.assurance_level, enrolled_by=actor.recorded_name,
                        full_name="", address="", birth_date="", sex="", key_id="", person_hash="", address_hash="")
    _seal(resident, keys, plain)
    person_hashes = _data_hashes(keys, data)
    _hold_person(session, data.tenant_code, person_hashes)
    match = _match(session, keys, data, person_hashes)
    if match is None:
        resident.common_id = _issue(session)
    else:
        resident.status = ResidentStatus.review
    session.add(resident)
    session.flush()
    review = None
    if match is not None:
        matched, reason = match
        review = ResidentReview(tenant_code=data.tenant_code, candidate_id=resident.id, matched_id=matched.id,
                                reason=reason,
                                address_matches=matched.address_hash in keys.digests(normalise.address(data.address)))
        session.add(review)
    if data.issuer and data.subject and (match is None or match[1] is not MatchReason.provider_identifier):
        session.add(ResidentIdentity(resident_id=resident.id, tenant_code=data.tenant_code, issuer=data.issuer,
                                     subject=data.subject))
    session.flush()
    audit.record(session, actor, "resident.enrol", "resident", resident.common_id or f"review-{review.id}",
                 tenant_code=data.tenant_code,
                 after={"common_id": resident.common_id, "status": resident.status.value,
                        "verification": data.verification.value, "assurance_level": data.assurance_level,
                        "review": review.id if review else None, "match": match[1].value if match else None,
                        "matched": match[0].common_id if match else None})
    return Enrolment(resident, review)


@dataclasses.dataclass(frozen=True)
class SignedIn:
    resident: Resident
    review: ResidentReview | None  # the person's enrolment waits for staff
    how: str  # "known" (the provider's identifier), "renewed" (a new identifier of the same person), "enrolled"


def _open_review(session: Session, resident: Resident) -> ResidentReview | None:
    return session.scalar(sa.select(ResidentReview).where(ResidentReview.candidate_id == resident.id,
                                                          ResidentReview.status == ReviewStatus.open))


def sign_in_person(session: Session, actor: Actor, keys: Keyring, payload: EnrolmentIn | dict) -> SignedIn:
    """The person a resident's verified sign-in (the provider's ``issuer`` and ``subject`` with its 基本4情報
    in ``payload``) is: the one the identifier belongs to (the provider's stable identifier, or one the desk
    joined to the person: a review decided "same person", a merge); else an enrolment by the counter's rule
    (:func:`enrol`): a match by the 基本4情報 (or a namesake differing only in the date of birth or the sex)
    waits for the desk's review without a common ID, never joined by the name alone, whatever the address; a
    certificate renewal with a new identifier is such a match, which the desk joins. ``actor`` is the resident:
    the provider's verified sign-in is the authority, so no role is asked (the portal verified the ID token)."""
    data = validated(EnrolmentIn, payload)
    if not (data.issuer and data.subject):
        raise Invalid("A sign-in names its provider and the person's identifier there.",
                      "サインインには認証事業者と利用者の識別子が必要です。")
    known = _identified(session, data)
    if known is None:  # a first sign-in: looked for again once the person is held (one may be under way)
        _hold_person(session, data.tenant_code, _data_hashes(keys, data))
        known = _identified(session, data)
    if known is not None:
        return SignedIn(known, _open_review(session, known), "known")
    enrolment = _enrol(session, actor, keys, data)
    return SignedIn(enrolment.resident, enrolment.review, "enrolled")


# --- the claims of each sign-in --------------------------------------------------------------------

CLAIMS_NOTICE = "claims_updated"
# how two values of an item are the same: the forms the duplicate search compares (residents.normalise)
_SAME = {"full_name": normalise.name, "address": normalise.address}


@dataclasses.dataclass(frozen=True)
class Refreshed:
    changed: tuple[str, ...]  # the items that differ from what renkei held (ENCRYPTED_FIELDS' names)
    review: ResidentReview | None  # set when the change was held: it made the person match another


def refresh_claims(session: Session, actor: Actor, keys: Keyring, resident: Resident, payload: EnrolmentIn | dict,
                   provider_name: str) -> Refreshed:
    """A known person's sign-in gave their 基本4情報 as the provider verified them this time: the items that
    changed (the resident moved house and the card's certificate was renewed, their name changed) are written
    anew, sealed with their hashes (:func:`_seal`), audited as ``resident.claims.update`` (which items, from
    which provider, when; never a value) and told to the resident (a notice in the portal).

    A change of name, date of birth or sex that makes the person match another enrolled person is not applied
    (never merged silently): as an enrolment that matched, it waits in the review queue (a row held with the
    new items, ``resident.claims.review``), and the resident keeps what renkei held until the desk decides."""
    data = validated(EnrolmentIn, payload)
    if resident.status is not ResidentStatus.active:
        return Refreshed((), None)  # held for review, merged or left: the desk's decision comes first
    held = personal_items(resident, keys)
    given = {"full_name": data.full_name, "address": data.address, "birth_date": data.birth_date.isoformat(),
             "sex": data.sex.value}
    changed = tuple(field for field in ENCRYPTED_FIELDS
                    if _SAME.get(field, str)(held[field]) != _SAME.get(field, str)(given[field]))
    if not changed:
        return Refreshed((), None)
    plain = {field: given[field] if field in changed else held[field] for field in ENCRYPTED_FIELDS}
    person_hashes = _person_hashes(keys, plain["full_name"], plain["birth_date"], plain["sex"])
    now = utcnow()
    after = {"common_id": resident.common_id, "items": list(changed), "issuer": data.issuer,
             "assurance_level": data.assurance_level, "verified_at": now.isoformat()}
    if resident.person_hash not in person_hashes:  # (under whichever key of the ring the row was written)
        other = session.scalar(sa.select(Resident).where(
            Resident.tenant_code == resident.tenant_code, Resident.person_hash.in_(person_hashes),
            Resident.id != resident.id, Resident.status.in_((ResidentStatus.active, ResidentStatus.review)))
            .order_by(Resident.id).limit(1))
        if other is not None:
            return Refreshed(changed, _hold_for_review(session, actor, keys, resident, other, plain, data, after))
    _seal(resident, keys, plain)
    session.add(ResidentNotice(
        resident_id=resident.id, kind=CLAIMS_NOTICE,
        title_ja="登録情報（" + "・".join(ITEM_LABELS[f][0] for f in changed) + "）をカードの情報で更新しました",
        title_en="Your " + " and ".join(ITEM_LABELS[f][1] for f in changed) + " were updated from the card",
        body_ja=(f"{provider_name}でのサインインで確認された情報に合わせて、renkei が保管する"
                 + "・".join(ITEM_LABELS[f][0] for f in changed)
                 + "を更新しました。連携しているサービスには、あなたが許可した範囲で更新後の情報が提供されます。"),
        body_en=("renkei now holds your " + " and ".join(ITEM_LABELS[f][1] for f in changed)
                 + f" as {provider_name} verified them at your sign-in. Linked services receive the new details "
                 "as far as you allowed them.")))
    session.flush()
    audit.record(session, actor, "resident.claims.update", "resident", resident.common_id,
                 tenant_code=resident.tenant_code, after=after)
    return Refreshed(changed, None)


def updates_unread(session: Session, resident_id: int) -> list[ResidentNotice]:
    """The notices of items updated from a sign-in the resident has not read yet, newest first (the portal's
    front page says so until they open their notices)."""
    return list(session.scalars(sa.select(ResidentNotice).where(
        ResidentNotice.resident_id == resident_id, ResidentNotice.kind == CLAIMS_NOTICE,
        ResidentNotice.read_at.is_(None)).order_by(ResidentNotice.id.desc())))


def _hold_for_review(session: Session, actor: Actor, keys: Keyring, resident: Resident, other: Resident,
                     plain: dict[str, str], data: EnrolmentIn, after: dict[str, Any]) -> ResidentReview:
    """The changed items held in a row of their own (status review, no common ID) matched to ``other``: the
    review queue's rule for an enrolment that matched; once per change (a second sign-in with the same items
    finds the review open)."""
    candidate = Resident(uid=uuid.uuid4().hex, tenant_code=resident.tenant_code, status=ResidentStatus.review,
                         verification=data.verification, assurance_level=data.assurance_level, enrolled_by=actor.recorded_name,
                         full_name="", address="", birth_date="", sex="", key_id="", person_hash="", address_hash="")
    _seal(candidate, keys, plain)
    under_each_key = [sa.and_(Resident.person_hash == person, Resident.address_hash == address) for person, address in
                      zip(_person_hashes(keys, plain["full_name"], plain["birth_date"], plain["sex"]),
                          keys.digests(normalise.address(plain["address"])))]
    open_review = session.scalar(sa.select(ResidentReview).join(Resident, Resident.id == ResidentReview.candidate_id).where(
        ResidentReview.matched_id == other.id, ResidentReview.status == ReviewStatus.open,
        ResidentReview.claims_of_id == resident.id, sa.or_(*under_each_key)))
    if open_review is not None:
        return open_review
    session.add(candidate)
    session.flush()
    review = ResidentReview(tenant_code=resident.tenant_code, candidate_id=candidate.id, matched_id=other.id,
                            claims_of_id=resident.id, reason=MatchReason.basic_four,
                            address_matches=other.address_hash in keys.digests(normalise.address(plain["address"])))
    session.add(review)
    session.flush()
    audit.record(session, actor, "resident.claims.review", "resident", resident.common_id,
                 tenant_code=resident.tenant_code,
                 after={**after, "review": review.id, "matched": other.common_id})
    return review


# --- looking a person up --------------------------------------------------------------------------

MAX_MERGES = 20  # a chain of merges longer than this is a loop, never a person


def _resident_by_common_id(session: Session, tenant_code: str, common_id: str) -> Resident | None:
    """The resident of ``tenant_code`` with ``common_id``; a common ID merged into another resolves to
    the surviving one (:mod:`residents.recovery`)."""
    resident = session.scalar(sa.select(Resident).where(Resident.tenant_code == tenant_code,
                                                        Resident.common_id == common_id.strip().upper()))
    for _ in range(MAX_MERGES):
        if resident is None or resident.merged_into_id is None:
            return resident
        resident = session.get(Resident, resident.merged_into_id)
    return None


def enrolled_resident(session: Session, tenant_code: str, common_id: str, field: str = "common_id") -> Resident:
    """The enrolled (active) resident of ``tenant_code`` with ``common_id`` (a merged common ID resolves to the
    surviving person), else NotFound with the problem on ``field``: the one look-up of a person by common ID
    that the desk's acts on a person (links, disclosure ranges, representations, recoveries) start from. Not
    found is the same whether the person does not exist, is not active or is another municipality's."""
    resident = _resident_by_common_id(session, tenant_code, common_id)
    if resident is None or resident.status is not ResidentStatus.active:
        raise NotFound("No such resident.", "該当する住民は見つかりません。",
                       problems=[problem(field, "No enrolled resident of this municipality has this common ID.",
                                         "この市町村に、この共通IDの登録済みの住民はいません。")])
    return resident


def _resident_by_service_id(session: Session, tenant_code: str, service_id: int, service_user_id: str) -> Resident | None:
    return session.scalar(sa.select(Resident).join(ServiceLink, ServiceLink.resident_id == Resident.id).where(
        Resident.tenant_code == tenant_code, ServiceLink.service_id == service_id,
        ServiceLink.service_user_id == service_user_id, CURRENT_LINK))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise Invalid("Say why you look this person up.", "閲覧の理由を入力してください。",
                      problems=[problem("reason", "Required: who looked at whom, and why, is recorded.",
                                        "必須です（誰がなぜ閲覧したかを記録します）。")])
    return reason[:500]


def look_up(session: Session, actor: Actor, keys: Keyring, tenant_code: str, *, reason: str, common_id: str = "",
            service_id: int | None = None, service_user_id: str = "") -> dict[str, Any]:
    """A resident of ``tenant_code`` by common ID or by a service's user ID, with their items in plain
    text and their links; the view is audited with its reason. Not found is the same whether the person
    does not exist or is another municipality's."""
    authz.authorize(actor, "resident.read", tenant_code)
    reason = _reason(reason)
    if common_id:
        resident = _resident_by_common_id(session, tenant_code, common_id)
    elif service_id is not None and service_user_id:
        resident = _resident_by_service_id(session, tenant_code, service_id, service_user_id)
    else:
        raise Invalid("Give a common ID, or a service and its user ID.", "共通ID、またはサービスとそのIDを入力してください。")
    if resident is None:
        raise NotFound("No such resident.", "該当する住民は見つかりません。")
    audit.record(session, actor, "resident.view", "resident", resident.common_id, tenant_code=tenant_code,
                 after={"reason": reason, "search_by": "common_id" if common_id else "service_user_id",
                        "service_id": service_id})
    return resident_view(session, resident, keys)


NAME_SEARCH_LIMIT = 50


def search_by_name(session: Session, actor: Actor, keys: Keyring, tenant_code: str, *, reason: str, full_name: str,
                   birth_date: str = "") -> list[dict[str, Any]]:
    """The residents of ``tenant_code`` whose full name, normalised (:func:`residents.normalise.name`), is the one
    given, optionally born on ``birth_date`` (ISO): found through the keyed hash of the name (the blind index
    ``name_hash``), so only the rows found are decrypted. Each person shown is a view, audited with the reason
    (never the name searched for): one record of the search, with a step for each person shown."""
    authz.authorize(actor, "resident.read", tenant_code)
    reason = _reason(reason)
    wanted = normalise.name(full_name)
    if not wanted:
        raise Invalid("Give the full name.", "氏名を入力してください。",
                      problems=[problem("full_name", "Required.", "必須です。")])
    born = read_date(birth_date) if birth_date else None  # 1980-04-01, 1980/4/1, 昭和55年4月1日
    if birth_date and born is None:
        raise Invalid("The date of birth is not a date.", "生年月日が日付ではありません。",
                      problems=[problem("birth_date", "Write it as 1980-04-01.", "1980-04-01 の形で入力してください。")])
    rows = session.scalars(sa.select(Resident).where(
        Resident.tenant_code == tenant_code, Resident.name_hash.in_(keys.digests(wanted)),
        Resident.status.in_((ResidentStatus.active, ResidentStatus.review))).order_by(Resident.id)
        .limit(NAME_SEARCH_LIMIT + 1)).all()
    if born is not None:  # decrypted for the rows of that name only
        rows = [row for row in rows if personal_items(row, keys, ("birth_date",))["birth_date"] == born.isoformat()]
    rows = [row for row in rows if normalise.name(personal_items(row, keys, ("full_name",))["full_name"]) == wanted]
    rows = rows[:NAME_SEARCH_LIMIT]
    with audit.act(session, actor, "resident.search", "resident", tenant_code, tenant_code=tenant_code):
        # one record: the search with its reason, and a view step naming each person shown
        audit.record(session, actor, "resident.search", "resident", tenant_code, tenant_code=tenant_code,
                     after={"reason": reason, "search_by": "name", "with_birth_date": bool(birth_date), "found": len(rows)})
        for row in rows:
            audit.record(session, actor, "resident.view", "resident", row.common_id or f"resident-{row.uid}",
                         tenant_code=tenant_code, after={"reason": reason, "search_by": "name"})
    return [{"common_id": row.common_id, "status": row.status.value, **personal_items(row, keys),
             "enrolled_at": row.enrolled_at} for row in rows]


def resident_view(session: Session, resident: Resident, keys: Keyring) -> dict[str, Any]:
    """A resident with their items, their links (current and ended, each with the common ID it was made
    for when a merge moved it, and a current one with its disclosure range), the common IDs merged into theirs, and their consents (see
    :func:`consent_history`)."""
    links = list(session.scalars(sa.select(ServiceLink).where(ServiceLink.resident_id == resident.id)
                                 .order_by(ServiceLink.id)))
    origins = _common_ids(session, {link.origin_resident_id or resident.id for link in links})
    merged_from = list(session.scalars(sa.select(Resident.common_id).where(Resident.merged_into_id == resident.id)
                                       .order_by(Resident.id)))
    return {"common_id": resident.common_id, "tenant_code": resident.tenant_code, "status": resident.status.value,
            **personal_items(resident, keys), "verification": resident.verification.value,
            "assurance_level": resident.assurance_level, "enrolled_at": resident.enrolled_at,
            "enrolled_by": resident.enrolled_by, "merged_from": merged_from,
            "moved_to": resident.moved_to, "moved_from": resident.moved_from, "moved_at": resident.moved_at,
            "links": [{"id": link.id, "service_id": link.service_id, "service_user_id": link.service_user_id,
                       "method": link.method.value, "assurance_level": link.assurance_level, "linked_at": link.linked_at,
                       "verification": link.verification.value if link.verification else None,
                       "disclosed": disclosed_items(session, resident.id, link.service_id) if link.ended_at is None else [],
                       "origin_common_id": origins.get(link.origin_resident_id or resident.id),
                       "ended_at": link.ended_at, "ended_by": link.ended_by, "ended_reason": link.ended_reason}
                      for link in links],
            "consents": consent_history(session, resident)}


def _common_ids(session: Session, resident_ids: set[int]) -> dict[int, str | None]:
    if not resident_ids:
        return {}
    return dict(session.execute(sa.select(Resident.id, Resident.common_id).where(Resident.id.in_(sorted(resident_ids)))).all())


def consent_history(session: Session, resident: Resident) -> list[dict[str, Any]]:
    """The consent records of the resident's current links, oldest first, each with the common ID its link
    was made for (``origin_common_id``): after a merge, the surviving person's history holds both
    people's consents, each with where it came from. Callers audit the view (:func:`look_up`)."""
    links = list(session.scalars(sa.select(ServiceLink).where(ServiceLink.resident_id == resident.id, CURRENT_LINK)))
    if not links:
        return []
    origin_of = {(link.service_id, link.service_user_id): link.origin_resident_id or resident.id for link in links}
    origins = _common_ids(session, set(origin_of.values()))
    records = session.scalars(sa.select(ConsentRecord).where(
        ConsentRecord.tenant_code == resident.tenant_code,
        sa.tuple_(ConsentRecord.service_id, ConsentRecord.subject_id).in_(sorted(origin_of))).order_by(ConsentRecord.seq))
    return [{"seq": record.seq, "event": record.event.value, "occurred_at": record.occurred_at,
             "service_id": record.service_id, "service_user_id": record.subject_id, "receipt_id": record.receipt_id,
             "items": json.loads(record.items), "expires_at": record.expires_at,
             "origin_common_id": origins.get(origin_of[(record.service_id, record.subject_id)])}
            for record in records]


# --- the review queue -----------------------------------------------------------------------------

def list_reviews(session: Session, actor: Actor, tenant_code: str, *, open_only: bool = True) -> list[dict[str, Any]]:
    """The municipality's enrolments held as possible duplicates (no personal items: looking at them is a view)."""
    authz.authorize(actor, "resident.review", tenant_code)
    query = sa.select(ResidentReview).where(ResidentReview.tenant_code == tenant_code).order_by(ResidentReview.id)
    if open_only:
        query = query.where(ResidentReview.status == ReviewStatus.open)
    rows = list(session.scalars(query))
    matched = {r.id: r.common_id for r in session.scalars(sa.select(Resident).where(
        Resident.id.in_([row.matched_id for row in rows] + [row.claims_of_id for row in rows if row.claims_of_id])))} \
        if rows else {}
    return [{"id": row.id, "matched_common_id": matched.get(row.matched_id), "reason": row.reason.value,
             "claims_of_common_id": matched.get(row.claims_of_id) if row.claims_of_id else None,
             "address_matches": row.address_matches, "status": row.status.value, "created_at": row.created_at,
             "decided_at": row.decided_at, "decided_by": row.decided_by, "decision_reason": row.decision_reason}
            for row in rows]


def decide_review(session: Session, actor: Actor, tenant_code: str, review_id: int, same_person: bool,
                  reason: str, *, keys: Keyring | None = None) -> ResidentReview:
    """Staff decide a review: the same person (no new ID; the provider's identifier, if any, goes to the
    existing person) or a different one (the enrolment gets its own common ID).

    A review of a known person's changed items (``claims_of_id``, :func:`refresh_claims`) never issues an ID:
    the held row is kept as a duplicate either way; different, the person who signed in gets the items (sealed
    with ``keys``); the same, they stay as they were (two common IDs of one person: the desk merges them)."""
    authz.authorize(actor, "resident.review", tenant_code)
    reason = _reason(reason)
    review = session.get(ResidentReview, review_id)
    if review is None or review.tenant_code != tenant_code:
        raise NotFound("No such review.", "該当する確認待ちはありません。")
    review.status = REVIEWS.move("same" if same_person else "different", review.status, review).target
    candidate, matched = session.get(Resident, review.candidate_id), session.get(Resident, review.matched_id)
    if review.claims_of_id is not None:
        return _decide_claims(session, actor, keys, review, candidate, matched, same_person, reason)
    candidate.status = RESIDENTS.move("mark_duplicate" if same_person else "issue", candidate.status, candidate).target
    if same_person:
        session.execute(sa.update(ResidentIdentity).where(ResidentIdentity.resident_id == candidate.id)
                        .values(resident_id=matched.id))
    else:
        candidate.common_id = _issue(session)
    review.decided_at, review.decided_by, review.decision_reason = utcnow(), actor.recorded_name, reason
    session.flush()
    audit.record(session, actor, "resident.review.decide", "resident_review", str(review.id), tenant_code=tenant_code,
                 before={"status": "open"}, after={"status": review.status.value, "reason": reason,
                                                   "matched": matched.common_id, "issued": candidate.common_id})
    return review


def _decide_claims(session: Session, actor: Actor, keys: Keyring | None, review: ResidentReview, candidate: Resident,
                   matched: Resident, same_person: bool, reason: str) -> ResidentReview:
    person = session.get(Resident, review.claims_of_id)
    if not same_person:
        if keys is None:
            raise Invalid("The residents' key is needed to apply the changed items.",
                          "変更された情報を反映するには住民情報の暗号鍵が必要です。")
        if person.status is ResidentStatus.active:
            _seal(person, keys, personal_items(candidate, keys))
    candidate.status = RESIDENTS.move("mark_duplicate", candidate.status, candidate).target
    review.decided_at, review.decided_by, review.decision_reason = utcnow(), actor.recorded_name, reason
    session.flush()
    audit.record(session, actor, "resident.review.decide", "resident_review", str(review.id),
                 tenant_code=review.tenant_code,
                 before={"status": "open"}, after={"status": review.status.value, "reason": reason,
                                                   "matched": matched.common_id, "claims_of": person.common_id,
                                                   "applied": not same_person})
    return review


# --- links to services' IDs -----------------------------------------------------------------------

def link_in_the_way(session: Session, service_id: int, service_user_id: str, resident_id: int) -> ServiceLink | None:
    """The current link that keeps this one from being made: the service's user ID is linked to a person
    already, or the resident to this service (one person per user ID, one link per person and service)."""
    return session.scalar(sa.select(ServiceLink).where(
        ServiceLink.service_id == service_id, CURRENT_LINK,
        sa.or_(ServiceLink.service_user_id == service_user_id, ServiceLink.resident_id == resident_id)))


def link_service(session: Session, actor: Actor, tenant_code: str, common_id: str, payload: LinkIn | dict) -> ServiceLink:
    """Tie a resident's common ID to the own user ID of an approved service of the same municipality (the
    controller of the person's data: :func:`desk_services` lists them)."""
    data = validated(LinkIn, payload)
    authz.authorize(actor, "resident.link", tenant_code)
    resident = enrolled_resident(session, tenant_code, common_id)
    service = session.get(DataService, data.service_id)
    if service is None or service.status is not ServiceStatus.approved or service.owner_code != tenant_code:
        raise Invalid("No approved service of that number.", "その番号の承認済みサービスはありません。",
                      problems=[problem("service_id", "Choose an approved service.", "承認済みのサービスを選んでください。")])
    check_user_id(service, data.service_user_id)
    if session.get(AssuranceLevel, data.assurance_level) is None:
        raise Invalid("Unknown assurance level.", "その個人認証レベルは登録されていません。",
                      problems=[problem("assurance_level", "Choose one of the levels.", "一覧から個人認証レベルを選んでください。")])
    if data.assurance_level < service.required_level:
        raise Invalid(f"The service requires assurance level {service.required_level} or higher.",
                      f"このサービスとの連携には個人認証レベル {service.required_level} 以上が必要です。",
                      problems=[problem("assurance_level", f"Level {service.required_level} or higher is required.",
                                        f"個人認証レベル {service.required_level} 以上が必要です。")])
    taken = link_in_the_way(session, service.id, data.service_user_id, resident.id)
    if taken is not None:
        field, en, ja = (("service_user_id", "This user ID of the service is linked to a person already.",
                          "このサービスのこのIDは、すでに住民と連携されています。")
                         if taken.service_user_id == data.service_user_id else
                         ("service_id", "This resident is linked to this service already.",
                          "この住民は、このサービスと連携済みです。"))
        raise Conflict("The service's user ID or this resident is linked for this service already.",
                       "このサービスのIDまたはこの住民は、このサービスと連携済みです。", problems=[problem(field, en, ja)])
    link = ServiceLink(resident_id=resident.id, service_id=service.id, service_user_id=data.service_user_id,
                       method=data.method, verification=data.verification, assurance_level=data.assurance_level,
                       linked_by=actor.recorded_name)
    session.add(link)
    session.flush()
    audit.record(session, actor, "resident.link", "service_link", str(link.id), tenant_code=tenant_code,
                 after={"common_id": resident.common_id, "service_id": service.id,
                        "service_user_id": data.service_user_id, "method": data.method.value,
                        "verification": data.verification.value if data.verification else None,
                        "assurance_level": data.assurance_level})
    return link


def desk_services(session: Session, actor: Actor, tenant_code: str) -> list[dict[str, Any]]:
    """The municipality's approved data services, by name, each with the data items of its current consent
    text (the vocabulary of a disclosure range) and the assurance level it requires: the desk's pickers."""
    authz.authorize(actor, "resident.link", tenant_code)
    services = session.scalars(sa.select(DataService).where(DataService.owner_code == tenant_code,
                                                            DataService.status == ServiceStatus.approved)
                               .order_by(DataService.name, DataService.id))
    return [{"id": service.id, "name": service.name, "required_level": service.required_level,
             "items": [item.name for item in consent_items_of(session, service.current_text_id)]
             if service.current_text_id else []}
            for service in services]


def translate(session: Session, service_id: int, service_user_id: str, target_service_id: int) -> str | None:
    """The person ``service_user_id`` of one service is, as another service knows them: the target
    service's own user ID, or None when either link is missing. Neither the common ID nor the first
    service's ID is in the answer; the brokerage's second question (residents.brokerage.linked_id) calls it
    once the asking service's consent check allowed, and answers with it only if the target's allows too."""
    source = sa.select(ServiceLink.resident_id).where(ServiceLink.service_id == service_id, CURRENT_LINK,
                                                      ServiceLink.service_user_id == service_user_id).scalar_subquery()
    return session.scalar(sa.select(ServiceLink.service_user_id).where(ServiceLink.service_id == target_service_id,
                                                                       ServiceLink.resident_id == source, CURRENT_LINK))


def service_view(session: Session, service_id: int, service_user_id: str) -> dict[str, Any] | None:
    """What a service may know of its link: its own user ID, how and when it was linked and at what
    assurance; never the common ID or another service's ID."""
    link = session.scalar(sa.select(ServiceLink).where(ServiceLink.service_id == service_id, CURRENT_LINK,
                                                       ServiceLink.service_user_id == service_user_id))
    if link is None:
        return None
    return {"service_user_id": link.service_user_id, "linked": True, "method": link.method.value,
            "assurance_level": link.assurance_level, "linked_at": link.linked_at}


# --- the disclosure range (公開範囲) ---------------------------------------------------------------

def disclosed_items(session: Session, resident_id: int, service_id: int) -> list[str]:
    """The data items the resident lets the service receive now (the newest range; none: nothing)."""
    items = session.scalar(sa.select(ResidentDisclosure.items)
                           .where(ResidentDisclosure.resident_id == resident_id, ResidentDisclosure.service_id == service_id)
                           .order_by(ResidentDisclosure.id.desc()).limit(1))
    return json.loads(items) if items else []


def set_disclosure(session: Session, actor: Actor, tenant_code: str, common_id: str,
                   payload: DisclosureIn | dict) -> ResidentDisclosure:
    """Record, on the resident's behalf, the items a linked service may receive: names of the service's
    current consent text's data items only (the vocabulary), kept in the text's order; a change is a
    new row (the history stays), audited with the range before and after and the reason."""
    data = validated(DisclosureIn, payload)
    authz.authorize(actor, "resident.link", tenant_code)
    resident = enrolled_resident(session, tenant_code, common_id)
    return record_disclosure(session, actor, resident, data.service_id, data.items, data.reason)


def record_disclosure(session: Session, actor: Actor, resident: Resident, service_id: int, items: list[str],
                      reason: str) -> ResidentDisclosure:
    """The rule of a disclosure range, whoever sets it (the desk: :func:`set_disclosure`; the resident in the
    portal: :mod:`residents.portal`): the resident must be linked to the service; names of the service's
    current consent text's data items only (the vocabulary), kept in the text's order; a new row (the
    history stays), audited with the range before and after and the reason."""
    linked = session.scalar(sa.select(ServiceLink.id).where(ServiceLink.resident_id == resident.id, CURRENT_LINK,
                                                            ServiceLink.service_id == service_id))
    if linked is None:
        raise Invalid("The resident is not linked to that service.", "この住民はそのサービスと連携していません。",
                      problems=[problem("service_id", "Choose a service the resident is linked to.",
                                        "連携済みのサービスを選んでください。")])
    service = session.get(DataService, service_id)
    vocabulary = [item.name for item in consent_items_of(session, service.current_text_id)] if service.current_text_id else []
    unknown = [item for item in items if item not in vocabulary]
    if unknown:
        raise Invalid("Not a data item of the service's consent text: " + ", ".join(unknown),
                      "サービスの同意文にないデータ項目です：" + "、".join(unknown),
                      problems=[problem("items", "Choose items of the service's consent text.",
                                        "サービスの同意文のデータ項目から選んでください。")])
    before = disclosed_items(session, resident.id, service.id)
    chosen = [item for item in vocabulary if item in set(items)]
    row = ResidentDisclosure(resident_id=resident.id, service_id=service.id, items=json.dumps(chosen, ensure_ascii=False),
                             reason=reason, set_by=actor.recorded_name)
    session.add(row)
    session.flush()
    audit.record(session, actor, "resident.disclosure.set", "resident_disclosure", str(row.id),
                 tenant_code=resident.tenant_code,
                 before={"common_id": resident.common_id, "service_id": service.id, "items": before},
                 after={"common_id": resident.common_id, "service_id": service.id, "items": chosen, "reason": reason})
    return row


# --- the key --------------------------------------------------------------------------------------

ROTATION_BATCH = 500


def rotate_key(session: Session, actor: Actor, keys: Keyring) -> dict[str, int]:
    """Write every resident's items and hashes again under the ring's current key (old keys decrypt);
    one transaction, so a failure leaves every value as it was. A ring that cannot read every resident's
    items (an old key missing, or not the one they were sealed with) is refused first, naming the key."""
    authz.authorize(actor, "resident.keys")
    unreadable = unreadable_keys(session, keys)
    if unreadable:
        raise Conflict(*unreadable[0].describe(keys), key_ids=[item.key_id for item in unreadable])
    moved, last_id = 0, 0
    while True:  # in batches by id, so that a large municipality's residents are never all in memory at once
        stale = sa.or_(Resident.key_id != keys.current_id, Resident.name_hash == "")  # '' : enrolled before the index
        batch = session.scalars(sa.select(Resident).where(stale, Resident.id > last_id, Resident.erased_at.is_(None))
                                .order_by(Resident.id).limit(ROTATION_BATCH)).all()
        if not batch:
            break
        for resident in batch:
            _seal(resident, keys, personal_items(resident, keys))
        session.flush()
        moved, last_id = moved + len(batch), batch[-1].id
        for resident in batch:
            session.expunge(resident)
    total = session.scalar(sa.select(sa.func.count()).select_from(Resident))
    audit.record(session, actor, "resident.key.rotate", "resident_key", keys.current_id,
                 after={"rewritten": moved, "residents": total})
    return {"rewritten": moved, "residents": total}


@dataclasses.dataclass(frozen=True)
class UnreadableKey:
    """Residents' items sealed under a key the ring cannot read: ``key_id`` is not in the ring (``missing``),
    or the ring's key of that id is not the one they were sealed with."""
    key_id: str
    residents: int
    missing: bool

    def describe(self, keys: Keyring) -> tuple[str, str]:
        """What is wrong and what to do, in English and Japanese (the key's id, never its material)."""
        where = "RENKEI_RESIDENT_KEYS or RENKEI_RESIDENT_KEY_FILE"
        if self.missing:
            return (f"{self.residents} resident(s)' items are sealed under the key {self.key_id!r}, which the residents' "
                    f"key ring ({where}) does not hold: they could be neither read nor found (a second person would be "
                    f"enrolled). Keep the key {self.key_id!r} in the ring after the current one ({keys.current_id!r}) "
                    "until `renkei residents rotate-key` has rewritten them.",
                    f"住民 {self.residents} 件の情報は鍵 {self.key_id} で暗号化されていますが、住民情報の鍵の設定（{where}）に"
                    f"その鍵がありません。このままでは読むことも照合することもできません（同じ人が二重に登録されます）。"
                    f"`renkei residents rotate-key` で暗号化し直すまで、鍵 {self.key_id} を現在の鍵（{keys.current_id}）の"
                    "後に残してください。")
        return (f"The key {self.key_id!r} of the residents' key ring ({where}) is not the key {self.residents} resident(s)' "
                f"items were sealed with (they do not decrypt): give the key {self.key_id!r} they were sealed with.",
                f"住民情報の鍵の設定（{where}）の鍵 {self.key_id} は、住民 {self.residents} 件の情報を暗号化した鍵では"
                f"ありません（復号できません）。暗号化に使った鍵 {self.key_id} を設定してください。")


def unreadable_keys(session: Session, keys: Keyring) -> list[UnreadableKey]:
    """The keys the stored residents' items are sealed under that ``keys`` cannot read (a ring that lost the
    old key before the rotation, or was given only a new one): an app with such a ring would answer a look-up
    with an error and enrol a second person for everyone it cannot match. The first and the last value of each
    key are decrypted, so a key of the right id but the wrong material is caught too (both failing: one value
    damaged in the database is not taken for a wrong key). Erased residents hold nothing to read."""
    held = session.execute(sa.select(Resident.key_id, sa.func.count(), sa.func.min(Resident.id), sa.func.max(Resident.id))
                           .where(Resident.full_name != "").group_by(Resident.key_id).order_by(Resident.key_id)).all()
    ring = {key_id for key_id, _ in keys.keys}
    found = []
    for key_id, count, first_id, last_id in held:
        if key_id not in ring:
            found.append(UnreadableKey(key_id, count, missing=True))
        elif not any(_readable(session, keys, resident_id) for resident_id in {first_id, last_id}):
            found.append(UnreadableKey(key_id, count, missing=False))
    return found


def _readable(session: Session, keys: Keyring, resident_id: int) -> bool:
    sample = session.execute(sa.select(Resident.uid, Resident.full_name).where(Resident.id == resident_id)).one()
    try:
        personal_items(sample, keys, ("full_name",))
    except ValueError:  # ResidentKeyError, or a damaged value (not base64)
        return False
    return True
