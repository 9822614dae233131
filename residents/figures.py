"""Numbers for policy work (issue 42 item 8), per municipality: enrolments per month of a fiscal year, links
per service, and opt-in rates per consent item, with small counts suppressed.

Nothing here reads a personal item: counts of rows, never a decrypted value. A count below the threshold
(``RENKEI_RESIDENT_SMALL_COUNT``, default 10; zero included) is not shown (:func:`suppress`): the cell says
"10未満" / "<10". A table with a total is protected a second time so that no suppressed cell can be derived
from the total and the cells shown (secondary suppression): when exactly one cell of a table is suppressed,
the smallest cell shown is suppressed too (or the total, when there is no other cell). An opt-in rate is
shown only when the people who opted in, those who did not, and everyone asked are each at least the
threshold (a rate of a small group, or one near 0 % or 100 %, would tell about few people).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import authz
from core.actor import Actor
from core.calendar import fiscal_month_spans, fiscal_months, fiscal_year_of, is_supported_fiscal_year
from core.db import utcnow
from core.errors import Invalid, problem
from residents.consent.models import ConsentEvent, ConsentRecord, DataService
from residents.consent.operations import items_of as consent_items_of
from residents.consent.state import consent_state
from residents.models import Resident, ResidentStatus, ServiceLink

DEFAULT_SMALL_COUNT = 10


@dataclasses.dataclass(frozen=True)
class Cell:
    """A count as it may be shown: ``value`` is None when suppressed."""

    value: int | None

    @property
    def suppressed(self) -> bool:
        return self.value is None

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "suppressed": self.suppressed}


def suppress(counts: list[int], total: int, threshold: int) -> tuple[list[Cell], Cell]:
    """The cells and the total of a one-way table as they may be shown (primary and secondary suppression)."""
    hidden = [count < threshold for count in counts]
    total_hidden = total < threshold
    if not total_hidden and sum(hidden) == 1:  # the one hidden cell would be the total less the others
        shown = [index for index, flag in enumerate(hidden) if not flag]
        if shown:
            hidden[min(shown, key=lambda index: (counts[index], index))] = True
        else:
            total_hidden = True
    return ([Cell(None if flag else count) for count, flag in zip(counts, hidden)],
            Cell(None if total_hidden else total))


def _threshold(value: int) -> int:
    if value < 1:
        raise Invalid("The small-count threshold must be at least 1.", "少数秘匿の閾値は1以上にしてください。")
    return value


def _enrolments(session: Session, tenant_code: str, fiscal_year: int) -> list[tuple[dt.date, int]]:
    spans = fiscal_month_spans(fiscal_year)
    columns = [sa.func.count(sa.case((sa.and_(Resident.enrolled_at >= start, Resident.enrolled_at < end), 1)))
               for start, end in spans]
    row = session.execute(sa.select(*columns).where(Resident.tenant_code == tenant_code,
                                                    Resident.status == ResidentStatus.active)).one()
    return list(zip(fiscal_months(fiscal_year), row))


def enrolled_by(session: Session, end: dt.datetime) -> int:
    """The residents enrolled before ``end`` and enrolled now (active), every municipality together: the results
    report's (service.kpis) enrolled residents. A count of everyone, with no breakdown, tells about no person, so it
    is not suppressed; the per-municipality figures below are."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(Resident).where(
        Resident.status == ResidentStatus.active, Resident.enrolled_at < end)) or 0)


def _links(session: Session, tenant_code: str) -> list[tuple[int, str, int]]:
    rows = session.execute(sa.select(DataService.id, DataService.name, sa.func.count(ServiceLink.id))
                           .join(ServiceLink, ServiceLink.service_id == DataService.id)
                           .join(Resident, Resident.id == ServiceLink.resident_id)
                           .where(Resident.tenant_code == tenant_code)
                           .group_by(DataService.id, DataService.name).order_by(DataService.id))
    return [(service_id, name, count) for service_id, name, count in rows]


def _item_names(session: Session, service: DataService | None, covered: dict[str, int]) -> list[str]:
    """The items of the service's current consent text; the items counted when it has none."""
    if service is not None and service.current_text_id:
        return [item.name for item in consent_items_of(session, service.current_text_id)]
    return sorted(covered)


def _opt_ins(session: Session, tenant_code: str) -> list[dict[str, Any]]:
    """Per service with consents of the municipality's people: everyone asked (each person once), and per
    item of the service's current text those whose newest consent is in force and covers it."""
    newest = (sa.select(sa.func.max(ConsentRecord.seq)).where(ConsentRecord.tenant_code == tenant_code)
              .group_by(ConsentRecord.service_id, ConsentRecord.subject_id))
    rows = session.execute(sa.select(ConsentRecord.service_id, ConsentRecord.event, ConsentRecord.expires_at,
                                     ConsentRecord.items).where(ConsentRecord.seq.in_(newest)))
    now, by_service = utcnow(), {}
    for service_id, event, expires_at, items in rows:
        asked, covered = by_service.setdefault(service_id, [0, {}])
        by_service[service_id][0] = asked + 1
        if consent_state(event, expires_at, now) == ConsentEvent.given:
            for item in json.loads(items):
                covered[item] = covered.get(item, 0) + 1
    services = {s.id: s for s in session.scalars(sa.select(DataService).where(DataService.id.in_(list(by_service))))}
    result = []
    for service_id in sorted(by_service):
        asked, covered = by_service[service_id]
        service = services.get(service_id)
        names = _item_names(session, service, covered)
        result.append({"service_id": service_id, "service_name": service.name if service else "", "asked": asked,
                       "items": [(name, covered.get(name, 0)) for name in names]})
    return result


def _rate(opted_in: int, asked: int, threshold: int) -> dict[str, Any]:
    shown = opted_in >= threshold and asked - opted_in >= threshold and asked >= threshold
    return {"opted_in": Cell(opted_in if shown else None).as_dict(),
            "rate_percent": round(100 * opted_in / asked, 1) if shown else None}


def _suppressed_opt_ins(session: Session, tenant_code: str, threshold: int) -> list[dict[str, Any]]:
    """Each service's people asked and opt-in rate per item, counts under the threshold suppressed."""
    opt_ins = []
    for service in _opt_ins(session, tenant_code):
        asked = service["asked"]
        opt_ins.append({"service_id": service["service_id"], "service_name": service["service_name"],
                        "asked": Cell(asked if asked >= threshold else None).as_dict(),
                        "items": [{"item": name, **_rate(count, asked, threshold)} for name, count in service["items"]]})
    return opt_ins


def policy_figures(session: Session, actor: Actor, tenant_code: str, *, fiscal_year: int | None = None,
                   threshold: int = DEFAULT_SMALL_COUNT) -> dict[str, Any]:
    """The municipality's numbers for policy work, small counts suppressed (see the module)."""
    authz.authorize(actor, "resident.figures", tenant_code)
    threshold = _threshold(threshold)
    fiscal_year = fiscal_year or fiscal_year_of(utcnow())
    if not is_supported_fiscal_year(fiscal_year):
        raise Invalid("No such fiscal year.", "その年度は扱えません。",
                      problems=[problem("fiscal_year", "Give a fiscal year such as 2026.", "2026のように年度を入力してください。")])
    months = _enrolments(session, tenant_code, fiscal_year)
    month_cells, month_total = suppress([count for _, count in months], sum(count for _, count in months), threshold)
    links = _links(session, tenant_code)
    link_cells, link_total = suppress([count for *_, count in links], sum(count for *_, count in links), threshold)
    return {"tenant_code": tenant_code, "fiscal_year": fiscal_year, "threshold": threshold,
            "enrolments": {"months": [{"month": month.strftime("%Y-%m"), **cell.as_dict()}
                                      for (month, _), cell in zip(months, month_cells)],
                           "total": month_total.as_dict()},
            "links": {"services": [{"service_id": service_id, "service_name": name, **cell.as_dict()}
                                   for (service_id, name, _), cell in zip(links, link_cells)],
                      "total": link_total.as_dict()},
            "opt_ins": _suppressed_opt_ins(session, tenant_code, threshold)}
