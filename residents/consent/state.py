"""The one rule of a consent's state now: given (同意), withdrawn (撤回) or expired (期限切れ).

A consent record is an event; its state is that of the newest event of the same consent: a
withdrawal or an expiry recorded after it ends it. A consent given with an expiry is expired from
that moment on, whether or not the expiry has been written to the chain yet (the
``consent-expiry`` job of ``renkei jobs run-due`` and ``renkei consent expire`` write it): every
reader (the consent check, the receipt, the history and its exports, the printed record) asks
:func:`consent_state`, so none says 同意 past the expiry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from residents.consent.models import ConsentEvent


def _moment(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def consent_state(event: Any, expires_at: dt.datetime | None, now: dt.datetime, ended_by: Any = None) -> ConsentEvent:
    """The state of a consent now: ``event`` and ``expires_at`` of its newest record (or of the given
    record, with ``ended_by`` the event of a later record that ended it, if any)."""
    if ended_by is not None:
        return ConsentEvent(ended_by)
    event = ConsentEvent(event)
    if event == ConsentEvent.given and expires_at is not None and _moment(expires_at) <= _moment(now):
        return ConsentEvent.expired
    return event
