"""The smaller edges of issue 26: a NOT NULL or CHECK violation is the sender's fault (422 naming
the field), not "changed at the same moment" (409); SQLite waits for its lock instead of a 500
"database is locked"; 405 and OPTIONS under /api, and the request-line and header limits renkei's
own stack enforces (414, 431), answer application/problem+json."""

from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from tests.admin.test_tenants_api import KUMAMOTO

PROBLEM = "application/problem+json"


def test_patch_with_null_for_a_required_field_is_422_naming_it_not_409(open_api, db):
    assert open_api.post("/api/v1/tenants", json=KUMAMOTO).status_code == 201
    response = open_api.patch("/api/v1/tenants/431001", json={"population_source": None})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert [item["field"] for item in response.get_json()["errors"]] == ["population_source"]
    assert "同時に変更" not in response.get_json()["detail_ja"]
    assert open_api.get("/api/v1/tenants/431001").get_json()["population_source"] == KUMAMOTO["population_source"]


def test_a_check_constraint_violation_names_its_column(app, db):
    """A CHECK constraint of the models (whatever the route) maps to the column it reads."""
    from sqlalchemy.exc import IntegrityError

    from admin.problems import constraint_fields

    with app.test_request_context():
        error = IntegrityError("INSERT", {}, Exception("CHECK constraint failed: ck_billing_cost_item_amount_not_negative"))
        assert constraint_fields(error) == ["amount"]
        unique = IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: tenant.code"))
        assert constraint_fields(unique) is None  # a race: still 409


def test_sqlite_waits_for_a_lock_another_connection_holds(app, db, open_api):
    """A command-line import holding SQLite's write lock for a while: a request waits for it and
    answers, no 500 "database is locked" (pysqlite alone gives up after 5 s)."""
    from core import db as core_db

    engine = db.get_bind()
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's lock; PostgreSQL has row locks")
    assert core_db.SQLITE_BUSY_SECONDS == app.config["RENKEI_SQLITE_BUSY_SECONDS"] == 30
    with engine.connect() as connection:  # a new connection: the pragma is set on connect
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    holder = sqlite3.connect(engine.url.database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # the import's write lock: nobody may read or write
    answered: list = []
    request = threading.Thread(target=lambda: answered.append(open_api.post("/api/v1/tenants", json=KUMAMOTO)))
    request.start()
    request.join(timeout=6)  # longer than pysqlite's own 5 s
    assert not answered, "the request waited for the lock"
    holder.execute("COMMIT")
    holder.close()
    request.join()
    assert answered[0].status_code == 201, answered[0].get_data(as_text=True)


def test_a_lock_held_past_the_wait_is_503_with_retry_after_not_500(app, db, open_api, monkeypatch):
    from core import db as core_db

    engine = db.get_bind()
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's lock")
    monkeypatch.setattr(core_db, "SQLITE_BUSY_SECONDS", 0.2)
    engine.dispose()  # new connections take the shorter wait
    holder = sqlite3.connect(engine.url.database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        response = open_api.post("/api/v1/tenants", json=KUMAMOTO)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM and int(response.headers["Retry-After"]) > 0


def test_405_and_options_under_api_answer_problem_json_or_no_body(open_api):
    refused = open_api.delete("/api/v1/tenants")
    assert refused.status_code == 405 and refused.mimetype == PROBLEM
    assert "GET" in refused.headers["Allow"]
    options = open_api.options("/api/v1/tenants")
    assert options.status_code == 204 and not options.get_data() and "Content-Type" not in options.headers
    assert {"GET", "POST"} <= {m.strip() for m in options.headers["Allow"].split(",")}
    unknown = open_api.options("/api/v1/no-such-thing")
    assert unknown.status_code == 404 and unknown.mimetype == PROBLEM


def test_a_request_line_or_header_past_renkeis_limits_is_problem_json(open_api):
    from admin.edge import MAX_HEADER_BYTES, MAX_TARGET_BYTES

    long_query = open_api.get("/api/v1/tenants?q=" + "a" * MAX_TARGET_BYTES)
    assert long_query.status_code == 414 and long_query.mimetype == PROBLEM
    big_header = open_api.get("/api/v1/tenants", headers={"X-Filler": "a" * MAX_HEADER_BYTES})
    assert big_header.status_code == 431 and big_header.mimetype == PROBLEM
    assert open_api.get("/api/v1/tenants", headers={"X-Filler": "a" * 1000}).status_code == 200
