"""The data-utilisation community (データ利活用コミュニティ) and working groups (ワーキンググループ).

Rules:

* A group has a kind (:class:`GroupKind`), a unique name, a purpose and a target number of member
  companies (the community's default :data:`DEFAULT_COMMUNITY_TARGET`, about 20 in seed 001; a setting
  of each group the secretariat changes, audited).
* Its members are approved consortium members (:class:`tenancy.members.models.Organisation`, by
  corporate number), each once; joining and leaving are audited. A member who has withdrawn from the
  consortium no longer counts (:func:`group_members` lists the approved ones).
* A group's meetings are :class:`governance.meetings.Meeting` rows of the group's kind
  (:func:`create_group_meeting`), recorded with their attendees and minutes like every meeting.
* The secretariat (the platform operator, ``group.manage``) keeps the groups; the auditor reads them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
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
from tenancy.members.models import MemberStatus, Organisation

DEFAULT_COMMUNITY_TARGET = 20
TARGET_MAX = 10_000


class GroupKind(LabelledEnum):
    community = "community", "データ利活用コミュニティ", "Data-utilisation community"
    working_group = "working_group", "ワーキンググループ", "Working group"

MEETING_KIND = {GroupKind.community: meetings.MeetingKind.community,
                GroupKind.working_group: meetings.MeetingKind.working_group}


class Group(SQLModel, table=True):
    __tablename__ = "secretariat_group"

    id: int | None = Field(default=None, primary_key=True)
    kind: GroupKind = Field(sa_column=enum_column(GroupKind, length=16, index=True))
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    purpose: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    target_members: int = Field(default=0, ge=0)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class GroupMember(SQLModel, table=True):
    __tablename__ = "secretariat_group_member"
    __table_args__ = (sa.UniqueConstraint("group_id", "corporate_number"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="secretariat_group.id", index=True)
    corporate_number: str = Field(max_length=13, index=True)
    joined_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class AlreadyInGroup(Conflict):
    """The member is in the group already."""


@dataclasses.dataclass(frozen=True)
class GroupDraft:
    kind: str
    name: str
    purpose: str = ""
    target_members: int | None = None  # None: the kind's default (the community's 20, a working group's 0)


def group_summary(group: Group) -> dict[str, Any]:
    return {"kind": GroupKind(group.kind).value, "name": group.name, "purpose": group.purpose,
            "target_members": group.target_members}


def _target_problem(target: int | None) -> dict[str, str] | None:
    if target is not None and not 0 <= target <= TARGET_MAX:
        return problem("target_members", f"A number from 0 to {TARGET_MAX:,}.", f"0 から {TARGET_MAX:,} の数にしてください。")
    return None


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
    target = draft.target_members if draft.target_members is not None else (
        DEFAULT_COMMUNITY_TARGET if kind == GroupKind.community else 0)
    group = Group(kind=kind, name=name, purpose=purpose, target_members=target)
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


def group_members(session: Session, group_id: int) -> list[Organisation]:
    """The group's members that are approved consortium members, by name."""
    return list(session.scalars(sa.select(Organisation).join(
        GroupMember, GroupMember.corporate_number == Organisation.corporate_number).where(
        GroupMember.group_id == group_id, Organisation.status == MemberStatus.approved).order_by(Organisation.name)))


def member_counts(session: Session) -> dict[int, int]:
    """Each group's approved members (one query, for the list page)."""
    rows = session.execute(sa.select(GroupMember.group_id, sa.func.count(GroupMember.id)).join(
        Organisation, Organisation.corporate_number == GroupMember.corporate_number).where(
        Organisation.status == MemberStatus.approved).group_by(GroupMember.group_id))
    return {group_id: count for group_id, count in rows}


def candidates(session: Session, group_id: int) -> list[Organisation]:
    """Approved members not yet in the group: the add-member picker."""
    inside = sa.select(GroupMember.corporate_number).where(GroupMember.group_id == group_id)
    return list(session.scalars(sa.select(Organisation).where(
        Organisation.status == MemberStatus.approved, Organisation.corporate_number.not_in(inside)).order_by(Organisation.name)))


def add_member(session: Session, actor: Actor, group_id: int, corporate_number: str) -> GroupMember:
    authz.authorize(actor, "group.manage")
    group = get_group(session, group_id)
    corporate_number = (corporate_number or "").strip()
    org = session.scalar(sa.select(Organisation).where(Organisation.corporate_number == corporate_number))
    if org is None or MemberStatus(org.status) != MemberStatus.approved:
        raise Invalid("Only an approved consortium member joins a group.", "入会承認済みの会員だけがグループに参加できます。",
                      problems=[problem("corporate_number", "Choose an approved member.", "入会承認済みの会員を選んでください。")])
    if session.scalar(sa.select(GroupMember.id).where(GroupMember.group_id == group.id,
                                                      GroupMember.corporate_number == corporate_number)) is not None:
        raise AlreadyInGroup(f"{org.name} is in the group already.", f"{org.name} はすでにこのグループのメンバーです。")
    row = GroupMember(group_id=group.id, corporate_number=corporate_number)
    session.add(row)
    session.flush()
    audit.record(session, actor, "group.join", "group", str(group.id), after={"corporate_number": corporate_number,
                                                                             "name": org.name})
    return row


def remove_member(session: Session, actor: Actor, group_id: int, corporate_number: str) -> None:
    authz.authorize(actor, "group.manage")
    group = get_group(session, group_id)
    row = session.scalar(sa.select(GroupMember).where(GroupMember.group_id == group.id,
                                                      GroupMember.corporate_number == corporate_number))
    if row is None:
        raise NotFound(f"{corporate_number} is not in the group.", f"法人番号 {corporate_number} はこのグループのメンバーではありません。")
    session.delete(row)
    session.flush()
    audit.record(session, actor, "group.leave", "group", str(group.id), before={"corporate_number": corporate_number})


def create_group_meeting(session: Session, actor: Actor, group_id: int, draft: meetings.MeetingDraft) -> meetings.Meeting:
    """A meeting of the group (its kind follows the group's); attendees and agenda as any meeting."""
    authz.authorize(actor, "meeting.manage")
    group = get_group(session, group_id)
    draft = dataclasses.replace(draft, kind=MEETING_KIND[GroupKind(group.kind)].value)
    return meetings.create_meeting(session, actor, draft, group_id=group.id)
