"""Who uses a dataset (issue 37): calls through the API gateway to each dataset, by month, consumer
and API client.

* :func:`record_call` adds one call the gateway check let through, whose route names a dataset
  (:mod:`catalogue.routes`), to ``usage_dataset_call``: one upsert, made when the gateway's
  call log is folded (:mod:`usage.call_log`), not in the check. A tenant's call is added
  with its api_calls count (once per request id); a member organisation's client has no quota and
  no api_calls event: its call has a line of its dataset use only, added once per request id of
  the process that answered it, and once per folded segment (``gateway_folded_segment``).
* :func:`dataset_use` is the provider's view: per dataset of the month, the calls by consuming
  tenant or member organisation and API client, with their names. A provider reads its own
  datasets' use only (``dataset.use.read``: a municipality's or an organisation's own people, the
  operator and the auditor every provider's).
* :func:`used_since` names the datasets with any use since a month (gateway calls, or use the
  provider reported with its events): the coverage matrix's "no use in a year".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import authz
from core.actor import Actor
from core.calendar import jst_day, month_of
from core.db import conflict_insert
from usage.models import UsageDatasetCall, UsageDatasetMonth


def call_use(provider_code: str, dataset: str, client_id: int | None) -> dict[str, Any]:
    """What a counted call's line in the gateway's call log says of the dataset it reached (folded by
    :func:`usage.metering.fold_gateway_calls` into :func:`record_call`)."""
    return {"provider": provider_code, "dataset": dataset, "client": client_id}


def record_call(session: Session, provider_code: str, dataset: str, consumer_code: str, client_id: int | None,
                at: dt.datetime, calls: int = 1) -> None:
    """Add ``calls`` to the dataset's month figure for this consumer and client (the caller authorised
    the gateway check, ``usage.ingest``)."""
    table = UsageDatasetCall.__table__
    statement = conflict_insert(session.get_bind().dialect.name, table).values(
        period_start=month_of(jst_day(at)), provider_code=provider_code, dataset=dataset, consumer_code=consumer_code,
        client_id=client_id or 0, calls=calls)
    statement = statement.on_conflict_do_update(
        index_elements=["period_start", "provider_code", "dataset", "consumer_code", "client_id"],
        set_={"calls": table.c.calls + statement.excluded.calls})
    session.connection().execute(statement)


def keep_sample_calls(session: Session, rows: Iterable[tuple[dt.date, str, str, str, int]]) -> None:
    """The demo's made-up calls ((month, provider, dataset, consumer, calls), no API client), each
    written once: a row already there is kept as it is (loading the demo again adds nothing)."""
    table = UsageDatasetCall.__table__
    values = [{"period_start": month, "provider_code": provider, "dataset": dataset, "consumer_code": consumer,
               "client_id": 0, "calls": calls} for month, provider, dataset, consumer, calls in rows]
    if values:
        statement = conflict_insert(session.get_bind().dialect.name, table).values(values).on_conflict_do_nothing(
            index_elements=["period_start", "provider_code", "dataset", "consumer_code", "client_id"])
        session.connection().execute(statement)


@dataclasses.dataclass(frozen=True)
class ConsumerUse:
    consumer_code: str
    consumer_name: str
    client_id: int | None
    client_name: str
    calls: int


@dataclasses.dataclass(frozen=True)
class DatasetUse:
    name: str
    title_ja: str
    calls: int
    consumers: list[ConsumerUse]


@dataclasses.dataclass(frozen=True)
class ProviderUse:
    provider_code: str
    month: dt.date
    datasets: list[DatasetUse]

    @property
    def calls(self) -> int:
        return sum(dataset.calls for dataset in self.datasets)


def _names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    from tenancy.members.models import Organisation
    from tenancy.registry.models import Tenant

    codes = set(codes)
    found: dict[str, str] = {}
    if codes:
        found.update(session.execute(sa.select(Tenant.code, Tenant.name_ja).where(Tenant.code.in_(codes))).all())
        found.update(session.execute(sa.select(Organisation.corporate_number, Organisation.name)
                                     .where(Organisation.corporate_number.in_(codes))).all())
    return found


def _client_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    from tenancy.identity.models import ApiClient

    ids = {i for i in ids if i}
    return dict(session.execute(sa.select(ApiClient.id, ApiClient.name).where(ApiClient.id.in_(ids))).all()) if ids else {}


def dataset_use(session: Session, actor: Actor, provider_code: str, month: dt.date) -> ProviderUse:
    """The month's calls to each of ``provider_code``'s datasets by consumer and API client, most calls
    first (datasets with no call in the month are not listed). Needs ``dataset.use.read`` on the provider."""
    authz.authorize(actor, "dataset.use.read", provider_code)
    from catalogue.models import Dataset

    month = month.replace(day=1)
    table = UsageDatasetCall.__table__
    rows = session.execute(
        sa.select(table.c.dataset, table.c.consumer_code, table.c.client_id, table.c.calls)
        .where(table.c.period_start == month, table.c.provider_code == provider_code)).all()
    names = _names(session, {row.consumer_code for row in rows})
    clients = _client_names(session, {row.client_id for row in rows})
    titles = dict(session.execute(sa.select(Dataset.name, Dataset.title_ja).where(
        Dataset.name.in_({row.dataset for row in rows}))).all()) if rows else {}
    by_dataset: dict[str, list[ConsumerUse]] = {}
    for row in rows:
        by_dataset.setdefault(row.dataset, []).append(ConsumerUse(
            row.consumer_code, names.get(row.consumer_code, row.consumer_code), row.client_id or None,
            clients.get(row.client_id, ""), int(row.calls)))
    datasets = [DatasetUse(name, titles.get(name, name), sum(c.calls for c in uses),
                           sorted(uses, key=lambda c: (-c.calls, c.consumer_code, c.client_id or 0)))
                for name, uses in by_dataset.items()]
    return ProviderUse(provider_code, month, sorted(datasets, key=lambda d: (-d.calls, d.name)))


def used_since(session: Session, names: Iterable[str], since: dt.date) -> set[str]:
    """Which of ``names`` had any use from the month of ``since`` on: a call through the gateway, or
    use their provider reported naming them (``usage_dataset_month``). Two indexed reads."""
    names = set(names)
    if not names:
        return set()
    month = since.replace(day=1)
    calls, reported = UsageDatasetCall.__table__, UsageDatasetMonth.__table__
    used = set(session.scalars(sa.select(calls.c.dataset).distinct().where(
        calls.c.period_start >= month, calls.c.dataset.in_(names))))
    used.update(session.scalars(sa.select(reported.c.dataset).distinct().where(
        reported.c.period_start >= month, reported.c.dataset.in_(names))))
    return used


def providers_to_show(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """The providers whose datasets' use the actor reads, (code, name), for a picker: every provider of
    the register for an all-providers grant, else the actor's own."""
    from catalogue.models import Dataset

    grant = authz.authorize(actor, "dataset.use.read")
    codes = (set(session.scalars(sa.select(Dataset.provider_code).distinct())) if grant.all_tenants
             else set(grant.tenant_codes))
    names = _names(session, codes)
    return sorted(((code, names.get(code, code)) for code in codes), key=lambda pair: pair[0])
