"""The benchmarks' smoke forms run from a process that has started the app once (tests/test_bench_smoke.py).

A benchmark is a command (``python bench/bench_X.py --smoke``): started as one, it spends its first seconds of CPU
importing renkei and building its first app (the models, the API's schemas, the URL map), the same for every
benchmark, before the code it measures. This process does that once, as gunicorn's ``--preload`` does, then forks a
child for each benchmark: the child runs the benchmark's file as ``__main__`` with its arguments, its environment
and its working directory, its output written to the files it is given, and exits with the benchmark's code (an
exception: its traceback and 1). Every child builds its own app, opens its own database and starts its own servers,
as the command would; what it finds already imported is only what any process of renkei imports.

Protocol (``python -m tests.bench_preload``): one JSON object a line on stdin, ``{"argv", "env", "cwd", "out",
"err"}``; on stdout, one line ``{"pid"}`` when the child is forked (its own process group, which the caller may
kill), then one ``{"code"}`` when it has exited. End of stdin ends the process.
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path

from bench.common import exit_flushed, run_as_main  # imported before any fork: a child only calls them


def preload() -> None:
    """Import renkei and build one app (on a throwaway SQLite file), then let go of its database: a child inherits
    no connection. Nothing is preloaded when building it left a thread running (a fork would copy a lock it holds)."""
    from admin import create_app
    from admin.extensions import db

    var = tempfile.mkdtemp(prefix="renkei-bench-preload-")
    app = create_app({"RENKEI_ENV": "testing", "SECRET_KEY": "preload", "RENKEI_VAR_DIR": var,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{var}/preload.db", "RENKEI_REQUEST_LOG": "off"},
                     check_data=False)
    with app.app_context():
        db.engine.dispose()
    if threading.active_count() != 1:
        raise RuntimeError(f"building the app left threads running: {threading.enumerate()}")


def child(request: dict) -> None:
    """In the forked child: the benchmark's file run as ``__main__``; never returns."""
    code = 1
    try:
        os.setpgid(0, 0)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, path in ((1, request["out"]), (2, request["err"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(target, fd)
            os.close(target)
        sys.stdin = open(os.devnull, encoding="utf-8")
        sys.argv = list(request["argv"])
        code = run_as_main(lambda: runpy.run_path(sys.argv[0], run_name="__main__"))
    except BaseException:  # noqa: BLE001  (a failure before the benchmark ran: its traceback, as Python prints it)
        traceback.print_exc()
        code = 1
    finally:
        exit_flushed(code)


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # whatever else writes to stdout goes to stderr, never into the protocol
    preload()
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            child(request)
        protocol.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        protocol.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")


# --- the test worker's side: the process started, a command sent to it ----------------------------------------

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 900  # a safety bound for a command that hangs, not a judgement of its time


class Preloaded:
    """The test worker's process that forks commands (this module run as ``python -m tests.bench_preload``), started
    on first use: the benchmarks' smoke forms (tests/test_bench_smoke.py) and the other tests that need a fresh
    process of renkei (tests/admin/test_chart_warm_up.py)."""

    process: subprocess.Popen | None = None
    lock = threading.Lock()

    @classmethod
    def run(cls, argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
        """``argv`` (a script and its arguments) run in a forked child: (its exit code, stdout, stderr)."""
        with cls.lock:
            if cls.process is None or cls.process.poll() is not None:
                cls.process = subprocess.Popen([sys.executable, "-m", "tests.bench_preload"], cwd=ROOT, env=env,
                                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                atexit.register(cls.close, cls.process)
            with tempfile.TemporaryDirectory(prefix="renkei-bench-smoke-") as folder:
                out, err = Path(folder) / "stdout", Path(folder) / "stderr"
                cls.process.stdin.write(json.dumps({"argv": argv, "env": env, "cwd": str(cwd), "out": str(out),
                                                    "err": str(err)}) + "\n")
                cls.process.stdin.flush()
                started = cls.process.stdout.readline()
                if not started:
                    raise RuntimeError(f"the preloading process ended (exit {cls.process.wait()}): see the test's stderr")
                pid = json.loads(started)["pid"]
                timer = threading.Timer(TIMEOUT, _kill_group, (pid,))
                timer.start()
                try:
                    code = json.loads(cls.process.stdout.readline())["code"]
                finally:
                    timer.cancel()
                return code, out.read_text(encoding="utf-8", errors="replace"), \
                    err.read_text(encoding="utf-8", errors="replace")

    @staticmethod
    def close(process: subprocess.Popen) -> None:
        """End of its input ends it (at the worker's exit)."""
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:  # it ended as the time ran out
        pass


if __name__ == "__main__":
    main()
