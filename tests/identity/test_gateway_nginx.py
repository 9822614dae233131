"""Debian's nginx with the recipe of docs/gateway.md (stock auth_request, no Lua) in front of a dummy
upstream, renkei behind it on loopback, and the real Keycloak: each refusal is refused with its
status before anything reaches the upstream, an allowed call passes with the tenant and client, and
the allowed calls appear in the tenant's usage.

nginx is a CI requirement (.ci/run installs it): without it these tests fail, saying what to install.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import http.client
import http.server
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.background_server import served
from tests.identity.test_gateway_auth import make_kumamoto_client

RECIPE = Path(__file__).resolve().parents[2] / "docs" / "gateway" / "renkei-gateway.conf"
OUTSIDE = "127.0.0.2"  # another loopback address: outside an allowlist of 127.0.0.1/32
START_SECONDS = 20


@pytest.fixture(autouse=True)
def clean_quota_cache():
    """The quota cache is per process and each test starts from an empty database: so from an empty
    cache, and a limit set here is not remembered into the next test."""
    from usage.quotas import reset_quota_caches

    reset_quota_caches()
    yield
    reset_quota_caches()


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:
        pytest.fail("nginx is not installed: these tests run Debian's nginx in front of renkei "
                    "(apt-get install nginx; .ci/run installs it)", pytrace=False)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"nginx stopped at start (exit {process.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # polling the condition (nginx listens), with a deadline


class Upstream(http.server.BaseHTTPRequestHandler):
    """The API behind the gateway: answers every call with what it received."""

    calls: list[dict] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        seen = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
        type(self).calls.append(seen)
        data = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


def _quiet_handler():
    from werkzeug.serving import WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args) -> None:
            pass

    return Quiet


QuietHandler = _quiet_handler()


@contextlib.contextmanager
def running_nginx(config: str, prefix: Path, port: int):
    """Debian's nginx with this server configuration (read inside `http { }`), listening on port."""
    (prefix / "logs").mkdir()
    (prefix / "renkei-gateway.conf").write_text(config, encoding="utf-8")
    (prefix / "nginx.conf").write_text(
        "daemon off;\nmaster_process off;\nerror_log logs/error.log warn;\npid logs/nginx.pid;\n"
        "events { worker_connections 64; }\n"
        "http {\n  access_log off;\n  client_body_temp_path body;\n  proxy_temp_path proxy;\n"
        "  fastcgi_temp_path fastcgi;\n  uwsgi_temp_path uwsgi;\n  scgi_temp_path scgi;\n"
        "  include renkei-gateway.conf;\n}\n", encoding="utf-8")
    with open(prefix / "logs" / "stderr.log", "wb") as stderr:
        process = subprocess.Popen([nginx_binary(), "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        try:
            wait_for_port(port, process)
        except (OSError, RuntimeError) as error:
            log = (prefix / "logs" / "stderr.log").read_text(errors="replace")
            raise RuntimeError(f"nginx did not start ({error}): {log}") from None
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def filled_recipe(recipe: str, renkei_address: str, renkei_host: str, upstream_address: str, port: int,
                  credential: str) -> str:
    for word, value in (("RENKEI_ADDRESS", renkei_address), ("RENKEI_HOST", renkei_host),
                        ("UPSTREAM_ADDRESS", upstream_address),
                        ("LISTEN_ADDRESS", f"127.0.0.1:{port}"), ("GATEWAY_CREDENTIAL", credential)):
        assert word in recipe
        recipe = recipe.replace(word, value)
    return recipe


@contextlib.contextmanager
def renkei_and_upstream(app):
    """renkei (the test app, threaded werkzeug) and the dummy upstream on free loopback ports: their ports."""
    from werkzeug.serving import make_server

    renkei = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    with served(renkei), served(upstream):
        yield renkei.server_port, upstream.server_port


def gateway_credential(keycloak_settings) -> str:
    return base64.b64encode(f"{keycloak_settings.metering_client_id}:{keycloak_settings.metering_client_secret}"
                            .encode()).decode()


@pytest.fixture(scope="module")
def gateway(app, keycloak_settings, tmp_path_factory):
    """nginx on a free loopback port, with the recipe; renkei (the test app) and the dummy upstream behind it."""
    nginx_binary()
    port = free_port()
    with renkei_and_upstream(app) as (renkei_port, upstream_port):
        recipe = filled_recipe(RECIPE.read_text(encoding="utf-8"), f"127.0.0.1:{renkei_port}",
                               app.config["SERVER_NAME"], f"127.0.0.1:{upstream_port}", port,
                               gateway_credential(keycloak_settings))
        with running_nginx(recipe, tmp_path_factory.mktemp("nginx"), port):
            yield port


def call(port: int, method: str, path: str, token: str | None = None, *, source: str = "127.0.0.1",
         headers: dict | None = None) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    body = json.dumps({"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter"}) if method in ("POST", "PUT", "PATCH") else None
    if body is not None:
        sent["Content-Type"] = "application/json"
    connection.request(method, path, body=body, headers=sent)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    parsed = json.loads(data) if data and "json" in (response.getheader("Content-Type") or "") else {}
    return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed


def refusals_never_reach_the_api(gateway, token, kumamoto) -> None:
    """No token, a person's token, an address outside the allowlist, a write with a read scope and a
    path of no API: each refused with its reason in problem+json, and none reaches the upstream API."""
    status, headers, body = call(gateway, "GET", "/v2/entities?type=Shelter")
    assert status == 401 and body["reason"] == "token_invalid", body
    assert "アクセストークン" in body["detail_ja"] and body["detail_en"]
    assert headers["content-type"].startswith("application/problem+json")
    connection = http.client.HTTPConnection("127.0.0.1", gateway, timeout=30)
    connection.request("GET", "/v2/entities")
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 401
    assert len(response.msg.get_all("WWW-Authenticate")) == 1, response.msg.get_all("WWW-Authenticate")

    status, _, body = call(gateway, "GET", "/v2/entities", kumamoto["Authorization"].split()[1])  # a person's token
    assert status == 403 and body["reason"] == "not_an_api_client", body

    status, _, body = call(gateway, "GET", "/v2/entities", token, source=OUTSIDE)
    assert status == 403 and body["reason"] == "address_not_allowed", body

    status, _, body = call(gateway, "POST", "/v2/entities", token)  # a write; the client may only read
    assert status == 403 and body["reason"] == "scope_missing", body
    assert call(gateway, "DELETE", "/v2/entities/urn:ngsi-ld:Shelter:1", token)[0] == 403
    assert call(gateway, "GET", "/admin/", token)[2]["reason"] == "route_not_known"  # no API of the table there
    assert Upstream.calls == []  # nothing refused reached the API


def test_nginx_with_the_recipe_refuses_each_refusal_and_passes_and_counts_an_allowed_call(
        gateway, client, db, tenant_factory, user_factory, keycloak_settings, as_operator, operator):
    from admin.service.gateway_calls import fold_now
    from usage import quota_plans

    answer, token, kumamoto = make_kumamoto_client(client, tenant_factory, user_factory, keycloak_settings)
    Upstream.calls.clear()

    refusals_never_reach_the_api(gateway, token, kumamoto)

    # allowed: the upstream gets the call with the tenant and the client, not what the consumer claimed
    for _ in range(3):
        status, _, seen = call(gateway, "GET", "/v2/entities?type=Shelter", token,
                               headers={"X-Renkei-Tenant": "432024", "X-Renkei-Client": "999"})
        assert status == 200, seen
    assert len(Upstream.calls) == 3
    assert seen["path"] == "/v2/entities?type=Shelter"
    assert seen["headers"]["x-renkei-tenant"] == "431001"
    assert seen["headers"]["x-renkei-client"] == str(answer["client"]["id"])
    assert seen["headers"]["x-renkei-scope"] == "broker.read"
    assert "authorization" in seen["headers"]  # the consumer's own token goes on to the API

    fold_now(client.application)  # the calls counted, folded into the database
    report = client.get("/api/v1/usage/report?tenant=431001", headers=as_operator)
    assert report.status_code == 200, report.get_json()
    assert report.get_json()["tenants"][0]["values"]["api_calls"] == 3

    # a hard limit of 4 calls this month: one more passes, the next is refused with 429 and Retry-After
    quota_plans.set_quota_override(db, operator, "431001", {"metric": "api_calls", "limit": 4, "enforcement": "hard"},
                              reason="nginx test")
    db.commit()
    assert call(gateway, "GET", "/v2/entities", token)[0] == 200
    status, headers, body = call(gateway, "GET", "/v2/entities", token)
    assert status == 429 and body["reason"] == "hard_limit_reached", body
    assert int(headers["retry-after"]) > 0
    assert "上限" in body["detail_ja"]
    assert len(Upstream.calls) == 4
    fold_now(client.application)  # the calls counted, folded into the database
    report = client.get("/api/v1/usage/report?tenant=431001", headers=as_operator)
    assert report.get_json()["tenants"][0]["values"]["api_calls"] == 4


def test_with_renkei_unreachable_the_recipe_answers_503_problem_json(tmp_path):
    """renkei down: not nginx's 502 text/html, but the 503 problem+json docs/gateway.md promises."""
    # renkei is not running: a port held by a socket that never listens refuses every connection, and no other
    # process (another worker's server) can take it while the test runs
    with socket.socket() as never_listens:
        never_listens.bind(("127.0.0.1", 0))
        _renkei_unreachable(tmp_path, never_listens.getsockname()[1])


def test_with_renkei_hung_the_recipe_answers_503_problem_json(tmp_path):
    """renkei accepts and never answers (a hung process): the recipe's timeouts on the check give the
    consumer the 503 problem+json, not a wait of nginx's default 60 s (issue 51; no time is measured)."""
    from urllib.parse import urlsplit

    from tests.netfaults import black_hole

    with black_hole() as hung:
        _renkei_unreachable(tmp_path, urlsplit(hung).port)


def _renkei_unreachable(tmp_path, closed: int) -> None:
    port = free_port()
    recipe = filled_recipe(RECIPE.read_text(encoding="utf-8"), f"127.0.0.1:{closed}", "renkei.example",
                           f"127.0.0.1:{closed}", port, "Zm9vOmJhcg==")
    with running_nginx(recipe, tmp_path, port):
        # both calls at once: with renkei hung, each waits out the recipe's own timeout, side by side
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda method: call(port, method, "/v2/entities", "some-token"), ("GET", "POST")))
        for status, headers, body in answers:
            assert status == 503, (status, headers, body)
            assert headers["content-type"].startswith("application/problem+json")
            assert body["reason"] == "check_unavailable" and body["detail_ja"] and body["detail_en"]
            assert int(headers["retry-after"]) > 0


def test_a_consumers_own_x_original_headers_do_not_get_through_the_recipe(
        gateway, client, tenant_factory, user_factory, keycloak_settings):
    """The recipe passes no consumer header to the check: a POST claiming X-Original-Method: GET is still
    a write, and a caller outside the allowlist claiming X-Original-Remote-Addr: 127.0.0.1 is still outside."""
    _, token, _ = make_kumamoto_client(client, tenant_factory, user_factory, keycloak_settings)
    Upstream.calls.clear()
    status, _, body = call(gateway, "POST", "/v2/entities", token, headers={"X-Original-Method": "GET"})
    assert status == 403 and body["reason"] == "scope_missing", body
    status, _, body = call(gateway, "GET", "/v2/entities", token, source=OUTSIDE,
                           headers={"X-Original-Remote-Addr": "127.0.0.1"})
    assert status == 403 and body["reason"] == "address_not_allowed", body
    assert Upstream.calls == []


def test_a_call_through_nginx_to_a_datasets_route_is_that_datasets_use(
        gateway, client, db, tenant_factory, user_factory, keycloak_settings):
    """The recipe forwards the consumer's Fiware-Service and Fiware-ServicePath and the URI with its
    query to the check: the call is counted for the dataset whose route it takes (issue 37), and one
    of no dataset's route without one; the broker gets the consumer's own Fiware headers."""
    import sqlalchemy as sa

    from core.calendar import current_month
    from catalogue import operations
    from usage.models import UsageEvent
    from tests.datasets.conftest import YATSUSHIRO_ADMIN, draft

    answer, token, _ = make_kumamoto_client(client, tenant_factory, user_factory, keycloak_settings)
    tenant_factory("432024")
    shelters = operations.register(db, YATSUSHIRO_ADMIN, draft(
        provider_code="432024", title_ja="指定緊急避難場所一覧", standard_kind=None,
        distributions=(operations.DistributionDraft(
            url="https://broker.example.jp/v2/entities", format="API", is_api=True, route_service="kumamoto",
            route_service_path="/shelters", route_entity_type="Shelter"),))).name
    db.commit()
    Upstream.calls.clear()
    fiware = {"Fiware-Service": "kumamoto", "Fiware-ServicePath": "/shelters"}
    assert call(gateway, "GET", "/v2/entities?type=Shelter&limit=20", token, headers=fiware)[0] == 200
    assert call(gateway, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:7", token, headers=fiware)[0] == 200
    assert call(gateway, "GET", "/v2/entities?type=Shelter", token,
                headers={**fiware, "Fiware-ServicePath": "/other"})[0] == 200
    assert Upstream.calls[-1]["headers"]["fiware-service"] == "kumamoto"

    from admin.service.gateway_calls import fold_now

    fold_now(client.application)  # the calls counted, folded into the database with their dataset's use
    counted = [row.tenant_code for row in db.execute(sa.select(UsageEvent.tenant_code)
                                                     .where(UsageEvent.event_id.like("gateway:%")))]
    assert counted == ["431001"] * 3
    _, yatsushiro = user_factory(("municipal-admin",), "432024")
    use = client.get(f"/api/v1/dataset-use/432024?month={current_month():%Y-%m}", headers=yatsushiro).get_json()
    assert [(d["name"], [(c["consumer_code"], c["client_id"], c["calls"]) for c in d["consumers"]])
            for d in use["datasets"]] == [(shelters, [("431001", answer["client"]["id"], 2)])]
