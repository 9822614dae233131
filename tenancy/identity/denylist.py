"""The deny list: people whose access ended, so that their tokens are refused at once.

An access token stays valid until its ``exp`` even after Keycloak disables the person. When
renkei disables, removes or demotes someone (:mod:`tenancy.identity.operations`, a tenant's
suspension or withdrawal), or Keycloak reports it in its admin events
(:func:`subjects_from_admin_events`; a role taken through a group or a composite role, or a group
deleted: :func:`reaches_from_admin_events`, :func:`subjects_reached`), the person's subject is written here with the moment
(``denied_at``). Every API token check refuses a token of a listed subject **issued at or
before** ``denied_at``: a token issued afterwards (the person enabled again and signed in anew)
passes. A row is kept for ``keep_seconds`` (default one day), far beyond any access token's
lifetime (5 minutes for people, set at bootstrap), and purged by ``renkei jobs run-due``.

:class:`DenyListCache` is what the token check asks. Each process keeps the list in memory and
reads the table again when its copy is older than ``max_age`` seconds (``RENKEI_DENY_LIST_MAX_AGE``,
default 1 s) or when this process itself committed a denial. So a denial made in the same process
applies to the very next request; one made in another process (another worker, the command line)
applies within ``max_age`` seconds. ``max_age`` 0 reads the table on every request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from core.db import utcnow
from core.errors import NotFound
from tenancy.identity.models import DeniedSubject

KEEP_SECONDS = 24 * 3600

# Bumped after a commit that wrote a denial in this process: caches of this process refresh at once.
_generation = [0]
_generation_lock = threading.Lock()


def _bump(*_args: Any) -> None:
    with _generation_lock:
        _generation[0] += 1


def deny(session: Session, subjects: Iterable[str], reason: str, *, keep_seconds: int = KEEP_SECONDS,
         now: dt.datetime | None = None) -> None:
    """List ``subjects`` (in the caller's transaction): their tokens issued until now are refused."""
    now = now or utcnow()
    keep_until = now + dt.timedelta(seconds=keep_seconds)
    subjects = sorted({s for s in subjects if s})
    if not subjects:
        return
    existing = {row.subject: row for row in session.scalars(
        sa.select(DeniedSubject).where(DeniedSubject.subject.in_(subjects)))}
    for subject in subjects:
        row = existing.get(subject) or _listed_now(session, subject, now, keep_until, reason)
        if row is not None and row.denied_at < now:  # an older denial is moved forward, never back
            row.denied_at, row.keep_until, row.reason = now, keep_until, reason[:64]
    session.flush()
    actual = session() if isinstance(session, scoped_session) else session
    sa.event.listen(actual, "after_commit", _bump, once=True)


def _listed_now(session: Session, subject: str, now: dt.datetime, keep_until: dt.datetime,
                reason: str) -> DeniedSubject | None:
    """List a subject not listed when read: None once listed. Another transaction may list the same
    subject in between (the admin-events reader denies the person whose roles an admin has just taken
    away): its row stands, and is returned to be moved forward, rather than failing the caller's act."""
    try:
        with session.begin_nested():
            session.add(DeniedSubject(subject=subject, denied_at=now, keep_until=keep_until, reason=reason[:64]))
            session.flush()
        return None
    except IntegrityError:
        return session.get(DeniedSubject, subject, populate_existing=True)  # None where a snapshot hides it


def purge(session: Session, now: dt.datetime | None = None) -> int:
    """Drop the rows kept long enough (every token they refuse has expired); returns how many."""
    result = session.execute(sa.delete(DeniedSubject).where(DeniedSubject.keep_until <= (now or utcnow())))
    return int(result.rowcount or 0)


def load(session: Session, now: dt.datetime | None = None) -> dict[str, float]:
    """subject → denied_at (POSIX seconds) of every row still kept."""
    rows = session.execute(sa.select(DeniedSubject.subject, DeniedSubject.denied_at)
                           .where(DeniedSubject.keep_until > (now or utcnow())))
    return {subject: denied_at.timestamp() for subject, denied_at in rows}


class DenyListCache:
    """One process's copy of the deny list (see the module's text for its staleness bound)."""

    def __init__(self, max_age: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._denied: dict[str, float] = {}
        self._loaded_at: float | None = None
        self._generation = -1
        self._lock = threading.Lock()

    def refused(self, session: Session, subject: str, issued_at: float | None) -> bool:
        """Whether a token of ``subject`` issued at ``issued_at`` (its ``iat``) must be refused."""
        now = self._clock()
        if self._stale(now):
            generation = _generation[0]
            denied = load(session)
            with self._lock:
                self._denied, self._loaded_at, self._generation = denied, now, generation
        return self._names(subject, issued_at)

    def _stale(self, now: float) -> bool:
        """The copy is due to be read again: never read, older than its bound, or a change committed since."""
        return self._loaded_at is None or now - self._loaded_at >= self.max_age or self._generation != _generation[0]

    def _names(self, subject: str, issued_at: float | None) -> bool:
        """The copy refuses a token of ``subject`` issued at ``issued_at`` (no later than the denial)."""
        denied_at = self._denied.get(subject)
        return denied_at is not None and (issued_at is None or float(issued_at) <= denied_at)


# --- Keycloak's admin events --------------------------------------------------------------------

def subjects_from_admin_events(events: Iterable[dict[str, Any]]) -> dict[str, tuple[str, dt.datetime]]:
    """The user ids whose access ended according to Keycloak's admin events: user deleted,
    disabled (the event's representation has ``enabled: false``), signed out by an administrator,
    or a realm role, client role or group taken from them (REALM_ROLE_MAPPING, CLIENT_ROLE_MAPPING
    and GROUP_MEMBERSHIP events with DELETE: a token issued before names roles the person no longer
    has; one issued after the event names the smaller set and is accepted). Returns user id →
    (reason, the latest such event's time)."""
    found: dict[str, tuple[str, dt.datetime]] = {}
    for user_id, reason, at in _ended(events):
        if user_id not in found or found[user_id][1] < at:
            found[user_id] = (reason, at)
    return found


# A mapping taken from a user: its resource type → the path's third segment ("users/ID/<segment>/…")
_MAPPINGS_TAKEN = {"REALM_ROLE_MAPPING": "role-mappings", "CLIENT_ROLE_MAPPING": "role-mappings",
                   "GROUP_MEMBERSHIP": "groups"}


def _ended(events: Iterable[dict[str, Any]]):
    for event in events:
        path = event.get("resourcePath") or ""
        if not path.startswith("users/"):
            continue
        if event.get("resourceType") in _MAPPINGS_TAKEN:
            yield from _mapping_taken(event, path.split("/"))
            continue
        if event.get("resourceType") != "USER":
            continue
        parts = path.split("/")
        user_id, operation = parts[1], event.get("operationType")
        at = dt.datetime.fromtimestamp(int(event.get("time", 0)) / 1000, dt.timezone.utc)
        if operation == "DELETE" and len(parts) == 2:
            yield user_id, "deleted in Keycloak", at
        elif operation == "UPDATE" and len(parts) == 2:
            compact = (event.get("representation") or "").replace(" ", "")
            if '"enabled":false' in compact:
                yield user_id, "disabled in Keycloak", at
        elif operation == "ACTION" and len(parts) >= 3 and parts[2] == "logout":
            yield user_id, "signed out in Keycloak", at


def _mapping_taken(event: dict[str, Any], parts: list[str]):
    """A role or group taken from a user (``users/ID/role-mappings/…``, ``users/ID/groups/GID``)."""
    if event.get("operationType") == "DELETE" and len(parts) >= 3 and parts[2] == _MAPPINGS_TAKEN[event["resourceType"]]:
        yield parts[1], "roles changed in Keycloak", dt.datetime.fromtimestamp(int(event.get("time", 0)) / 1000,
                                                                              dt.timezone.utc)


# --- changes that reach more than one person: a group's roles, a composite role, a group deleted ---

@dataclasses.dataclass(frozen=True)
class Reach:
    """An admin event whose people must be asked of Keycloak: ``kind`` is ``group`` (a role taken from
    the group ``ref``), ``composite`` (a role taken from the composite role at the path ``ref``) or
    ``deleted group`` (the group ``ref`` deleted); ``at`` is the event's time."""

    kind: str
    ref: str
    at: dt.datetime


def reaches_from_admin_events(events: Iterable[dict[str, Any]]) -> list[Reach]:
    """The admin events that end the access of everyone they reach, not of one named person: a realm
    or client role taken from a group (``groups/ID/role-mappings/…``, DELETE: its members and its
    subgroups' members), a role taken from a composite role (``roles/NAME/composites``,
    ``roles-by-id/ID/composites``, ``clients/ID/roles/NAME/composites``, DELETE: the composite's holders,
    directly, through groups or through another composite), and a group deleted (``groups/ID``, DELETE:
    its members, who lost its roles and its place in the token's groups). A person taken out of a group
    is a user's own event (:func:`subjects_from_admin_events`)."""
    found: list[Reach] = []
    for event in events:
        if event.get("operationType") != "DELETE":
            continue
        parts = (event.get("resourcePath") or "").split("/")
        kind, at = event.get("resourceType"), _time(event)
        if kind in _MAPPINGS_TAKEN and parts[0] == "groups" and len(parts) >= 3 and parts[2] == "role-mappings":
            found.append(Reach("group", parts[1], at))
        elif kind in ("REALM_ROLE", "CLIENT_ROLE") and parts[-1] == "composites" and len(parts) >= 3:
            found.append(Reach("composite", "/".join(parts[:-1]), at))
        elif kind == "GROUP" and parts[0] == "groups" and len(parts) == 2 and parts[1]:
            found.append(Reach("deleted group", parts[1], at))
    return found


def subjects_reached(directory, reaches: Iterable[Reach]) -> tuple[dict[str, tuple[str, dt.datetime]], list[str]]:
    """The people each reach ends (asked of Keycloak through ``directory``), as
    :func:`subjects_from_admin_events` returns them (reason "roles changed in Keycloak"), and what could
    not be followed, in words for the log (a composite role deleted since: its holders are no longer
    known; their tokens end at expiry). Keycloak not answering raises (the caller reads the events again).
    A group deleted since a role was taken from it is followed as a deleted group."""
    found: dict[str, tuple[str, dt.datetime]] = {}
    unknown: list[str] = []
    for reach in reaches:
        try:
            people = _people_reached(directory, reach)
        except NotFound:
            unknown.append(f"{reach.kind} {reach.ref}: no longer in Keycloak, its people cannot be listed")
            continue
        for user_id in people:
            if user_id not in found or found[user_id][1] < reach.at:
                found[user_id] = ("roles changed in Keycloak", reach.at)
    return found, unknown


def _people_reached(directory, reach: Reach) -> set[str]:
    if reach.kind == "composite":
        return directory.composite_holder_ids(reach.ref)
    if reach.kind == "group":
        try:
            return directory.group_member_ids(reach.ref)
        except NotFound:  # deleted since: its members as the events recorded them
            pass
    return directory.former_group_member_ids(reach.ref)


def _time(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(event.get("time", 0)) / 1000, dt.timezone.utc)
