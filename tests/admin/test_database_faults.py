"""Transient database faults answer 503 with Retry-After, never 500 (issue 27, item 5).

A database that is down, restarting or dropping connections is a fault that passes: a read that
met it before writing anything is tried once more on a fresh connection, and otherwise the answer
is 503 ``application/problem+json`` with ``Retry-After`` (admin/problems.py), nothing committed.
"""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from tests.netfaults import closed_port

KUMAMOTO = {"code": "431001", "name_ja": "熊本市", "name_en": "Kumamoto City", "kind": "city",
            "population": 738865, "population_source": "test"}


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert body["retryable"] is True and "データベース" in body["detail_ja"] and "database" in body["detail_en"]


def test_a_database_that_refuses_connections_answers_503_with_retry_after(tmp_path):
    """PostgreSQL down (nothing listens on its port): reads and writes answer 503, not 500."""
    from admin import create_app

    port = closed_port().rsplit(":", 1)[1]
    app = create_app({"RENKEI_ENV": "development", "SECRET_KEY": "t", "TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://renkei:x@127.0.0.1:{port}/renkei",
                      "RENKEI_VAR_DIR": str(tmp_path), "RENKEI_API_OPEN_FOR_DEVELOPMENT": True})
    client = app.test_client()
    _assert_unavailable(client.get("/api/v1/tenants"))
    _assert_unavailable(client.get("/api/v1/tenants/431001"))
    _assert_unavailable(client.post("/api/v1/tenants", json=KUMAMOTO))
    _assert_unavailable(client.get("/api/v1/tenants?lang=en"))


def test_dropped_connections_under_load_answer_success_or_503_never_500(app, db, open_api, tenant_factory):
    """Every connection of the application's role is terminated again and again (as a restart
    does) while four clients read and write; each answer is a success or a 503, and what was
    recorded is consistent: every usage total is still its events' sum."""
    from admin.extensions import db as database
    from core.calendar import current_month, month_start_utc
    from usage import integrity, metering

    if database.engine.dialect.name != "postgresql":
        pytest.skip("dropping server connections is a PostgreSQL test (SQLite has no server)")
    tenant_factory("431001", status="active")
    tenant_factory("432024", status="active")
    db.commit()
    stamp = month_start_utc(current_month()).isoformat()
    answers: list[tuple[str, int, str | None, str]] = []
    lock = threading.Lock()
    stop = threading.Event()
    killed = [0]
    url = database.engine.url

    def work(worker: int) -> None:
        client = app.test_client()
        for n in range(12):
            for method, path, body in (
                ("GET", "/api/v1/tenants/431001", None),
                ("GET", "/api/v1/tenants", None),
                ("POST", "/api/v1/usage", {"events": [
                    {"tenant": "431001", "metric": "api_calls", "quantity": 1, "timestamp": stamp,
                     "event_id": f"load-{worker}-{n}-{uuid.uuid4().hex[:6]}"},
                    {"tenant": "432024", "metric": "api_calls", "quantity": 2, "timestamp": stamp,
                     "event_id": f"load-{worker}-{n}-b"}]}),
                ("PATCH", "/api/v1/tenants/432024", {"population": 120000 + worker * 100 + n}),
            ):
                response = client.open(path, method=method, json=body)
                with lock:
                    answers.append((f"{method} {path}", response.status_code, response.headers.get("Retry-After"),
                                    response.mimetype))

    def kill() -> None:  # as a restart would, from outside the app's pools (the same role may)
        outside = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with outside.connect() as connection:
                while not stop.wait(0.05):
                    killed[0] += len(connection.execute(sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND usename = current_user AND pid <> pg_backend_pid()")).all())
                    connection.commit()
        finally:
            outside.dispose()

    killer = threading.Thread(target=kill)
    workers = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    killer.start()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    stop.set()
    killer.join()

    assert killed[0] > 0
    assert len(answers) == 4 * 12 * 4
    wrong = [a for a in answers if not (200 <= a[1] < 300 or a[1] == 503)]
    assert wrong == []
    unavailable = [a for a in answers if a[1] == 503]
    assert all(a[2] and int(a[2]) > 0 and a[3] == "application/problem+json" for a in unavailable)
    # the service is back at once, and nothing half-written: usage totals are their events' sums
    database.session.remove()
    client = app.test_client()
    assert client.get("/api/v1/tenants/431001").status_code == 200
    with database.engine.connect() as connection:
        from sqlalchemy.orm import Session

        with Session(connection) as session:
            result = integrity.check_aggregates(session, metering.retention_cutoff())
    assert result.differences == []
