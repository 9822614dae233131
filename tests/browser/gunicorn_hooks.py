"""gunicorn settings file of the browser tests' live server (``live_server`` in tests/browser/conftest.py).

The worker class, its threads and the request limits are given on the command line, as in production
(docs/deployment.md). The app's environment is the JSON file ``RENKEI_TEST_LIVE_SERVER_ENV`` names:
read again when the test process sends SIGHUP (a test's configuration), and gunicorn then starts a new
worker with it. The hooks add nothing to a request: they only tell the test process, through a pipe it
holds (``RENKEI_TEST_LIVE_SERVER_FD``), that a worker is serving (``R``) and when each request starts
(``+``) and ends (``-``), so that a test waits for the browser's last requests before its database is
reset. One byte per write: atomic on a pipe, whichever thread of whichever worker writes it.
"""

import json
import os

_PIPE = int(os.environ["RENKEI_TEST_LIVE_SERVER_FD"])

try:  # Linux: gunicorn ends with the test process, even one killed before it could stop it
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass

with open(os.environ["RENKEI_TEST_LIVE_SERVER_ENV"], encoding="utf-8") as _file:
    raw_env = [f"{name}={value}" for name, value in json.load(_file).items()]


def on_starting(server):
    """renkei's modules imported once, in the master (not on a reload): a worker started again for
    another configuration then only builds its app (``admin:create_app()``), as every worker does."""
    from admin import create_app

    create_app()


def post_worker_init(worker):
    os.write(_PIPE, b"R")


def pre_request(worker, req):
    os.write(_PIPE, b"+")


def post_request(worker, req, environ, resp):
    os.write(_PIPE, b"-")
