"""The two hot tenant reads (issue #12): the body of a tenant kept in process memory for at most
its bound and dropped by any write of this process; on PostgreSQL the JSON written by the database
is the very text the API wrote before (same keys, order, types and escapes)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from tenancy.registry.readcache import TenantBodyCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_kept_body_is_served_only_within_its_bound():
    clock = Clock()
    cache = TenantBodyCache(max_age=1.0, clock=clock)
    cache.put("431001", b'{"code":"431001"}', cache.generation(), clock())
    clock.now += 0.9
    assert cache.get("431001") == b'{"code":"431001"}'
    clock.now += 0.2  # 1.1 s after the read
    assert cache.get("431001") is None


def test_a_read_that_began_before_a_committed_write_is_not_kept(db, tenant_factory):
    cache = TenantBodyCache(max_age=60.0)
    taken = cache.generation()  # a read starts...
    tenant_factory("431001")  # ...another request commits a change meanwhile
    cache.put("431001", b'{"old":true}', taken)
    assert cache.get("431001") is None


def test_a_write_committed_in_this_process_empties_the_cache_at_once(db, tenant_factory):
    tenant_factory("431001")
    cache = TenantBodyCache(max_age=60.0)
    cache.put("431001", b'{"old":true}', cache.generation())
    assert cache.get("431001") == b'{"old":true}'
    db.execute(sa.text("UPDATE tenant SET population = 1 WHERE code = '431001'"))
    db.commit()
    assert cache.get("431001") is None


def test_a_read_only_commit_keeps_the_cache(db, tenant_factory):
    tenant_factory("431001")
    cache = TenantBodyCache(max_age=60.0)
    cache.put("431001", b'{"kept":true}', cache.generation())
    db.execute(sa.text("SELECT count(*) FROM tenant"))
    db.commit()
    assert cache.get("431001") == b'{"kept":true}'


def test_get_by_code_answers_a_change_made_elsewhere_once_the_bound_has_passed(app, client, tenant_factory,
                                                                              as_operator, monkeypatch):
    """A change this process did not make (another worker, the command line) is seen within the bound."""
    now = [1000.0]  # the cache's own clock, moved by the test: a slow run cannot pass the bound by itself
    cache = TenantBodyCache(max_age=0.3, clock=lambda: now[0])
    monkeypatch.setitem(app.extensions, "renkei_tenant_bodies", cache)
    tenant_factory("431001", population=100)
    assert client.get("/api/v1/tenants/431001", headers=as_operator).get_json()["population"] == 100
    # as if another process had changed it after this one read it: the kept body differs from the row
    cache._entries["431001"] = (cache.clock(), cache.generation(),
                                cache.get("431001").replace(b'"population":100', b'"population":5'))
    # the process's own memory answers within the bound...
    assert client.get("/api/v1/tenants/431001", headers=as_operator).get_json()["population"] == 5
    now[0] += 0.31
    # ...and the database once it has passed
    assert client.get("/api/v1/tenants/431001", headers=as_operator).get_json()["population"] == 100


def test_a_municipal_admin_is_refused_a_tenant_another_reader_had_kept(client, tenant_factory, as_operator,
                                                                       user_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    assert client.get("/api/v1/tenants/431001", headers=as_operator).status_code == 200  # now kept
    _, headers = user_factory(("municipal-admin",), "432024")
    refused = client.get("/api/v1/tenants/431001", headers=headers)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"


def test_the_bodies_are_the_same_text_as_the_python_encoding(db, client, tenant_factory, as_operator):
    """Quotes, backslashes, tabs, control characters and non-ASCII text, nulls, a tenant without
    contacts, times stored in another zone: the answers are the compact JSON text (UTF-8, keys in
    the schema's order, times in UTC with microseconds and Z) of what was stored."""
    tricky = 'a"b\\c\tq\x01é/日\x7f'
    tenant_factory("431001", name_kana=None, wave_fiscal_year=None, user_seat_limit=7,
                   contacts=[{"role": "admin", "name": "熊本 太郎", "department": "課 \"1\"", "email": "t@example.jp",
                              "phone": ""}])
    tenant_factory("432024", population_source="x")
    db.execute(sa.text("UPDATE tenant SET name_ja = :name, created_at = :at WHERE code = '431001'"),
               {"name": tricky, "at": "2025-04-01 09:00:00.123456+09:00"})
    db.commit()
    one = client.get("/api/v1/tenants/431001", headers=as_operator)
    expected_contacts = [{"role": "admin", "name": "熊本 太郎", "department": "課 \"1\"", "email": "t@example.jp",
                          "phone": ""}]
    body = one.get_data(as_text=True)
    assert one.mimetype == "application/json" and body.endswith("}\n")
    parsed = json.loads(body)
    assert list(parsed) == ["code", "name_ja", "name_en", "name_kana", "kind", "population", "population_source",
                            "status", "wave_fiscal_year", "user_seat_limit", "contacts", "created_at", "updated_at"]
    assert parsed["name_ja"] == tricky and parsed["name_kana"] is None and parsed["wave_fiscal_year"] is None
    assert parsed["user_seat_limit"] == 7 and parsed["contacts"] == expected_contacts
    assert parsed["created_at"] == "2025-04-01T00:00:00.123456Z"
    assert body == json.dumps(parsed, ensure_ascii=False, separators=(",", ":")) + "\n"
    page = client.get("/api/v1/tenants?per_page=1&page=2", headers=as_operator).get_data(as_text=True)
    listed = json.loads(page)
    assert listed["total"] == 2 and listed["page"] == 2 and listed["per_page"] == 1
    assert [t["code"] for t in listed["items"]] == ["432024"] and listed["items"][0]["contacts"] == []
    assert page == json.dumps(listed, ensure_ascii=False, separators=(",", ":")) + "\n"
    first = json.loads(client.get("/api/v1/tenants?per_page=1", headers=as_operator).get_data(as_text=True))
    assert first["items"] == [parsed]


def test_the_cache_can_be_turned_off(app, client, tenant_factory, as_operator, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_TENANT_CACHE_SECONDS", 0)
    monkeypatch.delitem(app.extensions, "renkei_tenant_bodies", raising=False)
    tenant_factory("431001")
    assert client.get("/api/v1/tenants/431001", headers=as_operator).get_json()["code"] == "431001"
    assert app.extensions["renkei_tenant_bodies"] is None
    monkeypatch.delitem(app.extensions, "renkei_tenant_bodies")


def _statements(engine_class=sa.engine.Engine):
    """A list collecting every statement any engine runs from now on (and its remover)."""
    seen: list[str] = []

    def note(connection, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(engine_class, "before_cursor_execute", note)
    return seen, lambda: sa.event.remove(engine_class, "before_cursor_execute", note)


def _postgresql_only(app):
    import pytest

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the registry snapshot and kept pages are built by PostgreSQL; the PostgreSQL run checks them")


def test_after_one_read_any_tenant_and_an_unknown_code_are_answered_without_the_database(
        app, client, tenant_factory, as_operator, long_memories):
    """National scale: a gateway asks for any of 1,741 codes; one read loads every tenant's body."""
    _postgresql_only(app)
    tenant_factory("431001", population=100)
    tenant_factory("432024", population=200)
    assert client.get("/api/v1/tenants/431001", headers=as_operator).get_json()["population"] == 100
    seen, stop = _statements()
    try:
        other = client.get("/api/v1/tenants/432024", headers=as_operator)
        unknown = client.get("/api/v1/tenants/433004", headers=as_operator)
    finally:
        stop()
    assert other.get_json()["population"] == 200
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    assert [s for s in seen if "tenant" in s] == []


def test_a_kept_list_page_is_never_shown_to_a_reader_who_may_see_less(app, client, tenant_factory, as_operator,
                                                                      user_factory, long_memories):
    _postgresql_only(app)
    tenant_factory("431001")
    tenant_factory("432024")
    everyone = client.get("/api/v1/tenants", headers=as_operator).get_json()
    assert [t["code"] for t in everyone["items"]] == ["431001", "432024"]
    seen, stop = _statements()
    try:
        again = client.get("/api/v1/tenants", headers=as_operator).get_json()
    finally:
        stop()
    assert again == everyone and [s for s in seen if "tenant" in s] == []  # kept: no query
    _, headers = user_factory(("municipal-admin",), "432024")
    own = client.get("/api/v1/tenants", headers=headers).get_json()
    assert [t["code"] for t in own["items"]] == ["432024"] and own["total"] == 1


def test_a_write_committed_in_this_process_is_seen_by_the_next_list_and_get(app, client, db, tenant_factory,
                                                                            as_operator):
    tenant_factory("431001", population=100)
    assert client.get("/api/v1/tenants", headers=as_operator).get_json()["items"][0]["population"] == 100
    assert client.get("/api/v1/tenants/431001", headers=as_operator).get_json()["population"] == 100
    db.execute(sa.text("UPDATE tenant SET population = 7 WHERE code = '431001'"))
    db.commit()
    assert client.get("/api/v1/tenants", headers=as_operator).get_json()["items"][0]["population"] == 7
    assert client.get("/api/v1/tenants/431001", headers=as_operator).get_json()["population"] == 7


def test_the_registry_snapshot_is_read_again_in_the_background_before_its_bound_passes():
    """Requests go on being answered from the snapshot while one background read renews it."""
    import threading

    clock = Clock()
    cache = TenantBodyCache(max_age=1.0, clock=clock)
    reads, done = [], threading.Event()

    def refresher():
        reads.append(clock.now)
        cache.fill({"431001": b'{"new":true}'}, cache.generation(), clock.now)
        done.set()

    cache.refresher = refresher
    cache.fill({"431001": b'{"old":true}'}, cache.generation(), clock.now)
    clock.now += 0.5
    assert cache.get("431001") == b'{"old":true}' and reads == []  # young: no read
    clock.now += 0.3  # 0.8 s: past 70 % of the bound
    assert cache.get("431001") == b'{"old":true}'  # answered at once from the snapshot...
    assert done.wait(5)
    assert reads == [clock.now] and cache.get("431001") == b'{"new":true}'  # ...and renewed behind it
    clock.now += 0.5  # 0.5 s after the renewal: still young, nothing more read
    assert cache.get("431001") == b'{"new":true}' and len(reads) == 1
