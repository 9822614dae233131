"""The API's hottest reads served in front of Flask (issue #12): ``GET /api/v1/tenants/<code>``,
a page of ``GET /api/v1/tenants`` and the gateway's quota check ``GET /api/v1/tenants/<code>/quota-check``.

An API gateway asks these far more often than anything else is asked. When every part of the
answer is already in this process's memory, this WSGI layer answers without Flask's request
machinery (request and application contexts, URL matching, hooks, the response object):

* the bearer token verified before and unexpired, no admin-events poll due, the deny list's copy
  fresh and not naming the person, no IP allowlist claim (:func:`admin.auth.memory_actor`);
* the read authorised by the same operation (:func:`tenancy.registry.operations.read_tenant`
  with no connection: the one policy, then the tenant bodies' memory only);
* the body or the page in that memory (:mod:`tenancy.registry.readcache`, at most
  ``RENKEI_TENANT_CACHE_SECONDS`` old; a list query of ``page`` and ``per_page`` only, within
  the bounds of the API's own query model);
* for the quota check, a plain query (``metric`` a metric's name, ``quantity`` 1 to 10^9) and
  the decision made by :func:`tenancy.usage.quotas.check_quota` from the quota cache's memory
  (an entry within ``RENKEI_QUOTA_CACHE_SECONDS``; the same authorization first).

The answer is the one Flask gives, byte for byte (status, headers, body), and the request is
logged the same way (:mod:`admin.request_log`). Anything else (no token, a token not seen yet, a
refusal, a code not in memory, a query string, any error) goes to Flask unchanged, which decides
and answers every refusal. ``RENKEI_HOT_PATH`` = 0 turns this layer off.
"""

from __future__ import annotations

import collections
import logging
import re
import time
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl

from admin import request_log
from admin.auth import memory_actor, request_id

log = logging.getLogger(__name__)

# The reads answered here, by the endpoint of the router's rule (admin/api): the query parameters
# this layer's memory can answer (any other parameter, or a parameter given twice, is Flask's).
# endpoint -> (those parameters, the method of HotPath that reads it from memory)
HOT_ENDPOINTS = {
    "api_tenants.get_tenant": (frozenset(), "_tenant"),
    "api_tenants.list_tenants": (frozenset({"page", "per_page"}), "_page"),
    "api_usage.quota_check": (frozenset({"metric", "quantity"}), "_quota"),
}
_PARAMETER = re.compile(r"<(?:string:)?(\w+)>")
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9_=&.-]*")  # nothing percent-encoded: read as werkzeug reads it


def rule_pattern(rule: str) -> re.Pattern:
    """The router's own rule (``/api/v1/tenants/<code>``) as a regular expression matching what it
    matches: literal text, and a segment for each parameter of werkzeug's default converter. A rule
    with any other converter is refused, so that this layer can never read a path otherwise."""
    pieces = re.split(r"(<[^>]*>)", rule)
    pattern = []
    for piece in pieces:
        if piece.startswith("<"):
            parameter = _PARAMETER.fullmatch(piece)
            if parameter is None:
                raise ValueError(f"the hot path reads only default (string) parameters, not {piece} in {rule}")
            pattern.append(f"(?P<{parameter[1]}>[^/]+)")
        else:
            pattern.append(re.escape(piece))
    return re.compile("".join(pattern))


def read_query(query: str, known: frozenset[str]) -> dict[str, str] | None:
    """The query string as flask-openapi3 hands it to the query model (each name's first value,
    blank values kept), or ``None`` when this layer cannot be sure of reading it the same way:
    percent-encoding, a name given twice, a name outside ``known``."""
    if not query:
        return {}
    if _PLAIN_QUERY.fullmatch(query) is None:
        return None
    pairs = parse_qsl(query, keep_blank_values=True)
    asked = dict(pairs)
    if len(asked) != len(pairs) or not asked.keys() <= known:
        return None
    return asked


class HotPath:
    def __init__(self, app: Any, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.fell_through: collections.Counter[str] = collections.Counter()  # why a hot read went to Flask
        rules = {rule.endpoint: rule for rule in app.url_map.iter_rules() if rule.endpoint in HOT_ENDPOINTS}
        missing = set(HOT_ENDPOINTS) - set(rules)
        if missing:
            raise RuntimeError(f"the hot path's endpoints are not routed: {sorted(missing)}")
        # each GET rule as its own pattern (a parameter never spans a "/", so no two of them match one path)
        self.routes = []
        for endpoint, rule in rules.items():
            known, reader = HOT_ENDPOINTS[endpoint]
            if "GET" in (rule.methods or ()):
                self.routes.append((rule_pattern(rule.rule), known, getattr(self, reader)))

    def _fall_through(self, reason: str, environ: dict[str, Any]) -> None:
        self.fell_through[reason] += 1
        log.debug("hot path: %s %s goes to Flask (%s)", environ.get("PATH_INFO"), environ.get("QUERY_STRING"), reason)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET":
            path = environ.get("PATH_INFO", "")
            for pattern, known, reader in self.routes:
                if (match := pattern.fullmatch(path)) is None:
                    continue
                asked = read_query(environ.get("QUERY_STRING", ""), known)
                if asked is None:
                    self._fall_through("query", environ)
                    break
                answer = self._answer(environ, match.groupdict(), asked, reader, start_response)
                if answer is not None:
                    return answer
                break
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ: dict[str, Any], path: dict[str, str], asked: dict[str, str], read: Callable,
                start_response: Callable) -> list[bytes] | None:
        """``read(actor, path, query)`` → (body, extra headers), or None: then Flask answers."""
        started = time.perf_counter()
        app = self.app
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        try:
            actor = memory_actor(app, environ.get("HTTP_AUTHORIZATION", ""), environ.get("REMOTE_ADDR"), rid)
            if actor is None:
                self._fall_through("actor", environ)
                return None
            answer = read(actor, path, asked)
        except Exception as error:  # noqa: BLE001 - a refusal or anything unexpected: Flask decides and answers
            self._fall_through(type(error).__name__, environ)
            return None
        if answer is None:
            self._fall_through("not in memory", environ)
            return None
        code, data, extra = answer
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                                  *extra, ("X-Request-ID", rid)])
        where = request_log.destination(app.config)
        if where is not None:
            request_log.log(where, request_log.entry(rid, actor, request_log.tenant_of(code, actor), "GET",
                                                     environ.get("PATH_INFO", ""), 200, started))
        return [data]

    def _tenant(self, actor: Any, path: dict[str, str], _query: dict[str, str]) -> tuple | None:
        from admin.api.tenants import TenantPath
        from tenancy.registry import operations

        cache = self.app.extensions.get("renkei_tenant_bodies")
        if not cache:  # not made yet (Flask makes it on the first read) or turned off
            return None
        code = TenantPath(**path).code  # the route's own path model (a refusal goes to Flask, which answers it)
        body = operations.read_tenant(None, actor, code, as_json=True, cache=cache)
        return None if body is None else (code, body + b"\n", [])

    def _page(self, actor: Any, _path: dict[str, str], query: dict[str, str]) -> tuple | None:
        from admin.api.tenants import TenantQuery, page_text
        from tenancy.registry import operations

        cache = self.app.extensions.get("renkei_tenant_bodies")
        if not cache:
            return None
        asked = TenantQuery(**query)  # the route's own query model: its bounds (a refusal goes to Flask)
        kept = operations.read_tenants_json(None, actor, page=asked.page, per_page=asked.per_page, cache=cache)
        return None if kept is None else (None, page_text(kept, asked.page, asked.per_page), [])

    def _quota(self, actor: Any, path: dict[str, str], query: dict[str, str]) -> tuple | None:
        from admin.api.tenants import TenantPath
        from admin.api.usage import QuotaCheckQuery, quota_answer
        from tenancy.usage import quotas

        cache = self.app.extensions.get("renkei_quota_cache")
        if cache is None:
            return None
        code = TenantPath(**path).code
        asked = QuotaCheckQuery(**query)  # the route's own query model: defaults and bounds
        decision = quotas.check_quota(None, actor, cache, code, asked.metric, asked.quantity)
        if decision is None:
            return None
        body, extra = quota_answer(self.app, decision)
        return code, body, extra


def install(app: Any) -> None:
    """Put the hot path in front of the app's WSGI callable (unless ``RENKEI_HOT_PATH`` is off)."""
    if str(app.config.get("RENKEI_HOT_PATH", "1")).lower() not in {"0", "false", "off", "no"}:
        app.wsgi_app = HotPath(app, app.wsgi_app)
