"""Sign-ins to the platform, from Keycloak's login events (issue 39, item 5: サインイン数).

Keycloak stores the platform realm's LOGIN events (``renkei keycloak bootstrap`` enables them and
keeps them :data:`~tenancy.identity.keycloak.realm.LOGIN_EVENTS_SECONDS`). The due job
``sign-in-events`` (:func:`collect`) reads those since the newest one it kept (a day back, for
events stored late) through the admin API and keeps each once in ``sign_in_event``: the client
signed in to, the person's id, the time and its Japan-time day; no address. The monthly report
counts that table (:func:`month_counts`): it needs no Keycloak, and a month older than Keycloak's
expiry is still counted.

Every sign-in is there, whatever the client: the admin (renkei-admin, which is also `renkei login`'s
device grant), the catalogue portal, a dashboard. The admin's own ``auth.sign_in`` audit records
stay the audit trail of who signed in to the admin, but are not counted beside these: each of them
is also a LOGIN event of the admin client, and would be counted twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import retention
from core.calendar import JST, add_months
from core.db import utcnow
from service.models import SignInEvent
from tenancy.identity.keycloak.realm import LOGIN_EVENTS_SECONDS

# with nothing kept yet: as far back as Keycloak keeps the events (bootstrap's expiry)
FIRST_READ = dt.timedelta(seconds=LOGIN_EVENTS_SECONDS)
MARGIN = dt.timedelta(days=1)  # read again a day before the newest kept: an event stored late is not missed


class LoginEvents(Protocol):
    def login_events(self, date_from: dt.date, date_to: dt.date) -> list[dict[str, Any]]: ...


def _event_id(event: dict[str, Any]) -> str:
    """Keycloak's id of the event (older servers gave none: its time, person, session and client)."""
    found = event.get("id")
    if found:
        return str(found)[:100]
    return ":".join(str(event.get(key) or "") for key in ("time", "userId", "sessionId", "clientId"))[:100]


def collect(session: Session, directory: LoginEvents, *, now: dt.datetime | None = None) -> int:
    """Keep the LOGIN events Keycloak has that ``sign_in_event`` has not; how many were new."""
    now = now or utcnow()
    newest = session.scalar(sa.select(sa.func.max(SignInEvent.at)))
    since = (newest - MARGIN) if newest is not None else now - FIRST_READ
    since = since.astimezone(dt.timezone.utc)
    date_from, date_to = since.date(), (now.astimezone(dt.timezone.utc) + MARGIN).date()
    events = directory.login_events(date_from, date_to)
    start = dt.datetime.combine(date_from, dt.time(), dt.timezone.utc)
    known = set(session.scalars(sa.select(SignInEvent.event_id).where(SignInEvent.at >= start - MARGIN)))
    added = 0
    for event in events:
        if event.get("type", "LOGIN") != "LOGIN" or not isinstance(event.get("time"), int):
            continue
        event_id = _event_id(event)
        if event_id in known:
            continue
        known.add(event_id)
        at = dt.datetime.fromtimestamp(event["time"] / 1000, dt.timezone.utc)
        session.add(SignInEvent(event_id=event_id, at=at, day=at.astimezone(JST).date(),
                                client_id=str(event.get("clientId") or "")[:255], user_id=str(event.get("userId") or "")[:64]))
        added += 1
    session.flush()
    return added


def purge(session: Session, now: dt.datetime | None = None) -> int:
    """Remove the sign-ins past their retention (a year, core.retention ``sign_ins``): they name a person's
    id. The monthly reports already written keep their counts."""
    cutoff = (now or utcnow()) - dt.timedelta(days=retention.kind("sign_ins").days)
    return session.execute(sa.delete(SignInEvent).where(SignInEvent.at < cutoff)).rowcount or 0


@dataclasses.dataclass(frozen=True)
class SignIns:
    total: int
    people: int
    by_client: list[tuple[str, int]]  # the most first, then by client
    by_day: list[tuple[dt.date, int]]  # Japan-time days with a sign-in, in order

    def summary(self) -> dict[str, Any]:
        return {"sign_ins": self.total, "people": self.people}


def month_counts(session: Session, month: dt.date) -> SignIns:
    """The month's sign-ins (Japan-time days), the people who signed in, per client and per day."""
    where = (SignInEvent.day >= month, SignInEvent.day < add_months(month, 1))
    total = int(session.scalar(sa.select(sa.func.count()).select_from(SignInEvent).where(*where)) or 0)
    people = int(session.scalar(sa.select(sa.func.count(sa.distinct(SignInEvent.user_id))).where(*where)) or 0)
    clients = session.execute(sa.select(SignInEvent.client_id, sa.func.count()).where(*where)
                              .group_by(SignInEvent.client_id)).all()
    days = session.execute(sa.select(SignInEvent.day, sa.func.count()).where(*where)
                           .group_by(SignInEvent.day).order_by(SignInEvent.day)).all()
    return SignIns(total, people, sorted(((c, int(n)) for c, n in clients), key=lambda row: (-row[1], row[0])),
                   [(day, int(n)) for day, n in days])
