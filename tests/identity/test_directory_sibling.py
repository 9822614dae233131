"""A wave's workers (IdentityDirectory.sibling) start with the service-account token their
directory already holds instead of each asking Keycloak for one; an expired one is not passed on."""

import datetime as dt
import uuid

import pytest
import requests

from tenancy.identity.keycloak import IdentityDirectory

pytestmark = pytest.mark.keycloak


@pytest.fixture
def token_requests(monkeypatch):
    """The token requests sent to Keycloak from now on."""
    sent = []
    send = requests.Session.send

    def counting(session, request, **kwargs):
        if request.url.endswith("/protocol/openid-connect/token"):
            sent.append(request.url)
        return send(session, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", counting)
    return sent


def nobody() -> str:
    return f"nobody-{uuid.uuid4().hex[:8]}"


def test_a_worker_uses_the_token_its_directory_holds(keycloak_settings, token_requests):
    directory = IdentityDirectory(keycloak_settings)
    assert directory.find_user(nobody()) is None
    assert len(token_requests) == 1

    workers = [directory.sibling() for _ in range(4)]
    for worker in workers:
        assert worker.find_user(nobody()) is None  # answered, with the shared token
    assert len(token_requests) == 1
    assert len({id(worker.admin) for worker in workers}) == 4  # each its own HTTP client all the same


def test_a_worker_of_a_directory_without_a_valid_token_gets_its_own(keycloak_settings, token_requests):
    fresh = IdentityDirectory(keycloak_settings)
    assert fresh.sibling().find_user(nobody()) is None
    assert len(token_requests) == 1

    directory = IdentityDirectory(keycloak_settings)
    directory.find_user(nobody())
    directory.admin.connection._expires_at = dt.datetime.now(tz=dt.timezone.utc) - dt.timedelta(seconds=1)
    worker = directory.sibling()
    assert worker.find_user(nobody()) is None
    assert len(token_requests) == 3  # the directory's own, and the worker's: the expired one was not handed on


def test_a_proxy_named_in_the_environment_is_still_used(keycloak_settings, monkeypatch):
    """The environment is read once per client rather than on every call: still read, though."""
    from tenancy.errors import IdentityUnavailable

    directory = IdentityDirectory(keycloak_settings)
    directory.find_user(nobody())
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    worker = directory.sibling()  # a new client, with the token it needs already
    with pytest.raises(IdentityUnavailable):
        worker.find_user(nobody())
    monkeypatch.delenv("HTTP_PROXY")
    assert IdentityDirectory(keycloak_settings).find_user(nobody()) is None
