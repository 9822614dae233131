"""The REST API under /api/v1: one module per domain, each an ``APIBlueprint`` (named by its job in
``admin/jobs.py``); this package holds what they share.

An endpoint is three steps: parse and validate (flask-openapi3 with pydantic models), authorise
(:func:`admin.auth.require`), call the operation. The request commits once (see ``admin/__init__``).
"""

from __future__ import annotations

import functools
from typing import Any

import flask_openapi3.utils
from flask_openapi3 import Tag
from pydantic import BaseModel


# (model, mode) -> the JSON schema flask-openapi3 was given for it (see _each_schema_once)
MODEL_SCHEMAS: dict[tuple[type, str], dict] = {}


def _each_schema_once(generate):
    """flask-openapi3 asks pydantic for a model's JSON schema each time a route names the model (2,150 times for
    about 300 operations), a tenth of the app's start in every process that starts it (each app server worker,
    each command the tests run). Each model's schema is made once here; the callers only read it (each builds
    its own Schema objects from it): tests/admin/test_api_contract.py checks that every schema kept is still the
    one pydantic makes, and the document served is the same as without this."""

    @functools.wraps(generate)
    def schema(model, mode="validation"):
        key = (model, mode)
        if key not in MODEL_SCHEMAS:
            MODEL_SCHEMAS[key] = generate(model, mode)
        return MODEL_SCHEMAS[key]

    return schema


flask_openapi3.utils.get_model_schema = _each_schema_once(flask_openapi3.utils.get_model_schema)

API_PREFIX = "/api/v1"

BEARER = [{"bearer": []}]
SECURITY_SCHEMES = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                    "gateway": {"type": "http", "scheme": "basic"}}  # the API gateway's client id and secret


class Problem(BaseModel):
    """application/problem+json body."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    detail_en: str
    detail_ja: str
    errors: list[dict] = []


# The last page a list may ask for: page x per_page (at most 1,000) stays an OFFSET PostgreSQL's
# integer holds (a larger one was a 500 on PostgreSQL, issue 14).
MAX_PAGE = 1_000_000

PROBLEM_RESPONSES = {401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem}


class CachedSchema(BaseModel):
    """Base of query-string and header models: their JSON schema is built once. flask-openapi3 (4.x)
    builds a header model's on every request (which costs milliseconds); admin.edge reads a query
    model's once, to work out how the model reads a query string."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if args or kwargs:  # the OpenAPI document: built once, may be changed by its builder
            return super().model_json_schema(*args, **kwargs)
        if cls not in _SCHEMAS:  # the per-request call only reads it
            _SCHEMAS[cls] = super().model_json_schema()
        return _SCHEMAS[cls]


_SCHEMAS: dict[type, dict[str, Any]] = {}


def autocommit_engine():
    """PostgreSQL: this app's engine on the same database whose connections are in autocommit and
    are not pinged before use (made once per app, disposed with it), for work done one statement at
    a time: a single-statement read costs one round trip instead of four (ping, BEGIN, SELECT,
    COMMIT), and the consent check writes its record by one statement that commits itself. None on
    other databases (SQLite, where an append is two statements and needs a transaction)."""
    import weakref

    import sqlalchemy as sa
    from flask import current_app

    from admin.extensions import db

    app = current_app._get_current_object()
    engine = app.extensions.get("renkei_autocommit_engine", False)
    if engine is False:
        engine = None
        if db.engine.dialect.name == "postgresql":
            options = {k: v for k, v in (app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}).items() if k != "pool_pre_ping"}
            engine = sa.create_engine(db.engine.url, **{**options, "pool_pre_ping": False, "isolation_level": "AUTOCOMMIT"})
            # the pooled connections are closed when the app goes (or at exit), never left to
            # the garbage collector, which would drop them unclosed
            weakref.finalize(app, engine.dispose)
        engine = app.extensions.setdefault("renkei_autocommit_engine", engine)
    return engine


def tag(name: str, description: str) -> list[Tag]:
    return [Tag(name=name, description=description)]
