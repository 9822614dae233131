"""One structured log line per request (JSON), and the retention of request log files.

Each line: ``time`` (UTC, ISO 8601), ``request_id`` (the client's ``X-Request-ID`` when plausible,
else renkei's own; echoed in the response's ``X-Request-ID``), ``actor`` (issuer's subject, or
null), ``tenant`` (the tenant code in the address, else the actor's only tenant, else null),
``method``, ``path``, ``status``, ``duration_ms``.

``RENKEI_REQUEST_LOG``: ``stdout`` (the default), ``off``, or a directory that receives one file
per day, ``requests-YYYY-MM-DD.jsonl`` (Japan date). Health checks (``/healthz``, ``/readyz``) are
logged only when they fail. :func:`purge` removes the day files older than
``RENKEI_RETENTION_DAYS`` (default 365); ``renkei jobs run-due`` calls it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request

from core import request_context, retention
from core.calendar import JST, day_start_utc

HEALTH_PATHS = {"/healthz", "/readyz"}
_FILE = re.compile(r"^requests-(\d{4}-\d{2}-\d{2})\.jsonl$")
_LOCK = threading.Lock()
DEFAULT_RETENTION_DAYS = 365


def _started() -> None:
    g.request_started = time.perf_counter()


def _tenant(req: Any, context: Any) -> str | None:
    args = req.view_args or {}
    code = next((args[name] for name in ("code", "tenant_code") if isinstance(args.get(name), str)), None)
    return tenant_of(code, getattr(context, "actor", None))


def tenant_of(code: str | None, actor: Any) -> str | None:
    """The line's tenant: the one in the address, else the actor's only tenant, else none."""
    if code is not None:
        return code
    codes = sorted(getattr(actor, "tenant_codes", ()) or ())
    return codes[0] if len(codes) == 1 else None


def entry(request_id: str | None, actor: Any, tenant: str | None, method: str, path: str, status: int,
          started: float | None) -> dict[str, Any]:
    """One request's log entry (``started``: its ``time.perf_counter()`` at the start)."""
    return {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
        "request_id": request_id,
        "actor": f"{actor.subject}" if actor is not None else None,
        "tenant": tenant,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started is not None else None,
    }


def line(response: Response) -> dict[str, Any]:
    # the request and g looked up once each (every access through Flask's proxies costs a lookup)
    req, context = request._get_current_object(), g._get_current_object()
    return entry(getattr(context, "request_id", None), getattr(context, "actor", None), _tenant(req, context),
                 req.method, req.path, response.status_code, getattr(context, "request_started", None))


# JSON text of one value (a str, int, float or None), as json.dumps(..., ensure_ascii=False) writes it
_VALUE = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
# a string of these characters is its own JSON text between quotes (no escape needed)
_PLAIN = re.compile(r'[ !#-\[\]-~]*')


def _json(value: Any) -> str:
    kind = type(value)
    if kind is str and _PLAIN.fullmatch(value) is not None:
        return f'"{value}"'
    if kind is int:
        return str(value)
    return "null" if value is None else _VALUE(value)


def text(entry: dict[str, Any]) -> str:
    """The log line of ``entry`` (keys in :func:`line`'s order): the same text as
    ``json.dumps(entry, ensure_ascii=False)``, written key by key without the general encoder's set-up."""
    return "{" + ", ".join([f'"{key}": {_json(value)}' for key, value in entry.items()]) + "}\n"


# directory -> (Japan date, the day file open for appending, line-buffered: one write per line)
_OPEN: dict[str, tuple[str, Any]] = {}


def _day_file(directory: str) -> Any:
    day = dt.datetime.now(JST).date().isoformat()
    current = _OPEN.get(directory)
    if current is not None and current[0] == day:
        return current[1]
    if current is not None:
        current[1].close()
    if len(_OPEN) >= 8:  # directories no longer used (tests): closed
        for name in list(_OPEN):
            _OPEN.pop(name)[1].close()
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    file = open(folder / f"requests-{day}.jsonl", "a", encoding="utf-8", buffering=1)
    _OPEN[directory] = (day, file)
    return file


def close_all() -> None:
    """Close every day file kept open (a test's folder about to vanish, or the process ending)."""
    for name in list(_OPEN):
        _OPEN.pop(name)[1].close()


def write(destination: str, entry: dict[str, Any] | str) -> None:
    """Append one line: to stdout (flushed, so that a pipe sees each line at once), or to the day
    file of the directory ``destination``, kept open and line-buffered (one write per request; the
    file changes at midnight Japan time). No fsync: a request log is not worth a disk sync per request."""
    line_text = entry if isinstance(entry, str) else text(entry)
    if destination == "stdout":
        sys.stdout.write(line_text)
        sys.stdout.flush()
        return
    with _LOCK:
        file = _day_file(destination)
        try:
            file.write(line_text)
        except (OSError, ValueError):  # closed or removed under us: open again once
            _OPEN.pop(destination, None)
            _day_file(destination).write(line_text)


def destination(config: Any) -> str | None:
    """Where request lines go (``RENKEI_REQUEST_LOG``); ``None`` when they are off."""
    where = config.get("RENKEI_REQUEST_LOG", "stdout")
    return None if not where or where == "off" else where


def _logged(response: Response) -> Response:
    from flask import current_app

    request_id = getattr(g._get_current_object(), "request_id", None)
    if request_id:
        response.headers["X-Request-ID"] = request_id
    where = destination(current_app.config)
    if where is None:
        return response
    if response.status_code < 400 and request.path in HEALTH_PATHS:
        return response
    log(where, line(response))
    return response


def log(where: str, logged: dict[str, Any]) -> None:
    try:
        write(where, text(logged))
    except OSError as error:  # a full disk must not turn every answer into a 500
        sys.stderr.write(f"renkei: request log not written: {error}\n")


def _unbind(_error: BaseException | None = None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            request_context.REQUEST_ID.reset(token)
        except ValueError:  # set in another context (a server that moved the request): nothing of ours to undo
            pass


def init_app(app: Flask) -> None:
    """Register before the app's other after-request functions so that this one runs last and logs
    the final status (Flask runs them in reverse order). The request id set for the request's log
    records (admin/auth.py) is unset when the request ends."""
    app.before_request(_started)
    app.after_request(_logged)
    app.teardown_request(_unbind)


def purge(directory: str | Path, retention_days: int = DEFAULT_RETENTION_DAYS,
          today: dt.date | None = None) -> list[str]:
    """Delete day files older than ``retention_days`` (by the date in their name); return their names."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    now = dt.datetime.now(JST) if today is None else day_start_utc(today)
    cutoff = (today or now.date()) - dt.timedelta(days=retention_days)
    retention.refuse_before("request_log", day_start_utc(cutoff), now)  # the one table: files go whole days
    removed = []
    for path in sorted(directory.iterdir()):
        match = _FILE.match(path.name)
        if match and dt.date.fromisoformat(match.group(1)) < cutoff:
            path.unlink()
            removed.append(path.name)
    return removed
