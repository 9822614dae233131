"""No enumeration through invitations (issue 26 item 8): inviting a username or e-mail address that
belongs to an account of another municipality answers exactly as inviting a new person does, and so
does everything the admin does with the answer afterwards (list, roles, disable, enable, invite again,
remove), against the real Keycloak. Nothing changes for the other municipality's person."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from core.audit import AuditRecord
from tenancy.identity import invitations
from tests.conftest import OPERATOR

STAFF = ["municipal-staff"]


def invitation(username=None, email=None):
    username = username or f"new-{uuid.uuid4().hex[:8]}"
    return {"username": username, "email": email or f"{username}@example.jp", "first_name": "花子",
            "last_name": "八代", "roles": STAFF}


def _shape(answer) -> tuple:
    body = answer.get_json() if answer.is_json else None
    return answer.status_code, sorted(body) if isinstance(body, dict) else body


def test_what_follows_an_invitation_answers_the_same_whether_the_account_exists_elsewhere(
        client, db, tenant_factory, user_factory, directory):
    tenant_factory("431001"), tenant_factory("432024")
    _, yatsushiro = user_factory(("municipal-admin",), "432024")
    kumamoto_person, _ = user_factory(("municipal-staff",), "431001", fresh=True)
    base = "/api/v1/tenants/432024/users"

    new = client.post(base, json=invitation(), headers=yatsushiro)
    elsewhere = client.post(base, json=invitation(username=kumamoto_person.username), headers=yatsushiro)
    assert _shape(new) == _shape(elsewhere) and new.status_code == 201
    real_id, decoy_id = new.get_json()["id"], elsewhere.get_json()["id"]
    listed = {u["id"]: u for u in client.get(base, headers=yatsushiro).get_json()["items"]}
    assert real_id in listed and decoy_id in listed
    assert sorted(listed[real_id]) == sorted(listed[decoy_id])

    for user_id in (real_id, decoy_id):
        roles = client.put(f"{base}/{user_id}/roles", json={"roles": ["municipal-staff", "municipal-admin"]},
                           headers=yatsushiro)
        disabled = client.post(f"{base}/{user_id}/disable", headers=yatsushiro)
        enabled = client.post(f"{base}/{user_id}/enable", headers=yatsushiro)
        assert [roles.status_code, disabled.status_code, enabled.status_code] == [200, 200, 200], user_id
        assert roles.get_json()["roles"] == ["municipal-admin", "municipal-staff"]
    # inviting the same again: taken, as a member of the tenant is, both times
    again_real = client.post(base, json=invitation(username=new.get_json()["username"]), headers=yatsushiro)
    again_decoy = client.post(base, json=invitation(username=kumamoto_person.username), headers=yatsushiro)
    assert again_real.status_code == again_decoy.status_code == 409
    assert sorted(again_real.get_json()) == sorted(again_decoy.get_json())
    for user_id in (real_id, decoy_id):
        assert client.delete(f"{base}/{user_id}", headers=yatsushiro).status_code == 204
        assert client.post(f"{base}/{user_id}/disable", headers=yatsushiro).status_code == 404  # gone, both

    # the Kumamoto person was never touched; the operator reads the conflict and the decoy's acts
    after = directory.account(kumamoto_person.id)
    assert after.tenant_codes == {"431001"} and after.roles == {"municipal-staff"} and after.enabled
    db.expire_all()
    actions = [r.action for r in db.scalars(sa.select(AuditRecord).where(AuditRecord.target_id == decoy_id)
                                            .order_by(AuditRecord.seq))]
    assert actions == ["user.roles", "user.disable", "user.enable", "user.remove"]
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                     .where(AuditRecord.action == "user.invite.conflict")) == 1


def test_a_file_naming_an_account_of_another_municipality_is_invited_as_any_other(db, tenant_factory, user_factory,
                                                                                  directory):
    from core.actor import Actor

    tenant_factory("431001"), tenant_factory("432024")
    kumamoto_person, _ = user_factory(("municipal-staff",), "431001", fresh=True)
    admin = Actor(issuer="urn:test", subject="yatsushiro-admin", name="八代市 管理者",
                  roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"432024"}))
    fresh = f"new-{uuid.uuid4().hex[:8]}"
    raw = ("ユーザー名,メールアドレス,姓,名,役割\n"
           f"{kumamoto_person.username},{kumamoto_person.email},熊本,太郎,市町村職員\n"
           f"{fresh},{fresh}@example.jp,八代,花子,市町村職員\n").encode()
    result = invitations.invite_from_csv(db, admin, directory, "432024", raw)
    assert result.complete and [line.line for line in result.created] == [2, 3]
    assert directory.account(kumamoto_person.id).tenant_codes == {"431001"}
    # the operator, who manages every tenant, is told
    import pytest

    with pytest.raises(invitations.InvitationFileRejected) as told:
        invitations.invite_from_csv(db, OPERATOR, directory, "432024", raw)
    assert any(p["message_ja"].startswith("2 行目") for p in told.value.problems)
