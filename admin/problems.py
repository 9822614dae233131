"""Errors as ``application/problem+json`` (RFC 9457), mapped from domain errors in one place.

Every body has ``title``, ``status``, ``detail`` (in the request's language), ``detail_en`` and
``detail_ja`` (both, so a client can show either), and ``errors``: one entry per field at fault
with ``field``, ``message_en`` and ``message_ja``. No stack trace ever reaches a user.

Outside ``/api`` the same errors are pages inside the admin layout, in the reader's language only,
saying what happened and what to do (:mod:`admin.views.frame`).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import Flask, Response, abort, request
from pydantic import ValidationError
import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from core.db import is_transient
from core.errors import DomainError
from core.validation import problems_from

try:
    from psycopg import DataError as PsycopgDataError
except ImportError:  # SQLite only
    class PsycopgDataError(Exception):  # type: ignore[no-redef]
        pass

log = logging.getLogger(__name__)

STATUS_BY_KIND = {"not_found": 404, "conflict": 409, "invalid": 422, "forbidden": 403, "unavailable": 503, "unauthenticated": 401,
                  "too_many": 429}


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error's kind: the one mapping, for the API, the pages and the views
    that stop with :func:`flask.abort`."""
    return STATUS_BY_KIND.get(error.kind, 400)


def stop_unless_about_fields(error: DomainError, kinds: tuple[str, ...] = ("forbidden", "not_found")) -> None:
    """For a page: a refusal of one of ``kinds`` (by default: not allowed, nothing there) is no mistake
    in a form, so the page stops with the error's status (:func:`status_of`). Any other refusal
    returns, for the form to show."""
    if error.kind in kinds:
        abort(status_of(error))

TITLES = {
    400: ("Bad request", "リクエストの形式が正しくありません"),
    401: ("Authentication required", "ログインが必要です"),
    403: ("Forbidden", "この操作の権限がありません"),
    404: ("Not found", "見つかりません"),
    405: ("Method not allowed", "この操作はできません"),
    409: ("Conflict", "現在の状態ではこの操作はできません"),
    413: ("Request too large", "リクエストが大きすぎます"),
    414: ("Address too long", "アドレス（URL）が長すぎます"),
    431: ("Request headers too large", "リクエストのヘッダーが大きすぎます"),
    415: ("Unsupported media type", "対応していない形式です"),
    422: ("Invalid input", "入力内容に誤りがあります"),
    429: ("Too many requests", "利用上限に達しています"),
    500: ("Internal error", "システムエラーが発生しました"),
    503: ("Service unavailable", "関連システムに接続できません"),
}


def _japanese_preferred() -> bool:
    try:
        from flask_babel import get_locale

        return str(get_locale() or "ja") == "ja"
    except Exception:  # outside a request, or babel not initialised
        return True


def problem_response(
    status: int,
    detail_en: str,
    detail_ja: str,
    errors: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> Response:
    title_en, title_ja = TITLES.get(status, ("Error", "エラー"))
    ja = _japanese_preferred()
    body = {
        "type": "about:blank",
        "title": title_ja if ja else title_en,
        "status": status,
        "detail": detail_ja if ja else detail_en,
        "detail_en": detail_en,
        "detail_ja": detail_ja,
        "errors": errors or [],
        **extra,
    }
    # the request's own words echoed back (a refused key, a field's name) may hold a lone surrogate (a body's
    # "\ud800"), which UTF-8 cannot carry: that one is written as its JSON escape, the rest as it is
    text = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8", "backslashreplace")
    response = Response(text, status=status, mimetype="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="renkei"'
    return response


def from_domain_error(error: DomainError) -> Response:
    status = status_of(error)
    extra = {"retryable": True} if error.retryable else {}
    if error.details:
        extra["details"] = error.details
    return problem_response(status, error.message_en, error.message_ja, error.problems, **extra)


def from_validation_error(error: ValidationError) -> Response:
    return problem_response(
        422,
        "The request has invalid fields; nothing was changed. See errors.",
        "入力内容に誤りがあります。変更は行っていません。errors を確認してください。",
        problems_from(error),
    )


def concurrent_change() -> Response:
    """A uniqueness or integrity rule hit at write time: someone saved the same thing first."""
    return problem_response(
        409,
        "The same data was changed at the same moment by another request; nothing of yours was saved. Reload and try again.",
        "同じデータが同時に変更されたため、保存できませんでした。画面を再読み込みして、もう一度お試しください。",
    )


RETRY_AFTER_SECONDS = 2  # a PostgreSQL restart took about 1.3 s (issue 27)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_RETRY = "renkei.retry_once"  # the environ key by which a transient fault asks for the one retry
_RETRIED = "renkei.retried"


def database_unavailable() -> Response:
    """A transient database fault (restart, connection dropped or refused, pool exhausted): 503
    with Retry-After. Nothing of the request was committed."""
    response = problem_response(
        503,
        "The database is briefly unavailable (for example restarting); nothing was changed. Try again in a few seconds.",
        "データベースに一時的に接続できません（再起動中など）。変更は行っていません。数秒後にもう一度お試しください。",
        retryable=True,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _note_a_write(session: Any, _flush_context: Any) -> None:
    """Session ``after_flush``: this request has written something, so it is not tried again."""
    from flask import g, has_request_context

    if has_request_context():
        g.renkei_wrote = True


class RetryOnce:
    """WSGI: a request with a safe method that met a transient database fault before it wrote
    anything (:func:`init_app`'s handler marks it) is run once more, at once, on a fresh
    connection; its first answer is thrown away. Any other request passes straight through."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") not in SAFE_METHODS or environ.get(_RETRIED):
            return self.wsgi_app(environ, start_response)
        held: list[Any] = []

        def hold(status: str, headers: list, exc_info: Any = None) -> Any:
            held[:] = [status, headers, exc_info]
            return lambda data: None  # Flask never uses write(); the body is the iterable

        body = self.wsgi_app(environ, hold)
        if not environ.get(_RETRY):
            start_response(*held)
            return body
        if hasattr(body, "close"):
            body.close()
        log.warning("transient database fault on %s %s: tried once more", environ.get("REQUEST_METHOD"),
                    environ.get("PATH_INFO"))
        return self.wsgi_app({**environ, _RETRY: False, _RETRIED: True}, start_response)


def install_retry(app: Flask) -> None:
    """Put :class:`RetryOnce` around Flask."""
    app.wsgi_app = RetryOnce(app.wsgi_app)
_SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: \w+\.(\w+)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\w+)")


def _check_fields(constraint: str) -> list[str]:
    """The columns a CHECK constraint of the models reads (by its name), for the ``errors`` entry."""
    from core.db import metadata

    for table in metadata.tables.values():
        for item in table.constraints:
            if isinstance(item, sa.CheckConstraint) and item.name == constraint:
                text = str(item.sqltext)
                return [c.name for c in table.columns if re.search(rf"\b{re.escape(c.name)}\b", text)] or [constraint]
    return [constraint]


def constraint_fields(error: IntegrityError) -> list[str] | None:
    """The fields of a NOT NULL or CHECK violation (the sender's values, not a race); ``None`` for
    any other integrity error (a unique key or reference: someone else's write came first)."""
    original = error.orig
    diag = getattr(original, "diag", None)
    state = getattr(original, "sqlstate", None)
    if diag is not None and state == "23502":  # PostgreSQL not_null_violation
        return [diag.column_name or "(body)"]
    if diag is not None and state == "23514":  # PostgreSQL check_violation
        return _check_fields(diag.constraint_name or "")
    text = str(original)
    if match := _SQLITE_NOT_NULL.search(text):
        return [match.group(1)]
    if match := _SQLITE_CHECK.search(text):
        return _check_fields(match.group(1))
    return None


def integrity_response(error: IntegrityError) -> Response:
    """A NOT NULL or CHECK violation is the request's fault: 422 naming the field. Anything else
    (unique, reference) is a write that met another: 409, as :func:`concurrent_change` says."""
    fields = constraint_fields(error)
    if fields is None:
        return concurrent_change()
    return problem_response(
        422, "The request has invalid fields; nothing was changed. See errors.",
        "入力内容に誤りがあります。変更は行っていません。errors を確認してください。",
        [{"field": field, "message_en": "A value is required here, or the value is not allowed.",
          "message_ja": "この項目は必須か、指定された値は使用できません。"} for field in fields])


def domain_error_page(error: DomainError):
    """The admin UI's page for a domain error, inside the layout, in the reader's language only."""
    from admin.views.frame import render_error

    return render_error(status_of(error), error=error)


def out_of_range_response(error: Exception):
    """A value the database cannot hold (a number beyond its column, text it cannot store) that
    no edge check caught: the sender's fault, a 422 (a 400 page in the UI), never a 500 (issue 14);
    the transaction is rolled back. Raised in a view, or by the request's commit (an audit record is
    appended then: governance.audit)."""
    from admin.extensions import db

    db.session.rollback()
    log.warning("value out of the database's range on %s %s: %s", request.method, request.path, error)
    if not _wants_problem():
        return _error_page(400)
    return problem_response(
        422,
        "A value in the request is out of the range that can be stored; nothing was changed.",
        "リクエストに保存できる範囲を超える値が含まれています。変更は行っていません。",
    )


def _error_page(status: int, *, csrf: bool = False):
    """An HTTP error of the admin UI (or any non-API address) as a page inside the layout."""
    from admin.views.frame import render_error

    return render_error(status, csrf=csrf)


def _wants_problem() -> bool:
    return request.path.startswith("/api/")


DEPENDENCY_RETRY_AFTER_SECONDS = 30  # what every other 503 (Keycloak away) asks the client to wait


def init_app(app: Flask) -> None:
    import sqlalchemy as sa
    from sqlalchemy import orm

    if not sa.event.contains(orm.Session, "after_flush", _note_a_write):
        sa.event.listen(orm.Session, "after_flush", _note_a_write)

    def _transient(error: Exception):
        """A database fault that passes (issue 27): tried once more when nothing was written
        (:class:`RetryOnce`), else 503 with Retry-After; never a 500."""
        from flask import g

        from admin.extensions import db

        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
            log.debug("rollback after a transient fault failed", exc_info=True)
        log.warning("transient database fault on %s %s: %s", request.method, request.path, error)
        if request.method in SAFE_METHODS and not g.get("renkei_wrote") and not request.environ.get(_RETRIED):
            request.environ[_RETRY] = True
        if not _wants_problem():
            try:
                response = app.make_response(_error_page(503))
            except Exception:  # noqa: BLE001 - the layout needed the database too: say so plainly
                response = Response("データベースに一時的に接続できません。数秒後にもう一度お試しください。 / "
                                    "The database is briefly unavailable; try again in a few seconds.",
                                    status=503, mimetype="text/plain")
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        return database_unavailable()
    @app.after_request
    def _retry_after(response: Response) -> Response:
        """Every 503 (a dependency away: Keycloak, the database) says when to try again."""
        if response.status_code == 503 and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = str(DEPENDENCY_RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        if error.kind == "unavailable":  # one line naming the cause, for the operator
            log.warning("unavailable on %s %s: %s", request.method, request.path, error.message_en)
        if not _wants_problem():
            return domain_error_page(error)
        return from_domain_error(error)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        original = getattr(error, "original_exception", None)  # raised after the view (the commit): a 500 so far
        if original is not None and is_transient(original):
            return _transient(original)
        if error.response is not None:  # e.g. flask-openapi3's validation response
            return error.response
        if not _wants_problem():
            if error.code is None or error.code < 400:  # a redirect raised as an exception
                return error
            return _error_page(error.code, csrf=getattr(error, "csrf", False))
        status = error.code or 500
        title_en, title_ja = TITLES.get(status, (error.name, error.name))
        response = problem_response(status, error.description or title_en, title_ja)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))  # RFC 9110: a 405 says what is allowed
        return response

    @app.errorhandler(IntegrityError)
    def _integrity(error: IntegrityError):
        from admin.extensions import db

        db.session.rollback()
        log.warning("integrity error on %s %s: %s", request.method, request.path, error.orig)
        return integrity_response(error)

    app.errorhandler(DataError)(out_of_range_response)
    app.errorhandler(OverflowError)(out_of_range_response)
    # a raw psycopg cursor (the tenant list's fast path) is not wrapped
    app.errorhandler(PsycopgDataError)(out_of_range_response)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if is_transient(error):
            return _transient(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_problem():
            from admin.extensions import db

            db.session.rollback()
            try:
                return _error_page(500)
            except Exception:  # the layout itself failed: say so plainly rather than not at all
                log.exception("the error page failed too on %s %s", request.method, request.path)
                return Response("システムエラーが発生しました / Internal error", status=500, mimetype="text/plain")
        return problem_response(
            500,
            "Something went wrong on the server; nothing was changed. Try again, and tell the platform operator if it happens again.",
            "サーバーでエラーが発生しました。変更は行っていません。もう一度お試しいただき、繰り返す場合は運営者にご連絡ください。",
        )
