"""Finding a cause in the request log: the lines of a time window, by request id, tenant, path and
status, read from the day files the request log writes (``requests-YYYY-MM-DD.jsonl``, Japan date;
:mod:`admin.request_log`, which also removes them after their retention).

Only the day files the window touches are opened, and at most ``limit`` lines are returned (in time
order, with whether more matched), so a search costs one pass over those days at most.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

from core import authz
from core.actor import Actor
from core.calendar import JST
from core.errors import Invalid, problem

ACTION = "log.read"
LIMIT = 500
MAX_DAYS = 31  # one search reads at most a month of day files


@dataclasses.dataclass(frozen=True)
class LogQuery:
    start: dt.datetime
    end: dt.datetime
    request_id: str = ""
    tenant: str = ""
    path: str = ""  # a part of the path
    status: int | None = None  # an exact status, or its hundred (5 → 5xx)


@dataclasses.dataclass(frozen=True)
class LogFound:
    lines: list[dict]
    more: bool
    days_read: int


def _days(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    first, last = start.astimezone(JST).date(), end.astimezone(JST).date()
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _parsed(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as file:
        for text in file:
            try:
                line = json.loads(text)
            except ValueError:  # a torn line (a crash mid-write) is skipped, not fatal
                continue
            if isinstance(line, dict):
                yield line


def _matches(line: dict, query: LogQuery) -> bool:
    try:
        at = dt.datetime.fromisoformat(str(line.get("time", "")))
    except ValueError:
        return False
    if at.tzinfo is None or not (query.start <= at < query.end):
        return False
    if query.request_id and line.get("request_id") != query.request_id:
        return False
    if query.tenant and line.get("tenant") != query.tenant:
        return False
    if query.path and query.path not in str(line.get("path", "")):
        return False
    status = line.get("status")
    if query.status is not None:
        if not isinstance(status, int):
            return False
        if query.status < 10 and status // 100 != query.status:
            return False
        if query.status >= 10 and status != query.status:
            return False
    return True


def search(directory: str | Path | None, actor: Actor, query: LogQuery, *, limit: int = LIMIT) -> LogFound:
    """The request log lines of ``query``'s window that match it, in time order."""
    authz.authorize(actor, ACTION)
    if query.end <= query.start:
        raise Invalid("The window ends before it starts.", "終了日時は開始日時より後にしてください。",
                      problems=[problem("end", "The end must be after the start.", "開始日時より後にしてください。")])
    days = _days(query.start, query.end)
    if len(days) > MAX_DAYS:
        raise Invalid(f"Search at most {MAX_DAYS} days at once.", f"一度に検索できるのは {MAX_DAYS} 日までです。",
                      problems=[problem("end", f"The end must be at most {MAX_DAYS} days after the start.",
                                              f"開始から {MAX_DAYS} 日以内にしてください。")])
    found: list[dict] = []
    read = 0
    folder = Path(directory) if directory else None
    for day in days:
        path = folder / f"requests-{day.isoformat()}.jsonl" if folder else None
        if path is None or not path.is_file():
            continue
        read += 1
        for line in _parsed(path):
            if _matches(line, query):
                found.append(line)
    found.sort(key=lambda line: str(line.get("time")))
    return LogFound(found[:limit], len(found) > limit, read)
