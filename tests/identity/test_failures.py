"""When Keycloak fails: a clear retryable error, and renkei's records stay consistent with Keycloak."""

import dataclasses
import uuid

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from tenancy.errors import IdentityUnavailable
from tenancy.identity.models import IdentityIncident
from tenancy.identity.keycloak import IdentityDirectory


class StopsAt(IdentityDirectory):
    """The real directory, with Keycloak 'going away' at a chosen step (and staying away if asked)."""

    def __init__(self, settings, fail_step: str, undo_fails: bool = False):
        super().__init__(settings)
        self.fail_step, self.undo_fails = fail_step, undo_fails

    def _gone(self):
        raise IdentityUnavailable("Keycloak did not answer (test).", "認証サーバーに接続できませんでした。")

    def grant_roles(self, *args, **kwargs):
        if self.fail_step == "grant_roles":
            self._gone()
        return super().grant_roles(*args, **kwargs)

    def add_to_tenant(self, *args, **kwargs):
        if self.fail_step == "add_to_tenant":
            self._gone()
        return super().add_to_tenant(*args, **kwargs)

    def delete_user(self, user_id):
        if self.undo_fails:
            self._gone()
        return super().delete_user(user_id)


def invite(client, headers, username):
    return client.post("/api/v1/tenants/431001/users", headers=headers, json={
        "username": username, "email": f"{username}@example.jp", "first_name": "次郎", "last_name": "熊本",
        "roles": ["municipal-staff"]})


@pytest.fixture
def use_directory(app):
    def install(directory):
        app.extensions["renkei_identity"] = directory

    yield install
    app.extensions.pop("renkei_identity", None)


def count(db, model):
    db.expire_all()
    return db.scalar(sa.select(sa.func.count()).select_from(model))


def test_keycloak_unreachable_is_a_retryable_503_and_nothing_changes(client, db, tenant_factory, as_operator,
                                                                     keycloak_settings, use_directory):
    tenant_factory("431001")
    use_directory(IdentityDirectory(dataclasses.replace(keycloak_settings, url="http://127.0.0.1:9")))
    response = invite(client, as_operator, f"down-{uuid.uuid4().hex[:6]}")
    assert response.status_code == 503
    body = response.get_json()
    assert body["retryable"] is True
    assert "Keycloak" in body["detail_en"] and "しばらくしてから" in body["detail_ja"]
    assert count(db, AuditRecord) == 1  # only the tenant's registration


@pytest.mark.parametrize("step", ["add_to_tenant", "grant_roles"])
def test_a_failure_midway_is_undone_in_keycloak(client, db, tenant_factory, as_operator, keycloak_settings,
                                                 use_directory, directory, step):
    tenant_factory("431001")
    directory.ensure_tenant_group("431001")
    use_directory(StopsAt(keycloak_settings, step))
    username = f"midway-{uuid.uuid4().hex[:6]}"
    response = invite(client, as_operator, username)
    assert response.status_code == 503
    assert directory.find_user(username) is None          # nothing half-done in Keycloak
    assert count(db, AuditRecord) == 1                     # no record claims an invitation
    assert count(db, IdentityIncident) == 0


def test_when_even_the_undo_fails_the_half_done_account_is_on_record(client, db, tenant_factory, as_operator,
                                                                       keycloak_settings, use_directory, directory):
    tenant_factory("431001")
    directory.ensure_tenant_group("431001")
    use_directory(StopsAt(keycloak_settings, "grant_roles", undo_fails=True))
    username = f"stuck-{uuid.uuid4().hex[:6]}"
    assert invite(client, as_operator, username).status_code == 503
    leftover = directory.find_user(username)
    assert leftover is not None
    db.expire_all()
    incident = db.scalars(sa.select(IdentityIncident)).one()
    assert (incident.username, incident.keycloak_user_id, incident.step) == (username, leftover["id"], "grant roles")
    assert incident.tenant_code == "431001" and incident.resolved_at is None


def test_an_address_keycloak_refuses_is_a_422_naming_the_field_not_a_500(client, db, tenant_factory, as_operator):
    """Found by the contract run with a token (issue 26): renkei's own e-mail check let through
    'bz😍@m.example', Keycloak's user profile refused it with a 400, and the invitation answered 500."""
    tenant_factory("431001")
    response = client.post("/api/v1/tenants/431001/users", headers=as_operator, json={
        "username": f"mail-{uuid.uuid4().hex[:6]}", "email": "bz😍@m.example", "first_name": "次郎",
        "last_name": "熊本", "roles": ["municipal-staff"]})
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert [e["field"] for e in body["errors"]] == ["email"]
    assert "メールアドレス" in body["errors"][0]["message_ja"]
    assert count(db, IdentityIncident) == 0


def test_names_keycloak_refuses_are_a_422_naming_both_fields_not_a_500(client, db, tenant_factory, as_operator):
    """Found by the contract run with a token: names of signs only (' || ') passed renkei's checks,
    Keycloak's user profile refused first and last name in one 400, and the invitation answered 500."""
    tenant_factory("431001")
    response = client.post("/api/v1/tenants/431001/users", headers=as_operator, json={
        "username": f"name-{uuid.uuid4().hex[:6]}", "email": "name@example.jp", "first_name": " || ",
        "last_name": " || ", "roles": ["municipal-staff"]})
    assert response.status_code == 422, response.get_json()
    assert sorted(e["field"] for e in response.get_json()["errors"]) == ["first_name", "last_name"]
    assert count(db, IdentityIncident) == 0
