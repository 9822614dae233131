"""Recovery (issue 42 item 3): split a wrong link, merge two common IDs of one person; four eyes.

One person of a municipality's residents' desk proposes with a reason (:func:`propose_split`,
:func:`propose_merge`); another person of the same desk approves (:func:`approve`) or refuses
(:func:`refuse`) with a reason; the proposer may cancel (:func:`cancel`) with a reason. The proposer never
approves or refuses their own proposal (:func:`core.actor.same_person`, the rule billing's approvals follow).
Lifecycle: :data:`residents.lifecycle.RECOVERIES`.

Nothing is deleted:

* **split**: the link is ended (``ended_at``, ``ended_by`` the approver, ``ended_reason`` the proposal's
  reason). The linkage records made under it (its service, its user ID, the resident's municipality, from
  the link's creation to the split) are marked (:class:`~residents.models.LinkageMark`; the records
  themselves are append-only). The service is told by the outbox (its owner's contacts: its own user ID,
  the period and how many records, never the common ID or the reason) and the resident by a notice
  (:class:`~residents.models.ResidentNotice`, which the portal shows).
* **merge**: the second common ID's resident becomes ``merged`` into the surviving one and its common ID
  resolves to it (:func:`residents.operations.enrolled_resident`); its links, current and ended, move
  to the survivor with the resident they were made for (``origin_resident_id``), so translation and the
  brokerage by those links reach the survivor; its identity providers' identifiers move too (a sign-in
  with either finds the survivor); its newest disclosure range per moved service is appended for the
  survivor. Consents are the services' user IDs', so they follow their links: the survivor's consent
  history shows each with the common ID it came from (:func:`residents.operations.consent_history`).
  Two current links to the same service cannot both survive: the proposal is refused until one is split.

Every act is audited with its reason (common IDs, service and user IDs; never a person's items).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, outbox
from core.actor import Actor, identity_key, same_person
from core.calendar import jst_text
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from residents.consent.models import DataService, LinkageRecord
from residents.lifecycle import RECOVERIES, RESIDENTS
from residents.models import (CURRENT_LINK, LinkageMark, RecoveryKind, RecoveryStatus, Resident, ResidentDisclosure,
                              ResidentIdentity, ResidentNotice, ResidentRecovery, ResidentStatus, ServiceLink)
from residents.operations import enrolled_resident

SPLIT_KIND = "resident.link_split"
MERGE_KIND = "resident.merged"


class OwnProposal(Conflict):
    """The proposer of a recovery may not approve or refuse it (four eyes); they may cancel it."""


class NotTheProposer(Conflict):
    """Only the proposer cancels a proposal; another person refuses it."""


def _open_for(session: Session, resident_ids: set[int], link_id: int | None = None) -> ResidentRecovery | None:
    """An open proposal about the same link or either resident: one at a time."""
    about = [ResidentRecovery.resident_id.in_(resident_ids), ResidentRecovery.merged_id.in_(resident_ids)]
    if link_id is not None:
        about.append(ResidentRecovery.link_id == link_id)
    return session.scalar(sa.select(ResidentRecovery).where(ResidentRecovery.status == RecoveryStatus.proposed,
                                                            sa.or_(*about)).limit(1))


def _refuse_if_open(session: Session, resident_ids: set[int], link_id: int | None = None) -> None:
    if _open_for(session, resident_ids, link_id) is not None:
        raise Conflict("A proposal about this resident waits for approval; decide or cancel it first.",
                       "この住民についての提案が承認待ちです。先に承認・却下または取下げをしてください。")


def _record(session: Session, actor: Actor, action: str, recovery: ResidentRecovery, before: dict | None,
            after: dict) -> None:
    audit.record(session, actor, action, "resident_recovery", str(recovery.id), tenant_code=recovery.tenant_code,
                 before=before, after={"kind": recovery.kind.value, **after})


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise Invalid("Give the reason: it is recorded with the act.", "理由を入力してください（操作とともに記録します）。",
                      problems=[problem("reason", "Required: the reason is recorded.", "必須です（理由を記録します）。")])
    return reason[:500]


# --- proposing ------------------------------------------------------------------------------------

def propose_split(session: Session, actor: Actor, tenant_code: str, common_id: str, service_id: int,
                  reason: str) -> ResidentRecovery:
    """Propose ending the resident's current link to ``service_id``: the service's user ID is not this person."""
    authz.authorize(actor, "resident.recover", tenant_code)
    reason = _reason(reason)
    resident = enrolled_resident(session, tenant_code, common_id, "common_id")
    link = session.scalar(sa.select(ServiceLink).where(ServiceLink.resident_id == resident.id,
                                                       ServiceLink.service_id == service_id, CURRENT_LINK))
    if link is None:
        raise Invalid("The resident has no link to that service.", "この住民はそのサービスと連携していません。",
                      problems=[problem("service_id", "Choose a service the resident is linked to.",
                                        "連携中のサービスを選んでください。")])
    _refuse_if_open(session, {resident.id}, link.id)
    recovery = ResidentRecovery(tenant_code=tenant_code, kind=RecoveryKind.split, resident_id=resident.id, link_id=link.id,
                                reason=reason, proposed_by=actor.recorded_name, proposed_by_key=identity_key(actor))
    session.add(recovery)
    session.flush()
    _record(session, actor, "resident.recovery.propose", recovery, None,
            {"status": "proposed", "common_id": resident.common_id, "service_id": link.service_id,
             "service_user_id": link.service_user_id, "reason": reason})
    return recovery


def propose_merge(session: Session, actor: Actor, tenant_code: str, surviving_common_id: str, merged_common_id: str,
                  reason: str) -> ResidentRecovery:
    """Propose merging ``merged_common_id`` into ``surviving_common_id``: two common IDs of one person."""
    authz.authorize(actor, "resident.recover", tenant_code)
    reason = _reason(reason)
    survivor = enrolled_resident(session, tenant_code, surviving_common_id, "surviving_common_id")
    merged = enrolled_resident(session, tenant_code, merged_common_id, "merged_common_id")
    if survivor.id == merged.id:
        raise Invalid("Two different common IDs are needed.", "異なる2つの共通IDを入力してください。",
                      problems=[problem("merged_common_id", "The same common ID as the surviving one.",
                                        "存続する共通IDと同じです。")])
    _refuse_on_shared_services(session, survivor, merged)
    _refuse_if_open(session, {survivor.id, merged.id})
    recovery = ResidentRecovery(tenant_code=tenant_code, kind=RecoveryKind.merge, resident_id=survivor.id,
                                merged_id=merged.id, reason=reason, proposed_by=actor.recorded_name,
                                proposed_by_key=identity_key(actor))
    session.add(recovery)
    session.flush()
    _record(session, actor, "resident.recovery.propose", recovery, None,
            {"status": "proposed", "common_id": survivor.common_id, "merged_common_id": merged.common_id,
             "reason": reason})
    return recovery


def _refuse_on_shared_services(session: Session, survivor: Resident, merged: Resident) -> None:
    """Both linked to one service now: only one link can survive, so one must be split first."""
    current = sa.select(ServiceLink.service_id).where(CURRENT_LINK)
    shared = sorted(set(session.scalars(current.where(ServiceLink.resident_id == survivor.id)))
                    & set(session.scalars(current.where(ServiceLink.resident_id == merged.id))))
    if shared:
        raise Conflict("Both common IDs are linked to the same service (" + ", ".join(map(str, shared)) +
                       "); split the wrong link first.",
                       "両方の共通IDが同じサービス（" + "、".join(map(str, shared)) + "）と連携しています。"
                       "先に誤った連携を解除してください。", services=shared)


# --- deciding -------------------------------------------------------------------------------------

def get_recovery(session: Session, tenant_code: str, recovery_id: int) -> ResidentRecovery:
    recovery = session.get(ResidentRecovery, recovery_id)
    if recovery is None or recovery.tenant_code != tenant_code:
        raise NotFound("No such proposal.", "該当する提案はありません。")
    return recovery


def _decide(session: Session, actor: Actor, tenant_code: str, recovery_id: int, move: str, reason: str) -> ResidentRecovery:
    authz.authorize(actor, "resident.recover", tenant_code)
    recovery = get_recovery(session, tenant_code, recovery_id)
    target = RECOVERIES.move(move, recovery.status, recovery).target
    own = same_person(actor, recovery.proposed_by_key, recovery.proposed_by)
    if move == "cancel" and not own:
        raise NotTheProposer("Only the proposer cancels a proposal; refuse it instead.",
                             "提案を取り下げられるのは提案した人だけです。却下してください。")
    if move != "cancel" and own:
        raise OwnProposal("You proposed this; another person of the residents' desk must approve or refuse it.",
                          "自分の提案は承認・却下できません。住民窓口の別の担当者が確認してください。")
    recovery.status = target
    recovery.decided_at, recovery.decided_by, recovery.decided_by_key = utcnow(), actor.recorded_name, identity_key(actor)
    recovery.decision_reason = reason
    return recovery


def approve(session: Session, actor: Actor, tenant_code: str, recovery_id: int, reason: str = "") -> dict[str, Any]:
    """The second person approves: the split or the merge is done, the service(s) and the resident told."""
    recovery = _decide(session, actor, tenant_code, recovery_id, "approve", (reason or "").strip()[:500])
    done = _split(session, recovery) if recovery.kind is RecoveryKind.split else _merge(session, actor, recovery)
    session.flush()
    _record(session, actor, "resident.recovery.approve", recovery, {"status": "proposed"},
            {"status": "approved", "proposed_by": recovery.proposed_by, "reason": recovery.reason,
             "decision_reason": recovery.decision_reason, **done})
    return done


def refuse(session: Session, actor: Actor, tenant_code: str, recovery_id: int, reason: str) -> ResidentRecovery:
    recovery = _decide(session, actor, tenant_code, recovery_id, "refuse", _reason(reason))
    session.flush()
    _record(session, actor, "resident.recovery.refuse", recovery, {"status": "proposed"},
            {"status": "refused", "proposed_by": recovery.proposed_by, "reason": recovery.decision_reason})
    return recovery


def cancel(session: Session, actor: Actor, tenant_code: str, recovery_id: int, reason: str) -> ResidentRecovery:
    recovery = _decide(session, actor, tenant_code, recovery_id, "cancel", _reason(reason))
    session.flush()
    _record(session, actor, "resident.recovery.cancel", recovery, {"status": "proposed"},
            {"status": "cancelled", "reason": recovery.decision_reason})
    return recovery


# --- doing ----------------------------------------------------------------------------------------

def _split(session: Session, recovery: ResidentRecovery) -> dict[str, Any]:
    link = session.get(ServiceLink, recovery.link_id)
    resident = session.get(Resident, recovery.resident_id)
    if link.ended_at is not None or link.resident_id != resident.id:
        raise Conflict("The link was ended or moved since the proposal; propose again.",
                       "提案の後に連携が解除または移動されました。改めて提案してください。")
    now = utcnow()
    link.ended_at, link.ended_by, link.ended_reason = now, recovery.decided_by, recovery.reason
    seqs = list(session.scalars(sa.select(LinkageRecord.seq).where(
        LinkageRecord.service_id == link.service_id, LinkageRecord.subject_id == link.service_user_id,
        LinkageRecord.tenant_code == resident.tenant_code, LinkageRecord.occurred_at >= link.linked_at,
        LinkageRecord.occurred_at <= now).order_by(LinkageRecord.seq)))
    session.add_all(LinkageMark(recovery_id=recovery.id, linkage_seq=seq, marked_at=now) for seq in seqs)
    service = session.get(DataService, link.service_id)
    period = f"{jst_text(link.linked_at)} – {jst_text(now)}"
    _tell_service(session, service, SPLIT_KIND, f"【連携の解除】{service.name}: 利用者ID {link.service_user_id}",
                  f"{service.name} ご担当者様\n\n貴サービスの利用者ID {link.service_user_id} と住民との連携は誤りであったため、"
                  f"{recovery.tenant_code} の住民窓口が解除しました（二人で確認済み）。\n"
                  f"この連携の間（{period}）に、このIDについて連携基盤がお答えした内容は別の方のものでした"
                  f"（連携記録 {len(seqs)} 件に印を付けました）。受け取ったデータの利用を止め、必要な措置をとってください。\n\n"
                  f"The link of your user ID {link.service_user_id} to a resident was wrong and has been split by the "
                  f"residents' desk of {recovery.tenant_code} (two people confirmed it). What renkei answered for this ID "
                  f"in {period} was another person's ({len(seqs)} linkage record(s) marked); stop using it.\n")
    _tell_resident(session, resident, recovery, SPLIT_KIND, ("サービスとの連携を解除しました", "A link was split"),
                   (f"「{service.name}」の利用者ID {link.service_user_id} とあなたとの連携は誤りであったため、解除しました。"
                    f"この連携によるデータの提供（{len(seqs)} 件）は記録に印を付けました。",
                    f"The link of your record to the user ID {link.service_user_id} of “{service.name}” was wrong and "
                    f"has been split; the {len(seqs)} provision(s) of data made under it are marked in the records."))
    return {"common_id": resident.common_id, "service_id": link.service_id, "service_user_id": link.service_user_id,
            "ended_at": now, "marked": seqs}


def _merge(session: Session, actor: Actor, recovery: ResidentRecovery) -> dict[str, Any]:
    survivor, merged = session.get(Resident, recovery.resident_id), session.get(Resident, recovery.merged_id)
    if survivor.status is not ResidentStatus.active:
        raise Conflict("The surviving resident is no longer active; propose again.",
                       "存続する住民が登録済みの状態ではなくなりました。改めて提案してください。")
    _refuse_on_shared_services(session, survivor, merged)
    merged.status = RESIDENTS.move("merge", merged.status, merged).target
    merged.merged_into_id = survivor.id
    links = list(session.scalars(sa.select(ServiceLink).where(ServiceLink.resident_id == merged.id).order_by(ServiceLink.id)))
    current = [link for link in links if link.ended_at is None]
    for link in links:
        link.origin_resident_id = link.origin_resident_id or merged.id
        link.resident_id = survivor.id
    for link in current:  # the range the person set for each moved service follows it
        items = session.scalar(sa.select(ResidentDisclosure.items).where(
            ResidentDisclosure.resident_id == merged.id, ResidentDisclosure.service_id == link.service_id)
            .order_by(ResidentDisclosure.id.desc()).limit(1))
        if items is not None:
            session.add(ResidentDisclosure(resident_id=survivor.id, service_id=link.service_id, items=items,
                                           reason=f"共通IDの統合（{merged.common_id} から） / merged from {merged.common_id}",
                                           set_by=recovery.decided_by))
    identities = list(session.scalars(sa.select(ResidentIdentity.id).where(ResidentIdentity.resident_id == merged.id)))
    session.execute(sa.update(ResidentIdentity).where(ResidentIdentity.resident_id == merged.id)
                    .values(resident_id=survivor.id))
    for link in current:
        service = session.get(DataService, link.service_id)
        _tell_service(session, service, MERGE_KIND, f"【住民記録の統合】{service.name}: 利用者ID {link.service_user_id}",
                      f"{service.name} ご担当者様\n\n貴サービスの利用者ID {link.service_user_id} の方は、同じ方の二重の登録が"
                      f"{recovery.tenant_code} の住民窓口で一つにまとめられました（二人で確認済み）。このIDはそのまま使えます。"
                      "今後お答えする内容は、まとめた後の登録によります。\n\n"
                      f"Your user ID {link.service_user_id} belonged to a person registered twice; the residents' desk of "
                      f"{recovery.tenant_code} merged the two records (two people confirmed it). The ID stays as it is; "
                      "answers now come from the merged record.\n")
    _tell_resident(session, survivor, recovery, MERGE_KIND, ("共通IDを統合しました", "Your common IDs were merged"),
                   (f"あなたの共通ID {merged.common_id} を {survivor.common_id} に統合しました。サービスとの連携と同意は"
                    f"{survivor.common_id} に引き継がれ、{merged.common_id} は今後 {survivor.common_id} として扱われます。",
                    f"Your common ID {merged.common_id} was merged into {survivor.common_id}. Your links and consents "
                    f"moved with it; {merged.common_id} now stands for {survivor.common_id}."))
    return {"common_id": survivor.common_id, "merged_common_id": merged.common_id,
            "moved_links": [link.id for link in links], "moved_identities": identities}


def _owner(session: Session, code: str) -> Any | None:
    """The tenant or member organisation a service belongs to (whose contacts the outbox writes to)."""
    from tenancy.members.models import Organisation
    from tenancy.registry.models import Tenant

    return (session.scalar(sa.select(Tenant).where(Tenant.code == code))
            or session.scalar(sa.select(Organisation).where(Organisation.corporate_number == code)))


def _tell_service(session: Session, service: DataService, kind: str, subject: str, body: str) -> None:
    owner = _owner(session, service.owner_code)
    outbox.queue(session, kind=kind, subject=subject[:255], body=body, tenant=owner,
                 tenant_code=None if owner is not None else service.owner_code)


def _tell_resident(session: Session, resident: Resident, recovery: ResidentRecovery, kind: str, title: tuple[str, str],
                   body: tuple[str, str]) -> None:
    session.add(ResidentNotice(resident_id=resident.id, kind=kind, recovery_id=recovery.id, title_ja=title[0],
                               title_en=title[1], body_ja=body[0], body_en=body[1]))


# --- reading --------------------------------------------------------------------------------------

def list_recoveries(session: Session, actor: Actor, tenant_code: str, *, open_only: bool = True) -> list[dict[str, Any]]:
    """The municipality's proposals (open ones by default), newest first; no personal items."""
    authz.authorize(actor, "resident.recover", tenant_code)
    query = sa.select(ResidentRecovery).where(ResidentRecovery.tenant_code == tenant_code).order_by(ResidentRecovery.id.desc())
    if open_only:
        query = query.where(ResidentRecovery.status == RecoveryStatus.proposed)
    rows = list(session.scalars(query))
    return [recovery_view(session, row, actor) for row in rows]


def recovery_view(session: Session, recovery: ResidentRecovery, actor: Actor | None = None) -> dict[str, Any]:
    common = dict(session.execute(sa.select(Resident.id, Resident.common_id).where(
        Resident.id.in_([i for i in (recovery.resident_id, recovery.merged_id) if i is not None]))).all())
    link = session.get(ServiceLink, recovery.link_id) if recovery.link_id else None
    marked = session.scalar(sa.select(sa.func.count()).select_from(LinkageMark)
                            .where(LinkageMark.recovery_id == recovery.id)) if recovery.kind is RecoveryKind.split else 0
    return {"id": recovery.id, "kind": recovery.kind.value, "status": recovery.status.value,
            "common_id": common.get(recovery.resident_id), "merged_common_id": common.get(recovery.merged_id),
            "service_id": link.service_id if link else None, "service_user_id": link.service_user_id if link else None,
            "reason": recovery.reason, "proposed_at": recovery.proposed_at, "proposed_by": recovery.proposed_by,
            "decided_at": recovery.decided_at, "decided_by": recovery.decided_by,
            "decision_reason": recovery.decision_reason, "marked_records": marked,
            "own": bool(actor) and same_person(actor, recovery.proposed_by_key, recovery.proposed_by)}


def marked_records(session: Session, recovery_id: int) -> list[int]:
    """The sequence numbers of the linkage records a split marked."""
    return list(session.scalars(sa.select(LinkageMark.linkage_seq).where(LinkageMark.recovery_id == recovery_id)
                                .order_by(LinkageMark.linkage_seq)))


def notices_for(session: Session, resident_id: int) -> list[ResidentNotice]:
    """A resident's notices, newest first (the residents' portal shows them; the portal authorises)."""
    return list(session.scalars(sa.select(ResidentNotice).where(ResidentNotice.resident_id == resident_id)
                                .order_by(ResidentNotice.id.desc())))
