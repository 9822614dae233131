"""What every benchmark shares, so that its figures can be trusted (issue #12, item 6).

* ``add_database_option``: ``--database-url`` (default ``RENKEI_BENCH_DATABASE_URL``, else the
  benchmark's own default);
* ``alternate``: the two sides run A B A B ... for a number of rounds, so that a noisy shared
  machine slows both alike; the samples of each side are kept per round;
* ``median`` / ``percentile``: the figures reported are medians (and p95/p99 where asked);
* ``report``: one line per figure: the value, the LIMIT measured in the same run, the ratio and
  the PROJECT's target (``TARGETS``, from issue #12), with ``met`` or ``NOT met``.

The targets live here only: a benchmark prints the project's target, never one of its own.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence


@dataclass(frozen=True)
class Target:
    """The project's target for one figure: ``value / limit`` compared with ``ratio`` (or, when
    ``absolute``, the value itself compared with ``ratio`` in the figure's unit)."""

    ratio: float
    higher_is_better: bool
    text: str
    absolute: bool = False


# issue #12, "Hot paths to their targets" and the pages' goal
TARGETS = {
    "get-by-code": Target(0.8, True, "throughput >= 0.8 of bare Flask"),
    "list-page": Target(0.5, True, "throughput >= 0.5 of bare Flask"),
    "quota-check": Target(0.8, True, "throughput >= 0.8 of bare Flask"),
    "quota-check-p99": Target(2.0, False, "p99 < 2 ms in-process", absolute=True),
    "usage-ingest": Target(0.5, True, "rate >= 0.5 of raw COPY"),
    "ledger-posting": Target(0.5, True, "rate >= 0.5 of raw guarded INSERT"),
    "wave": Target(1.3, False, "time <= 1.3x the Keycloak calls alone"),
    "invitations": Target(1.3, False, "time <= 1.3x the Keycloak calls alone"),
    # issue 55, item 5: every admin page at national size (was 300 ms)
    "page": Target(150.0, False, "p95 < 150 ms", absolute=True),
    "download": Target(1000.0, False, "p95 < 1 s", absolute=True),
    # issue 22: the catalogue read by CKAN clients and DCAT harvesters at national size
    "catalogue": Target(100.0, False, "p95 < 100 ms", absolute=True),
    # issue 36, item 7: the counted gateway path at the check's speed
    "counted-gateway": Target(1.5, False, "p99 <= 1.5x the uncounted check"),
    # issue 51, item 4: the gateway decides without waiting for a frozen Keycloak
    "gateway-frozen-keycloak": Target(2.0, False, "p99 <= 2x the unfrozen run, none refused"),
    # issue 42, item 6: the brokerage (link, disclosure range, consent check, items decrypted) at the check's speed
    "brokerage": Target(1.5, False, "p99 <= 1.5x the consent check alone"),
    # issue 42: enrolment's duplicate search among Kumamoto's 1,700,000 residents
    "duplicate-search": Target(50.0, False, "p95 < 50 ms on PostgreSQL with 1,700,000 residents", absolute=True),
}


def add_database_option(parser: argparse.ArgumentParser, default: str | None = None, *, help_text: str = "") -> None:
    parser.add_argument("--database-url", default=os.environ.get("RENKEI_BENCH_DATABASE_URL", default),
                        help=help_text or "the database the benchmark uses (and may empty); "
                                          "default RENKEI_BENCH_DATABASE_URL"
                                          + (f", else {default}" if default else ""))


SMOKE_HELP = ("the smallest form, for CI's smoke test (tests/test_bench_smoke.py): every code path measured, at the "
              "smallest size and fewest rounds; figures printed, never judged (the exit code tells only of an error)")


SMOKE = False  # set when a benchmark's --smoke is parsed: the shared helpers (bench/inprocess.py) then skip warm-ups


class _SmokeAction(argparse.Action):
    """``--smoke`` as ``store_true``, which also sets :data:`SMOKE` for the helpers a benchmark calls, and forks the
    spare processes the benchmark will start its servers in (:func:`start_python`)."""

    def __init__(self, option_strings, dest, processes: int = 0, **kwargs):
        self.processes = processes
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        global SMOKE
        SMOKE = True
        setattr(namespace, self.dest, True)
        _Spare.make(self.processes)


def add_smoke_option(parser: argparse.ArgumentParser, what: str, *, processes: int = 0) -> None:
    """``--smoke``: the benchmark's smallest form (``what``: its size in words), which fails on an error, never on a
    figure. Parsed, it sets :data:`SMOKE`: no warm-up calls (:func:`warm_up_calls`), the figures are not judged.
    ``processes``: how many Python processes the benchmark starts with :func:`start_python` (its servers): in the
    smoke form each is a fork of this process, made now, before the benchmark has started any thread."""
    parser.add_argument("--smoke", action=_SmokeAction, processes=processes, help=f"{SMOKE_HELP}: {what}")


class _Spare:
    """A fork of the benchmark's process made while it runs no thread but its main one (a fork copies the locks the
    others hold), waiting on a pipe for the one command it will run (:func:`start_python`): ``python -m MODULE ...``
    or ``python -c CODE ...`` as a new interpreter would run it, without spending the seconds of CPU a new interpreter
    spends importing renkei before it serves (the process this one is forked from has them imported: the smoke test
    forks the benchmark from such a process, tests/bench_preload.py). At the end of the benchmark's process (the
    pipe's end) an unused one exits."""

    waiting: list["_Spare"] = []

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid, self.pipe = pid, pipe

    @classmethod
    def make(cls, count: int) -> None:
        import threading

        if count == 0 or cls.waiting or threading.active_count() != 1:  # a thread running: new interpreters instead
            return
        for _ in range(count):
            read, write = os.pipe()
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os.close(write)
                _run_spare(read)
            os.close(read)
            cls.waiting.append(cls(pid, write))


def run_as_main(run: Callable[[], object]) -> int:
    """``run()`` as a Python command's main code runs: the exit code the command would end with (0; a SystemExit's
    code, its message printed to stderr and 1 when it is text; any other exception's traceback printed and 1). The
    one rule of the processes that run a benchmark's or a server's code forked, not started anew (the spares here,
    tests/bench_preload.py)."""
    import traceback

    try:
        run()
        return 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        print(done.code, file=sys.stderr)
        return 1
    except BaseException:  # noqa: BLE001  (the command's failure: its traceback, as Python prints it)
        traceback.print_exc()
        return 1


def exit_flushed(code: int) -> None:
    """The end of a forked child: what it printed flushed, then its exit with ``code`` at once (``os._exit``: the
    parent's atexit handlers and buffers, copied by the fork, are not the child's to run); never returns."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _run_spare(pipe: int) -> None:
    """In the spare: the command it is given, then its exit with the command's code; never returns."""
    import json
    import runpy

    code = 1
    try:
        with os.fdopen(pipe, "rb") as commands:
            line = commands.readline()
        if not line:  # the benchmark ended without it
            os._exit(0)
        request = json.loads(line)
        args, cwd, env = request["args"], request["cwd"], request["env"]
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        if request["devnull"]:
            target = os.open(os.devnull, os.O_WRONLY)
            os.dup2(target, 1)
            os.close(target)
        # as a new interpreter's path begins: the script's place (the working directory for -m and -c), PYTHONPATH
        sys.path[:0] = [cwd, *[part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part]]

        def command() -> None:
            if args[0] == "-m":
                sys.argv = [args[1], *args[2:]]
                runpy.run_module(args[1], run_name="__main__", alter_sys=True)
            elif args[0] == "-c":
                sys.argv = ["-c", *args[2:]]
                exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
            else:
                sys.argv = list(args)
                runpy.run_path(args[0], run_name="__main__")

        code = run_as_main(command)
    finally:
        exit_flushed(code)


class Forked:
    """A command run in a :class:`_Spare`, as :class:`subprocess.Popen` is used by the benchmarks (a child of this
    process: its pid, ``poll``, ``wait``, ``send_signal``, ``terminate``, ``kill``, ``returncode``)."""

    def __init__(self, pid: int, args: list[str]) -> None:
        self.pid, self.args, self.returncode = pid, args, None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        import subprocess
        import time

        if timeout is None:
            if self.returncode is None:
                self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
            return self.returncode
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.01)  # polling the child's exit, with a deadline
        return self.returncode

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, number)

    def terminate(self) -> None:
        import signal

        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        import signal

        self.send_signal(signal.SIGKILL)


def start_python(args: list[str], *, env: dict[str, str], cwd: str, devnull: bool = True):
    """``python ARGS`` (``-m MODULE ...``, ``-c CODE ...``) started in ``cwd`` with ``env`` (its stdout into /dev/null
    when ``devnull``): a new interpreter (:class:`subprocess.Popen`); in the smoke form, one of the spares forked when
    ``--smoke`` was parsed while there is one (:class:`_Spare`, :class:`Forked`), as the same command."""
    import json
    import subprocess

    if not (SMOKE and _Spare.waiting):
        return subprocess.Popen([sys.executable, *args], cwd=cwd, env=env,
                                stdout=subprocess.DEVNULL if devnull else None)
    spare = _Spare.waiting.pop(0)
    with os.fdopen(spare.pipe, "wb") as pipe:
        pipe.write((json.dumps({"args": args, "cwd": str(cwd), "env": env, "devnull": devnull}) + "\n").encode())
    return Forked(spare.pid, [sys.executable, *args])


def warm_up_calls(count: int, most: int = 200) -> int:
    """How many untimed calls warm a side up before ``count`` timed ones: up to ``most``; none in the smoke form,
    whose figures are printed but never judged (it proves the path runs, and the timed calls run it)."""
    return 0 if SMOKE else min(most, count)


SMOKE_CALLS = 20  # a latency benchmark's calls per side in its smoke form


def reused_in_smoke(app):
    """The app that loaded a benchmark's data, to be timed again in the smoke form only (an app's start is seconds of
    CPU); None in the full run, whose caller times a fresh app, started as a server starts one."""
    return app if SMOKE else None


def latency_arguments(doc: str, *, requests: int, quick: int, prefix: str) -> tuple[argparse.Namespace, int, str]:
    """The options of a latency benchmark of in-process calls (``--requests``, ``--rounds``, ``--quick``,
    ``--smoke``, ``--database-url``), parsed: (the arguments, the calls per side and round, the database's URL: the
    given one, else a fresh SQLite file in a new folder named ``prefix``... under $TMPDIR)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--requests", type=int, default=requests, help="calls per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help=f"{quick:,} calls")
    add_smoke_option(parser, f"{SMOKE_CALLS} calls, one round")
    add_database_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 1
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix=prefix)}/bench.db"
    return args, SMOKE_CALLS if args.smoke else quick if args.quick else args.requests, url


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..1) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * p) - 1))]


def alternate(sides: dict[str, Callable[[int], float]], rounds: int) -> dict[str, list[float]]:
    """Run each side once per round, in turn (A B A B ...); each call gets the round number and
    returns its sample. Returns the samples of each side in round order."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for number in range(rounds):
        for name, side in sides.items():
            samples[name].append(side(number))
    return samples


def report(name: str, value: float, limit: float | None, target: Target | str | None, unit: str,
           higher_is_better: bool = True, *, width: int = 44, value_width: int = 11) -> bool | None:
    """Print one figure beside its limit (same run), their ratio and the project's target.

    ``target``: a :class:`Target`, a key of ``TARGETS``, or None when issue #12 sets none.
    ``width``/``value_width``: the columns of the name and of the figures (a line that carries its
    own name before this one's gives a short ``name`` and ``width``).
    Returns whether the target is met (None without a target)."""
    if isinstance(target, str):
        target = TARGETS[target]
    line = f"{name:<{width}} {value:>{value_width},.2f} {unit}"
    ratio = None
    if limit is not None:
        ratio = value / limit if limit else math.inf
        line += f" | limit (same run) {limit:>{value_width},.2f} {unit} | ratio {ratio:5.2f}"
    met = None
    if target is None:
        line += " | no project target"
    else:
        measured = value if target.absolute else ratio
        if measured is None:
            raise ValueError(f"{name}: a ratio target needs the limit")
        if target.higher_is_better:
            met = measured >= target.ratio
        else:
            met = measured < target.ratio if target.absolute else measured <= target.ratio
        line += f" | project target {target.text}: {'met' if met else 'NOT met'}"
    print(line, flush=True)
    return met


def noisy_machine_note() -> str:
    return (f"(shared machine with {os.cpu_count()} cores: figures are noisy; the two sides alternate "
            "so that noise slows both alike; medians reported)")


def reset_schema(db) -> None:
    """A fresh schema for a benchmark's data set: on PostgreSQL the public schema is dropped and made
    again (partitions and guards included); then every table is created (``db``: Flask-SQLAlchemy)."""
    import sqlalchemy as sa

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    db.create_all()

def kumamoto_with_plans(db, actor, *, usage: bool = False) -> None:
    """A fresh schema (:func:`reset_schema`) holding Kumamoto's tenants and the default quota plans,
    and with ``usage`` one batch of 熊本市's API calls, committed: where the quota, gateway and ingest
    benchmarks start."""
    import datetime as dt

    from tenancy.registry.sample import load_kumamoto
    from usage import metering, quota_plans

    reset_schema(db)
    load_kumamoto(db.session, actor)
    quota_plans.load_default_plans(db.session, actor)
    if usage:
        metering.ingest(db.session, actor, [{"tenant": "431001", "metric": "api_calls", "quantity": 12345,
                                             "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(),
                                             "event_id": "bench-1"}])
    db.session.commit()


def schema_engine(url: str, schema: str, tables: list | None):
    """An engine whose connections work in PostgreSQL schema ``schema``, made anew (dropped if it was
    there) with ``tables`` (None: every table) in it: a benchmark's own tables, apart from anything else in the database."""
    import sqlalchemy as sa

    from core.db import metadata

    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    metadata.create_all(engine, tables=tables)
    return engine


def print_latency_medians(samples: dict[str, list[tuple[float, float, float]]]) -> dict[str, tuple[float, float, float]]:
    """The medians over the rounds of each side's (p50 ms, p99 ms, calls/s) from
    :func:`bench.inprocess.latency`, printed one line a side; returned by name."""
    medians = {}
    for name, runs in samples.items():
        medians[name] = tuple(median(run[i] for run in runs) for i in range(3))
        p50, p99, rate = medians[name]
        print(f"{name:<32} p50 {p50:6.3f} ms  p99 {p99:6.3f} ms  {rate:8,.0f} calls/s "
              f"(rounds {', '.join(f'{run[2]:,.0f}' for run in runs)})")
    return medians



def synthetic_codes(count: int, taken: set[str]) -> list[str]:
    """``count`` valid municipality codes (check digit right, never a prefecture's) not in ``taken``,
    the same ones for the same ``taken`` in every run; each is added to ``taken``."""
    from core.codes import with_check_digit

    rng = random.Random(1741)
    codes: list[str] = []
    while len(codes) < count:
        base = f"{rng.randrange(1, 48):02d}{rng.randrange(100, 999):03d}"  # never a prefecture (xx000)
        code = with_check_digit(base)
        if code not in taken:
            taken.add(code)
            codes.append(code)
    return sorted(codes)


def schema_key() -> str:
    """A short digest of the schema the models declare (tables, columns, indexes): a cached data set is
    reused only by code with the same schema."""
    import hashlib

    from admin import _import_models
    from core.db import metadata

    _import_models()
    parts = []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        parts.append(table.name + ":" + ",".join(f"{c.name} {c.type}" for c in table.columns) + ":" +
                     ",".join(sorted(f"{i.name}({','.join(c.name for c in i.columns)})" for i in table.indexes)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]


def keycloak_app(server, database_url: str | None, realm_prefix: str):
    """A realm of its own on the running Keycloak ``server`` (bootstrapped as renkei does) and an
    app that uses it, on ``database_url`` or a SQLite file in a new temporary folder: ``(app, realm,
    master)``, master being the admin client that deletes the realm at the end."""
    import tempfile
    import uuid
    from pathlib import Path

    from admin import create_app
    from tenancy.identity.keycloak import KeycloakSettings, bootstrap_realm, master_admin

    realm = f"{realm_prefix}-{uuid.uuid4().hex[:6]}"
    settings = KeycloakSettings(url=server.url, realm=realm, admin_client_secret="bench-admin-secret",
                                service_client_secret="bench-service-secret", metering_client_secret="bench-metering-secret")
    master = master_admin(server.url, server.admin_user, server.admin_password, "master")
    bootstrap_realm(master, settings)
    var = Path(tempfile.mkdtemp(prefix="renkei-bench-"))
    app = create_app({"RENKEI_ENV": "testing", "SECRET_KEY": "bench", "RENKEI_VAR_DIR": str(var),
                      "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{var / 'bench.db'}",
                      "RENKEI_KEYCLOAK_URL": server.url, "RENKEI_KEYCLOAK_REALM": realm,
                      "RENKEI_OIDC_CLIENT_SECRET": "bench-admin-secret", "RENKEI_SERVICE_CLIENT_SECRET": "bench-service-secret"})
    return app, realm, master
