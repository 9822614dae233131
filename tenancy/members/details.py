"""A member keeps its own details (issue 58 item 1): the organisation's admin edits its record.

What the secretariat must check waits for it (:data:`REVIEWED`: the name and its kana, the head
office's prefecture and address, which the corporate number is registered with, and the
representative); the rest (:data:`IMMEDIATE`: the contact person, the industry, the size, the public
profile) applies at once. The secretariat (``member.screen``) changes any member, everything at once,
and approves or rejects (with a reason) a member's waiting change, once: the table :data:`CHANGES` says
which decision may follow which status, and refuses (HTTP 409) a decision on a change decided already.
A member has at most one waiting change; another change of those fields is refused until it is decided.

Every change is a :class:`~tenancy.members.models.MemberChange` (the history: the changed fields
before and after, who and when, the decision) and one audit record with the same before and after.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, outbox
from core.actor import Actor
from core.codes import INDUSTRY_MAJOR_GROUPS
from core.db import lock_key, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import labels
from core.lifecycle import IllegalMove, Lifecycle, Move, require_reason
from core.validation import text_field_problem
from tenancy.members import operations as members
from tenancy.members.models import ChangeStatus, MemberBase, MemberChange, MemberStatus, Organisation, SizeBand

REVIEWED = ("name", "name_kana", "prefecture", "address", "representative")
IMMEDIATE = ("contact_name", "contact_email", "contact_phone", "industry", "size_band", "employees", "capital_yen",
             "public_profile")
FIELD_LABELS = {
    "name": ("名称", "Name"), "name_kana": ("名称（カナ）", "Name in kana"), "prefecture": ("都道府県", "Prefecture"),
    "address": ("所在地", "Address"), "representative": ("代表者", "Representative"),
    "contact_name": ("担当者", "Contact person"), "contact_email": ("担当者のメールアドレス", "Contact's e-mail"),
    "contact_phone": ("電話番号", "Phone number"), "industry": ("業種（日本標準産業分類）", "Industry"),
    "size_band": ("規模", "Size"), "employees": ("従業員数", "Employees"), "capital_yen": ("資本金（円）", "Capital (yen)"),
    "public_profile": ("公開プロフィール", "Public profile"),
}
PROFILE_LIMIT = 2000


@dataclasses.dataclass(frozen=True)
class MemberDetails:
    """What a member says of itself, as its details form and the API take it."""

    name: str
    representative: str
    contact_name: str
    contact_email: str
    prefecture: str
    name_kana: str = ""
    address: str = ""
    contact_phone: str = ""
    industry: str = ""
    size_band: str = ""
    employees: int | None = None
    capital_yen: int | None = None
    public_profile: str = ""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a change did: the fields applied at once, and the change left waiting (None if none)."""

    applied: tuple[str, ...]
    pending: MemberChange | None


class DetailsInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The details have errors; nothing was saved.", "入力内容に誤りがあります。保存していません。",
                         problems=problems)


def details_of(org: Organisation) -> MemberDetails:
    return MemberDetails(**{field: getattr(org, field) for field in REVIEWED + IMMEDIATE})


def details_problems(details: MemberDetails) -> list[dict[str, str]]:
    found = members.record_problems(details)
    if details.industry and details.industry not in INDUSTRY_MAJOR_GROUPS:
        found.append(problem("industry", "Choose the industry from the list.", "業種を一覧から選んでください。"))
    if details.size_band and details.size_band not in {band.value for band in SizeBand}:
        found.append(problem("size_band", "Choose the size from the list.", "規模を一覧から選んでください。"))
    for field in ("employees", "capital_yen"):
        value = getattr(details, field)
        if value is not None and not 0 <= value <= 10**15:
            ja, en = FIELD_LABELS[field]
            found.append(problem(field, f"The {en.lower()} is a whole number, 0 or more.", f"{ja}は 0 以上の整数で入力してください。"))
    if (wrong := text_field_problem("public_profile", details.public_profile, "public profile", "公開プロフィール",
                                    PROFILE_LIMIT, single_line=False)) is not None:
        found.append(wrong)
    return found


def _clean(details: MemberDetails) -> MemberDetails:
    return MemberDetails(**{key: value.strip() if isinstance(value, str) else value
                            for key, value in dataclasses.asdict(details).items()})


def _member(session: Session, actor: Actor, number: str, action: str) -> Organisation:
    authz.authorize(actor, action, number)
    return members.get_member(session, actor, number)


def pending_change(session: Session, org: Organisation) -> MemberChange | None:
    return session.scalars(sa.select(MemberChange).where(MemberChange.organisation_id == org.id,
                                                         MemberChange.status == ChangeStatus.pending)).first()


def change_details(session: Session, actor: Actor, number: str, details: MemberDetails) -> Outcome:
    """The member's admin (or the secretariat) changes the member's details: what the secretariat must
    check waits for it, the rest applies at once; the secretariat's own change applies whole."""
    org = _member(session, actor, number, "member.update")
    secretariat = authz.allowed(actor, "member.screen")
    if not secretariat and org.status != MemberStatus.approved:
        raise Conflict(f"Organisation {number} is not a member; its details cannot be changed.",
                       f"法人番号 {number} の団体は会員ではないため、登録内容を変更できません。")
    details = _clean(details)
    if problems := details_problems(details):
        raise DetailsInvalid(problems)
    changed = {field: value for field, value in dataclasses.asdict(details).items() if getattr(org, field) != value}
    waiting = {} if secretariat else {field: changed.pop(field) for field in REVIEWED if field in changed}
    if waiting and (pending := pending_change(session, org)) is not None:
        raise Conflict("A change of the name, address or representative is already awaiting the secretariat.",
                       "名称・所在地・代表者の変更が事務局の確認待ちです。確認が済んでから変更してください。",
                       problems=[problem(field, "Awaiting the secretariat's approval of the earlier change.",
                                         "前回の変更が事務局の確認待ちです。") for field in waiting], change_id=pending.id)
    if not changed and not waiting:
        return Outcome((), None)
    before = {field: getattr(org, field) for field in changed}
    for field, value in changed.items():
        setattr(org, field, value)
    if "prefecture" in changed:
        org.in_prefecture = members.in_home_prefecture(session, org.prefecture, _bases(session, org))
    who = actor.recorded_name
    if changed:
        session.add(MemberChange(organisation_id=org.id, status=ChangeStatus.applied, before=json.dumps(before, ensure_ascii=False),
                                 after=json.dumps(changed, ensure_ascii=False), requested_by=who, decided_by=who,
                                 decided_at=utcnow()))
    request = None
    if waiting:
        request = MemberChange(organisation_id=org.id, status=ChangeStatus.pending, requested_by=who,
                               before=json.dumps({field: getattr(org, field) for field in waiting}, ensure_ascii=False),
                               after=json.dumps(waiting, ensure_ascii=False))
        session.add(request)
    session.flush()
    audit.record(session, actor, "member.update", "member", number, tenant_code=number, before=before or None,
                 after={**changed, **({"awaiting_approval": waiting, "change_id": request.id} if request else {})})
    return Outcome(tuple(changed), request)


def _bases(session: Session, org: Organisation) -> list[tuple[str, str]]:
    return [(base.kind.value, base.prefecture) for base in
            session.scalars(sa.select(MemberBase).where(MemberBase.organisation_id == org.id))]


def _change_refusal(move: Move, status: ChangeStatus, change: MemberChange | None) -> IllegalMove:
    ja, en = _status_words(status)
    verb_en, verb_ja = ("approved", "承認") if move.name == "approve" else ("rejected", "差し戻し")
    return IllegalMove(f"This change is not awaiting approval ({en}); it cannot be {verb_en}. Nothing was changed.",
                       f"この変更は確認待ちではないため{verb_ja}できません（{ja}）。変更していません。",
                       status=status.value, move=move.name)


C = ChangeStatus
CHANGES = Lifecycle("会員の登録内容の変更", "change of a member's details", ChangeStatus, labels(ChangeStatus), (
    Move("approve", frozenset({C.pending}), C.approved, "承認", "approve", grant="member.screen"),
    Move("reject", frozenset({C.pending}), C.rejected, "差戻し", "reject", reason_required=True, grant="member.screen"),
), initial=(C.applied, C.pending), refusal=_change_refusal)
"""A change of a member's details: written applied (what applies at once) or pending (what the secretariat checks),
then approved or rejected once (:func:`approve_change`, :func:`reject_change`, both through :func:`_decide`)."""


def _decide(session: Session, actor: Actor, change_id: int, name: str) -> tuple[MemberChange, Organisation, Move]:
    """The change and its member, and the move ``name`` the table allows from the change's status (else IllegalMove)."""
    authz.authorize(actor, "member.screen")
    lock_key(session, "member.change", change_id)  # two decisions at once: the second finds it decided
    change = session.get(MemberChange, change_id)
    if change is None:
        raise NotFound(f"No change {change_id} of a member's details.", "この登録内容の変更はありません。")
    move = CHANGES.move(name, change.status, change)
    return change, session.get(Organisation, change.organisation_id), move


def _status_words(status: ChangeStatus) -> tuple[str, str]:
    return ChangeStatus(status).label


def approve_change(session: Session, actor: Actor, change_id: int, reason: str = "") -> MemberChange:
    """The secretariat approves a member's waiting change: it applies now."""
    change, org, move = _decide(session, actor, change_id, "approve")
    after = json.loads(change.after)
    before = {field: getattr(org, field) for field in after}
    for field, value in after.items():
        setattr(org, field, value)
    if "prefecture" in after:
        org.in_prefecture = members.in_home_prefecture(session, org.prefecture, _bases(session, org))
    change.status, change.decided_by, change.decided_at = move.target, actor.recorded_name, utcnow()
    change.decision_reason = require_reason(move, reason)[:2000]
    session.flush()
    audit.record(session, actor, "member.change.approve", "member", org.corporate_number, tenant_code=org.corporate_number,
                 before=before, after={**after, "change_id": change.id})
    outbox.queue(session, kind="member.change.approved", tenant=org, subject="【会員】登録内容の変更を承認しました",
                 body=f"{org.name} {org.contact_name} 様\n\n登録内容の変更（{_fields_ja(after)}）を事務局が承認し、反映しました。\n")
    return change


def _fields_ja(changed: dict[str, Any]) -> str:
    return "・".join(FIELD_LABELS[field][0] for field in changed)


def reject_change(session: Session, actor: Actor, change_id: int, reason: str) -> MemberChange:
    """The secretariat rejects a member's waiting change, saying why; nothing of it applies."""
    change, org, move = _decide(session, actor, change_id, "reject")
    reason = require_reason(move, reason)
    before_status = change.status.value
    change.status, change.decided_by, change.decided_at = move.target, actor.recorded_name, utcnow()
    change.decision_reason = reason[:2000]
    session.flush()
    audit.record(session, actor, "member.change.reject", "member", org.corporate_number, tenant_code=org.corporate_number,
                 before={"status": before_status, **json.loads(change.after)},
                 after={"status": move.target.value, "reason": change.decision_reason, "change_id": change.id})
    outbox.queue(session, kind="member.change.rejected", tenant=org, subject="【会員】登録内容の変更を差し戻しました",
                 body=f"{org.name} {org.contact_name} 様\n\n登録内容の変更（{_fields_ja(json.loads(change.after))}）を"
                      f"事務局が差し戻しました。\n理由: {change.decision_reason}\n")
    return change


@dataclasses.dataclass(frozen=True)
class HistoryRow:
    change: MemberChange
    before: dict[str, Any]
    after: dict[str, Any]
    status_label: tuple[str, str]


def history(session: Session, actor: Actor, number: str) -> list[HistoryRow]:
    """The member's changes, newest first."""
    org = members.get_member(session, actor, number)
    changes = session.scalars(sa.select(MemberChange).where(MemberChange.organisation_id == org.id)
                              .order_by(MemberChange.requested_at.desc(), MemberChange.id.desc()))
    return [HistoryRow(change, json.loads(change.before), json.loads(change.after), _status_words(change.status))
            for change in changes]


def waiting_changes(session: Session, actor: Actor) -> list[tuple[MemberChange, Organisation]]:
    """Every member's change awaiting the secretariat, oldest first."""
    authz.authorize(actor, "member.screen")
    rows = session.execute(sa.select(MemberChange, Organisation).join(Organisation, Organisation.id == MemberChange.organisation_id)
                           .where(MemberChange.status == ChangeStatus.pending).order_by(MemberChange.id))
    return [(change, org) for change, org in rows]
