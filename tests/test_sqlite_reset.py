"""The SQLite reset between tests (tests/conftest.py, copy_sqlite): the template's rows and nothing else, whether
a connection is still open on the database (SQLite's backup API) or none is (the file's bytes)."""

from __future__ import annotations

import contextlib
import sqlite3

from tests.conftest import copy_sqlite


def _database(path, rows):
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("CREATE TABLE IF NOT EXISTS t (x TEXT)")
        connection.executemany("INSERT INTO t VALUES (?)", [(row,) for row in rows])
        connection.commit()


def _rows(path):
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return sorted(row for (row,) in connection.execute("SELECT x FROM t"))


def test_a_written_database_comes_back_as_the_template_with_no_connection_open(tmp_path):
    template, database = tmp_path / "template.db", tmp_path / "test.db"
    _database(template, ["kept"])
    copy_sqlite(template, database)
    _database(database, ["written by a test"] * 500)  # more pages than the template: the file is cut back
    copy_sqlite(template, database)
    assert _rows(database) == ["kept"]
    assert database.stat().st_size == template.stat().st_size
    copy_sqlite(template, database)  # nothing written since: nothing to do, still the template
    assert _rows(database) == ["kept"]


def test_a_connection_left_open_with_uncheckpointed_rows_loses_them_too(tmp_path):
    template, database = tmp_path / "template.db", tmp_path / "test.db"
    _database(template, ["kept"])
    copy_sqlite(template, database)
    left_open = sqlite3.connect(database)
    left_open.execute("PRAGMA wal_autocheckpoint = 0")
    left_open.execute("INSERT INTO t VALUES ('in the wal only')")
    left_open.commit()
    assert (tmp_path / "test.db-wal").exists()
    try:
        copy_sqlite(template, database)
        assert _rows(database) == ["kept"]
        assert sorted(row for (row,) in left_open.execute("SELECT x FROM t")) == ["kept"]
    finally:
        left_open.close()
    assert _rows(database) == ["kept"]
