"""Planned maintenance: the operator schedules a window with the components and the municipalities
it affects; renkei announces it at once through a notice (home pages and the outbox's e-mails, to the
members too when asked), shows it on the status page, and counts it apart from downtime.

Rules:

* A window starts in the future and ends after it starts, within 7 days.
* By default within the permitted hours (the service settings: weekdays 9:00–17:00 Japan time, seed
  001); outside them only with a reason, which the notice states.
* The affected municipalities are those ticked, or every active one when none is; the notice's
  addressees and e-mails are the notices' own rule (:func:`governance.notices.publish_notice`).
* Scheduling is one act (``service.maintenance.schedule``, the notice's publication a step of it);
  cancelling is another and announces the cancellation the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.calendar import JST, jst_text
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from governance.models import NoticeAudience
from governance.notices import NoticeDraft, publish_notice
from service import components as components_
from service.models import MaintenanceComponent, MaintenanceTenant, MaintenanceWindow, ServiceComponent, ServiceSettings

LONGEST = dt.timedelta(days=7)


@dataclasses.dataclass(frozen=True)
class WindowDraft:
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    component_keys: Sequence[str]
    tenant_codes: Sequence[str] = ()
    description: str = ""
    outside_hours_reason: str = ""
    to_members: bool = False


def within_hours(starts_at: dt.datetime, ends_at: dt.datetime, settings: ServiceSettings) -> bool:
    """The window lies inside one day's permitted hours (Japan time), on a weekday when so set."""
    start, end = starts_at.astimezone(JST), ends_at.astimezone(JST)
    if settings.maintenance_weekdays_only and start.weekday() >= 5:
        return False
    opens = start.replace(hour=settings.maintenance_start_hour, minute=0, second=0, microsecond=0)
    closes = opens.replace(hour=0) + dt.timedelta(hours=settings.maintenance_end_hour)
    return opens <= start and end <= closes


def _time_problems(draft: WindowDraft, settings: ServiceSettings, now: dt.datetime) -> list[dict]:
    if draft.starts_at.tzinfo is None or draft.ends_at.tzinfo is None:
        return [problem("starts_at", "Give the times with their zone (+09:00).", "日時はタイムゾーン付き（+09:00）で指定してください。")]
    problems = []
    if draft.starts_at <= now:
        problems.append(problem("starts_at", "The window must start in the future.", "開始日時は現在より後にしてください。"))
    if not draft.starts_at < draft.ends_at <= draft.starts_at + LONGEST:
        problems.append(problem("ends_at", "The window must end after it starts, within 7 days.",
                                "終了日時は開始日時より後、7日以内にしてください。"))
    elif not within_hours(draft.starts_at, draft.ends_at, settings) and not draft.outside_hours_reason.strip():
        problems.append(problem("outside_hours_reason", "Outside the permitted hours: give the reason.",
                                "作業可能時間外です。理由を入力してください。"))
    return problems


def _problems(draft: WindowDraft, settings: ServiceSettings, now: dt.datetime) -> list[dict]:
    problems = _time_problems(draft, settings, now)
    if not draft.title.strip() or len(draft.title.strip()) > 200:
        problems.append(problem("title", "Give the window a title (at most 200 characters).", "件名を200文字以内で入力してください。"))
    if not draft.component_keys:
        problems.append(problem("component_keys", "Choose the affected components.", "影響する監視対象を選んでください。"))
    return problems


def _components(session: Session, keys: Sequence[str]) -> list[ServiceComponent]:
    found = [component for component in components_.all_components(session) if component.key in set(keys)]
    unknown = sorted(set(keys) - {component.key for component in found})
    if unknown:
        raise Invalid("Unknown components.", "監視対象がありません。",
                      problems=[problem("component_keys", f"No component {', '.join(unknown)}.",
                                        f"監視対象 {'、'.join(unknown)} はありません。")])
    return found


def _notice_text(window: MaintenanceWindow, names: list[str]) -> str:
    lines = [f"計画メンテナンスを次のとおり実施します。/ Planned maintenance:",
             "", f"日時: {jst_text(window.starts_at)} 〜 {jst_text(window.ends_at)}（日本時間）",
             f"対象: {'、'.join(names)}"]
    if window.description:
        lines += ["", window.description]
    if window.outside_hours_reason:
        lines += ["", f"作業可能時間外に実施する理由: {window.outside_hours_reason}"]
    lines += ["", "この時間は稼働率の計算から除きます。稼働状況ページ（/status）にも掲載しています。"]
    return "\n".join(lines)


def _announce(session: Session, actor: Actor, window: MaintenanceWindow, names: list[str], codes: Sequence[str],
              prefix: str, now: dt.datetime) -> int:
    draft = NoticeDraft(title=f"{prefix}{window.title}", body=_notice_text(window, names),
                        audience=NoticeAudience.chosen if codes else NoticeAudience.all_active, tenant_codes=tuple(codes),
                        show_until=window.ends_at.astimezone(JST).date(), to_members=window.to_members)
    return publish_notice(session, actor, draft, now=now, step_of="service.manage").id


def summary(window: MaintenanceWindow, keys: Sequence[str], codes: Sequence[str]) -> dict:
    return {"id": window.id, "title": window.title, "starts_at": window.starts_at.isoformat(),
            "ends_at": window.ends_at.isoformat(), "components": list(keys), "tenants": list(codes),
            "outside_hours_reason": window.outside_hours_reason, "notice_id": window.notice_id,
            "cancelled": window.cancelled_at is not None}


def schedule(session: Session, actor: Actor, draft: WindowDraft, settings: ServiceSettings, *,
             now: dt.datetime | None = None) -> MaintenanceWindow:
    """Schedule and announce a window (``service.manage``); one audited act with the notice as its step."""
    authz.authorize(actor, "service.manage")
    now = now or utcnow()
    problems = _problems(draft, settings, now)
    if problems:
        raise Invalid("The maintenance window was not scheduled.", "計画メンテナンスの内容に誤りがあります。登録していません。",
                      problems=problems)
    found = _components(session, draft.component_keys)
    codes = sorted(set(draft.tenant_codes))
    window = MaintenanceWindow(title=draft.title.strip(), description=draft.description.strip(),
                               starts_at=draft.starts_at, ends_at=draft.ends_at,
                               outside_hours_reason=draft.outside_hours_reason.strip(), to_members=draft.to_members,
                               scheduled_by=actor.recorded_name, scheduled_at=now)
    session.add(window)
    session.flush()
    with audit.act(session, actor, "service.maintenance.schedule", "maintenance_window", str(window.id)):
        session.add_all([MaintenanceComponent(window_id=window.id, component_id=c.id) for c in found])
        session.add_all([MaintenanceTenant(window_id=window.id, tenant_code=code) for code in codes])
        window.notice_id = _announce(session, actor, window, [c.name_ja for c in found], codes, "【計画メンテナンス】", now)
        session.flush()
        audit.record(session, actor, "service.maintenance.schedule", "maintenance_window", str(window.id),
                     after=summary(window, [c.key for c in found], codes))
    return window


def get_window(session: Session, window_id: int) -> MaintenanceWindow:
    window = session.get(MaintenanceWindow, window_id)
    if window is None:
        raise NotFound(f"No maintenance window {window_id}.", f"計画メンテナンス {window_id} はありません。")
    return window


def keys_of(session: Session, window: MaintenanceWindow) -> list[str]:
    return list(session.scalars(sa.select(ServiceComponent.key).join(
        MaintenanceComponent, MaintenanceComponent.component_id == ServiceComponent.id)
        .where(MaintenanceComponent.window_id == window.id).order_by(ServiceComponent.id)))


def tenants_of(session: Session, window: MaintenanceWindow) -> list[str]:
    return list(session.scalars(sa.select(MaintenanceTenant.tenant_code)
                                .where(MaintenanceTenant.window_id == window.id).order_by(MaintenanceTenant.tenant_code)))


def cancel(session: Session, actor: Actor, window_id: int, reason: str, *, now: dt.datetime | None = None) -> MaintenanceWindow:
    """Cancel a window that has not ended, and announce it to the same addressees (``service.manage``)."""
    authz.authorize(actor, "service.manage")
    now = now or utcnow()
    window = get_window(session, window_id)
    if window.cancelled_at is not None or window.ends_at <= now:
        raise Conflict("The window is cancelled or over.", "この計画メンテナンスは中止済みか、終了しています。")
    if not reason.strip():
        raise Invalid("Give the reason.", "中止の理由を入力してください。",
                      problems=[problem("reason", "Required.", "必須です。")])
    keys, codes = keys_of(session, window), tenants_of(session, window)
    before = summary(window, keys, codes)
    with audit.act(session, actor, "service.maintenance.cancel", "maintenance_window", str(window.id)):
        window.cancelled_at, window.cancel_reason = now, reason.strip()[:500]
        names = [c.name_ja for c in components_.all_components(session) if c.key in keys]
        window.description = f"中止の理由: {window.cancel_reason}"
        _announce(session, actor, window, names, codes, "【中止】計画メンテナンス ", now)
        session.flush()
        audit.record(session, actor, "service.maintenance.cancel", "maintenance_window", str(window.id),
                     before=before, after=summary(window, keys, codes))
    return window


def windows(session: Session, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
            include_cancelled: bool = False) -> list[MaintenanceWindow]:
    """Windows that overlap [since, until), oldest first."""
    query = sa.select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at)
    if since is not None:
        query = query.where(MaintenanceWindow.ends_at > since)
    if until is not None:
        query = query.where(MaintenanceWindow.starts_at < until)
    if not include_cancelled:
        query = query.where(MaintenanceWindow.cancelled_at.is_(None))
    return list(session.scalars(query))


def spans_by_component(session: Session, since: dt.datetime, until: dt.datetime) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    """Component id -> the maintenance spans that affect it in [since, until) (cancelled ones not)."""
    found = windows(session, since=since, until=until)
    spans: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    if not found:
        return spans
    links = session.execute(sa.select(MaintenanceComponent.window_id, MaintenanceComponent.component_id)
                            .where(MaintenanceComponent.window_id.in_([w.id for w in found])))
    by_id = {w.id: w for w in found}
    for window_id, component_id in links:
        spans.setdefault(component_id, []).append((by_id[window_id].starts_at, by_id[window_id].ends_at))
    return spans


def under_way(session: Session, component_id: int, at: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The announced (not cancelled) windows affecting the component that hold ``at``; empty when none.
    A failure inside one is maintenance (メンテナンス中): no outage, no incident, not "down" in public."""
    return [(a, b) for a, b in spans_by_component(session, at, at + dt.timedelta(microseconds=1)).get(component_id, [])
            if a <= at < b]


def down_outside_windows_since(session: Session, component_id: int, started_at: dt.datetime, at: dt.datetime) -> dt.datetime:
    """When a component down since ``started_at`` has been down outside maintenance from: the end of the
    last window affecting it that ended by ``at``, else ``started_at``."""
    ends = [b for _, b in spans_by_component(session, started_at, at).get(component_id, []) if started_at < b <= at]
    return max([started_at, *ends])
