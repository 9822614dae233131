"""The security headers of every response, set in one place (an after-request of the app).

* ``Content-Security-Policy`` (:func:`policy`): scripts only from this site's own files (``'self'``;
  no inline script, no ``on*`` attribute, no ``javascript:`` URL run), plus a per-request nonce that
  Flask-Admin's templates put on their own ``<script>`` tags (``csp_nonce_generator``); renkei's own
  templates carry no inline script (their scripts are in ``admin/static/renkei/``). Styles allow
  ``'unsafe-inline'``: the pages carry ``<style>`` blocks (the contrast and reflow rules of the
  layout, the status page, the portal, the charts) and ``style`` attributes in about thirty templates
  and in Flask-Admin's own; inline style runs no script, and moving them all is work for another
  day. Images from the site and ``data:`` (Bootstrap's icons are ``data:image/svg+xml``). Forms post
  to the site, and to the identity server's public address (a sign-in or sign-out may pass through
  it after a form). Nothing may frame a page (``frame-ancestors 'none'``).
* ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, ``X-Frame-Options: DENY``
  (for browsers older than ``frame-ancestors``).
* ``Strict-Transport-Security`` only when the request came over TLS: ``request.is_secure``, which
  behind a proxy is true only when a proxy of ``RENKEI_TRUSTED_PROXIES`` said so
  (``X-Forwarded-Proto``; see :mod:`admin.proxies`).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request

HSTS = "max-age=31536000; includeSubDomains"

# Flask-Admin's list pages write two inline scripts of their own: ``onclick="return false;"`` on each
# "Add filter" item and ``href="javascript:void(0)"`` on the filter menu's items and the current tab.
# Under the policy a browser refuses both (and reports each); the filter items work by the handler
# bs4_filters.js binds, so the page is served without them and renkei/page.js keeps the links from
# jumping to the top of the page.
_FLASK_ADMIN_INLINE = ((b' onclick="return false;"', b""), (b'href="javascript:void(0)"', b'href="#"'))


def without_inline_script(body: bytes) -> bytes:
    """An HTML page without Flask-Admin's own inline handlers (see :data:`_FLASK_ADMIN_INLINE`)."""
    for inline, replacement in _FLASK_ADMIN_INLINE:
        body = body.replace(inline, replacement)
    return body


def nonce() -> str:
    """This request's script nonce (made on first use; the policy names it only if it was used)."""
    value = g.get("csp_nonce")
    if value is None:
        value = g.csp_nonce = secrets.token_urlsafe(18)
    return value


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def policy(script_nonce: str | None = None) -> str:
    """The Content-Security-Policy of a response."""
    config = current_app.config
    identity = sorted({origin for origin in (_origin(config.get("RENKEI_KEYCLOAK_PUBLIC_URL")),
                                             _origin(config.get("RENKEI_KEYCLOAK_URL"))) if origin})
    script = "script-src 'self'" + (f" 'nonce-{script_nonce}'" if script_nonce else "")
    return "; ".join([
        "default-src 'self'",
        script,
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        " ".join(["form-action 'self'", *identity]),
    ])


def _secure(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy(g.get("csp_nonce")))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_secure)
    app.add_template_global(nonce, "csp_nonce")
