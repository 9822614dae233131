"""gunicorn settings file of the browser tests' live server (``live_server`` in tests/browser/conftest.py).

The worker class, its threads and the request limits are given on the command line, as in production
(docs/deployment.md); these hooks add nothing to a request. They only tell the test process, through a
pipe it holds (``RENKEI_TEST_LIVE_SERVER_FD``), that the worker is serving (``R``) and when each request
starts (``+``) and ends (``-``), so that a test waits for the browser's last requests before its database
is reset. One byte per write: atomic on a pipe, whichever thread of whichever worker writes it.
"""

import os

_PIPE = int(os.environ["RENKEI_TEST_LIVE_SERVER_FD"])


def post_worker_init(worker):
    os.write(_PIPE, b"R")


def pre_request(worker, req):
    os.write(_PIPE, b"+")


def post_request(worker, req, environ, resp):
    os.write(_PIPE, b"-")
