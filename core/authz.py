"""Authorization in one place: role × tenant scope × action.

Every domain operation that reads or changes tenant-scoped state asks :func:`authorize` itself,
so the API, the admin views and the command line apply the same rule; nothing else decides who
may do what. (Views still ask :func:`allowed` to decide which pages and buttons to show.)
A grant is either ``ALL`` (every tenant) or ``OWN`` (only the tenants the actor belongs to).
Roles not named for an action are refused. The auditor holds only read actions, so every
write is refused to them.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from core.actor import Actor
from core.errors import NotPermitted

Scope = Literal["all", "own"]

OPERATOR = "platform-operator"
MUNICIPAL_ADMIN = "municipal-admin"
MUNICIPAL_STAFF = "municipal-staff"
FINANCE = "finance-officer"
AUDITOR = "auditor"
METERING = "metering-client"

PEOPLE_ROLES = (OPERATOR, MUNICIPAL_ADMIN, MUNICIPAL_STAFF, FINANCE, AUDITOR)
TENANT_ROLES = frozenset({MUNICIPAL_ADMIN, MUNICIPAL_STAFF})
ROLE_LABELS_JA = {
    OPERATOR: "運営者（県）",
    MUNICIPAL_ADMIN: "市町村管理者",
    MUNICIPAL_STAFF: "市町村職員",
    FINANCE: "財政・会計担当",
    AUDITOR: "監査",
    METERING: "利用実績送信クライアント",
}

_READ_ALL = {OPERATOR: "all", FINANCE: "all", AUDITOR: "all"}
_READ_OWN = {MUNICIPAL_ADMIN: "own", MUNICIPAL_STAFF: "own"}

POLICY: dict[str, dict[str, Scope]] = {
    "tenant.read": {**_READ_ALL, **_READ_OWN},
    "tenant.create": {OPERATOR: "all"},
    "tenant.update": {OPERATOR: "all"},
    "tenant.transition": {OPERATOR: "all"},
    "user.read": {OPERATOR: "all", AUDITOR: "all", MUNICIPAL_ADMIN: "own"},
    "user.manage": {OPERATOR: "all", MUNICIPAL_ADMIN: "own"},
    "billing.read": {**_READ_ALL, MUNICIPAL_ADMIN: "own", MUNICIPAL_STAFF: "own"},
    "billing.manage": {FINANCE: "all"},
    "usage.read": {**_READ_ALL, **_READ_OWN},
    "usage.ingest": {METERING: "all", OPERATOR: "all"},
    "usage.purge": {OPERATOR: "all"},
    "quota.check": {METERING: "all", OPERATOR: "all", AUDITOR: "all", **_READ_OWN},
    "quota.manage": {OPERATOR: "all"},
    "governance.read": {**_READ_ALL, **_READ_OWN},
    "agreement.manage": {OPERATOR: "all"},
    "agreement.accept": {MUNICIPAL_ADMIN: "own"},
    "council.manage": {OPERATOR: "all"},
    "council.vote": {MUNICIPAL_ADMIN: "own", OPERATOR: "own"},
    "audit.read": {AUDITOR: "all", OPERATOR: "all"},
    "audit.verify": {AUDITOR: "all", OPERATOR: "all"},
    "notification.read": {OPERATOR: "all", AUDITOR: "all", MUNICIPAL_ADMIN: "own"},
    "notice.publish": {OPERATOR: "all"},
    "notice.read": {**_READ_ALL, **_READ_OWN},
}

ACTION_LABELS_JA = {
    "tenant.read": "参加団体の閲覧",
    "tenant.create": "参加団体の登録",
    "tenant.update": "参加団体の変更",
    "tenant.transition": "参加状態の変更",
    "user.read": "利用者の閲覧",
    "user.manage": "利用者の管理",
    "billing.read": "負担金の閲覧",
    "billing.manage": "負担金の計算・承認",
    "usage.read": "利用実績の閲覧",
    "usage.ingest": "利用実績の送信",
    "usage.purge": "利用実績の削除（保存期間経過分）",
    "quota.check": "利用上限の確認",
    "quota.manage": "利用上限の設定",
    "governance.read": "協定・協議会の閲覧",
    "agreement.manage": "協定の公開",
    "agreement.accept": "協定への同意",
    "council.manage": "協議会の運営",
    "council.vote": "協議会での投票",
    "audit.read": "操作ログの閲覧",
    "audit.verify": "操作ログの検証",
    "notification.read": "通知の閲覧",
    "notice.publish": "お知らせの掲載",
    "notice.read": "お知らせの閲覧",
}


@dataclasses.dataclass(frozen=True)
class Grant:
    action: str
    all_tenants: bool
    tenant_codes: frozenset[str]

    def covers(self, tenant_code: str) -> bool:
        return self.all_tenants or tenant_code in self.tenant_codes


def _refuse(actor: Actor, action: str, tenant_code: str | None) -> NotPermitted:
    label = ACTION_LABELS_JA.get(action, action)
    if tenant_code:
        return NotPermitted(
            f"You may not do {action} for tenant {tenant_code}.",
            f"団体コード {tenant_code} について「{label}」を行う権限がありません。",
            action=action,
            tenant=tenant_code,
        )
    return NotPermitted(f"You may not do {action}.", f"「{label}」を行う権限がありません。", action=action)


def grant_for(actor: Actor, action: str) -> Grant | None:
    rules = POLICY.get(action)
    if rules is None:
        raise KeyError(f"no authorization rule for action {action!r}")
    scopes = {rules[role] for role in actor.roles if role in rules}
    if not scopes or (scopes == {"own"} and not actor.tenant_codes):
        return None  # an "own tenant" grant is nothing to someone who belongs to no tenant
    return Grant(action, "all" in scopes, actor.tenant_codes)


def authorize(actor: Actor, action: str, tenant_code: str | None = None) -> Grant:
    """The actor's grant for ``action`` (on ``tenant_code`` if given), or :class:`NotPermitted`."""
    grant = grant_for(actor, action)
    if grant is None or (tenant_code is not None and not grant.covers(tenant_code)):
        raise _refuse(actor, action, tenant_code)
    return grant


def allowed(actor: Actor, action: str, tenant_code: str | None = None) -> bool:
    try:
        authorize(actor, action, tenant_code)
    except NotPermitted:
        return False
    return True


def check_grantable(actor: Actor, roles: set[str] | frozenset[str]) -> None:
    """A municipal admin may hand out only municipal roles; only the operator grants the rest."""
    unknown = set(roles) - set(PEOPLE_ROLES)
    if unknown:
        raise NotPermitted(
            f"Unknown role(s): {', '.join(sorted(unknown))}.",
            f"存在しない役割です: {', '.join(sorted(unknown))}",
        )
    if OPERATOR in actor.roles:
        return
    beyond = set(roles) - TENANT_ROLES
    if beyond:
        names = "、".join(ROLE_LABELS_JA[r] for r in sorted(beyond))
        raise NotPermitted(
            f"You may grant only municipal-admin or municipal-staff, not {', '.join(sorted(beyond))}.",
            f"付与できる役割は市町村管理者・市町村職員のみです（{names} は付与できません）。",
        )
