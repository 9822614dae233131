"""Monthly partitions of ``usage_event`` on PostgreSQL (declarative ``PARTITION BY RANGE (occurred_at)``).

* One partition per Japan-time month, named ``usage_event_pYYYYMM``, bounded by the instants the
  month begins and ends (so the retention cutoff, the start of a Japan-time month, is always a
  partition boundary), and a ``usage_event_default`` partition that catches an event whose month
  has no partition yet (ingest never fails because the due jobs did not run).
* :func:`ensure_months` creates partitions ahead (``renkei jobs run-due``); a month whose events
  went to the default partition meanwhile gets them moved into its new partition. New
  partitions are attached (``ATTACH PARTITION``, which does not block ingest) after a CHECK
  constraint that spares PostgreSQL a validation scan.
* :func:`drop_before` is retention: partitions wholly before the cutoff are detached and
  dropped; rows of the default partition before the cutoff are deleted.

On SQLite (tests, development) ``usage_event`` is a plain table and every function here is a
no-op; retention there deletes rows (``metering.purge_events``).

Everything takes a SQLAlchemy ``Connection`` so that the model's ``after_create`` listener, the
migration and the due jobs share it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import sqlalchemy as sa

from core.calendar import add_months, current_month, month_start_utc

PARENT = "usage_event"
DEFAULT_PARTITION = "usage_event_default"
MONTHS_AHEAD = 3  # partitions kept ready beyond the current month
_NAME = re.compile(r"^usage_event_p(\d{4})(\d{2})$")


def partition_name(month: dt.date) -> str:
    return f"{PARENT}_p{month:%Y%m}"


def is_partition_name(name: str) -> bool:
    """A partition of ``usage_event`` (not a table of the model; schema comparisons skip it)."""
    return name == DEFAULT_PARTITION or _NAME.match(name) is not None


def is_partitioned(connection: sa.Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(sa.text(
        "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(:name)"), {"name": PARENT}).scalar()
    return kind == "p"


def _children(connection: sa.Connection) -> list[str]:
    return list(connection.execute(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:name) ORDER BY c.relname"), {"name": PARENT}).scalars())


def existing_months(connection: sa.Connection) -> list[dt.date]:
    """The months that have their own partition, oldest first."""
    months = []
    for name in _children(connection):
        match = _NAME.match(name)
        if match:
            months.append(dt.date(int(match[1]), int(match[2]), 1))
    return sorted(months)


def _bounds(month: dt.date) -> tuple[str, str]:
    return month_start_utc(month).isoformat(), month_start_utc(add_months(month, 1)).isoformat()


def ensure_default(connection: sa.Connection) -> bool:
    if DEFAULT_PARTITION in _children(connection):
        return False
    connection.execute(sa.text(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {PARENT} DEFAULT"))
    return True


def ensure_months(connection: sa.Connection, months: Iterable[dt.date]) -> list[str]:
    """Create the partitions of ``months`` that do not exist yet; returns the names created."""
    if not is_partitioned(connection):
        return []
    have = set(existing_months(connection))
    has_default = DEFAULT_PARTITION in _children(connection)
    created = []
    for month in sorted(set(months) - have):
        name = partition_name(month)
        low, high = _bounds(month)
        connection.execute(sa.text(
            f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
        connection.execute(sa.text(
            f"ALTER TABLE {name} ADD CONSTRAINT {name}_range "
            f"CHECK (occurred_at >= '{low}' AND occurred_at < '{high}')"))
        if has_default:  # events that arrived before their month had a partition
            connection.execute(sa.text(
                f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE occurred_at >= '{low}' AND occurred_at < '{high}' "
                f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"))
        connection.execute(sa.text(
            f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ('{low}') TO ('{high}')"))
        connection.execute(sa.text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_range"))
        created.append(name)
    return created


def window(now: dt.datetime | None, retention_months: int, ahead: int = MONTHS_AHEAD) -> list[dt.date]:
    """The months events may be stored in: the retention window and ``ahead`` months beyond this one."""
    this = current_month(now)
    return [add_months(this, offset) for offset in range(-(retention_months - 1), ahead + 1)]


def create_initial(connection: sa.Connection, now: dt.datetime | None = None, retention_months: int = 13) -> list[str]:
    """The default partition and the months of the retention window and ahead (a new database)."""
    if not is_partitioned(connection):
        return []
    ensure_default(connection)
    return ensure_months(connection, window(now, retention_months))


def drop_before(connection: sa.Connection, cutoff: dt.datetime, *, dry_run: bool = False) -> tuple[list[str], int]:
    """Detach and drop the partitions wholly before ``cutoff``; delete older rows of the default
    partition. Returns (the partitions dropped, the events they and the deletion held)."""
    if not is_partitioned(connection):
        return [], 0
    dropped, events = [], 0
    for month in existing_months(connection):
        if month_start_utc(add_months(month, 1)) > cutoff:
            continue
        name = partition_name(month)
        events += connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one()
        if not dry_run:
            connection.execute(sa.text(f"ALTER TABLE {PARENT} DETACH PARTITION {name}"))
            connection.execute(sa.text(f"DROP TABLE {name}"))
        dropped.append(name)
    if DEFAULT_PARTITION in _children(connection):
        old = sa.text(f"FROM {DEFAULT_PARTITION} WHERE occurred_at < :cutoff")
        if dry_run:
            events += connection.execute(sa.text(f"SELECT count(*) {old.text}"), {"cutoff": cutoff}).scalar_one()
        else:
            events += connection.execute(sa.text(f"DELETE {old.text}"), {"cutoff": cutoff}).rowcount
    return dropped, int(events)
