"""The one SQLAlchemy ``MetaData`` (SQLModel's) and the column types every table uses.

The naming convention is set when this module is imported, before any table model is defined,
so that Alembic migrations get stable constraint names on SQLite and PostgreSQL alike. Every
models module imports this module first.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata


def enum_column(enum_cls: type, *, length: int = 32, nullable: bool = False, checked: bool = False,
                **kwargs: Any) -> sa.Column:
    """An enum stored as a plain string: readable in SQL, same on both databases; the code refuses
    any other value. ``checked``: the database refuses it too, by a CHECK constraint named
    ``ck_<table>_<enum name in lower case>`` (every status column of a lifecycle is checked; adding a
    value then takes a migration that replaces the constraint)."""
    return sa.Column(
        sa.Enum(enum_cls, native_enum=False, length=length, validate_strings=True, name=enum_cls.__name__.lower(),
                create_constraint=checked),
        nullable=nullable,
        **kwargs,
    )


class UTCDateTime(sa.TypeDecorator):
    """A moment in time, aware and in UTC on both databases.

    PostgreSQL keeps the zone of a ``timestamptz``; SQLite keeps none, and would store a Japan-time
    value as its wall-clock time. So values are converted to UTC before they are stored (a naive
    value is taken as UTC, renkei's convention) and marked UTC when read back.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


def timestamp_column(nullable: bool = False, **kwargs: Any) -> sa.Column:
    """A timestamp column: aware UTC datetimes in and out (:class:`UTCDateTime`)."""
    return sa.Column(UTCDateTime(timezone=True), nullable=nullable, **kwargs)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC (stored naive-free on both databases)."""
    return dt.datetime.now(dt.timezone.utc)




# --- PostgreSQL guards installed in the schema the tables live in -------------------------------------

def quoted_current_schema(connection: Any) -> str:
    """The connection's current schema as a quoted identifier (guard DDL names tables with it)."""
    return connection.exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()


def pg_guard_installer(statements: Callable[[str], list[str]]) -> Callable[..., None]:
    """An ``after_create`` listener running ``statements(schema)`` on PostgreSQL, where ``schema`` is
    the quoted current schema, so guard functions name their tables fully (never through the
    caller's ``search_path``, which a TEMP table could shadow). The migrations call the same
    ``statements`` with the same schema."""

    def install(target: Any, connection: Any, **kw: Any) -> None:
        if connection.dialect.name != "postgresql":
            return
        for statement in statements(quoted_current_schema(connection)):
            connection.exec_driver_sql(statement)

    return install


def row_guards_pg(schema: str, functions: dict[str, tuple[str, str, str]], table: str | None = None) -> list[str]:
    """The statements of BEFORE UPDATE OR DELETE row guards in ``schema`` (quoted): for each table of
    ``functions`` (or ``table`` only), table -> (function name, PL/pgSQL body with ``{s}`` for the
    schema, trigger name), the function (with a fixed search_path), then its trigger anew."""
    statements = []
    for name in [table] if table else list(functions):
        function, body, trigger = functions[name]
        statements += [
            f"CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger LANGUAGE plpgsql "
            f"SET search_path = pg_catalog, pg_temp AS $guard${body.replace('{s}', schema)}\n$guard$",
            f"DROP TRIGGER IF EXISTS {trigger} ON {schema}.{name}",
            f"CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {schema}.{name} "
            f"FOR EACH ROW EXECUTE FUNCTION {schema}.{function}()",
        ]
    return statements


# --- INSERT ... ON CONFLICT ---------------------------------------------------------------------

ON_CONFLICT_DIALECTS = frozenset({"postgresql", "sqlite"})


def conflict_insert(dialect: str, table: sa.Table):
    """An INSERT of ``table`` that takes ``on_conflict_do_nothing`` / ``on_conflict_do_update``:
    the construct of ``dialect`` (one of :data:`ON_CONFLICT_DIALECTS`)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - renkei runs on PostgreSQL, tests also on SQLite
        raise NotImplementedError(f"INSERT ... ON CONFLICT needs PostgreSQL or SQLite, not {dialect}")
    return insert(table)


# --- transient faults of the database ---------------------------------------------------------------

# PostgreSQL's SQLSTATEs of a connection that went away or cannot be made now: the connection
# exception class (08...), and the server shutting down or starting up (57P01..57P03).
_TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is a database fault that goes away by itself (a restart, a connection
    dropped or refused, the pool exhausted, SQLite busy), as opposed to a fault of the request or
    of the code. Such a request may be tried again; nothing it did was committed.

    A fault met while handling a transient one (a session that refuses to go on until rolled back,
    a pool whose every reconnection on check-out was dropped again) is transient too."""
    seen = 0
    while error is not None and seen < 5:
        if _transient_itself(error):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _transient_itself(error: BaseException) -> bool:
    if type(error) is sa.exc.InvalidRequestError and str(error) == "This connection is closed":
        return True  # the pool's "reconnection attempts exhausted on checkout"
    if isinstance(error, (sa.exc.TimeoutError, sa.exc.DisconnectionError)):
        return True
    if isinstance(error, sa.exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig if error.orig is not None else error
    module = type(error).__module__
    if module.startswith("psycopg"):
        import psycopg

        if not isinstance(error, psycopg.OperationalError):
            return False
        state = getattr(error, "sqlstate", None)
        return state is None or state.startswith(_TRANSIENT_SQLSTATES)
    if module == "sqlite3":
        return type(error).__name__ == "OperationalError" and ("locked" in str(error) or "busy" in str(error))
    return False


# --- pooled connections the server has closed ---------------------------------------------------

def _server_hung_up(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """At every check-out from a pool: a PostgreSQL connection whose server has gone (a restart,
    an administrator's termination, an idle timeout) is readable while idle, since the server's
    last message or the end of the stream waits on it. Looked at without a round trip, instead of
    a ping before each use; such a connection is dropped and the pool hands out a fresh one
    (SQLAlchemy's ``DisconnectionError`` at check-out). Other drivers (SQLite) are left alone."""
    import select

    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:
        return
    try:
        if dbapi_connection.closed or dbapi_connection.broken:
            raise sa.exc.DisconnectionError("the connection was closed")
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except sa.exc.DisconnectionError:
        raise
    except Exception as error:  # noqa: BLE001 - no usable socket: the connection is gone
        raise sa.exc.DisconnectionError(f"the connection is not usable: {error}") from None
    if readable:
        raise sa.exc.DisconnectionError("the server closed the connection")


if not sa.event.contains(sa.pool.Pool, "checkout", _server_hung_up):
    sa.event.listen(sa.pool.Pool, "checkout", _server_hung_up)


# --- SQLite: wait for the lock; write ahead, durably ----------------------------------------------

SQLITE_BUSY_SECONDS = 30.0  # how long a SQLite connection waits for another's write lock (RENKEI_SQLITE_BUSY_SECONDS)
SQLITE_CACHE_KIB = 65_536  # each connection's page cache, at most (SQLite's default is 2,000 KiB)


def _sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Every new SQLite connection renkei makes (any engine: the app's, the commands', the
    backup's snapshot; this listener is on every pool):

    * waits up to :data:`SQLITE_BUSY_SECONDS` for a lock another connection holds (a command-line
      import's write, say) instead of failing at once with "database is locked" (pysqlite's own
      default wait is 5 s);
    * uses the write-ahead log (``journal_mode = WAL``) with ``synchronous = FULL``: a commit
      appends the transaction's pages to the ``-wal`` file and syncs that file once before it
      returns, so a committed transaction survives a power loss as with the rollback journal
      (which syncs the journal and the database, several times per commit); readers no longer
      block the writer. WAL is a property of the database file, kept in its header: set once, on
      the first connection, it stays (every connection asks again, which costs nothing then). The
      ``-wal`` and ``-shm`` files beside the database belong to it while any connection is open:
      copy the database with SQLite's backup API (``renkei backup`` does), never the file alone, and
      remove the three together (:func:`sqlite_files`). The files must be on a local file system
      (WAL's shared memory). An in-memory database keeps its ``memory`` journal.
    * keeps up to :data:`SQLITE_CACHE_KIB` of the database's pages in memory (``cache_size``), filled only
      as pages are read: at national size (1,741 tenants) the pages the admin pages read again and again
      (a year's usage aggregates, the ledger) no longer fit SQLite's default 2 MB, and reading them back
      from the file made the home page's usage chart five times slower (bench/bench_pages.py).

    Other drivers are left alone."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_SECONDS * 1000)}")
        dbapi_connection.execute("PRAGMA journal_mode = WAL")
        dbapi_connection.execute("PRAGMA synchronous = FULL")
        dbapi_connection.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")  # negative: in KiB, not pages


if not sa.event.contains(sa.pool.Pool, "connect", _sqlite_connection):
    sa.event.listen(sa.pool.Pool, "connect", _sqlite_connection)


def sqlite_files(database: str | os.PathLike) -> list[Path]:
    """A SQLite database file and the two that its write-ahead log keeps beside it while it is open
    (``-wal``, ``-shm``): what to remove together (a ``-wal`` left beside a new file of the same
    name would be replayed into it)."""
    path = Path(database)
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


# --- one lock for a rule that must hold under concurrency -------------------------------------------

def lock_key(session: Any, namespace: str, key: Any) -> None:
    """Hold the lock of ``(namespace, key)`` until the caller's transaction ends, before reading what a
    uniqueness or capacity rule decides on (an event's places, a person's match key, a year's letter
    numbers, a run's approval): two transactions asking for the same key run one after the other, the
    second reading what the first committed. Call it first, before any read the rule depends on.

    * PostgreSQL: a transaction-level advisory lock on the hashes of ``namespace`` and ``key``
      (``pg_advisory_xact_lock(int, int)``): it holds across connections and app processes, needs no
      row (a person not enrolled yet has none), and is released by the commit or the rollback. A
      hash shared by two keys only makes them wait on each other.
    * SQLite: its one write lock, which serialises every writer of the file whatever the key. The
      driver begins a transaction only at the first write, so reads before it are not protected;
      the lock is therefore taken at once (``BEGIN IMMEDIATE``, waiting up to the busy timeout) when
      no transaction is open yet. An open transaction has written already and holds it (the driver
      opens one only to write; a SAVEPOINT would open one without, so take the lock before any).
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:namespace), hashtext(:key))"),
                           {"namespace": namespace, "key": str(key)})
    elif connection.dialect.name == "sqlite":
        dbapi_connection = connection.connection.dbapi_connection
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN IMMEDIATE")
