"""renkei processes for the tests that run it as an operator or systemd would (a ``renkei`` command, a
server process to kill), forked from a fork server that has imported renkei's modules once
(tests/renkei_preload.py) rather than each started as a fresh interpreter: the imports cost ~3.5 s of
CPU a process, most of what such a process costs in a test.

Each child is still a process of its own: its environment is the one given (set before it builds its
app or reads a setting), its standard output and error go where the test says, it ends with its own
exit status and is signalled by its own pid. :class:`Child` offers the few ``subprocess.Popen``
methods these tests use. ``python -m``-style modules that read settings at import would see the test
session's environment; none of renkei's does (its settings are read when the app is built).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRELOAD = "tests.renkei_preload"


@contextlib.contextmanager
def fork_server() -> Iterator[None]:
    """The fork server for the processes started inside (a module-scoped fixture's): it imports
    tests/renkei_preload.py once, and is stopped at the end."""
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([PRELOAD])
    with contextlib.chdir(ROOT):  # it imports tests.* and renkei's packages from here, as `python -c` in ROOT did
        forkserver.ensure_running()
    try:
        yield
    finally:
        # its children have ended; the server itself needs no clean exit (which takes seconds over its heap)
        with contextlib.suppress(ProcessLookupError, TypeError):
            os.kill(forkserver._forkserver._forkserver_pid, signal.SIGTERM)
        forkserver._forkserver._stop()
        context.set_forkserver_preload([])


class Child:
    """A process forked by the fork server, with the few ``subprocess.Popen`` methods the tests use."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process
        self.pid = process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(f"renkei process {self.pid}", timeout)
        return self._process.exitcode

    def terminate(self) -> None:
        self._process.terminate()

    def kill(self) -> None:
        self._process.kill()


def start(target: str, argv: list[str], env: dict[str, str], output: str | Connection) -> Child:
    """``target`` (``"module:function"``, called with ``argv``) in a new process whose environment is
    ``env`` and whose standard output and error go to ``output``: a file's path (appended to), or the
    writing end of a ``multiprocessing.Pipe(duplex=False)`` (closed here once the child has it)."""
    process = multiprocessing.get_context("forkserver").Process(
        target=_run, args=(target, argv, env, output), name=f"renkei {' '.join(argv[:2])}")
    process.start()
    if isinstance(output, Connection):
        output.close()  # the child's copy is the only writer left: the reader sees the end when it ends
    return Child(process)


def renkei(argv: list[str]) -> None:
    """The ``renkei`` command (admin/cli.py) with ``argv``, as the console script runs it."""
    from admin.cli import main

    main(argv, prog_name="renkei")


def _run(target: str, argv: list[str], env: dict[str, str], output: str | Connection) -> None:
    os.environ.clear()
    os.environ.update(env)
    if isinstance(output, Connection):
        fd = os.dup(output.fileno())
        output.close()
    else:
        fd = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    # the standard streams a fresh interpreter with ``env`` would have (the server's were set by its own start):
    # written through with PYTHONUNBUFFERED, else block-buffered output and line-buffered errors
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))
    sys.stdout = io.TextIOWrapper(open(1, "wb", buffering=0 if unbuffered else -1, closefd=False),
                                  encoding=sys.stdout.encoding, errors=sys.stdout.errors, write_through=unbuffered)
    sys.stderr = io.TextIOWrapper(open(2, "wb", buffering=0 if unbuffered else -1, closefd=False),
                                  encoding=sys.stderr.encoding, errors="backslashreplace", line_buffering=True,
                                  write_through=unbuffered)
    module, function = target.split(":")
    getattr(importlib.import_module(module), function)(argv)
