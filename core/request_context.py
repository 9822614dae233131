"""The request id of what is running now, for every log line: a request (its ``X-Request-ID``), a
job run (``job-…``), and whatever they call (Keycloak, the outbox, the database), so that one id
finds a cause across the request log, the audit log and the application's logs.

A context variable holds it (:func:`bound` sets it for a block, :func:`current` reads it); the log
record factory installed by :func:`install_log_records` puts it on every record as
``record.request_id`` ("-" outside any), which :data:`LOG_FORMAT` prints.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import uuid
from collections.abc import Iterator

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("renkei_request_id", default=None)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def current() -> str | None:
    return REQUEST_ID.get()


def new_id(kind: str) -> str:
    """A fresh id for work that is not a request (``job-…``, ``probe-…``)."""
    return f"{kind}-{uuid.uuid4().hex}"


@contextlib.contextmanager
def bound(request_id: str | None) -> Iterator[str | None]:
    token = REQUEST_ID.set(request_id)
    try:
        yield request_id
    finally:
        REQUEST_ID.reset(token)


_INSTALLED: list[bool] = []


def install_log_records() -> None:
    """Every log record from now on carries ``request_id`` (once per process; other factories kept)."""
    if _INSTALLED:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = REQUEST_ID.get() or "-"
        return record

    logging.setLogRecordFactory(factory)
    _INSTALLED.append(True)
