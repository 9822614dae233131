"""A real renkei worker process for the gateway's kill test (tests/usage/test_gateway_call_log.py).

    python -c 'from tests.usage.gateway_worker import main; main()' PORT AZP TOKEN_FILE

``admin:create_app()`` configured only by the environment (the test's database, the call log's
folder), served by werkzeug (threaded) on PORT. No Keycloak: the consumer's tokens are checked
by renkei's own TokenValidator against a key made here (the token for API client AZP is written to
TOKEN_FILE), and the gateway's Basic credential is taken as a metering client's, as
bench/bench_gateway_check.py does (both through bench/local_token.py). Everything else (the check,
the count, the call log and its thread) is the production code; the folder is a process of its own
(``renkei gateway fold``), started by the test.

The test starts it (:func:`main`) forked from tests/renkei_processes.py's fork server, which has
imported renkei's modules once: a process of its own all the same, with its own environment, log
file and pid to kill.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Serve; ``argv`` (default: the command line's) is PORT AZP TOKEN_FILE."""
    from werkzeug.serving import run_simple

    from admin import create_app
    from bench.local_token import install_gateway_credential, install_validator

    port, azp, token_file = argv if argv is not None else sys.argv[1:]
    app = create_app()
    install_gateway_credential(app, "test-gateway", "test-secret")
    token = install_validator(app, kid="t")(azp, subject="test-client")
    with open(token_file + ".part", "w") as file:
        file.write(token)
    os.replace(token_file + ".part", token_file)
    run_simple("127.0.0.1", int(port), app, threaded=True)
