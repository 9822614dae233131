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
    cache.put("431001", '{"code":"431001"}', cache.generation(), clock())
    clock.now += 0.9
    assert cache.get("431001") == '{"code":"431001"}'
    clock.now += 0.2  # 1.1 s after the read
    assert cache.get("431001") is None


def test_a_read_that_began_before_a_committed_write_is_not_kept(db, tenant_factory):
    cache = TenantBodyCache(max_age=60.0)
    taken = cache.generation()  # a read starts...
    tenant_factory("431001")  # ...another request commits a change meanwhile
    cache.put("431001", '{"old":true}', taken)
    assert cache.get("431001") is None


def test_a_write_committed_in_this_process_empties_the_cache_at_once(db, tenant_factory):
    tenant_factory("431001")
    cache = TenantBodyCache(max_age=60.0)
    cache.put("431001", '{"old":true}', cache.generation())
    assert cache.get("431001") == '{"old":true}'
    db.execute(sa.text("UPDATE tenant SET population = 1 WHERE code = '431001'"))
    db.commit()
    assert cache.get("431001") is None


def test_a_read_only_commit_keeps_the_cache(db, tenant_factory):
    tenant_factory("431001")
    cache = TenantBodyCache(max_age=60.0)
    cache.put("431001", '{"kept":true}', cache.generation())
    db.execute(sa.text("SELECT count(*) FROM tenant"))
    db.commit()
    assert cache.get("431001") == '{"kept":true}'


def test_get_by_code_answers_a_change_made_elsewhere_once_the_bound_has_passed(app, client, tenant_factory,
                                                                              as_operator, monkeypatch):
    """A change this process did not make (another worker, the command line) is seen within the bound."""
    import time

    cache = TenantBodyCache(max_age=0.3)
    monkeypatch.setitem(app.extensions, "renkei_tenant_bodies", cache)
    tenant_factory("431001", population=100)
    assert client.get("/api/v1/tenants/431001", headers=as_operator).get_json()["population"] == 100
    # as if another process had changed it after this one read it: the kept body differs from the row
    cache._entries["431001"] = (cache.clock(), cache.generation(),
                                cache.get("431001").replace('"population":100', '"population":5'))
    # the process's own memory answers within the bound...
    assert client.get("/api/v1/tenants/431001", headers=as_operator).get_json()["population"] == 5
    time.sleep(0.4)
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
                            "status", "wave_fiscal_year", "user_seat_limit", "created_at", "updated_at", "contacts"]
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
