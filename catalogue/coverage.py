"""Coverage and freshness of the standard datasets: municipalities × standard kinds, and reminders.

The one overdue rule and the conformance state (:mod:`catalogue.conformance`: a dataset's
last update is older than its update frequency allows, :data:`models.OVERDUE_AFTER_DAYS`) decide the
coverage matrix's cells (:func:`coverage`: provided and conformant, not conformant, not checked, overdue; missing), a
municipality's own list (:func:`attention`) and the due job's Japanese reminders, once per dataset
and period (:func:`remind_overdue`, ``dataset.review``, audited as ``dataset.remind``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, outbox
from core.actor import Actor
from core.calendar import to_jst
from core.db import utcnow
from core.labelled import LabelledEnum
from catalogue import standards
from catalogue.conformance import (CONFORMANT, NOT_CONFORMANT, OVERDUE, UNCHECKED, conformance_state,
                                          is_overdue, needs_attention, overdue_cutoffs, state_of)
from catalogue.models import OVERDUE_AFTER_DAYS, Dataset, DatasetStatus, Frequency
from catalogue.operations import Recipient


class Cell(LabelledEnum):
    """A cell is the conformance state (:mod:`catalogue.conformance`) of the municipality's published
    dataset of that kind, or missing."""

    conformant = CONFORMANT, "提供・準拠", "Provided, conformant"
    not_conformant = NOT_CONFORMANT, "提供・不適合", "Provided, not conformant"
    unchecked = UNCHECKED, "提供・未確認", "Provided, not checked"
    overdue = OVERDUE, "更新期限切れ", "Overdue"
    missing = "missing", "未提供", "Missing"

# when a municipality publishes several datasets of one kind, the cell is the best of their states but overdue first
_CELL_ORDER = (Cell.overdue, Cell.conformant, Cell.not_conformant, Cell.unchecked)


def _cell(rows: Sequence[Any], cutoffs: dict[Frequency, dt.date | None]) -> str:
    if not rows:
        return Cell.missing
    states = {state_of(row.standard_kind, row.conformant, row.problem_count, row.status, row.frequency,
                       row.last_updated_on, cutoffs).state for row in rows}
    return next(cell for cell in _CELL_ORDER if cell in states)


@dataclasses.dataclass(frozen=True)
class CoverageRow:
    code: str
    name_ja: str
    cells: dict[str, str]  # kind -> Cell
    unused: frozenset[str] = frozenset()  # kinds provided whose datasets had no use in a year (:func:`unused_kinds`)


NO_USE_LABEL = ("1年間利用なし", "No use in a year")


def unused_kinds(session: Session, found: dict[tuple[str, str], list[Any]], today: dt.date) -> set[tuple[str, str]]:
    """The (provider, kind) cells whose published datasets had no use at all in the twelve months to
    ``today`` (no call through the gateway, no use reported: :func:`usage.dataset_use.used_since`)."""
    from usage import dataset_use

    since = today.replace(day=1) - dt.timedelta(days=334)  # the month eleven months before this one
    used = dataset_use.used_since(session, [row.name for rows in found.values() for row in rows], since)
    return {key for key, rows in found.items() if rows and not any(row.name in used for row in rows)}


def coverage(session: Session, actor: Actor, *, today: dt.date | None = None, search: str = "",
             kind: str | None = None, state: str | None = None, page: int | None = None,
             per_page: int = 50) -> list[CoverageRow] | tuple[list[CoverageRow], int]:
    """Municipalities × standard kinds: provided and conformant, provided and not conformant, overdue, missing.

    A cell is the conformance state (:func:`catalogue.conformance.state_of`) of the published standard dataset.
    Without ``page``: every row (the downloads). With ``page``: that page and the count; unfiltered,
    only the page's municipalities are read (a page of 1,741 reads 50); a ``state`` filter on one
    ``kind`` reads that kind's datasets and then the page's; a ``state`` filter on any kind reads all."""
    from tenancy.registry.models import Tenant

    grant = authz.authorize(actor, "dataset.read")
    today = today or to_jst(utcnow()).date()
    cutoffs = overdue_cutoffs(today)
    tenants = _coverage_tenants(grant, search)
    total = None
    if page is not None and not state:
        total = session.scalar(sa.select(sa.func.count()).select_from(tenants.subquery()))
        tenants = tenants.order_by(Tenant.code).offset((page - 1) * per_page).limit(per_page)
    listed = session.execute(tenants.order_by(Tenant.code)).all()
    kinds = list(standards.kinds())
    if page is not None and state and kind in kinds:
        return _coverage_of_one_kind(session, grant, listed, kinds, kind, state, cutoffs, page, per_page, today)
    # every kind's rows: of the page's municipalities (unfiltered, paged), else of every provider the grant covers
    found = _coverage_rows(session, grant, [code for code, _name in listed] if total is not None else None, kinds=None)
    unused = unused_kinds(session, found, today)
    result = []
    for code, name in listed:
        cells = {k: _cell(found.get((code, k), ()), cutoffs) for k in kinds}
        if state and ((kind and cells.get(kind) != state) or (not kind and state not in cells.values())):
            continue
        result.append(CoverageRow(code, name, cells, frozenset(k for k in kinds if (code, k) in unused)))
    if page is None:
        return result
    if total is None:
        total = len(result)
        result = result[(page - 1) * per_page: page * per_page]
    return result, total


def _coverage_tenants(grant: authz.Grant, search: str) -> sa.Select:
    """The municipalities a coverage matrix lists (code, name): not withdrawn, those the grant
    covers, matching ``search`` (in the name or the code) when given."""
    from tenancy.registry.models import Tenant, TenantStatus

    tenants = sa.select(Tenant.code, Tenant.name_ja).where(Tenant.status != TenantStatus.withdrawn)
    if not grant.all_tenants:
        tenants = tenants.where(Tenant.code.in_(sorted(grant.tenant_codes)))
    if search:
        like = f"%{search.replace('%', '').replace('_', '')}%"
        tenants = tenants.where(sa.or_(Tenant.name_ja.like(like), Tenant.code.like(like)))
    return tenants


def _coverage_of_one_kind(session: Session, grant: authz.Grant, listed: Sequence[Any], kinds: list[str], kind: str,
                          state: str, cutoffs: dict[Frequency, dt.date | None], page: int,
                          per_page: int, today: dt.date) -> tuple[list[CoverageRow], int]:
    """A page of the matrix filtered on one kind's cells: that kind's rows find the matching
    municipalities, then only the page's municipalities are read for every kind (the same cells
    as the full matrix, fewer rows read)."""
    one = _coverage_rows(session, grant, None, [kind])
    matching = [(code, name) for code, name in listed if _cell(one.get((code, kind), ()), cutoffs) == state]
    shown = matching[(page - 1) * per_page: page * per_page]
    rows = _coverage_rows(session, grant, [code for code, _name in shown], kinds)
    unused = unused_kinds(session, rows, today)
    return [CoverageRow(code, name, {k: _cell(rows.get((code, k), ()), cutoffs) for k in kinds},
                        frozenset(k for k in kinds if (code, k) in unused))
            for code, name in shown], len(matching)


def _coverage_rows(session: Session, grant: authz.Grant, codes: Sequence[str] | None,
                   kinds: Sequence[str] | None) -> dict[tuple[str, str], list[Any]]:
    """The published datasets of ``kinds`` (None: of any standard kind) of ``codes`` (or of every
    provider the grant covers), by (provider, kind)."""
    query = (sa.select(Dataset.provider_code, Dataset.standard_kind, Dataset.conformant, Dataset.problem_count,
                       Dataset.status, Dataset.frequency, Dataset.last_updated_on, Dataset.name)
             .where(Dataset.status == DatasetStatus.published,
                    Dataset.standard_kind.is_not(None) if kinds is None else Dataset.standard_kind.in_(list(kinds))))
    if codes is not None:
        query = query.where(Dataset.provider_code.in_(list(codes)))
    elif not grant.all_tenants:
        query = query.where(Dataset.provider_code.in_(sorted(grant.tenant_codes)))
    found: dict[tuple[str, str], list[Any]] = {}
    for row in session.execute(query):
        found.setdefault((row.provider_code, row.standard_kind), []).append(row)
    return found


def attention(session: Session, actor: Actor, provider_code: str, *, today: dt.date | None = None) -> list[Dataset]:
    """A provider's published datasets that are overdue, or of a standard kind and not 準拠 (未確認 or 不適合):
    its home page lists them (:func:`catalogue.conformance.needs_attention`)."""
    authz.authorize(actor, "dataset.read", provider_code)
    cutoffs = overdue_cutoffs(today or to_jst(utcnow()).date())
    rows = session.scalars(sa.select(Dataset).where(Dataset.provider_code == provider_code,
                                                    Dataset.status == DatasetStatus.published)
                           .order_by(Dataset.title_ja)).all()
    return [d for d in rows if needs_attention(conformance_state(d, cutoffs=cutoffs))]


def remind_overdue(session: Session, actor: Actor, *, today: dt.date | None = None) -> int:
    """Queue a Japanese reminder to each overdue dataset's contact, once per dataset and period."""
    authz.authorize(actor, "dataset.review")
    today = today or to_jst(utcnow()).date()
    queued = 0
    for dataset in session.scalars(sa.select(Dataset).where(Dataset.status == DatasetStatus.published)):
        if not is_overdue(dataset, today):
            continue
        # the periods since the last update: one reminder each (a new update starts the count again)
        days = OVERDUE_AFTER_DAYS[Frequency(dataset.frequency)] or 1
        since = dataset.last_updated_on or to_jst(dataset.created_at).date()
        period = max(0, (today - since).days) // days
        message = outbox.queue(
            session, kind="dataset.overdue", tenant=Recipient(dataset.provider_code, dataset.contact_email),
            subject=f"【データセット】{dataset.title_ja}の更新をお願いします",
            body=(f"データセット「{dataset.title_ja}」（{dataset.name}）は更新頻度"
                  f"「{Frequency(dataset.frequency).ja}」に対して、最終更新日"
                  f"（{dataset.last_updated_on or '未記入'}）から期間が過ぎています。データを更新し、最終更新日を改めてください。\n"),
            dedupe_key=f"dataset.overdue:{dataset.uid}:{since.isoformat()}:{Frequency(dataset.frequency).value}:{period}")
        queued += message is not None
    if queued:
        audit.record(session, actor, "dataset.remind", "dataset", "overdue", after={"reminders": queued})
    return queued
