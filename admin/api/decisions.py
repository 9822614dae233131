"""A gateway decision as the gateway reads it, and the process's quota cache the decisions are read from: what the
gateway's check (admin/api/gateway.py), an API client's check (admin/api/clients.py) and the quota check
(admin/api/usage.py) share.

:data:`STATUS` (a reason's HTTP status) is the one home of that mapping.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Literal

from flask import Response, current_app
from pydantic import BaseModel, Field

from admin.extensions import db
from admin.problems import problem_response
from core.calendar import add_months, current_month, month_start_utc
from core.db import utcnow
from tenancy.identity import client_access
from usage import quotas

DEFAULT_CACHE_SECONDS = 5.0


def cache_seconds() -> float:
    value = current_app.config.get("RENKEI_QUOTA_CACHE_SECONDS") or os.environ.get("RENKEI_QUOTA_CACHE_SECONDS")
    return float(value) if value else DEFAULT_CACHE_SECONDS


def quota_cache() -> quotas.QuotaCache:
    app = current_app._get_current_object()
    cache = app.extensions.get("renkei_quota_cache")
    if cache is None:
        cache = app.extensions["renkei_quota_cache"] = quotas.quota_cache(db.engine, cache_seconds())
    return cache


class QuotaDecisionOut(BaseModel):
    tenant: str
    metric: str
    period: str = Field(description="Japan-time month, YYYY-MM")
    allowed: bool
    reason: Literal["no_limit", "within_limit", "over_soft_limit", "hard_limit_reached", "tenant_not_active"]
    used: int
    limit: int | None
    remaining: int | None
    enforcement: Literal["soft", "hard"] | None
    as_of: str = Field(description="When the figures were read from the database")
    max_staleness_seconds: float


# A refusal's HTTP status, by reason: the consumer's credential is no good (401: get a new token or a
# new client), the call is not allowed (403), or the tenant's quota is used up (429).
STATUS: dict[str, int] = {
    "allowed": 200,
    "token_invalid": 401, "client_revoked": 401, "client_disabled": 401, "client_expired": 401, "secret_rotated": 401,
    "client_missing": 401, "client_pending": 401,  # deleted in Keycloak; waiting for the operator's approval
    "not_an_api_client": 403, "address_not_allowed": 403, "scope_missing": 403, "route_not_known": 403,
    "tenant_not_active": 403,
    "hard_limit_reached": 429,
}
assert set(STATUS) == set(client_access.REASONS)


def status_of(reason: str) -> int:
    return STATUS.get(reason, 503)


def retry_after(now: dt.datetime | None = None) -> int:
    """Seconds until the next Japan-time month begins (when a used-up api_calls quota starts again)."""
    now = now or utcnow()
    return max(1, int((month_start_utc(add_months(current_month(now), 1)) - now).total_seconds()) + 1)


def decision_headers(decision: client_access.GatewayDecision, scope: str | None = None) -> dict[str, str]:
    headers = {"X-Renkei-Reason": decision.reason, "X-Renkei-Tenant": decision.tenant or "",
               "X-Renkei-Client": "" if decision.client is None else str(decision.client)}
    if scope:
        headers["X-Renkei-Scope"] = scope
    if decision.reason == "hard_limit_reached":
        headers["Retry-After"] = str(retry_after())
    if decision.quota is not None and decision.quota.remaining is not None:
        headers["X-Quota-Remaining"] = str(decision.quota.remaining)
    return headers


def answer(body: dict, reason: str, headers: dict[str, str]) -> Response:
    """The decision as the gateway reads it: the status, the headers, and the body (problem+json when refused)."""
    status = status_of(reason)
    if status == 200:
        response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=200,
                                              mimetype="application/json")
    else:
        response = problem_response(status, body["message_en"], body["message_ja"], **body)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="renkei", error="invalid_token"'
    response.headers.update(headers)
    return response
