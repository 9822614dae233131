"""Keycloak that does not answer: every call gives up after the configured timeout, and when the
outcome is unknown (the request was sent, the answer never came) the message says the step may
have been done and that retrying completes it, which it then does. The real Keycloak does the
work; only its answer is lost (tests/netfaults.py)."""

import dataclasses
import uuid

import pytest

from core.actor import console_actor
from tenancy.errors import IdentityUnavailable
from tenancy.identity import operations
from tenancy.identity.keycloak import IdentityDirectory
from tests.netfaults import SwallowingProxy, black_hole, closed_port

OPERATOR = console_actor("timeout-test", {"platform-operator"})


@pytest.fixture
def proxy(keycloak_settings):
    proxy = SwallowingProxy(keycloak_settings.url)
    yield proxy
    proxy.close()


def invitation(username):
    return operations.Invitation(username=username, email=f"{username}@example.jp", first_name="次郎",
                                 last_name="熊本", roles=frozenset({"municipal-staff"}))


def test_a_lost_answer_says_the_step_may_be_done_and_the_retry_completes_the_invitation(
        db, tenant_factory, keycloak_settings, directory, proxy):
    tenant_factory("431001")
    directory.ensure_tenant_group("431001")
    slow = IdentityDirectory(dataclasses.replace(keycloak_settings, url=proxy.url, timeout=1.5))
    username = f"lost-{uuid.uuid4().hex[:6]}"
    proxy.swallow = [f"POST /admin/realms/{keycloak_settings.realm}/users "]

    with pytest.raises(IdentityUnavailable) as caught:
        operations.invite_user(db, OPERATOR, slow, "431001", invitation(username))
    assert proxy.swallowed, "the creation request reached Keycloak"
    assert "一部実行済み" in caught.value.message_ja and "再実行" in caught.value.message_ja
    assert "変更されていません" not in caught.value.message_ja
    assert "partly done" in caught.value.message_en
    created = directory.find_user(username)
    assert created is not None  # Keycloak did create the account

    proxy.swallow = []
    account = operations.invite_user(db, OPERATOR, slow, "431001", invitation(username))
    assert account.id == created["id"]
    again = directory.account(created["id"])
    assert again.tenant_codes == {"431001"} and again.roles == {"municipal-staff"}


def test_a_taken_username_of_someone_else_is_still_refused(db, tenant_factory, directory, keycloak_settings):
    tenant_factory("431001")
    directory.ensure_tenant_group("431001")
    username = f"taken-{uuid.uuid4().hex[:6]}"
    operations.invite_user(db, OPERATOR, directory, "431001", invitation(username))
    other = dataclasses.replace(invitation(username), email=f"other-{username}@example.jp")
    with pytest.raises(operations.AccountTaken):
        operations.invite_user(db, OPERATOR, directory, "431001", other)


def test_a_server_that_never_answers_is_given_up_on_and_a_read_changed_nothing(keycloak_settings):
    with black_hole() as url:
        silent = IdentityDirectory(dataclasses.replace(keycloak_settings, url=url, timeout=0.5))
        with pytest.raises(IdentityUnavailable) as caught:
            silent.find_user("anyone")
    assert "変更されていません" in caught.value.message_ja


def test_a_refused_connection_says_nothing_was_changed(keycloak_settings):
    refused = IdentityDirectory(dataclasses.replace(keycloak_settings, url=closed_port(), timeout=0.5))
    with pytest.raises(IdentityUnavailable) as caught:
        refused.create_user("nobody", "nobody@example.jp", "太郎", "熊本")
    assert "変更されていません" in caught.value.message_ja and "一部実行済み" not in caught.value.message_ja


def test_the_timeout_setting_reaches_the_directory(app):
    from admin.config import from_environment
    from admin.identity import keycloak_settings

    assert from_environment({"RENKEI_KEYCLOAK_TIMEOUT": "3.5"})["RENKEI_KEYCLOAK_TIMEOUT"] == 3.5
    assert from_environment({})["RENKEI_KEYCLOAK_TIMEOUT"] == 3  # short: calls on request paths (issue 27)
    with app.app_context():
        before = app.config["RENKEI_KEYCLOAK_TIMEOUT"]
        app.config["RENKEI_KEYCLOAK_TIMEOUT"] = 2.0
        try:
            assert keycloak_settings(app).timeout == 2.0
        finally:
            app.config["RENKEI_KEYCLOAK_TIMEOUT"] = before
