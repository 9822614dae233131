"""The people index: the realm's people as the search box finds them, kept in renkei's database
(issue 38: asking Keycloak's search took about 1 s for a realm of 10,000; reading its groups 200 ms).

Keycloak stays the source of truth. For each of its users the index holds the id, username, names
(and a reading where the realm carries one), e-mail, whether the account is enabled, and the
``/tenants/<code>`` groups they belong to (:class:`IndexedMembership`, what the users list's scope is
checked against); no password or secret. It is kept current three ways:

* :func:`rebuild` (``renkei keycloak people-reindex``, and the ``people-reindex`` job of ``renkei jobs
  run-due``): every person read again, the index replaced in one transaction (start, and any drift);
* :func:`apply_events`: Keycloak's admin events, read by the thread that also fills the deny list
  (:mod:`admin.admin_events`, one reader): a user created, updated or deleted, a group membership
  added or taken; each person named is read again from Keycloak (or removed when Keycloak has none);
* renkei's own acts on people (:mod:`tenancy.identity.operations`, the onboarding saga) write their
  change here in the same transaction: :func:`record_person`, :func:`record_enabled`, :func:`record_left`.

:func:`as_of` is the time the index was last known to match Keycloak (its rebuild, or the newest
event or act applied); ``None`` while it was never built, and the search then asks Keycloak as before.
The scope of a search is the caller's: :func:`find` is given the tenant codes (or ``None``: all).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import search
from core.db import utcnow
from core.errors import NotFound
from tenancy.identity.keycloak import Account
from tenancy.identity.models import IndexedMembership, IndexedPerson, IndexedWord, PeopleIndexState

_PERSON = IndexedPerson.__table__
_MEMBERSHIP = IndexedMembership.__table__
_STATE = PeopleIndexState.__table__
_WORD = IndexedWord.__table__


@dataclasses.dataclass(frozen=True)
class Indexed:
    """People found in the index: the first of them as accounts (with their tenants), how many match
    (up to :data:`core.search.COUNTED`), whether more do, and when the index was last in step."""

    people: list[Account]
    total: int
    capped: bool
    as_of: dt.datetime


_PIECES = re.compile(r"[\s._@+\-]+")
_WORD_CHARS = 80  # a word's first characters kept (hex of UTF-8: at most 480 of the column's 512)


def _hex(word: str) -> str:
    return word[:_WORD_CHARS].encode().hex()


def words_of(account: Account, kana: str = "") -> set[str]:
    """What a person is found by: their username, e-mail, family and given names, the two together,
    their reading (as typed and in katakana), each lower-cased (NFKC), whole and in its pieces (split at
    white space and . _ @ + -). A query finds a person when each of its words begins one of these."""
    whole = (account.username, account.email, account.last_name, account.first_name,
             f"{account.last_name}{account.first_name}", kana, kana.replace(" ", ""), search.katakana(kana),
             search.katakana(kana).replace(" ", ""))
    found: set[str] = set()
    for text in whole:
        text = unicodedata.normalize("NFKC", text or "").lower().strip()
        if text:
            found.add(text[:_WORD_CHARS])
            found.update(piece[:_WORD_CHARS] for piece in _PIECES.split(text) if piece)
    return found


def _word_rows(account: Account, kana: str) -> list[dict[str, str]]:
    return [{"word": w, "user_id": account.id} for w in sorted({_hex(word) for word in words_of(account, kana)})]


def _begins(word: str, words=None, *, by_range: bool = True):
    """The index's words (``words``: an alias of the table) that begin with ``word`` or with its hiragana
    as katakana: ranges of hex digits (``g`` sorts after them all, in any collation). ``by_range`` False:
    the test is written so that no index serves it (``word || ''``), for a person's few words read by
    their id (SQLite would otherwise walk the word's whole range once per person)."""
    words = _WORD if words is None else words
    key = words.c.word if by_range else sa.type_coerce(words.c.word.op("||")(sa.literal_column("''")), sa.String)
    return sa.or_(*(sa.and_(key >= start, key < start + "g")
                    for start in sorted({_hex(word), _hex(search.katakana(word))})))


_COLUMNS = ("username", "user_id", "email", "first_name", "last_name", "enabled")


def _matching(session: Session, words: list[str], codes: list[str] | None) -> list[tuple]:
    """At most :data:`core.search.COUNTED` + 1 people (rows of :data:`_COLUMNS`) with a word beginning
    with each of ``words``, within ``codes`` (None: everyone). For everyone, the first word's range is
    read in key order, as far as the first people found (:func:`_everyone`: a common name's range holds
    thousands, and neither it nor a DISTINCT over it is read whole); within tenants, their few people
    are each asked for their words by their id."""
    columns = [_PERSON.c[name] for name in _COLUMNS]
    if codes is not None:
        query = sa.select(*columns).where(_PERSON.c.user_id.in_(
            sa.select(_MEMBERSHIP.c.user_id).where(_MEMBERSHIP.c.tenant_code.in_(codes))))
        return [tuple(row) for row in session.execute(_having(query, _PERSON.c.user_id, words).limit(search.COUNTED + 1))]
    ids = _everyone(session, words)
    return [tuple(row) for row in session.execute(sa.select(*columns).where(_PERSON.c.user_id.in_(ids)))] if ids else []


_CHUNK = 500  # keys of the first word's range read at a time


def _everyone(session: Session, words: list[str]) -> list[str]:
    """The ids of at most :data:`core.search.COUNTED` + 1 people of the whole index with a word beginning
    with each of ``words``: the first word's range read :data:`_CHUNK` keys at a time in key order, each
    chunk's people kept when they have the other words too, until enough are found or the range ends."""
    found: dict[str, None] = {}
    after: tuple[str, str] | None = None
    while len(found) <= search.COUNTED:
        query = sa.select(_WORD.c.word, _WORD.c.user_id).where(_begins(words[0]))
        if after is not None:
            query = query.where(sa.tuple_(_WORD.c.word, _WORD.c.user_id) > after)
        chunk = session.execute(query.order_by(_WORD.c.word, _WORD.c.user_id).limit(_CHUNK)).all()
        ids = [user_id for _word, user_id in chunk if user_id not in found]
        for word in words[1:]:
            if ids:
                kept = set(session.scalars(sa.select(_WORD.c.user_id).where(
                    _WORD.c.user_id.in_(sorted(set(ids))), _begins(word, by_range=False))))
                ids = [user_id for user_id in ids if user_id in kept]
        found.update(dict.fromkeys(ids))
        if len(chunk) < _CHUNK:
            break
        after = tuple(chunk[-1])
    return list(found)[:search.COUNTED + 1]


def _having(query, user_id, words: list[str]):
    """``query`` narrowed to the people (``user_id``) with a word beginning with each of ``words``."""
    for word in words:
        own = _WORD.alias()
        query = query.where(sa.exists().where(own.c.user_id == user_id, _begins(word, own, by_range=False)))
    return query


def _row(account: Account, kana: str, now: dt.datetime) -> dict[str, Any]:
    return {"user_id": account.id, "username": account.username, "first_name": account.first_name or "",
            "last_name": account.last_name or "", "display_name": account.display_name, "kana": kana,
            "email": account.email or "", "enabled": bool(account.enabled), "indexed_at": now}


# --- reading -------------------------------------------------------------------------------------

def as_of(session: Session) -> dt.datetime | None:
    """When the index last matched Keycloak (rebuilt, or an event or act applied); None: never built."""
    row = session.execute(sa.select(_STATE.c.reindexed_at, _STATE.c.updated_at).where(_STATE.c.id == 1)).first()
    return None if row is None else max(row.reindexed_at, row.updated_at)


def rebuilt_at(session: Session) -> dt.datetime | None:
    """When the index was last rebuilt from Keycloak (None: never)."""
    return session.scalar(sa.select(_STATE.c.reindexed_at).where(_STATE.c.id == 1))


def find(session: Session, query: search.Query, codes: Iterable[str] | None, limit: int) -> Indexed | None:
    """The indexed people with a word (:func:`words_of`) beginning with each word of the query (split as
    the words are; or its hiragana as katakana), within the tenants ``codes`` (None: everyone); by username. None when the
    index was never built. Each query word is one range of the words' key, not a scan of the people."""
    when = as_of(session)
    if when is None:
        return None
    words = [piece for piece in _PIECES.split(query.folded) if piece] or [query.folded]
    if codes is not None:
        codes = sorted(set(codes))
        if not codes:
            return Indexed([], 0, False, when)
    found = _matching(session, words, codes)
    rows = sorted(found, key=lambda row: (row[0], row[1]))[:limit]
    total, capped = min(len(found), search.COUNTED), len(found) > search.COUNTED
    tenants: dict[str, set[str]] = {}
    if rows:
        for user_id, code in session.execute(sa.select(_MEMBERSHIP.c.user_id, _MEMBERSHIP.c.tenant_code)
                                             .where(_MEMBERSHIP.c.user_id.in_([r[1] for r in rows]))):
            tenants.setdefault(user_id, set()).add(code)
    people = [Account(id=user_id, username=username, email=email, first_name=first, last_name=last, enabled=enabled,
                      roles=frozenset(), tenant_codes=frozenset(tenants.get(user_id, ())))
              for username, user_id, email, first, last, enabled in rows]
    return Indexed(people, total, capped, when)


# --- writing -------------------------------------------------------------------------------------

def _touch(session: Session, now: dt.datetime, *, rebuilt: int | None = None) -> None:
    """Note the index brought up to date at ``now`` (by a rebuild of ``rebuilt`` people, or a change).
    Every write of the index does this first: the state's one row is the index's lock, taken before any
    person's rows, so that two writers (each process's admin-events reader, a request's own act) wait for
    each other rather than each hold a person the other needs (PostgreSQL's deadlock)."""
    if rebuilt is not None:
        values = {"reindexed_at": now, "updated_at": now, "people": rebuilt}
    else:
        values = {"updated_at": sa.case((_STATE.c.updated_at < now, now), else_=_STATE.c.updated_at)}
    if session.execute(sa.update(_STATE).where(_STATE.c.id == 1).values(**values)).rowcount:
        return
    if rebuilt is not None:  # a change before the first rebuild leaves the index "never built"
        session.execute(sa.insert(_STATE).values(id=1, **values))


def _write(session: Session, account: Account, kana: str, now: dt.datetime) -> None:
    session.execute(sa.delete(_PERSON).where(_PERSON.c.user_id == account.id))
    session.execute(sa.delete(_MEMBERSHIP).where(_MEMBERSHIP.c.user_id == account.id))
    session.execute(sa.delete(_WORD).where(_WORD.c.user_id == account.id))
    session.execute(sa.insert(_PERSON).values(**_row(account, kana, now)))
    session.execute(sa.insert(_WORD), _word_rows(account, kana))
    if account.tenant_codes:
        session.execute(sa.insert(_MEMBERSHIP), [{"user_id": account.id, "tenant_code": c}
                                                  for c in sorted(account.tenant_codes)])


def _forget(session: Session, user_id: str) -> None:
    session.execute(sa.delete(_MEMBERSHIP).where(_MEMBERSHIP.c.user_id == user_id))
    session.execute(sa.delete(_WORD).where(_WORD.c.user_id == user_id))
    session.execute(sa.delete(_PERSON).where(_PERSON.c.user_id == user_id))


def record_person(session: Session, account: Account, kana: str = "", now: dt.datetime | None = None) -> None:
    """``account`` as it now is in Keycloak (with its tenants), written in the caller's transaction.
    Another process writing the same person at the same moment (each process reads the admin events)
    is not an error: the row written last stands, both read from Keycloak."""
    now = now or utcnow()
    _touch(session, now)
    try:
        with session.begin_nested():
            _write(session, account, kana, now)
    except IntegrityError:
        with session.begin_nested():
            _write(session, account, kana, now)


def record_joined(session: Session, account: Account, now: dt.datetime | None = None) -> None:
    """A person put into ``account.tenant_codes`` by renkei, with the name and address given: their
    other tenants, as the index holds them, are kept (their reading too)."""
    held = set(session.scalars(sa.select(_MEMBERSHIP.c.tenant_code).where(_MEMBERSHIP.c.user_id == account.id)))
    kana = session.scalar(sa.select(_PERSON.c.kana).where(_PERSON.c.user_id == account.id)) or ""
    record_person(session, dataclasses.replace(account, tenant_codes=frozenset(held | account.tenant_codes)), kana, now)


def record_enabled(session: Session, user_id: str, enabled: bool, now: dt.datetime | None = None) -> None:
    """A person enabled or disabled by renkei (in the caller's transaction)."""
    now = now or utcnow()
    _touch(session, now)
    session.execute(sa.update(_PERSON).where(_PERSON.c.user_id == user_id).values(enabled=enabled, indexed_at=now))


def record_left(session: Session, user_id: str, code: str | None = None, now: dt.datetime | None = None) -> None:
    """A person taken out of tenant ``code`` by renkei, or (``code`` None) deleted (caller's transaction)."""
    now = now or utcnow()
    _touch(session, now)
    if code is None:
        _forget(session, user_id)
    else:
        session.execute(sa.delete(_MEMBERSHIP).where(_MEMBERSHIP.c.user_id == user_id, _MEMBERSHIP.c.tenant_code == code))


def _read(directory, user_id: str) -> tuple[Account, str] | None:
    """``user_id`` as Keycloak now holds them, with their reading; None: Keycloak has no such user."""
    try:
        return directory.person(user_id)
    except NotFound:
        return None


def _apply(session: Session, user_id: str, read: tuple[Account, str] | None, now: dt.datetime | None = None) -> bool:
    """Write ``user_id`` as :func:`_read` read them (or remove them: Keycloak had no such user)."""
    if read is None:
        _touch(session, now or utcnow())
        _forget(session, user_id)
        return False
    record_person(session, *read, now)
    return True


# Keycloak's admin events that change what the index holds of a person: resource type → operations
_CHANGES = {"USER": {"CREATE", "UPDATE", "DELETE"}, "GROUP_MEMBERSHIP": {"CREATE", "DELETE"}}


def people_changed(events: Iterable[dict[str, Any]]) -> dict[str, dt.datetime]:
    """The user ids whose entry in the index the admin events change (user created, updated or
    deleted; a group joined or left), each with the time of its newest such event."""
    changed: dict[str, dt.datetime] = {}
    for event in events:
        parts = (event.get("resourcePath") or "").split("/")
        if parts[0] != "users" or len(parts) < 2 or not parts[1]:
            continue
        if event.get("operationType") not in _CHANGES.get(event.get("resourceType") or "", ()):
            continue
        at = dt.datetime.fromtimestamp(int(event.get("time", 0)) / 1000, dt.timezone.utc)
        if parts[1] not in changed or changed[parts[1]] < at:
            changed[parts[1]] = at
    return changed


def apply_events(session: Session, directory, events: Iterable[dict[str, Any]]) -> int:
    """Bring the people the admin events name up to date (each read again from Keycloak, in the
    caller's transaction); returns how many. Nothing is written while the index was never built."""
    changed = people_changed(events)
    if not changed or as_of(session) is None:
        return 0
    # all read from Keycloak before the first write: the index's lock (:func:`_touch`) is not held
    # while Keycloak answers
    read = {user_id: _read(directory, user_id) for user_id in sorted(changed)}
    for user_id, person in read.items():
        _apply(session, user_id, person)
    return len(changed)


def rebuild(session: Session, directory, now: dt.datetime | None = None) -> int:
    """Replace the index with every person Keycloak holds now (in the caller's transaction); how many."""
    now = now or utcnow()
    people = directory.all_people()
    _touch(session, now, rebuilt=len(people))
    session.execute(sa.delete(_MEMBERSHIP))
    session.execute(sa.delete(_WORD))
    session.execute(sa.delete(_PERSON))
    rows = [_row(account, kana, now) for account, kana in people]
    for start in range(0, len(rows), 2000):
        session.execute(sa.insert(_PERSON), rows[start:start + 2000])
    memberships = [{"user_id": a.id, "tenant_code": c} for a, _ in people for c in sorted(a.tenant_codes)]
    for start in range(0, len(memberships), 5000):
        session.execute(sa.insert(_MEMBERSHIP), memberships[start:start + 5000])
    words = [row for account, kana in people for row in _word_rows(account, kana)]
    for start in range(0, len(words), 10000):
        session.execute(sa.insert(_WORD), words[start:start + 10000])
    return len(rows)
