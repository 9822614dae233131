"""/healthz and /readyz for monitoring (no sign-in), and one JSON log line per request."""

import datetime as dt
import json
import time
import uuid

import pytest
import sqlalchemy as sa

from admin import request_log
from core.calendar import JST
from tests.conftest import TEST_DATABASE_URL, owner_engine
from tests.netfaults import black_hole, closed_port


@pytest.fixture(autouse=True)
def _log_files_closed():
    """The request log keeps its day file open; a test's folder is removed after it, so close it."""
    yield
    request_log.close_all()


@pytest.fixture
def at_head(app, db):
    """The test database, made by create_all, marked as migrated to the head (as `renkei db upgrade` does)."""
    from admin.service.health import migrations_head

    engine = owner_engine() if TEST_DATABASE_URL else db.get_bind()
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        connection.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": migrations_head()})
    if TEST_DATABASE_URL:
        with engine.begin() as connection:
            connection.execute(sa.text(f"GRANT SELECT ON alembic_version TO {sa.make_url(TEST_DATABASE_URL).username}"))
    yield
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE alembic_version"))


def test_healthz_answers_without_sign_in_or_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


@pytest.mark.parametrize("where", ["closed port", "black hole"])
def test_readyz_is_503_naming_keycloak_when_keycloak_does_not_answer(client, app, at_head, monkeypatch, where):
    with black_hole() as silent:
        monkeypatch.setitem(app.config, "RENKEI_KEYCLOAK_URL", closed_port() if where == "closed port" else silent)
        started = time.perf_counter()
        response = client.get("/readyz")
        print(f"/readyz with Keycloak at a {where}: {response.status_code} in {time.perf_counter() - started:.2f} s")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "fail"
    assert body["checks"]["keycloak"]["status"] == "fail"
    assert body["checks"]["database"] == {"status": "ok"} and body["checks"]["migrations"] == {"status": "ok"}


def test_readyz_is_200_when_keycloak_is_back(client, keycloak_settings, at_head):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"] == {"database": {"status": "ok"}, "migrations": {"status": "ok"},
                                             "keycloak": {"status": "ok"}}


def test_readyz_says_when_migrations_are_not_applied(client, app, monkeypatch):
    from admin.service.health import migrations_head

    migrations_head.cache_clear()  # as in a fresh process: the first /readyz reads the head itself
    monkeypatch.setitem(app.config, "RENKEI_KEYCLOAK_URL", closed_port())
    body = client.get("/readyz").get_json()
    assert body["checks"]["migrations"]["status"] == "fail"
    assert "renkei db upgrade" in body["checks"]["migrations"]["error"]


def test_each_request_is_one_json_line_with_its_request_id(client, app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "RENKEI_REQUEST_LOG", str(tmp_path))
    sent = f"req-{uuid.uuid4().hex[:12]}"
    response = client.get("/api/v1/tenants/431001", headers={"X-Request-ID": sent})
    assert response.headers["X-Request-ID"] == sent
    client.get("/healthz")  # a passing health check is not logged
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [f"requests-{dt.datetime.now(JST).date().isoformat()}.jsonl"]
    lines = [json.loads(text) for text in files[0].read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 1
    entry = lines[0]
    assert entry["request_id"] == sent and entry["method"] == "GET" and entry["path"] == "/api/v1/tenants/431001"
    assert entry["status"] == response.status_code and entry["tenant"] == "431001"
    assert entry["actor"] is None and entry["duration_ms"] >= 0
    assert dt.datetime.fromisoformat(entry["time"]).tzinfo is not None


def test_retention_deletes_request_logs_older_than_the_setting(tmp_path):
    today = dt.datetime.now(JST).date()
    names = {days: f"requests-{(today - dt.timedelta(days=days)).isoformat()}.jsonl" for days in (0, 364, 365, 366, 800)}
    for name in names.values():
        (tmp_path / name).write_text("{}\n")
    (tmp_path / "notes.txt").write_text("kept")
    removed = request_log.purge(tmp_path, 365)
    assert sorted(removed) == sorted([names[366], names[800]])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names[0], names[364], names[365], "notes.txt"])
