"""The people index (issue 38 item 2): the header's search finds people in renkei's copy of Keycloak's
people, kept current by Keycloak's admin events (the reader that fills the deny list), by renkei's own
acts, and rebuilt by `renkei keycloak people-reindex`; always within the users list's scope. Real
Keycloak (the suite's realm); the admin events are read by running the reader once, as its thread does."""

from __future__ import annotations

import datetime as dt
import html
import re
import time
import uuid

import pytest
import sqlalchemy as sa

from tests.conftest import sign_in

pytestmark = pytest.mark.keycloak

A, B = "431001", "432024"  # 熊本市, 八代市
HIT = re.compile(r'<li><a href="[^"]+" translate="no">([^<]+)</a>')


def _found(client, text: str) -> list[str]:
    response = client.get("/admin/search/", query_string={"q": text, "lang": "ja"})
    assert response.status_code == 200
    return [html.unescape(title) for title in HIT.findall(response.get_data(as_text=True))]


def _found_as(client, who: str, text: str) -> list[str]:
    _as(client, who)
    return _found(client, text)


def _as(client, who: str) -> None:
    if who == "operator":
        sign_in(client)
    else:
        sign_in(client, ("municipal-admin",), ({"admin of A": A, "admin of B": B}[who],))


@pytest.fixture(autouse=True)
def no_reader_thread(app, monkeypatch):
    """These tests read the admin events themselves (:func:`_read_events`), when they say. The process's own
    reader thread (started by any earlier API request of this worker, every second) would otherwise index a
    person made in Keycloak at a moment of its choosing: whether a test saw the index drift would depend on time."""
    monkeypatch.setitem(app.config, "RENKEI_ADMIN_EVENTS_INTERVAL", 0)


@pytest.fixture
def places(tenant_factory, directory, db):
    tenant_factory(A)
    tenant_factory(B)
    db.commit()
    for code in (A, B):
        directory.ensure_tenant_group(code)


def _person(directory, code: str, last: str) -> tuple[str, str]:
    """A person made in Keycloak's admin API directly (not through renkei), in ``code``'s group."""
    username = f"index-{uuid.uuid4().hex[:8]}"
    user_id = directory.create_user(username, f"{username}@example.jp", "花子", last, password="Index-password-1")
    directory.add_to_tenant(user_id, code)
    return user_id, f"{last} 花子"


def _read_events(app, since: float) -> None:
    """Run the admin-events reader once over the events since ``since`` (what its thread does each
    interval). Keycloak writes an event as it answers; one not yet readable is read again."""
    from admin import admin_events

    poller = admin_events.AdminEventsPoller(app)
    poller.since_ms = int(since * 1000) - 1000
    with app.app_context():
        assert poller.poll_once()


def _rebuild(app):
    from admin.extensions import db as app_db
    from admin.identity import identity_directory
    from tenancy.identity import people_index

    with app.app_context():
        people_index.rebuild(app_db.session, identity_directory())
        app_db.session.commit()


def _wait_until(check, what: str) -> None:
    """Poll ``check`` with a generous deadline (a slower machine only waits longer)."""
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)  # polling a condition (the event readable in Keycloak), with a deadline


def test_before_the_first_rebuild_the_search_asks_keycloak_and_after_it_reads_the_index(app, client, places, directory,
                                                                                      db):
    _user_id, name = _person(directory, A, f"索引前{uuid.uuid4().hex[:4]}")
    _as(client, "operator")
    page = client.get("/admin/search/", query_string={"q": name.split()[0], "lang": "ja"}).get_data(as_text=True)
    assert name in _found(client, name.split()[0]) and "data-as-of" not in page  # from Keycloak itself
    _rebuild(app)
    page = client.get("/admin/search/", query_string={"q": name.split()[0], "lang": "ja"}).get_data(as_text=True)
    assert name in _found(client, name.split()[0]) and "data-as-of" in page and "時点" in page


def test_a_person_made_in_keycloak_appears_after_the_event_reader_and_only_in_their_municipalitys_scope(
        app, client, places, directory):
    _rebuild(app)
    started = time.time()
    user_id, name = _person(directory, A, f"索引甲{uuid.uuid4().hex[:4]}")
    last = name.split()[0]
    _as(client, "operator")
    assert name not in _found(client, last)  # the index does not know them yet

    def seen() -> bool:
        _read_events(app, started)
        return name in _found(client, last)

    _wait_until(seen, "the person created in Keycloak never reached the index")
    _as(client, "admin of A")
    assert name in _found(client, last)
    _as(client, "admin of B")
    assert name not in _found(client, last)  # another municipality's admin never sees them

    # taken out of 熊本市's group in Keycloak directly: gone from its admin's results, still the operator's
    started = time.time()
    directory.remove_from_tenant(user_id, A)
    _as(client, "admin of A")

    def gone() -> bool:
        _read_events(app, started)
        return name not in _found(client, last)

    _wait_until(gone, "the person taken out of the group still showed to the municipality's admin")
    _as(client, "operator")
    assert name in _found(client, last)
    _as(client, "admin of B")
    assert name not in _found(client, last)

    started = time.time()
    directory.delete_user(user_id)
    _as(client, "operator")

    def deleted() -> bool:
        _read_events(app, started)
        return name not in _found(client, last)

    _wait_until(deleted, "the person deleted in Keycloak still showed")


def test_a_person_invited_through_renkei_is_found_at_once_without_any_event_read(app, client, places, directory, db,
                                                                               operator):
    from tenancy.identity import operations as identity

    _rebuild(app)
    username = f"invited-{uuid.uuid4().hex[:8]}"
    identity.invite_user(db, operator, directory, B, identity.Invitation(
        username, f"{username}@example.jp", "次郎", "招待乙", frozenset({"municipal-staff"})))
    db.commit()
    _as(client, "admin of B")
    assert "招待乙 次郎" in _found(client, username)
    _as(client, "admin of A")
    assert "招待乙 次郎" not in _found(client, username)


def test_reindex_rebuilds_what_drifted(app, client, places, directory, db):
    from tenancy.identity import people_index
    from tenancy.identity.keycloak import Account
    from tenancy.identity.models import IndexedPerson, PeopleIndexState

    _rebuild(app)
    user_id, name = _person(directory, B, f"再構築{uuid.uuid4().hex[:4]}")  # no event read: the index drifted

    ghost = Account(id=str(uuid.uuid4()), username="ghost-of-b", email="ghost@example.jp", first_name="名前",
                    last_name="古い", enabled=True, roles=frozenset(), tenant_codes=frozenset({B}))
    people_index.record_person(db, ghost)  # a person Keycloak does not hold (deleted while no reader ran)
    db.commit()
    assert "古い 名前" in _found_as(client, "admin of B", "古い")
    _as(client, "admin of B")
    assert name not in _found(client, name.split()[0])
    result = app.test_cli_runner().invoke(args=["keycloak", "people-reindex", "--as", "index-test"])
    assert result.exit_code == 0, result.output
    assert "再構築しました" in result.output
    assert name in _found(client, name.split()[0])
    assert "古い 名前" not in _found(client, "古い")
    db.expire_all()
    state = db.get(PeopleIndexState, 1)
    assert state.people >= 1 and state.reindexed_at > dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    people = db.scalar(sa.select(sa.func.count()).select_from(IndexedPerson))
    assert state.people == people and db.get(IndexedPerson, user_id).enabled is True


def test_the_index_holds_no_secret(app, places, directory, db):
    from tenancy.identity.models import IndexedMembership, IndexedPerson

    user_id, _name = _person(directory, A, "秘密無")
    _rebuild(app)
    row = db.get(IndexedPerson, user_id)
    assert "Index-password-1" not in repr(row.model_dump()).lower()
    assert set(IndexedPerson.__table__.c.keys()) == {
        "user_id", "username", "first_name", "last_name", "display_name", "kana", "email", "enabled", "indexed_at"}
    assert set(db.scalars(sa.select(IndexedMembership.tenant_code).where(IndexedMembership.user_id == user_id))) == {A}


def test_a_person_is_found_by_the_beginning_of_each_word_of_their_name_address_and_reading(app, client, places, db):
    from tenancy.identity import people_index
    from tenancy.identity.keycloak import Account

    _rebuild(app)
    person = Account(id=str(uuid.uuid4()), username="taro.yamakawa", email="t-yamakawa@city.example.jp",
                     first_name="太郎", last_name="山川", enabled=True, roles=frozenset(), tenant_codes=frozenset({A}))
    people_index.record_person(db, person, kana="ヤマカワ タロウ")
    db.commit()
    for text in ("山川", "山川太郎", "山川 太", "太郎", "やまかわ", "ﾔﾏｶﾜ", "taro", "YAMAKAWA", "t-yamakawa@city",
                 "city.example", "taro.yamakawa"):
        assert "山川 太郎" in _found_as(client, "admin of A", text), text
    assert "山川 太郎" not in _found_as(client, "admin of A", "山川 次郎")  # every word must be found
    assert "山川 太郎" not in _found_as(client, "admin of B", "山川")
