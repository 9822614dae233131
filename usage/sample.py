"""The demo's sample usage (サンプルの利用実績): API calls to the sample catalogue's datasets, so that
the monthly report's usage by dataset shows something in the demo. Made-up figures.

The calls are sent through the one ingest (:func:`usage.metering.ingest`), as a metering
client sends them, with event ids and times fixed per dataset and day: loading again counts nothing
twice. Each day of last month and of this month up to yesterday (Japan time), each sample dataset
of a municipality gets a day's calls (a made-up figure that is the same on every run), and each of
those municipalities some calls that name no dataset. Each dataset is also used by two other
municipalities through the gateway (:func:`sample_consumers`, the provider's データセットの利用状況).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.actor import Actor
from core.calendar import JST, add_months, current_month
from core.db import utcnow
from catalogue.models import Dataset
from tenancy.registry.models import Tenant
from usage import dataset_use, metering

SAMPLE_SOURCE = "sample"


def _calls(*parts: str) -> int:
    """A made-up day's calls, the same on every run: 0 to 400, a few datasets used much more."""
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return digest[0] * digest[1] // 160 + digest[2] % 7


def sample_events(datasets: list[tuple[str, str]], now: dt.datetime) -> list[dict]:
    """The sample events of ``datasets`` ((name, provider code)) up to the day before ``now``."""
    first = add_months(current_month(now), -1)
    today = now.astimezone(JST).date()
    events = []
    day = first
    while day < today:
        at = dt.datetime(day.year, day.month, day.day, 12, 0, tzinfo=JST).isoformat()
        for name, provider in datasets:
            quantity = _calls(name, day.isoformat())
            if quantity:
                events.append({"tenant": provider, "metric": "api_calls", "quantity": quantity, "timestamp": at,
                               "event_id": f"sample:{name}:{day.isoformat()}", "dataset": name})
        for provider in sorted({provider for _, provider in datasets}):
            events.append({"tenant": provider, "metric": "api_calls", "quantity": _calls(provider, day.isoformat()),
                           "timestamp": at, "event_id": f"sample:{provider}:{day.isoformat()}"})
        day += dt.timedelta(days=1)
    return events


def load_sample_usage(session: Session, actor: Actor, *, now: dt.datetime | None = None) -> int:
    """Ingest the sample usage of the sample catalogue's municipal datasets; returns the events
    counted now (0 when loaded before)."""
    now = now or utcnow()
    tenants = set(session.scalars(sa.select(Tenant.code)))
    datasets = [(name, provider) for name, provider in session.execute(
        sa.select(Dataset.name, Dataset.provider_code).order_by(Dataset.name)) if provider in tenants]
    events = sample_events(datasets, now)
    accepted = 0
    for start in range(0, len(events), metering.DEFAULT_SETTINGS.max_batch):
        result = metering.ingest(session, actor, events[start:start + metering.DEFAULT_SETTINGS.max_batch],
                                 source=SAMPLE_SOURCE, now=now)
        accepted += result.accepted
    dataset_use.keep_sample_calls(session, sample_consumers(datasets, sorted(tenants), now))
    return accepted


def sample_consumers(datasets: list[tuple[str, str]], tenants: list[str], now: dt.datetime) -> list[tuple]:
    """Who used the sample datasets through the gateway (データセットの利用状況), last month and this
    month: each dataset called by two other municipalities, made-up figures the same on every run."""
    rows = []
    for month in (add_months(current_month(now), -1), current_month(now)):
        for name, provider in datasets:
            others = [code for code in tenants if code != provider and len(code) == 6]
            for consumer in sorted(others, key=lambda code: _calls(name, code))[:2]:
                rows.append((month, provider, name, consumer, 1 + _calls(name, consumer, month.isoformat()) * 3))
    return rows
