"""Usage metering (利用実績): ingest events, keep aggregates, purge raw events after retention.

Invariants:

* A batch is all or nothing. Every event is checked first (registered tenant, known metric,
  whole quantity ≥ 0, timestamp with a time zone, not more than ``max_future_seconds`` ahead and
  not before the retention window); if any fails, :class:`UsageRejected` names each bad event
  by position and ``event_id`` and nothing is written.
* An event is known by its ``event_id`` and its timestamp (the instant): an event already
  stored (or repeated within the batch) counts once. The same ``event_id`` at the same instant
  for *different* data is an error, not a duplicate; at another instant it is another event
  (``usage_event``'s primary key, which holds the partition key on PostgreSQL).
* Aggregates per tenant × metric × Japan-time day and month are updated in the same transaction
  as the events (insert ... on conflict do update), so they never disagree with what was
  stored, and nothing reads raw events to answer a question. Aggregate rows are upserted in
  key order so that concurrent batches lock them in the same order (no deadlock).
* The retention cutoff only moves forward, and events before it are refused at ingest; so a
  purged event can never be counted a second time by a late replay.

Ingestion is recorded per batch in ``usage_batch`` (who, when, from where, how many), which is
the processing log of metering; administrative acts (purge, quota changes) go to the audit log.

Permissions are asked here: ingesting needs ``usage.ingest`` (the metering client, the operator),
purging ``usage.purge``. The read functions (``monthly_values``, ``usage_total`` ...) are helpers
for use cases that have authorised the read (reports, billing's usage component).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gc
import operator
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, csvfile
from core.actor import Actor
from core.errors import Invalid, problem
from core.calendar import JST, add_months, current_month, fiscal_months, jst_day, month_of, month_start_utc, to_jst
from core.db import conflict_insert, utcnow
from tenancy.usage import partitions
from tenancy.usage import quotas  # quotas reads what metering writes; metering tells quotas what it recorded
from tenancy.usage.models import (
    METRICS,
    USAGE_ADD_FUNCTION,
    Granularity,
    MetricKind,
    UsageAggregate,
    UsageBatch,
    UsageEvent,
)
from tenancy.registry.models import Tenant

MAX_EVENT_ID_LENGTH = 128
_UPSERT_CHUNK = 1000


@dataclasses.dataclass(frozen=True)
class MeteringSettings:
    retention_months: int = 13  # raw events: the current Japan-time month and the 12 before it
    max_future_seconds: int = 300  # clock skew tolerated on a reporting client
    max_batch: int = 10_000

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> MeteringSettings:
        return cls(
            retention_months=int(config.get("RENKEI_USAGE_RETENTION_MONTHS") or cls.retention_months),
            max_future_seconds=int(config.get("RENKEI_USAGE_MAX_FUTURE_SECONDS") or cls.max_future_seconds),
        )


DEFAULT_SETTINGS = MeteringSettings()


class UsageRejected(Invalid):
    """A batch (or import file) failed validation; nothing was written. ``problems`` name each bad event."""


class ValidEvent(NamedTuple):
    """A checked event (a tuple: a batch makes up to 10,000 of them, and tuples are the cheapest)."""

    event_id: str
    tenant_code: str
    metric: str
    quantity: int
    occurred_at: dt.datetime  # UTC
    stamp: str  # occurred_at as PostgreSQL reads it: the text sent when it reads the same instant (_KEPT_AS_SENT)

    def key(self) -> tuple:
        return self[1:5]  # (tenant_code, metric, quantity, occurred_at): what makes two events the same


@dataclasses.dataclass(frozen=True)
class IngestResult:
    batch_id: int
    received: int
    accepted: int
    duplicates: int
    alerts: int

    def summary(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def retention_cutoff(now: dt.datetime | None = None, settings: MeteringSettings = DEFAULT_SETTINGS) -> dt.datetime:
    """The first instant (UTC) still inside the retention window: the start of a Japan-time month."""
    return month_start_utc(add_months(current_month(now), -(settings.retention_months - 1)))


# --- validation --------------------------------------------------------------------------------

# Aggregates are 64-bit integers in the database: one event can never be allowed to overflow them.
MAX_QUANTITY = 2**53


# validate_events hands its sink the events checked in parts of this many
SINK_PART = 500


def _default_where(index: int) -> str:
    return f"events[{index}]"


# A timestamp is passed to PostgreSQL as it was sent (no parse-and-format per event) when it is the
# plain ISO 8601 form that PostgreSQL reads as exactly the instant Python read: whole or up to
# microsecond seconds (Python truncates more digits, PostgreSQL would round them) and a zone of
# Z or +-HH:MM below 15 hours (PostgreSQL refuses larger offsets, which Python accepts). Other
# forms Python accepts (week dates, basic format, offsets with seconds ...) go as UTC ISO text.
_KEPT_AS_SENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)", re.ASCII).fullmatch


def _parse_timestamp(value: Any) -> dt.datetime | str:
    """A UTC datetime, or the reason (English) why ``value`` is not an ISO 8601 time with a zone."""
    if not isinstance(value, str):
        return "not-a-string"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return "not-iso"
    if moment.tzinfo is None:
        return "no-zone"
    try:
        return moment.astimezone(dt.timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
        return "out-of-range"


def tenant_codes(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(sa.select(Tenant.code)))


@dataclasses.dataclass(frozen=True)
class _Bounds:
    """What every event of one batch is checked against (fixed for the batch)."""

    known_tenants: frozenset[str] | set[str]
    latest: dt.datetime  # the latest instant accepted: now + the clock skew tolerated
    cutoff: dt.datetime  # the earliest: the start of the retention window
    max_future_seconds: int

    @classmethod
    def at(cls, now: dt.datetime, known_tenants: frozenset[str] | set[str], settings: MeteringSettings) -> _Bounds:
        return cls(known_tenants, now + dt.timedelta(seconds=settings.max_future_seconds),
                   retention_cutoff(now, settings), settings.max_future_seconds)


def _stamp(sent: str, occurred: dt.datetime) -> str:
    """The text PostgreSQL is given for an event's time: as sent when it reads the same instant."""
    return sent if _KEPT_AS_SENT(sent) else occurred.isoformat()


def _usual_event(raw: Any, bounds: _Bounds) -> ValidEvent | None:
    """The fast check: the checked event when ``raw`` is the usual well-formed event, else ``None``
    ("don't know": :func:`_explained_event` decides, and explains).

    A cache of :func:`_explained_event`, never a second rule: it asks the same limits
    (:data:`MAX_EVENT_ID_LENGTH`, :data:`MAX_QUANTITY`, :data:`~tenancy.usage.models.METRICS`, the
    batch's bounds) only of a plain ``dict`` holding exact ``str``/``int`` values, builds no
    message, and whenever it answers, the explaining check answers the same event with no
    problem (tests/usage/test_ingest_fast_check.py feeds generated events to both).
    """
    if type(raw) is not dict:
        return None
    try:
        event_id, tenant, metric = raw["event_id"], raw["tenant"], raw["metric"]
        quantity, sent = raw["quantity"], raw["timestamp"]
    except KeyError:
        return None
    if not (type(event_id) is str and type(tenant) is str and type(metric) is str and type(sent) is str
            and type(quantity) is int and 0 <= quantity <= MAX_QUANTITY
            and tenant in bounds.known_tenants and metric in METRICS
            and len(event_id) <= MAX_EVENT_ID_LENGTH and "\x00" not in event_id and event_id.strip()):
        return None
    occurred = _parse_timestamp(sent)
    if type(occurred) is str or not bounds.cutoff <= occurred <= bounds.latest:
        return None
    return ValidEvent(event_id, tenant, metric, quantity, occurred, _stamp(sent, occurred))


def _event_id_check(event_id: Any, place: str) -> tuple[str | None, list[dict[str, str]]]:
    """An event's ``event_id`` as far as messages may name it (``None`` when missing or unprintable), and its problem."""
    if not isinstance(event_id, str) or not event_id.strip():
        return None, [problem(f"{place}.event_id", "event_id is required: a unique text per event (it makes a resend count once)",
                              "event_id は必須です（イベントごとに一意の文字列。再送しても二重に数えないために使います）。")]
    if len(event_id) > MAX_EVENT_ID_LENGTH:
        return event_id, [problem(f"{place}.event_id", f"event_id is longer than {MAX_EVENT_ID_LENGTH} characters",
                                  f"event_id は {MAX_EVENT_ID_LENGTH} 文字以内にしてください。")]
    if "\x00" in event_id:  # PostgreSQL text cannot hold it
        return None, [problem(f"{place}.event_id", "event_id must not contain the NUL character (\\u0000)",
                              "event_id に NUL 文字（\\u0000）は使えません。")]
    return event_id, []


def _names_problems(raw: Mapping, place: str, label: tuple[str, str], bounds: _Bounds) -> list[dict[str, str]]:
    """The problems of an event's tenant, metric and quantity (``label``: how messages name the event, English and Japanese)."""
    (en, ja), own = label, []
    tenant = raw.get("tenant")
    if not isinstance(tenant, str) or tenant not in bounds.known_tenants:
        shown = tenant if isinstance(tenant, (str, int)) else "(missing)"
        own.append(problem(f"{place}.tenant", f"{en}tenant {shown} is not registered; send the 6-digit local government code of a registered tenant",
                           f"{ja}団体コード {shown} の参加団体は登録されていません。登録済みの6桁の団体コードを指定してください。"))
    metric = raw.get("metric")
    if not isinstance(metric, str) or metric not in METRICS:
        metrics = ", ".join(METRICS)
        own.append(problem(f"{place}.metric", f"{en}unknown metric {metric!r}; use one of {metrics}",
                           f"{ja}指標 {metric!r} はありません。次のいずれかを指定してください: {metrics}"))
    quantity = raw.get("quantity")
    if type(quantity) is not int or quantity < 0 or quantity > MAX_QUANTITY:  # bool is an int subclass: refused too
        own.append(problem(f"{place}.quantity", f"{en}quantity must be a whole number from 0 to {MAX_QUANTITY:,}, not {quantity!r}",
                           f"{ja}quantity は 0 以上の整数にしてください（{quantity!r} は使えません）。"))
    return own


def _timestamp_problems(raw: Mapping, place: str, label: tuple[str, str], bounds: _Bounds) -> tuple[dt.datetime | None, list[dict[str, str]]]:
    """An event's time (UTC) and its problem: not an ISO 8601 time with a zone, too far ahead, or before the retention window."""
    (en, ja), sent = label, raw.get("timestamp")
    occurred = _parse_timestamp(sent)
    if isinstance(occurred, str):
        return None, [problem(f"{place}.timestamp", f"{en}timestamp must be an ISO 8601 time with a time zone, e.g. 2025-06-01T09:30:00+09:00 or 2025-06-01T00:30:00Z",
                              f"{ja}timestamp はタイムゾーン付きの ISO 8601 形式にしてください（例: 2025-06-01T09:30:00+09:00）。")]
    if occurred > bounds.latest:
        return None, [problem(f"{place}.timestamp", f"{en}timestamp {sent} is more than {bounds.max_future_seconds} seconds in the future; check the sender's clock",
                              f"{ja}timestamp {sent} が現在より {bounds.max_future_seconds} 秒以上先です。送信元の時計を確認してください。")]
    if occurred < bounds.cutoff:
        return None, [problem(f"{place}.timestamp", f"{en}timestamp {sent} is before the retention window, which starts {bounds.cutoff.isoformat()}; such usage can no longer be counted",
                              f"{ja}timestamp {sent} は保存期間（{to_jst(bounds.cutoff):%Y年%m月%d日}以降）より前のため、計上できません。")]
    return occurred, []


def _explained_event(raw: Any, place: str, bounds: _Bounds) -> tuple[ValidEvent | None, str | None, list[dict[str, str]]]:
    """The one rule for an event: (the checked event or ``None``, its event_id as messages name it,
    its problems, each naming ``place`` and explaining in English and Japanese)."""
    if not isinstance(raw, Mapping):
        return None, None, [problem(place, "must be an object with tenant, metric, quantity, timestamp and event_id",
                                    "tenant・metric・quantity・timestamp・event_id を持つオブジェクトにしてください。")]
    event_id, own = _event_id_check(raw.get("event_id"), place)
    label = (f"event {event_id}: ", f"イベント {event_id}：") if event_id else ("", "")
    own += _names_problems(raw, place, label, bounds)
    occurred, late = _timestamp_problems(raw, place, label, bounds)
    own += late
    if own:
        return None, event_id, own
    return ValidEvent(event_id, raw["tenant"], raw["metric"], raw["quantity"], occurred, _stamp(raw["timestamp"], occurred)), event_id, []


class _Distinct:
    """A batch's distinct events in the order sent, handed to a sink in parts of :data:`SINK_PART`.

    An event is known by its event_id and its instant: the same again counts as a repeat; the
    same event_id at another instant is another event; at the same instant with other contents,
    a conflict (:meth:`admit` answers ``False``)."""

    def __init__(self, sink: Callable[[list[ValidEvent]], None] | None) -> None:
        self.valid: list[ValidEvent] = []
        self.repeated = 0
        self.seen: dict[str, ValidEvent] = {}  # the first event of each event_id
        self.others: dict[tuple[str, dt.datetime], ValidEvent] = {}  # an event_id sent again at another instant (rare)
        self.sink, self.sent = sink, 0
        self.part_end = SINK_PART if sink is not None else -1

    def admit(self, event: ValidEvent) -> bool:
        """Keeps ``event`` (or counts it as a repeat); ``False`` if it conflicts with an earlier one."""
        earlier = self.seen.setdefault(event.event_id, event)
        if earlier is not event and earlier.occurred_at != event.occurred_at:  # another instant: another event
            earlier = self.others.setdefault((event.event_id, event.occurred_at), event)
        if earlier is event:
            self.valid.append(event)
            if len(self.valid) == self.part_end:
                self.pass_on()
            return True
        if earlier.key() == event.key():
            self.repeated += 1
            return True
        return False

    def pass_on(self) -> None:
        """The events kept since the last part, to the sink."""
        self.sink(self.valid[self.sent:])
        self.sent, self.part_end = len(self.valid), len(self.valid) + SINK_PART

    def finish(self) -> None:
        """The last part, to the sink (call it only when no event had a problem)."""
        if self.sink is not None and len(self.valid) > self.sent:
            self.pass_on()


def _conflict(place: str, event_id: str) -> dict[str, str]:
    return problem(f"{place}.event_id", f"event_id {event_id} appears twice in the batch for the same time with different contents; each event needs its own event_id",
                   f"event_id {event_id} が同じバッチ内で同じ日時の異なる内容に使われています。イベントごとに別の event_id を付けてください。")


def validate_events(
    raw_events: Sequence[Any],
    known_tenants: frozenset[str] | set[str],
    *,
    now: dt.datetime | None = None,
    settings: MeteringSettings = DEFAULT_SETTINGS,
    where: Callable[[int], str] = _default_where,
    sink: Callable[[list[ValidEvent]], None] | None = None,
    fast: bool = True,
) -> tuple[list[ValidEvent], int, list[dict[str, Any]]]:
    """Check every event; returns (distinct valid events in the order sent, duplicates within the
    batch, problems).

    ``sink``, when given, receives the distinct valid events while the check goes on, in parts of
    :data:`SINK_PART` and the rest at the end (unless there were problems), so that a caller can
    write them while the rest is checked. Whatever it received counts only if no problem is returned.

    Each event goes through the fast check (:func:`_usual_event`) and, when that does not know,
    through the one rule that explains (:func:`_explained_event`); ``fast=False`` sends every
    event through the latter (the differential test compares the two ways: same answers).
    """
    bounds = _Bounds.at(now or utcnow(), known_tenants, settings)
    problems: list[dict[str, Any]] = []
    distinct = _Distinct(sink)
    usual, admit = (_usual_event if fast else lambda raw, bounds: None), distinct.admit
    for index, raw in enumerate(raw_events):
        event = usual(raw, bounds)
        if event is None:
            event, event_id, own = _explained_event(raw, where(index), bounds)
            if own:
                problems += [{**item, "index": index, "event_id": event_id} for item in own]
                continue
        if not admit(event):
            problems.append({**_conflict(where(index), event.event_id), "index": index, "event_id": event.event_id})
    if not problems:
        distinct.finish()
    return distinct.valid, distinct.repeated, problems


def _reject(problems: list[dict[str, Any]], what_en: str = "batch", what_ja: str = "バッチ", *,
            invalid: int | None = None, errors_total: int | None = None) -> UsageRejected:
    """``invalid`` and ``errors_total``: the counts when ``problems`` holds only the first ones (a file)."""
    count = invalid if invalid is not None else len({p.get("index") for p in problems})
    return UsageRejected(
        f"{count} event(s) of the {what_en} are invalid; nothing was recorded. Fix them (see errors) and send the whole {what_en} again.",
        f"{what_ja}のうち {count} 件の利用実績に誤りがあります。何も記録していません。errors の内容を直して、{what_ja}全体を送り直してください。",
        problems=problems[:csvfile.MAX_PROBLEMS_LISTED],  # the one setting (RENKEI_MAX_PROBLEMS_LISTED)
        invalid_events=count,
        errors_listed=min(len(problems), csvfile.MAX_PROBLEMS_LISTED),
        errors_total=errors_total if errors_total is not None else len(problems),
    )


def batch_too_large(size: int, settings: MeteringSettings = DEFAULT_SETTINGS) -> UsageRejected:
    return UsageRejected(
        f"A batch may hold at most {settings.max_batch:,} events; this one has {size:,}. Split it and send the parts.",
        f"1 回に送れる利用実績は {settings.max_batch:,} 件までです（今回 {size:,} 件）。分割して送ってください。",
        problems=[problem("events", f"at most {settings.max_batch} events per request", f"1 回 {settings.max_batch} 件まで")],
    )


# --- ingestion ---------------------------------------------------------------------------------

def _dialect_insert(session: Session, table: sa.Table):
    return conflict_insert(session.get_bind().dialect.name, table)


# On PostgreSQL the usual batch (every event new) is copied (COPY) straight into usage_event while
# it is checked: validate_events hands each part of checked events to the COPY, so PostgreSQL
# stores one part while Python checks the next, inside a savepoint (COPY_EVENTS_PG). The primary
# key (event_id, occurred_at) is the check for events already stored. A bad event anywhere, a
# unique violation (a re-send, or a concurrent batch that committed the same event) or a deadlock
# (two batches sharing events, copied in different orders) rolls back to the savepoint: a bad
# event is refused, and otherwise the careful path decides. It copies the batch into a temporary
# staging table; one statement stores the events not stored yet, in key order (ON CONFLICT DO
# NOTHING), and hands back the ones already stored (STORE_EVENTS_PG). Either way one more
# statement upserts the day and month aggregates of what was stored, summed in Python
# (UPSERT_AGGREGATES_PG). SQLite (tests) takes the portable statements below.
# The staging table's name changes with its columns: a session that outlives a deploy (a pooled
# server connection) may still hold the table of an earlier version (usage_event_stage had a
# position column), and CREATE ... IF NOT EXISTS would keep that one.
STAGE_PG = (  # usage_event's columns, so that the rows copied into usage_event are staged as they are
    "CREATE TEMPORARY TABLE IF NOT EXISTS usage_ingest_rows (event_id varchar(128) NOT NULL, "
    "occurred_at timestamptz NOT NULL, tenant_code varchar(6) NOT NULL, metric varchar(32) NOT NULL, "
    "quantity bigint NOT NULL, batch_id integer) ON COMMIT DELETE ROWS"
)
COPY_STAGE_PG = "COPY usage_ingest_rows (event_id, occurred_at, tenant_code, metric, quantity, batch_id) FROM STDIN"
STORE_EVENTS_PG = (
    "WITH stored AS ("
    " INSERT INTO usage_event (event_id, occurred_at, tenant_code, metric, quantity, batch_id)"
    " SELECT event_id, occurred_at, tenant_code, metric, quantity, batch_id FROM usage_ingest_rows"
    " ORDER BY event_id, occurred_at"
    " ON CONFLICT (event_id, occurred_at) DO NOTHING RETURNING event_id, occurred_at) "
    # the events stored before, with what was stored (NULL if committed by another batch since
    # this statement began: the insert waited for it, the statement's snapshot does not show it)
    "SELECT s.event_id, s.occurred_at, e.tenant_code, e.metric, e.quantity FROM usage_ingest_rows s"
    " LEFT JOIN usage_event e ON e.event_id = s.event_id AND e.occurred_at = s.occurred_at"
    " WHERE NOT EXISTS (SELECT 1 FROM stored WHERE stored.event_id = s.event_id AND stored.occurred_at = s.occurred_at)"
)
# The day and month aggregates of what was stored: summed in Python while the batch is in hand
# (one dict pass, far cheaper than reading the staging table back), upserted in one statement
# from arrays, in key order so that concurrent batches lock the rows in the same order.
# The batch row: its id taken first (the events carry it), the row written with the counts at the end.
BATCH_ID_PG = "SELECT nextval(pg_get_serial_sequence('usage_batch', 'id'))"
INSERT_BATCH_PG = (
    "INSERT INTO usage_batch (id, received_at, source, actor_issuer, actor_subject, actor_name, request_id, source_ip, "
    "events_received, events_accepted, events_duplicate) VALUES (%(id)s, %(received_at)s, %(source)s, %(actor_issuer)s, "
    "%(actor_subject)s, %(actor_name)s, %(request_id)s, %(source_ip)s, %(events_received)s, %(events_accepted)s, "
    "%(events_duplicate)s)"
)
# hands back the month rows only (quotas compare months); writes the batch row too. The application
# role may not write usage_aggregate itself: the owner's function (models.USAGE_ADD_FUNCTION) checks
# the day rows against the batch's stored events before it upserts them, in key order.
UPSERT_AGGREGATES_PG = (
    f"SELECT tenant_code, metric, period_start, total, peak, last_value FROM {USAGE_ADD_FUNCTION}("
    "%(id)s, %(received_at)s, %(source)s, %(actor_issuer)s, %(actor_subject)s, %(actor_name)s, %(request_id)s, "
    "%(source_ip)s, %(events_received)s, %(events_accepted)s, %(events_duplicate)s, "
    "%(tenant)s::varchar[], %(metric)s::varchar[], %(granularity)s::varchar[], %(period)s::date[], "
    "%(total)s::bigint[], %(peak)s::bigint[], %(events)s::bigint[], %(last_value)s::bigint[], %(last_at)s::timestamptz[])"
)
# One call the gateway check allowed (record_gateway_call): its event stored, with a batch id of its
# own, unless its request id was counted within the window; hands back whether it was stored. The
# aggregates then go through the same guarded function as every batch (UPSERT_AGGREGATES_PG).
GATEWAY_EVENT_PG = (
    "INSERT INTO usage_event (event_id, occurred_at, tenant_code, metric, quantity, batch_id) "
    "SELECT CAST(%(event_id)s AS VARCHAR), CAST(%(at)s AS TIMESTAMPTZ), CAST(%(tenant)s AS VARCHAR), 'api_calls', "
    "CAST(%(quantity)s AS BIGINT), CAST(%(batch_id)s AS INTEGER) "
    "WHERE NOT EXISTS (SELECT 1 FROM usage_event WHERE event_id = CAST(%(event_id)s AS VARCHAR) "
    "AND occurred_at >= CAST(%(since)s AS TIMESTAMPTZ)) "
    "ON CONFLICT (event_id, occurred_at) DO NOTHING RETURNING occurred_at"
)
_JST_OFFSET = JST.utcoffset(None)  # Japan keeps no summer time: a UTC instant + this offset is its Japan-time day

COPY_EVENTS_PG = "COPY usage_event (event_id, occurred_at, tenant_code, metric, quantity, batch_id) FROM STDIN"
_DEADLOCK = "40P01"
_EVENT_KEY = operator.itemgetter(0, 4)  # (event_id, occurred_at): what identifies a stored event
_UNIQUE_VIOLATION = "23505"
_CAREFUL_ATTEMPTS = 3  # the careful path, tried again after a deadlock with a batch on the fast path
# COPY text format: a backslash, tab, newline or carriage return inside a value is escaped
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_rows(events: list[ValidEvent], batch_id: int) -> bytes:
    """The rows of usage_event (and of the staging table) in COPY text format, in one pass.

    Tenant codes and metrics are validated names, quantities whole numbers and ``stamp`` an ISO
    8601 text PostgreSQL parses; only an event_id (validated: no NUL) may hold a character that
    COPY escapes, which is rare, so it is looked for once over the whole text."""
    text = "".join([f"{e[0]}\t{e[5]}\t{e[1]}\t{e[2]}\t{e[3]}\t{batch_id}\n" for e in events])
    if "\\" in text or "\r" in text or text.count("\t") != 5 * len(events) or text.count("\n") != len(events):
        text = "".join([f"{e[0].translate(_COPY_ESCAPES)}\t{e[5]}\t{e[1]}\t{e[2]}\t{e[3]}\t{batch_id}\n" for e in events])
    return text.encode()


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _store_events(session: Session, events: list[ValidEvent], batch_id: int | None) -> set[tuple[str, dt.datetime]]:
    """Insert the events not stored yet (SQLite); returns the (event_id, occurred_at) of those inserted.

    Events are inserted in key order, so that two batches sharing events (a log import beside the
    live gateway) take their row locks in the same order and cannot deadlock each other.
    """
    if not events:
        return set()
    table = UsageEvent.__table__
    ordered = sorted(events, key=_EVENT_KEY)
    statement = (_dialect_insert(session, table)
                 .on_conflict_do_nothing(index_elements=["event_id", "occurred_at"])
                 .returning(table.c.event_id, table.c.occurred_at))
    return {tuple(row) for row in session.connection().execute(statement, [
        {"event_id": e.event_id, "tenant_code": e.tenant_code, "metric": e.metric, "quantity": e.quantity,
         "occurred_at": e.occurred_at, "batch_id": batch_id} for e in ordered])}


def _ingest_pg(session: Session, check: Callable[[Callable[[list[ValidEvent]], None] | None], tuple],
               refused: Callable[[list[ValidEvent]], list[dict[str, Any]]], batch: dict[str, Any],
               on_resent: Callable[[list[ValidEvent], Mapping[tuple, tuple | None]], None],
               ) -> tuple[list[ValidEvent], int, int, list[MonthFigure]]:
    """PostgreSQL: check the batch while copying it into usage_event (or, when some of it is stored
    already, through the staging table), store what is new, upsert its aggregates and write the
    batch row (``batch``: its columns but the id and the counts).

    ``check(sink)`` is :func:`validate_events` bound to the batch; ``refused(events)`` names what
    the stored aggregates refuse (:func:`aggregate_overflow`); ``on_resent`` is called with the
    events already stored and what was stored (before any aggregate changes), so that a reused
    event_id can refuse the batch. A refusal raises :class:`UsageRejected`, with nothing of the
    batch written. Returns (events, batch id, events stored, month figures). Round trips: one for
    the savepoint and the batch's id (pipelined), the COPY, one for the release, the aggregates and
    the batch row (pipelined).
    """
    connection = session.connection()
    driver = connection.connection.driver_connection
    days: dict[tuple, list] = {}
    with driver.cursor() as cursor:
        with driver.pipeline():  # (BEGIN,) SAVEPOINT and the id in one round trip
            driver.execute("SAVEPOINT usage_ingest")
            cursor.execute(BATCH_ID_PG)
        batch_id = cursor.fetchone()[0]

        def copied(part: list[ValidEvent]) -> None:  # PostgreSQL stores this part while the next is checked
            copy.write(_copy_rows(part, batch_id))
            _add_days(days, part)

        events = rows = overflow = None
        try:
            with cursor.copy(COPY_EVENTS_PG) as copy:
                events, _, problems = check(copied)
                if problems:
                    raise _reject(problems)
                rows = _aggregate_columns(days)  # while PostgreSQL takes the last rows
            overflow = refused(events)
            if overflow:
                raise _reject(overflow)
        except Exception as error:
            cursor.execute("ROLLBACK TO SAVEPOINT usage_ingest")
            cursor.execute("RELEASE SAVEPOINT usage_ingest")
            if isinstance(error, UsageRejected) or getattr(error, "sqlstate", None) not in (_UNIQUE_VIOLATION, _DEADLOCK):
                raise
            fast = False
        else:
            fast = True
        resent: list[ValidEvent] = []
        if not fast:  # some of the batch is stored already (or was being stored by another batch)
            if rows is None:  # stopped before the check was done
                events, _, problems = check(None)
                if problems:
                    raise _reject(problems)
            if overflow is None:  # the copy stopped before the aggregates were asked
                overflow = refused(events)
                if overflow:
                    raise _reject(overflow)
            stored_before = _store_careful(connection, driver, events, batch_id)
            resent = [e for e in events if _EVENT_KEY(e) in stored_before]
            if resent:
                on_resent(resent, stored_before)
                rows = _aggregate_rows([e for e in events if _EVENT_KEY(e) not in stored_before])
        accepted = len(events) - len(resent)
        values = {**batch, "id": batch_id, "events_accepted": accepted,
                  "events_duplicate": batch["events_received"] - accepted}
        with driver.pipeline():
            if fast:
                driver.execute("RELEASE SAVEPOINT usage_ingest")
            cursor.execute(UPSERT_AGGREGATES_PG if accepted else INSERT_BATCH_PG, {**rows, **values} if accepted else values)
        figures = [MonthFigure(*row) for row in cursor] if accepted else []
    return events, batch_id, accepted, figures


def _store_careful(connection: sa.Connection, driver: Any, events: list[ValidEvent],
                   batch_id: int) -> dict[tuple[str, dt.datetime], tuple | None]:
    """The careful path: stage the batch, store the events not stored yet in key order; returns
    the events stored before, by (event_id, occurred_at), each with what was stored (its
    :meth:`ValidEvent.key`, or None when it is not known yet). A deadlock with a batch copied on
    the fast path (in its own order) is tried again, a few times, from a savepoint."""
    connection.exec_driver_sql(STAGE_PG)
    text = _copy_rows(events, batch_id)
    attempts = 0
    with driver.cursor() as cursor:
        while True:
            attempts += 1
            cursor.execute("SAVEPOINT usage_ingest_careful")
            try:
                with cursor.copy(COPY_STAGE_PG) as copy:
                    copy.write(text)
                cursor.execute(STORE_EVENTS_PG)
                stored_before = {(event_id, at): (tenant, metric, quantity, at) if tenant is not None else None
                                 for event_id, at, tenant, metric, quantity in cursor}
            except Exception as error:
                cursor.execute("ROLLBACK TO SAVEPOINT usage_ingest_careful")
                cursor.execute("RELEASE SAVEPOINT usage_ingest_careful")
                if getattr(error, "sqlstate", None) != _DEADLOCK or attempts == _CAREFUL_ATTEMPTS:
                    raise
                continue
            cursor.execute("RELEASE SAVEPOINT usage_ingest_careful")
            cursor.execute("DELETE FROM usage_ingest_rows")  # stored or refused: stage nothing more
            return stored_before


def _add_days(days: dict[tuple, list], events: Iterable[ValidEvent]) -> None:
    """Add ``events`` to their Japan-time day buckets in ``days``: [total, peak, count, the value
    with the latest timestamp (the later event on a tie), that timestamp]."""
    offset = _JST_OFFSET
    for _, tenant, metric, quantity, at, _ in events:
        key = (tenant, metric, (at + offset).date())
        bucket = days.get(key)
        if bucket is None:
            days[key] = [quantity, quantity, 1, quantity, at]
            continue
        bucket[0] += quantity
        bucket[2] += 1
        if quantity > bucket[1]:
            bucket[1] = quantity
        if at >= bucket[4]:
            bucket[3], bucket[4] = quantity, at


def _aggregate_rows(events: Iterable[ValidEvent]) -> dict[str, str]:
    """The day and month buckets of ``events`` as the columns of :data:`UPSERT_AGGREGATES_PG`."""
    days: dict[tuple, list] = {}
    _add_days(days, events)
    return _aggregate_columns(days)


def _months_of(days: dict[tuple, list]) -> dict[tuple, list]:
    """The month buckets (tenant, metric, first day of the month) that the day buckets of
    :func:`_add_days` make, in the same form."""
    months: dict[tuple, list] = {}
    for (tenant, metric, day), (total, peak, count, last_value, last_at) in days.items():
        key = (tenant, metric, day.replace(day=1))
        bucket = months.get(key)
        if bucket is None:
            months[key] = [total, peak, count, last_value, last_at]
            continue
        bucket[0] += total
        bucket[2] += count
        if peak > bucket[1]:
            bucket[1] = peak
        if last_at > bucket[4]:  # days do not overlap: two days never share a last timestamp
            bucket[3], bucket[4] = last_value, last_at
    return months


def _aggregate_columns(days: dict[tuple, list]) -> dict[str, str]:
    """The day buckets of :func:`_add_days` and their month buckets as the columns of
    :data:`UPSERT_AGGREGATES_PG`: total, peak, count, and the value with the latest timestamp.

    Each column goes as one array literal (``{a,b,...}``), which PostgreSQL casts: its elements
    are validated tenant codes and metric names, whole numbers, dates and UTC ISO 8601 times, none
    of which holds a comma, brace, quote, backslash or space, so none needs quoting; psycopg's own
    array adaptation of the same lists costs several times more."""
    months = _months_of(days)
    keys = [*days, *months]
    values = [*days.values(), *months.values()]
    return {"tenant": "{" + ",".join([key[0] for key in keys]) + "}",
            "metric": "{" + ",".join([key[1] for key in keys]) + "}",
            "granularity": "{" + ",".join(["day"] * len(days) + ["month"] * len(months)) + "}",
            "period": "{" + ",".join([key[2].isoformat() for key in keys]) + "}",
            "total": "{" + ",".join([str(value[0]) for value in values]) + "}",
            "peak": "{" + ",".join([str(value[1]) for value in values]) + "}",
            "events": "{" + ",".join([str(value[2]) for value in values]) + "}",
            "last_value": "{" + ",".join([str(value[3]) for value in values]) + "}",
            "last_at": "{" + ",".join([value[4].isoformat() for value in values]) + "}"}


def _check_resent(session: Session, resent: list[ValidEvent], where: Callable[[int], str],
                  positions: dict[tuple[str, dt.datetime], int],
                  known: Mapping[tuple[str, dt.datetime], tuple | None] | None = None) -> None:
    """Events already stored must be the same events: the same event_id at the same instant for
    other data is refused (``positions``: where each (event_id, instant) was in the batch;
    ``known``: what was stored, by (event_id, instant), as far as the caller read it)."""
    table = UsageEvent.__table__
    stored: dict[tuple[str, dt.datetime], tuple] = {key: value for key, value in (known or {}).items() if value}
    keys = [key for key in map(_EVENT_KEY, resent) if key not in stored]
    for start in range(0, len(keys), 1000):
        for row in session.connection().execute(
            sa.select(table.c.event_id, table.c.tenant_code, table.c.metric, table.c.quantity, table.c.occurred_at)
            .where(sa.tuple_(table.c.event_id, table.c.occurred_at).in_(keys[start:start + 1000]))
        ):
            stored[(row.event_id, row.occurred_at)] = (row.tenant_code, row.metric, row.quantity, row.occurred_at)
    problems = []
    for event in resent:
        if stored.get(_EVENT_KEY(event), event.key()) != event.key():
            index = positions.get(_EVENT_KEY(event), 0)
            problems.append({**problem(f"{where(index)}.event_id",
                                       f"event_id {event.event_id} was already recorded for a different event at the same time; each event needs its own event_id",
                                       f"event_id {event.event_id} は同じ日時の別の内容の利用実績ですでに記録されています。イベントごとに別の event_id を付けてください。"),
                             "index": index, "event_id": event.event_id})
    if problems:
        raise _reject(problems)


@dataclasses.dataclass(frozen=True)
class MonthFigure:
    """A tenant's month aggregate for one metric after an ingest."""

    tenant_code: str
    metric: str
    month: dt.date
    total: int
    peak: int
    last_value: int

    @property
    def used(self) -> int:
        """What a quota compares: the month's sum for a counter, the latest level for a gauge."""
        return self.last_value if METRICS[self.metric].kind is MetricKind.gauge else self.total


def _upsert_aggregates(session: Session, events: Iterable[ValidEvent]) -> list[MonthFigure]:
    """The portable upsert of the day and month buckets (SQLite), in key order."""
    days: dict[tuple, list] = {}
    _add_days(days, events)
    if not days:
        return []
    buckets = {**{(t, m, "day", p): b for (t, m, p), b in days.items()},
               **{(t, m, "month", p): b for (t, m, p), b in _months_of(days).items()}}
    figures = []
    table = UsageAggregate.__table__
    rows = [{"tenant_code": t, "metric": m, "granularity": g, "period_start": p, "total": total, "peak": peak,
             "events": count, "last_value": last_value, "last_at": last_at}
            for (t, m, g, p), (total, peak, count, last_value, last_at) in sorted(buckets.items())]
    for start in range(0, len(rows), _UPSERT_CHUNK):
        statement = _dialect_insert(session, table).values(rows[start:start + _UPSERT_CHUNK])
        new = statement.excluded
        newer = new.last_at >= table.c.last_at
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_code", "metric", "granularity", "period_start"],
            set_={
                "total": table.c.total + new.total,
                "peak": sa.case((new.peak > table.c.peak, new.peak), else_=table.c.peak),
                "events": table.c.events + new.events,
                "last_value": sa.case((newer, new.last_value), else_=table.c.last_value),
                "last_at": sa.case((newer, new.last_at), else_=table.c.last_at),
            },
        ).returning(table.c.tenant_code, table.c.metric, table.c.granularity, table.c.period_start,
                    table.c.total, table.c.peak, table.c.last_value)
        for row in session.connection().execute(statement):
            if Granularity(row.granularity) is Granularity.month:
                figures.append(MonthFigure(row.tenant_code, row.metric, row.period_start, row.total, row.peak,
                                           row.last_value))
    return figures


# The largest total an aggregate column (bigint) holds. A batch is checked against the stored
# aggregates only for periods to which it adds at least AGGREGATE_CHECK_FROM: batches adding less
# would need billions of batches for one tenant and month to come near the limit.
AGGREGATE_MAX = 2**63 - 1
AGGREGATE_CHECK_FROM = 2**32


def aggregate_overflow(session: Session, events: Sequence[ValidEvent], where: Callable[[int], str] = _default_where,
                       raw_events: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """Problems naming the first event of each day or month aggregate the batch would overflow
    (beyond what a bigint column holds), so such a batch is refused at validation, not by the database."""
    if sum([event.quantity for event in events]) < AGGREGATE_CHECK_FROM:
        return []  # the usual batch: no aggregate can receive AGGREGATE_CHECK_FROM from it, nothing to look up
    added: dict[tuple, int] = {}
    keyed = []
    for event in events:
        day = jst_day(event.occurred_at)
        keys = ((event.tenant_code, event.metric, Granularity.day, day),
                (event.tenant_code, event.metric, Granularity.month, month_of(day)))
        keyed.append((event, keys))
        for key in keys:
            added[key] = added.get(key, 0) + event.quantity
    large = [key for key, amount in added.items() if amount >= AGGREGATE_CHECK_FROM]
    if not large:
        return []
    table = UsageAggregate.__table__
    stored: dict[tuple, int] = {}
    for tenant_code, metric, granularity, period in large:
        total = session.execute(sa.select(table.c.total).where(
            table.c.tenant_code == tenant_code, table.c.metric == metric,
            table.c.granularity == granularity.value, table.c.period_start == period)).scalar()
        stored[(tenant_code, metric, granularity, period)] = int(total or 0)
    problems: list[dict[str, Any]] = []
    positions: dict[str, int] = {}
    for index, (event, keys) in enumerate(keyed):
        for key in keys:
            if key not in stored or stored[key] > AGGREGATE_MAX:
                continue
            stored[key] += event.quantity
            if stored[key] > AGGREGATE_MAX:  # reported once per aggregate, at the event that overflows it
                if raw_events is not None and not positions:  # where the event was in the batch sent
                    for position, raw in enumerate(raw_events):
                        positions.setdefault(raw["event_id"], position)
                position = positions.get(event.event_id, index)
                place = where(position)
                period_en = "day" if key[2] is Granularity.day else "month"
                period_ja = "日" if key[2] is Granularity.day else "月"
                problems.append({**problem(
                    f"{place}.quantity",
                    f"event {event.event_id}: the {period_en} total of {event.metric} for tenant {event.tenant_code} "
                    f"({key[3].isoformat()}) would exceed {AGGREGATE_MAX:,}, the largest figure renkei can keep; "
                    "check the quantities",
                    f"イベント {event.event_id}：団体 {event.tenant_code} の {event.metric} の{period_ja}合計（{key[3].isoformat()}）が"
                    f"記録できる上限 {AGGREGATE_MAX:,} を超えます。数量を確認してください。"),
                    "index": position, "event_id": event.event_id})
    return problems


_collector_lock = threading.Lock()
_collector_pausers = 0  # ingests running now that paused the collector (several threads may ingest at once)


def _collector_paused(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``function`` with CPython's cyclic garbage collector paused, then restore it.

    A batch of 10,000 events makes some 50,000 short-lived, acyclic objects (reference counting
    frees them all); left alone, the collector would walk the whole heap of the process for them
    (a full collection of a loaded server took 0.1-0.4 s of a 10,000-event batch's 0.6 s). The
    pause is bounded by one batch; nested or concurrent ingests share it (the last one resumes),
    and a collector someone else disabled stays disabled."""

    @functools.wraps(function)
    def paused(*args: Any, **kwargs: Any) -> Any:
        global _collector_pausers
        with _collector_lock:
            pause = gc.isenabled() or _collector_pausers > 0
            if pause:
                _collector_pausers += 1
                gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if pause:
                with _collector_lock:
                    _collector_pausers -= 1
                    if _collector_pausers == 0:
                        gc.enable()

    return paused


# Gauges renkei counts itself: a client (the usage API, an import file) may not report them.
COUNTED_BY_RENKEI = {"datasets": ("the dataset register", "データセット台帳")}
REGISTER_SOURCE = "register"
CLIENT_SOURCES = frozenset({"api", "import"})


def _refuse_counted_by_renkei(raw_events: Sequence[Any], where: Callable[[int], str]) -> None:
    found = [problem(f"{where(i)}.metric", f"{raw['metric']} is counted from {COUNTED_BY_RENKEI[raw['metric']][0]}; it is not reported",
                     f"{raw['metric']} は{COUNTED_BY_RENKEI[raw['metric']][1]}から数えるため、送信できません。")
             for i, raw in enumerate(raw_events)
             if isinstance(raw, dict) and isinstance(raw.get("metric"), str) and raw["metric"] in COUNTED_BY_RENKEI]
    if found:
        raise UsageRejected("Some events report a figure renkei counts itself; nothing was recorded.",
                            "renkei が自ら数える指標を送信したイベントがあります。何も記録していません。",
                            problems=found[:csvfile.MAX_PROBLEMS_LISTED], errors_listed=min(len(found), csvfile.MAX_PROBLEMS_LISTED))


@_collector_paused
def ingest(
    session: Session,
    actor: Actor,
    raw_events: Sequence[Any],
    *,
    source: str = "api",
    now: dt.datetime | None = None,
    settings: MeteringSettings = DEFAULT_SETTINGS,
    where: Callable[[int], str] = _default_where,
    known_tenants: frozenset[str] | None = None,
) -> IngestResult:
    """Record a batch of usage events (all or nothing); update aggregates, alerts and the quota cache."""
    authz.authorize(actor, "usage.ingest")
    now = now or utcnow()
    if len(raw_events) > settings.max_batch:
        raise batch_too_large(len(raw_events), settings)
    if not raw_events:
        raise UsageRejected("The batch has no events; send at least one.", "イベントが1件もありません。1件以上送ってください。",
                            problems=[problem("events", "at least one event is required", "1件以上必要です。")])
    if source in CLIENT_SOURCES:
        _refuse_counted_by_renkei(raw_events, where)
    known = known_tenants if known_tenants is not None else tenant_codes(session)

    def check(sink: Callable[[list[ValidEvent]], None] | None = None) -> tuple:
        return validate_events(raw_events, known, now=now, settings=settings, where=where, sink=sink)

    def refused(events: list[ValidEvent]) -> list[dict[str, Any]]:
        return aggregate_overflow(session, events, where, raw_events)

    def check_resent(resent: list[ValidEvent], known: Mapping[tuple, tuple | None] | None = None) -> None:
        ids = {e.event_id for e in resent}
        positions: dict[tuple[str, dt.datetime], int] = {}
        for index, raw in enumerate(raw_events):
            if raw["event_id"] in ids:
                positions.setdefault((raw["event_id"], _parse_timestamp(raw["timestamp"])), index)
        _check_resent(session, resent, where, positions, known)

    batch = dict(source=source, actor_issuer=actor.issuer, actor_subject=actor.subject, actor_name=actor.name,
                 request_id=actor.request_id, source_ip=actor.source_ip, events_received=len(raw_events),
                 received_at=now)
    session.flush()  # what the caller changed before, ahead of the batch (a no-op when nothing is pending)
    if _postgresql(session):  # checked while copied; the batch row is written with the aggregates
        events, batch_id, accepted, figures = _ingest_pg(session, check, refused, batch, check_resent)
    else:
        events, _, problems = check()
        if problems:
            raise _reject(problems)
        overflow = refused(events)
        if overflow:
            raise _reject(overflow)
        row = UsageBatch(**batch)
        session.add(row)
        session.flush()
        batch_id = row.id
        inserted = _store_events(session, events, batch_id)
        fresh = events
        if len(inserted) < len(events):
            check_resent([e for e in events if _EVENT_KEY(e) not in inserted])
            fresh = [e for e in events if _EVENT_KEY(e) in inserted]
        accepted, figures = len(fresh), _upsert_aggregates(session, fresh)
        row.events_accepted = accepted
        row.events_duplicate = len(raw_events) - accepted
    alerts = quotas.after_usage_recorded(session, figures, now=now)
    tenants = sorted({event.tenant_code for event in events})
    # one audit record per batch (not per event): who sent what, and how much of it counted
    audit.record(session, actor, "usage.ingest", "usage_batch", str(batch_id),
                 tenant_code=tenants[0] if len(tenants) == 1 else None,
                 after={"source": source, "received": len(raw_events), "accepted": accepted,
                        "duplicates": len(raw_events) - accepted, "tenants": tenants, "alerts": alerts})
    session.flush()
    return IngestResult(batch_id, len(raw_events), accepted, len(raw_events) - accepted, alerts)


# An API call the gateway check let through is counted as one api_calls event, known by the
# gateway's request id: GATEWAY_EVENT_PREFIX + the id (nginx's $request_id). A request id already
# counted within GATEWAY_REPEAT_WINDOW (nginx asks again for the same request after an internal
# redirect; a gateway may retry) is not counted again.
GATEWAY_EVENT_PREFIX = "gateway:"
GATEWAY_REPEAT_WINDOW = dt.timedelta(hours=24)


def record_gateway_call(session: Session, actor: Actor, tenant_code: str, request_id: str, quantity: int = 1, *,
                        now: dt.datetime | None = None) -> bool:
    """Count one call the gateway check allowed as ``quantity`` api_calls of ``tenant_code``, in the
    caller's transaction (the event, its day and month aggregates, the threshold alerts and the quota
    cache's figure once committed, as :func:`ingest` does for a batch). Idempotent per ``request_id``:
    one counted in the last :data:`GATEWAY_REPEAT_WINDOW` is not counted again (returns False).

    The call is a batch of one event (``usage_batch`` source ``gateway``), so its aggregates go
    through the one guarded writer as every batch's do (the application role cannot write
    usage_aggregate otherwise); no audit record per call (a call is a consumer's request, not an
    administrative act; the request log keeps it). Repeats of one request id are expected one after
    the other (the same nginx request); two at the very same moment may both count.

    On PostgreSQL the transaction commits without waiting for its WAL to be flushed
    (``synchronous_commit`` off for it alone): a crash of the database server may lose the calls
    counted in its last moments (at most three times ``wal_writer_delay``, 0.6 s by default); they
    were let through uncounted, nothing else is lost or torn, and a threshold alert lost so is queued
    again by the next call. A durable commit per API call would cost a disk flush per call."""
    authz.authorize(actor, "usage.ingest")
    now = (now or utcnow()).astimezone(dt.timezone.utc)
    event_id = f"{GATEWAY_EVENT_PREFIX}{request_id}"[:MAX_EVENT_ID_LENGTH]
    event = ValidEvent(event_id, tenant_code, "api_calls", quantity, now, now.isoformat())
    batch = dict(source="gateway", actor_issuer=actor.issuer, actor_subject=actor.subject, actor_name=actor.name,
                 request_id=actor.request_id, source_ip=actor.source_ip, events_received=1, received_at=now,
                 events_accepted=1, events_duplicate=0)
    if _postgresql(session):
        connection = session.connection()
        # this transaction's commit does not wait for the WAL to reach the disk (see the docstring)
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        batch_id = connection.exec_driver_sql(BATCH_ID_PG).scalar_one()
        stored = connection.exec_driver_sql(GATEWAY_EVENT_PG, {
            "event_id": event_id, "since": now - GATEWAY_REPEAT_WINDOW, "at": now, "tenant": tenant_code,
            "quantity": quantity, "batch_id": batch_id}).first()
        if stored is None:
            return False
        rows = connection.exec_driver_sql(UPSERT_AGGREGATES_PG, {**_aggregate_rows([event]), **batch, "id": batch_id})
        figures = [MonthFigure(*row) for row in rows]
        quotas.after_usage_recorded(session, figures, now=now)
        return True
    table = UsageEvent.__table__
    seen = session.connection().execute(
        sa.select(table.c.occurred_at).where(table.c.event_id == event_id,
                                             table.c.occurred_at >= now - GATEWAY_REPEAT_WINDOW).limit(1)).first()
    if seen is not None:
        return False
    row = UsageBatch(**batch)
    session.add(row)
    session.flush()
    if not _store_events(session, [event], row.id):
        row.events_accepted, row.events_duplicate = 0, 1
        return False
    quotas.after_usage_recorded(session, _upsert_aggregates(session, [event]), now=now)
    return True


def record_levels(session: Session, actor: Actor, metric: str, level_of: Callable[[str], int], codes: Iterable[str],
                  *, source: str, now: dt.datetime | None = None) -> IngestResult:
    """A gauge of each tenant counted by renkei itself (not reported by a client), recorded as usage events
    known by ``source``, metric, tenant and instant."""
    now = now or utcnow()
    stamp = now.astimezone(dt.timezone.utc).isoformat()
    events = [{"tenant": code, "metric": metric, "quantity": level_of(code), "timestamp": stamp,
               "event_id": f"{source}:{metric}:{code}:{stamp}"} for code in codes]
    return ingest(session, actor, events, source=source, now=now)


def record_user_seats(session: Session, actor: Actor, count_members: Callable[[str], int],
                      codes: Iterable[str], *, now: dt.datetime | None = None) -> IngestResult:
    """The ``user_seats`` gauge of each tenant, counted from its Keycloak group, recorded as usage events."""
    return record_levels(session, actor, "user_seats", count_members, codes, source="keycloak", now=now)


def record_registered_datasets(session: Session, actor: Actor, counts: Mapping[str, int], codes: Iterable[str],
                               *, now: dt.datetime | None = None) -> IngestResult:
    """The ``datasets`` gauge of each tenant, counted from the dataset register
    (:func:`tenancy.datasets.operations.gauge_counts`), recorded as usage events."""
    return record_levels(session, actor, "datasets", lambda code: counts.get(code, 0), codes, source=REGISTER_SOURCE,
                         now=now)


# --- reading -----------------------------------------------------------------------------------

def _value_column(metric: str):
    table = UsageAggregate.__table__
    return table.c.peak if METRICS[metric].kind is MetricKind.gauge else table.c.total


class UnknownMetric(Invalid):
    def __init__(self, metric: str) -> None:
        names = ", ".join(METRICS)
        super().__init__(f"Unknown metric {metric!r}; use one of {names}.",
                         f"指標 {metric!r} はありません。次のいずれかを指定してください: {names}",
                         problems=[problem("metric", f"use one of {names}", f"次のいずれか: {names}")], metric=metric)


def usage_total(session: Session, tenant_code: str, metric: str, fiscal_year: int) -> int:
    """A tenant's usage of ``metric`` over a fiscal year (April..March): the sum of its monthly figures.

    A counter's monthly figure is its total; a gauge's is its peak level in the month, so a
    gauge's fiscal-year total is in unit-months (e.g. byte-months of storage). Billing's
    ``usage:<metric>`` basis reads this.
    """
    if metric not in METRICS:
        raise UnknownMetric(metric)
    table = UsageAggregate.__table__
    months = fiscal_months(fiscal_year)
    total = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(_value_column(metric)), 0)).where(
            table.c.tenant_code == tenant_code, table.c.metric == metric,
            table.c.granularity == Granularity.month.value,
            table.c.period_start >= months[0], table.c.period_start <= months[-1])
    ).scalar_one()
    return int(total)


def usage_totals(session: Session, metric: str, fiscal_year: int) -> dict[str, int]:
    """tenant → its :func:`usage_total` of ``metric`` over the fiscal year, for every tenant with
    usage, in one grouped query."""
    if metric not in METRICS:
        raise UnknownMetric(metric)
    table = UsageAggregate.__table__
    months = fiscal_months(fiscal_year)
    rows = session.execute(
        sa.select(table.c.tenant_code, sa.func.coalesce(sa.func.sum(_value_column(metric)), 0)).where(
            table.c.metric == metric, table.c.granularity == Granularity.month.value,
            table.c.period_start >= months[0], table.c.period_start <= months[-1])
        .group_by(table.c.tenant_code))
    return {code: int(total) for code, total in rows}


def monthly_values(session: Session, months: Sequence[dt.date], tenant_codes: Sequence[str] | None = None,
                   metrics: Sequence[str] | None = None) -> dict[tuple[str, str, dt.date], int]:
    """(tenant, metric, month) → the month's figure, for the months and tenants asked (absent = no usage)."""
    if not months:
        return {}
    table = UsageAggregate.__table__
    query = sa.select(table.c.tenant_code, table.c.metric, table.c.period_start, table.c.total, table.c.peak).where(
        table.c.granularity == Granularity.month.value,
        table.c.period_start >= min(months), table.c.period_start <= max(months))
    if tenant_codes is not None:
        query = query.where(table.c.tenant_code.in_(list(tenant_codes)))
    if metrics is not None:
        query = query.where(table.c.metric.in_(list(metrics)))
    wanted = set(months)
    result = {}
    for row in session.execute(query):
        if row.period_start in wanted and row.metric in METRICS:
            value = row.peak if METRICS[row.metric].kind is MetricKind.gauge else row.total
            result[(row.tenant_code, row.metric, row.period_start)] = int(value)
    return result


def daily_values(session: Session, tenant_code: str, metric: str, month: dt.date) -> dict[dt.date, int]:
    table = UsageAggregate.__table__
    rows = session.execute(
        sa.select(table.c.period_start, table.c.total, table.c.peak).where(
            table.c.tenant_code == tenant_code, table.c.metric == metric, table.c.granularity == Granularity.day.value,
            table.c.period_start >= month, table.c.period_start < add_months(month, 1)).order_by(table.c.period_start))
    gauge = METRICS[metric].kind is MetricKind.gauge
    return {row.period_start: int(row.peak if gauge else row.total) for row in rows}


# --- retention ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PurgeResult:
    cutoff: dt.datetime
    deleted: int
    partitions_dropped: list[str] = dataclasses.field(default_factory=list)


def prepare_partitions(session: Session, *, now: dt.datetime | None = None,
                       settings: MeteringSettings = DEFAULT_SETTINGS,
                       ahead: int = partitions.MONTHS_AHEAD) -> list[str]:
    """PostgreSQL: the monthly partitions of the retention window and ``ahead`` months beyond the
    current one (the due jobs); returns the partitions created. A no-op on SQLite."""
    connection = session.connection()
    if not partitions.is_partitioned(connection):
        return []
    partitions.ensure_default(connection)
    return partitions.ensure_months(connection, partitions.window(now, settings.retention_months, ahead))


def purge_events(session: Session, actor: Actor, *, now: dt.datetime | None = None,
                 settings: MeteringSettings = DEFAULT_SETTINGS, dry_run: bool = False) -> PurgeResult:
    """Delete raw events older than the retention window; aggregates stay (reports need them)."""
    authz.authorize(actor, "usage.purge")
    cutoff = retention_cutoff(now, settings)
    connection = session.connection()
    table = UsageEvent.__table__
    dropped: list[str] = []
    if partitions.is_partitioned(connection):  # PostgreSQL: whole monthly partitions go
        dropped, deleted = partitions.drop_before(connection, cutoff, dry_run=dry_run)
    elif dry_run:
        deleted = session.execute(sa.select(sa.func.count()).select_from(table).where(table.c.occurred_at < cutoff)).scalar_one()
    else:
        deleted = connection.execute(sa.delete(table).where(table.c.occurred_at < cutoff)).rowcount
    if dry_run or not deleted and not dropped:
        return PurgeResult(cutoff, int(deleted))
    audit.record(session, actor, "usage.purge", "usage_event", cutoff.date().isoformat(),
                 after={"cutoff": cutoff.isoformat(), "deleted": int(deleted), "partitions_dropped": dropped,
                        "retention_months": settings.retention_months})
    return PurgeResult(cutoff, int(deleted), dropped)
