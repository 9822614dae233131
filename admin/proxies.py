"""Forwarded headers believed only from the proxies listed by address (``RENKEI_TRUSTED_PROXIES``).

A caller's address decides whether an API client's token may be used (its IP allowlist) and is
written to the audit log and the request log. Behind a load balancer the connection's peer is the
load balancer, and the caller's address is in ``X-Forwarded-For``; but anyone can send that header.
So the header is read **only when the connection's peer address is in ``RENKEI_TRUSTED_PROXIES``**
(CIDRs; empty, the default: never). Then, walking ``X-Forwarded-For`` from the right (the entry the
nearest proxy added), listed proxies are skipped and the first address that is not a listed proxy
is the caller's. ``X-Forwarded-Proto``, ``-Host``, ``-Port`` and ``-Prefix`` are taken from the
nearest proxy's entry (the rightmost). From any other peer every ``X-Forwarded-*`` header is removed
before the app sees it, so nothing behind this layer can read a spoofed one.

werkzeug's ``ProxyFix`` trusts a number of hops, whoever the peer is, so it is not used. This layer
sits outermost, so every layer sees the same address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from core.validation import whole_number

_FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
              "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(value: str | Iterable[str]) -> tuple[Network, ...]:
    """The networks of ``RENKEI_TRUSTED_PROXIES`` (commas or spaces between CIDRs); ``ValueError``
    naming a bad entry."""
    entries = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"RENKEI_TRUSTED_PROXIES: {entry!r} is not an IPv4/IPv6 address or network (CIDR)") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:1234
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:1234
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    return ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped is not None else ip


def is_trusted(networks: tuple[Network, ...], address: str | None) -> bool:
    ip = _address(address or "")
    return ip is not None and any(ip.version == n.version and ip in n for n in networks)


def client_address(networks: tuple[Network, ...], peer: str | None, forwarded_for: str) -> str | None:
    """The caller's address: ``peer`` unless it is a listed proxy; then the rightmost entry of
    ``forwarded_for`` that is not a listed proxy (a malformed entry ends the walk: the last proxy's
    address stands, as the header cannot be believed past it)."""
    if not is_trusted(networks, peer):
        return peer
    address = peer
    for entry in reversed([e for e in forwarded_for.split(",") if e.strip()]):
        ip = _address(entry)
        if ip is None:
            break
        address = str(ip)
        if not is_trusted(networks, address):
            break
    return address


class TrustedProxies:
    """The WSGI layer described in the module's text."""

    def __init__(self, wsgi_app: Callable, networks: tuple[Network, ...]) -> None:
        self.wsgi_app = wsgi_app
        self.networks = networks

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        present = [name for name in _FORWARDED if name in environ]
        if not present:
            return self.wsgi_app(environ, start_response)
        peer = environ.get("REMOTE_ADDR")
        if not self.networks or not is_trusted(self.networks, peer):
            for name in present:
                del environ[name]
            return self.wsgi_app(environ, start_response)
        environ["renkei.proxy_peer"] = peer
        environ["REMOTE_ADDR"] = client_address(self.networks, peer, environ.get("HTTP_X_FORWARDED_FOR", ""))

        def nearest(name: str) -> str | None:
            values = [v.strip() for v in environ.get(name, "").split(",") if v.strip()]
            return values[-1] if values else None

        proto = nearest("HTTP_X_FORWARDED_PROTO")
        if proto in ("http", "https"):
            environ["wsgi.url_scheme"] = proto
        host = nearest("HTTP_X_FORWARDED_HOST")
        if host:
            environ["HTTP_HOST"] = host
            environ["SERVER_NAME"] = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        port = nearest("HTTP_X_FORWARDED_PORT")
        if port and whole_number(port, max_digits=5) is not None:
            environ["SERVER_PORT"] = port
            if host and ":" not in host.rsplit("]", 1)[-1]:
                environ["HTTP_HOST"] = f"{host}:{port}"
        prefix = nearest("HTTP_X_FORWARDED_PREFIX")
        if prefix:
            environ["SCRIPT_NAME"] = prefix.rstrip("/")
        return self.wsgi_app(environ, start_response)


def install(app: Any) -> None:
    """Put the layer outermost (always: without a listed proxy it removes every forwarded header)."""
    app.wsgi_app = TrustedProxies(app.wsgi_app, parse_trusted(app.config.get("RENKEI_TRUSTED_PROXIES", "")))
