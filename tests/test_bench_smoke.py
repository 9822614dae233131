"""Benchmarks that cannot rot (issue 49, item 6): every ``bench/bench_*.py`` on disk runs in its smoke form.

Each benchmark is run as a command (``python bench/bench_X.py --smoke``): its smallest size and fewest rounds,
every code path it measures. The test fails when the command fails (an exception, a page answering 500, calls
lost or doubled) or prints no figure; never on a figure (a target not met is printed, not asserted).

A benchmark added to bench/ is run here without a word; one that needs a service says so:

* PostgreSQL only (``POSTGRES_ONLY``): run on ``RENKEI_BENCH_DATABASE_URL``, a scratch PostgreSQL database the
  benchmarks may empty (never the tests' own database), and skipped without it. The others run on SQLite, or on
  that database when it is set (add_database_option's default).
* Keycloak (``KEYCLOAK_ONLY``, ``KEYCLOAK_TOO``): run against the session's Keycloak (``keycloak_server``:
  RENKEI_TEST_KEYCLOAK_URL, else the one the session starts), never one of their own.
* nginx: bench_gateway_nginx drives /usr/sbin/nginx, as tests/identity/test_gateway_nginx.py does.

Marked ``bench`` (pyproject.toml): ``-m bench`` runs only these, ``-m "not bench"`` leaves them out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHES = sorted(path.stem for path in (ROOT / "bench").glob("bench_*.py"))
POSTGRES_ONLY = {"bench_audit", "bench_ledger", "bench_quota_check"}
KEYCLOAK_ONLY = {"bench_invite", "bench_onboarding"}
# their default database is a local PostgreSQL (their figures are PostgreSQL's): without RENKEI_BENCH_DATABASE_URL (a
# developer's `scripts/test.sh --quick`) their smoke form runs on a SQLite file of the test's own
POSTGRES_BY_DEFAULT = {"bench_usage_ingest"}
KEYCLOAK_TOO = {"bench_search"}  # its pages without Keycloak, and Keycloak's own reads with --keycloak-url
# what a benchmark prints beside its figures: common.report's line, or the pages' summary
FIGURES = ("project target", "SUMMARY: ")

pytestmark = pytest.mark.bench


def run_smoke(name: str, *extra: str) -> str:
    """The benchmark's smoke form as a command; its output, once it has exited 0 and printed its figures."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # a safety bound for a command that hangs, not a judgement of its time
    done = subprocess.run([sys.executable, str(ROOT / "bench" / f"{name}.py"), "--smoke", *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{name} --smoke exited {done.returncode}:\n{output[-4000:]}"
    assert any(words in done.stdout for words in FIGURES), f"{name} --smoke printed no figure:\n{output[-4000:]}"
    return done.stdout


def test_every_benchmark_is_run_here():
    """The lists name benchmarks that exist (a renamed one would otherwise run in the wrong form)."""
    assert BENCHES and "bench_pages" in BENCHES
    assert (POSTGRES_ONLY | POSTGRES_BY_DEFAULT | KEYCLOAK_ONLY | KEYCLOAK_TOO) <= set(BENCHES)


# bench_pages renders every page of the app at its smallest size, a minute: begun first (tests/conftest.py run_order)
@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.long) if name == "bench_pages" else name
                                  for name in BENCHES if name not in KEYCLOAK_ONLY])
def test_smoke(name, tmp_path):
    if name in POSTGRES_ONLY and not os.environ.get("RENKEI_BENCH_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip(f"{name} runs on PostgreSQL only: set RENKEI_BENCH_DATABASE_URL to a scratch database it may empty")
    if name in POSTGRES_BY_DEFAULT and not os.environ.get("RENKEI_BENCH_DATABASE_URL"):
        run_smoke(name, "--database-url", f"sqlite:///{tmp_path / 'bench.db'}")
        return
    run_smoke(name)


@pytest.mark.parametrize("name", sorted(KEYCLOAK_ONLY | KEYCLOAK_TOO))
def test_smoke_on_keycloak(name, keycloak_server):
    run_smoke(name, "--keycloak-url", keycloak_server.url)
