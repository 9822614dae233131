"""Notices (お知らせ): the operator's messages to all or some municipalities, and to the member
organisations (企業・大学・団体).

Rules:

* The operator (``notice.publish``) writes a title and a body and addresses them either to every
  active municipality (the prefecture itself is the sender, not an addressee) or to the
  municipalities ticked. The addressees are fixed when the notice is published (one
  :class:`~governance.models.NoticeTenant` row each), so a municipality that joins later does not
  receive an older notice.
* Publishing shows the notice on each addressed municipality's home page (:func:`notices_for`)
  and queues one e-mail per addressed tenant in the outbox, in the same transaction; one audit
  record ``notice.publish``.
* With ``to_members`` the notice also goes to every approved member organisation at the time
  (one :class:`~governance.models.NoticeMember` row and one e-mail each); it shows on their
  people's home pages. A notice may go to the members alone (``chosen`` with no municipality).
* Everyone who reads governance reads the notices of their own tenants (``notice.read``); those
  with an all-tenant grant (operator, finance, auditor) read every notice. A notice is current
  until the end of its ``show_until`` day (Japan time), or for good when it has none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, lazyload

from core import audit, authz, outbox
from core.actor import Actor
from core.calendar import today_jst
from core.db import utcnow
from core.errors import Invalid, problem
from governance.models import Notice, NoticeAudience, NoticeMember, NoticeTenant
from tenancy.members.models import MemberStatus, Organisation
from tenancy.registry.models import Tenant, TenantKind, TenantStatus

NOTICE_KIND = "notice"
TITLE_MAX = 200
BODY_MAX = 20_000


@dataclasses.dataclass(frozen=True)
class NoticeDraft:
    """What the operator writes: ``tenant_codes`` only for the audience ``chosen``."""

    title: str
    body: str
    audience: NoticeAudience = NoticeAudience.all_active
    tenant_codes: Sequence[str] = ()
    show_until: dt.date | None = None
    to_members: bool = False  # also every approved member organisation


@dataclasses.dataclass(frozen=True)
class PublishedNotice:
    """A notice with the tenants it was addressed to (code and Japanese name)."""

    notice: Notice
    addressees: tuple[tuple[str, str], ...]


def _municipalities(session: Session):
    return sa.select(Tenant).where(Tenant.kind != TenantKind.prefecture)


def addressable(session: Session, actor: Actor) -> list[Tenant]:
    """The municipalities a notice may be addressed to (active ones), by code: the operator's checkboxes."""
    authz.authorize(actor, "notice.publish")
    # without their contacts (the tenant's selectin load: a second query over every municipality, unused here)
    return list(session.scalars(_municipalities(session).where(Tenant.status == TenantStatus.active).order_by(
        Tenant.code).options(lazyload(Tenant.contacts))))


def notice_summary(notice: Notice, codes: Sequence[str], members: Sequence[str] = ()) -> dict:
    summary = {"id": notice.id, "title": notice.title, "audience": NoticeAudience(notice.audience).value,
               "show_until": notice.show_until.isoformat() if notice.show_until else None, "tenants": list(codes)}
    if notice.to_members:
        summary["members"] = list(members)
    return summary


def approved_members(session: Session) -> list[Organisation]:
    """The member organisations a notice ``to_members`` goes to: the approved ones, by corporate number."""
    return list(session.scalars(sa.select(Organisation).where(Organisation.status == MemberStatus.approved)
                                .order_by(Organisation.corporate_number)))


def publish_notice(session: Session, actor: Actor, draft: NoticeDraft, *, now: dt.datetime | None = None,
                   step_of: str | None = None) -> Notice:
    """Publish a notice: addressed tenants fixed, one e-mail queued per tenant, audited ``notice.publish``.

    ``step_of`` names the action of the act the notice is a step of (planned maintenance announced by the
    platform vendor, ``service.manage``): the actor needs that action, not ``notice.publish``, which would let
    them publish any notice."""
    authz.authorize(actor, step_of or "notice.publish")
    now = now or utcnow()
    title, body = (draft.title or "").strip(), (draft.body or "").strip()
    audience = NoticeAudience(draft.audience)
    problems = []
    if not title:
        problems.append(problem("title", "Give the notice a title.", "件名を入力してください。"))
    elif len(title) > TITLE_MAX:
        problems.append(problem("title", f"At most {TITLE_MAX} characters.", f"{TITLE_MAX} 文字以内にしてください。"))
    if not body:
        problems.append(problem("body", "Write the notice.", "本文を入力してください。"))
    elif len(body) > BODY_MAX:
        problems.append(problem("body", f"At most {BODY_MAX:,} characters.", f"{BODY_MAX:,} 文字以内にしてください。"))
    if draft.show_until is not None and draft.show_until < today_jst(now):
        problems.append(problem("show_until", "The last day shown cannot be in the past.",
                                "掲載終了日は今日以降の日付にしてください。"))
    active = _municipalities(session).where(Tenant.status == TenantStatus.active)
    if audience == NoticeAudience.all_active:
        tenants = list(session.scalars(active.order_by(Tenant.code)))
        if not tenants:
            problems.append(problem("audience", "No municipality is active yet.", "利用中の市町村がありません。"))
    else:
        codes = sorted(set(draft.tenant_codes))
        tenants = list(session.scalars(active.where(Tenant.code.in_(codes)).order_by(Tenant.code))) if codes else []
        unknown = sorted(set(codes) - {t.code for t in tenants})
        if not codes and not draft.to_members:
            problems.append(problem("tenant_codes", "Choose at least one municipality, or send to the member organisations.",
                                    "市町村を1つ以上選ぶか、会員団体に送るを選んでください。"))
        elif unknown:
            problems.append(problem("tenant_codes", f"Not active municipalities: {', '.join(unknown)}.",
                                    f"利用中の市町村ではありません: {'、'.join(unknown)}"))
    organisations = approved_members(session) if draft.to_members else []
    if draft.to_members and not organisations:
        problems.append(problem("to_members", "No member organisation is approved yet.", "入会が承認された会員団体がありません。"))
    if problems:
        raise Invalid("The notice cannot be published as written; nothing was sent.",
                      "お知らせの内容に誤りがあります。掲載・送信していません。", problems=problems)
    notice = send_notice(session, actor, title=title, body=body, tenants=tenants, organisations=organisations, now=now,
                         audience=audience, show_until=draft.show_until, to_members=bool(draft.to_members))
    audit.record(session, actor, "notice.publish", "notice", str(notice.id),
                 after=notice_summary(notice, [t.code for t in tenants], [o.corporate_number for o in organisations]))
    return notice


def send_notice(session: Session, actor: Actor, *, title: str, body: str, tenants: Sequence[Tenant],
                organisations: Sequence[Organisation], now: dt.datetime, audience: NoticeAudience = NoticeAudience.chosen,
                show_until: dt.date | None = None, to_members: bool = False, kind: str = NOTICE_KIND) -> Notice:
    """Store a notice addressed to exactly ``tenants`` and ``organisations`` (rows fixed now) and queue one
    e-mail each in the outbox; the caller checked the text and audits its act (notices, published minutes)."""
    notice = Notice(title=title, body=body, audience=audience, show_until=show_until, published_at=now,
                    published_by=actor.recorded_name, to_members=to_members)
    session.add(notice)
    session.flush()

    def mail(recipient: Any, name: str, key: str) -> None:  # the notice's e-mail, one per recipient
        outbox.queue(session, kind=kind, tenant=recipient, subject=f"【お知らせ】{title}",
                     body=f"{name} ご担当者様\n\n{body}\n\nこのお知らせは管理画面のホーム画面にも掲載しています。\n",
                     dedupe_key=f"notice:{notice.id}:{key}")

    for tenant in tenants:
        session.add(NoticeTenant(notice_id=notice.id, tenant_code=tenant.code))
        mail(tenant, tenant.name_ja, tenant.code)
    for org in organisations:
        session.add(NoticeMember(notice_id=notice.id, corporate_number=org.corporate_number))
        mail(org, org.name, org.corporate_number)
    session.flush()
    return notice


def _current(query, now: dt.datetime | None):
    today = today_jst(now or utcnow())
    return query.where(sa.or_(Notice.show_until.is_(None), Notice.show_until >= today))


def notices_for(session: Session, actor: Actor, *, now: dt.datetime | None = None, limit: int = 20) -> list[Notice]:
    """The current notices addressed to the actor's tenants, newest first (for the home page).

    Someone with an all-tenant grant (operator, finance, auditor) reads every current notice.
    """
    query = _addressed(actor, sa.select(Notice), now)
    return list(session.scalars(query.order_by(Notice.published_at.desc(), Notice.id.desc()).limit(limit)))


def count_for(session: Session, actor: Actor, *, now: dt.datetime | None = None) -> int:
    """How many notices :func:`notices_for` has without its limit (the home page's figure, and the
    notices page's count of those being shown)."""
    return int(session.scalar(_addressed(actor, sa.select(sa.func.count(Notice.id)), now)) or 0)


def _addressed(actor: Actor, query, now: dt.datetime | None):
    """``query`` of the current notices addressed to the actor's tenants (every one for an all-tenant grant)."""
    grant = authz.authorize(actor, "notice.read")
    query = _current(query, now)
    if not grant.all_tenants:
        codes = sorted(grant.tenant_codes)
        addressed = sa.union(sa.select(NoticeTenant.notice_id).where(NoticeTenant.tenant_code.in_(codes)),
                             sa.select(NoticeMember.notice_id).where(NoticeMember.corporate_number.in_(codes)))
        query = query.where(Notice.id.in_(addressed))
    return query


def list_notices(session: Session, actor: Actor, *, limit: int = 100) -> list[PublishedNotice]:
    """Every notice (current or not), newest first, with its addressees: the operator's record of what was sent."""
    authz.authorize(actor, "notice.publish")
    notices = list(session.scalars(sa.select(Notice).order_by(Notice.published_at.desc(), Notice.id.desc()).limit(limit)))
    if not notices:
        return []
    rows = session.execute(
        sa.select(NoticeTenant.notice_id, NoticeTenant.tenant_code, Tenant.name_ja)
        .join(Tenant, Tenant.code == NoticeTenant.tenant_code, isouter=True)
        .where(NoticeTenant.notice_id.in_([n.id for n in notices])).order_by(NoticeTenant.tenant_code))
    addressees: dict[int, list[tuple[str, str]]] = {}
    for notice_id, code, name in rows:
        addressees.setdefault(notice_id, []).append((code, name or code))
    members = session.execute(
        sa.select(NoticeMember.notice_id, NoticeMember.corporate_number, Organisation.name)
        .join(Organisation, Organisation.corporate_number == NoticeMember.corporate_number, isouter=True)
        .where(NoticeMember.notice_id.in_([n.id for n in notices])).order_by(NoticeMember.corporate_number))
    for notice_id, number, name in members:
        addressees.setdefault(notice_id, []).append((number, name or number))
    return [PublishedNotice(n, tuple(addressees.get(n.id, ()))) for n in notices]
