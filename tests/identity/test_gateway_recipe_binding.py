"""Issue 51 item 5: a gateway credential bound to the recipe that passed `renkei gateway lint`.

The lint gives a passing auth location its recipe hash; nginx sends it in X-Renkei-Recipe; renkei has
it registered for the credential's client id (RENKEI_GATEWAY_RECIPES) and refuses a check without it.
So a config written from nginx's documentation (the consumer's headers passed on, X-Original-Method
not set), which lets a read-only client write by claiming GET, is refused at run time once the
credential is bound, not only named by the lint. Through Debian's nginx, renkei and the real Keycloak."""

from __future__ import annotations

import pytest

from maintenance import nginx_lint
from tenancy.identity import gateway
from tests.identity.test_gateway_auth import basic, make_kumamoto_client
from tests.identity.test_gateway_nginx import (RECIPE, Upstream, call, filled_recipe, free_port, gateway_credential,
                                               nginx_binary, renkei_and_upstream, running_nginx)


@pytest.fixture(autouse=True)
def clean_quota_cache():
    from usage.quotas import reset_quota_caches

    reset_quota_caches()
    yield
    reset_quota_caches()


def folder(tmp_path, name: str):
    (tmp_path / name).mkdir()
    return tmp_path / name


def recipe_hash(tmp_path, config: str) -> str:
    (tmp_path / "linted.conf").write_text(config, encoding="utf-8")
    found = nginx_lint.report(tmp_path / "linted.conf")
    assert found.problems == [] and len(found.hashes) == 1, found
    return found.hashes[0][1]


def test_a_bound_credential_refuses_at_run_time_a_config_that_passes_the_consumers_headers(
        app, client, tenant_factory, user_factory, keycloak_settings, monkeypatch, tmp_path):
    nginx_binary()
    _, token, _ = make_kumamoto_client(client, tenant_factory, user_factory, keycloak_settings)  # may only read
    forged = {"X-Original-Method": "GET"}  # a write that claims to be a read
    with renkei_and_upstream(app) as (renkei_port, upstream_port):
        def config(port: int) -> str:
            return filled_recipe(RECIPE.read_text(encoding="utf-8"), f"127.0.0.1:{renkei_port}", app.config["SERVER_NAME"],
                                 f"127.0.0.1:{upstream_port}", port, gateway_credential(keycloak_settings))

        def stock(port: int) -> str:  # from nginx's documentation: the consumer's headers on, one header not set
            return config(port).replace("        proxy_pass_request_headers off;\n", "", 1) \
                .replace("        proxy_set_header X-Original-Method $request_method;\n", "", 1)

        (tmp_path / "stock.conf").write_text(stock(1), encoding="utf-8")
        assert any("proxy_pass_request_headers off" in p for p in nginx_lint.lint(tmp_path / "stock.conf"))
        Upstream.calls.clear()

        port = free_port()  # not bound: the hole the lint names is open at run time
        with running_nginx(stock(port), folder(tmp_path, "unbound"), port):
            assert call(port, "POST", "/v2/entities", token, headers=forged)[0] == 200
        assert [seen["method"] for seen in Upstream.calls] == ["POST"]

        port = free_port()
        digest = recipe_hash(tmp_path, config(port))
        bound = config(port).replace("proxy_method GET;", f"proxy_method GET;\n        proxy_set_header X-Renkei-Recipe {digest};", 1)
        monkeypatch.setitem(app.extensions, "renkei_gateway_recipes",
                            gateway.registered_recipes(f"{keycloak_settings.metering_client_id}={digest}"))
        with running_nginx(bound, folder(tmp_path, "bound"), port):  # the recipe that passed: works as before
            assert call(port, "GET", "/v2/entities", token)[0] == 200
            status, _, body = call(port, "POST", "/v2/entities", token, headers=forged)
            assert status == 403 and body["reason"] == "scope_missing", body

        port = free_port()  # bound, and the stock config again: refused, whatever the consumer sends
        with running_nginx(stock(port), folder(tmp_path, "stock"), port):
            for method in ("POST", "GET"):
                status, headers, body = call(port, method, "/v2/entities", token, headers=forged)
                assert status == 503 and body["reason"] == "check_unavailable", body
                assert body["detail_ja"] and int(headers["retry-after"]) > 0
            # nor does a consumer who sends a hash itself: the hash covers the gateway's secret, not theirs to know
            status, _, body = call(port, "GET", "/v2/entities", token, headers={"X-Renkei-Recipe": "0" * 32})
            assert status == 503, body
    assert [seen["method"] for seen in Upstream.calls] == ["POST", "GET"]  # nothing refused reached the API


def test_the_check_says_why_a_bound_credential_is_refused(client, keycloak_settings, monkeypatch, app):
    digest = "a" * 32
    monkeypatch.setitem(app.extensions, "renkei_gateway_recipes",
                        gateway.registered_recipes(f"other-gateway={'b' * 32} {keycloak_settings.metering_client_id}={digest}"))
    as_gateway = {"Authorization": basic(keycloak_settings.metering_client_id, keycloak_settings.metering_client_secret),
                  "X-Original-Method": "GET", "X-Original-URI": "/v2/entities", "X-Original-Remote-Addr": "127.0.0.1"}
    for sent, words in ((None, "did not pass renkei gateway lint"), ("b" * 32, "not a recipe registered")):
        answer = client.get("/api/v1/gateway/auth", headers=as_gateway | ({"X-Renkei-Recipe": sent} if sent else {}))
        assert answer.status_code == 403 and answer.headers["X-Renkei-Reason"] == "check_unavailable"
        assert words in answer.get_json()["detail_en"] and "renkei gateway lint" in answer.get_json()["detail_ja"]
    answer = client.get("/api/v1/gateway/auth", headers=as_gateway | {"X-Renkei-Recipe": digest})
    assert answer.status_code == 401 and answer.headers["X-Renkei-Reason"] == "token_invalid"  # checked: no consumer token
    answer = client.get("/api/v1/gateway/auth", headers=as_gateway | {"X-Renkei-Recipe": f"{digest}, {digest}"})
    assert answer.status_code == 400  # sent twice: one copy is the consumer's


@pytest.mark.parametrize("setting", ["renkei-metering", "renkei-metering=abc", "=" + "a" * 32])
def test_a_registration_that_is_not_a_client_id_and_a_recipe_hash_stops_the_start(setting, tmp_path):
    from admin import create_app
    from admin.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="RENKEI_GATEWAY_RECIPES"):
        create_app({"RENKEI_ENV": "testing", "SECRET_KEY": "x" * 40, "RENKEI_VAR_DIR": str(tmp_path),
                    "RENKEI_GATEWAY_RECIPES": setting})
