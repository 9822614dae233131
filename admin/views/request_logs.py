"""リクエストログの検索 (the request log, searchable): the lines of a time window by request id,
tenant, path and status, read from the day files (``RENKEI_REQUEST_LOG`` set to a folder). An
incident's page links here with its window; a request id found here is the one the audit log and the
other logs of that request carry."""

from __future__ import annotations

import datetime as dt

from flask import current_app, g, request
from flask_admin import expose
from flask_babel import get_locale, lazy_gettext as _l

from admin import request_log
from admin.extensions import db
from admin.problems import stop_unless_about_fields
from admin.views.base import SecureView, typed_number
from admin.views.times import local_time, parse_local
from core.errors import DomainError
from service.incidents import logs


def _status(value: str) -> int | None:
    """A status (``404``) or a status class (``4``, ``4xx``) typed in the filter, else None (no filter)."""
    value = value.strip().lower().rstrip("x")
    return typed_number(value, high=999) if len(value) in (1, 3) else None


def _query_from(args) -> logs.LogQuery:
    """The search the page's filters ask for (the last hour when no period is given)."""
    now = dt.datetime.now(dt.timezone.utc)
    start = parse_local(args.get("start")) or now - dt.timedelta(hours=1)
    end = parse_local(args.get("end")) or now
    return logs.LogQuery(start=start, end=end, request_id=(args.get("request_id") or "").strip()[:64],
                         tenant=(args.get("tenant") or "").strip()[:13], path=(args.get("path") or "").strip()[:300],
                         status=_status(args.get("status") or ""))


class RequestLogView(SecureView):
    required_action = logs.ACTION

    @expose("/")
    def index(self):
        args = request.args
        query = _query_from(args)
        start, end = query.start, query.end
        where = request_log.destination(current_app.config)
        in_files = where not in (None, "stdout")
        found, problem = None, None
        if in_files:
            try:
                found = logs.search(where, g.actor, query)
            except DomainError as error:
                stop_unless_about_fields(error)
                problem = error.message_ja if str(get_locale() or "ja") == "ja" else error.message_en
                db.session.rollback()
        return self.render("renkei/request_log.html", query=query, found=found, problem=problem, in_files=in_files,
                           start=local_time(start).replace(" ", "T"), end=local_time(end).replace(" ", "T"),
                           status_text=args.get("status", ""))


def views(db_):
    return [RequestLogView(name=_l("Request log"), endpoint="request_log", url="request-log")]
