"""Issue 36: Keycloak's admin events are read by a thread of the process, never by a request.

With Keycloak frozen, a request with a valid token waited 6 s about once a second per worker: the
poll ran inside it. Here Keycloak is a stand-in whose admin-events read blocks until the test lets
it go (a frozen server accepts and never answers), and tokens are checked by a stand-in validator:
no real Keycloak is needed to see who calls it. The real freeze is in tests/identity/test_keycloak_down.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest

from admin import admin_events

PATIENCE = 60  # seconds: generous waits for a condition, never a measured time


class FrozenKeycloak:
    """Admin events that hang while frozen; each read's thread is recorded."""

    def __init__(self) -> None:
        self.thawed = threading.Event()
        self.reading = threading.Event()
        self.callers: list[int] = []
        self.events: list[dict] = []

    def admin_events(self, since_ms: int, **_):
        self.callers.append(threading.get_ident())
        self.reading.set()
        if not self.thawed.wait(PATIENCE):
            raise TimeoutError("frozen")
        events, self.events = self.events, []
        return events


class Validator:
    """Every token is valid and names ``subject``, issued a minute ago."""

    def __init__(self, subject: str) -> None:
        self.subject = subject

    def claims(self, _token: str) -> dict:
        return {"iss": "urn:test", "sub": self.subject, "iat": int(time.time()) - 60, "name": "凍結 試験",
                "realm_access": {"roles": ["municipal-staff"]}}


@pytest.fixture
def frozen(app, monkeypatch):
    keycloak = FrozenKeycloak()
    keycloak.subject = str(uuid.uuid4())  # a person of this test's own (the deny list outlives a test in memory)
    monkeypatch.setitem(app.extensions, "renkei_identity", keycloak)
    monkeypatch.setitem(app.extensions, "renkei_token_validator", Validator(keycloak.subject))
    monkeypatch.setitem(app.config, "RENKEI_ADMIN_EVENTS_INTERVAL", 0.05)
    monkeypatch.delitem(app.extensions, admin_events.EXTENSION, raising=False)
    yield keycloak
    keycloak.thawed.set()
    poller = app.extensions.pop(admin_events.EXTENSION, None)
    if poller is not None:
        poller.stop()


def me(client):
    return client.get("/api/v1/me", headers={"Authorization": "Bearer any"})


def test_a_request_never_waits_for_a_frozen_keycloak_and_a_disable_there_still_ends_access(app, client, db, frozen):
    assert me(client).status_code == 200  # the first API request starts the process's reader
    assert frozen.reading.wait(PATIENCE)  # the reader is inside Keycloak, which does not answer
    for _ in range(5):  # requests go on while the read hangs, and none of them reads Keycloak
        assert me(client).status_code == 200
    assert threading.get_ident() not in frozen.callers and frozen.callers  # no Keycloak call on the request path

    # thawed: Keycloak reports the person disabled in its console; the next requests refuse the token
    frozen.events = [{"time": int(time.time() * 1000), "resourceType": "USER", "operationType": "UPDATE",
                      "resourcePath": f"users/{frozen.subject}", "representation": '{"enabled": false}'}]
    frozen.thawed.set()
    deadline = time.monotonic() + PATIENCE
    answer = me(client)
    while answer.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the condition (refused), with a deadline
        answer = me(client)
    assert answer.status_code == 401 and "disabled" in answer.get_json()["detail_en"]
    assert threading.get_ident() not in frozen.callers


def test_a_failing_read_backs_off_and_a_success_returns_to_the_interval(app, monkeypatch):
    poller = admin_events.AdminEventsPoller(app)
    monkeypatch.setitem(app.config, "RENKEI_ADMIN_EVENTS_BACKOFF_MAX", 5)  # put back as it was, not removed
    waits = []
    for failures in range(5):
        poller.failures = failures
        waits.append(poller.next_wait(1.0, app))
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]  # doubled after each failure, up to the bound


def test_reading_stops_when_switched_off_and_no_thread_starts(app, client, db, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_ADMIN_EVENTS_INTERVAL", 0)
    assert me(client).status_code == 200
    assert admin_events.EXTENSION not in app.extensions and not frozen.callers


def test_the_read_since_moves_on_only_after_the_events_were_acted_upon(app, db, monkeypatch):
    """A write that fails (the database away for a moment) leaves the events to be read again."""
    from tenancy.identity import denylist

    keycloak = FrozenKeycloak()
    keycloak.thawed.set()
    at = int(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000)
    keycloak.events = [{"time": at, "resourceType": "USER", "operationType": "DELETE", "resourcePath": f"users/{uuid.uuid4()}"}]
    monkeypatch.setitem(app.extensions, "renkei_identity", keycloak)

    def failing(*_args, **_kwargs):
        raise RuntimeError("database away")

    monkeypatch.setattr(denylist, "deny", failing)
    poller = admin_events.AdminEventsPoller(app)
    before = poller.since_ms
    with app.app_context():
        assert poller.poll_once() is False
    assert poller.since_ms == before


def test_a_group_whose_members_cannot_be_listed_is_read_again_and_holds_no_other_denial_back(app, db, monkeypatch,
                                                                                              caplog):
    """Fail closed as a failed read does: Keycloak not answering about a group's members is logged and the
    events are read again (the group's people are denied once Keycloak answers); a person the same events
    name is denied meanwhile."""
    from core.errors import Unavailable
    from tenancy.identity.models import DeniedSubject

    keycloak = FrozenKeycloak()
    keycloak.thawed.set()
    at = int(time.time() * 1000)
    named, member = str(uuid.uuid4()), str(uuid.uuid4())
    events = [{"time": at, "resourceType": "USER", "operationType": "DELETE", "resourcePath": f"users/{named}"},
              {"time": at + 1, "resourceType": "REALM_ROLE_MAPPING", "operationType": "DELETE",
               "resourcePath": "groups/g-uuid/role-mappings/realm"}]
    answers = {"members": Unavailable("Keycloak is not answering", "認証サーバーが応答しません")}

    def group_member_ids(group_id):
        if isinstance(answers["members"], Exception):
            raise answers["members"]
        return answers["members"]

    keycloak.group_member_ids = group_member_ids
    monkeypatch.setitem(app.extensions, "renkei_identity", keycloak)
    poller = admin_events.AdminEventsPoller(app)
    before = poller.since_ms
    keycloak.events = list(events)
    with app.app_context():
        assert poller.poll_once() is False
    assert poller.since_ms == before  # read again
    assert "admin events could not be read" in caplog.text and "not answering" in caplog.text
    db.expire_all()
    assert db.get(DeniedSubject, named) is not None and db.get(DeniedSubject, member) is None

    answers["members"] = {member}  # Keycloak answers again
    keycloak.events = list(events)
    with app.app_context():
        assert poller.poll_once() is True
    assert poller.since_ms == at + 1
    db.expire_all()
    denied = db.get(DeniedSubject, member)
    assert denied is not None and denied.reason == "roles changed in Keycloak"
