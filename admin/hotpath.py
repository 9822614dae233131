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

import re
import time
from typing import Any, Callable, Iterable

from admin import request_log
from admin.auth import memory_actor, request_id

_TENANT = re.compile(r"/api/v1/tenants/([0-9]{6})")
_LIST_QUERY = re.compile(r"(?:page|per_page)=[0-9]{1,7}(?:&(?:page|per_page)=[0-9]{1,7})?")
_QUOTA = re.compile(r"/api/v1/tenants/([0-9]{6})/quota-check")
_QUOTA_QUERY = re.compile(r"(?:metric=([a-z_]{1,32}))?(?:&?quantity=([1-9][0-9]{0,9}))?")


class HotPath:
    def __init__(self, app: Any, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET":
            path, query = environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
            answer = None
            if not query and (match := _TENANT.fullmatch(path)) is not None:
                answer = self._answer(environ, match[1], self._tenant, start_response)
            elif path == "/api/v1/tenants" and (not query or _LIST_QUERY.fullmatch(query)):
                answer = self._answer(environ, None, lambda actor, _: self._page(actor, query), start_response)
            elif (match := _QUOTA.fullmatch(path)) is not None and (asked := _QUOTA_QUERY.fullmatch(query)):
                answer = self._answer(environ, match[1], lambda actor, code: self._quota(actor, code, *asked.groups()),
                                      start_response)
            if answer is not None:
                return answer
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ: dict[str, Any], code: str | None, read: Callable,
                start_response: Callable) -> list[bytes] | None:
        """``read(actor, code)`` → (body, extra headers), or None: then Flask answers."""
        started = time.perf_counter()
        app = self.app
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        try:
            actor = memory_actor(app, environ.get("HTTP_AUTHORIZATION", ""), environ.get("REMOTE_ADDR"), rid)
            answer = None if actor is None else read(actor, code)
        except Exception:  # noqa: BLE001 - a refusal or anything unexpected: Flask decides and answers
            return None
        if answer is None:
            return None
        data, extra = answer
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                                  *extra, ("X-Request-ID", rid)])
        where = request_log.destination(app.config)
        if where is not None:
            request_log.log(where, request_log.entry(rid, actor, request_log.tenant_of(code, actor), "GET",
                                                     environ.get("PATH_INFO", ""), 200, started))
        return [data]

    def _tenant(self, actor: Any, code: str) -> tuple[bytes, list] | None:
        cache = self.app.extensions.get("renkei_tenant_bodies")
        if not cache:  # not made yet (Flask makes it on the first read) or turned off
            return None
        from tenancy.registry import operations

        body = operations.read_tenant(None, actor, code, as_json=True, cache=cache)
        return None if body is None else (body + b"\n", [])

    def _page(self, actor: Any, query: str) -> tuple[bytes, list] | None:
        from admin.api.tenants import TenantQuery, page_text
        from tenancy.registry import operations

        cache = self.app.extensions.get("renkei_tenant_bodies")
        pairs = [pair.split("=") for pair in query.split("&")] if query else []
        asked = {name: int(value) for name, value in pairs}
        if not cache or len(asked) != len(pairs):  # a parameter given twice: Flask decides
            return None
        asked = TenantQuery(**asked)  # its bounds (a refusal goes to Flask, which answers it)
        kept = operations.read_tenants_json(None, actor, page=asked.page, per_page=asked.per_page, cache=cache)
        return None if kept is None else (page_text(kept, asked.page, asked.per_page), [])

    def _quota(self, actor: Any, code: str, metric: str | None, quantity: str | None) -> tuple[bytes, list] | None:
        from admin.api.usage import QuotaCheckQuery
        from tenancy.usage import quotas

        cache = self.app.extensions.get("renkei_quota_cache")
        if cache is None or self.app.debug or self.app.json.compact is False:
            return None
        given = {name: value for name, value in (("metric", metric), ("quantity", quantity and int(quantity)))
                 if value is not None}
        asked = QuotaCheckQuery(**given)  # its defaults and bounds (a refusal goes to Flask, which answers it)
        decision = quotas.check_quota(None, actor, cache, code, asked.metric, asked.quantity)
        if decision is None:
            return None
        body = self.app.json.dumps(decision.summary(), separators=(",", ":")) + "\n"  # as jsonify writes it
        extra = [] if decision.remaining is None else [("X-Quota-Remaining", str(decision.remaining))]
        return body.encode(), extra


def install(app: Any) -> None:
    """Put the hot path in front of the app's WSGI callable (unless ``RENKEI_HOT_PATH`` is off)."""
    if str(app.config.get("RENKEI_HOT_PATH", "1")).lower() not in {"0", "false", "off", "no"}:
        app.wsgi_app = HotPath(app, app.wsgi_app)
