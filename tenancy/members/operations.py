"""Member intake and screening, the members list, and project groups.

The application form needs no account: :func:`apply` acts for the applicant (an actor whose
issuer is :data:`PUBLIC_ISSUER`), stores the application and queues an e-mail with a link whose
token confirms the address (:func:`confirm_email`). The secretariat (``member.screen``) records
the documents' receipt, ticks the checklist it edits itself, and approves or rejects with a
reason; approval opens the organisation's accounts: a Keycloak group ``/tenants/<number>`` and its
first admin, invited by the same identity operation a municipality's admin is. Every step is
audited and notified through the outbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, outbox
from core import search as search_rules
from core.actor import Actor
from core.codes import (LOCAL_GOVERNMENT_BASE_PREFIX, corporate_number_of_local_government,
                        corporate_number_problem)
from core.calendar import day_text, today_jst
from core.db import utcnow
from core.errors import Invalid, NotFound, problem
from core.labelled import labels
from core.lifecycle import IllegalMove, Lifecycle, Move, WhyNot
from core.validation import email_problem, text_field_problem
from tenancy.identity import operations as identity
from tenancy.identity import people_index
from tenancy.identity.keycloak import IdentityDirectory
from tenancy.members.models import (DEFAULT_SCREENING_ITEMS, DOCUMENTS, MAX_BASES, PREFECTURES, BaseKind, MemberBase,
                                    MemberStatus, Organisation, OrganisationKind, ProjectGroup, ProjectGroupMember,
                                    ScreeningCheck, ScreeningItem)
from tenancy.registry.models import Tenant, TenantKind, TenantStatus
from tenancy.registry.prefecture import home_prefecture_name

PUBLIC_ISSUER = "urn:renkei:public"


def applicant_actor(email: str, name: str, request_id: str | None = None, source_ip: str | None = None) -> Actor:
    """The person filling in the public form: recorded in the audit log by the address they gave."""
    return Actor(issuer=PUBLIC_ISSUER, subject=f"applicant:{email.lower()}", name=name, request_id=request_id,
                 source_ip=source_ip)


@dataclasses.dataclass(frozen=True)
class Application:
    corporate_number: str
    name: str
    kind: str
    prefecture: str
    representative: str
    contact_name: str
    contact_email: str
    name_kana: str = ""
    address: str = ""
    contact_phone: str = ""
    # bases besides the head office: (kind, prefecture), e.g. ("branch", "熊本県") for a Kumamoto branch
    bases: tuple[tuple[str, str], ...] = ()


class ApplicationInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The application has errors; nothing was saved.",
                         "申請内容に誤りがあります。保存していません。", problems=problems)


def summary(org: Organisation) -> dict[str, Any]:
    return {"corporate_number": org.corporate_number, "name": org.name, "kind": org.kind.value,
            "prefecture": org.prefecture, "in_prefecture": org.in_prefecture, "status": org.status.value}


def application_problems(app: Application) -> list[dict[str, str]]:
    found = []
    why = corporate_number_problem(app.corporate_number)
    if why:
        found.append(problem("corporate_number", *why))
    elif app.corporate_number[1:7] == LOCAL_GOVERNMENT_BASE_PREFIX:
        found.append(problem("corporate_number", "This is a local government's number; local governments join as tenants.",
                             "地方公共団体の法人番号です。地方公共団体は参加団体として登録します。"))
    found.extend(record_problems(app))
    if app.kind not in {k.value for k in OrganisationKind}:
        found.append(problem("kind", "Choose the kind of organisation from the list.", "種別を一覧から選んでください。"))
    if len(app.bases) > MAX_BASES:
        found.append(problem("bases", f"Name at most {MAX_BASES} bases.", f"拠点は {MAX_BASES} か所までにしてください。"))
    for number, (kind, prefecture) in enumerate(app.bases[:MAX_BASES], start=1):
        if kind not in {k.value for k in BaseKind}:
            found.append(problem(f"base_kind_{number}", "Choose the kind of base from the list.",
                                 "拠点の種別を一覧から選んでください。"))
        if prefecture not in PREFECTURES:
            found.append(problem(f"base_prefecture_{number}", "Choose the base's prefecture from the list.",
                                 "拠点の都道府県を一覧から選んでください。"))
    return found


# The organisation's own words, as the application form and the member's details page take them:
# field -> (English name, Japanese name, longest, required)
TEXT_FIELDS = {
    "name": ("name", "名称", 200, True), "name_kana": ("name in kana", "名称（カナ）", 200, False),
    "representative": ("representative", "代表者", 100, True), "contact_name": ("contact person", "担当者", 100, True),
    "address": ("address", "所在地", 300, False), "contact_phone": ("phone number", "電話番号", 32, False),
}


def record_problems(record: Any) -> list[dict[str, str]]:
    """The problems of what an application or a member's details say of the organisation (its names, its
    prefecture, its contact); ``record`` has the attributes of :data:`TEXT_FIELDS`, ``prefecture`` and
    ``contact_email``."""
    found = []
    for field, (en, ja, limit, required) in TEXT_FIELDS.items():
        if (wrong := text_field_problem(field, getattr(record, field), en, ja, limit, required=required)) is not None:
            found.append(wrong)
    if record.prefecture not in PREFECTURES:
        found.append(problem("prefecture", "Choose the prefecture from the list.", "所在地の都道府県を一覧から選んでください。"))
    if (wrong := email_problem("contact_email", record.contact_email)) is not None:
        found.append(wrong)
    return found


def in_home_prefecture(session: Session, head_office: str, bases: Iterable[tuple[str, str]] = ()) -> bool:
    """Whether the head office or any base (支社・事業所) is in the home prefecture (the registry's prefecture)."""
    home = home_prefecture_name(session)
    return bool(home) and (head_office == home or any(prefecture == home for _kind, prefecture in bases))


def member_bases(session: Session, org: Organisation) -> list[tuple[tuple[str, str], str]]:
    """An organisation's bases besides its head office: ((kind in Japanese, in English), prefecture)."""
    return [(BaseKind(base.kind).label, base.prefecture) for base in session.scalars(
        sa.select(MemberBase).where(MemberBase.organisation_id == org.id).order_by(MemberBase.id))]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _find(session: Session, number: str) -> Organisation | None:
    return session.scalars(sa.select(Organisation).where(Organisation.corporate_number == number)).one_or_none()


# --- the lifecycle ---------------------------------------------------------------------------------
#
#   unconfirmed ──confirm_email──▶ applied ──approve──▶ approved
#        ▲                            │ reject              │
#        │ reapply                    ▼                     │ withdraw (also from unconfirmed, applied)
#        └──────────────── rejected, withdrawn ◀────────────┘

def _screening_done(org: Organisation, session: Session, actor: Actor) -> WhyNot | None:
    """The guard of approval: both documents received and every screening item checked."""
    problems = approval_problems(session, actor, org)
    if not problems:
        return None
    return WhyNot("Screening is not complete; the organisation was not approved.",
                  "審査が終わっていないため承認できません。" + " ".join(p["message_ja"] for p in problems), tuple(problems))


def _member_refusal(move: Move, status: MemberStatus, org: Organisation) -> IllegalMove:
    ja, en = MemberStatus(status).label
    number = org.corporate_number
    if move.name == "reapply":
        return IllegalMove(f"Corporate number {number} has already applied or is a member.",
                           f"法人番号 {number} はすでに申請済みか会員です。事務局にお問い合わせください。",
                           problems=[problem("corporate_number", "Already applied or a member.", "すでに申請済みか会員です。")],
                           status=status.value, move=move.name)
    if move.name == "withdraw":
        return IllegalMove(f"Organisation {number} cannot withdraw ({en}).", f"法人番号 {number} の団体は退会できません（{ja}）。",
                           status=status.value, move=move.name)
    return IllegalMove(f"Organisation {number} is not under screening ({en}).",
                       f"法人番号 {number} の団体は審査中ではありません（{ja}）。", status=status.value, move=move.name)


M = MemberStatus
MEMBERS = Lifecycle("会員団体", "member organisation", MemberStatus, labels(MemberStatus), (
    Move("confirm_email", frozenset({M.unconfirmed}), M.applied, "メールアドレスの確認", "confirm the e-mail address"),
    Move("approve", frozenset({M.applied}), M.approved, "承認", "approve", _screening_done, reason_required=True,
         grant="member.screen"),
    Move("reject", frozenset({M.applied}), M.rejected, "否認", "reject", reason_required=True, grant="member.screen"),
    Move("withdraw", frozenset({M.unconfirmed, M.applied, M.approved}), M.withdrawn, "退会", "withdraw",
         reason_required=True, grant="member.withdraw"),
    Move("reapply", frozenset({M.rejected, M.withdrawn}), M.unconfirmed, "再申請", "apply again"),
), initial=(M.unconfirmed,), refusal=_member_refusal)
"""A member organisation's lifecycle (the public form creates it ``unconfirmed``)."""


def apply(session: Session, application: Application, *, confirm_url: Callable[[str], str],
          request_id: str | None = None, source_ip: str | None = None, language: str = "ja") -> Organisation:
    """A membership application from the public form; the applicant gets a link to confirm the address.

    ``language`` is the one the form was filled in (``ja`` or ``en``): an English applicant's
    message starts in English (the Japanese follows), and ``confirm_url`` is expected to open the
    confirmation page in that language."""
    application = Application(**{k: (v.strip() if isinstance(v, str) else v)
                                 for k, v in dataclasses.asdict(application).items() if k != "bases"},
                              bases=tuple((kind.strip(), prefecture.strip()) for kind, prefecture in application.bases))
    problems = application_problems(application)
    if problems:
        raise ApplicationInvalid(problems)
    existing = _find(session, application.corporate_number)
    if existing is not None:
        MEMBERS.move("reapply", existing.status, existing)
    token = secrets.token_urlsafe(32)
    fields = {**dataclasses.asdict(application), "kind": OrganisationKind(application.kind),
              "in_prefecture": in_home_prefecture(session, application.prefecture, application.bases),
              "status": MemberStatus.unconfirmed,
              "email_token_hash": _hash(token), "applied_at": utcnow(), "email_confirmed_at": None,
              "pledge_received_on": None, "profile_received_on": None, "decision_reason": "", "decided_at": None}
    bases = fields.pop("bases")
    if existing is not None:  # a rejected or withdrawn organisation applies again
        for key, value in fields.items():
            setattr(existing, key, value)
        session.execute(sa.delete(ScreeningCheck).where(ScreeningCheck.organisation_id == existing.id))
        session.execute(sa.delete(MemberBase).where(MemberBase.organisation_id == existing.id))
        org = existing
    else:
        org = Organisation(**fields)
        session.add(org)
    session.flush()
    session.add_all(MemberBase(organisation_id=org.id, kind=BaseKind(kind), prefecture=prefecture) for kind, prefecture in bases)
    session.flush()
    actor = applicant_actor(application.contact_email, application.contact_name, request_id, source_ip)
    audit.record(session, actor, "member.apply", "member", org.corporate_number, tenant_code=org.corporate_number,
                 after={**summary(org), "bases": [list(base) for base in bases]})
    link = confirm_url(token)
    japanese = (f"{org.name} {org.contact_name} 様\n\n入会申請を受け付けました。次のリンクを開いてメールアドレスを確認してください。"
                f"確認が済むと審査を始めます。\n\n{link}\n")
    if language == "en":
        subject = "Membership application: please confirm your e-mail address / 【入会申請】メールアドレスの確認をお願いします"
        body = (f"Dear {org.contact_name} ({org.name}),\n\nWe have received your application for membership. Please open "
                f"the link below to confirm your e-mail address; screening starts once it is confirmed.\n\n{link}\n"
                f"\n----\n\n{japanese}")
    else:
        subject, body = "【入会申請】メールアドレスの確認をお願いします", japanese
    outbox.queue(session, kind="member.confirm_email", tenant=org, subject=subject, body=body)
    return org


def confirm_email(session: Session, token: str) -> Organisation:
    org = session.scalars(sa.select(Organisation).where(Organisation.email_token_hash == _hash(token or ""))).one_or_none()
    if org is None or not MEMBERS.allows("confirm_email", org.status):
        raise NotFound("This confirmation link is not valid (already used or mistyped).",
                       "この確認用リンクは無効です（確認済みか、リンクが途中で切れています）。")
    org.status = MEMBERS.move("confirm_email", org.status, org).target
    org.email_confirmed_at, org.email_token_hash = utcnow(), None
    session.flush()
    audit.record(session, applicant_actor(org.contact_email, org.contact_name), "member.email_confirm", "member",
                 org.corporate_number, tenant_code=org.corporate_number, before={"status": "unconfirmed"},
                 after={"status": "applied"})
    outbox.queue(session, kind="member.applied", tenant=org, subject="【入会申請】受付のお知らせ",
                 body=f"{org.name} {org.contact_name} 様\n\nメールアドレスを確認しました。事務局が審査を始めます。"
                      "誓約書と会社概要をご提出ください。\n")
    return org


def get_member(session: Session, actor: Actor, number: str) -> Organisation:
    authz.authorize(actor, "member.read", number)
    org = _find(session, number)
    if org is None:
        raise NotFound(f"No member organisation {number}.", f"法人番号 {number} の会員団体はありません。")
    return org


def _screenable(session: Session, actor: Actor, number: str, move: str = "approve") -> Organisation:
    """The organisation under screening: the acts of screening happen while it can still be decided."""
    authz.authorize(actor, "member.screen")
    org = get_member(session, actor, number)
    if not MEMBERS.allows(move, org.status):
        raise MEMBERS.refuse(move, org.status, org)
    return org


def record_document(session: Session, actor: Actor, number: str, document: str, received_on: dt.date) -> Organisation:
    """The secretariat has received one of the documents (誓約書, 会社概要)."""
    org = _screenable(session, actor, number)
    if document not in DOCUMENTS:
        raise Invalid("Choose the document from the list.", "書類を一覧から選んでください。",
                      problems=[problem("document", "Choose the document from the list.", "書類を一覧から選んでください。")])
    column = f"{document}_received_on"
    before = getattr(org, column)
    setattr(org, column, received_on)
    session.flush()
    audit.record(session, actor, "member.document", "member", number, tenant_code=number,
                 before={document: before.isoformat() if before else None}, after={document: received_on.isoformat()})
    outbox.queue(session, kind="member.document", tenant=org, subject=f"【入会審査】{DOCUMENTS[document][0]}を受領しました",
                 body=f"{org.name} {org.contact_name} 様\n\n{DOCUMENTS[document][0]}を {day_text(received_on)} に受領しました。\n")
    return org


# --- the screening checklist (edited by the prefecture) ----------------------------------------

def screening_items(session: Session, actor: Actor, *, include_inactive: bool = False) -> list[ScreeningItem]:
    authz.authorize(actor, "member.screen")
    if session.scalar(sa.select(sa.func.count(ScreeningItem.id))) == 0:
        for position, (ja, en) in enumerate(DEFAULT_SCREENING_ITEMS):
            session.add(ScreeningItem(label_ja=ja, label_en=en, position=position))
        session.flush()
    query = sa.select(ScreeningItem).order_by(ScreeningItem.position, ScreeningItem.id)
    if not include_inactive:
        query = query.where(ScreeningItem.active.is_(True))
    return list(session.scalars(query))


def add_screening_item(session: Session, actor: Actor, label_ja: str, label_en: str = "") -> ScreeningItem:
    items = screening_items(session, actor, include_inactive=True)
    label_ja, label_en = (label_ja or "").strip(), (label_en or "").strip()
    if not label_ja or len(label_ja) > 200 or len(label_en) > 200:
        raise Invalid("Enter the criterion (up to 200 characters).", "審査項目を 200 文字以内で入力してください。",
                      problems=[problem("label_ja", "Enter the criterion (up to 200 characters).",
                                        "審査項目を 200 文字以内で入力してください。")])
    item = ScreeningItem(label_ja=label_ja, label_en=label_en, position=len(items))
    session.add(item)
    session.flush()
    audit.record(session, actor, "member.checklist.add", "screening_item", str(item.id),
                 after={"label_ja": label_ja, "label_en": label_en})
    return item


def set_screening_item_active(session: Session, actor: Actor, item_id: int, active: bool) -> ScreeningItem:
    screening_items(session, actor)
    item = session.get(ScreeningItem, item_id)
    if item is None:
        raise NotFound(f"No screening item {item_id}.", "この審査項目はありません。")
    if item.active != active:
        item.active = active
        session.flush()
        audit.record(session, actor, "member.checklist.enable" if active else "member.checklist.disable",
                     "screening_item", str(item.id), before={"active": not active}, after={"active": active})
    return item


def screening_state(session: Session, actor: Actor, number: str) -> list[tuple[ScreeningItem, ScreeningCheck | None]]:
    org = get_member(session, actor, number)
    items = screening_items(session, actor)
    checks = {c.item_id: c for c in session.scalars(sa.select(ScreeningCheck)
                                                   .where(ScreeningCheck.organisation_id == org.id))}
    return [(item, checks.get(item.id)) for item in items]


def check_item(session: Session, actor: Actor, number: str, item_id: int, checked: bool, note: str = "") -> ScreeningCheck:
    org = _screenable(session, actor, number)
    item = session.get(ScreeningItem, item_id)
    if item is None or not item.active:
        raise NotFound(f"No screening item {item_id}.", "この審査項目はありません。")
    check = session.scalars(sa.select(ScreeningCheck).where(ScreeningCheck.organisation_id == org.id,
                                                            ScreeningCheck.item_id == item_id)).one_or_none()
    before = {"checked": check.checked, "note": check.note} if check else None
    if check is None:
        check = ScreeningCheck(organisation_id=org.id, item_id=item_id)
        session.add(check)
    check.checked, check.note, check.checked_by, check.checked_at = checked, (note or "").strip()[:500], actor.recorded_name, utcnow()
    session.flush()
    audit.record(session, actor, "member.screen.check", "member", number, tenant_code=number, before=before,
                 after={"item": item.label_ja, "checked": checked, "note": check.note})
    return check


def approval_problems(session: Session, actor: Actor, org: Organisation) -> list[dict[str, str]]:
    """What stands between the organisation and approval, in words."""
    found = []
    for document, (ja, en) in DOCUMENTS.items():
        if getattr(org, f"{document}_received_on") is None:
            found.append(problem(document, f"The {en.lower()} has not been received.", f"{ja}を受領していません。"))
    for item, check in screening_state(session, actor, org.corporate_number):
        if check is None or not check.checked:
            found.append(problem(f"item-{item.id}", f"Not checked: {item.label_en or item.label_ja}.",
                                 f"審査項目「{item.label_ja}」が確認されていません。"))
    return found


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Give the reason.", "理由を入力してください。",
                      problems=[problem("reason", "Give the reason.", "理由を入力してください。")])
    return reason[:2000]


def approve(session: Session, actor: Actor, directory: IdentityDirectory, number: str, reason: str,
            admin: identity.Invitation) -> identity.Invited:
    """Approve the organisation and open its accounts: its Keycloak group and its first admin (``member.approve``,
    the operator's: the contracted secretariat screens, the prefecture opens accounts)."""
    authz.authorize(actor, "member.approve")
    org = _screenable(session, actor, number, "approve")
    reason = _reason(reason)
    move = MEMBERS.move("approve", org.status, org, session, actor)
    before = org.status.value
    with audit.act(session, actor, "member.approve", "member", number, tenant_code=number):  # one act, one record
        org.status, org.decision_reason, org.decided_at = move.target, reason, utcnow()
        org.joined_on = today_jst()
        session.flush()
        audit.record(session, actor, "member.approve", "member", number, tenant_code=number,
                     before={"status": before}, after={"status": move.target.value, "reason": reason})
        invited = identity.invite_with_setup(session, actor, directory, number,
                                             dataclasses.replace(admin, roles=frozenset({authz.ORG_ADMIN})))
    outbox.queue(session, kind="member.approved", tenant=org, subject="【入会審査】入会を承認しました",
                 body=f"{org.name} {org.contact_name} 様\n\n入会を承認しました。団体管理者のアカウント "
                      f"{invited.account.username} を作成しました。\n理由: {reason}\n")
    return invited


def reject(session: Session, actor: Actor, number: str, reason: str) -> Organisation:
    org = _screenable(session, actor, number, "reject")
    reason = _reason(reason)
    move = MEMBERS.move("reject", org.status, org)
    before = org.status.value
    org.status, org.decision_reason, org.decided_at = move.target, reason, utcnow()
    session.flush()
    audit.record(session, actor, "member.reject", "member", number, tenant_code=number,
                 before={"status": before}, after={"status": move.target.value, "reason": reason})
    outbox.queue(session, kind="member.rejected", tenant=org, subject="【入会審査】審査結果のお知らせ",
                 body=f"{org.name} {org.contact_name} 様\n\n誠に残念ながら、入会を承認できませんでした。\n理由: {reason}\n")
    return org


def withdraw(session: Session, actor: Actor, number: str, reason: str,
             directory: IdentityDirectory | None = None) -> Organisation:
    """The organisation leaves (its own admin, or the secretariat); its people can no longer be changed
    and, given the ``directory``, its accounts are disabled at once (one act, one audit record)."""
    authz.authorize(actor, "member.withdraw", number)
    org = get_member(session, actor, number)
    move = MEMBERS.move("withdraw", org.status, org)
    reason = _reason(reason)
    before = org.status.value
    with audit.act(session, actor, "member.withdraw", "member", number, tenant_code=number):
        if before == MemberStatus.approved.value and directory is not None:
            for account in directory.tenant_members(number):
                if account.enabled:
                    directory.set_enabled(account.id, False)
                    people_index.record_enabled(session, account.id, False)
                    audit.record(session, actor, "user.disable", "user", account.id, tenant_code=number,
                                 before={"enabled": True}, after={"full_name": account.display_name,
                                                                  "username": account.username, "enabled": False})
        org.status, org.decision_reason, org.decided_at = move.target, reason, utcnow()
        org.left_on, org.leave_reason = today_jst(), reason
        session.flush()
        audit.record(session, actor, "member.withdraw", "member", number, tenant_code=number,
                     before={"status": before}, after={"status": move.target.value, "reason": reason})
    outbox.queue(session, kind="member.withdrawn", tenant=org, subject="【会員】退会のお知らせ",
                 body=f"{org.name} {org.contact_name} 様\n\n退会の手続きを行いました。\n理由: {reason}\n")
    _notify_secretariat(session, org, kind="member.withdrawn.secretariat", subject=f"【会員】{org.name} が退会しました",
                        body=f"事務局ご担当者 様\n\n{org.name}（法人番号 {number}）が退会しました。"
                             f"\n手続きをした人: {actor.recorded_name}\n理由: {reason}\n"
                             + ("団体のアカウントはすべて無効にしました。\n" if before == MemberStatus.approved.value else ""))
    return org


def _notify_secretariat(session: Session, org: Organisation, *, kind: str, subject: str, body: str) -> None:
    """A message to the consortium's secretariat: the prefecture's contacts (the prefecture runs the
    secretariat); kept in the outbox under the organisation's number if no prefecture is registered."""
    prefecture = session.scalars(sa.select(Tenant).where(Tenant.kind == TenantKind.prefecture)
                                 .order_by(Tenant.code)).first()
    outbox.queue(session, kind=kind, tenant=prefecture, tenant_code=org.corporate_number, subject=subject, body=body)


# --- the members list: organisations and municipalities together -------------------------------

@dataclasses.dataclass(frozen=True)
class MemberRow:
    corporate_number: str
    name: str
    kind: str            # an OrganisationKind value, or "local_government"
    kind_label: tuple[str, str]
    prefecture: str
    in_prefecture: bool
    status_label: tuple[str, str]
    tenant_code: str | None = None


LOCAL_GOVERNMENT_LABEL = ("地方公共団体", "Local government")


def _tenant_row(tenant: Tenant, home: str) -> MemberRow:
    return MemberRow(corporate_number_of_local_government(tenant.code), tenant.name_ja, "local_government",
                     LOCAL_GOVERNMENT_LABEL, home, True, ("参加団体", "Tenant"), tenant.code)


def _org_row(org: Organisation) -> MemberRow:
    return MemberRow(org.corporate_number, org.name, org.kind.value, OrganisationKind(org.kind).label, org.prefecture,
                     org.in_prefecture, MemberStatus(org.status).label)


def list_members(session: Session, actor: Actor, *, search: str = "", status: str | None = None,
                 include_tenants: bool = True, page: int = 1, per_page: int = 50) -> tuple[list[MemberRow], int]:
    """One page of members (the secretariat's view: every organisation and every municipality), and the total."""
    grant = authz.authorize(actor, "member.read")
    search = (search or "").strip()
    orgs = sa.select(Organisation).where(_readable_organisations(grant))
    if not grant.all_tenants:
        include_tenants = False
    if status:
        orgs = orgs.where(Organisation.status == MemberStatus(status))
        include_tenants = False
    if search:
        like = f"%{search}%"
        orgs = orgs.where(sa.or_(Organisation.name.ilike(like), Organisation.name_kana.ilike(like),
                                 Organisation.corporate_number.like(like)))
    rows = [_org_row(org) for org in session.scalars(orgs.order_by(Organisation.corporate_number))]
    tenants = []
    if include_tenants:  # two columns of every municipality (1,741 at national size); a row only for the page's
        tenants = [tenant for tenant in session.execute(sa.select(Tenant.code, Tenant.name_ja).where(
            Tenant.status != TenantStatus.withdrawn).order_by(Tenant.code))
            if not search or search in tenant.name_ja or search in tenant.code
            or search in corporate_number_of_local_government(tenant.code)]
    start = (max(page, 1) - 1) * per_page
    shown = rows[start:start + per_page]
    if len(shown) < per_page and tenants:
        home, first = home_prefecture_name(session), max(0, start - len(rows))
        shown += [_tenant_row(tenant, home) for tenant in tenants[first:first + per_page - len(shown)]]
    return shown, len(rows) + len(tenants)


def _readable_organisations(grant: authz.Grant) -> Any:
    """The organisations a ``member.read`` grant reads: every one, or only the reader's own."""
    return sa.true() if grant.all_tenants else Organisation.corporate_number.in_(sorted(grant.tenant_codes))


def search_members(session: Session, actor: Actor, query: search_rules.Query,
                   limit: int = search_rules.LIMIT) -> search_rules.Found:
    """The member organisations the actor may read (the members list's scope) whose 法人番号 begins with
    the query's digits, or whose name holds its text or whose reading (kana) its kana; by name. The
    municipalities among the members are found as tenants (``registry.search_tenants``)."""
    grant = authz.authorize(actor, "member.read")
    said = [sa.func.lower(Organisation.name).like(search_rules.contains(query.folded), escape=search_rules.ESCAPE),
            Organisation.name_kana.like(search_rules.contains(query.kana), escape=search_rules.ESCAPE)]
    if query.digits:
        said.append(Organisation.corporate_number.like(search_rules.starts(query.digits), escape=search_rules.ESCAPE))
    where = sa.and_(_readable_organisations(grant), sa.or_(*said))
    rows, total, capped = search_rules.counted(session, [Organisation.corporate_number, Organisation.name], where,
                                               lambda row: (row[1], row[0]), limit)
    return search_rules.Found([search_rules.Hit(number, name, number, number) for number, name in rows], total, capped)


def member_directory(session: Session, actor: Actor, *, industry: str | None = None) -> list[Organisation]:
    """The members' directory (issue 58 item 2): the approved members that wrote a public profile (what the member
    agreed to publish to the other members, kept by its own admin), by reading; the page shows the name, kind,
    prefecture, industry and that profile, never the contact person. Signed-in members' people and the desk."""
    authz.authorize(actor, "member.directory")
    query = sa.select(Organisation).where(Organisation.status == MemberStatus.approved, Organisation.public_profile != "")
    if industry:
        query = query.where(Organisation.industry == industry)
    return list(session.scalars(query.order_by(Organisation.name_kana, Organisation.name, Organisation.corporate_number)))


EXPORT_HEADER = ("法人番号", "名称", "種別", "都道府県", "県内", "状態", "団体コード")


def export_rows(session: Session, actor: Actor, search: str = "", status: str | None = None) -> list[list[Any]]:
    """Every member matching the filters, as spreadsheet rows (header first); the caller neutralises cells."""
    rows, _ = list_members(session, actor, search=search, status=status, page=1, per_page=1_000_000)
    audit.record(session, actor, "member.export", "member", "*", after={"rows": len(rows), "search": search})
    return [list(EXPORT_HEADER)] + [[r.corporate_number, r.name, r.kind_label[0], r.prefecture,
                                     "○" if r.in_prefecture else "", r.status_label[0], r.tenant_code or ""]
                                    for r in rows]


# --- project groups (提案グループ) -----------------------------------------------------------------

class GroupRulesBroken(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The project group breaks the programme's rules; it was not formed. "
                         + " ".join(p["message_en"] for p in problems),
                         "提案グループの要件を満たしていないため、結成できません。" + " ".join(p["message_ja"] for p in problems),
                         problems=problems)


def _resolve_member(session: Session, number: str) -> MemberRow | None:
    """An approved organisation or an active municipality, by corporate number."""
    if number[1:7] == LOCAL_GOVERNMENT_BASE_PREFIX:
        tenant = session.scalars(sa.select(Tenant).where(Tenant.code == number[7:])
                                 .options(sa.orm.lazyload(Tenant.contacts))).one_or_none()
        if tenant is None or tenant.status == TenantStatus.withdrawn or corporate_number_of_local_government(tenant.code) != number:
            return None
        return _tenant_row(tenant, home_prefecture_name(session))
    org = _find(session, number)
    return _org_row(org) if org is not None and org.status == MemberStatus.approved else None


def group_candidates(session: Session, actor: Actor, search: str = "", *, chosen: Iterable[str] = (),
                     limit: int = 50) -> tuple[list[MemberRow], int]:
    """The members a project group may be made of (approved organisations and participating
    municipalities, as :func:`group_problems` counts them), for the picker: those matching ``search``
    (name, reading, corporate number or tenant code), at most ``limit``, after the ``chosen`` ones
    (always shown, so a search never hides a choice made); and how many match."""
    authz.authorize(actor, "project.manage")
    search = (search or "").strip()
    orgs = sa.select(Organisation).where(Organisation.status == MemberStatus.approved)
    if search:
        like = f"%{search}%"
        orgs = orgs.where(sa.or_(Organisation.name.ilike(like), Organisation.name_kana.ilike(like),
                                 Organisation.corporate_number.like(like)))
    rows = [_org_row(org) for org in session.scalars(orgs.order_by(Organisation.name_kana, Organisation.corporate_number))]
    # the municipalities as three columns, and a row made only for those the picker shows (1,741 at national size)
    tenants = session.execute(sa.select(Tenant.code, Tenant.name_ja, Tenant.name_kana).where(
        Tenant.status != TenantStatus.withdrawn).order_by(Tenant.code)).all()
    matching = [tenant for tenant in tenants if not search or any(
        search in text for text in (tenant.name_ja, tenant.name_kana or "", tenant.code,
                                    corporate_number_of_local_government(tenant.code)))]
    total = len(rows) + len(matching)
    chosen = list(dict.fromkeys(n.strip() for n in chosen if n and n.strip()))
    picked = [row for number in chosen if (row := _resolve_member(session, number)) is not None]
    taken = {row.corporate_number for row in picked}
    home = home_prefecture_name(session)
    rows += [_tenant_row(tenant, home) for tenant in matching[:max(0, limit + len(taken) - len(rows))]]
    return picked + [row for row in rows if row.corporate_number not in taken][:limit], total


def member_names(session: Session, actor: Actor, numbers: Iterable[str]) -> dict[str, str]:
    """corporate number → name of the given members (organisations whatever their status, and
    municipalities), for pages that list a group's members by name (``project.read``)."""
    authz.authorize(actor, "project.read")
    numbers = set(numbers)
    names = dict(session.execute(sa.select(Organisation.corporate_number, Organisation.name)
                                 .where(Organisation.corporate_number.in_(sorted(numbers)))).all())
    codes = {number[7:]: number for number in numbers - set(names) if number[1:7] == LOCAL_GOVERNMENT_BASE_PREFIX}
    for code, name in session.execute(sa.select(Tenant.code, Tenant.name_ja).where(Tenant.code.in_(sorted(codes)))):
        if corporate_number_of_local_government(code) == codes[code]:
            names[codes[code]] = name
    return names


def affiliations(session: Session, tenant_codes: Iterable[str]) -> list[tuple[str, str]]:
    """The member organisations a person's account is tied to (their ``/tenants/<code>`` groups), as
    (corporate number, name), by corporate number: a municipality's code as its corporate number (熊本市
    431001 → 9000020431001), an organisation's corporate number as it is; a code naming no member is left
    out. What a reviewer of the competition is recorded with, and what their conflicts are found by."""
    codes = set(tenant_codes)
    found: dict[str, str] = {}
    numbers = sorted(c for c in codes if len(c) == 13 and c.isdigit())
    for number, name in session.execute(sa.select(Organisation.corporate_number, Organisation.name)
                                        .where(Organisation.corporate_number.in_(numbers))):
        found[number] = name
    municipalities = sorted(c for c in codes if len(c) == 6 and c.isdigit())
    for code, name in session.execute(sa.select(Tenant.code, Tenant.name_ja).where(Tenant.code.in_(municipalities))):
        found[corporate_number_of_local_government(code)] = name
    return sorted(found.items())


def group_problems(session: Session, name: str, representative: str, members: Iterable[str],
                   group_id: int | None = None) -> list[dict[str, str]]:
    """Why a group of these members cannot be formed (or ``group_id`` become it), in words (empty: it can)."""
    found = []
    numbers = list(dict.fromkeys(m.strip() for m in members if m and m.strip()))
    if not (name or "").strip():
        found.append(problem("name", "Name the group.", "グループ名を入力してください。"))
    elif session.scalar(sa.select(ProjectGroup.id).where(ProjectGroup.name == name.strip(),
                                                         ProjectGroup.id != (group_id or 0))) is not None:
        found.append(problem("name", f"A group named {name} already exists.", f"グループ名「{name}」はすでに使われています。"))
    resolved = {}
    for number in numbers:
        why = corporate_number_problem(number)
        if why:
            found.append(problem("members", *why))
            continue
        row = _resolve_member(session, number)
        if row is None:
            found.append(problem("members", f"{number} is not a member (approved organisation or municipality).",
                                 f"法人番号 {number} は会員（承認済みの団体または参加市町村）ではありません。"))
        else:
            resolved[number] = row
    if len(numbers) < 2:
        found.append(problem("members", "A project group needs two or more members.",
                             "提案グループは2者以上の会員で構成してください。"))
    if resolved and not any(row.in_prefecture for row in resolved.values()):
        found.append(problem("members", "At least one member must have a base (head office, branch or office) in the "
                             "prefecture.", "構成員のうち少なくとも1者は県内に本社・支社などの活動拠点を持つ会員である必要があります。"))
    if not representative:
        found.append(problem("representative", "Choose the representative member.", "代表者となる会員を選んでください。"))
    elif representative not in numbers:
        found.append(problem("representative", "The representative must be one of the group's members.",
                             "代表者はグループの構成員から選んでください。"))
    return found


def form_group(session: Session, actor: Actor, name: str, representative: str, members: Iterable[str]) -> ProjectGroup:
    authz.authorize(actor, "project.manage")
    members = list(dict.fromkeys(m.strip() for m in members if m and m.strip()))
    representative = (representative or "").strip()
    problems = group_problems(session, name, representative, members)
    if problems:
        raise GroupRulesBroken(problems)
    group = ProjectGroup(name=name.strip(), representative=representative)
    session.add(group)
    session.flush()
    for number in members:
        session.add(ProjectGroupMember(group_id=group.id, corporate_number=number))
    session.flush()
    audit.record(session, actor, "project.form", "project_group", str(group.id),
                 after={"name": group.name, "representative": representative, "members": members})
    return group


def list_groups(session: Session, actor: Actor) -> list[tuple[ProjectGroup, list[str]]]:
    authz.authorize(actor, "project.read")
    groups = list(session.scalars(sa.select(ProjectGroup).order_by(ProjectGroup.id)))
    members: dict[int, list[str]] = {}
    for m in session.scalars(sa.select(ProjectGroupMember).order_by(ProjectGroupMember.id)):
        members.setdefault(m.group_id, []).append(m.corporate_number)
    return [(g, members.get(g.id, [])) for g in groups]


class GroupChangeRefused(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The change breaks the programme's rules; the project group was not changed. "
                         + " ".join(p["message_en"] for p in problems),
                         "提案グループの要件を満たさなくなるため、変更していません。" + " ".join(p["message_ja"] for p in problems),
                         problems=problems)


def get_group(session: Session, actor: Actor, group_id: int) -> tuple[ProjectGroup, list[str]]:
    authz.authorize(actor, "project.read")
    group = session.get(ProjectGroup, group_id)
    if group is None:
        raise NotFound(f"No project group {group_id}.", "この提案グループはありません（解散済みか、番号の誤りです）。")
    numbers = list(session.scalars(sa.select(ProjectGroupMember.corporate_number)
                                   .where(ProjectGroupMember.group_id == group_id).order_by(ProjectGroupMember.id)))
    return group, numbers


def change_group(session: Session, actor: Actor, group_id: int, name: str, representative: str,
                 members: Iterable[str]) -> ProjectGroup:
    """Rename a group, add or remove members, or change its representative; the formation rules are
    checked again on the group as it would become, and every broken one is reported in words."""
    authz.authorize(actor, "project.manage")
    group, before = get_group(session, actor, group_id)
    members = list(dict.fromkeys(m.strip() for m in members if m and m.strip()))
    representative = (representative or "").strip()
    # every member the group would keep or gain must be a member now (a withdrawn one has to be removed)
    problems = group_problems(session, name, representative, members, group_id=group.id)
    if problems:
        raise GroupChangeRefused(problems)
    old = {"name": group.name, "representative": group.representative, "members": before}
    new = {"name": name.strip(), "representative": representative, "members": members}
    if old == new:
        return group
    group.name, group.representative = new["name"], representative
    for number in set(before) - set(members):
        session.execute(sa.delete(ProjectGroupMember).where(ProjectGroupMember.group_id == group.id,
                                                            ProjectGroupMember.corporate_number == number))
    for number in members:
        if number not in before:
            session.add(ProjectGroupMember(group_id=group.id, corporate_number=number))
    session.flush()
    audit.record(session, actor, "project.change", "project_group", str(group.id), before=old,
                 after={**new, "added": [n for n in members if n not in before],
                        "removed": [n for n in before if n not in members]})
    return group


def dissolve_group(session: Session, actor: Actor, group_id: int, reason: str) -> None:
    """Dissolve a project group: it and its membership are deleted; the audit record keeps what it was."""
    authz.authorize(actor, "project.manage")
    group, numbers = get_group(session, actor, group_id)
    reason = _reason(reason)
    snapshot = {"name": group.name, "representative": group.representative, "members": numbers}
    session.execute(sa.delete(ProjectGroupMember).where(ProjectGroupMember.group_id == group.id))
    session.delete(group)
    session.flush()
    audit.record(session, actor, "project.dissolve", "project_group", str(group_id), before=snapshot,
                 after={"dissolved": True, "reason": reason})
