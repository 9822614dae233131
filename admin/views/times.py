"""Japan time on the admin pages: a moment as the pages show it, a form's ``datetime-local`` value read, and an
incident clock's time left (the incident pages, the request log and the home page show them alike)."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _

from core.calendar import JST, jst_text
from service.incidents import operations


def local_time(moment: dt.datetime | None) -> str:
    return jst_text(moment) if moment else "—"


def parse_local(value: str | None) -> dt.datetime | None:
    """A form's ``datetime-local`` value (Japan time) as UTC; None when empty or not a date and time."""
    try:
        return dt.datetime.fromisoformat((value or "").strip()).replace(tzinfo=JST).astimezone(dt.timezone.utc)
    except ValueError:
        return None


def remaining_text(clock: operations.Clock) -> str:
    if clock.incident.recovered_at is not None:
        return _("Recovered")
    left = clock.remaining
    sign, left = ("", left) if left >= dt.timedelta(0) else ("-", -left)
    hours, minutes = divmod(int(left.total_seconds()) // 60, 60)
    if sign:
        return _("Overdue by %(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(hours)d h %(minutes)d min left", hours=hours, minutes=minutes)
