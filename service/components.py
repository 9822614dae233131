"""The components probed: the built-in ones (always present, their addresses from renkei's
configuration) and those the operator registers by a health URL."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.errors import Conflict, Invalid, NotFound, problem
from core.validation import http_url_problem
from service.models import ServiceComponent

# key -> (Japanese name, English name); the shell knows how to probe each
BUILTINS: dict[str, tuple[str, str]] = {
    "renkei": ("管理システム（renkei）", "renkei (administration)"),
    "database": ("データベース", "Database"),
    "keycloak": ("認証基盤（Keycloak）", "Sign-in (Keycloak)"),
    "gateway": ("API ゲートウェイの認可確認", "API gateway check"),
    "ckan": ("カタログ API（CKAN）", "Catalogue API (CKAN)"),
    "dcat": ("カタログ（DCAT）", "Catalogue feed (DCAT)"),
}
TIMEOUT_MS = (100, 30_000)


def ensure_builtins(session: Session) -> None:
    """Create the built-in components' rows the first time (not an act of anyone: not audited)."""
    present = set(session.scalars(sa.select(ServiceComponent.key).where(ServiceComponent.builtin.is_(True))))
    for key, (name_ja, name_en) in BUILTINS.items():
        if key not in present:
            session.add(ServiceComponent(key=key, name_ja=name_ja, name_en=name_en, builtin=True))
    session.flush()


def all_components(session: Session, *, active_only: bool = False) -> list[ServiceComponent]:
    ensure_builtins(session)
    query = sa.select(ServiceComponent).order_by(ServiceComponent.builtin.desc(), ServiceComponent.id)
    if active_only:
        query = query.where(ServiceComponent.active.is_(True))
    return list(session.scalars(query))


def by_key(session: Session, key: str) -> ServiceComponent:
    ensure_builtins(session)
    component = session.scalar(sa.select(ServiceComponent).where(ServiceComponent.key == key))
    if component is None:
        raise NotFound(f"No component {key}.", f"監視対象 {key} はありません。")
    return component


def summary(component: ServiceComponent) -> dict:
    return {"key": component.key, "name_ja": component.name_ja, "name_en": component.name_en, "url": component.url,
            "expected_status": component.expected_status, "timeout_ms": component.timeout_ms, "active": component.active}


@dataclasses.dataclass(frozen=True)
class ComponentDraft:
    name_ja: str
    url: str
    name_en: str = ""
    expected_status: int = 200
    timeout_ms: int = 5000


def _problems(session: Session, draft: ComponentDraft) -> list[dict]:
    problems = []
    if not draft.name_ja.strip() or len(draft.name_ja.strip()) > 100:
        problems.append(problem("name_ja", "Give the component a name (at most 100 characters).",
                                "名称を100文字以内で入力してください。"))
    url_problem = http_url_problem("url", draft.url.strip(), 500)
    if url_problem:
        problems.append(url_problem)
    if not 100 <= draft.expected_status <= 599:
        problems.append(problem("expected_status", "An HTTP status (100 to 599).", "HTTP ステータス（100〜599）を指定してください。"))
    if not TIMEOUT_MS[0] <= draft.timeout_ms <= TIMEOUT_MS[1]:
        problems.append(problem("timeout_ms", "Between 100 and 30000 milliseconds.", "100〜30000 ミリ秒で指定してください。"))
    taken = session.scalar(sa.select(ServiceComponent.id).where(ServiceComponent.name_ja == draft.name_ja.strip()))
    if taken is not None:
        problems.append(problem("name_ja", "A component of that name exists.", "同じ名称の監視対象があります。"))
    return problems


def register(session: Session, actor: Actor, draft: ComponentDraft) -> ServiceComponent:
    """Register a component by its health URL (``service.manage``); audited ``service.component.register``."""
    authz.authorize(actor, "service.manage")
    ensure_builtins(session)
    problems = _problems(session, draft)
    if problems:
        raise Invalid("The component was not registered.", "監視対象の内容に誤りがあります。登録していません。", problems=problems)
    component = ServiceComponent(key="pending", name_ja=draft.name_ja.strip(), name_en=draft.name_en.strip(),
                                 url=draft.url.strip(), expected_status=draft.expected_status, timeout_ms=draft.timeout_ms)
    session.add(component)
    session.flush()
    component.key = f"c-{component.id}"
    session.flush()
    audit.record(session, actor, "service.component.register", "service_component", component.key,
                 after=summary(component))
    return component


def set_active(session: Session, actor: Actor, key: str, active: bool) -> ServiceComponent:
    """Stop (or resume) probing a component; its recorded intervals stay. Audited ``service.component.active``."""
    authz.authorize(actor, "service.manage")
    component = by_key(session, key)
    if component.active == active:
        raise Conflict(f"The component is already {'probed' if active else 'stopped'}.",
                       f"監視対象はすでに{'監視中' if active else '監視停止中'}です。")
    before = summary(component)
    component.active = active
    session.flush()
    audit.record(session, actor, "service.component.active", "service_component", key, before=before,
                 after=summary(component))
    return component
