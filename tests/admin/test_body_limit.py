"""Bodies refused as they arrive (issue 26): a body over MAX_CONTENT_LENGTH (32 MiB) is refused with
413 the moment it passes the limit, the same on every route, through a real HTTP server on
loopback (Werkzeug's, in this process, so the bytes the application read can be counted): a 50 MB
chunked body gets its 413 after the server read just past 32 MiB, while the client is still
sending, never a cut-off body read as a 400; a declared Content-Length over the limit is refused
before any of it is read, also on a route that reads no body."""

from __future__ import annotations

import select
import socket

import pytest
from werkzeug.serving import make_server

from tests.background_server import served

MB = 1024 * 1024
LIMIT = 32 * MB
BODY = 50 * 1000 * 1000  # "a 50 MB body"
PIECE = 64 * 1024


class ReadCounter:
    """The app behind a counter of the body bytes it read from the server."""

    def __init__(self, inner) -> None:
        self.inner, self.read = inner, 0

    def __call__(self, environ, start_response):
        raw, counter = environ["wsgi.input"], self

        class Counted:
            def read(self, *args):
                data = raw.read(*args)
                counter.read += len(data)
                return data

            def readline(self, *args):
                data = raw.readline(*args)
                counter.read += len(data)
                return data

        environ["wsgi.input"] = Counted()
        return self.inner(environ, start_response)


@pytest.fixture
def server(app, monkeypatch):
    counter = ReadCounter(app.wsgi_app)
    monkeypatch.setattr(app, "wsgi_app", counter)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    with served(httpd):
        yield httpd.server_port, counter


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    sock.setblocking(True)
    sock.settimeout(60)
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        assert part, f"the connection closed before an answer: {data[:200]!r}"
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        part = sock.recv(65536)
        if not part:
            break
        body += part
    return int(lines[0].split()[1]), headers, body


def send_chunked(port: int, path: str, content_type: str, start: bytes) -> tuple[int, dict[str, str], bytes, int]:
    """POST a 50 MB chunked body, watching for the answer between pieces; returns the answer and
    the body bytes sent when it came."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, PIECE)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: renkei.test\r\nContent-Type: {content_type}\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n".encode())
    sock.setblocking(False)
    sent, pending = 0, b""
    try:
        while True:
            if not pending:
                if sent >= BODY:
                    pending = b"0\r\n\r\n"
                else:
                    payload = (start if sent == 0 else b"") + b"a" * (PIECE - (len(start) if sent == 0 else 0))
                    pending = b"%x\r\n%s\r\n" % (len(payload), payload)
                    sent += len(payload)
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 60)
            if readable:
                status, headers, body = read_response(sock)
                return status, headers, body, sent - len(pending) if pending else sent
            if not writable:
                raise AssertionError("the server neither read nor answered for 60 s")
            try:
                pending = pending[sock.send(pending):]
            except BlockingIOError:
                pass
    finally:
        sock.close()


def test_a_50_mb_chunked_json_body_is_refused_with_413_as_it_passes_the_limit(server, open_api):
    port, counter = server
    status, headers, body, sent = send_chunked(port, "/api/v1/tenants", "application/json", b'{"name_ja": "')
    assert status == 413, body[:300]
    assert headers["content-type"].startswith("application/problem+json")
    assert "大きすぎ" in body.decode()
    assert LIMIT < counter.read <= LIMIT + PIECE  # read just past the limit, not a byte of the rest
    assert sent < BODY  # refused while the client was still sending


def test_a_50_mb_chunked_form_is_refused_the_same_way_on_a_page(server, db):
    port, counter = server
    status, headers, body, sent = send_chunked(port, "/join/", "application/x-www-form-urlencoded", b"name=")
    assert status == 413, body[:300]
    assert headers["content-type"].startswith("text/html")
    page = body.decode()
    assert "ファイルが大きすぎます" in page and 'lang="ja"' in page  # the layout's page, in Japanese
    assert LIMIT < counter.read <= LIMIT + PIECE
    assert sent < BODY


@pytest.mark.parametrize("path", ["/api/v1/tenants", "/healthz", "/join/", "/admin/no-such-page"])
def test_a_declared_length_over_the_limit_is_refused_before_reading_on_every_route(server, db, path):
    port, counter = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: renkei.test\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {BODY}\r\n\r\n".encode())
        status, headers, body = read_response(sock)
    assert status == 413, body[:300]
    assert counter.read == 0
    expected = "application/problem+json" if path.startswith("/api/") else "text/html"
    assert headers["content-type"].startswith(expected)


def test_a_body_of_exactly_the_limit_is_read_whole(app, open_api):
    """The look-ahead at the limit refuses only a byte beyond it: a body of exactly 32 MiB reaches
    the route (which then refuses it as JSON, a 400 about the body, not a 413)."""
    body = b'"' + b"a" * (LIMIT - 2) + b'"'
    response = open_api.post("/api/v1/tenants", data=body, content_type="application/json")
    assert response.status_code != 413
    assert response.mimetype == "application/problem+json"
