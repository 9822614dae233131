"""The demo's logins can be made again: a second `renkei demo` (the README's first command run twice
on one machine) keeps working although Keycloak refuses a password among an account's last five."""

from __future__ import annotations

import click
import pytest

from tests.conftest import own_realm

pytestmark = pytest.mark.keycloak

PASSWORD = "Demo-password-2026"


@pytest.fixture
def demo_realm(app, keycloak_server, monkeypatch):
    from tenancy.identity import realm_copy
    from tenancy.identity.keycloak import IdentityDirectory

    settings, master = own_realm(keycloak_server, "demo-logins")
    monkeypatch.setitem(app.extensions, "renkei_identity", IdentityDirectory(settings))
    try:
        yield settings
    finally:
        realm_copy.delete_realm(master, settings.realm)


def test_the_demo_logins_are_made_again_with_the_same_password(app, demo_realm):
    from admin.cli import ensure_demo_logins
    from tenancy.identity.keycloak import password_token

    with app.app_context():
        first = ensure_demo_logins(PASSWORD)
        second = ensure_demo_logins(PASSWORD)  # Keycloak's password history refuses the same password
    assert second == first
    assert password_token(demo_realm, "kumamoto-admin", PASSWORD)["access_token"]


def test_an_older_password_is_refused_in_words(app, demo_realm):
    from admin.cli import ensure_demo_logins

    with app.app_context():
        ensure_demo_logins(PASSWORD)
        ensure_demo_logins(PASSWORD + "-new")
        with pytest.raises(click.ClickException, match="not the current one"):
            ensure_demo_logins(PASSWORD)  # among the last five, but no longer the password
