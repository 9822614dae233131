"""Sign-ins from Keycloak's login events (issue 39, item 5): a person signs in to the shared test
Keycloak, the due job keeps the LOGIN event in renkei's table, and the month's report counts it per
client and per Japan-time day, also once Keycloak has forgotten its events."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from keycloak import KeycloakOpenID

from core.calendar import JST, current_month
from service import monthly_report, sign_ins
from service.models import SignInEvent
from tenancy.identity.keycloak import master_admin

pytestmark = pytest.mark.keycloak
PASSWORD = "A-long-enough-pass-1"


@pytest.fixture
def people(keycloak_server, keycloak_settings):
    """Make people of the session's realm who can sign in with a password: ``new()`` gives (their id, how to
    sign them in). Each signs in once: Keycloak 26, with brute-force protection on (as renkei sets the realm),
    refuses a sign-in of a person while their previous one is still being settled ("Invalid user
    credentials"), which a test signing one person in twice in a row met now and then."""
    master = master_admin(keycloak_settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    master.change_current_realm(keycloak_settings.realm)
    oidc = KeycloakOpenID(server_url=keycloak_settings.url + "/", realm_name=keycloak_settings.realm,
                          client_id=keycloak_settings.admin_client_id, client_secret_key=keycloak_settings.admin_client_secret)
    made: list[str] = []

    def new():
        username = f"signin-{uuid.uuid4().hex[:8]}"
        user_id = master.create_user({"username": username, "email": f"{username}@example.jp", "enabled": True,
                                      "firstName": "太郎", "lastName": "田中", "emailVerified": True})
        made.append(user_id)
        master.set_user_password(user_id, PASSWORD, temporary=False)

        def sign_in() -> None:
            oidc.token(username, PASSWORD)  # the password grant: Keycloak stores a LOGIN event of the admin client

        return user_id, sign_in

    yield new, master
    for user_id in made:
        master.delete_user(user_id)


def kept(db, *user_ids: str) -> list[tuple[str, dt.date]]:
    db.expire_all()
    return [(row.client_id, row.day)
            for row in db.scalars(sa.select(SignInEvent).where(SignInEvent.user_id.in_(user_ids)))]


def test_a_sign_in_to_keycloak_is_kept_once_and_counted_in_the_month(app, db, operator, people, keycloak_settings,
                                                                    directory, monkeypatch):
    new, master = people
    (first_id, first_signs_in), (second_id, second_signs_in), (third_id, third_signs_in) = new(), new(), new()
    assert "[SKIP] sign-in-events" in app.test_cli_runner().invoke(
        args=["jobs", "run-due", "--only", "sign-in-events", "--as", "jobs-test"]).output  # the test app's default
    monkeypatch.setitem(app.config, "RENKEI_SIGN_INS_FROM_KEYCLOAK", True)
    first_signs_in()
    second_signs_in()

    def run():
        return app.test_cli_runner().invoke(args=["jobs", "run-due", "--only", "sign-in-events", "--as", "jobs-test"])

    first = run()
    assert "[OK  ] sign-in-events" in first.output, first.output
    today = dt.datetime.now(JST).date()
    assert kept(db, first_id, second_id) == [(keycloak_settings.admin_client_id, today)] * 2
    assert "[OK  ] sign-in-events" in run().output
    assert len(kept(db, first_id, second_id)) == 2  # read again, kept once

    third_signs_in()
    assert sign_ins.collect(db, directory) >= 1
    db.commit()
    assert len(kept(db, first_id, second_id, third_id)) == 3

    # Keycloak forgets its events (expiry, or cleared): the month is still counted from renkei's table
    master.connection.raw_delete(f"admin/realms/{keycloak_settings.realm}/events")
    assert not master.get_events({"type": "LOGIN", "user": third_id})
    month = current_month()
    counted = sign_ins.month_counts(db, month)
    ours = db.scalar(sa.select(sa.func.count()).select_from(SignInEvent).where(SignInEvent.day >= month))
    assert counted.total == ours >= 3
    assert dict(counted.by_client)[keycloak_settings.admin_client_id] >= 3
    assert dict(counted.by_day)[today] >= 3
    figures = monthly_report.figures(db, operator, month, None)
    assert figures.sign_ins.total == counted.total


def test_bootstrap_keeps_the_login_events_long_enough_for_the_report(keycloak_server, keycloak_settings):
    from tenancy.identity.keycloak import bootstrap_realm
    from tenancy.identity.keycloak.realm import LOGIN_EVENTS_SECONDS

    master = master_admin(keycloak_settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    realm = master.get_realm(keycloak_settings.realm)
    assert realm["eventsEnabled"] and "LOGIN" in realm["enabledEventTypes"]
    assert realm["eventsExpiration"] >= LOGIN_EVENTS_SECONDS >= 31 * 24 * 3600  # a month and the days before the job reads
    assert not [change for change in bootstrap_realm(master, keycloak_settings) if "sign-in events" in change]
