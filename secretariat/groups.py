"""The data-utilisation community (データ利活用コミュニティ) and working groups (ワーキンググループ).

Rules:

* A group has a kind (:class:`GroupKind`), a unique name, a purpose and a target number of member
  companies (the community's default :data:`DEFAULT_COMMUNITY_TARGET`, about 20 in seed 001; a setting
  of each group the secretariat changes, audited).
* Its members (:class:`GroupMember`) are of a kind (:class:`MemberKind`): an approved consortium member
  (:class:`tenancy.members.models.Organisation`, by corporate number), a municipality's staff member or the
  prefecture's (a person of that tenant, by tenant code and name, and Keycloak's user id when known, as meetings
  and the people index name a tenant's person), or an adviser (a name and an affiliation). Each is in a group once:
  the database refuses a second row of the same :func:`member_key` (the corporate number; the user id, else the
  tenant and the name; the adviser's name and affiliation). Joining and leaving are audited with the member.
  A member organisation that has withdrawn from the consortium no longer counts (:func:`group_members` lists the
  approved ones; :func:`memberships` every member of every kind).
* A working group may be a sub-body of the council (協議会の部会・ワーキンググループ, ``under_council``): it
  prepares, it does not decide. The council's electorate is its own rule (:mod:`governance.council`: the
  member tenants); being in a group gives no vote.
* A group's meetings are :class:`governance.meetings.Meeting` rows of the group's kind
  (:func:`create_group_meeting`), recorded with their attendees and minutes like every meeting.
* The secretariat (the platform operator, ``group.manage``) keeps the groups; the auditor reads them. A
  municipal admin sees the groups their own tenant's staff are in (``group.staff`` for their tenant:
  :func:`groups_of_tenant`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz
from core.actor import Actor
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import LabelledEnum
from core.validation import text_field_problem
from governance import meetings
from tenancy.identity.models import IndexedMembership
from tenancy.members.models import MemberStatus, Organisation
from tenancy.registry.models import Tenant, TenantKind

DEFAULT_COMMUNITY_TARGET = 20
TARGET_MAX = 10_000
NAME_MAX = 100
AFFILIATION_MAX = 200
USER_ID = re.compile(r"[A-Za-z0-9-]{1,64}")  # Keycloak's user id (the token's ``sub``)


class GroupKind(LabelledEnum):
    community = "community", "データ利活用コミュニティ", "Data-utilisation community"
    working_group = "working_group", "ワーキンググループ", "Working group"



class MemberKind(LabelledEnum):
    consortium_member = "consortium_member", "コンソーシアム会員", "Consortium member"
    municipal_staff = "municipal_staff", "市町村職員", "Municipal staff"
    prefecture_staff = "prefecture_staff", "県職員", "Prefecture staff"
    adviser = "adviser", "アドバイザー（有識者）", "Adviser"


PEOPLE_KINDS = frozenset({MemberKind.municipal_staff, MemberKind.prefecture_staff, MemberKind.adviser})

MEETING_KIND = {GroupKind.community: meetings.MeetingKind.community,
                GroupKind.working_group: meetings.MeetingKind.working_group}


class Group(SQLModel, table=True):
    __tablename__ = "secretariat_group"

    id: int | None = Field(default=None, primary_key=True)
    kind: GroupKind = Field(sa_column=enum_column(GroupKind, length=16, index=True))
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    purpose: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    target_members: int = Field(default=0, ge=0)
    under_council: bool = Field(default=False)  # a working group that is a sub-body of the council (部会)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class GroupMember(SQLModel, table=True):
    """One member of a group: an organisation (corporate number) or a person (tenant code, name, user id;
    an adviser's name and affiliation). ``member_key`` is who it is, unique in the group."""

    __tablename__ = "secretariat_group_member"
    __table_args__ = (sa.UniqueConstraint("group_id", "member_key"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="secretariat_group.id", index=True)
    member_kind: MemberKind = Field(default=MemberKind.consortium_member, sa_column=enum_column(MemberKind, length=24))
    corporate_number: str = Field(default="", max_length=13, index=True)
    tenant_code: str = Field(default="", max_length=6, index=True)
    user_id: str = Field(default="", max_length=64)
    name: str = Field(default="", max_length=NAME_MAX)
    affiliation: str = Field(default="", max_length=AFFILIATION_MAX)
    member_key: str = Field(max_length=320)
    joined_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class AlreadyInGroup(Conflict):
    """The member is in the group already."""


@dataclasses.dataclass(frozen=True)
class GroupDraft:
    kind: str
    name: str
    purpose: str = ""
    target_members: int | None = None  # None: the kind's default (the community's 20, a working group's 0)
    under_council: bool = False  # a working group only: a sub-body of the council


@dataclasses.dataclass(frozen=True)
class Candidate:
    """Who is to join a group: ``kind`` (a :class:`MemberKind` value) and that kind's fields."""

    kind: str
    corporate_number: str = ""  # a consortium member
    tenant_code: str = ""  # municipal or prefecture staff: their tenant
    user_id: str = ""  # staff: Keycloak's user id, when known (optional)
    name: str = ""  # staff and advisers
    affiliation: str = ""  # advisers


def group_summary(group: Group) -> dict[str, Any]:
    return {"kind": GroupKind(group.kind).value, "name": group.name, "purpose": group.purpose,
            "target_members": group.target_members, "under_council": bool(group.under_council)}


def _folded(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def member_key(kind: MemberKind, *, corporate_number: str = "", tenant_code: str = "", user_id: str = "",
               name: str = "", affiliation: str = "") -> str:
    """Who a member is, the same however their name is spaced or its width written: the one identity the
    database keeps unique in a group."""
    if kind == MemberKind.consortium_member:
        return corporate_number
    if kind == MemberKind.adviser:
        return f"adviser:{_folded(name)}@{_folded(affiliation)}"
    return f"user:{user_id}" if user_id else f"staff:{tenant_code}:{_folded(name)}"


def membership_summary(row: GroupMember) -> dict[str, Any]:
    return {"member_kind": MemberKind(row.member_kind).value, **{k: v for k, v in (
        ("corporate_number", row.corporate_number), ("tenant_code", row.tenant_code), ("user_id", row.user_id),
        ("name", row.name), ("affiliation", row.affiliation)) if v}}


def _target_problem(target: int | None) -> dict[str, str] | None:
    if target is not None and not 0 <= target <= TARGET_MAX:
        return problem("target_members", f"A number from 0 to {TARGET_MAX:,}.", f"0 から {TARGET_MAX:,} の数にしてください。")
    return None


def _council_problem() -> dict[str, str]:
    return problem("under_council", "Only a working group is a sub-body of the council.",
                   "協議会の部会にできるのはワーキンググループだけです。")


def create_group(session: Session, actor: Actor, draft: GroupDraft) -> Group:
    authz.authorize(actor, "group.manage")
    name, purpose = (draft.name or "").strip(), (draft.purpose or "").replace("\r\n", "\n").strip()
    problems = [p for p in (
        None if draft.kind in {k.value for k in GroupKind} else problem("kind", "Choose the kind.", "種類を選んでください。"),
        text_field_problem("name", name, "name", "名称", 200, required=True),
        text_field_problem("purpose", purpose, "purpose", "目的", 4000, single_line=False),
        _target_problem(draft.target_members),
    ) if p]
    if not problems and session.scalar(sa.select(Group.id).where(Group.name == name)) is not None:
        problems.append(problem("name", "A group has this name already.", "同じ名称のグループがあります。"))
    if problems:
        raise Invalid("The group cannot be created as given; nothing was saved.", "グループの内容に誤りがあります。保存していません。",
                      problems=problems)
    kind = GroupKind(draft.kind)
    if draft.under_council and kind != GroupKind.working_group:
        raise Invalid("Only a working group is a sub-body of the council.", "協議会の部会にできるのはワーキンググループだけです。",
                      problems=[_council_problem()])
    target = draft.target_members if draft.target_members is not None else (
        DEFAULT_COMMUNITY_TARGET if kind == GroupKind.community else 0)
    group = Group(kind=kind, name=name, purpose=purpose, target_members=target, under_council=bool(draft.under_council))
    session.add(group)
    session.flush()
    audit.record(session, actor, "group.create", "group", str(group.id), after=group_summary(group))
    return group


def get_group(session: Session, group_id: int) -> Group:
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound(f"No group {group_id}.", f"グループ {group_id} はありません。")
    return group


def read_group(session: Session, actor: Actor, group_id: int) -> Group:
    authz.authorize(actor, "group.read")
    return get_group(session, group_id)


def list_groups(session: Session, actor: Actor) -> list[Group]:
    authz.authorize(actor, "group.read")
    return list(session.scalars(sa.select(Group).order_by(Group.kind, Group.name)))


def set_target(session: Session, actor: Actor, group_id: int, target: int) -> Group:
    """The group's target number of member companies (the community's about 20); audited ``group.target``."""
    authz.authorize(actor, "group.manage")
    group = get_group(session, group_id)
    bad = _target_problem(target)
    if bad:
        raise Invalid("The target is out of range.", "目標の数が範囲外です。", problems=[bad])
    before = group.target_members
    group.target_members = target
    session.flush()
    audit.record(session, actor, "group.target", "group", str(group.id), before={"target_members": before},
                 after={"target_members": target})
    return group


def set_under_council(session: Session, actor: Actor, group_id: int, under_council: bool) -> Group:
    """Attach a working group to the council as its sub-body, or detach it; audited ``group.council``."""
    authz.authorize(actor, "group.manage")
    group = get_group(session, group_id)
    if under_council and GroupKind(group.kind) != GroupKind.working_group:
        raise Invalid("Only a working group is a sub-body of the council.", "協議会の部会にできるのはワーキンググループだけです。",
                      problems=[_council_problem()])
    before = bool(group.under_council)
    group.under_council = bool(under_council)
    session.flush()
    audit.record(session, actor, "group.council", "group", str(group.id), before={"under_council": before},
                 after={"under_council": bool(under_council)})
    return group


def council_bodies(session: Session, actor: Actor) -> list[Group]:
    """The working groups that are the council's sub-bodies, by name (the council's page lists them)."""
    authz.authorize(actor, "group.read")
    return list(session.scalars(sa.select(Group).where(Group.under_council.is_(True)).order_by(Group.name)))


def group_members(session: Session, group_id: int) -> list[Organisation]:
    """The group's members that are approved consortium members, by name."""
    return list(session.scalars(sa.select(Organisation).join(
        GroupMember, GroupMember.corporate_number == Organisation.corporate_number).where(
        GroupMember.group_id == group_id, GroupMember.member_kind == MemberKind.consortium_member,
        Organisation.status == MemberStatus.approved).order_by(Organisation.name)))


def memberships(session: Session, group_id: int) -> list[GroupMember]:
    """Every member of the group, of every kind, in the order of :class:`MemberKind` and then by name; a member
    organisation that has left the consortium is left out (as :func:`group_members` leaves it)."""
    approved = sa.select(Organisation.corporate_number).where(Organisation.status == MemberStatus.approved)
    rows = session.scalars(sa.select(GroupMember).where(
        GroupMember.group_id == group_id,
        sa.or_(GroupMember.member_kind != MemberKind.consortium_member, GroupMember.corporate_number.in_(approved))))
    order = {kind: index for index, kind in enumerate(MemberKind)}
    return sorted(rows, key=lambda r: (order[MemberKind(r.member_kind)], r.name, r.corporate_number, r.id))


def member_counts(session: Session) -> dict[int, int]:
    """Each group's approved member companies (one query, for the list page; the target counts companies)."""
    rows = session.execute(sa.select(GroupMember.group_id, sa.func.count(GroupMember.id)).join(
        Organisation, Organisation.corporate_number == GroupMember.corporate_number).where(
        GroupMember.member_kind == MemberKind.consortium_member,
        Organisation.status == MemberStatus.approved).group_by(GroupMember.group_id))
    return {group_id: count for group_id, count in rows}


def candidates(session: Session, group_id: int) -> list[Organisation]:
    """Approved members not yet in the group: the add-member picker."""
    inside = sa.select(GroupMember.corporate_number).where(GroupMember.group_id == group_id,
                                                           GroupMember.member_kind == MemberKind.consortium_member)
    return list(session.scalars(sa.select(Organisation).where(
        Organisation.status == MemberStatus.approved, Organisation.corporate_number.not_in(inside)).order_by(Organisation.name)))


def staff_tenants(session: Session) -> dict[MemberKind, list[Tenant]]:
    """The tenants whose staff may join: the municipalities, and the prefecture (the picker's lists)."""
    tenants = list(session.scalars(sa.select(Tenant).order_by(Tenant.code).options(sa.orm.lazyload(Tenant.contacts))))
    return {MemberKind.municipal_staff: [t for t in tenants if TenantKind(t.kind) != TenantKind.prefecture],
            MemberKind.prefecture_staff: [t for t in tenants if TenantKind(t.kind) == TenantKind.prefecture]}


@dataclasses.dataclass(frozen=True)
class StaffGroup:
    """A group some of a tenant's staff are in, with those staff only (what their municipal admin sees)."""

    group: Group
    staff: list[GroupMember]


def groups_of_tenant(session: Session, actor: Actor, tenant_code: str) -> list[StaffGroup]:
    """The groups a tenant's staff are in, each with those staff: for its municipal admin (own tenant), the
    secretariat and the auditor. The group's other members are not shown here."""
    authz.authorize(actor, "group.staff", tenant_code)
    rows = list(session.scalars(sa.select(GroupMember).where(GroupMember.tenant_code == tenant_code)
                                .order_by(GroupMember.name, GroupMember.id)))
    found = {g.id: g for g in session.scalars(sa.select(Group).where(Group.id.in_({r.group_id for r in rows})))} if rows else {}
    return [StaffGroup(group, [r for r in rows if r.group_id == group.id])
            for group in sorted(found.values(), key=lambda g: (GroupKind(g.kind).value, g.name))]


def member_names(session: Session, rows: list[GroupMember]) -> dict[int, str]:
    """Each membership's name as pages and the API show it: the organisation's for a consortium member."""
    numbers = {r.corporate_number for r in rows if r.corporate_number}
    orgs = {number: name for number, name in session.execute(sa.select(Organisation.corporate_number, Organisation.name)
                                                              .where(Organisation.corporate_number.in_(numbers)))} if numbers else {}
    return {r.id: orgs.get(r.corporate_number, r.corporate_number) if r.member_kind == MemberKind.consortium_member else r.name
            for r in rows}


def _invalid(field: str, en: str, ja: str) -> Invalid:
    return Invalid("The member cannot be added as given; nothing was saved.", "メンバーの内容に誤りがあります。追加していません。",
                   problems=[problem(field, en, ja)])


def _checked(session: Session, candidate: Candidate) -> tuple[MemberKind, GroupMember, str]:
    """The candidate as a row (not yet added) and the name its refusals and audit give; refused field by field."""
    if candidate.kind not in {k.value for k in MemberKind}:
        raise _invalid("member_kind", "Choose the kind of member.", "メンバーの種類を選んでください。")
    kind = MemberKind(candidate.kind)
    if kind == MemberKind.consortium_member:
        number = (candidate.corporate_number or "").strip()
        org = session.scalar(sa.select(Organisation).where(Organisation.corporate_number == number)) if len(number) <= 13 else None
        if org is None or MemberStatus(org.status) != MemberStatus.approved:
            raise Invalid("Only an approved consortium member joins a group.", "入会承認済みの会員だけがグループに参加できます。",
                          problems=[problem("corporate_number", "Choose an approved member.", "入会承認済みの会員を選んでください。")])
        return kind, GroupMember(member_kind=kind, corporate_number=number, member_key=number), org.name
    name = " ".join((candidate.name or "").split())
    bad = text_field_problem("name", name, "name", "氏名", NAME_MAX, required=True)
    if bad:
        raise Invalid("The member cannot be added as given; nothing was saved.", "メンバーの内容に誤りがあります。追加していません。",
                      problems=[bad])
    if kind == MemberKind.adviser:
        affiliation = " ".join((candidate.affiliation or "").split())
        bad = text_field_problem("affiliation", affiliation, "affiliation", "所属", AFFILIATION_MAX, required=True)
        if bad:
            raise Invalid("The member cannot be added as given; nothing was saved.", "メンバーの内容に誤りがあります。追加していません。",
                          problems=[bad])
        return kind, GroupMember(member_kind=kind, name=name, affiliation=affiliation,
                                 member_key=member_key(kind, name=name, affiliation=affiliation)), name
    code = (candidate.tenant_code or "").strip()
    tenant = session.scalar(sa.select(Tenant).where(Tenant.code == code)) if code.isdigit() and len(code) == 6 else None
    if tenant is None or (TenantKind(tenant.kind) == TenantKind.prefecture) != (kind == MemberKind.prefecture_staff):
        which_en, which_ja = ("the prefecture", "県") if kind == MemberKind.prefecture_staff else ("a municipality", "市町村")
        raise _invalid("tenant_code", f"Choose {which_en}.", f"{which_ja}を選んでください。")
    user_id = (candidate.user_id or "").strip()
    if user_id:
        if not USER_ID.fullmatch(user_id):
            raise _invalid("user_id", "Not a user id.", "利用者IDの形式ではありません。")
        known = session.scalar(sa.select(sa.func.count()).select_from(IndexedMembership).where(
            IndexedMembership.user_id == user_id))
        if known and session.get(IndexedMembership, (user_id, code)) is None:
            raise _invalid("user_id", f"This person does not belong to {tenant.name_ja}.", f"この利用者は{tenant.name_ja}の職員ではありません。")
    return kind, GroupMember(member_kind=kind, tenant_code=code, user_id=user_id, name=name,
                             member_key=member_key(kind, tenant_code=code, user_id=user_id, name=name)), name


def join(session: Session, actor: Actor, group_id: int, candidate: Candidate) -> GroupMember:
    """Add a member of any kind; refused when they are in the group already (the database's unique key is the
    last word); audited ``group.join`` with who joined."""
    authz.authorize(actor, "group.manage")
    group = get_group(session, group_id)
    kind, row, name = _checked(session, candidate)
    if session.scalar(sa.select(GroupMember.id).where(GroupMember.group_id == group.id,
                                                      GroupMember.member_key == row.member_key)) is not None:
        raise AlreadyInGroup(f"{name} is in the group already.", f"{name} はすでにこのグループのメンバーです。")
    row.group_id = group.id
    session.add(row)
    session.flush()
    audit.record(session, actor, "group.join", "group", str(group.id), tenant_code=row.tenant_code or None,
                 after={**membership_summary(row), "name": name})
    return row


def add_member(session: Session, actor: Actor, group_id: int, corporate_number: str) -> GroupMember:
    """Add an approved consortium member (by corporate number)."""
    return join(session, actor, group_id, Candidate(MemberKind.consortium_member.value, corporate_number=corporate_number))


def _remove(session: Session, actor: Actor, group: Group, row: GroupMember) -> None:
    before = membership_summary(row)
    session.delete(row)
    session.flush()
    audit.record(session, actor, "group.leave", "group", str(group.id), tenant_code=row.tenant_code or None, before=before)


def remove_member(session: Session, actor: Actor, group_id: int, corporate_number: str) -> None:
    """Remove a consortium member (by corporate number)."""
    authz.authorize(actor, "group.manage")
    group = get_group(session, group_id)
    row = session.scalar(sa.select(GroupMember).where(GroupMember.group_id == group.id,
                                                      GroupMember.member_kind == MemberKind.consortium_member,
                                                      GroupMember.corporate_number == corporate_number))
    if row is None:
        raise NotFound(f"{corporate_number} is not in the group.", f"法人番号 {corporate_number} はこのグループのメンバーではありません。")
    _remove(session, actor, group, row)


def remove_membership(session: Session, actor: Actor, group_id: int, membership_id: int) -> None:
    """Remove a member of any kind, by the membership's id."""
    authz.authorize(actor, "group.manage")
    group = get_group(session, group_id)
    row = session.get(GroupMember, membership_id)
    if row is None or row.group_id != group.id:
        raise NotFound(f"No member {membership_id} in the group.", f"このグループにメンバー {membership_id} はいません。")
    _remove(session, actor, group, row)


def members_as_attendees(session: Session, group_id: int) -> tuple[meetings.Attendee, ...]:
    """The group's members as a meeting's attendees (a member organisation by corporate number, staff by name and
    tenant, an adviser by name): what a group meeting's record starts from."""
    return tuple(meetings.Attendee(corporate_number=r.corporate_number) if r.member_kind == MemberKind.consortium_member
                 else meetings.Attendee(r.name, tenant_code=r.tenant_code) for r in memberships(session, group_id))


def create_group_meeting(session: Session, actor: Actor, group_id: int, draft: meetings.MeetingDraft) -> meetings.Meeting:
    """A meeting of the group (its kind follows the group's); attendees and agenda as any meeting."""
    authz.authorize(actor, "meeting.manage")
    group = get_group(session, group_id)
    draft = dataclasses.replace(draft, kind=MEETING_KIND[GroupKind(group.kind)].value)
    return meetings.create_meeting(session, actor, draft, group_id=group.id)
