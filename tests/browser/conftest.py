"""Browser tests: a real Chromium (Debian's ``chromium``, driven by Playwright) against a live
server of the test app, signing in through the real Keycloak login page.

* ``live_server``: the session's ``app`` served by werkzeug on 127.0.0.1 (a free port) in a
  thread. The app's name is ``renkei.test`` (``SERVER_NAME`` in tests/conftest.py, and the realm's
  redirect URI ``http://renkei.test/*``), so Chromium is told to resolve ``renkei.test:80`` to that
  port (``--host-resolver-rules``): the browser uses ``http://renkei.test/...`` like a real site,
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
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD

HERE = Path(__file__).resolve().parent
AXE_SCRIPT = HERE / "node_modules" / "axe-core" / "axe.min.js"
BROWSER_OFF = os.environ.get("RENKEI_TEST_BROWSER", "").strip() == "0"
CRAWLED = pytest.StashKey[dict]()  # role -> (pages, axe violations, pages with raw codes, sideways scrolls): test_accessibility
INSTALL_HINT = "or set RENKEI_TEST_BROWSER=0 to leave the browser tests out on this machine (see the README)"


def _in_this_folder(item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """Mark the tests here ``browser`` and ``keycloak`` (before ``-m`` selects); then run them after
    every other Keycloak test (they add accounts to tenant groups that other modules count) but
    before ``stops_keycloak``."""
    for item in items:
        if _in_this_folder(item):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.keycloak)
            if BROWSER_OFF:
                item.add_marker(pytest.mark.skip(reason="RENKEI_TEST_BROWSER=0: browser tests left out on purpose"))
    result = yield
    items.sort(key=lambda item: (item.get_closest_marker("keycloak") is not None,
                                 item.get_closest_marker("stops_keycloak") is not None,
                                 item.get_closest_marker("browser") is not None))
    return result


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

class InFlight:
    """WSGI middleware counting the requests being answered, so a test's database is not reset
    under a request the browser still had under way."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.idle = threading.Condition()

    def __call__(self, environ, start_response):
        with self.idle:
            self.count += 1
        iterable = None
        try:
            iterable = self.app(environ, start_response)
            yield from iterable
        finally:
            if hasattr(iterable, "close"):
                iterable.close()
            with self.idle:
                self.count -= 1
                self.idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> None:
        with self.idle:
            self.idle.wait_for(lambda: self.count == 0, timeout=timeout)


@dataclasses.dataclass(frozen=True)
class LiveServer:
    url: str  # what the browser uses: http://renkei.test
    host: str
    port: int  # where it listens on 127.0.0.1
    requests: InFlight

    def __call__(self, path: str = "/") -> str:
        return self.url + path

    def wait_idle(self) -> None:
        self.requests.wait_idle()


@pytest.fixture(scope="session")
def live_server(app, keycloak_settings) -> Iterator[LiveServer]:
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code="-", size="-"):  # errors are still logged
            if str(code).startswith(("4", "5")) and str(code) not in ("401", "403", "404"):
                super().log_request(code, size)

    name = app.config["SERVER_NAME"]
    assert name and ":" not in name, "the test app is named without a port (tests/conftest.py SERVER_NAME)"
    assert f"http://{name}/*" in keycloak_settings.redirect_uris
    requests = InFlight(app)
    server = make_server("127.0.0.1", 0, requests, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    yield LiveServer(url=f"http://{name}", host=name, port=server.server_port, requests=requests)
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


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
    context.set_default_timeout(15_000)
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
    yield context
    close_watched([context], live_server)


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


@pytest.fixture
def new_page(chromium, live_server) -> Iterator[Callable]:
    """Another person's browser in the same test (a fresh context each call): ``new_page()``."""
    contexts = []

    def make():
        contexts.append(_new_context(chromium))
        return contexts[-1].new_page()

    yield make
    close_watched(contexts, live_server)


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
def demo(db, directory) -> Demo:
    """The README demo's data in this test's (clean) database, as ``renkei demo`` loads it."""
    from admin.cli import DEMO_LOADER
    from core import authz
    from core.actor import console_actor
    from tenancy.registry.models import TenantStatus
    from tenancy.registry.operations import list_tenants
    from tenancy.registry.sample import load_kumamoto
    from tenancy.usage.quota_plans import load_default_plans

    loader = console_actor(DEMO_LOADER, {authz.OPERATOR})
    created = load_kumamoto(db, loader)
    load_default_plans(db, loader)
    from tenancy.datasets.sample import load_sample_datasets

    load_sample_datasets(db, loader)  # the 33 sample datasets (issue 22)
    from residents.consent.operations import ensure_default_levels

    ensure_default_levels(db, loader)  # the three usual identity assurance levels (issue 23)
    db.commit()
    active, _ = list_tenants(db, loader, status=TenantStatus.active, per_page=1000)
    applied, _ = list_tenants(db, loader, status=TenantStatus.applied, per_page=1000)
    for tenant in active:
        if tenant.code not in _GROUPS_MADE:
            directory.ensure_tenant_group(tenant.code, tenant.name_ja)
            _GROUPS_MADE.add(tenant.code)
    return Demo(loader, tuple(created), tuple(t.code for t in active), tuple(t.code for t in applied))
