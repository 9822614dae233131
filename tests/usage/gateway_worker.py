"""A real renkei worker process for the gateway's kill test (tests/usage/test_gateway_call_log.py).

    python -c 'from tests.usage.gateway_worker import main; main()' PORT AZP TOKEN_FILE

``admin:create_app()`` configured only by the environment (the test's database, the call log's
folder), served by werkzeug (threaded) on PORT. No Keycloak: the consumer's tokens are checked
by renkei's own TokenValidator against a key made here (the token for API client AZP is written to
TOKEN_FILE), and the gateway's Basic credential is taken as a metering client's, as
bench/bench_gateway_check.py does (both through bench/local_token.py). Everything else (the check,
the count, the call log and its thread) is the production code; the folder is a process of its own
(``renkei gateway fold``), started by the test.

The test starts its processes with :func:`run`, in a process forked from a fork server that has
imported renkei's modules once (tests/usage/renkei_preload.py), rather than a fresh interpreter each:
importing them cost ~3.5 s of CPU a process, four processes a run. Each child is still a process of
its own, with its own environment (set before it builds its app), log file and pid to kill.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3])


def serve(port: int, azp: str, token_file: str) -> None:
    from werkzeug.serving import run_simple

    from admin import create_app
    from bench.local_token import install_gateway_credential, install_validator

    app = create_app()
    install_gateway_credential(app, "test-gateway", "test-secret")
    token = install_validator(app, kid="t")(azp, subject="test-client")
    with open(token_file + ".part", "w") as file:
        file.write(token)
    os.replace(token_file + ".part", token_file)
    run_simple("127.0.0.1", port, app, threaded=True)


def run(argv: list[str], env: dict[str, str], log_path: str) -> None:
    """A fork server's child as ``python -c ... ARGV`` with ``env`` would be: ``["fold"]`` is
    ``renkei gateway fold``, ``["serve", PORT, AZP, TOKEN_FILE]`` the worker (:func:`main`); standard
    output and error go to ``log_path``."""
    os.environ.clear()
    os.environ.update(env)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    if argv[0] == "fold":
        from admin.cli import main as renkei

        renkei(["gateway", "fold"], prog_name="renkei")
    else:
        serve(int(argv[1]), argv[2], argv[3])
