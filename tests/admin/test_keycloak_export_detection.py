"""Which Keycloak `renkei backup` can export in full (no Keycloak needed): only one renkei's
launcher runs on this machine, started with H2's AUTO_SERVER, and the operator is told why not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maintenance import keycloak_distribution, keycloak_server


@pytest.fixture
def fake_server(tmp_path):
    """A state dir whose pid is a live process named like the launcher's (``kc.sh``)."""
    script = tmp_path / "kc.sh"
    script.write_text("import time\ntime.sleep(60)\n")
    process = subprocess.Popen([sys.executable, str(script)])
    # until the child has exec'd, /proc shows the parent's command line: wait for its own
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    for _ in range(1000):
        if not cmdline.exists() or b"kc.sh" in cmdline.read_bytes():
            break
        time.sleep(0.01)  # polling the condition (the child's own command line)
    state = tmp_path / "state"
    state.mkdir()
    (state / keycloak_server.PID_FILE).write_text(f"{process.pid}\n")
    yield state
    process.kill()
    process.wait()


def _info(state, **fields) -> None:
    info = {"host": "127.0.0.1", "port": 38123, "management_port": 39123, "version": keycloak_distribution.KEYCLOAK_VERSION,
            "java": os.path.dirname(os.path.dirname(sys.executable)), **fields}
    (state / keycloak_server.INFO_FILE).write_text(json.dumps(info))


def test_a_keycloak_on_another_machine_is_not_exported_by_renkei():
    server, why = keycloak_server.launched_server("https://sso.pref.example.jp/")
    assert server is None
    assert "not a Keycloak renkei's launcher runs on this machine" in why


def test_a_port_without_a_launcher_state_says_so(tmp_path):
    server, why = keycloak_server.launched_server("http://127.0.0.1:38123", tmp_path / "nothing-here")
    assert server is None
    assert "no Keycloak started by `renkei keycloak start` for port 38123" in why


def test_a_server_started_before_auto_server_must_be_restarted(fake_server):
    _info(fake_server, db_url=f"jdbc:h2:file:{fake_server}/h2/keycloakdb;NON_KEYWORDS=VALUE")
    server, why = keycloak_server.launched_server("http://127.0.0.1:38123", fake_server)
    assert server is None
    assert "restart it" in why


def test_a_stopped_server_is_not_exported(fake_server):
    _info(fake_server, db_url=keycloak_server.h2_url(fake_server))
    (fake_server / keycloak_server.PID_FILE).write_text("999999999\n")
    server, why = keycloak_server.launched_server("http://127.0.0.1:38123", fake_server)
    assert server is None and "not running" in why


def test_every_launch_lets_an_export_open_the_running_database(tmp_path):
    # the export reads the H2 file while the server holds it only through H2's automatic mixed mode
    assert keycloak_server.h2_url(tmp_path).endswith(";AUTO_SERVER=TRUE")
    assert str(tmp_path / "h2" / "keycloakdb") in keycloak_server.h2_url(tmp_path)


def test_a_running_launcher_server_with_auto_server_is_exported_from_its_state_dir(fake_server):
    if not (keycloak_distribution.distribution_dir() / "bin" / "kc.sh").exists():
        pytest.skip("the Keycloak distribution is not downloaded yet")
    _info(fake_server, db_url=keycloak_server.h2_url(fake_server))
    server, why = keycloak_server.launched_server("http://127.0.0.1:38123", fake_server)
    assert why == ""
    assert server.state_dir == fake_server and server.db_url == keycloak_server.h2_url(fake_server)
