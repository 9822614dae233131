"""The reads an API gateway repeats all the time (a tenant, a page of tenants, the quota check),
answered from this process's memory after the first: every answer goes through Flask whole (its
hooks, its request log, its authorization), says the same as the first, and a refusal is answered
at once, however well the token or the body is known.

These reads were once answered by a WSGI layer in front of Flask (admin/hotpath.py, removed in
issue 24): its answers skipped the app's before- and after-request hooks."""

from __future__ import annotations

import json

import pytest

QUOTA = "/api/v1/tenants/431001/quota-check?metric=api_calls"


@pytest.fixture
def stamped(app, monkeypatch):
    """An after-request hook added to the app, as a future header hook would be."""
    def stamp(response):
        response.headers["X-Stamped"] = "yes"
        return response

    monkeypatch.setitem(app.after_request_funcs, None, [*app.after_request_funcs.get(None, []), stamp])


def _answer(response):
    return response.status_code, dict(response.headers), response.get_data()


@pytest.mark.parametrize("path", ["/api/v1/tenants/431001", QUOTA, "/api/v1/tenants?per_page=10"])
def test_a_header_added_by_an_after_request_hook_is_on_every_answer_of_a_repeated_read(
        client, tenant_factory, as_operator, long_memories, stamped, path):
    tenant_factory("431001")
    for _ in range(3):  # the first reads the database, the others memory
        response = client.get(path, headers=as_operator)
        assert response.status_code == 200 and response.headers.get("X-Stamped") == "yes", path


def test_the_limits_on_a_request_head_hold_for_a_repeated_read(client, tenant_factory, as_operator, long_memories):
    tenant_factory("431001")
    assert client.get("/api/v1/tenants/431001", headers=as_operator).status_code == 200
    many = {**as_operator, **{f"X-Extra-{i}": "1" for i in range(95)}}
    assert client.get("/api/v1/tenants/431001", headers=many).status_code == 431


def test_a_repeated_read_gives_the_same_bytes_and_is_logged_each_time(client, tenant_factory, as_operator,
                                                                      long_memories, request_log_folder):
    tenant_factory("431001", contacts=[{"role": "admin", "name": "熊本 太郎", "email": "t@example.jp"}])
    headers = {**as_operator, "X-Request-ID": "gateway-1"}
    first = client.get("/api/v1/tenants/431001", headers=headers)
    second = client.get("/api/v1/tenants/431001", headers=headers)  # from memory
    assert _answer(second) == _answer(first)
    assert first.headers["X-Request-ID"] == "gateway-1"
    logged = [json.loads(line) for path in request_log_folder.iterdir() for line in path.read_text(encoding="utf-8").splitlines()]
    assert [{k: v for k, v in entry.items() if k not in ("time", "duration_ms")} for entry in logged] == [
        {"request_id": "gateway-1", "actor": logged[0]["actor"], "tenant": "431001", "method": "GET",
         "path": "/api/v1/tenants/431001", "status": 200}] * 2
    assert logged[0]["actor"]


@pytest.mark.parametrize("case", ["other tenant", "unknown code", "bad check digit", "no token", "bad token",
                                  "query string"])
def test_a_read_of_what_memory_holds_is_still_refused_or_answered_as_it_should(
        client, tenant_factory, user_factory, as_operator, long_memories, case):
    tenant_factory("431001")
    tenant_factory("432024")
    _, own = user_factory(("municipal-admin",), "432024")
    client.get("/api/v1/tenants/432024", headers=own)  # the token is now known and the registry kept
    client.get("/api/v1/tenants/431001", headers=as_operator)
    path, headers, status = {
        "other tenant": ("/api/v1/tenants/431001", own, 403),
        "unknown code": ("/api/v1/tenants/433004", as_operator, 404),
        "bad check digit": ("/api/v1/tenants/431002", as_operator, 422),
        "no token": ("/api/v1/tenants/431001", {}, 401),
        "bad token": ("/api/v1/tenants/431001", {"Authorization": "Bearer not-a-token"}, 401),
        "query string": ("/api/v1/tenants/431001?x=1", as_operator, 200),
    }[case]
    response = client.get(path, headers=headers)
    assert response.status_code == status
    if status != 200:
        assert response.mimetype == "application/problem+json"


def test_a_person_put_on_the_deny_list_is_refused_at_once_though_their_token_was_known(
        client, db, tenant_factory, user_factory, long_memories):
    from tenancy.identity import denylist

    tenant_factory("432024")
    account, headers = user_factory(("municipal-admin",), "432024", fresh=True)
    assert client.get("/api/v1/tenants/432024", headers=headers).status_code == 200
    assert client.get("/api/v1/tenants/432024", headers=headers).status_code == 200  # from memory
    denylist.deny(db, [account.id], "disabled")
    db.commit()
    refused = client.get("/api/v1/tenants/432024", headers=headers)
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"


def test_a_repeated_list_page_shows_only_what_the_reader_may_see(app, client, tenant_factory, as_operator,
                                                                 user_factory, long_memories):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("list pages are kept when PostgreSQL writes them; the PostgreSQL run checks this")
    tenant_factory("431001")
    tenant_factory("432024")
    _, own = user_factory(("municipal-admin",), "432024")
    for path in ("/api/v1/tenants", "/api/v1/tenants?per_page=1&page=2"):
        first = client.get(path, headers={**as_operator, "X-Request-ID": "list-1"})
        second = client.get(path, headers={**as_operator, "X-Request-ID": "list-1"})
        assert _answer(second) == _answer(first)
    client.get("/api/v1/tenants", headers=own)
    mine = client.get("/api/v1/tenants", headers=own).get_json()
    assert [t["code"] for t in mine["items"]] == ["432024"]
    for path, status in (("/api/v1/tenants?page=0", 422), ("/api/v1/tenants?per_page=1001", 422),
                         ("/api/v1/tenants?page=1&page=2", 200), ("/api/v1/tenants?status=active", 200)):
        assert client.get(path, headers=as_operator).status_code == status, path


def test_a_parameter_glued_to_the_previous_one_is_part_of_its_value(client, tenant_factory, as_operator, long_memories):
    """``metric=api_callsquantity=5`` is the metric "api_callsquantity=5" (no such metric), not
    api_calls with quantity 5, on the first check and on a repeated one."""
    tenant_factory("431001")
    client.get(QUOTA, headers=as_operator)
    for _ in range(2):
        refused = client.get("/api/v1/tenants/431001/quota-check?metric=api_callsquantity=5", headers=as_operator)
        assert refused.status_code == 422 and [e["field"] for e in refused.get_json()["errors"]] == ["metric"]
