"""The yearly account review (issue 57 item 6, 年度のアカウント棚卸し): each April a municipality goes through its
accounts.

The operator starts the fiscal year's review for every municipality (or a municipal admin for theirs). The review
lists each person of the tenant with their last sign-in, read from ``sign_in_event`` (Keycloak's LOGIN events kept
by :mod:`service.sign_ins`; every client, the admin's included), and flags those with none in the chosen number of
days (:data:`UNUSED_DAYS` unless chosen). For each person the municipal admin records a decision: kept, disabled
(the account disabled in Keycloak through the identity operations), or handed over (the municipal-admin role given
to a colleague of the same tenant and taken from the leaver). The admin then attests the review done; the operator's
overview shows which municipalities' reviews are done this fiscal year. Every act is audited; the changes of the
accounts themselves are the identity operations' own acts (and records).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.calendar import fiscal_year_of
from core.db import utcnow
from core.labelled import LabelledEnum
from core.errors import Conflict, Invalid, NotFound, NotPermitted, problem
from service.models import AccountReview, AccountReviewEntry, SignInEvent
from tenancy.identity import operations as identity
from tenancy.identity.keycloak import Account, IdentityDirectory
from tenancy.registry.models import Tenant, TenantStatus

UNUSED_DAYS = 90
MAX_UNUSED_DAYS = 3660


class Decision(LabelledEnum):
    """What the municipal admin decided for an account, with its words."""

    kept = "kept", "継続", "Kept"
    disabled = "disabled", "無効化", "Disabled"
    handed_over = "handed_over", "引継ぎ（管理者の役割を後任へ）", "Handed over (the admin role to a successor)"


KEPT, DISABLED, HANDED_OVER = Decision.kept, Decision.disabled, Decision.handed_over
DECISIONS = tuple(Decision)


@dataclasses.dataclass(frozen=True)
class Row:
    account: Account
    last_sign_in: dt.datetime | None  # None: no sign-in on record (未記録), never a date
    unused: bool
    entry: AccountReviewEntry | None


@dataclasses.dataclass(frozen=True)
class Standing:
    """A municipality's review of the year, for the operator's overview."""
    code: str
    name_ja: str
    review: AccountReview | None

    @property
    def done(self) -> bool:
        return self.review is not None and self.review.attested_at is not None


def unused_days(text: str | None) -> int:
    """The page's choice of days (blank: :data:`UNUSED_DAYS`), else :class:`Invalid` beside the field ``days``."""
    text = (text or "").strip()
    if not text:
        return UNUSED_DAYS
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_UNUSED_DAYS:
        raise Invalid("Days must be a whole number from 1 to 3660.", "日数は 1〜3660 の整数で入力してください。",
                      problems=[problem("days", "Enter a whole number of days from 1 to 3660.",
                                        "日数は 1〜3660 の半角数字で入力してください。")])
    return int(text)


def last_sign_ins(session: Session, user_ids: list[str]) -> dict[str, dt.datetime]:
    """Each person's newest sign-in kept in ``sign_in_event`` (people with none are absent)."""
    if not user_ids:
        return {}
    rows = session.execute(sa.select(SignInEvent.user_id, sa.func.max(SignInEvent.at))
                           .where(SignInEvent.user_id.in_(user_ids)).group_by(SignInEvent.user_id))
    return {user_id: at for user_id, at in rows if at is not None}


def is_unused(last: dt.datetime | None, days: int, now: dt.datetime) -> bool:
    """No sign-in in the last ``days`` days (none on record counts as unused)."""
    if last is None:
        return True
    if last.tzinfo is None:  # SQLite gives the stored UTC instant back naive
        last = last.replace(tzinfo=dt.timezone.utc)
    return last < now - dt.timedelta(days=days)


def find_review(session: Session, code: str, fiscal_year: int) -> AccountReview | None:
    return session.scalar(sa.select(AccountReview).where(AccountReview.tenant_code == code,
                                                         AccountReview.fiscal_year == fiscal_year))


def _review(session: Session, code: str, fiscal_year: int) -> AccountReview:
    review = find_review(session, code, fiscal_year)
    if review is None:
        raise NotFound(f"The account review of {code} for fiscal year {fiscal_year} has not been started.",
                       f"団体コード {code} の {fiscal_year} 年度のアカウント棚卸しは開始されていません。")
    return review


def _open(review: AccountReview) -> None:
    if review.attested_at is not None:
        raise Conflict("This review was already attested done; nothing was changed.",
                       "この棚卸しは完了の確認が済んでいます。変更は行っていません。")


def start_review(session: Session, actor: Actor, code: str, fiscal_year: int) -> AccountReview:
    """Start ``code``'s review of ``fiscal_year`` (already started: that one)."""
    authz.authorize(actor, "account_review.start", code)
    if session.scalar(sa.select(Tenant.code).where(Tenant.code == code)) is None:
        raise NotFound(f"No tenant {code}.", f"団体コード {code} の団体はありません。")
    found = find_review(session, code, fiscal_year)
    if found is not None:
        return found
    review = AccountReview(tenant_code=code, fiscal_year=fiscal_year, started_by=actor.recorded_name)
    session.add(review)
    session.flush()
    audit.record(session, actor, "account_review.start", "account_review", str(review.id), tenant_code=code,
                 before=None, after={"fiscal_year": fiscal_year})
    return review


def _municipalities(session: Session) -> list[tuple[str, str]]:
    return list(session.execute(sa.select(Tenant.code, Tenant.name_ja)
                                .where(Tenant.status != TenantStatus.withdrawn).order_by(Tenant.code)))


def start_for_all(session: Session, actor: Actor, fiscal_year: int) -> int:
    """The operator starts the year's review of every municipality taking part; how many were started now."""
    if not authz.authorize(actor, "account_review.start").all_tenants:
        raise NotPermitted("Only the operator starts every municipality's review.",
                           "全市町村の棚卸しを開始できるのは運営者（県）だけです。")
    started = set(session.scalars(sa.select(AccountReview.tenant_code).where(AccountReview.fiscal_year == fiscal_year)))
    new = [code for code, _ in _municipalities(session) if code not in started]
    for code in new:
        session.add(AccountReview(tenant_code=code, fiscal_year=fiscal_year, started_by=actor.recorded_name))
    session.flush()
    audit.record(session, actor, "account_review.start_all", "account_review", str(fiscal_year),
                 before=None, after={"fiscal_year": fiscal_year, "tenants": len(new)})
    return len(new)


def rows(session: Session, actor: Actor, directory: IdentityDirectory, code: str, fiscal_year: int,
         days: int = UNUSED_DAYS, now: dt.datetime | None = None) -> tuple[AccountReview | None, list[Row]]:
    """The review of the year (None: not started) and each person of the tenant, flagged when unused."""
    authz.authorize(actor, "account_review.read", code)
    now = now or utcnow()
    review = find_review(session, code, fiscal_year)
    accounts = identity.list_users(session, actor, directory, code)  # every reader of reviews reads the people
    seen = last_sign_ins(session, [a.id for a in accounts])
    entries = {} if review is None else {e.user_id: e for e in session.scalars(
        sa.select(AccountReviewEntry).where(AccountReviewEntry.review_id == review.id))}
    return review, [Row(a, seen.get(a.id), is_unused(seen.get(a.id), days, now), entries.get(a.id)) for a in accounts]


def decide(session: Session, actor: Actor, directory: IdentityDirectory, code: str, fiscal_year: int,
           user_id: str, decision: str, successor_id: str = "") -> AccountReviewEntry:
    """Record the decision for one person, and carry it out through the identity operations: disable the
    account, or give the municipal-admin role to ``successor_id`` (a colleague of the tenant) and take it
    from the person."""
    authz.authorize(actor, "account_review.attest", code)
    review = _review(session, code, fiscal_year)
    _open(review)
    if decision not in DECISIONS:
        raise Invalid("Choose kept, disabled or handed over.", "継続・無効化・引継ぎのいずれかを選んでください。",
                      problems=[problem("decision", "Choose a decision from the list.", "判断を一覧から選んでください。")])
    members = {a.id: a for a in identity.list_users(session, actor, directory, code)}
    account = members.get(user_id)
    if account is None:
        raise NotFound(f"No user {user_id} in tenant {code}.", f"団体コード {code} にこの利用者はいません。")
    entry = session.scalar(sa.select(AccountReviewEntry).where(AccountReviewEntry.review_id == review.id,
                                                               AccountReviewEntry.user_id == user_id))
    before = None if entry is None else {"decision": entry.decision, "successor_id": entry.successor_id}
    successor = None
    if decision == HANDED_OVER:
        successor = members.get(successor_id)
        if authz.MUNICIPAL_ADMIN not in account.roles:
            raise Invalid(f"{account.username} is not a municipal admin: there is no role to hand over.",
                          f"{account.username} さんは市町村管理者ではないため、引き継ぐ役割がありません。",
                          problems=[problem("decision", "Only a municipal admin's role is handed over.",
                                            "引継ぎは市町村管理者の役割を持つ人にだけ選べます。")])
        if successor is None or successor.id == user_id or not successor.enabled:
            raise Invalid("Choose an enabled colleague of the same organisation to take over.",
                          "引継ぎ先として、同じ団体の有効な職員を選んでください。",
                          problems=[problem("successor_id", "Choose an enabled colleague of the same organisation.",
                                            "同じ団体の有効な職員を選んでください。")])
        identity.change_role(session, actor, directory, code, successor.id, authz.MUNICIPAL_ADMIN, add=True)
        identity.change_roles(session, actor, directory, code, user_id,
                              frozenset(account.roles - {authz.MUNICIPAL_ADMIN}) or frozenset({authz.MUNICIPAL_STAFF}))
    elif decision == DISABLED:
        identity.set_user_enabled(session, actor, directory, code, user_id, False)
    last = last_sign_ins(session, [user_id]).get(user_id)
    if entry is None:
        entry = AccountReviewEntry(review_id=review.id, user_id=user_id)
        session.add(entry)
    entry.username, entry.decision, entry.last_sign_in = account.username, decision, last
    entry.successor_id = successor.id if successor else ""
    entry.decided_at, entry.decided_by = utcnow(), actor.recorded_name
    session.flush()
    audit.record(session, actor, "account_review.decide", "user", user_id, tenant_code=code, before=before,
                 after={"fiscal_year": fiscal_year, "username": account.username, "decision": decision,
                        **({"successor": successor.username} if successor else {})})
    return entry


def attest(session: Session, actor: Actor, directory: IdentityDirectory, code: str, fiscal_year: int,
           days: int = UNUSED_DAYS, now: dt.datetime | None = None) -> AccountReview:
    """The municipal admin attests the review done: every account unused for ``days`` days has a decision."""
    authz.authorize(actor, "account_review.attest", code)
    review = _review(session, code, fiscal_year)
    _open(review)
    _, listed = rows(session, actor, directory, code, fiscal_year, days, now)
    waiting = [row.account.username for row in listed if row.unused and row.entry is None and row.account.enabled]
    if waiting:
        names = "、".join(waiting)
        raise Conflict(f"Decide first for the unused accounts: {', '.join(waiting)}. The review is not done yet.",
                       f"使われていないアカウントの判断が済んでいません（{names}）。先に判断を記録してください。")
    review.attested_at, review.attested_by = now or utcnow(), actor.recorded_name
    session.flush()
    audit.record(session, actor, "account_review.attest", "account_review", str(review.id), tenant_code=code,
                 before={"attested": False}, after={"attested": True, "fiscal_year": fiscal_year, "unused_days": days})
    return review


def overview(session: Session, actor: Actor, fiscal_year: int) -> list[Standing]:
    """Each municipality taking part and its review of ``fiscal_year`` (the operator's and the auditor's page)."""
    grant = authz.authorize(actor, "account_review.read")
    reviews = {r.tenant_code: r for r in session.scalars(
        sa.select(AccountReview).where(AccountReview.fiscal_year == fiscal_year))}
    return [Standing(code, name, reviews.get(code)) for code, name in _municipalities(session) if grant.covers(code)]


def current_fiscal_year(now: dt.datetime | None = None) -> int:
    return fiscal_year_of(now or utcnow())
