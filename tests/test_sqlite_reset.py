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



def test_a_thread_that_connects_during_resets_never_meets_a_half_written_file(tmp_path):
    """A thread of the app's outlives its test (the admin-events poller reads Keycloak every second and writes what
    it finds) and may open the database while the next test's reset writes the template's bytes. It must find the
    file before or after the reset, never between: once, in CI, the next test's command met 'database disk image is
    malformed'. Without hold_connects_during_resets this fails within a few dozen resets."""
    import random
    import threading

    import sqlalchemy as sa

    from tests.conftest import hold_connects_during_resets, reset_sqlite

    template, database = tmp_path / "template.db", tmp_path / "test.db"
    with contextlib.closing(sqlite3.connect(template)) as connection:  # some megabytes, as the app's schema
        connection.execute("PRAGMA journal_mode = WAL")
        for n in range(40):
            connection.execute(f"CREATE TABLE t{n} (x TEXT)")
            connection.execute(f"CREATE INDEX i{n} ON t{n} (x)")
        connection.executemany("INSERT INTO t0 VALUES (?)", [("template " * 20,)] * 5000)
        connection.commit()
    copy_sqlite(template, database)
    engine = sa.create_engine(f"sqlite:///{database}")  # the tests' (reset between them)
    thread_engine = sa.create_engine(f"sqlite:///{database}", poolclass=sa.pool.NullPool)  # the file opened anew
    for each in (engine, thread_engine):
        hold_connects_during_resets(each)
    met: list = []
    stop = threading.Event()
    pause = random.Random(0)

    def poll():  # reads and writes, then waits a little, as the poller does
        while not stop.is_set():
            try:
                with thread_engine.begin() as connection:
                    connection.execute(sa.text("SELECT count(*) FROM t0")).scalar_one()
                    connection.execute(sa.text("INSERT INTO t1 VALUES ('by the thread')"))
            except Exception as error:  # noqa: BLE001  (what the thread met is the test's finding)
                met.append(("thread", error))
                return
            stop.wait(pause.random() / 50)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        for n in range(300):
            with engine.begin() as connection:
                connection.execute(sa.text("INSERT INTO t2 VALUES (:x)"), [{"x": f"test {n} " * 50}] * 50)
            reset_sqlite(engine, template)
            try:
                with engine.connect() as connection:
                    checked = connection.execute(sa.text("PRAGMA quick_check")).all()
                    left = connection.execute(sa.text("SELECT count(*) FROM t2")).scalar_one()
            except Exception as error:  # noqa: BLE001
                met.append(("test", error))
            else:
                if checked != [("ok",)] or left:
                    met.append(("test", checked[:3], left))
            if met:
                break
    finally:
        stop.set()
        thread.join(timeout=30)
    assert met == []
