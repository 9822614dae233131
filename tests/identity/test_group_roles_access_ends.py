"""Issue 51: every way a role ends, ends access. A role taken in Keycloak directly through a group (from
the group's role mappings, by taking the person out of the group, or by deleting the group) or through a
composite role (the role taken from the composite) puts the people it reaches on the deny list at the
next admin-events poll, as a role taken from the person does (tests/identity/test_access_ends.py): their
tokens issued before are refused, saying their roles changed; a token issued afterwards names the
smaller roles and is accepted; someone the change does not reach keeps their token."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.conftest import PASSWORD, past_this_second

PATIENCE = 60  # seconds: a generous deadline for the condition, never a measured time


@pytest.fixture
def yatsushiro(tenant_factory):
    return tenant_factory("432024")


@pytest.fixture
def reading(app, monkeypatch):
    """Keycloak's admin events read every 0.2 s by this test's own reader (the refusal is polled for,
    so the interval only sets how soon it comes)."""
    monkeypatch.setitem(app.config, "RENKEI_ADMIN_EVENTS_INTERVAL", 0.2)
    app.extensions.pop("renkei_admin_events", None)
    yield
    poller = app.extensions.pop("renkei_admin_events", None)
    if poller is not None:
        poller.stop()


@pytest.fixture
def realm_admin(keycloak_server, keycloak_settings):
    """The realm as Keycloak's own administrator changes it (composite roles need manage-realm)."""
    from tenancy.identity.keycloak import master_admin

    admin = master_admin(keycloak_settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    admin.change_current_realm(keycloak_settings.realm)
    return admin


@pytest.fixture
def groups(directory):
    """Make groups in Keycloak (deleted afterwards, unless the test deleted them)."""
    made: list[str] = []

    def make(parent: str | None = None, roles: tuple[str, ...] = ()) -> str:
        group_id = directory.admin.create_group({"name": f"roles-{uuid.uuid4().hex[:8]}"}, parent=parent)
        made.append(group_id)
        if roles:
            directory.admin.assign_group_realm_roles(group_id, [directory.admin.get_realm_role(r) for r in roles])
        return group_id

    yield make
    for group_id in reversed(made):
        try:
            directory.admin.delete_group(group_id)
        except Exception:  # deleted by the test (or with its parent)
            pass


def fresh_headers(keycloak_settings, username: str) -> dict:
    from tenancy.identity.keycloak import password_token

    return {"Authorization": f"Bearer {password_token(keycloak_settings, username, PASSWORD)['access_token']}"}


def holds_admin(client, headers) -> bool:
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.get_json()
    return "municipal-admin" in str(me.get_json())


def refused_once_read(client, headers):
    """The answer to the token once the admin events are read (polled, with a deadline)."""
    deadline = time.monotonic() + PATIENCE
    answer = client.get("/api/v1/me", headers=headers)
    while answer.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)  # polling the condition (refused), with a deadline
        answer = client.get("/api/v1/me", headers=headers)
    assert answer.status_code == 401, answer.get_json()
    assert "roles changed" in answer.get_json()["detail_en"]
    return answer


def staff_member(user_factory, keycloak_settings, directory, *group_ids):
    """A municipal staff member of 八代市 put into ``group_ids``, and a token that names the groups' roles."""
    account, _ = user_factory(("municipal-staff",), "432024", fresh=True)
    for group_id in group_ids:
        directory.admin.group_user_add(account.id, group_id)
    return account, fresh_headers(keycloak_settings, account.username)


def test_the_admin_role_taken_from_a_group_ends_its_members_tokens_also_in_subgroups(
        app, client, db, yatsushiro, user_factory, directory, keycloak_settings, reading, groups):
    top = groups(roles=("municipal-admin",))
    sub = groups(parent=top)
    member, member_headers = staff_member(user_factory, keycloak_settings, directory, top)
    below, below_headers = staff_member(user_factory, keycloak_settings, directory, sub)
    _, outsider_headers = staff_member(user_factory, keycloak_settings, directory)
    assert holds_admin(client, member_headers) and holds_admin(client, below_headers)

    directory.admin.delete_group_realm_roles(top, [directory.admin.get_realm_role("municipal-admin")])  # in Keycloak
    refused_once_read(client, member_headers)
    refused_once_read(client, below_headers)
    assert client.get("/api/v1/me", headers=outsider_headers).status_code == 200  # not in the group: untouched

    past_this_second()  # a token's iat is in whole seconds
    again = fresh_headers(keycloak_settings, member.username)
    assert not holds_admin(client, again)  # signed in anew: accepted, with the smaller roles


def test_a_person_taken_out_of_a_group_that_gives_the_admin_role_is_refused(
        app, client, db, yatsushiro, user_factory, directory, keycloak_settings, reading, groups):
    group = groups(roles=("municipal-admin",))
    member, headers = staff_member(user_factory, keycloak_settings, directory, group)
    _, stays_headers = staff_member(user_factory, keycloak_settings, directory, group)
    assert holds_admin(client, headers)

    directory.admin.group_user_remove(member.id, group)  # in Keycloak
    refused_once_read(client, headers)
    assert holds_admin(client, stays_headers)  # still in the group: keeps the token and the role


def test_the_admin_role_taken_from_a_composite_ends_its_holders_tokens_directly_and_through_groups(
        app, client, db, yatsushiro, user_factory, directory, keycloak_settings, reading, groups, realm_admin):
    name = f"regional-admin-{uuid.uuid4().hex[:8]}"
    realm_admin.create_realm_role({"name": name})
    try:
        realm_admin.add_composite_realm_roles_to_role(name, [realm_admin.get_realm_role("municipal-admin")])
        composite = realm_admin.get_realm_role(name)
        group = groups()
        realm_admin.assign_group_realm_roles(group, [composite])
        direct, _ = user_factory(("municipal-staff",), "432024", fresh=True)
        realm_admin.assign_realm_roles(direct.id, [composite])
        direct_headers = fresh_headers(keycloak_settings, direct.username)
        _, grouped_headers = staff_member(user_factory, keycloak_settings, directory, group)
        assert holds_admin(client, direct_headers) and holds_admin(client, grouped_headers)

        realm_admin.remove_composite_realm_roles_to_role(name, [realm_admin.get_realm_role("municipal-admin")])
        refused_once_read(client, direct_headers)
        refused_once_read(client, grouped_headers)

        past_this_second()  # a token's iat is in whole seconds
        assert not holds_admin(client, fresh_headers(keycloak_settings, direct.username))
    finally:
        realm_admin.delete_realm_role(name)


def test_a_group_deleted_ends_its_members_tokens_also_in_its_subgroups(
        app, client, db, yatsushiro, user_factory, directory, keycloak_settings, reading, groups):
    top = groups(roles=("municipal-admin",))
    sub = groups(parent=top)
    member, member_headers = staff_member(user_factory, keycloak_settings, directory, top)
    _, below_headers = staff_member(user_factory, keycloak_settings, directory, sub)
    left, left_headers = staff_member(user_factory, keycloak_settings, directory, top)
    directory.admin.group_user_remove(left.id, top)  # left before: denied then, and not again by the deletion
    refused_once_read(client, left_headers)
    past_this_second()  # a token's iat is in whole seconds
    left_headers = fresh_headers(keycloak_settings, left.username)
    assert holds_admin(client, member_headers) and holds_admin(client, below_headers)
    assert not holds_admin(client, left_headers)

    directory.admin.delete_group(top)  # in Keycloak: its subgroup goes with it
    refused_once_read(client, member_headers)
    refused_once_read(client, below_headers)
    assert client.get("/api/v1/me", headers=left_headers).status_code == 200  # no longer a member: untouched

    past_this_second()  # a token's iat is in whole seconds
    assert not holds_admin(client, fresh_headers(keycloak_settings, member.username))
