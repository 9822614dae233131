"""A small HTTP server a test stops and starts: a registered component of the platform."""

from __future__ import annotations

import http.server

import pytest

from tests.background_server import serve_in_thread, stop


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the stdlib's name)
        body = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output clean
        pass


class Component:
    """A health endpoint on a fixed local port, stopped and started again by the test."""

    def __init__(self) -> None:
        self.server: http.server.ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/version"

    def start(self) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), _Health)
        self.port = self.server.server_address[1]
        serve_in_thread(self.server)

    def stop(self) -> None:
        if self.server is not None:
            stop(self.server)
            self.server = None


@pytest.fixture
def component_server():
    server = Component()
    yield server
    server.stop()
