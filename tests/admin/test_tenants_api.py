"""/api/v1/tenants: list, get, create, update; errors are problem+json a clerk can act on."""

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from tests.conftest import drop_server_connection

KUMAMOTO = {"code": "431001", "name_ja": "熊本市", "name_en": "Kumamoto", "kind": "designated_city",
            "population": 738744, "population_source": "2020 census preliminary count (速報値)"}


def audit_actions(db):
    db.expire_all()
    return [r.action for r in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq))]


def test_create_then_get_by_code(client, db, as_operator):
    created = client.post("/api/v1/tenants", json=KUMAMOTO, headers=as_operator)
    assert created.status_code == 201
    assert created.get_json()["status"] == "applied"
    fetched = client.get("/api/v1/tenants/431001", headers=as_operator)
    assert fetched.status_code == 200
    assert fetched.get_json()["name_ja"] == "熊本市"
    assert audit_actions(db) == ["tenant.create"]


def test_invalid_code_is_422_naming_the_field(client, as_operator):
    response = client.post("/api/v1/tenants", json={**KUMAMOTO, "code": "431002"}, headers=as_operator)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert [e["field"] for e in body["errors"]] == ["code"]
    assert "431001" in body["errors"][0]["message_en"]
    assert "検査数字" in body["errors"][0]["message_ja"]


def test_invalid_code_in_the_path_is_422(client, as_operator):
    response = client.get("/api/v1/tenants/431002", headers=as_operator)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "code"


def test_unknown_code_is_404(client, as_operator):
    response = client.get("/api/v1/tenants/432024", headers=as_operator)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert "432024" in response.get_json()["detail_en"]


@pytest.mark.parametrize("body,content_type", [
    ("{not json", "application/json"),
    ('{"code": "431001",}', "application/json"),
    (b"\xff\xfe\x00", "application/json"),
])
def test_malformed_json_is_400_with_a_message(client, as_operator, body, content_type):
    response = client.post("/api/v1/tenants", data=body, content_type=content_type, headers=as_operator)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "JSON" in response.get_json()["detail_en"]


def test_a_body_that_is_not_json_is_415(client, as_operator):
    response = client.post("/api/v1/tenants", data="code=431001", content_type="application/x-www-form-urlencoded",
                           headers=as_operator)
    assert response.status_code == 415


@pytest.mark.parametrize("change", [
    {"population": "many"},
    {"population": 1.5},
    {"population": 0},
    {"population": True},
    {"kind": "castle"},
    {"name_ja": ""},
    {"contacts": "none"},
    {"contacts": [{"name": "担当", "email": "not-an-address"}]},
    {"unexpected": 1},
])
def test_wrong_types_are_422_and_name_the_field(client, db, as_operator, change):
    response = client.post("/api/v1/tenants", json={**KUMAMOTO, **change}, headers=as_operator)
    assert response.status_code == 422
    fields = [e["field"] for e in response.get_json()["errors"]]
    assert any(f.split(".")[0].split("[")[0] == next(iter(change)) for f in fields), fields
    assert audit_actions(db) == []


@pytest.mark.parametrize("body", [[1, 2], "431001", 12, None])
def test_a_body_of_the_wrong_shape_is_4xx(client, as_operator, body):
    response = client.post("/api/v1/tenants", json=body, headers=as_operator)
    assert 400 <= response.status_code < 500


def test_duplicate_code_is_409(client, as_operator):
    assert client.post("/api/v1/tenants", json=KUMAMOTO, headers=as_operator).status_code == 201
    response = client.post("/api/v1/tenants", json=KUMAMOTO, headers=as_operator)
    assert response.status_code == 409
    assert "すでに登録" in response.get_json()["detail_ja"]


def test_update_changes_only_what_was_sent_and_audits_before_and_after(client, db, as_operator):
    client.post("/api/v1/tenants", json=KUMAMOTO, headers=as_operator)
    response = client.patch("/api/v1/tenants/431001", json={"population": 738865, "population_source": "2020 census final"},
                            headers=as_operator)
    assert response.status_code == 200
    assert response.get_json()["population"] == 738865
    assert response.get_json()["name_ja"] == "熊本市"
    db.expire_all()
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "tenant.update")).one()
    assert '"population":738744' in record.before and '"population":738865' in record.after
    assert "name_ja" not in record.after


def test_update_cannot_move_the_status(client, as_operator):
    client.post("/api/v1/tenants", json=KUMAMOTO, headers=as_operator)
    response = client.patch("/api/v1/tenants/431001", json={"status": "active"}, headers=as_operator)
    assert response.status_code == 422


def test_list_filters_and_paginates(client, tenant_factory, as_operator):
    tenant_factory("430005", status="active")
    for code in ("431001", "432024", "432032"):
        tenant_factory(code, status="active", wave_fiscal_year=2024)
    for code in ("432059", "434035"):
        tenant_factory(code, status="applied", wave_fiscal_year=2025)
    everything = client.get("/api/v1/tenants", headers=as_operator).get_json()
    assert everything["total"] == 6
    assert [t["code"] for t in everything["items"]] == sorted(t["code"] for t in everything["items"])
    applied = client.get("/api/v1/tenants?status=applied", headers=as_operator).get_json()
    assert [t["code"] for t in applied["items"]] == ["432059", "434035"]
    towns = client.get("/api/v1/tenants?kind=town", headers=as_operator).get_json()
    assert [t["code"] for t in towns["items"]] == ["434035"]
    wave = client.get("/api/v1/tenants?wave=2024", headers=as_operator).get_json()
    assert wave["total"] == 3
    page2 = client.get("/api/v1/tenants?per_page=4&page=2", headers=as_operator).get_json()
    assert page2["total"] == 6 and len(page2["items"]) == 2
    bad = client.get("/api/v1/tenants?status=sleeping", headers=as_operator)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "status"


def test_the_openapi_document_describes_the_tenant_api(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert {"get", "post"} <= set(document["paths"]["/api/v1/tenants"])
    assert {"get", "patch"} <= set(document["paths"]["/api/v1/tenants/{code}"])
    assert "TenantCreate" in str(document["components"]["schemas"])


def test_no_stack_trace_on_an_unexpected_error(app, client, as_operator, monkeypatch):
    from tenancy.registry import operations

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(operations, "read_tenant", explode)
    response = client.get("/api/v1/tenants/431001", headers=as_operator)
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"


def test_a_uniqueness_clash_at_write_time_is_409_not_500(app, client, as_operator, monkeypatch):
    """Two requests registering the same code at once: the loser gets 409 (the check passed for both)."""
    from tenancy.registry import operations

    client.post("/api/v1/tenants", json=KUMAMOTO, headers=as_operator)
    monkeypatch.setattr(operations, "find_tenant", lambda session, code: None)  # as if the other request had not committed yet
    response = client.post("/api/v1/tenants", json=KUMAMOTO, headers=as_operator)
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "同時に変更" in response.get_json()["detail_ja"]


def test_get_returns_the_contacts_in_the_order_given(client, as_operator):
    contacts = [{"role": "admin", "name": "熊本 太郎", "department": "デジタル戦略課", "email": "taro@example.jp", "phone": "096-000-0001"},
                {"role": "billing", "name": "熊本 花子", "department": "財政課", "email": "hanako@example.jp", "phone": "096-000-0002"}]
    assert client.post("/api/v1/tenants", json={**KUMAMOTO, "contacts": contacts}, headers=as_operator).status_code == 201
    fetched = client.get("/api/v1/tenants/431001", headers=as_operator).get_json()
    assert fetched["contacts"] == contacts
    listed = client.get("/api/v1/tenants", headers=as_operator).get_json()["items"][0]
    assert listed["contacts"] == contacts and listed["created_at"] == fetched["created_at"]


# --- the read paths served in one statement on a connection of their own (issue #12) ----------

def test_a_page_past_the_end_is_empty_and_still_counts_every_match(client, tenant_factory, as_operator):
    for code in ("431001", "432024", "432032"):
        tenant_factory(code, status="active")
    body = client.get("/api/v1/tenants?per_page=2&page=5", headers=as_operator).get_json()
    assert body["items"] == [] and body["total"] == 3 and body["page"] == 5


def test_a_municipal_admin_reads_only_their_own_tenant(client, tenant_factory, user_factory):
    for code in ("431001", "432024", "432032"):
        tenant_factory(code, status="active")
    _, headers = user_factory(("municipal-admin",), "432024")
    listed = client.get("/api/v1/tenants", headers=headers).get_json()
    assert [t["code"] for t in listed["items"]] == ["432024"] and listed["total"] == 1
    assert client.get("/api/v1/tenants/432024", headers=headers).get_json()["code"] == "432024"
    refused = client.get("/api/v1/tenants/431001", headers=headers)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"


def test_a_read_sees_a_change_committed_just_before(client, as_operator):
    assert client.post("/api/v1/tenants", json=KUMAMOTO, headers=as_operator).status_code == 201
    assert client.patch("/api/v1/tenants/431001", json={"population": 740000}, headers=as_operator).status_code == 200
    assert client.get("/api/v1/tenants/431001", headers=as_operator).get_json()["population"] == 740000
    listed = client.get("/api/v1/tenants", headers=as_operator).get_json()["items"]
    assert [t["population"] for t in listed] == [740000]


def test_an_api_answer_never_sets_a_cookie(client):
    """The API is authenticated by its bearer token alone: it neither reads nor sets the admin
    UI's signed session, even when asked for another language."""
    response = client.get("/api/v1/tenants/432024?lang=en")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert "Set-Cookie" not in response.headers


def test_reads_still_answer_after_the_database_dropped_every_connection(app, client, tenant_factory, as_operator):
    """A database restart drops the connections kept open; the next read notices and answers, no 500."""
    from admin.extensions import db as database

    if database.engine.dialect.name != "postgresql":
        pytest.skip("dropping server connections is a PostgreSQL test")
    tenant_factory("431001", status="active")
    assert client.get("/api/v1/tenants/431001", headers=as_operator).status_code == 200
    assert client.get("/api/v1/tenants", headers=as_operator).status_code == 200
    read_engine = app.extensions["renkei_autocommit_engine"]
    with read_engine.connect() as kept:  # the connection the reads keep open between requests
        pid = kept.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    with database.engine.connect() as connection:  # as a restart would: the server drops it
        assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    assert client.get("/api/v1/tenants/431001", headers=as_operator).get_json()["code"] == "431001"
    assert client.get("/api/v1/tenants", headers=as_operator).get_json()["total"] == 1


def test_a_write_still_succeeds_after_the_database_dropped_the_pooled_connection(app, client, db, open_api):
    """No ping before each use: a pooled connection the server closed (a restart) is noticed at
    check-out without a round trip and replaced, so the next write answers, no 500."""
    from admin.extensions import db as database

    if database.engine.dialect.name != "postgresql":
        pytest.skip("dropping server connections is a PostgreSQL test")
    assert not database.engine.pool._pre_ping
    assert client.post("/api/v1/tenants", json=KUMAMOTO).status_code == 201
    database.session.remove()
    with database.engine.connect() as kept:  # the pooled connection the next request will take
        pid = kept.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    drop_server_connection(database.engine.url, pid)
    response = client.post("/api/v1/tenants", json={**KUMAMOTO, "code": "432024", "name_ja": "八代市"})
    assert response.status_code == 201, response.get_data(as_text=True)


def test_an_app_that_goes_away_closes_the_connections_its_reads_kept(app):
    """A second app on the same database (a restore drill, a restarted worker) reads through its own
    pool; when that app is dropped its pooled connections are closed, not left for the garbage
    collector to find open (psycopg warns then, and the warning lands in whatever runs next)."""
    import gc
    import warnings

    from admin import create_app
    from admin.api import tenants

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite reads share the app's engine; the kept connections are PostgreSQL's")
    other = create_app({**{k: v for k, v in app.config.items() if k.startswith(("RENKEI_", "SECRET", "SQLALCHEMY"))},
                        "TESTING": True})
    with other.app_context():
        assert tenants._read(lambda connection: connection.execute(sa.text("SELECT 1")).scalar()) == 1
        from admin.extensions import db as database
        database.engine.dispose()
    kept = other.extensions["renkei_autocommit_engine"].pool.checkedin()
    assert kept == 1
    del other
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
