"""The hot read in front of Flask (admin/hotpath.py): the same answer Flask gives, from memory, and
every case it cannot answer from memory left to Flask, which answers it as before."""

from __future__ import annotations

import json

import pytest

from admin.hotpath import HotPath


@pytest.fixture(autouse=True)
def _log_files_closed():
    from admin import request_log

    yield
    request_log.close_all()


def _answer(response):
    return response.status_code, dict(response.headers), response.get_data()


def test_a_repeated_read_is_answered_in_front_of_flask_with_the_same_bytes(app, client, tenant_factory, as_operator,
                                                                           flask_side, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "RENKEI_REQUEST_LOG", str(tmp_path))
    tenant_factory("431001", contacts=[{"role": "admin", "name": "熊本 太郎", "email": "t@example.jp"}])
    headers = {**as_operator, "X-Request-ID": "gateway-1"}
    first = client.get("/api/v1/tenants/431001", headers=headers)  # Flask: verifies the token, keeps the body
    assert flask_side.calls == 1
    second = client.get("/api/v1/tenants/431001", headers=headers)
    assert flask_side.calls == 1  # answered in front of Flask
    assert _answer(second) == _answer(first)
    assert first.headers["X-Request-ID"] == "gateway-1"
    logged = [json.loads(line) for path in tmp_path.iterdir() for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(logged) == 2
    assert [{k: v for k, v in entry.items() if k not in ("time", "duration_ms")} for entry in logged] == [
        {"request_id": "gateway-1", "actor": logged[0]["actor"], "tenant": "431001", "method": "GET",
         "path": "/api/v1/tenants/431001", "status": 200}] * 2
    assert logged[0]["actor"]


def test_flask_alone_gives_the_same_answer(app, client, tenant_factory, as_operator, flask_side):
    """What a process with RENKEI_HOT_PATH=0 answers (Flask's WSGI callable called directly)."""
    from werkzeug.test import Client

    tenant_factory("431001")
    headers = {**as_operator, "X-Request-ID": "gateway-2"}
    client.get("/api/v1/tenants/431001", headers=headers)
    hot = client.get("/api/v1/tenants/431001", headers=headers)
    assert flask_side.calls == 1
    direct = Client(flask_side.inner).get("/api/v1/tenants/431001", headers=headers)
    assert (direct.status_code, dict(direct.headers), direct.get_data()) == _answer(hot)


def test_the_setting_turns_the_hot_path_off(app):
    from flask import Flask

    from admin import hotpath

    plain = Flask("plain")
    plain.config["RENKEI_HOT_PATH"] = "0"
    hotpath.install(plain)
    assert not isinstance(plain.wsgi_app, HotPath)


@pytest.mark.parametrize("case", ["other tenant", "unknown code", "bad check digit", "no token", "bad token",
                                  "query string"])
def test_what_memory_cannot_answer_goes_to_flask_and_is_answered_as_before(app, client, tenant_factory, user_factory,
                                                                           as_operator, flask_side, case):
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
    before = flask_side.calls
    response = client.get(path, headers=headers)
    assert flask_side.calls == before + 1  # Flask decided
    assert response.status_code == status
    if status != 200:
        assert response.mimetype == "application/problem+json"


def test_a_person_put_on_the_deny_list_is_refused_at_once_though_their_token_was_known(
        app, client, db, tenant_factory, user_factory, flask_side):
    from tenancy.identity import denylist

    tenant_factory("432024")
    account, headers = user_factory(("municipal-admin",), "432024", fresh=True)
    assert client.get("/api/v1/tenants/432024", headers=headers).status_code == 200
    assert client.get("/api/v1/tenants/432024", headers=headers).status_code == 200  # from memory
    denylist.deny(db, [account.id], "disabled")
    db.commit()
    refused = client.get("/api/v1/tenants/432024", headers=headers)
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"


def test_a_repeated_list_page_is_answered_in_front_of_flask_only_with_what_the_reader_may_see(
        app, client, tenant_factory, as_operator, user_factory, flask_side):
    from werkzeug.test import Client

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("list pages are kept when PostgreSQL writes them; the PostgreSQL run checks this")
    tenant_factory("431001")
    tenant_factory("432024")
    _, own = user_factory(("municipal-admin",), "432024")
    for path in ("/api/v1/tenants", "/api/v1/tenants?per_page=1&page=2"):
        first = client.get(path, headers={**as_operator, "X-Request-ID": "list-1"})
        calls = flask_side.calls
        second = client.get(path, headers={**as_operator, "X-Request-ID": "list-1"})
        assert flask_side.calls == calls, path
        direct = Client(flask_side.inner).get(path, headers={**as_operator, "X-Request-ID": "list-1"})
        assert _answer(second) == _answer(first) == (direct.status_code, dict(direct.headers), direct.get_data())
    client.get("/api/v1/tenants", headers=own)
    calls = flask_side.calls
    mine = client.get("/api/v1/tenants", headers=own).get_json()
    assert flask_side.calls == calls and [t["code"] for t in mine["items"]] == ["432024"]
    for path, status in (("/api/v1/tenants?page=0", 422), ("/api/v1/tenants?per_page=1001", 422),
                         ("/api/v1/tenants?page=1&page=2", 200), ("/api/v1/tenants?status=active", 200)):
        before = flask_side.calls
        response = client.get(path, headers=as_operator)
        assert flask_side.calls == before + 1 and response.status_code == status, path  # Flask decided
