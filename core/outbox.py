"""The notifications outbox: queue in the caller's transaction, deliver later, retry failures.

Queueing never talks to a mail server, so a send failure cannot block a transition or an
ingest. :func:`deliver_pending` sends what is queued through a ``sender`` callable (SMTP in
production, see admin/commands) and records failures for the next attempt.

Reading the outbox (:func:`read_notifications`) asks the authorization policy for
``notification.read``: the operator and the auditor read every tenant's messages, a municipal
admin only their own tenants' (never messages addressed to no tenant).
"""

from __future__ import annotations

from collections.abc import Callable

import datetime as dt
import functools
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import authz
from core.actor import Actor
from core.db import ON_CONFLICT_DIALECTS, conflict_insert, enum_column, timestamp_column, utcnow
from core.labelled import LabelledEnum, labels
from core.lifecycle import Lifecycle, Move

MAX_ATTEMPTS = 10

# What each kind of message is, in Japanese and English (the kinds the packages queue).
KIND_LABELS: dict[str, tuple[str, str]] = {
    "quota.threshold": ("利用上限の警告", "Quota warning"),
    "agreement.reacceptance": ("協定・規約の再同意のお願い", "Agreement re-acceptance request"),
    "notice": ("お知らせ", "Notice"),
    "tenant.admin_invited": ("市町村管理者の招待", "Municipal admin invited"),
    "tenant.applied": ("参加申請の受付", "Application received"),
    "tenant.screening": ("参加審査の開始", "Screening started"),
    "tenant.approved": ("参加の承認", "Tenant approved"),
    "tenant.provisioning": ("環境構築の開始", "Provisioning started"),
    "tenant.active": ("利用開始", "Tenant activated"),
    "tenant.suspended": ("利用停止", "Tenant suspended"),
    "tenant.withdrawn": ("脱退", "Tenant withdrawn"),
    "member.confirm_email": ("入会申請のメールアドレス確認", "Confirm the applicant's e-mail address"),
    "member.applied": ("入会申請の受付", "Membership application received"),
    "member.document": ("提出書類の受領", "Document received"),
    "member.approved": ("入会の承認", "Membership approved"),
    "member.rejected": ("入会の不承認", "Membership rejected"),
    "member.withdrawn": ("退会", "Member withdrawn"),
    "member.withdrawn.secretariat": ("会員の退会（事務局あて）", "Member withdrawn (to the secretariat)"),
    "inquiry.received": ("問合せの受付", "Inquiry received"),
    "inquiry.reply": ("問合せへの回答", "Inquiry reply"),
    "event.registered": ("イベントの参加登録", "Event registration"),
    "event.waitlisted": ("イベントのキャンセル待ち", "Event waiting list"),
    "event.promoted": ("イベントのキャンセル待ちからの繰り上げ", "Moved up from an event's waiting list"),
    "event.reminder": ("イベントの開催案内", "Event reminder"),
    "mailing.advertising": ("会員へのご案内（配信停止できるもの）", "Announcement to members (may opt out)"),
    "mailing.service": ("会員への事務連絡（配信停止の対象外）", "Service notice to members (not advertising)"),
    "resident.link_split": ("住民とサービスのIDの誤った連携の解除", "A wrong link of a resident was split"),
    "resident.merged": ("住民の共通IDの統合", "A resident's common IDs were merged"),
}


class NotificationStatus(LabelledEnum):
    queued = "queued", "送信待ち", "Queued"
    sent = "sent", "送信済み", "Sent"
    failed = "failed", "送信失敗", "Failed"  # retried until MAX_ATTEMPTS


# A message is queued, then each delivery attempt sends it or fails (and a failed one is tried
# again, up to MAX_ATTEMPTS); a sent message never moves again.
DELIVERY = Lifecycle("通知", "notification", NotificationStatus, labels(NotificationStatus), (
    Move("send", frozenset({NotificationStatus.queued, NotificationStatus.failed}), NotificationStatus.sent,
         "送信", "send"),
    Move("fail", frozenset({NotificationStatus.queued, NotificationStatus.failed}), NotificationStatus.failed,
         "送信失敗", "fail"),
), initial=(NotificationStatus.queued,))


class Notification(SQLModel, table=True):
    """The notifications outbox: messages to a tenant's contacts, stored first and sent later.

    A send failure never blocks the act that queued the message; delivery is retried.
    ``dedupe_key`` makes queueing idempotent (one alert per threshold per period).
    """

    __tablename__ = "notification"

    id: int | None = Field(default=None, primary_key=True)
    tenant_code: str | None = Field(default=None, max_length=13, index=True)  # or a member's corporate number
    kind: str = Field(max_length=64, index=True)
    recipients: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    subject: str = Field(max_length=255)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    dedupe_key: str | None = Field(default=None, max_length=255, sa_column_kwargs={"unique": True})
    status: NotificationStatus = Field(default=NotificationStatus.queued,
                                       sa_column=enum_column(NotificationStatus, length=16, checked=True, index=True))
    attempts: int = Field(default=0)
    last_error: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    sent_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


def recipients_of(tenant: Any | None) -> str:
    if tenant is None:
        return ""
    return ", ".join(contact.email for contact in tenant.contacts if contact.email)


def queue(session: Session, *, kind: str, subject: str, body: str, tenant: Any | None = None,
          tenant_code: str | None = None, dedupe_key: str | None = None,
          recipients: str | None = None) -> Notification | None:
    """Store one message (Japanese text) for the tenant's contacts (or for ``recipients``, addresses
    separated by commas, where a setting names them); None if ``dedupe_key`` was queued before.

    One statement: an INSERT that the unique ``dedupe_key`` turns into nothing when the message
    was queued before (also by a concurrent transaction, which then waits for the other to end)."""
    message = Notification(
        tenant_code=tenant.code if tenant is not None else tenant_code, kind=kind,
        recipients=recipients_of(tenant) if recipients is None else recipients, subject=subject, body=body, dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        session.add(message)
        session.flush()
        return message
    session.flush()  # the caller's own changes first, as before
    dialect = session.get_bind().dialect.name
    if dialect not in ON_CONFLICT_DIALECTS:
        if session.scalar(sa.select(Notification.id).where(Notification.dedupe_key == dedupe_key)) is not None:
            return None
        session.add(message)
        session.flush()
        return message
    table = Notification.__table__
    values = {column.name: getattr(message, column.name) for column in table.columns if column.name != "id"}
    message.id = session.execute(_upsert(dialect), values).scalar_one_or_none()
    if message.id is None:
        return None
    sa.orm.make_transient_to_detached(message)  # the row as written: a persistent object, no query
    session.add(message)
    return message


@functools.cache
def _upsert(dialect: str):
    """The INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id of ``dialect``, built once
    (the values are its parameters), so each message is one execution of a statement compiled once."""
    table = Notification.__table__
    return conflict_insert(dialect, table).on_conflict_do_nothing(index_elements=[table.c.dedupe_key]).returning(table.c.id)


def read_notifications(session: Session, actor: Actor, *, tenant_code: str | None = None, status: str | None = None,
                       limit: int = 100) -> list[Notification]:
    """Queued, sent and failed messages, newest first: of one tenant, or of every tenant the actor may read."""
    grant = authz.authorize(actor, "notification.read", tenant_code)
    query = sa.select(Notification).order_by(Notification.id.desc()).limit(limit)
    if tenant_code is not None:
        query = query.where(Notification.tenant_code == tenant_code)
    elif not grant.all_tenants:
        query = query.where(Notification.tenant_code.in_(sorted(grant.tenant_codes)))
    if status is not None:
        query = query.where(Notification.status == status)
    return list(session.scalars(query))


def deliver_pending(session: Session, sender: Callable[[Notification], None], limit: int = 100) -> tuple[int, int]:
    """Try to send queued and failed messages; returns (sent, failed). The caller commits."""
    pending = session.scalars(
        sa.select(Notification)
        .where(Notification.status.in_([status for status in NotificationStatus if DELIVERY.allows("send", status)]),
               Notification.attempts < MAX_ATTEMPTS)
        .order_by(Notification.id).limit(limit)
        # another deliverer (an overlapping cron run) skips the rows this one holds until it commits
        .with_for_update(skip_locked=True)
    ).all()
    sent = failed = 0
    for message in pending:
        message.attempts += 1
        if not message.recipients:
            message.status = DELIVERY.move("fail", message.status).target
            message.last_error = "no contact e-mail address registered"
            failed += 1
            continue
        try:
            sender(message)
        except Exception as error:  # noqa: BLE001  (any transport error: keep the message for a retry)
            message.status = DELIVERY.move("fail", message.status).target
            message.last_error = f"{type(error).__name__}: {error}"
            failed += 1
        else:
            message.status = DELIVERY.move("send", message.status).target
            message.sent_at, message.last_error = utcnow(), ""
            sent += 1
    session.flush()
    return sent, failed
