"""Forwarded headers are believed only from the proxies listed by address (RENKEI_TRUSTED_PROXIES,
issue 26 item 3): from any other peer they are ignored and removed, whatever they say."""

from __future__ import annotations

import pytest

from admin.config import ConfigurationError
from residents.crypto import new_key_entry

LB = "10.0.0.10"


def _app(tmp_path, **config):
    from admin import create_app

    app = create_app({"RENKEI_ENV": "production", "SECRET_KEY": "s" * 40, "RENKEI_VAR_DIR": str(tmp_path),
                      "RENKEI_KEYCLOAK_ADMIN_PASSWORD": "a-real-master-password-42",
                      "RENKEI_RESIDENT_KEYS": new_key_entry("production"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "RENKEI_REQUEST_LOG": "off",
                      **config})

    @app.get("/who")
    def who():
        from flask import request
        return {"address": request.remote_addr, "scheme": request.scheme, "host": request.host,
                "forwarded": request.headers.get("X-Forwarded-For")}

    return app.test_client()


def ask(client, peer, **headers):
    return client.get("/who", headers=headers, environ_base={"REMOTE_ADDR": peer}).get_json()


def test_without_a_listed_proxy_no_forwarded_header_is_believed_or_seen(tmp_path):
    client = _app(tmp_path)
    seen = ask(client, "203.0.113.50", **{"X-Forwarded-For": "192.0.2.10", "X-Forwarded-Proto": "https",
                                          "X-Forwarded-Host": "evil.example"})
    assert seen == {"address": "203.0.113.50", "scheme": "http", "host": "localhost", "forwarded": None}


def test_only_the_listed_peer_is_believed(tmp_path):
    client = _app(tmp_path, RENKEI_TRUSTED_PROXIES=f"{LB}/32, 2001:db8:ff::/64")
    spoofed = ask(client, "203.0.113.50", **{"X-Forwarded-For": "192.0.2.10"})
    assert spoofed["address"] == "203.0.113.50" and spoofed["forwarded"] is None
    through = ask(client, LB, **{"X-Forwarded-For": "192.0.2.10", "X-Forwarded-Proto": "https",
                                 "X-Forwarded-Host": "renkei.example.lg.jp"})
    assert through["address"] == "192.0.2.10" and through["scheme"] == "https"
    assert through["host"] == "renkei.example.lg.jp"
    assert ask(client, "2001:db8:ff::7", **{"X-Forwarded-For": "2001:db8:1::5"})["address"] == "2001:db8:1::5"


def test_the_caller_is_the_rightmost_address_that_is_not_a_listed_proxy(tmp_path):
    client = _app(tmp_path, RENKEI_TRUSTED_PROXIES="10.0.0.0/24")
    # the caller put a fake address first; the load balancer appended the one it saw
    assert ask(client, LB, **{"X-Forwarded-For": "192.0.2.10, 198.51.100.7"})["address"] == "198.51.100.7"
    # two listed proxies in a row are skipped
    assert ask(client, LB, **{"X-Forwarded-For": "198.51.100.7, 10.0.0.11"})["address"] == "198.51.100.7"
    # a malformed entry ends the walk at the last proxy
    assert ask(client, LB, **{"X-Forwarded-For": "198.51.100.7, garbage"})["address"] == LB


@pytest.mark.parametrize("setting, words", [({"RENKEI_PROXY_HOPS": "1"}, "RENKEI_TRUSTED_PROXIES"),
                                            ({"RENKEI_TRUSTED_PROXIES": "10.0.0.0/33"}, "10.0.0.0/33"),
                                            ({"RENKEI_TOKEN_LEEWAY_SECONDS": 30}, "at most|from 0 to 5")])
def test_settings_that_would_trust_too_much_stop_the_start(tmp_path, setting, words):
    with pytest.raises(ConfigurationError, match=words):
        _app(tmp_path, **setting)


def test_the_default_leeway_is_at_most_five_seconds():
    from admin.config import MAX_TOKEN_LEEWAY_SECONDS, from_environment

    assert from_environment({})["RENKEI_TOKEN_LEEWAY_SECONDS"] <= MAX_TOKEN_LEEWAY_SECONDS == 5


def test_the_operator_sees_which_proxies_are_trusted_on_the_settings_page(client, app, monkeypatch):
    from tests.conftest import sign_in

    sign_in(client, ["platform-operator"])
    assert "転送ヘッダーはどこからも信頼しません" in client.get("/admin/settings/").get_data(as_text=True)
    monkeypatch.setitem(app.config, "RENKEI_TRUSTED_PROXIES", "192.0.2.10, 2001:db8:ff::/64")
    page = client.get("/admin/settings/").get_data(as_text=True)
    assert "<code>192.0.2.10/32</code>" in page and "<code>2001:db8:ff::/64</code>" in page
