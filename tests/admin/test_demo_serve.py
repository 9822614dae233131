"""`renkei demo --port N` as a newcomer runs it when port 5000 is taken (issue 38): the demo starts its
own Keycloak, every demo login signs in through the browser flow at the moved port (no
「無効なパラメーター: redirect_uri」), and Ctrl-C leaves no process of the demo running.

A real demo in a subprocess with a Keycloak of its own on free ports; the suite's shared server is
not touched, so this runs only in a session that starts its own Keycloak (CI's SQLite pass)."""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from maintenance import keycloak_server as kc

# own_keycloak: it runs only where its session started the Keycloak (a second one, the demo's, beside it), so it runs in
# scripts/test.sh's own-Keycloak session; marked keycloak alone, it was skipped in the workers' session (given CI's
# shared server) and CI never ran the README's first command
pytestmark = [pytest.mark.keycloak, pytest.mark.own_keycloak]

PASSWORD = "Demo-serve-2026"
FORM_ACTION = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"')


def _wait_for(predicate, what: str, process: subprocess.Popen, timeout: float = 420.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            raise AssertionError(f"the demo ended (exit {process.returncode}) before {what}")
        time.sleep(0.25)  # polls the predicate above, with its deadline
    raise AssertionError(f"no {what} within {timeout:.0f} s")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5, allow_redirects=False).status_code < 500
    except requests.RequestException:
        return False


def _sign_in(base: str, username: str) -> requests.Response:
    """The browser's way: the admin UI's login, Keycloak's form, back to the admin UI."""
    browser = requests.Session()
    form = browser.get(f"{base}/login", timeout=30)
    assert form.status_code == 200, form.text[:500]
    assert "redirect_uri" not in form.text, form.text[:500]  # Keycloak's 「無効なパラメーター: redirect_uri」
    action = FORM_ACTION.search(form.text)
    assert action, form.text[:500]
    for cookie in browser.cookies:  # Keycloak marks its cookies Secure; a browser keeps them for http://127.0.0.1
        cookie.secure = False
    return browser.post(html.unescape(action.group(1)), data={"username": username, "password": PASSWORD},
                        timeout=30)


def test_the_demo_on_another_port_signs_in_and_ctrl_c_stops_what_it_started(tmp_path: Path, keycloak_server) -> None:
    from admin.cli import DEMO_LOGINS

    if not keycloak_server.started_here:
        pytest.skip("starts a Keycloak of its own beside the suite's: only in a session that starts its own "
                    "(run without RENKEI_TEST_KEYCLOAK_URL, as scripts/test.sh's own-Keycloak session does)")
    port, kc_port, kc_management, mail = kc.free_ports(4)
    state = kc.default_state_dir(kc_port)
    env = {key: value for key, value in os.environ.items() if not key.startswith("RENKEI_")}
    env.update({"RENKEI_ENV": "development", "RENKEI_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
                "RENKEI_VAR_DIR": str(tmp_path / "var"), "RENKEI_KEYCLOAK_URL": f"http://127.0.0.1:{kc_port}",
                "RENKEI_DEMO_PASSWORD": PASSWORD})
    renkei = Path(sys.executable).with_name("renkei")
    log = (tmp_path / "demo.log").open("w")
    demo = subprocess.Popen([str(renkei), "demo", "--port", str(port), "--mail-port", str(mail),
                             "--keycloak-management-port", str(kc_management)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _answers(f"{base}/healthz"), "the demo served", demo)
        for username, *_ in DEMO_LOGINS:
            landed = _sign_in(base, username)
            assert landed.status_code == 200 and landed.url.startswith(f"{base}/admin"), (username, landed.url)

        demo.send_signal(signal.SIGINT)  # Ctrl-C
        assert demo.wait(timeout=180) == 0
        assert not kc.answers(f"http://127.0.0.1:{kc_port}", timeout=2)  # the Keycloak it started is stopped
        assert kc.status(kc_port, state_dir=state).running is False
    finally:
        log.close()
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(timeout=60)
        kc.stop(state_dir=state, timeout=30)
        shutil.rmtree(state, ignore_errors=True)
    assert "stopping the Keycloak the demo started" in (tmp_path / "demo.log").read_text(encoding="utf-8")
