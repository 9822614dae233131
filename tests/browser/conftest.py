"""Browser tests: a real Chromium (Debian's ``chromium``, driven by Playwright) against a live
server of the test app, signing in through the real Keycloak login page.

* ``live_server``: renkei served as production serves it: gunicorn with the gthread worker and
  production's request limits (docs/deployment.md), ``admin:create_app()`` configured by its
  environment as the session's ``app`` is (same database, var folder, Keycloak realm), in a process of
  its own on 127.0.0.1 (a free port). A test's fixtures may change the app's configuration: the server
  follows it as the test body starts (a new gunicorn worker if it changed); a test body may not.
  The app's name is ``renkei.test`` (``SERVER_NAME`` in tests/conftest.py, and the realm's redirect URI
  ``http://renkei.test/*``), so Chromium is told to resolve ``renkei.test:80`` to that port
  (``--host-resolver-rules``): the browser uses ``http://renkei.test/...`` like a real site,
  and the login callback the app names comes back to the live server.
* ``chromium`` (one browser for the session) and ``page`` (a fresh context, so fresh cookies and a
  Japanese ``Accept-Language``, per test).
* ``login_as(page, username, password)`` goes through Keycloak's login form.
* ``demo``: the README demo's data (Kumamoto wave 1 active, wave 2 applied, the default quota
  plans) in the test's clean database; ``people``: demo-like Keycloak accounts, created on first use.

Playwright cannot download browsers here: Chromium is ``RENKEI_TEST_CHROMIUM`` or ``chromium`` on
the PATH. A missing Chromium, Playwright or axe-core FAILS the browser tests with what to install;
only ``RENKEI_TEST_BROWSER=0`` (set on purpose, see the README) leaves them out.
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD
from tests.response_check import BrowserResponses

HERE = Path(__file__).resolve().parent
AXE_SCRIPT = HERE / "node_modules" / "axe-core" / "axe.min.js"
BROWSER_OFF = os.environ.get("RENKEI_TEST_BROWSER", "").strip() == "0"
CRAWLED = pytest.StashKey[dict]()  # role -> (pages, axe violations, pages with raw codes, sideways scrolls): test_accessibility
INSTALL_HINT = "or set RENKEI_TEST_BROWSER=0 to leave the browser tests out on this machine (see the README)"


def _in_this_folder(item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """Mark the tests here ``browser`` and ``keycloak``: before every other implementation of this hook (a wrapper's
    first half), so before ``-m`` selects and before tests/conftest.py's ``run_order`` sorts them after every other
    Keycloak test (they add accounts to tenant groups that other modules count)."""
    for item in items:
        if _in_this_folder(item):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.keycloak)
            if BROWSER_OFF:
                item.add_marker(pytest.mark.skip(reason="RENKEI_TEST_BROWSER=0: browser tests left out on purpose"))
    return (yield)


def pytest_terminal_summary(terminalreporter, config):
    crawled = config.stash.get(CRAWLED, {})
    if crawled:
        terminalreporter.write_sep("-", "accessibility crawl")
        for role, (pages, violations, raw, sideways) in crawled.items():
            terminalreporter.write_line(f"{role}: {pages} pages crawled, {violations} axe-core violations, "
                                        f"raw codes on {raw} pages, {sideways} sideways scrolls (page x width)")


# --- what the browser tests need installed -----------------------------------------------------

def chromium_path() -> str:
    given = os.environ.get("RENKEI_TEST_CHROMIUM", "").strip()
    path = given or shutil.which("chromium")
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"Chromium not found ({'RENKEI_TEST_CHROMIUM=' + given if given else 'no chromium on the PATH'}): "
                    "install Debian's package (apt-get install chromium) or set RENKEI_TEST_CHROMIUM to its path, "
                    + INSTALL_HINT, pytrace=False)
    return path


def axe_script() -> str:
    if not AXE_SCRIPT.is_file():
        pytest.fail(f"axe-core is not installed ({AXE_SCRIPT} is missing): run `npm ci` in tests/browser "
                    "(Node.js and npm: apt-get install nodejs npm), " + INSTALL_HINT, pytrace=False)
    return AXE_SCRIPT.read_text(encoding="utf-8")


# --- live server -------------------------------------------------------------------------------

ROOT = HERE.parent.parent
# how production runs renkei (docs/deployment.md, "App servers"): the gthread worker and gunicorn's request
# limits; one worker of four threads is enough for one browser
GUNICORN = ("-k", "gthread", "--threads", "4", "-w", "1", "--limit-request-line", "8190",
            "--limit-request-field_size", "8190", "--limit-request-fields", "100",
            "--no-control-socket")  # (no control socket: a test server is stopped by its signal)
# the settings admin/config.py reads from an environment variable of another name than their own
ENVIRONMENT_NAMES = {"SECRET_KEY": "RENKEI_SECRET_KEY", "SQLALCHEMY_DATABASE_URI": "RENKEI_DATABASE_URL",
                     "BABEL_DEFAULT_LOCALE": "RENKEI_DEFAULT_LOCALE"}
SERVER_START_SECONDS = 600.0  # importing renkei takes seconds; on a crowded machine, minutes


def server_environment(config) -> dict[str, str]:
    """The environment that makes ``admin:create_app()`` configure itself as ``config`` is: every setting
    admin/config.py reads from the environment, as text. Fails, naming them, if a setting would come out
    otherwise (a value the environment cannot carry)."""
    from admin.config import from_environment, settle_defaults

    environment = {}
    for key in from_environment({}):
        name = ENVIRONMENT_NAMES.get(key, key)
        value = config.get(key)
        if name.startswith("RENKEI_") and value is not None:
            environment[name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    again = from_environment(environment)
    settle_defaults(again)
    differ = sorted(key for key, value in again.items() if value != config.get(key))
    assert not differ, f"the live server cannot be given these settings of the test app by its environment: {differ}"
    return environment


class Gunicorn:
    """``gunicorn 'admin:create_app()'`` in a process of its own, configured by its environment, on a
    listening socket this process keeps (``fd://``): its address stays the same whatever gunicorn does,
    and a request that comes while no worker is ready waits in the socket's queue."""

    def __init__(self, log_dir: Path):
        self.socket = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = self.socket.getsockname()[1]
        self.read_end, self.write_end = os.pipe()  # the hooks' bytes (tests/browser/gunicorn_hooks.py)
        os.set_blocking(self.read_end, False)
        self.log_dir = log_dir
        self.environment_file = log_dir / "environment.json"  # the app's (tests/browser/gunicorn_hooks.py)
        self.process: subprocess.Popen | None = None
        self.environment: dict[str, str] | None = None
        self.in_flight = 0
        self.ready = False

    def serve(self, environment: dict[str, str]) -> None:
        """Serve with this environment, once the worker is ready. A change of environment: gunicorn reads
        it again (SIGHUP) and starts a new worker, which builds the app with it."""
        if self.process is None or self.process.poll() is not None:
            self.start(environment)
        elif environment != self.environment:
            self._wait_ready()  # the master handles SIGHUP once it serves (before that, SIGHUP ends it)
            old = self.environment
            changed = sorted(name for name in old.keys() | environment.keys() if old.get(name) != environment.get(name))
            with open(self.log_dir / "gunicorn.log", "a") as log:
                log.write(f"[live server] a new worker for the changed {', '.join(changed)}\n")
            self.wait_idle()
            self._write_environment(environment)
            while self._read(timeout=0):  # the old worker's last bytes
                pass
            self.ready = False
            self.process.send_signal(signal.SIGHUP)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not self.ready:  # a worker with this environment has built the app (the post_worker_init hook)
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.log_dir / "gunicorn.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"gunicorn did not start serving (exit code {self.process.poll()}):\n{log}", pytrace=False)
            self._read(timeout=0.5)

    def _write_environment(self, environment: dict[str, str]) -> None:
        self.environment_file.write_text(json.dumps(environment), encoding="utf-8")
        self.environment = environment

    def start(self, environment: dict[str, str]) -> None:
        """Start gunicorn, without waiting for its worker: it builds the app while the test's fixtures run."""
        self._write_environment(environment)
        env = {name: value for name, value in os.environ.items() if not name.startswith("RENKEI_")}
        env.update(environment, RENKEI_TEST_LIVE_SERVER_FD=str(self.write_end), PYTHONPATH=str(ROOT),
                   RENKEI_TEST_LIVE_SERVER_ENV=str(self.environment_file))
        self.ready = False
        with open(self.log_dir / "gunicorn.log", "ab") as errors, open(self.log_dir / "requests.log", "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", *GUNICORN, "-c", str(HERE / "gunicorn_hooks.py"),
                 "-b", f"fd://{self.socket.fileno()}", "admin:create_app()"],
                cwd=ROOT, env=env, pass_fds=(self.socket.fileno(), self.write_end), stdout=out, stderr=errors)

    def _read(self, timeout: float) -> bool:
        """What the hooks wrote, waiting at most ``timeout`` for the first byte; whether there was any."""
        if not select.select([self.read_end], [], [], timeout)[0]:
            return False
        try:
            data = os.read(self.read_end, 65536)
        except BlockingIOError:
            return False
        self.ready = self.ready or b"R" in data
        self.in_flight += data.count(b"+") - data.count(b"-")
        return True

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every request the server has begun is answered (at most ``timeout``)."""
        self._read(timeout=0)
        deadline = time.monotonic() + timeout
        while self.in_flight > 0 and time.monotonic() < deadline:
            self._read(timeout=deadline - time.monotonic())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.wait_idle()
            self.process.terminate()  # gunicorn's graceful stop
            self.process.wait(timeout=60)
        while self._read(timeout=0):  # what its hooks wrote last: not the next server's
            pass
        self.process, self.in_flight, self.ready = None, 0, False

    def log_size(self) -> int:
        path = self.log_dir / "gunicorn.log"
        return path.stat().st_size if path.exists() else 0

    def log_since(self, offset: int) -> str:
        """What gunicorn and renkei logged (errors, warnings, its starts) since ``offset``."""
        with open(self.log_dir / "gunicorn.log", "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def close(self) -> None:
        self.stop()
        self.socket.close()
        os.close(self.read_end)
        os.close(self.write_end)


@dataclasses.dataclass(frozen=True)
class LiveServer:
    url: str  # what the browser uses: http://renkei.test
    host: str
    port: int  # where it listens on 127.0.0.1
    app: object  # the session's app, whose configuration the server follows
    server: Gunicorn

    def __call__(self, path: str = "/") -> str:
        return self.url + path

    def follow_config(self) -> None:
        """Serve with the session app's configuration as it is now (a test's fixtures may have changed it)."""
        self.server.serve(server_environment(self.app.config))

    def check_config_followed(self, nodeid: str) -> None:
        if server_environment(self.app.config) != self.server.environment:
            pytest.fail(f"{nodeid} changed the app's configuration while it ran: the live server (another process) "
                        "did not see it. Change it in a fixture: the server follows the app's configuration as the "
                        "test body starts.", pytrace=False)

    def wait_idle(self) -> None:
        self.server.wait_idle()


@pytest.fixture(scope="session")
def live_server(app, keycloak_settings, tmp_path_factory) -> Iterator[LiveServer]:
    """gunicorn serving renkei as production runs it (docs/deployment.md), configured as the session's
    ``app`` is, on the same database and var folder. Its logs (gunicorn.log: gunicorn's and renkei's
    warnings and errors; requests.log: the request log) are in the session's live-server* temporary folder;
    what it logged during a test is shown with the test's failure."""
    name = app.config["SERVER_NAME"]
    assert name and ":" not in name, "the test app is named without a port (tests/conftest.py SERVER_NAME)"
    assert f"http://{name}/*" in keycloak_settings.redirect_uris
    server = Gunicorn(tmp_path_factory.mktemp("live-server"))
    live = LiveServer(url=f"http://{name}", host=name, port=server.port, app=app, server=server)
    try:
        server.start(server_environment(app.config))  # ready before the first test body (follow_config)
        yield live
    finally:
        server.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test using the live server: the server follows the app's configuration as its fixtures left it
    (a new gunicorn worker only when that changed), and the test fails if its body changed it. What the
    server logged meanwhile is shown with a failure."""
    live = item.funcargs.get("live_server") if "live_server" in getattr(item, "fixturenames", ()) else None
    if live is None:
        return (yield)
    live.follow_config()
    logged = live.server.log_size()
    try:
        result = yield
    finally:  # the server's log of the test, shown with a failure
        if text := live.server.log_since(logged):
            item.add_report_section("call", "live server (gunicorn.log)", text)
    live.check_config_followed(item.nodeid)
    return result


# --- Chromium ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium(live_server):
    """One headless Chromium for the session."""
    if BROWSER_OFF:
        pytest.skip("RENKEI_TEST_BROWSER=0")
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: bash scripts/install.sh dev (the dev extra), " + INSTALL_HINT,
                    pytrace=False)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=[f"--host-resolver-rules=MAP {live_server.host}:80 127.0.0.1:{live_server.port}",
                  "--no-sandbox", "--disable-dev-shm-usage"])
    except Exception as error:
        playwright.stop()
        pytest.fail(f"Chromium at {executable} did not start: {error}", pytrace=False)
    yield browser
    browser.close()
    playwright.stop()


CSP_VIOLATIONS = "renkei_csp_violations"


def _new_context(chromium):
    """A browser profile whose console is watched: a page of the app that breaks its
    Content-Security-Policy (an inline script refused) fails the test at its end."""
    context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 900},
                                   accept_downloads=True)
    # a bound for a wait that never ends, not a judgement of speed: an action that posts a form waits for the page the
    # server builds (issuing the estimates lays out a letter a municipality), which a loaded machine made take over 15 s
    context.set_default_timeout(60_000)
    # and an assertion waits as long for what it expects (Playwright's default is 5 s): the page a click opens, which
    # the auditor's audit-verify page (the chain verified) once took longer than that to bring under CI's load
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    violations: list[str] = []
    setattr(context, CSP_VIOLATIONS, violations)

    def watch(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{(message.location or {}).get('url', '?')}: {message.text}")

    context.on("console", watch)
    return context


def close_watched(contexts, live_server) -> None:
    """Close ``contexts`` (made by :func:`_new_context`); fail naming what the policy refused on their pages."""
    violations = [v for context in contexts for v in getattr(context, CSP_VIOLATIONS)]
    for context in contexts:
        context.close()
    live_server.wait_idle()
    assert violations == [], "the Content-Security-Policy refused something on a page:\n" + "\n".join(violations)


@pytest.fixture
def browser_context(chromium, live_server):
    """A fresh browser profile (no cookies) in Japanese, as a new visitor from Japan."""
    context = _new_context(chromium)
    answers = BrowserResponses.attach(context, live_server.url)  # every answer of the live server is valid HTTP
    yield context
    close_watched([context], live_server)
    answers.check()


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


@pytest.fixture
def new_page(chromium, live_server) -> Iterator[Callable]:
    """Another person's browser in the same test (a fresh context each call): ``new_page()``."""
    contexts, answers = [], []

    def make():
        contexts.append(_new_context(chromium))
        answers.append(BrowserResponses.attach(contexts[-1], live_server.url))
        return contexts[-1].new_page()

    yield make
    close_watched(contexts, live_server)
    for each in answers:
        each.check()


@pytest.fixture
def login_as(live_server) -> Callable:
    """``login_as(page, username, password=PASSWORD, next="/admin/")``: the real Keycloak login form;
    returns the page once the browser is back in the admin UI."""

    def sign_in(page, username: str, password: str = PASSWORD, next: str = "/admin/"):
        page.goto(live_server(f"/login?next={next}"))
        keycloak = urlsplit(page.url)
        assert keycloak.hostname != live_server.host, f"expected Keycloak's login page, got {page.url}"
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("#kc-login")
        page.wait_for_url(lambda url: url.startswith(live_server.url + "/admin"))
        return page

    return sign_in


# --- demo data and people ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Person:
    key: str
    username: str
    password: str
    roles: tuple[str, ...]
    tenant: str | None
    family: str
    given: str

    @property
    def display_name(self) -> str:
        return f"{self.family} {self.given}"


# key: username, (family, given), roles, tenant: the README demo's people (admin/cli.py DEMO_LOGINS)
# plus a second finance officer for four eyes. Usernames are not role ids, so the raw-code check of
# the crawl does not mistake a username shown on a page for a role.
PEOPLE = {
    "operator": ("operator", ("熊本県", "運営者"), ("platform-operator",), "430005"),
    "finance": ("finance1", ("熊本県", "財政担当"), ("finance-officer",), None),
    "finance2": ("finance2", ("熊本県", "会計担当"), ("finance-officer",), None),
    "auditor": ("kansa", ("熊本県", "監査担当"), ("auditor",), None),
    "kumamoto": ("kumamoto-admin", ("熊本市", "管理者"), ("municipal-admin",), "431001"),
    "yatsushiro": ("yatsushiro-admin", ("八代市", "管理者"), ("municipal-admin",), "432024"),
}


class People:
    """``people["finance"]``: a Person with a real Keycloak account (created once per session)."""

    def __init__(self, directory):
        self.directory = directory
        self._made: dict[str, Person] = {}

    def __getitem__(self, key: str) -> Person:
        if key not in self._made:
            username, (family, given), roles, tenant = PEOPLE[key]
            directory = self.directory
            found = directory.find_user(username)
            user_id = found["id"] if found else directory.create_user(
                username, f"{username}@example.jp", given, family, password=PASSWORD)
            if tenant:
                directory.ensure_tenant_group(tenant)
                directory.add_to_tenant(user_id, tenant)
            directory.set_roles(user_id, roles, roles)
            self._made[key] = Person(key, username, PASSWORD, roles, tenant, family, given)
        return self._made[key]

    def __iter__(self):
        return iter(PEOPLE)


@pytest.fixture(scope="session")
def people(directory) -> People:
    return People(directory)


@dataclasses.dataclass(frozen=True)
class Demo:
    loader: object  # the operator the sample data is recorded as (admin/cli.py DEMO_LOADER)
    tenants: tuple[str, ...]  # the codes loaded
    active: tuple[str, ...]
    applied: tuple[str, ...]


_GROUPS_MADE: set[str] = set()  # Keycloak outlives each test's database: tenant groups once per session


@pytest.fixture
def demo(app, db, directory) -> Demo:
    """The README demo's data in this test's (clean) database, as ``renkei demo`` loads it. On SQLite the first
    test of a worker loads it and the others copy the database it left (tests/conftest.py, seeded_database)."""
    import sqlalchemy as sa

    from admin.cli import DEMO_LOADER
    from core import authz
    from core.actor import console_actor
    from tenancy.registry.models import Tenant, TenantStatus
    from tenancy.registry.operations import list_tenants
    from tenancy.registry.sample import load_kumamoto
    from usage.quota_plans import load_default_plans
    from tests.conftest import seeded_database

    loader = console_actor(DEMO_LOADER, {authz.OPERATOR})

    def build():  # on the test's clean database
        load_kumamoto(db, loader)
        load_default_plans(db, loader)
        from catalogue.sample import load_sample_datasets

        load_sample_datasets(db, loader)  # the 33 sample datasets (issue 22)
        from residents.consent.operations import ensure_default_levels

        ensure_default_levels(db, loader)  # the three usual identity assurance levels (issue 23)
        db.commit()

    seeded_database(app, "demo", build)
    created = list(db.scalars(sa.select(Tenant.code).order_by(Tenant.id)))  # every tenant: the database was clean
    active, _ = list_tenants(db, loader, status=TenantStatus.active, per_page=1000)
    applied, _ = list_tenants(db, loader, status=TenantStatus.applied, per_page=1000)
    for tenant in active:
        if tenant.code not in _GROUPS_MADE:
            directory.ensure_tenant_group(tenant.code, tenant.name_ja)
            _GROUPS_MADE.add(tenant.code)
    return Demo(loader, tuple(created), tuple(t.code for t in active), tuple(t.code for t in applied))
