"""Test fixtures: the app from the factory, a clean database per test, a real Keycloak.

* Database: ``RENKEI_TEST_DATABASE_URL`` (PostgreSQL in CI) or a SQLite file in a temp folder.
  The schema is built once per session from the models (``create_all``, which also runs the
  DDL event listeners that install triggers; tests/admin/test_migrations.py checks that the
  Alembic migrations build the same schema); each test then starts from that empty schema (SQLite: a copy of the migrated file; PostgreSQL: TRUNCATE), so tests may
  commit for real (ledger triggers, request commits) and still not see each other's data.
* Keycloak: only tests marked ``keycloak`` reach it; a test that uses a fixture built on
  ``keycloak_server`` (``keycloak_settings``, ``directory``, ``user_factory``, ``as_operator``, ...)
  is marked automatically, and a test that is not marked fails at once if it connects to it.
  ``RENKEI_TEST_KEYCLOAK_URL`` names a running server, else the session starts one (see
  maintenance.keycloak_server) on ports picked at start-up, and only if the run holds a marked test:
  in the background when collection ends, while the tests that need no Keycloak run first (the
  marked ones are moved after them). The app is configured with that address from the start, so
  it works without the server. Each session bootstraps a fresh realm, so runs that share a server
  (SQLite and PostgreSQL in CI) do not meet each other's users.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import flask
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from core.actor import Actor

pytest_plugins = ["tests.suite_times"]

# Hypothesis: no deadline tied to the clock (a loaded machine must not change an outcome); in CI (CI=true) the
# examples are derived from each test, not drawn at random, so a failure there is the same on a rerun;
# each test's example count is its own (@settings(max_examples=...)) or Hypothesis's default.
from hypothesis import settings as _hypothesis  # noqa: E402

_hypothesis.register_profile("renkei", deadline=None, print_blob=True)
_hypothesis.register_profile("ci", deadline=None, print_blob=True, derandomize=True, database=None)
_hypothesis.load_profile(os.environ.get("RENKEI_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "renkei"))

# pytest-xdist (scripts/test.sh runs a worker per core): each worker is a session of its own, with its own
# SQLite file, realm and PostgreSQL databases. The PostgreSQL ones are named after the worker
# (renkei_ci → renkei_ci_gw0), made by the owner role where it may create databases, else by whoever
# set up the server (.ci/run makes them).
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_DATABASE_VARIABLES = ("RENKEI_TEST_DATABASE_URL", "RENKEI_TEST_DATABASE_OWNER_URL", "RENKEI_TEST_DRILL_DATABASE_URL",
                       "RENKEI_BENCH_DATABASE_URL")


def _worker_databases() -> None:
    for name in _DATABASE_VARIABLES:
        given = os.environ.get(name)
        if given and given.startswith("postgresql"):
            url = sa.make_url(given)
            os.environ[name] = url.set(database=f"{url.database}_{XDIST_WORKER}").render_as_string(hide_password=False)
    for name in ("RENKEI_TEST_DATABASE_URL", "RENKEI_TEST_DRILL_DATABASE_URL", "RENKEI_BENCH_DATABASE_URL"):
        if not os.environ.get(name, "").startswith("postgresql"):
            continue
        database = sa.make_url(os.environ[name]).database
        owner = os.environ.get("RENKEI_TEST_DATABASE_OWNER_URL") or os.environ[name]
        server = sa.create_engine(sa.make_url(owner).set(database="postgres"), isolation_level="AUTOCOMMIT",
                                  poolclass=sa.pool.NullPool)
        try:
            with server.connect() as connection:
                if not connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                          {"name": database}).scalar():
                    connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
        except sa.exc.DBAPIError as error:
            raise pytest.UsageError(f"worker {XDIST_WORKER} needs the database {database}, owned by the test's owner "
                                    f"role; it could not be made ({error.orig}). Create it, or run without -n.") from None
        finally:
            server.dispose()


if XDIST_WORKER:
    _worker_databases()

TEST_DATABASE_URL = os.environ.get("RENKEI_TEST_DATABASE_URL", "")
# PostgreSQL: the schema owner builds and cleans the database; the app under test connects with
# RENKEI_TEST_DATABASE_URL, which CI points at the application role (granted by maintenance.db_roles).
# Without an owner URL, both are the same role (a local run).
TEST_DATABASE_OWNER_URL = os.environ.get("RENKEI_TEST_DATABASE_OWNER_URL") or TEST_DATABASE_URL
KEYCLOAK_URL = os.environ.get("RENKEI_TEST_KEYCLOAK_URL") or None
ADMIN_SECRET = "test-admin-client-secret-0123456789"
SERVICE_SECRET = "test-service-client-secret-0123456789"
METERING_SECRET = "test-metering-client-secret-0123456789"
PASSWORD = "Test-password-1"
# The session's realms hash passwords once (Keycloak's hashIterations(1)), not at Keycloak's own cost: the suite's
# people sign in and get passwords thousands of times, each a fifth of a second of CPU taken from the tests on a
# 2-core machine, and nothing a test checks depends on the hashing's cost (production refuses the setting).
HASH_ITERATIONS = 1
# the shared Keycloak on a busy machine: the tests' calls are given this long (production's default is 3 s;
# the timeout tests set their own), so a slower machine never changes an outcome
SLOW_KEYCLOAK_SECONDS = 30.0


# --- Keycloak ------------------------------------------------------------------------------------

class SessionKeycloak:
    """The session's Keycloak: its address from the start, the server only once a marked test runs."""

    def __init__(self, given_url: str | None):
        self.given_url = given_url.rstrip("/") if given_url else None
        self.realm = f"renkei-test-{uuid.uuid4().hex[:8]}"
        self._thread: threading.Thread | None = None
        self._handle = None
        self._error: BaseException | None = None
        self._state: Path | None = None  # the state dir of the server this session starts
        self._on_done: Callable | None = None

    @functools.cached_property
    def ports(self) -> tuple[int, int] | None:
        """The (HTTP, management) ports of the server this session starts; None for a given URL."""
        if self.given_url:
            return None
        from maintenance.keycloak_server import free_ports

        http, management = free_ports(2)
        return http, management

    @property
    def url(self) -> str:
        return self.given_url or f"http://127.0.0.1:{self.ports[0]}"

    @functools.cached_property
    def socket_addresses(self) -> frozenset[tuple[str, int]]:
        """The (address, port) pairs a connection to this Keycloak goes to."""
        parts = urlsplit(self.url)
        ports = self.ports or (parts.port or (443 if parts.scheme == "https" else 80),)
        return frozenset(info[4][:2] for port in ports
                         for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM))

    def start_in_background(self, on_done: Callable | None = None) -> None:
        """Start the server in a thread; return once it is launched (the environment is read).
        ``on_done(error or None)`` is called in that thread when the start has ended."""
        from maintenance.keycloak_server import PID_FILE

        if self._thread is not None:
            return
        self._on_done = on_done
        if not self.given_url:
            self._state = Path(tempfile.mkdtemp(prefix="renkei-test-keycloak-"))
        self._thread = threading.Thread(target=self._start, args=(self.ports,), name="keycloak-start", daemon=True)
        self._thread.start()
        # Tests change JAVA_HOME, PATH, the cache dir...: the launcher reads them before it writes
        # the pid file, so no test runs until then; the boot itself overlaps with the tests.
        while self._state is not None and self._thread.is_alive() and not (self._state / PID_FILE).exists():
            time.sleep(0.05)  # polling the condition (the launcher wrote its pid file)

    def _start(self, ports: tuple[int, int] | None) -> None:
        from maintenance.keycloak_server import ensure_running

        try:
            if self.given_url and STARTED_BY_CONTROLLER:
                wait_for_the_controllers_keycloak(Path(STARTED_BY_CONTROLLER))
            # a generous deadline: the JVM boots beside the tests that need no Keycloak, and a slower or
            # busier machine must not change the outcome (120 s, the command's default, was once too short)
            self._handle = ensure_running(self.given_url, ports=ports, state_dir=self._state, timeout=600.0)
        except BaseException as error:  # noqa: BLE001  (raised again in the test that needs the server)
            self._error = error
        if self._on_done is not None:
            self._on_done(self._error)

    def in_starting_thread(self) -> bool:
        return threading.current_thread() is self._thread

    @property
    def may_listen(self) -> bool:
        """Whether a Keycloak of this session may be at :attr:`url`: a given one, or one this session has begun to
        start. Until then the ports chosen for it are only free ports, which another server (a test's stub) may take."""
        return self.given_url is not None or self._thread is not None

    def handle(self):
        self.start_in_background()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._handle

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join()
            if self._handle is not None:
                self._handle.close()
        if self._state is not None:
            shutil.rmtree(self._state, ignore_errors=True)


KEYCLOAK = SessionKeycloak(KEYCLOAK_URL)
# Under pytest-xdist without a given server, the controller starts one for all its workers (one JVM, not one
# per worker) and names a file where it writes "ok" or why the start failed; the workers get its address.
STARTED_BY_CONTROLLER = os.environ.get("RENKEI_TEST_KEYCLOAK_STARTED_BY", "")


def wait_for_the_controllers_keycloak(status: Path, deadline_seconds: float = 900.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    while not status.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the controller's Keycloak did not start within {deadline_seconds:.0f} s")
        time.sleep(0.2)  # polling the condition (the controller wrote the start's outcome)
    outcome = status.read_text(encoding="utf-8")
    if outcome != "ok":
        raise RuntimeError(f"the controller's Keycloak did not start: {outcome}")


def pytest_configure(config):
    """Each distinct PDF laid out once a process that runs tests (tests/pdf_once.py): not in the controller of an
    xdist run, which runs none (importing WeasyPrint costs half a second). The controller starts the Keycloak that
    its workers share (unless no test may need it)."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        from tests import pdf_once

        pdf_once.install()
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None) or KEYCLOAK.given_url:
        return
    if "not keycloak" in (config.option.markexpr or ""):
        return
    status = Path(tempfile.mkdtemp(prefix="renkei-test-keycloak-status-")) / "started"
    os.environ["RENKEI_TEST_KEYCLOAK_URL"] = KEYCLOAK.url  # read by the workers when they import this file
    os.environ["RENKEI_TEST_KEYCLOAK_STARTED_BY"] = str(status)
    KEYCLOAK.start_in_background(on_done=lambda error: status.write_text(
        "ok" if error is None else f"{type(error).__name__}: {error}", encoding="utf-8"))


# A test module that names these reaches the test database without the ``app`` fixture (its own engine,
# the owner's, a second app): all its tests are marked ``database``.
_DATABASE_WORDS = ("TEST_DATABASE_URL", "TEST_DATABASE_OWNER_URL", "owner_engine", "owner_bind", "RENKEI_CI_PG")


@functools.cache
def _module_reaches_the_database(path: str) -> bool:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return False
    return any(word in text for word in _DATABASE_WORDS)


def touches_the_database(item) -> bool:
    """Whether the test's outcome can depend on the database it runs against: it uses the app (every
    fixture on the database is built on ``app``), is marked ``database``, or its module reaches the test
    database some other way. The others run once (CI's PostgreSQL pass selects ``-m database``)."""
    if item.get_closest_marker("database") is not None:
        return True
    if item.get_closest_marker("rendered") is not None:
        return False  # what a rendered page shows: the database cannot change it (checked in tests/test_suite_hygiene.py)
    return "app" in getattr(item, "fixturenames", ()) or _module_reaches_the_database(str(item.path))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark the tests that use Keycloak and those that touch the database; run the Keycloak ones after the
    others, ``stops_keycloak`` after those, and ``ends_keycloak`` (the server stopped for good) last of all.

    Runs before ``-m`` selects, so ``-m "not keycloak"`` leaves out the tests marked here too.
    """
    for item in items:
        if "keycloak_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.keycloak)
        if ("started_here" in getattr(item, "fixturenames", ()) or item.get_closest_marker("stops_keycloak")
                or item.get_closest_marker("ends_keycloak")) and item.get_closest_marker("own_keycloak") is None:
            item.add_marker(pytest.mark.own_keycloak)
        if touches_the_database(item) and item.get_closest_marker("database") is None:
            item.add_marker(pytest.mark.database)
    items.sort(key=run_order)


def run_order(item) -> tuple:
    """Where a test runs in its session:

    1. the long ones (marker ``long``), those that need no Keycloak before those that do;
    2. the others that need no Keycloak;
    3. those that need Keycloak, the browser's last (their people, made once a session, join the tenant groups
       of the worker's realm that other modules count), the long crawls first among them;
    4. ``stops_keycloak``, then ``ends_keycloak`` (the server stopped for good) last of all.

    The sort is stable: otherwise the collection's order, each module's tests together.

    Long tests first, because a worker cannot share the test it is running, nor the one queued after it (xdist's
    work stealing takes the queue's end): four contract shards queued one after another ran one after another on
    one worker for the last 430 s of the SQLite pass while the other sat idle for 121 s. Begun first, they run on the
    worker that starts at the front of the list, the other starting at its middle, and stealing evens out the end
    with short tests. Those that need Keycloak come after those that need none, by when the session's Keycloak,
    booting in the background, is up."""
    long = item.get_closest_marker("long") is not None
    keycloak = item.get_closest_marker("keycloak") is not None
    browser = item.get_closest_marker("browser") is not None
    stops = item.get_closest_marker("stops_keycloak") is not None
    ends = item.get_closest_marker("ends_keycloak") is not None
    if long and not (browser or stops or ends):
        return (0, keycloak, False, False, False, False)
    return (1, keycloak, stops or ends, ends, browser, not long)


def pytest_collection_finish(session):
    if not session.config.option.collectonly and any(item.get_closest_marker("keycloak") for item in session.items):
        KEYCLOAK.start_in_background()  # the JVM boots while the tests that need no Keycloak run
    spare_the_collector()


def spare_the_collector() -> None:
    """What the session has built so far (the modules the tests import, the app, its API document) lives as long as
    the session: kept out of the garbage collector's full passes, as a serving process keeps its start-up
    (admin/__init__.py). Each full pass scanned those hundreds of thousands of objects again: in
    tests/governance/test_audit_coverage.py the collector took 29.5 s of the run's 110 s of CPU. Only when the
    memory of unreachable objects is given back changes, never what a test does.

    A young collection every 10,000 allocations rather than 700: what each test builds (and leaves to caches,
    templates compiled on first use) otherwise reached the full passes at about one every three tests."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def pytest_sessionfinish(session):
    KEYCLOAK.close()


@pytest.fixture(autouse=True)
def keycloak_only_when_marked(request, monkeypatch):
    """A test not marked ``keycloak`` fails clearly if it connects to Keycloak, whatever ran before it.

    A marked test that uses the app gets the session's realm bootstrapped first.
    """
    if request.node.get_closest_marker("keycloak"):
        if "app" in request.fixturenames:
            request.getfixturevalue("keycloak_settings")
        return

    def guard(connect):
        def guarded(sock, address, *args):
            if isinstance(address, tuple) and KEYCLOAK.may_listen and address[:2] in KEYCLOAK.socket_addresses \
                    and not KEYCLOAK.in_starting_thread():
                sock.close()
                pytest.fail(f"{request.node.nodeid} connects to Keycloak at {KEYCLOAK.url} but is not marked "
                            "@pytest.mark.keycloak (nor uses a Keycloak fixture)", pytrace=False)
            return connect(sock, address, *args)
        return guarded

    monkeypatch.setattr(socket.socket, "connect", guard(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guard(socket.socket.connect_ex))


def _database_key(url: sa.URL) -> str:
    """A database as the guard below compares it: a server's host, port and name, or a file's full path."""
    if url.get_backend_name() == "sqlite":
        return str(Path(url.database).resolve()) if url.database and url.database != ":memory:" else ":memory:"
    return f"{url.get_backend_name()}://{url.host}:{url.port or 5432}/{url.database}"


# The session's test databases (the app fixture adds its SQLite file): PostgreSQL's test, drill and benchmark
# databases, not a server a test points the app at on purpose (one that refuses connections, say).
TEST_DATABASES: set[str] = {_database_key(sa.make_url(os.environ[name])) for name in _DATABASE_VARIABLES
                            if os.environ.get(name, "").startswith("postgresql")}


@pytest.fixture(autouse=True)
def database_only_when_marked(request, monkeypatch):
    """A test not marked ``database`` fails clearly if it connects to the test database (PostgreSQL, or the
    session's SQLite file): it would run on one database only, while its outcome could depend on it."""
    if request.node.get_closest_marker("database") or request.node.get_closest_marker("rendered"):
        return
    original = sa.engine.Engine.raw_connection
    test_thread = threading.get_ident()  # the app's own background threads (a reader, a folder) are not the test

    def guarded(engine, *args, **kwargs):
        url = engine.url
        if threading.get_ident() != test_thread:
            return original(engine, *args, **kwargs)
        if _database_key(url) in TEST_DATABASES:
            pytest.fail(f"{request.node.nodeid} connects to the test database ({url.get_backend_name()}) but is not "
                        "marked @pytest.mark.database (nor uses the app fixture)", pytrace=False)
        return original(engine, *args, **kwargs)

    monkeypatch.setattr(sa.engine.Engine, "raw_connection", guarded)


@pytest.fixture(scope="session")
def keycloak_server():
    """The session's Keycloak (stopped, if the session started it, when the session ends)."""
    return KEYCLOAK.handle()


@pytest.fixture(scope="session")
def keycloak_settings(keycloak_server):
    from tenancy.identity.keycloak import KeycloakSettings, bootstrap_realm, master_admin

    settings = KeycloakSettings(
        url=KEYCLOAK.url,
        realm=KEYCLOAK.realm,
        admin_client_secret=ADMIN_SECRET,
        service_client_secret=SERVICE_SECRET,
        metering_client_secret=METERING_SECRET,
        direct_grants=True,
        redirect_uris=("http://renkei.test/*",),
        timeout=SLOW_KEYCLOAK_SECONDS,
        access_token_seconds=3600,
        password_hash_iterations=HASH_ITERATIONS,
    )
    master = master_admin(settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    bootstrap_realm(master, settings)
    # the device flow's polling interval 1 s, not Keycloak's default 5 s: `renkei login` (which polls
    # at the interval Keycloak gives it) sees the confirmed code within a second, not up to five
    master.update_realm(settings.realm, {"accessTokenLifespan": 3600, "oauth2DevicePollingInterval": 1})
    yield settings
    try:
        master_admin(settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master").delete_realm(settings.realm)
    except Exception:  # the server may already be gone at the end of the session
        pass


@pytest.fixture(scope="session")
def directory(keycloak_settings):
    from tenancy.identity.keycloak import IdentityDirectory

    return IdentityDirectory(keycloak_settings)


# --- app and database --------------------------------------------------------------------------

def _reset_postgres(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))


@functools.cache
def owner_engine() -> sa.Engine:
    """PostgreSQL: the schema owner's engine (set-up, clean-up, and tests playing the owner)."""
    return sa.create_engine(TEST_DATABASE_OWNER_URL)


def own_realm(keycloak_server, prefix: str):
    """A realm of the test's own on the session's Keycloak, set up as `renkei keycloak bootstrap`
    does (direct grants on, for password sign-ins): its settings and a master-realm admin client.
    The caller deletes it (tenancy.identity.realm_copy.delete_realm)."""
    from tenancy.identity.keycloak import KeycloakSettings, bootstrap_realm, master_admin

    settings = KeycloakSettings(url=keycloak_server.url, realm=f"{prefix}-{uuid.uuid4().hex[:8]}",
                                admin_client_secret=ADMIN_SECRET, service_client_secret=SERVICE_SECRET,
                                direct_grants=True, redirect_uris=("http://renkei.test/*",),
                                password_hash_iterations=HASH_ITERATIONS)
    master = master_admin(settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    bootstrap_realm(master, settings)
    return settings, master


@pytest.fixture(scope="module")
def fork_server():
    """The fork server of the renkei processes a module's tests start (tests/renkei_processes.py): each process
    forked from it only builds its app (~1 s of CPU, not the ~4.5 s of a fresh interpreter importing renkei)."""
    from tests import renkei_processes

    with renkei_processes.fork_server():
        yield


@pytest.fixture
def open_api(app, client):
    """The development-open API: requests without a token act as the platform operator."""
    app.config["RENKEI_API_OPEN_FOR_DEVELOPMENT"] = True
    yield client
    app.config["RENKEI_API_OPEN_FOR_DEVELOPMENT"] = False


@pytest.fixture
def long_memories(app, monkeypatch):
    """Memories kept long enough that a slow machine does not make a read go back to the database
    between two requests of a test; a write still empties them at once: no admin-events poll due,
    a deny list and tenant bodies younger than their bound (quota entries keep their 5 s)."""
    from tenancy.identity.denylist import DenyListCache

    monkeypatch.setitem(app.config, "RENKEI_ADMIN_EVENTS_INTERVAL", 0)
    monkeypatch.setitem(app.config, "RENKEI_TENANT_CACHE_SECONDS", 60)
    monkeypatch.setitem(app.extensions, "renkei_deny_list", DenyListCache(max_age=60))
    monkeypatch.delitem(app.extensions, "renkei_tenant_bodies", raising=False)  # made again with 60 s


@pytest.fixture
def request_log_folder(app, monkeypatch, tmp_path):
    """The request log written into a folder of the test's own; the day file the log keeps open is
    closed afterwards (the folder is removed after the test)."""
    from admin import request_log

    monkeypatch.setitem(app.config, "RENKEI_REQUEST_LOG", str(tmp_path))
    yield tmp_path
    request_log.close_all()


def drop_server_connection(url, pid: int) -> None:
    """As a database restart would: the PostgreSQL server ends the connection whose backend is
    ``pid`` (from a connection outside any app pool), and this waits until the server has let it go."""
    outside = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with outside.connect() as other:
            assert other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            for _ in range(200):  # until the server has let it go
                if not other.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                     {"pid": pid}).scalar():
                    break
                time.sleep(0.01)  # polling the condition (the server let the connection go)
    finally:
        outside.dispose()


def past_this_second() -> None:
    """Wait until the clock is in its next whole second: a token issued from then on has an ``iat``
    (whole seconds) later than anything done before the call (a denial), never equal to it. A
    condition on the clock, not a fixed pause: from 0 to 1 s, not a flat 1.1 s."""
    import math

    target = math.floor(time.time()) + 1
    while (left := target - time.time()) > 0:
        time.sleep(left)  # until the condition above (the clock past the second)


def owner_bind(session):
    """What a test playing the database owner (dropping guards, raw tampering) connects with:
    on PostgreSQL the schema owner, never the application role; on SQLite the session's file."""
    bind = session.get_bind()
    return owner_engine() if bind.dialect.name == "postgresql" else bind


def _build_postgres(metadata) -> None:
    """Build the schema as its owner; grant the app's role its rights when it is another role."""
    from maintenance.db_roles import grant_app_role

    engine = owner_engine()
    _reset_postgres(engine)
    metadata.create_all(engine)
    app_role = sa.make_url(TEST_DATABASE_URL).username
    if app_role != engine.url.username:
        with engine.begin() as connection:
            grant_app_role(connection, app_role)


class RequestIsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production.

    Flask reuses an app context that is already pushed (the ``db`` fixture pushes one), which
    would share ``g`` (the signed-in actor), the babel locale and the database session between
    requests of one test. Running each request in an empty ``contextvars`` context avoids that.

    Every response (and each redirect followed) is checked to be a valid HTTP response
    (tests/response_check.py); an invalid one fails the test with an AssertionError.
    """

    def open(self, *args, **kwargs):
        from tests.response_check import check_test_response

        response = contextvars.Context().run(super().open, *args, **kwargs)
        check_test_response(response)
        return response


class CheckedClient(FlaskClient):
    """The client of every other Flask app a test builds (a second app, a bare one): its responses are
    checked as the session app's are (tests/response_check.py), its requests left as Flask runs them."""

    def open(self, *args, **kwargs):
        from tests.response_check import check_test_response

        response = super().open(*args, **kwargs)
        check_test_response(response)
        return response


flask.Flask.test_client_class = CheckedClient


def session_app(var: Path, url: str):
    """The app as the session's tests have it (the ``app`` fixture), on the database at ``url`` with its files under
    ``var``: also what the contract tests' cases are drawn from ahead of the tests (tests/contract_draw.py)."""
    from admin import create_app

    # check_data=False: built before its database is (the fixture builds it), whose rows an interrupted session may
    # have left under another key ring (tests/residents/test_key_rotation.py builds apps that check)
    app = create_app(check_data=False, config_override={
        "RENKEI_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        # db upgrade/grant, backup, restore and the partition jobs connect as the schema owner
        "RENKEI_DATABASE_OWNER_URL": TEST_DATABASE_OWNER_URL if TEST_DATABASE_URL else "",
        "RENKEI_VAR_DIR": str(var),
        # the session's Keycloak, contacted only by tests marked ``keycloak`` (which start it)
        "RENKEI_KEYCLOAK_URL": KEYCLOAK.url,
        "RENKEI_KEYCLOAK_PUBLIC_URL": KEYCLOAK.url,
        "RENKEI_KEYCLOAK_REALM": KEYCLOAK.realm,
        "RENKEI_OIDC_CLIENT_SECRET": ADMIN_SECRET,
        "RENKEI_SERVICE_CLIENT_SECRET": SERVICE_SECRET,
        "RENKEI_API_OPEN_FOR_DEVELOPMENT": False,
        "SERVER_NAME": "renkei.test",
        "RENKEI_TOKEN_LEEWAY_SECONDS": 0,
        "RENKEI_KEYCLOAK_TIMEOUT": SLOW_KEYCLOAK_SECONDS,
        # the session realm's tokens live an hour (keycloak_settings), also after a test bootstraps it again
        # through the app (`renkei keycloak bootstrap`): a cached token must not expire under a later test
        "RENKEI_ACCESS_TOKEN_SECONDS": 3600,
        "RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS": HASH_ITERATIONS,
        # pages count user seats in Keycloak only in the tests that turn it on (tests/identity/test_people.py)
        "RENKEI_SEATS_FROM_KEYCLOAK": False,
        # the due job reads Keycloak's sign-in events only in the tests that turn it on (tests/service/test_sign_ins.py)
        "RENKEI_SIGN_INS_FROM_KEYCLOAK": False,
        # the gateway's counted calls are folded when a test says so (admin.service.gateway_calls.fold_now), not by a thread
        "RENKEI_GATEWAY_FOLD_SECONDS": 0,
        # Keycloak's admin events are read by a thread only in the tests that turn it on (tests/identity/test_access_ends.py
        # and others set an interval): otherwise each worker's thread asked Keycloak every second all session long
        "RENKEI_ADMIN_EVENTS_INTERVAL": 0,
    })
    app.test_client_class = RequestIsolatedClient
    return app


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    from admin.extensions import db

    var = tmp_path_factory.mktemp("var")
    url = TEST_DATABASE_URL or f"sqlite:///{var / 'test.db'}"
    if not TEST_DATABASE_URL:
        TEST_DATABASES.add(_database_key(sa.make_url(url)))
    app = session_app(var, url)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            _build_postgres(db.metadata)
        else:
            db.create_all()
        db.engine.dispose()
        if db.engine.dialect.name == "sqlite":
            copy_sqlite(var / "test.db", var / "template.db")
            hold_connects_during_resets(db.engine)
    app.config["RENKEI_TEST_TEMPLATE"] = str(var / "template.db")
    # backups and audit checkpoints are signed (docs/operations.md): the operator's key, made once
    from core.signing import generate_key

    generate_key(var / "signing" / "signing-key.pem", var / "signing")
    spare_the_collector()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def copy_sqlite(source, target) -> None:
    """The SQLite database ``source`` copied over ``target``.

    renkei's SQLite files are in WAL mode (core.db): while any connection to a file is open, in any process, a
    ``-wal`` (and ``-shm``) file lies beside it, and SQLite deletes both when the last one closes. So:

    * neither file opened (no ``-wal`` or ``-shm`` beside either): the bytes are compared, and written over
      ``target``'s own (same inode: a connection opened but not yet read from sees them) only where they differ.
      A test that wrote nothing costs a read of the file, a test that wrote a write of it; SQLite's backup API
      took about 14 ms either way (its pages go through ``target``'s WAL, then a checkpoint);
    * else SQLite's backup API, never a file copy: the ``-wal`` a connection a test left open keeps would be
      replayed over a plain copy."""
    import sqlite3

    source, target = Path(source), Path(target)
    if not any(Path(f"{path}{suffix}").exists() for path in (source, target) for suffix in ("-wal", "-shm")):
        wanted = _sqlite_bytes(source)
        with open(target, "r+b" if target.exists() else "w+b") as file:
            if file.read() != wanted:
                file.seek(0)
                file.write(wanted)
                file.truncate()
        return
    with contextlib.closing(sqlite3.connect(source)) as original, contextlib.closing(sqlite3.connect(target)) as copy:
        original.backup(copy)


_SQLITE_RESET = threading.Lock()


def hold_connects_during_resets(engine) -> None:
    """``engine``'s new SQLite connections wait while a reset writes the file (reset_sqlite), and have read the file
    before they are handed out.

    A thread of the session's app outlives the test that started it (the admin-events poller reads Keycloak every
    second and writes what it finds). When it opens a connection while copy_sqlite writes the template's bytes, it
    reads a file half old and half new, and what it writes then leaves the next test a malformed database (CI met
    'database disk image is malformed' so). Opening the file under the reset's lock closes that window: a connection
    that exists has made its ``-wal`` beside the file, and the reset then takes SQLite's backup API, which locks."""

    @sa.event.listens_for(engine, "do_connect")
    def connect_between_resets(dialect, _record, cargs, cparams):
        with _SQLITE_RESET:
            connection = dialect.loaded_dbapi.connect(*cargs, **cparams)
            connection.execute("SELECT count(*) FROM sqlite_master").fetchall()  # the file read now: its -wal made
            return connection


def reset_sqlite(engine, template) -> None:
    """``engine``'s database made the template again (see hold_connects_during_resets)."""
    with _SQLITE_RESET:
        engine.dispose()
        copy_sqlite(template, engine.url.database)


_SQLITE_TEMPLATES: dict[Path, tuple[tuple[int, int, int], bytes]] = {}


def _sqlite_bytes(path: Path) -> bytes:
    """A template's bytes, read again only when the file changed (another inode, size or time)."""
    status = path.stat()
    key = (status.st_ino, status.st_size, status.st_mtime_ns)
    known = _SQLITE_TEMPLATES.get(path)
    if known is None or known[0] != key:
        known = _SQLITE_TEMPLATES[path] = (key, path.read_bytes())
    return known[1]


def reset_database(app) -> None:
    from admin.service import gateway_calls
    from admin.extensions import db

    db.session.remove()
    # the audit checkpoints that jobs wrote describe the database being wiped: they go with it
    shutil.rmtree(app.config.get("RENKEI_AUDIT_CHECKPOINT_DIR")
                  or os.path.join(app.config["RENKEI_VAR_DIR"], "audit-checkpoints"), ignore_errors=True)
    shutil.rmtree(os.path.join(app.config["RENKEI_VAR_DIR"], "backups"), ignore_errors=True)  # their manifests too
    gateway_calls.forget(app)  # the gateway's calls logged for it, not folded yet
    engine = db.engine
    if engine.dialect.name == "sqlite":
        reset_sqlite(engine, app.config["RENKEI_TEST_TEMPLATE"])
        return
    _empty_postgres([table.name for table in db.metadata.sorted_tables])


def _empty_postgres(tables: list[str]) -> None:
    """Every table of the app emptied and every sequence started again, as TRUNCATE ... RESTART IDENTITY would.

    TRUNCATE gives each table it empties new files (about 20 ms a table here, whether or not it held a row), so a
    test that wrote to a few dozen tables paid a fifth of a second to be forgotten. Where the owner may set
    ``session_replication_role`` (a superuser, or PostgreSQL 15's ``GRANT SET ON PARAMETER``, which .ci/run gives),
    a DELETE of every table in one round trip does it in a few milliseconds: in that mode neither the foreign keys'
    triggers nor the guards' (billing, audit: no row of theirs may be deleted by anyone else) fire. Elsewhere,
    TRUNCATE of the tables in use.

    The people index's tables are locked first, as TRUNCATE locks what it empties: the admin-events reader's thread
    may still be writing them, and a DELETE alone would leave the rows it commits afterwards to the next test. Its
    writers lock the state row before its other tables (tenancy/identity/people_index.py), so the state table is
    named first; in another order the two can deadlock. Should PostgreSQL still find a deadlock (with another
    thread the test left running), the reset is tried again.
    """
    for attempt in range(3):
        try:
            with owner_engine().begin() as connection:  # the owner's: the app's role may not delete guarded rows
                if _may_skip_triggers():
                    locked = [name for name in _PEOPLE_INDEX_TABLES if name in tables]
                    connection.exec_driver_sql(
                        "SET LOCAL session_replication_role = replica; "
                        + (f"LOCK TABLE {', '.join(locked)} IN ACCESS EXCLUSIVE MODE; " if locked else "")
                        + "".join(f"DELETE FROM {name}; " for name in tables)
                        + _RESTART_SEQUENCES)
                    return
                used = sorted(_used_tables(connection, tables), key=lambda name: name != "person_index_state")
                if used:
                    connection.execute(sa.text(f"TRUNCATE {', '.join(used)} RESTART IDENTITY CASCADE"))
                return
        except sa.exc.OperationalError as error:
            if attempt == 2 or getattr(error.orig, "sqlstate", None) != "40P01":  # deadlock_detected
                raise


# seeded_database's kept rows on PostgreSQL: key -> ([(table, COPY's binary bytes)], [(sequence, last value)])
_POSTGRES_KEPT: dict[str, tuple[list[tuple[str, bytes]], list[tuple[str, int]]]] = {}


def _postgres_rows(tables: list[str]) -> tuple[list[tuple[str, bytes]], list[tuple[str, int]]]:
    """The rows of every table in use (:func:`_used_tables`: holding a row or drawn from; COPY's binary form) and the
    value of every sequence drawn from."""
    with owner_engine().connect() as connection:
        used = _used_tables(connection, tables)
        cursor = connection.connection.driver_connection.cursor()
        rows = []
        for name in used:
            data = bytearray()
            with cursor.copy(f"COPY {name} TO STDOUT (FORMAT binary)") as copy:
                for block in copy:
                    data += block
            rows.append((name, bytes(data)))
        sequences = connection.exec_driver_sql(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value FROM pg_sequences "
            "WHERE schemaname = current_schema() AND last_value IS NOT NULL").all()
        connection.rollback()
    return rows, [(name, value) for name, value in sequences]


def _put_postgres_rows(rows: list[tuple[str, bytes]], sequences: list[tuple[str, int]]) -> None:
    """:func:`_postgres_rows`' rows written back into the emptied tables, the guards' triggers and the foreign keys'
    off as the emptying has them (session_replication_role), and the sequences set where they were. The SET is a
    write to SQLAlchemy, so the app's row caches are marked out of date at the commit (tenancy/registry/readcache.py)."""
    with owner_engine().begin() as connection:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        cursor = connection.connection.driver_connection.cursor()
        for name, data in rows:
            with cursor.copy(f"COPY {name} FROM STDIN (FORMAT binary)") as copy:
                copy.write(data)
        for name, value in sequences:
            connection.exec_driver_sql("SELECT setval(%s, %s, true)", (name, value))


# the people index's tables in the order its writers lock them (the state first): see _empty_postgres
_PEOPLE_INDEX_TABLES = ("person_index_state", "person_index", "person_index_tenant", "person_index_word")


# every sequence of the schema back at its start, not yet drawn from (RESTART IDENTITY's effect)
_RESTART_SEQUENCES = """
SELECT setval(quote_ident(schemaname) || '.' || quote_ident(sequencename), start_value, false)
FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL
"""


@functools.cache
def _may_skip_triggers() -> bool:
    """Whether the owner may set ``session_replication_role`` (see :func:`_empty_postgres`): asked once a session."""
    try:
        with owner_engine().begin() as connection:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    except sa.exc.DBAPIError:
        return False
    return True


def seeded_database(app, key: str, build: Callable[[], object]) -> None:
    """The clean database of a test as ``build()`` leaves it (rows it commits, nothing outside the database).
    ``build`` runs in the first test of a worker that asks for ``key``, on a clean database, and what it left is
    kept: later tests put that in instead of building again. On SQLite a second template file beside the clean one,
    copied in (:func:`copy_sqlite`, the reset's own cost); on PostgreSQL the rows of the tables it wrote and the
    sequences it drew (:func:`_postgres_rows`), written back after the reset's emptying. For many tests on the
    same rows (tests/identity/test_authorization_matrix.py: two tenants, three thousand cases; the demo's data
    under the browser tests; the sample catalogue).

    What a test's fixtures wrote before this is gone: ask for the seeded fixture first."""
    from admin.extensions import db

    engine = db.engine
    if engine.dialect.name != "sqlite":
        if not _may_skip_triggers():  # rows written back with the guards' triggers off, or not at all
            build()
            return
        db.session.remove()
        tables = [table.name for table in db.metadata.sorted_tables]
        kept = _POSTGRES_KEPT.get(key)
        if kept is None:
            reset_database(app)
            build()
            db.session.remove()
            _POSTGRES_KEPT[key] = _postgres_rows(tables)
            return
        _empty_postgres(tables)
        _put_postgres_rows(*kept)
        return
    kept = Path(app.config["RENKEI_TEST_TEMPLATE"]).with_name(f"template-{key}.db")
    db.session.remove()
    if kept.exists():
        reset_sqlite(engine, kept)  # disposed: the app's caches of rows forget what they read (engine_disposed)
        return
    reset_database(app)  # what is kept is built on the clean database, whatever ran before in this worker
    build()
    db.session.remove()
    with _SQLITE_RESET:  # no thread writes while the file is read
        engine.dispose()
        copy_sqlite(engine.url.database, kept)


# The tables of the given names whose sequence has been drawn from (a row was inserted, even one
# deleted or rolled back since) or that hold a row: only these differ from the clean schema, so only
# these are truncated. TRUNCATE costs per table, whether or not it holds anything (all of renkei's
# tables took about half a second a test); asking first costs one query.
_SEQUENCES_DRAWN = """
SELECT DISTINCT owner.relname FROM pg_sequences drawn
JOIN pg_namespace ns ON ns.nspname = drawn.schemaname
JOIN pg_class seq ON seq.relname = drawn.sequencename AND seq.relnamespace = ns.oid AND seq.relkind = 'S'
JOIN pg_depend dep ON dep.objid = seq.oid AND dep.deptype IN ('a', 'i')
JOIN pg_class owner ON owner.oid = dep.refobjid
WHERE drawn.schemaname = current_schema() AND drawn.last_value IS NOT NULL
"""


def _used_tables(connection, tables: list[str]) -> list[str]:
    holding = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in tables)
    used = set(connection.execute(sa.text(holding)).scalars())
    used |= set(connection.execute(sa.text(_SEQUENCES_DRAWN)).scalars()) & set(tables)
    return [name for name in tables if name in used]


@pytest.fixture
def db(app) -> Iterator:
    """The app's session on a clean database; committed data is wiped after the test."""
    from admin.extensions import db as database

    with app.app_context():
        yield database.session
        reset_database(app)


@pytest.fixture
def client(app, db):
    return app.test_client()


# --- actors, tenants, users -------------------------------------------------------------------

OPERATOR = Actor(issuer="urn:test", subject="operator-1", name="県 運営者", roles=frozenset({"platform-operator"}))


def record_usage(session, tenant_code: str, metric: str, quantity: int, month=None) -> None:
    """Usage of ``tenant_code`` as the application records it: one event ingested at the start of
    ``month`` (a date in it; default the current Japan-time month). The aggregates are written by
    ingest only (the application role may not write them), so a test's usage goes the same way."""
    record_usages(session, [(tenant_code, metric, quantity, month)])


def record_usages(session, rows) -> None:
    """:func:`record_usage` of many (tenant_code, metric, quantity, month) at once: one batch."""
    from core.calendar import current_month, month_start_utc
    from usage import metering

    events = [{"tenant": code, "metric": metric, "quantity": quantity,
               "timestamp": month_start_utc((month or current_month()).replace(day=1)).isoformat(),
               "event_id": f"test-{uuid.uuid4().hex}"} for code, metric, quantity, month in rows]
    # In batches of a few hundred, not ingest's largest (5,000): on SQLite the guard of each aggregate row written
    # sums the newest batch's events, found by their batch alone (usage/models.py), so a batch costs its
    # rows times its events. 9,504 events took 32 s of CPU in batches of 5,000, 11 s in 500s, 10 s in 100s.
    for start in range(0, len(events), 200):
        metering.ingest(session, OPERATOR, events[start:start + 200], source="test")


@pytest.fixture
def operator() -> Actor:
    return OPERATOR


def sign_in(client, roles: Iterable[str] | None = None, tenants: Iterable[str] = (), *,
            subject: str | None = None, name: str | None = None, csrf: str | None = None) -> None:
    """Sign ``client`` in to /admin without Keycloak: its session holds the actor as the login
    callback stores it (tests/identity/test_login.py runs the real login).

    Without ``roles``, as the ``operator`` fixture's person; else as a person with ``roles`` in
    ``tenants``. ``csrf`` plants a known form token in the session.
    """
    if roles is None:
        roles, subject, name = OPERATOR.roles, subject or OPERATOR.subject, name or OPERATOR.name
    roles = sorted(roles)
    actor = Actor(issuer="urn:test", subject=subject or f"{'-'.join(roles) or 'nobody'}-1",
                  name=name or "テスト 利用者", roles=frozenset(roles), tenant_codes=frozenset(tenants))
    with client.session_transaction() as session:
        session["actor"] = {"issuer": actor.issuer, "subject": actor.subject, "name": actor.name,
                            "roles": sorted(actor.roles), "tenant_codes": sorted(actor.tenant_codes)}
        if csrf is not None:
            session["csrf"] = csrf


@pytest.fixture
def tenant_factory(db, operator) -> Callable:
    """Register a tenant from the Kumamoto reference data (or explicit fields); returns it."""
    from tenancy.registry.importing import reference_municipalities
    from tenancy.registry.operations import create_tenant
    from tenancy.registry.schemas import TenantCreate

    def make(code: str = "431001", **fields):
        row = reference_municipalities().get(code, {})
        data = {
            "code": code,
            "name_ja": row.get("name_ja", f"テスト町{code}"),
            "name_en": row.get("name_en", f"Test {code}"),
            "kind": row.get("kind", "town"),
            "population": int(row.get("population", 10000)),
            "population_source": row.get("population_source", "test"),
            "status": "active",
            **fields,
        }
        tenant = create_tenant(db, operator, TenantCreate.model_validate(data))
        db.commit()
        return tenant

    return make


def expires_soon(headers: dict, within_seconds: int = 120) -> bool:
    """Whether the bearer token in ``headers`` expires within ``within_seconds`` (its ``exp`` claim)."""
    import base64
    import json

    payload = headers["Authorization"].split()[1].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["exp"] - time.time() < within_seconds


@pytest.fixture(scope="session")
def user_factory(directory, keycloak_settings) -> Callable:
    """Create a real Keycloak user with roles (and a tenant); returns (account, auth headers)."""
    from tenancy.identity.keycloak import password_token

    cache: dict[tuple, tuple] = {}
    made_at: dict[str, int] = {}  # cached user id -> when its token was issued (POSIX ms)
    checked = [int(time.time() * 1000)]  # the newest admin event already read (none before the first person)

    def drop_the_changed() -> None:
        """A cached person whom a test has changed in Keycloak since their token was issued (disabled,
        removed from the tenant, signed out: e.g. a generated suspension of 熊本市 in the contract
        test) is made anew: the old token would be refused, or the account no longer be what its
        key says. Keycloak's admin events name them (read newest first, down to the last read)."""
        changed: set[str] = set()
        # most often nothing is new: a small first page says so (each event carries its representation, and a
        # cached person is asked for thousands of times), then pages of 100 while there are new ones
        first, newest, size = 0, checked[0], 4
        while True:
            events = directory.admin.get_admin_events({"first": first, "max": size})
            for event in events:
                at, path = int(event.get("time", 0)), event.get("resourcePath") or ""
                if at <= checked[0]:
                    break
                newest = max(newest, at)
                user_id = path.split("/")[1] if path.startswith("users/") else ""
                if user_id in made_at and at > made_at[user_id]:
                    changed.add(user_id)
            else:
                if len(events) == size:
                    first, size = first + size, 100
                    continue
            break
        checked[0] = newest
        for key in [key for key, (account, _) in cache.items() if account.id in changed]:
            del cache[key]

    def make(roles: tuple[str, ...] = (), tenant: str | None = None, *, fresh: bool = False, name: str | None = None):
        key = (tuple(sorted(roles)), tenant)
        if not fresh and key in cache:
            drop_the_changed()
        if not fresh and key in cache and expires_soon(cache[key][1]):
            del cache[key]  # a token issued while a test had shortened the realm's lifespan: a person anew
        if not fresh and key in cache:
            return cache[key]
        username = name or f"{'-'.join(sorted(roles)) or 'nobody'}-{tenant or 'all'}-{uuid.uuid4().hex[:6]}"
        user_id = directory.create_user(username, f"{username}@example.jp", "テスト", "利用者", password=PASSWORD)
        if tenant:
            directory.ensure_tenant_group(tenant)
            directory.add_to_tenant(user_id, tenant)
        directory.set_roles(user_id, roles, roles)
        token = password_token(keycloak_settings, username, PASSWORD)["access_token"]
        result = (directory.account(user_id), {"Authorization": f"Bearer {token}"})
        if not fresh:
            cache[key] = result
            made_at[user_id] = int(time.time() * 1000)
        return result

    return make


@pytest.fixture
def as_operator(user_factory):
    return user_factory(("platform-operator",))[1]


def data_file(name: str) -> Path:
    return Path(__file__).parent / "data" / name
