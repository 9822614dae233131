"""SQLite writes ahead, durably (core.db): every connection renkei makes uses the write-ahead log
with ``synchronous = FULL`` (a commit is synced to the ``-wal`` file before it returns), a database
file made with the rollback journal is switched on its first connection, and a backup holds the
commits that are still in the ``-wal`` file, not yet in the database file."""

from __future__ import annotations

import contextlib
import sqlite3
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import sqlite_files

pytestmark = pytest.mark.usefixtures("sqlite_only")


@pytest.fixture(name="sqlite_only")
def _sqlite_only(db):
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's journal; PostgreSQL's commit waits for its WAL flush (synchronous_commit on)")


def test_every_connection_commits_through_the_write_ahead_log_synced_at_each_commit(db):
    with db.get_bind().connect() as connection:  # the app's engine, as every request uses it
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL: NORMAL loses commits on power loss


def test_every_connection_keeps_more_pages_in_memory_than_sqlites_default(db, sqlite_only):
    from core.db import SQLITE_CACHE_KIB

    with db.get_bind().connect() as connection:
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KIB  # KiB; the default is -2000


def test_a_database_made_with_the_rollback_journal_is_switched_on_its_first_connection(db, tmp_path):
    older = tmp_path / "older.db"
    with contextlib.closing(sqlite3.connect(older)) as made:  # as an older renkei left it
        made.execute("CREATE TABLE kept (note TEXT)")
        made.execute("INSERT INTO kept VALUES ('前の版の記録')")
        made.commit()
        assert made.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    engine = sa.create_engine(f"sqlite:///{older}")
    try:
        with engine.begin() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            connection.exec_driver_sql("INSERT INTO kept VALUES ('新しい記録')")
        assert [path.exists() for path in sqlite_files(older)] == [True, True, True]  # the log beside it while open
    finally:
        engine.dispose()
    with contextlib.closing(sqlite3.connect(older)) as reader:
        assert [row[0] for row in reader.execute("SELECT note FROM kept")] == ["前の版の記録", "新しい記録"]
        assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # kept in the file's header


def test_a_backup_holds_the_commits_still_in_the_write_ahead_log(app, db, tenant_factory, tmp_path):
    tenant_factory("431001")
    db.commit()
    database = Path(db.get_bind().url.database)
    assert sqlite_files(database)[1].stat().st_size > 0  # the commit is in the -wal file (the pool keeps it open)
    archive = tmp_path / "nightly.tar"
    result = app.test_cli_runner().invoke(args=["backup", "--no-realm", "--output", str(archive), "--as", "unei"])
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        tar.extract("database.sqlite3", tmp_path / "copy", filter="data")
    copy = sqlite3.connect(tmp_path / "copy" / "database.sqlite3")
    try:
        assert copy.execute("SELECT code FROM tenant").fetchall() == [("431001",)]
        assert copy.execute("SELECT action FROM audit_record ORDER BY seq DESC LIMIT 1").fetchone() == ("system.backup",)
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        copy.close()
