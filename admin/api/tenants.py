"""/api/v1/tenants: the tenant registry."""

from __future__ import annotations

import functools
import json

from flask import Response, jsonify
from pydantic import BaseModel, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, autocommit_engine, tag
from admin.api.paging import PageNumber, PerPage
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from tenancy.registry import operations
from tenancy.registry.models import TenantKind, TenantStatus
from tenancy.registry.readcache import TenantBodyCache
from core.validation import TenantCode
from tenancy.registry.schemas import TenantCreate, TenantOut, TenantPage, TenantUpdate, json_time

bp = StrictAPIBlueprint("api_tenants", __name__, url_prefix=API_PREFIX, abp_tags=tag("tenants", "参加団体 / tenant registry"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)


class TenantPath(BaseModel):
    code: TenantCode = Field(description="Local government code, 6 digits with check digit")


class TenantQuery(CachedSchema):
    status: TenantStatus | None = None
    kind: TenantKind | None = None
    wave: int | None = Field(default=None, description="Onboarding wave (fiscal year)")
    page: PageNumber = 1
    per_page: PerPage = 100


_TIMES = tuple(name for name, kind in operations.TENANT_FIELDS if kind == "time")


def _out(tenant) -> dict:
    return TenantOut.model_validate(tenant).model_dump(mode="json")


def _read_engine():
    """The engine of the API's single-statement reads: on PostgreSQL the app's autocommit engine
    (:func:`admin.api.autocommit_engine`: a read costs one round trip instead of four, ping, BEGIN,
    SELECT, COMMIT; a connection the server dropped, a restart, is noticed by the read itself and the
    read is tried once more on a fresh connection, see :func:`_read`, so a restart still never gives a
    500). Elsewhere (SQLite) the app's engine."""
    return autocommit_engine() or db.engine


def _read(operation):
    """``operation(connection)`` on a connection of its own, in autocommit, outside the request's
    transaction: each read is one statement, hence consistent by itself. Tried once more when the
    connection turns out to have been dropped by the server."""
    import sqlalchemy as sa

    engine = _read_engine()
    for attempt in (1, 2):
        try:
            # SQLite: the app's engine as it is (pysqlite begins no transaction for a SELECT, and
            # switching the isolation level costs three statements per read)
            with engine.connect() as connection:
                return operation(connection)
        except sa.exc.DBAPIError as error:
            if attempt == 2 or not error.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def _read_out(item: dict) -> dict:
    """A tenant read as a plain dict (in TenantOut's order) made JSON-ready: its times as the
    output model writes them."""
    for name in _TIMES:
        item[name] = json_time(item[name])
    return item


# The body of the two hot reads, encoded once without Flask's JSON provider (its default hook
# and per-call set-up): the same text jsonify gives with this app's settings (ensure_ascii off,
# keys in the schema's order, compact separators, a final newline). The values are plain str,
# int and None only (datetimes are already text), so no default hook is needed.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def _body_cache():
    """This app's memory of tenants' bodies by code (:mod:`tenancy.registry.readcache`: at most
    ``RENKEI_TENANT_CACHE_SECONDS`` old, default 1 s, emptied by any write committed in this
    process); ``None`` when that setting is 0."""
    from flask import current_app

    extensions = current_app.extensions
    cache = extensions.get("renkei_tenant_bodies", False)
    if cache is False:
        import os

        value = current_app.config.get("RENKEI_TENANT_CACHE_SECONDS")
        seconds = float(os.environ.get("RENKEI_TENANT_CACHE_SECONDS", "1") if value is None else value)
        cache = extensions.setdefault("renkei_tenant_bodies", TenantBodyCache(seconds) if seconds > 0 else None)
        engine = _read_engine()
        if cache is not None and engine.dialect.name == "postgresql":
            cache.refresher = functools.partial(_refresh_registry, engine, cache)
    return cache


def _refresh_registry(engine, cache) -> None:
    """The snapshot of every tenant read again ahead of its bound (a thread of the cache's own)."""
    with engine.connect() as connection:
        operations.reload_registry(connection, cache)


def page_text(built: tuple[bytes, int], page: int, per_page: int) -> bytes:
    """The list's answer around the items' JSON PostgreSQL wrote: passed through as bytes."""
    items, total = built
    return b'{"items":[' + items + b'],"total":%d,"page":%d,"per_page":%d}\n' % (total, page, per_page)


@bp.get("/tenants", responses={200: TenantPage}, summary="List tenants")
def list_tenants(query: TenantQuery):
    actor, cache = current_actor(), _body_cache()
    filters = {"status": query.status, "kind": query.kind, "wave": query.wave, "page": query.page,
               "per_page": query.per_page}

    def text(built):
        return page_text(built, query.page, query.per_page)

    # a page this process read less than RENKEI_TENANT_CACHE_SECONDS ago: no connection taken
    kept = None if cache is None else operations.read_tenants_json(None, actor, **filters, cache=cache)
    if kept is not None:
        return Response(text(kept), mimetype="application/json")

    def read(connection):
        built = operations.read_tenants_json(connection, actor, **filters, cache=cache)
        if built is not None:
            return text(built)
        items, total = operations.read_tenants(connection, actor, status=query.status, kind=query.kind,
                                               wave=query.wave, page=query.page, per_page=query.per_page)
        return _ENCODE({"items": [_read_out(t) for t in items], "total": total, "page": query.page,
                        "per_page": query.per_page}) + "\n"

    return Response(_read(read), mimetype="application/json")


@bp.get("/tenants/<code>", responses={200: TenantOut}, summary="Get a tenant by code")
def get_tenant(path: TenantPath):
    actor, code, cache = current_actor(), path.code, _body_cache()
    # a body this process read less than RENKEI_TENANT_CACHE_SECONDS ago: no connection taken
    body = None if cache is None else operations.read_tenant(None, actor, code, as_json=True, cache=cache)
    if body is None:
        def read(connection):
            taken = None if cache is None else (cache.generation(), cache.clock())  # before the read
            item = operations.read_tenant(connection, actor, code, as_json=True, cache=cache)
            if isinstance(item, bytes):  # written by PostgreSQL, or kept
                return item
            text = _ENCODE(_read_out(item)).encode()
            if cache is not None:
                cache.put(code, text, *taken)
            return text

        body = _read(read)
    return Response(body + b"\n", mimetype="application/json")


@bp.post("/tenants", responses={201: TenantOut}, summary="Register a tenant")
def create_tenant(body: TenantCreate):
    tenant = operations.create_tenant(db.session, current_actor(), body)
    return jsonify(_out(tenant)), 201


@bp.patch("/tenants/<code>", responses={200: TenantOut}, summary="Update a tenant's registry fields")
def update_tenant(path: TenantPath, body: TenantUpdate):
    return jsonify(_out(operations.update_tenant(db.session, current_actor(), path.code, body)))
