"""Fixtures of the usage tests: machine-client tokens, event builders, a clean quota cache."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest

from core.calendar import JST
from tests.conftest import METERING_SECRET

_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def clean_quota_cache():
    """The quota cache is per process; each test starts from an empty database, so from an empty cache."""
    from usage.quotas import reset_quota_caches

    reset_quota_caches()
    yield
    reset_quota_caches()


@pytest.fixture(scope="session")
def metering_headers(keycloak_settings):
    """A client-credentials token of the realm's metering client (realm role metering-client)."""
    from tenancy.identity.keycloak import client_credentials_token

    token = client_credentials_token(keycloak_settings, keycloak_settings.metering_client_id, METERING_SECRET)
    return {"Authorization": f"Bearer {token['access_token']}"}


@pytest.fixture(scope="session")
def machine_client_headers(keycloak_server, keycloak_settings):
    """Make a client-credentials client with the API audience but without the metering role; returns its headers."""
    from tenancy.identity.keycloak import client_credentials_token, ensure_machine_client, master_admin

    def make(realm_roles=()):
        master = master_admin(keycloak_settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
        client_id, secret = f"gateway-{uuid.uuid4().hex[:6]}", f"gateway-secret-{uuid.uuid4().hex}"
        ensure_machine_client(master, keycloak_settings, client_id, secret, realm_roles)
        token = client_credentials_token(keycloak_settings, client_id, secret)["access_token"]
        return {"Authorization": f"Bearer {token}"}

    return make


def event(tenant="431001", metric="api_calls", quantity=1, at=None, event_id=None):
    """One usage event as a client sends it; ``at`` defaults to now (Japan time, with its offset)."""
    moment = at or dt.datetime.now(JST)
    return {"tenant": tenant, "metric": metric, "quantity": quantity, "timestamp": moment.isoformat(),
            "event_id": event_id or f"ev-{next(_serial)}-{uuid.uuid4().hex[:8]}"}
