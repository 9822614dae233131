"""Checking usage events before they are recorded (the ingest's validation): the one rule for an
event, its fast check (a checked cache of that rule), the batch's distinct events, and the refusals.

Moved out of :mod:`usage.metering` (issue 24: modules a person can hold); metering
records what passes here.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import itertools
import logging
import operator
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import csvfile
from core.errors import Invalid, problem
from core.calendar import add_months, current_month, month_start_utc, to_jst
from core.db import utcnow
from usage.models import METRICS
from tenancy.registry.models import Tenant

log = logging.getLogger(__name__)

MAX_EVENT_ID_LENGTH = 128


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
    """A checked event. A batch keeps its events as columns (:class:`CheckedEvents`), not as these."""

    event_id: str
    tenant_code: str
    metric: str
    quantity: int
    occurred_at: dt.datetime  # UTC
    dataset: str | None = None  # the register's name of the tenant's own dataset whose use this counts (optional)

    def key(self) -> tuple:
        """(tenant_code, metric, quantity, occurred_at, dataset): what makes two events the same."""
        return (self.tenant_code, self.metric, self.quantity, self.occurred_at, self.dataset)


class CheckedEvents(Sequence[ValidEvent]):
    """A batch's distinct checked events, kept as columns: one list per field of :class:`ValidEvent`,
    read by the field's name (``events.tenant_code``); an item read is a :class:`ValidEvent`.

    Why columns: a batch of 10,000 events kept as 10,000 tuples would leave as many objects for
    CPython's cyclic garbage collector, which then walks a server's whole heap in a full collection
    every few batches; columns of text, numbers and times leave it six lists. The ingest's hot
    steps (the COPY, the day and month sums) read the columns they need side by side."""

    __slots__ = ValidEvent._fields

    def __init__(self, *columns: list) -> None:
        for name, column in zip(ValidEvent._fields, columns or [[] for _ in ValidEvent._fields], strict=True):
            setattr(self, name, column)

    @classmethod
    def of(cls, events: Iterable[ValidEvent]) -> CheckedEvents:
        """The events given, as columns."""
        checked = cls()
        for event in events:
            checked.append(event)
        return checked

    def columns(self) -> tuple[list, ...]:
        """The columns in the order of :class:`ValidEvent`'s fields."""
        return tuple(getattr(self, name) for name in ValidEvent._fields)

    def append(self, event: ValidEvent) -> None:
        self.event_id.append(event.event_id)
        self.tenant_code.append(event.tenant_code)
        self.metric.append(event.metric)
        self.quantity.append(event.quantity)
        self.occurred_at.append(event.occurred_at)
        self.dataset.append(event.dataset)

    def __len__(self) -> int:
        return len(self.event_id)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return CheckedEvents(*(column[index] for column in self.columns()))
        return ValidEvent(*(column[index] for column in self.columns()))

    def __iter__(self) -> Iterator[ValidEvent]:
        return map(ValidEvent, *self.columns())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CheckedEvents):
            return self.columns() == other.columns()
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CheckedEvents({list(self)!r})"


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


def _no_datasets(name: str) -> None:
    """The provider lookup of a check that was given none: no dataset is known."""
    return None


def _dataset_is_own(dataset: Any, tenant: Any, bounds: _Bounds) -> bool:
    """The one rule for an event's ``dataset``: a dataset of the register (by its catalogue name, as
    CKAN's ``package_show`` names it) whose provider is the event's tenant. A tenant reports the use
    of its own datasets' APIs; another provider's dataset is not its to report."""
    return type(dataset) is str and tenant is not None and bounds.provider_of(dataset) == tenant


@dataclasses.dataclass(frozen=True)
class _Bounds:
    """What every event of one batch is checked against (fixed for the batch)."""

    known_tenants: frozenset[str] | set[str]
    latest: dt.datetime  # the latest instant accepted: now + the clock skew tolerated
    cutoff: dt.datetime  # the earliest: the start of the retention window
    max_future_seconds: int
    # a dataset's name -> its provider's code (None: not in the register), asked only of events naming one
    provider_of: Callable[[str], str | None] = _no_datasets

    @classmethod
    def at(cls, now: dt.datetime, known_tenants: frozenset[str] | set[str], settings: MeteringSettings,
           provider_of: Callable[[str], str | None] | None = None) -> _Bounds:
        return cls(known_tenants, now + dt.timedelta(seconds=settings.max_future_seconds),
                   retention_cutoff(now, settings), settings.max_future_seconds, provider_of or _no_datasets)


# --- the rule for one event, as predicates (both checks below ask these, and only these) ----------

def _event_id_ok(event_id: Any) -> bool:
    """An event_id is a text with a character that is not white space, at most
    :data:`MAX_EVENT_ID_LENGTH` long, without NUL (PostgreSQL text cannot hold it)."""
    return (isinstance(event_id, str) and len(event_id) <= MAX_EVENT_ID_LENGTH and "\x00" not in event_id
            and event_id.strip() != "")


def _tenant_known(tenant: Any, bounds: _Bounds) -> bool:
    """An event's tenant is the code of a registered tenant."""
    return isinstance(tenant, str) and tenant in bounds.known_tenants


def _metric_known(metric: Any) -> bool:
    """An event's metric is one of :data:`~usage.models.METRICS`."""
    return isinstance(metric, str) and metric in METRICS


def _quantity_ok(quantity: Any) -> bool:
    """A quantity is a whole number from 0 to :data:`MAX_QUANTITY` (a bool, an int subclass, is not)."""
    return type(quantity) is int and 0 <= quantity <= MAX_QUANTITY


def _within(occurred: dt.datetime, bounds: _Bounds) -> bool:
    """An event's instant lies in the retention window and not beyond the tolerated clock skew."""
    return bounds.cutoff <= occurred <= bounds.latest


def _usual_event(raw: Any, bounds: _Bounds) -> ValidEvent | None:
    """The fast check: the checked event when ``raw`` is the usual well-formed event, else ``None``
    ("don't know": :func:`_explained_event` decides, and explains).

    A cache of :func:`_explained_event`, never a second rule: it asks the rule's own predicates
    (:func:`_event_id_ok`, :func:`_tenant_known`, :func:`_metric_known`, :func:`_quantity_ok`,
    :func:`_dataset_is_own`, :func:`_parse_timestamp`, :func:`_within`) of a plain ``dict`` and
    builds no message, so whenever it answers, the explaining check answers the same event with no
    problem (tests/usage/test_ingest_fast_check.py feeds generated events to both).
    """
    if type(raw) is not dict:
        return None
    try:
        event_id, tenant, metric = raw["event_id"], raw["tenant"], raw["metric"]
        quantity, sent = raw["quantity"], raw["timestamp"]
    except KeyError:
        return None
    dataset = raw.get("dataset")
    if not (_event_id_ok(event_id) and _tenant_known(tenant, bounds) and _metric_known(metric) and _quantity_ok(quantity)
            and (dataset is None or _dataset_is_own(dataset, tenant, bounds))):
        return None
    occurred = _parse_timestamp(sent)
    if type(occurred) is str or not _within(occurred, bounds):
        return None
    return ValidEvent(event_id, tenant, metric, quantity, occurred, dataset)


# the fields of a usual event, read from each dict of a part at once (a missing one: KeyError)
_USUAL_FIELDS = operator.itemgetter("event_id", "tenant", "metric", "quantity", "timestamp")


def _usual_part(part: Sequence[Any], bounds: _Bounds, seen: Mapping[str, int]) -> tuple[list, ...] | None:
    """The fast check of a whole part of a batch: its events as columns (in the order of
    :class:`ValidEvent`'s fields) when every one is a usual well-formed event, new to the batch
    (an event_id neither repeated in the part nor in ``seen``), else ``None`` ("don't know": each
    event of the part then goes through :func:`_usual_event` and, if need be, the rule).

    The same cache of :func:`_explained_event` as :func:`_usual_event`, asked column by column: it
    asks the rule's own predicates, each of every event where its answer is the event's own
    (:func:`_event_id_ok`, :func:`_quantity_ok`, :func:`_parse_timestamp`) and once of each
    distinct value where the answer depends on the value alone (:func:`_tenant_known`,
    :func:`_metric_known`, :func:`_dataset_is_own` of each distinct (dataset's type, dataset, tenant): a
    value equal to another of another type, e.g. a ``str`` subclass, is asked of its own);
    :func:`_within` of the earliest and the latest instant answers for every instant between.
    tests/usage/test_ingest_fast_check.py feeds generated batches to this way and the rule's."""
    if set(map(type, part)) != {dict}:
        return None
    try:
        event_ids, tenants, metrics, quantities, sent = zip(*map(_USUAL_FIELDS, part))
        datasets = list(map(dict.get, part, itertools.repeat("dataset")))
        if not (all(map(_event_id_ok, event_ids)) and len(set(event_ids)) == len(event_ids) and seen.keys().isdisjoint(event_ids)
                and all(_tenant_known(tenant, bounds) for tenant in set(tenants))
                and all(_metric_known(metric) for metric in set(metrics)) and all(map(_quantity_ok, quantities))
                and (datasets.count(None) == len(datasets)
                     or all(dataset is None or _dataset_is_own(dataset, tenant, bounds)
                            for _, dataset, tenant in set(zip(map(type, datasets), datasets, tenants))))):
            return None
    except (KeyError, TypeError):  # a field missing, or a value that cannot be a set's (unhashable): the rule explains
        return None
    occurred = list(map(_parse_timestamp, sent))
    if set(map(type, occurred)) != {dt.datetime} or not (_within(min(occurred), bounds) and _within(max(occurred), bounds)):
        return None
    return event_ids, tenants, metrics, quantities, occurred, datasets


def _event_id_check(event_id: Any, place: str) -> tuple[str | None, list[dict[str, str]]]:
    """An event's ``event_id`` as far as messages may name it (``None`` when missing or unprintable), and its problem."""
    if _event_id_ok(event_id):
        return event_id, []
    if not isinstance(event_id, str) or not event_id.strip():
        return None, [problem(f"{place}.event_id", "event_id is required: a unique text per event (it makes a resend count once)",
                              "event_id は必須です（イベントごとに一意の文字列。再送しても二重に数えないために使います）。")]
    if len(event_id) > MAX_EVENT_ID_LENGTH:
        return event_id, [problem(f"{place}.event_id", f"event_id is longer than {MAX_EVENT_ID_LENGTH} characters",
                                  f"event_id は {MAX_EVENT_ID_LENGTH} 文字以内にしてください。")]
    return None, [problem(f"{place}.event_id", "event_id must not contain the NUL character (\\u0000)",
                          "event_id に NUL 文字（\\u0000）は使えません。")]


def _names_problems(raw: Mapping, place: str, label: tuple[str, str], bounds: _Bounds) -> list[dict[str, str]]:
    """The problems of an event's tenant, metric and quantity (``label``: how messages name the event, English and Japanese)."""
    (en, ja), own = label, []
    tenant = raw.get("tenant")
    if not _tenant_known(tenant, bounds):
        shown = tenant if isinstance(tenant, (str, int)) else "(missing)"
        own.append(problem(f"{place}.tenant", f"{en}tenant {shown} is not registered; send the 6-digit local government code of a registered tenant",
                           f"{ja}団体コード {shown} の参加団体は登録されていません。登録済みの6桁の団体コードを指定してください。"))
    metric = raw.get("metric")
    if not _metric_known(metric):
        metrics = ", ".join(METRICS)
        own.append(problem(f"{place}.metric", f"{en}unknown metric {metric!r}; use one of {metrics}",
                           f"{ja}指標 {metric!r} はありません。次のいずれかを指定してください: {metrics}"))
    quantity = raw.get("quantity")
    if not _quantity_ok(quantity):
        own.append(problem(f"{place}.quantity", f"{en}quantity must be a whole number from 0 to {MAX_QUANTITY:,}, not {quantity!r}",
                           f"{ja}quantity は 0 以上の整数にしてください（{quantity!r} は使えません）。"))
    dataset = raw.get("dataset")
    if dataset is not None and not _dataset_is_own(dataset, tenant, bounds):
        own.append(_dataset_problem(place, label, dataset, tenant, bounds))
    return own


def _dataset_problem(place: str, label: tuple[str, str], dataset: Any, tenant: Any, bounds: _Bounds) -> dict[str, str]:
    """Why an event's ``dataset`` is refused: not a dataset of the register, or another provider's."""
    (en, ja), shown = label, dataset if isinstance(dataset, (str, int)) else type(dataset).__name__
    provider = bounds.provider_of(dataset) if type(dataset) is str else None
    if provider is None:
        return problem(f"{place}.dataset", f"{en}dataset {shown!r} is not in the dataset register; send the dataset's "
                       "name as the catalogue shows it (CKAN package_show's name), or leave dataset out",
                       f"{ja}データセット {shown!r} はデータセット台帳にありません。カタログに表示される識別名"
                       "（CKAN の package_show の name）を指定するか、dataset を省いてください。")
    return problem(f"{place}.dataset", f"{en}dataset {shown} is provided by {provider}, not by tenant {tenant}; a tenant "
                   "reports the use of its own datasets only",
                   f"{ja}データセット {shown} の提供者は {provider} で、団体 {tenant} ではありません。"
                   "利用実績は自団体が提供するデータセットについてのみ送信できます。")


def _timestamp_problems(raw: Mapping, place: str, label: tuple[str, str], bounds: _Bounds) -> tuple[dt.datetime | None, list[dict[str, str]]]:
    """An event's time (UTC) and its problem: not an ISO 8601 time with a zone, too far ahead, or before the retention window."""
    (en, ja), sent = label, raw.get("timestamp")
    occurred = _parse_timestamp(sent)
    if isinstance(occurred, str):
        return None, [problem(f"{place}.timestamp", f"{en}timestamp must be an ISO 8601 time with a time zone, e.g. 2025-06-01T09:30:00+09:00 or 2025-06-01T00:30:00Z",
                              f"{ja}timestamp はタイムゾーン付きの ISO 8601 形式にしてください（例: 2025-06-01T09:30:00+09:00）。")]
    if _within(occurred, bounds):
        return occurred, []
    if occurred > bounds.latest:
        return None, [problem(f"{place}.timestamp", f"{en}timestamp {sent} is more than {bounds.max_future_seconds} seconds in the future; check the sender's clock",
                              f"{ja}timestamp {sent} が現在より {bounds.max_future_seconds} 秒以上先です。送信元の時計を確認してください。")]
    return None, [problem(f"{place}.timestamp", f"{en}timestamp {sent} is before the retention window, which starts {bounds.cutoff.isoformat()}; such usage can no longer be counted",
                          f"{ja}timestamp {sent} は保存期間（{to_jst(bounds.cutoff):%Y年%m月%d日}以降）より前のため、計上できません。")]


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
    return ValidEvent(event_id, raw["tenant"], raw["metric"], raw["quantity"], occurred, raw.get("dataset")), event_id, []


class _Distinct:
    """A batch's distinct events in the order sent, handed to a sink in parts of :data:`SINK_PART`.

    An event is known by its event_id and its instant: the same again counts as a repeat; the
    same event_id at another instant is another event; at the same instant with other contents,
    a conflict (:meth:`admit` answers ``False``)."""

    def __init__(self, sink: Callable[[CheckedEvents], None] | None) -> None:
        self.valid = CheckedEvents()
        self.repeated = 0
        self.seen: dict[str, int] = {}  # the position in valid of each event_id's first event
        self.others: dict[tuple[str, dt.datetime], int] = {}  # an event_id sent again at another instant (rare)
        self.sink, self.sent = sink, 0
        self.part_end = SINK_PART if sink is not None else -1

    def admit(self, event: ValidEvent) -> bool:
        """Keeps ``event`` (or counts it as a repeat); ``False`` if it conflicts with an earlier one."""
        valid = self.valid
        new = len(valid)
        earlier = self.seen.setdefault(event.event_id, new)
        if earlier != new and valid.occurred_at[earlier] != event.occurred_at:  # another instant: another event
            earlier = self.others.setdefault((event.event_id, event.occurred_at), new)
        if earlier == new:
            valid.append(event)
            if new + 1 == self.part_end:
                self.pass_on()
            return True
        if valid[earlier].key() == event.key():
            self.repeated += 1
            return True
        return False

    def admit_new(self, columns: tuple[Sequence, ...]) -> None:
        """Keeps events known to be new (:func:`_usual_part` found their event_ids unique and not
        seen before), given as columns in the order of :class:`ValidEvent`'s fields."""
        valid = self.valid
        self.seen.update(zip(columns[0], range(len(valid), len(valid) + len(columns[0]))))
        for column, values in zip(valid.columns(), columns, strict=True):
            column.extend(values)
        while self.part_end != -1 and len(valid) >= self.part_end:
            self.pass_on()

    def pass_on(self) -> None:
        """The events kept since the last part, up to a part's size, to the sink."""
        end = min(len(self.valid), self.part_end)
        self.sink(self.valid[self.sent:end])
        self.sent, self.part_end = end, end + SINK_PART

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
    sink: Callable[[CheckedEvents], None] | None = None,
    fast: bool = True,
    provider_of: Callable[[str], str | None] | None = None,
) -> tuple[CheckedEvents, int, list[dict[str, Any]]]:
    """Check every event; returns (distinct valid events in the order sent, duplicates within the
    batch, problems).

    ``sink``, when given, receives the distinct valid events while the check goes on, in parts of
    :data:`SINK_PART` and the rest at the end (unless there were problems), so that a caller can
    write them while the rest is checked. Whatever it received counts only if no problem is returned.

    Each event goes through the fast check (:func:`_usual_event`) and, when that does not know,
    through the one rule that explains (:func:`_explained_event`); ``fast=False`` sends every
    event through the latter (the differential test compares the two ways: same answers). The
    events the fast check handed over are counted and logged (:func:`note_fall_throughs`).

    ``provider_of`` names the provider of a dataset of the register (None: not registered), for
    events that name a ``dataset``; without it no dataset is known.
    """
    bounds = _Bounds.at(now or utcnow(), known_tenants, settings, provider_of)
    problems: list[dict[str, Any]] = []
    distinct = _Distinct(sink)
    usual, admit = (_usual_event if fast else lambda raw, bounds: None), distinct.admit
    handed_over = refused = 0
    for start in range(0, len(raw_events), SINK_PART):
        part = raw_events[start:start + SINK_PART]
        columns = _usual_part(part, bounds, distinct.seen) if fast else None
        if columns is not None:
            distinct.admit_new(columns)
            continue
        for index, raw in enumerate(part, start):
            event = usual(raw, bounds)
            if event is None:
                handed_over += 1
                event, event_id, own = _explained_event(raw, where(index), bounds)
                if own:
                    refused += 1
                    problems += [{**item, "index": index, "event_id": event_id} for item in own]
                    continue
            if not admit(event):
                problems.append({**_conflict(where(index), event.event_id), "index": index, "event_id": event.event_id})
    if not problems:
        distinct.finish()
    if fast and handed_over:
        note_fall_throughs(refused=refused, unusual=handed_over - refused)
    return distinct.valid, distinct.repeated, problems


# The fast check's fall-throughs (issue 24: a fast path hands over to the one rule logged and
# counted, never silently), by reason: "refused" (the rule found a problem: the fast check never
# answers a bad event) and "unusual" (the rule accepted a form the fast check was not built for,
# e.g. a mapping that is not a dict, or a timestamp in basic format). Read by tests and the ingest
# benchmark (bench/bench_usage_ingest.py prints them).
_FALL_THROUGHS: collections.Counter[str] = collections.Counter()
_fall_through_lock = threading.Lock()


def note_fall_throughs(*, refused: int, unusual: int) -> None:
    """Count one batch's fall-throughs and log them (one line per batch, not per event)."""
    with _fall_through_lock:
        _FALL_THROUGHS["refused"] += refused
        _FALL_THROUGHS["unusual"] += unusual
    log.info("usage ingest: the fast check handed %d event(s) to the rule (refused %d, unusual form %d)",
             refused + unusual, refused, unusual,
             extra={"fall_throughs": refused + unusual, "refused": refused, "unusual": unusual})


def fall_throughs() -> dict[str, int]:
    """The fall-throughs counted in this process so far, by reason."""
    with _fall_through_lock:
        return {"refused": _FALL_THROUGHS["refused"], "unusual": _FALL_THROUGHS["unusual"]}


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

