"""`renkei login` by Keycloak's device flow, driven for real (issue 26, item 7).

The command runs as an operator runs it: a `renkei` process outside development, against the
session's Keycloak and the test database. It prints a code to confirm in a browser; the person
confirms it the way a browser does (Keycloak's device page and sign-in form, followed with
`requests`), the waiting command then keeps the session, the next command acts for that person
(the audit record's actor), and `renkei logout` ends it: the kept tokens are gone and Keycloak no
longer renews them.

Everything waits on a condition (a line printed, a process ended) with generous bounds, never a
fixed pause, so a slow machine changes only how long it takes.
"""

from __future__ import annotations

import html
import http.cookiejar
import json
import multiprocessing
import os
import queue
import re
import threading
import time
from urllib.parse import urljoin

import pytest
import requests
import sqlalchemy as sa

from core.audit import AuditRecord
from tests import renkei_processes
from tests.conftest import ADMIN_SECRET, KEYCLOAK, PASSWORD, SERVICE_SECRET

pytestmark = pytest.mark.keycloak

CSV = "団体コード,団体名,種別,人口\r\n431001,熊本市,政令指定都市,738865\r\n".encode("cp932")
WAIT_SECONDS = 180  # the device code lives 10 minutes; a slow machine gets minutes, not seconds


class Renkei:
    """A `renkei` process, its output read line by line as it comes (a thread feeds a queue); forked from
    tests/renkei_processes.py's fork server, which has imported renkei's modules once (five processes a
    run, each ~4.5 s of CPU as a fresh interpreter)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        reading, writing = multiprocessing.Pipe(duplex=False)  # its standard output and error, as a pipe
        self.process = renkei_processes.start("tests.renkei_processes:renkei", args, env, writing)
        self.stdout = open(os.dup(reading.fileno()), encoding="utf-8")
        reading.close()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.stdout:
            self.lines.put(line)
        self.lines.put(None)  # the end of the output: the process closed it

    def wait_for(self, pattern: str) -> re.Match:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                self.lines.put(None)  # still the end for finish()
                break
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no line matching {pattern!r}; the command said: {''.join(self.seen)}")

    def finish(self) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=WAIT_SECONDS)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        # the rest of its output, up to its end (the reader's mark), not up to a pause in it
        while (line := self.lines.get(timeout=WAIT_SECONDS)) is not None:
            self.seen.append(line)
        return code, "".join(self.seen)


def form_of(page: requests.Response, form_id: str | None = None) -> tuple[str, dict[str, str]]:
    """The action and the hidden or preset fields of a form on a Keycloak page."""
    forms = re.findall(r"<form\b([^>]*)>(.*?)</form>", page.text, re.S)
    assert forms, f"no form: {said(page)}"
    chosen = next(((attrs, body) for attrs, body in forms if form_id and f'id="{form_id}"' in attrs), forms[0])
    action = html.unescape(re.search(r'action="([^"]*)"', chosen[0]).group(1))
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", chosen[1]):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="submit"' not in tag:
            fields[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
    return urljoin(page.url, action), fields


def said(page: requests.Response) -> str:
    """What a Keycloak page says to the person (its title and messages), for a failure's report."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>", "", page.text, flags=re.S)
    return f"{page.status_code} {page.url}: " + " ".join(re.sub(r"<[^>]+>", " ", text).split())[:800]


class Browser:
    """Just enough of a browser for Keycloak's pages: it follows redirects and keeps cookies by name.

    A browser treats a loopback address as a secure context and sends it ``Secure`` cookies over
    plain http (Keycloak marks its sign-in cookies Secure, Version=1); the standard library's
    cookie jar refuses such cookies over http, so they are kept here as a browser keeps them."""

    def __init__(self) -> None:
        self.http = requests.Session()
        self.http.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))  # ours, not the jar's
        self.cookies: dict[str, str] = {}

    def _keep(self, response: requests.Response) -> None:
        for header in response.raw.headers.getlist("Set-Cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if re.search(r";\s*Max-Age=0\b", header, re.I) or not value:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value

    def go(self, url: str, data: dict | None = None) -> requests.Response:
        method = "POST" if data is not None else "GET"
        for _ in range(20):
            response = self.http.request(method, url, data=data, allow_redirects=False, timeout=60,
                                         headers={"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())})
            self._keep(response)
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            url, method, data = urljoin(url, response.headers["Location"]), "GET", None
        raise AssertionError(f"too many redirects from {url}")


def confirm_in_a_browser(address: str, user_code: str, username: str, password: str) -> requests.Response:
    """What the person does in a browser: open the address, sign in, grant the device if asked."""
    browser = Browser()
    page = browser.go(address)
    assert page.status_code == 200, said(page)
    if 'name="device_user_code"' in page.text:  # the page asks for the code first
        action, fields = form_of(page)
        page = browser.go(action, {**fields, "device_user_code": user_code})
    action, fields = form_of(page, "kc-form-login")
    page = browser.go(action, {**fields, "username": username, "password": password, "credentialId": ""})
    assert page.status_code == 200, said(page)
    if 'name="accept"' in page.text:  # Keycloak's grant page for the device
        action, fields = form_of(page)
        page = browser.go(action, {**fields, "accept": "Yes"})
    return page


@pytest.fixture
def command_env(app, tmp_path, keycloak_settings):
    """The environment of a `renkei` process outside development (RENKEI_ENV=testing, not built by
    test code, so a bare --as is refused) on the test database and the session's Keycloak realm."""
    session = tmp_path / "session" / "cli-session.json"
    env = {key: value for key, value in os.environ.items() if not key.startswith("RENKEI_")}
    env.update({
        "PYTHONUNBUFFERED": "1",
        "RENKEI_ENV": "testing",
        "RENKEI_SECRET_KEY": "device-login-test-secret-0123456789",
        "RENKEI_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "RENKEI_VAR_DIR": str(tmp_path / "var"),
        "RENKEI_KEYCLOAK_URL": KEYCLOAK.url,
        "RENKEI_KEYCLOAK_PUBLIC_URL": KEYCLOAK.url,
        "RENKEI_KEYCLOAK_REALM": keycloak_settings.realm,
        "RENKEI_OIDC_CLIENT_SECRET": ADMIN_SECRET,
        "RENKEI_SERVICE_CLIENT_SECRET": SERVICE_SECRET,
        "RENKEI_KEYCLOAK_TIMEOUT": "30",
        "RENKEI_REQUEST_LOG": "off",
        "RENKEI_CLI_SESSION": str(session),
    })
    return env, session


@pytest.fixture
def renkei(command_env, fork_server):
    """Start `renkei ARGS` in the command environment; any process still running at the end is stopped."""
    started: list[Renkei] = []

    def start(*args: str) -> Renkei:
        started.append(Renkei(list(args), command_env[0]))
        return started[-1]

    yield start
    for command in started:
        if command.process.poll() is None:
            command.process.kill()
            command.process.wait()
        command.stdout.close()


def records(db) -> list[AuditRecord]:
    db.expire_all()
    return list(db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)))


@pytest.mark.long
def test_renkei_login_by_the_device_flow_acts_for_the_person_until_logout(
        db, tmp_path, command_env, renkei, user_factory, keycloak_settings):
    from tenancy.errors import IdentityUnavailable
    from tenancy.identity.keycloak import refresh_tokens

    env, session = command_env
    account, _ = user_factory(("platform-operator",), fresh=True)
    csv = tmp_path / "tenants.csv"
    csv.write_bytes(CSV)

    # nobody signed in: a command outside development is refused, a bare --as too
    refused = renkei("tenants", "import", str(csv), "--as", account.username)
    code, output = refused.finish()
    assert code != 0 and "renkei login" in output, output
    assert records(db) == []

    login = renkei("login")
    shown = login.wait_for(r"Open (\S+) in a browser, sign in and confirm the code (\S+)\.")
    address, user_code = shown.group(1), shown.group(2)
    assert address.startswith(f"{KEYCLOAK.url}/realms/{keycloak_settings.realm}/")
    assert not session.exists()  # nothing kept before the person confirmed

    confirmed = confirm_in_a_browser(address, user_code, account.username, PASSWORD)
    assert confirmed.status_code == 200 and "kc-form-login" not in confirmed.text, confirmed.text[:500]
    code, output = login.finish()
    assert code == 0, output
    assert "Signed in as" in output and "platform-operator" in output, output
    assert session.exists() and (session.stat().st_mode & 0o777) == 0o600
    kept = json.loads(session.read_text())

    # the next command acts for the person who confirmed the code
    imported = renkei("tenants", "import", str(csv))
    code, output = imported.finish()
    assert code == 0, output
    [record] = records(db)
    assert record.action == "tenant.import"
    assert (record.actor_issuer, record.actor_subject) == (f"{KEYCLOAK.url}/realms/{keycloak_settings.realm}", account.id)
    assert record.actor_role == "platform-operator"

    # logout ends it: the kept tokens are gone, Keycloak's session too, the next command is refused
    assert refresh_tokens(keycloak_settings, kept["refresh_token"])["access_token"]  # renewable until then
    logout = renkei("logout")
    code, output = logout.finish()
    assert code == 0 and "Signed out" in output, output
    assert not session.exists()
    with pytest.raises(Exception) as ended:  # Keycloak refuses the refresh token: its session is over
        refresh_tokens(keycloak_settings, kept["refresh_token"])
    assert not isinstance(ended.value, IdentityUnavailable), ended.value
    after = renkei("tenants", "import", str(csv))
    code, output = after.finish()
    assert code != 0 and "renkei login" in output, output
    assert len(records(db)) == 1
