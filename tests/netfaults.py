"""Real network faults for tests: a socket that accepts and never answers, and a proxy to a real
server that can swallow the answer to chosen requests (the server did the work; the client never
hears of it). No fake server: every request that is let through reaches the real one."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit


@contextlib.contextmanager
def black_hole() -> Iterator[str]:
    """``http://127.0.0.1:<port>``: a listening socket that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            held.append(connection)  # kept open, never read from nor written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        server.close()


def closed_port() -> str:
    """``http://127.0.0.1:<port>`` where nothing listens (the connection is refused)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}"


class SwallowingProxy:
    """A TCP proxy to ``upstream``; requests whose first line starts with one of :attr:`swallow`
    (e.g. ``"POST /admin/realms/x/users "``) are forwarded, and their answer is thrown away."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port or 80)
        self.swallow: list[str] = []
        self.swallowed: list[str] = []
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self._sockets: list[socket.socket] = [self._server]
        self._stop = threading.Event()
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            upstream = socket.create_connection(self.upstream)
            self._sockets += [client, upstream]
            muted = threading.Event()
            threading.Thread(target=self._forward, args=(client, upstream, muted, True), daemon=True).start()
            threading.Thread(target=self._forward, args=(upstream, client, muted, False), daemon=True).start()

    def _forward(self, source: socket.socket, target: socket.socket, muted: threading.Event, outgoing: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if outgoing:
                    line = data.split(b"\r\n", 1)[0].decode("latin-1")
                    if any(line.startswith(prefix) for prefix in self.swallow):
                        self.swallowed.append(line)
                        muted.set()  # this connection's answers from now on are lost
                elif muted.is_set():
                    continue
                target.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self._stop.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


class FreezableProxy:
    """A TCP proxy to ``upstream`` that can be frozen as a SIGSTOPped server is: while frozen it still
    accepts connections (the kernel's backlog does), but nothing sent on any connection, new or open,
    is passed on either way until :meth:`thaw`; then all of it is. Each request line held while
    frozen is recorded in :attr:`held` (so a test sees who called the frozen server, without timing)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port or 80)
        self.held: list[str] = []
        self._thawed = threading.Event()
        self._thawed.set()
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self._sockets: list[socket.socket] = [self._server]
        self._stop = threading.Event()
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self._thawed.clear()

    def thaw(self) -> None:
        self._thawed.set()

    def held_requests(self, fragment: str) -> list[str]:
        return [line for line in list(self.held) if fragment in line]

    def _accept(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            self._sockets.append(client)
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        self._sockets.append(upstream)
        threading.Thread(target=self._forward, args=(client, upstream, True), daemon=True).start()
        threading.Thread(target=self._forward, args=(upstream, client, False), daemon=True).start()

    def _forward(self, source: socket.socket, target: socket.socket, outgoing: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if not self._thawed.is_set():
                    if outgoing:
                        self.held.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
                    self._thawed.wait()
                if self._stop.is_set():
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stop.set()
        self._thawed.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
