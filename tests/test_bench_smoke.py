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

Each runs as a command would, forked from a process of the test worker's that has imported renkei and built an
app once (tests/bench_preload.py, as gunicorn's ``--preload``): the seconds every benchmark would spend on that
before its own code are spent once. ``RENKEI_BENCH_SMOKE_FRESH=1`` starts each as a new Python process instead.
A benchmark's own servers (its gunicorns, the gateway's folder) start likewise in its smoke form: each in a fork of the
benchmark made when ``--smoke`` is parsed, before it starts a thread (bench/common.py ``start_python``).

Marked ``bench`` (pyproject.toml): ``-m bench`` runs only these, ``-m "not bench"`` leaves them out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench_preload import TIMEOUT, Preloaded

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


def run_command(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """``argv`` run as it is written: preloaded (:class:`Preloaded`), or as a new process when
    ``RENKEI_BENCH_SMOKE_FRESH`` is set."""
    if os.environ.get("RENKEI_BENCH_SMOKE_FRESH"):
        done = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT)
        return done.returncode, done.stdout, done.stderr
    return Preloaded.run(argv, env, ROOT)


def run_smoke(name: str, *extra: str) -> str:
    """The benchmark's smoke form as a command; its output, once it has exited 0 and printed its figures."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code, stdout, stderr = run_command([str(ROOT / "bench" / f"{name}.py"), "--smoke", *extra], env)
    output = stdout + stderr
    assert code == 0, f"{name} --smoke exited {code}:\n{output[-4000:]}"
    assert any(words in stdout for words in FIGURES), f"{name} --smoke printed no figure:\n{output[-4000:]}"
    return stdout


def test_a_preloaded_command_gives_its_output_its_exit_code_and_its_failures(tmp_path):
    """What the smoke tests rely on of the preloaded runner: a command's own output, code, arguments, environment and
    working directory, and a failure as a failure (an exception's traceback and 1, ``SystemExit`` with its code)."""
    script = tmp_path / "bench_probe.py"
    script.write_text(
        "import os, sys\n"
        "print('args', sys.argv[1:], os.environ.get('PROBE'), os.getcwd() == os.environ['EXPECTED_CWD'])\n"
        "print('to stderr', file=sys.stderr)\n"
        "if sys.argv[1] == 'raise': raise ValueError('broken benchmark')\n"
        "if sys.argv[1] == 'exit': raise SystemExit(3)\n", encoding="utf-8")
    env = {**os.environ, "PROBE": "here", "EXPECTED_CWD": str(ROOT)}
    assert Preloaded.run([str(script), "ok"], env, ROOT) == (0, "args ['ok'] here True\n", "to stderr\n")
    code, _, stderr = Preloaded.run([str(script), "raise"], env, ROOT)
    assert code == 1 and "ValueError: broken benchmark" in stderr
    assert Preloaded.run([str(script), "exit"], env, ROOT)[0] == 3
    assert Preloaded.run([str(script), "ok"], {**env, "PROBE": "again"}, ROOT)[1] == "args ['ok'] again True\n"


def test_a_smoke_forms_server_runs_as_its_command_and_answers_as_a_process(tmp_path):
    """What the smoke forms' servers rely on of ``common.start_python``: the command runs in a spare forked when
    ``--smoke`` was parsed, with its arguments, environment and working directory; its exit code, a termination as
    the signal's, and once the spares are used up a new interpreter, as in the full run."""
    script = tmp_path / "bench_probe.py"
    script.write_text(
        "import argparse, os, sys\n"
        "from bench import common\n"
        "parser = argparse.ArgumentParser()\n"
        "common.add_smoke_option(parser, 'probe', processes=2)\n"
        "parser.parse_args(['--smoke'])\n"
        "out = sys.argv[1]\n"
        "code = \"import os, sys; open(sys.argv[1], 'w').write(' '.join([os.getcwd(), os.environ['PROBE'], *sys.argv[2:]])); "
        "raise SystemExit(3)\"\n"
        "first = common.start_python(['-c', code, out, 'x'], env={**os.environ, 'PROBE': 'spare'}, cwd='/')\n"
        "print(type(first).__name__, first.wait(timeout=120), open(out).read())\n"
        "second = common.start_python(['-c', 'import time; time.sleep(600)'], env=dict(os.environ), cwd='/')\n"
        "second.terminate()\n"
        "print(type(second).__name__, second.wait(timeout=120))\n"
        "third = common.start_python(['-c', 'pass'], env=dict(os.environ), cwd='/')\n"
        "print(type(third).__name__, third.wait(timeout=120))\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code, stdout, stderr = Preloaded.run([str(script), str(tmp_path / "out")], env, ROOT)
    assert (code, stdout) == (0, "Forked 3 / spare x\nForked -15\nPopen 0\n"), stderr


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
