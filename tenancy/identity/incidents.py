"""Identity incidents for the operator: Keycloak work left half done that renkei could not undo
(written by :func:`tenancy.identity.operations.record_incident` from invitations and from the
tenant lifecycle's suspend, resume and withdraw), what to do about each, and their resolution.

Resolving one states what the operator did (a note) and is audited; a resolved incident stays on
record with who resolved it, when and how.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from tenancy.identity.models import IdentityIncident
from tenancy.registry.models import Tenant

ACTION = "identity.incident"
NOTE_MAX = 1000

# what was being done (operation) → (Japanese, English) label
OPERATION_LABELS: dict[str, tuple[str, str]] = {
    "user.invite": ("利用者の招待", "Inviting a user"),
    "tenant.suspend": ("利用停止（アカウントの無効化）", "Suspending the tenant (disabling accounts)"),
    "tenant.resume": ("利用再開（アカウントの有効化）", "Resuming the tenant (enabling accounts)"),
    "tenant.withdraw": ("脱退（団体グループからの削除）", "Withdrawal (removing accounts from the tenant)"),
}

# operation → what to do in Keycloak's admin console (Japanese, English); {username} is filled in
ADVICE: dict[str, tuple[str, str]] = {
    "user.invite": (
        "招待の途中で失敗し、作成されたアカウント「{username}」を削除できませんでした。Keycloak 管理画面の"
        "「Users」で {username} を検索し、不要なら削除してください。招待を続ける場合は、同じ内容で招待を"
        "やり直すと未完了のアカウントを引き継いで完了します。",
        "The invitation failed midway and the account {username} it created could not be deleted. Find "
        "{username} under Users in Keycloak's admin console and delete it if it is not wanted; inviting "
        "again with the same details takes the unfinished account over and completes it.",
    ),
    "tenant.suspend": (
        "利用停止が途中で失敗し、アカウント「{username}」を元の状態（有効）に戻せませんでした。団体の状態を"
        "確認し、利用中なら Keycloak 管理画面で {username} を有効（Enabled）にしてください。",
        "Suspension failed midway and the account {username} could not be enabled again. Check the "
        "tenant's status; if it is still active, enable {username} in Keycloak's admin console.",
    ),
    "tenant.resume": (
        "利用再開が途中で失敗し、アカウント「{username}」を元の状態（無効）に戻せませんでした。団体が利用停止"
        "のままなら、Keycloak 管理画面で {username} を無効（Enabled をオフ）にしてください。",
        "Resuming failed midway and the account {username} could not be disabled again. If the tenant is "
        "still suspended, disable {username} in Keycloak's admin console.",
    ),
    "tenant.withdraw": (
        "脱退処理が途中で失敗し、アカウント「{username}」を団体のグループに戻せませんでした。団体の状態を"
        "確認し、脱退していなければ Keycloak 管理画面で {username} を /tenants/{tenant_code} グループに"
        "追加してください。脱退済みなら対応は不要です。",
        "Withdrawal failed midway and the account {username} could not be put back in the tenant's group. "
        "If the tenant has not withdrawn, add {username} to /tenants/{tenant_code} in Keycloak's admin "
        "console; if it has, nothing is needed.",
    ),
}
DEFAULT_ADVICE = (
    "Keycloak 管理画面でアカウント「{username}」の状態（有効・所属グループ・役割）を確認し、renkei の利用者"
    "一覧と一致するように直してください。",
    "Check the account {username} in Keycloak's admin console (enabled, groups, roles) and make it match "
    "the tenant's users list in renkei.",
)


@dataclasses.dataclass(frozen=True)
class IncidentView:
    incident: IdentityIncident
    tenant_name: str
    operation_ja: str
    operation_en: str
    advice_ja: str
    advice_en: str


def _view(incident: IdentityIncident, tenant_name: str) -> IncidentView:
    labels = OPERATION_LABELS.get(incident.operation, (incident.operation, incident.operation))
    ja, en = ADVICE.get(incident.operation, DEFAULT_ADVICE)
    values = {"username": incident.username, "tenant_code": incident.tenant_code}
    return IncidentView(incident, tenant_name, labels[0], labels[1], ja.format(**values), en.format(**values))


def _unresolved():
    """What "unresolved" means, for the list and for every count of it (the home page's)."""
    return IdentityIncident.resolved_at.is_(None)


def count_unresolved(session: Session, actor: Actor) -> int:
    """How many incidents are unresolved: the length of :func:`list_incidents` without its limit."""
    authz.authorize(actor, ACTION)
    return int(session.scalar(sa.select(sa.func.count(IdentityIncident.id)).where(_unresolved())) or 0)


def list_incidents(session: Session, actor: Actor, *, resolved: bool = False, limit: int = 200) -> list[IncidentView]:
    """Unresolved incidents, oldest first (or the latest resolved ones, newest first), in one query."""
    authz.authorize(actor, ACTION)
    query = (sa.select(IdentityIncident, Tenant.name_ja)
             .outerjoin(Tenant, Tenant.code == IdentityIncident.tenant_code).limit(limit))
    if resolved:
        query = query.where(IdentityIncident.resolved_at.is_not(None)).order_by(IdentityIncident.resolved_at.desc())
    else:
        query = query.where(_unresolved()).order_by(IdentityIncident.id)
    return [_view(incident, name or "") for incident, name in session.execute(query)]


def incidents_between(session: Session, start: dt.datetime, end: dt.datetime) -> list[IncidentView]:
    """Every incident recorded in [start, end), resolved or not, oldest first, in one query (the annual
    report's section; a helper: the caller has authorised its act)."""
    query = (sa.select(IdentityIncident, Tenant.name_ja).outerjoin(Tenant, Tenant.code == IdentityIncident.tenant_code)
             .where(IdentityIncident.at >= start, IdentityIncident.at < end).order_by(IdentityIncident.at, IdentityIncident.id))
    return [_view(incident, name or "") for incident, name in session.execute(query)]


def get_incident(session: Session, actor: Actor, incident_id: int) -> IncidentView:
    """One incident with what to do about it (its page in the incident register)."""
    authz.authorize(actor, ACTION)
    found = session.execute(sa.select(IdentityIncident, Tenant.name_ja)
                            .outerjoin(Tenant, Tenant.code == IdentityIncident.tenant_code)
                            .where(IdentityIncident.id == incident_id)).first()
    if found is None:
        raise NotFound(f"No identity incident {incident_id}.", f"番号 {incident_id} の不整合の記録はありません。")
    return _view(found[0], found[1] or "")


def resolve(session: Session, actor: Actor, incident_id: int, note: str) -> IdentityIncident:
    """Mark an incident resolved with what the operator did; audited."""
    authz.authorize(actor, ACTION)
    note = (note or "").strip()
    if not note:
        raise Invalid("Say what was done to resolve the incident.", "対応した内容を入力してください。",
                      problems=[problem("note", "Say what was done.", "対応した内容を入力してください。")])
    if len(note) > NOTE_MAX:
        raise Invalid(f"The note is longer than {NOTE_MAX} characters.", f"対応内容は {NOTE_MAX} 文字以内にしてください。",
                      problems=[problem("note", f"At most {NOTE_MAX} characters.", f"{NOTE_MAX} 文字以内にしてください。")])
    incident = session.get(IdentityIncident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFound(f"No identity incident {incident_id}.", f"番号 {incident_id} の不整合の記録はありません。")
    if incident.resolved_at is not None:
        raise Conflict(f"Incident {incident_id} was already resolved by {incident.resolved_by}.",
                       f"番号 {incident_id} の不整合は {incident.resolved_by} さんが解消済みです。")
    incident.resolved_at = utcnow()
    incident.resolved_by = actor.recorded_name
    incident.resolution_note = note
    session.flush()
    audit.record(session, actor, "identity.incident.resolve", "identity_incident", str(incident.id),
                 tenant_code=incident.tenant_code,
                 before={"resolved": False, "username": incident.username, "step": incident.step},
                 after={"resolved": True, "note": note})
    return incident
