"""Provision, start, stop and check a local Keycloak 26 without Docker.

renkei drives Keycloak through its admin REST API, so development and the test suite need a
real Keycloak. Docker is the usual way to get one (see ``compose.yaml``), but not every machine
has a Docker engine. This module runs the plain Keycloak distribution instead:

* **Distribution and Java** (:mod:`maintenance.keycloak_distribution`). The pinned Keycloak version is
  downloaded once into a per-user cache and run with Java 21 or newer.
* **Servers.** :func:`start` runs ``kc.sh start-dev`` in its own process group. The unpacked
  distribution is shared, but each server keeps its H2 database, transaction logs, pid file and
  log in its own *state directory*, so several servers (one per port) can run side by side.
  Starting is idempotent: when a healthy Keycloak already answers on the ports, its handle is
  returned and no second JVM is launched. :func:`stop` and :func:`status` work from the state
  directory.
* **Full realm export.** Each server's H2 URL has ``AUTO_SERVER=TRUE``, so :func:`export_realm_file`
  can run ``kc.sh export`` (users' credentials and the realm's keys included) while the server
  runs; :func:`launched_server` finds the server of a URL from its state dir (``renkei backup``).
* **Tests.** :func:`ensure_running` either checks an existing server (``RENKEI_TEST_KEYCLOAK_URL``)
  or starts a throw-away one on free ports; :func:`admin_token` proves the server answers an
  admin token request.

Everything here is for local development only: the server runs in Keycloak's dev mode, and the
default admin credentials (``admin``/``admin`` unless ``RENKEI_KEYCLOAK_ADMIN_USER`` and
``RENKEI_KEYCLOAK_ADMIN_PASSWORD`` are set) are not secrets. POSIX only (``kc.sh``, ``fcntl``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from maintenance.keycloak_distribution import (KEYCLOAK_VERSION, JavaRuntime, KeycloakServerError, distribution_dir,
                                         distribution_lock_path, ensure_distribution, file_lock, find_java,
                                         is_complete, keycloak_cache_dir)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MANAGEMENT_PORT = 9000
DEFAULT_START_TIMEOUT = 120.0
DEFAULT_STOP_TIMEOUT = 30.0

PID_FILE = "keycloak.pid"
LOG_FILE = "keycloak.log"
INFO_FILE = "keycloak.json"


class KeycloakStartError(KeycloakServerError):
    """``kc.sh`` exited or did not become ready; the message ends with the log's last lines."""


class AdminTokenError(KeycloakServerError):
    """The admin token request was refused or could not be made."""


# --------------------------------------------------------------------------------------------
# Configuration from the environment
# --------------------------------------------------------------------------------------------


def default_state_dir(port: int = DEFAULT_PORT) -> Path:
    """The state dir (database, pid, log) of the server on ``port`` unless the caller picks one."""
    return keycloak_cache_dir() / f"state-{port}"


def default_admin_credentials() -> tuple[str, str]:
    """``RENKEI_KEYCLOAK_ADMIN_USER``/``_PASSWORD``, defaulting to ``admin``/``admin`` (dev only)."""
    return (
        os.environ.get("RENKEI_KEYCLOAK_ADMIN_USER") or "admin",
        os.environ.get("RENKEI_KEYCLOAK_ADMIN_PASSWORD") or "admin",
    )


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KeycloakProcess:
    """A Keycloak server on ``host:port``; ``pid`` is None when it was not started from ``state_dir``."""

    pid: int | None
    host: str
    port: int
    management_port: int
    state_dir: Path
    started: bool  # True if this call launched it, False if it was already running

    @property
    def url(self) -> str:
        return f"http://{_client_host(self.host)}:{self.port}"

    @property
    def management_url(self) -> str:
        return f"http://{_client_host(self.host)}:{self.management_port}"

    @property
    def log_path(self) -> Path:
        return self.state_dir / LOG_FILE


@dataclasses.dataclass(frozen=True)
class KeycloakStatus:
    running: bool
    pid: int | None
    url: str
    healthy: bool


_children: dict[int, subprocess.Popen[bytes]] = {}  # servers this Python process launched


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104


def is_ready(management_url: str, *, timeout: float = 2.0) -> bool:
    """True if ``<management_url>/health/ready`` reports UP."""
    try:
        response = requests.get(f"{management_url}/health/ready", timeout=timeout)
        return response.status_code == 200 and response.json().get("status") == "UP"
    except (requests.RequestException, ValueError, AttributeError):
        return False


def answers(url: str, *, timeout: float = 5.0) -> bool:
    """True if ``url`` serves Keycloak's master realm (works without the management port)."""
    try:
        response = requests.get(f"{url.rstrip('/')}/realms/master", timeout=timeout)
        return response.status_code == 200 and response.json().get("realm") == "master"
    except (requests.RequestException, ValueError, AttributeError):
        return False


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((_client_host(host), port)) == 0


def _read_pid(state_dir: Path) -> int | None:
    try:
        return int((state_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our exited child, so it does not linger as a zombie."""
    if (child := _children.get(pid)) is not None:
        if child.poll() is not None:
            _children.pop(pid, None)
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _is_keycloak_alive(pid: int) -> bool:
    """True if ``pid`` runs and (where /proc tells) is a Keycloak launcher, not a reused pid."""
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pid file
    return b"kc.sh" in cmdline or b"keycloak" in cmdline


def _group_alive(pgid: int) -> bool:
    _reap(pgid)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return True


def _log_tail(state_dir: Path, lines: int = 40) -> str:
    try:
        text = (state_dir / LOG_FILE).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _read_info(state_dir: Path) -> dict[str, Any]:
    try:
        info = json.loads((state_dir / INFO_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def start(
    port: int = DEFAULT_PORT,
    management_port: int = DEFAULT_MANAGEMENT_PORT,
    host: str = DEFAULT_HOST,
    admin_user: str | None = None,
    admin_password: str | None = None,
    state_dir: Path | str | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
    *,
    version: str = KEYCLOAK_VERSION,
) -> KeycloakProcess:
    """Start Keycloak ``version`` in dev mode and wait until ``/health/ready`` reports UP.

    Returns at once if a healthy Keycloak already answers on ``port``/``management_port``.
    The admin user is created only when the state dir's database is new; later starts keep
    the password it was created with. Raises :class:`KeycloakStartError` if ``kc.sh`` exits,
    a port is taken by something else, or the server is not ready within ``timeout`` seconds
    (the server is then stopped).
    """
    state = Path(state_dir) if state_dir is not None else default_state_dir(port)
    default_user, default_password = default_admin_credentials()
    admin_user = admin_user or default_user
    admin_password = admin_password or default_password

    def existing() -> KeycloakProcess | None:
        url = f"http://{_client_host(host)}:{port}"
        if is_ready(f"http://{_client_host(host)}:{management_port}") and answers(url):
            pid = _read_pid(state)
            pid = pid if pid is not None and _is_keycloak_alive(pid) else None
            return KeycloakProcess(pid, host, port, management_port, state, started=False)
        return None

    if (running := existing()) is not None:
        return running

    dist = ensure_distribution(version)
    java = find_java()
    # One start at a time per distribution: the first start-dev rewrites lib/quarkus in the
    # shared distribution ("re-augmentation"), and a same-port race must not launch two JVMs.
    with file_lock(distribution_lock_path(version)):
        if (running := existing()) is not None:
            return running
        old_pid = _read_pid(state)
        if old_pid is not None and _is_keycloak_alive(old_pid):
            raise KeycloakStartError(
                f"Keycloak pid {old_pid} of {state} is running but not healthy on "
                f"{host}:{port}/{management_port}; stop it first.\n{_log_tail(state)}"
            )
        for taken in (port, management_port):
            if _port_in_use(host, taken):
                raise KeycloakStartError(
                    f"Port {taken} on {host} is in use by something that is not a healthy "
                    "Keycloak; choose other ports or stop that program."
                )
        process = _launch(dist, java, state, host, port, management_port, admin_user, admin_password)
        try:
            _wait_until_ready(process, state, host, port, management_port, timeout)
        except BaseException:
            stop(state_dir=state)
            raise
    return KeycloakProcess(process.pid, host, port, management_port, state, started=True)


def h2_url(state: Path) -> str:
    """The JDBC URL of the dev-file H2 database of the server whose state dir is ``state``."""
    return f"jdbc:h2:file:{state / 'h2' / 'keycloakdb'};NON_KEYWORDS=VALUE;AUTO_SERVER=TRUE"


def _launch(
    dist: Path,
    java: JavaRuntime,
    state: Path,
    host: str,
    port: int,
    management_port: int,
    admin_user: str,
    admin_password: str,
) -> subprocess.Popen[bytes]:
    state.mkdir(parents=True, exist_ok=True)
    command = [
        str(dist / "bin" / "kc.sh"),
        "start-dev",
        f"--http-host={host}",
        f"--http-port={port}",
        f"--http-management-port={management_port}",
        "--health-enabled=true",
        # Build options must stay identical between starts, or every start re-augments.
        "--db=dev-file",
        # The default dev-file database is <dist>/data/h2; keep each server's in its state dir.
        # AUTO_SERVER lets `kc.sh export` open the database while the server runs (full backup).
        f"--db-url={h2_url(state)}",
        f"-Dquarkus.transaction-manager.object-store.directory={state / 'transaction-logs'}",
    ]
    env = dict(os.environ)
    env.update(
        JAVA_HOME=str(java.home),
        JAVA=str(java.java),
        KC_BOOTSTRAP_ADMIN_USERNAME=admin_user,
        KC_BOOTSTRAP_ADMIN_PASSWORD=admin_password,
    )
    with open(state / LOG_FILE, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=state,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[process.pid] = process
    (state / PID_FILE).write_text(f"{process.pid}\n")
    info = {"pid": process.pid, "host": host, "port": port, "management_port": management_port,
            "version": dist.name.removeprefix("keycloak-"), "java": str(java.home),
            "db_url": h2_url(state)}  # fmt: skip
    (state / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return process


def _wait_until_ready(
    process: subprocess.Popen[bytes],
    state: Path,
    host: str,
    port: int,
    management_port: int,
    timeout: float,
) -> None:
    management_url = f"http://{_client_host(host)}:{management_port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (code := process.poll()) is not None:
            _children.pop(process.pid, None)
            raise KeycloakStartError(
                f"Keycloak exited with status {code} before it was ready; "
                f"last lines of {state / LOG_FILE}:\n{_log_tail(state)}"
            )
        if is_ready(management_url, timeout=1.0):
            return
        time.sleep(0.5)
    raise KeycloakStartError(
        f"Keycloak was not ready on {management_url}/health/ready after {timeout:.0f} s; "
        f"last lines of {state / LOG_FILE}:\n{_log_tail(state)}"
    )


def stop(
    port: int = DEFAULT_PORT,
    *,
    state_dir: Path | str | None = None,
    timeout: float = DEFAULT_STOP_TIMEOUT,
) -> bool:
    """Stop the server of ``state_dir`` (default: the one for ``port``); True if one was running.

    Sends SIGTERM to its process group, waits up to ``timeout`` seconds, then SIGKILLs.
    """
    state = Path(state_dir) if state_dir is not None else default_state_dir(port)
    pid = _read_pid(state)
    if pid is None:
        return False
    was_running = _is_keycloak_alive(pid)
    if was_running:
        # start() made pid a session (and group) leader; its JVM shares the group.
        group = pid if _safe_getpgid(pid) == pid else None
        _signal(pid, group, signal.SIGTERM)
        if not _wait_gone(pid, group, timeout):
            _signal(pid, group, signal.SIGKILL)
            _wait_gone(pid, group, 10.0)
    if (child := _children.pop(pid, None)) is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1.0)
    (state / PID_FILE).unlink(missing_ok=True)
    return was_running


def _safe_getpgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _signal(pid: int, group: int | None, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group is not None:
            os.killpg(group, sig)
        else:
            os.kill(pid, sig)


def _wait_gone(pid: int, group: int | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = _group_alive(group) if group is not None else _is_keycloak_alive(pid)
        if not alive:
            return True
        time.sleep(0.2)
    return False


def status(
    port: int = DEFAULT_PORT,
    *,
    state_dir: Path | str | None = None,
    host: str | None = None,
    management_port: int | None = None,
) -> KeycloakStatus:
    """Whether the server of ``state_dir`` (default: the one for ``port``) runs and is healthy.

    Host and management port come from the state dir's last start unless given. A healthy
    Keycloak started elsewhere (Docker, by hand) counts as running with ``pid`` None.
    """
    state = Path(state_dir) if state_dir is not None else default_state_dir(port)
    info = _read_info(state)
    if state_dir is not None and isinstance(info.get("port"), int):
        port = info["port"]
    if host is None:
        host = info["host"] if isinstance(info.get("host"), str) else DEFAULT_HOST
    if management_port is None:
        recorded = info.get("management_port")
        management_port = recorded if isinstance(recorded, int) else DEFAULT_MANAGEMENT_PORT
    pid = _read_pid(state)
    pid = pid if pid is not None and _is_keycloak_alive(pid) else None
    # the management port only says that *a* Keycloak is ready: this one must also answer on its port
    healthy = _port_in_use(host, port) and is_ready(f"http://{_client_host(host)}:{management_port}")
    return KeycloakStatus(
        running=pid is not None or healthy,
        pid=pid,
        url=f"http://{_client_host(host)}:{port}",
        healthy=healthy,
    )


# --------------------------------------------------------------------------------------------
# Full realm export (kc.sh export) of a server this launcher runs
# --------------------------------------------------------------------------------------------

DEFAULT_EXPORT_TIMEOUT = 300.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclasses.dataclass(frozen=True)
class LaunchedServer:
    """A running Keycloak this launcher started: what ``kc.sh export`` needs to read its database."""

    state_dir: Path
    dist: Path
    java_home: Path
    db_url: str


def launched_server(url: str, state_dir: Path | str | None = None) -> tuple[LaunchedServer | None, str]:
    """The server this launcher started that answers at ``url`` (its state dir: ``state_dir``, else
    the default one for the URL's port), or None and why not (in English).

    Only a server started with ``AUTO_SERVER=TRUE`` in its H2 URL (every start since the full
    export exists) can be exported while it runs; an older one must be restarted first.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.hostname not in _LOOPBACK or parts.port is None:
        return None, f"{url} is not a Keycloak renkei's launcher runs on this machine"
    state = Path(state_dir) if state_dir is not None else default_state_dir(parts.port)
    info = _read_info(state)
    if info.get("port") != parts.port:
        return None, f"no Keycloak started by `renkei keycloak start` for port {parts.port} ({state})"
    pid = _read_pid(state)
    if pid is None or not _is_keycloak_alive(pid):
        return None, f"the Keycloak of {state} is not running"
    db_url = info.get("db_url")
    if not isinstance(db_url, str) or "AUTO_SERVER=TRUE" not in db_url:
        return None, (f"the Keycloak on port {parts.port} was started before full exports were possible: "
                      "restart it (`renkei keycloak stop`, then `renkei keycloak start`)")
    dist = distribution_dir(str(info.get("version") or KEYCLOAK_VERSION))
    if not is_complete(dist):
        return None, f"the Keycloak distribution {dist} is missing"
    return LaunchedServer(state, dist, Path(str(info.get("java"))), db_url), ""


EXPORT_JAVA_OPTS = "-XX:TieredStopAtLevel=1"  # kc.sh export compiles with C1 only (JAVA_OPTS_APPEND overrides)


def export_realm_file(server: LaunchedServer, realm: str, target: Path, *,
                      timeout: float = DEFAULT_EXPORT_TIMEOUT) -> float:
    """Write ``realm`` with its users' credentials and keys to ``target`` through ``kc.sh export``,
    while the server runs; returns the seconds it took (a second JVM boots: about 10 s of CPU).

    The export opens the server's H2 database through H2's automatic mixed mode; ``--optimized``
    keeps it from rebuilding the shared distribution, and its management interface takes a port
    the system picks (it serves no HTTP).
    """
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="renkei-kc-export-") as scratch:
        command = [
            str(server.dist / "bin" / "kc.sh"), "export", "--optimized",
            f"--db-url={server.db_url}",
            "--http-management-port=0",
            f"-Dquarkus.transaction-manager.object-store.directory={Path(scratch) / 'transaction-logs'}",
            f"--realm={realm}", f"--file={target}",
        ]  # fmt: skip
        env = {key: value for key, value in os.environ.items() if not key.startswith("KC_")}
        env.update(JAVA_HOME=str(server.java_home), JAVA=str(server.java_home / "bin" / "java"))
        # a JVM that lives for seconds: the JIT's top tier would cost more than it saves (half the CPU, measured)
        env.setdefault("JAVA_OPTS_APPEND", EXPORT_JAVA_OPTS)
        try:
            result = subprocess.run(command, cwd=scratch, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                    text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as error:
            raise KeycloakServerError(f"kc.sh export of realm {realm} did not finish within {timeout:.0f} s") from error
    if result.returncode != 0 or not target.exists():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-8:])
        raise KeycloakServerError(f"kc.sh export of realm {realm} failed ({result.returncode}):\n{tail}")
    return time.monotonic() - began


# --------------------------------------------------------------------------------------------
# Admin API access and the test-suite entry point
# --------------------------------------------------------------------------------------------


def admin_token(url: str, user: str, password: str, *, timeout: float = 10.0) -> str:
    """An access token for ``user`` from the master realm's ``admin-cli`` client (password grant)."""
    token_url = f"{url.rstrip('/')}/realms/master/protocol/openid-connect/token"
    try:
        response = requests.post(
            token_url,
            data={"grant_type": "password", "client_id": "admin-cli",
                  "username": user, "password": password},  # fmt: skip
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise AdminTokenError(f"Cannot reach Keycloak at {token_url}: {error}") from error
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body.get("access_token"), str):
        return body["access_token"]
    reason = body.get("error_description") or body.get("error") or response.text[:200]
    if response.status_code in (400, 401):
        raise AdminTokenError(
            f"Keycloak at {url} refused the admin credentials of user {user!r} "
            f"(HTTP {response.status_code}: {reason}). Check RENKEI_KEYCLOAK_ADMIN_USER and "
            "RENKEI_KEYCLOAK_ADMIN_PASSWORD; the bootstrap admin is only created with a new database."
        )
    raise AdminTokenError(f"Admin token request to {token_url} failed: HTTP {response.status_code}: {reason}")


def free_ports(count: int = 1, host: str = DEFAULT_HOST) -> list[int]:
    """``count`` distinct TCP ports that were free a moment ago (bound to port 0, then released)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclasses.dataclass
class KeycloakHandle:
    """A Keycloak to use: ``close()`` stops it (and drops its temporary state) if it was started here."""

    url: str
    admin_user: str
    admin_password: str
    started_here: bool
    process: KeycloakProcess | None
    _temporary_state: Path | None = dataclasses.field(default=None, repr=False)

    def close(self) -> None:
        if self.started_here and self.process is not None:
            stop(state_dir=self.process.state_dir)
        if self._temporary_state is not None:
            shutil.rmtree(self._temporary_state, ignore_errors=True)
            self._temporary_state = None

    def __enter__(self) -> KeycloakHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def ensure_running(
    url: str | None = None,
    *,
    admin_user: str | None = None,
    admin_password: str | None = None,
    state_dir: Path | str | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
    ports: tuple[int, int] | None = None,
) -> KeycloakHandle:
    """A Keycloak to test against: ``url`` if given (it must answer), else a new one on ``ports``
    (HTTP, management; default: free ones), so a caller can know its address before it runs.

    A new server keeps its state in ``state_dir``, or in a temporary directory removed by
    ``close()``.
    """
    default_user, default_password = default_admin_credentials()
    admin_user = admin_user or default_user
    admin_password = admin_password or default_password
    if url:
        url = url.rstrip("/")
        if not answers(url):
            raise KeycloakServerError(f"No Keycloak answers at {url} (GET {url}/realms/master failed).")
        return KeycloakHandle(url, admin_user, admin_password, started_here=False, process=None)

    temporary = Path(tempfile.mkdtemp(prefix="renkei-keycloak-")) if state_dir is None else None
    port, management_port = ports or free_ports(2)
    try:
        process = start(
            port=port,
            management_port=management_port,
            admin_user=admin_user,
            admin_password=admin_password,
            state_dir=state_dir if state_dir is not None else temporary,
            timeout=timeout,
        )
    except BaseException:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
        raise
    return KeycloakHandle(
        process.url, admin_user, admin_password, started_here=process.started,
        process=process, _temporary_state=temporary,
    )  # fmt: skip
