"""Legal representatives (法定代理人, issue 56 item 3): a 親権者 or 成年後見人 acting for a resident in the portal.

* The residents' desk records a representation (:func:`record_representation`): who (a resident of the municipality
  with a common ID, who signs in to the portal with their own card), for whom, the kind, the evidence seen (its kind,
  never its contents), from and until; or ends one early (:func:`end_representation`). Both audited.
* A representation is in force (:func:`check_in_force`) from ``starts_on`` while not ended by the desk, before
  ``until`` and, for a 親権者, before the day the represented person turns 18 (:func:`coming_of_age_day`): it ends by
  itself, nobody has to end it. The portal asks on every request made for the represented person, so the parent's
  first act on that day is refused.
* In the portal the representative acts as themself (:func:`residents.portal.resident_actor` with the
  representation): the audit records name the representative, their identifier and the representation.
  Services receive nothing of the representative: the brokerage answers about the person only, and the consent
  records (which a service may read as receipts) are written as by the portal for the person
  (:func:`residents.portal.as_consent_app`).

The age rule. Japan counts age by 年齢計算ニ関スル法律 and 民法143条: the day of birth counts as a whole day, so a
year of age is complete at the end (24:00) of the day before each birthday anniversary. A person born on 2008-05-10
thus attains 18 at the end of 2026-05-09, and one born on 29 February attains it at the end of 28 February (the
anniversary in a common year is taken as 1 March, the day after the month's last day). renkei takes **the day before
the 18th anniversary** as the day they turn 18 and ends the 親権者's representation **at the start of that day**
(00:00 JST): the last day a parent acts is two days before the anniversary. Ending a few hours early errs toward the
adult's own say over their data rather than letting a parent act for an adult; it is the one rule, here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.calendar import today_jst
from core.db import utcnow
from core.errors import Conflict, Forbidden, Invalid, NotFound, problem
from core.validation import TenantCode
from residents.consent.schemas import validated
from residents.crypto import Keyring
from residents.models import (Representation, RepresentationEvidence, RepresentationKind, Resident, ResidentStatus)
from residents.operations import enrolled_resident, personal_items
from residents.schemas import CommonId, Reason

MAJORITY = 18  # 民法4条 (since 2022-04-01)

# the evidence the desk may accept for each kind
EVIDENCE_FOR = {
    RepresentationKind.parental: (RepresentationEvidence.family_register,),
    RepresentationKind.guardian: (RepresentationEvidence.guardianship_certificate, RepresentationEvidence.court_decision),
}


def coming_of_age_day(birth_date: dt.date, age: int = MAJORITY) -> dt.date:
    """The day a person born on ``birth_date`` turns ``age``: the day before the anniversary (module docstring);
    for 29 February in a common year, 28 February."""
    year = birth_date.year + age
    try:
        anniversary = birth_date.replace(year=year)
    except ValueError:  # 29 February, a common year: the anniversary falls on 1 March
        anniversary = dt.date(year, 3, 1)
    return anniversary - dt.timedelta(days=1)


class RepresentationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_code: TenantCode
    representative_common_id: CommonId
    represented_common_id: CommonId
    kind: RepresentationKind
    evidence: RepresentationEvidence
    starts_on: dt.date
    until: dt.date | None = None
    reason: Reason


def ends_on(representation: Representation, represented: Resident, keys: Keyring) -> dt.date | None:
    """The first day the representation is no longer in force by its dates (None: open-ended): ``until``, and for a
    親権者 the day the represented person turns 18, whichever is first."""
    days = [representation.until] if representation.until else []
    if representation.kind is RepresentationKind.parental:
        birth = dt.date.fromisoformat(personal_items(represented, keys, ("birth_date",))["birth_date"])
        days.append(coming_of_age_day(birth))
    return min(days) if days else None


def _check_evidence(data: RepresentationIn) -> None:
    """Refused unless the evidence seen is one that this kind of representation accepts."""
    if data.evidence in EVIDENCE_FOR[data.kind]:
        return
    words = "・".join(evidence.ja for evidence in EVIDENCE_FOR[data.kind])
    raise Invalid(f"For a {data.kind.en}, the evidence is: "
                  f"{', '.join(evidence.en for evidence in EVIDENCE_FOR[data.kind])}.",
                  f"{data.kind.ja}の確認書類は{words}です。",
                  problems=[problem("evidence", "Not evidence of this kind of representation.",
                                    f"{data.kind.ja}の確認書類ではありません（{words}）。")])


def record_representation(session: Session, actor: Actor, keys: Keyring, payload: RepresentationIn | dict, *,
                          today: dt.date | None = None) -> Representation:
    """Record a representation the desk has seen the evidence of (audited ``resident.representation.record``)."""
    data = validated(RepresentationIn, payload)
    authz.authorize(actor, "resident.represent", data.tenant_code)
    if data.until is not None and data.until <= data.starts_on:
        raise Invalid("The end must come after the start.", "終了日は開始日より後にしてください。",
                      problems=[problem("until", "Must come after the start.", "開始日より後の日にしてください。")])
    representative = enrolled_resident(session, data.tenant_code, data.representative_common_id, "representative_common_id")
    represented = enrolled_resident(session, data.tenant_code, data.represented_common_id, "represented_common_id")
    if representative.id == represented.id:
        raise Invalid("A person cannot represent themself.", "本人を本人の代理人にはできません。",
                      problems=[problem("represented_common_id", "The same person as the representative.",
                                        "代理人と同じ人です。")])
    _check_evidence(data)
    row = Representation(tenant_code=data.tenant_code, representative_id=representative.id,
                         represented_id=represented.id, kind=data.kind, evidence=data.evidence,
                         starts_on=data.starts_on, until=data.until, reason=data.reason,
                         recorded_by=actor.recorded_name)
    end = ends_on(row, represented, keys)
    if end is not None and end <= max(data.starts_on, today or today_jst()):
        raise Invalid("This representation would already have ended: the person is of age (18), or the end has passed.",
                      "この代理は既に終了しています（本人が18歳に達しているか、終了日を過ぎています）。",
                      problems=[problem("represented_common_id", "Already of age, or the end has passed.",
                                        "本人が既に18歳に達しているか、終了日を過ぎています。")])
    session.add(row)
    session.flush()
    # the common IDs and the facts; never the date of birth nor the day computed from it
    audit.record(session, actor, "resident.representation.record", "resident", represented.common_id,
                 tenant_code=data.tenant_code,
                 after={"representation_id": row.id, "representative": representative.common_id,
                        "represented": represented.common_id, "kind": data.kind.value,
                        "evidence": data.evidence.value, "starts_on": data.starts_on.isoformat(),
                        "until": data.until.isoformat() if data.until else None, "reason": data.reason})
    return row


def end_representation(session: Session, actor: Actor, tenant_code: str, representation_id: int,
                       reason: str) -> Representation:
    """End a representation before its time (the desk; audited ``resident.representation.end``)."""
    authz.authorize(actor, "resident.represent", tenant_code)
    row = session.get(Representation, representation_id)
    if row is None or row.tenant_code != tenant_code:
        raise NotFound("No such representation.", "該当する代理の記録はありません。")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise Invalid("Say why the representation ends.", "終了の理由を入力してください。",
                      problems=[problem("end_reason", "Required.", "必須です。")])
    if row.ended_at is not None:
        raise Conflict("This representation was ended already.", "この代理は既に終了しています。")
    row.ended_at, row.ended_by, row.ended_reason = utcnow(), actor.recorded_name, reason[:500]
    session.flush()
    common_ids = _common_ids(session, row)
    audit.record(session, actor, "resident.representation.end", "resident", common_ids[1], tenant_code=tenant_code,
                 before={"representation_id": row.id, "representative": common_ids[0], "represented": common_ids[1]},
                 after={"ended_at": row.ended_at.isoformat(), "reason": row.ended_reason})
    return row


def _common_ids(session: Session, row: Representation) -> tuple[str | None, str | None]:
    return (session.scalar(sa.select(Resident.common_id).where(Resident.id == row.representative_id)),
            session.scalar(sa.select(Resident.common_id).where(Resident.id == row.represented_id)))


ENDED = Forbidden("You can no longer act for this person: the representation has ended (they have turned 18, or its "
                  "end has passed, or the desk ended it). Nothing was done.",
                  "この方の代理はできなくなりました（本人が18歳に達した、終了日を過ぎた、または窓口で終了した）。"
                  "操作は行われていません。")


def check_in_force(session: Session, keys: Keyring, representation_id: int, representative_id: int, *,
                   today: dt.date | None = None) -> Representation:
    """The representation, in force today (JST) and the representative's; else :data:`ENDED` (a representation
    not theirs or not found is refused in the same words)."""
    row = session.get(Representation, representation_id)
    if row is None or row.representative_id != representative_id or row.ended_at is not None:
        raise ENDED
    represented = session.get(Resident, row.represented_id)
    if represented is None or represented.status is not ResidentStatus.active:
        raise ENDED
    day = today or today_jst()
    end = ends_on(row, represented, keys)
    if day < row.starts_on or (end is not None and day >= end):
        raise ENDED
    return row


def representing(session: Session, keys: Keyring, representative_id: int, *,
                 today: dt.date | None = None) -> list[tuple[Representation, Resident]]:
    """The representations the resident holds in force today, with the person each is for."""
    rows = session.scalars(sa.select(Representation).where(Representation.representative_id == representative_id,
                                                           Representation.ended_at.is_(None))
                           .order_by(Representation.id))
    found = []
    for row in rows:
        try:
            check_in_force(session, keys, row.id, representative_id, today=today)
        except Forbidden:
            continue
        found.append((row, session.get(Resident, row.represented_id)))
    return found


def desk_list(session: Session, actor: Actor, keys: Keyring, tenant_code: str, *,
              today: dt.date | None = None) -> list[dict[str, Any]]:
    """The municipality's representations, newest first, for the desk: common IDs, kind, evidence, dates and whether
    in force today (the end computed from the date of birth is shown as a day, to the desk only)."""
    authz.authorize(actor, "resident.represent", tenant_code)
    day = today or today_jst()
    listed = []
    for row in session.scalars(sa.select(Representation).where(Representation.tenant_code == tenant_code)
                               .order_by(Representation.id.desc()).limit(200)):
        representative, represented = _common_ids(session, row)
        end = ends_on(row, session.get(Resident, row.represented_id), keys)
        in_force = row.ended_at is None and row.starts_on <= day and (end is None or day < end)
        listed.append({"id": row.id, "representative": representative, "represented": represented, "kind": row.kind,
                       "evidence": row.evidence, "starts_on": row.starts_on, "until": row.until, "ends_on": end,
                       "ended_at": row.ended_at, "ended_reason": row.ended_reason, "in_force": in_force})
    return listed


def represented_person(session: Session, representation: Representation) -> Resident:
    return session.get(Resident, representation.represented_id)
