"""Issue 51 item 4: with Keycloak frozen, consumer calls through nginx answer as before, none 503.

The session's Keycloak is shared, so it is never stopped: renkei reaches it through a freezable TCP
proxy (tests/netfaults.py), which holds every byte while frozen as a SIGSTOPped JVM does. renkei's
Keycloak URL is the proxy's, and so is the issuer it expects (Keycloak names the issuer by the URL a
token was asked at: the tokens here are minted through the proxy). The gateway credential's and the
keys' lifetimes are one second, so both are renewed while Keycloak is frozen: the test goes on calling
until the proxy has held a renewal of each (a condition, no sleep, no time measured), and every call
meanwhile is allowed. The latency figure (p99 within 2x the unfrozen run) is bench/bench_gateway_nginx.py's.
"""

from __future__ import annotations

import dataclasses
import time

import jwt
import pytest

from tests.identity.test_gateway_auth import make_kumamoto_client
from tests.identity.test_gateway_nginx import (RECIPE, Upstream, call, filled_recipe, free_port, gateway_credential,
                                               nginx_binary, renkei_and_upstream, running_nginx)
from tests.netfaults import FreezableProxy

CALLS = 100
PATIENCE = 300  # seconds to wait for the renewals to reach the frozen Keycloak: a bound on the wait, never asserted


@pytest.fixture(autouse=True)
def clean_quota_cache():
    from usage.quotas import reset_quota_caches

    reset_quota_caches()
    yield
    reset_quota_caches()


def behind_proxy(app, keycloak_settings, monkeypatch) -> FreezableProxy:
    """The app's Keycloak is the proxy (issuer included), with one-second lifetimes; everything the app
    remembers of its Keycloak is dropped now (and put back after the test). Its token validator
    remembers no verified token, so every call checks its token's signature with the realm's keys."""
    from admin.auth import issuer
    from tenancy.identity.tokens import TokenValidator

    proxy = FreezableProxy(keycloak_settings.url)
    for name, value in (("RENKEI_KEYCLOAK_URL", proxy.url), ("RENKEI_KEYCLOAK_PUBLIC_URL", proxy.url),
                        ("RENKEI_GATEWAY_CREDENTIAL_SECONDS", 1.0), ("RENKEI_JWKS_CACHE_SECONDS", 1.0)):
        monkeypatch.setitem(app.config, name, value)
    for name in ("renkei_gateway_credentials", "renkei_identity"):  # made anew on first use; put back after
        monkeypatch.setitem(app.extensions, name, None)
    jwks = f"{proxy.url}/realms/{keycloak_settings.realm}/protocol/openid-connect/certs"
    monkeypatch.setitem(app.extensions, "renkei_token_validator", TokenValidator(
        issuer(app), jwks, app.config["RENKEI_API_AUDIENCE"], leeway=0, cache_seconds=1, verified_cache_size=0))
    return proxy


def test_with_keycloak_frozen_consumer_calls_through_nginx_answer_as_before_none_503(
        app, client, tenant_factory, user_factory, keycloak_settings, monkeypatch, tmp_path):
    from tenancy.identity.keycloak import client_credentials_token

    nginx_binary()
    # the consumer's client, registered while renkei still speaks to Keycloak directly (its admin signs in there)
    answer, _, _ = make_kumamoto_client(client, tenant_factory, user_factory, keycloak_settings)
    proxy = behind_proxy(app, keycloak_settings, monkeypatch)
    try:
        through_proxy = dataclasses.replace(keycloak_settings, url=proxy.url)
        token = client_credentials_token(through_proxy, answer["client_id"], answer["client_secret"])["access_token"]
        assert jwt.decode(token, options={"verify_signature": False})["iss"].startswith(proxy.url)
        port = free_port()
        with renkei_and_upstream(app) as (renkei_port, upstream_port):
            recipe = filled_recipe(RECIPE.read_text(encoding="utf-8"), f"127.0.0.1:{renkei_port}",
                                   app.config["SERVER_NAME"], f"127.0.0.1:{upstream_port}", port,
                                   gateway_credential(keycloak_settings))
            with running_nginx(recipe, tmp_path, port):
                Upstream.calls.clear()
                before = [call(port, "GET", "/v2/entities?type=Shelter", token)[0] for _ in range(CALLS)]
                assert before == [200] * CALLS  # unfrozen: the credential exchanged, the keys read

                proxy.freeze()
                statuses, deadline = [], time.monotonic() + PATIENCE
                while len(statuses) < CALLS or not (proxy.held_requests("/token") and proxy.held_requests("/certs")):
                    assert time.monotonic() < deadline, f"no renewal reached the frozen Keycloak: {proxy.held}"
                    status, _, body = call(port, "GET", "/v2/entities?type=Shelter", token)
                    statuses.append(status)
                    assert status == 200, (len(statuses), status, body)  # as before: none 503
                # both renewals met the frozen Keycloak while the calls were answered
                assert proxy.held_requests("/token") and proxy.held_requests("/certs")
                assert len(Upstream.calls) == CALLS + len(statuses)
                proxy.thaw()
                assert call(port, "GET", "/v2/entities?type=Shelter", token)[0] == 200
    finally:
        proxy.close()
