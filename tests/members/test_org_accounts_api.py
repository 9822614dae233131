"""Issue 15 follow-up, against the real Keycloak: an organisation's admin manages its people through
/api/v1/tenants/{corporate number}/users as a municipal admin does; the secretariat approves with the
admin person it chooses; the organisation's admin withdraws it through the API (every account
disabled, the secretariat notified)."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest
import sqlalchemy as sa

from core.codes import corporate_check_digit
from core.outbox import Notification
from tenancy.members import operations as members
from tenancy.members.models import MemberStatus, Organisation, ScreeningItem
from tests.members.conftest import NTA

pytestmark = pytest.mark.keycloak


def fresh_number() -> str:
    """A valid corporate number no earlier run has used (the Keycloak server is shared and keeps groups)."""
    base = f"{random.randint(1, 9)}{random.randrange(10 ** 11):011d}"
    return f"{corporate_check_digit(base)}{base}"


def _approved(db, applied, number: str) -> str:
    applied(number, email=f"{number}@example.jp")
    db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number)).status = MemberStatus.approved
    db.commit()
    return number


def _colleague(roles):
    name = f"col-{uuid.uuid4().hex[:8]}"
    return {"username": name, "email": f"{name}@example.jp", "first_name": "二郎", "last_name": "同僚", "roles": roles}


def test_an_organisation_admin_manages_its_people_through_the_api(client, db, applied, directory, user_factory, tenant_factory):
    number = _approved(db, applied, fresh_number())
    _, org_admin = user_factory(("org-admin",), number, fresh=True)

    invited = client.post(f"/api/v1/tenants/{number}/users", json=_colleague(["data-user"]), headers=org_admin)
    assert invited.status_code == 201, invited.get_data(as_text=True)
    user = invited.get_json()
    assert user["roles"] == ["data-user"] and user["tenants"] == [number]
    listed = client.get(f"/api/v1/tenants/{number}/users", headers=org_admin).get_json()
    assert user["username"] in {u["username"] for u in listed["items"]}

    changed = client.put(f"/api/v1/tenants/{number}/users/{user['id']}/roles", json={"roles": ["data-provider"]},
                         headers=org_admin)
    assert changed.status_code == 200 and changed.get_json()["roles"] == ["data-provider"]
    disabled = client.post(f"/api/v1/tenants/{number}/users/{user['id']}/disable", headers=org_admin)
    assert disabled.status_code == 200 and disabled.get_json()["enabled"] is False

    # a municipal role is not the organisation admin's to grant (same policy as a municipal admin)
    beyond = _colleague(["municipal-admin"])
    refused = client.post(f"/api/v1/tenants/{number}/users", json=beyond, headers=org_admin)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert beyond["username"] not in {a.username for a in directory.tenant_members(number)}

    # 熊本市's admin cannot read or touch the organisation's people
    tenant_factory("431001")
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    assert client.get(f"/api/v1/tenants/{number}/users", headers=kumamoto).status_code == 403
    assert client.post(f"/api/v1/tenants/{number}/users", json=_colleague(["data-user"]), headers=kumamoto).status_code == 403


def test_a_corporate_number_with_a_wrong_check_digit_is_refused_in_words(client, user_factory):
    _, operator = user_factory(("platform-operator",))
    wrong = "1" + NTA[1:]  # 国税庁's base with a wrong check digit
    answer = client.get(f"/api/v1/tenants/{wrong}/users", headers=operator)
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert NTA in body  # the right number is named
    assert client.get("/api/v1/tenants/12345678/users", headers=operator).status_code == 422


def _screened(db, applied, number: str) -> None:
    from tests.conftest import OPERATOR

    applied(number, email=f"contact-{number}@example.jp")
    for document in ("pledge", "profile"):
        members.record_document(db, OPERATOR, number, document, dt.date.today())
    for item in members.screening_items(db, OPERATOR):
        members.check_item(db, OPERATOR, number, item.id, True)
    db.commit()


def test_the_approver_chooses_the_admin_person_and_the_admin_withdraws(client, db, applied, directory, user_factory,
                                                                       tenant_factory):
    tenant_factory("430005", contacts=[{"name": "県 事務局", "email": "secretariat@pref.example.jp"}])
    number = fresh_number()
    _screened(db, applied, number)
    _, operator = user_factory(("platform-operator",))
    chosen = f"admin-{uuid.uuid4().hex[:8]}"
    approved = client.post(f"/api/v1/members/{number}/approve", headers=operator, json={
        "reason": "審査完了", "admin_username": chosen, "admin_first_name": "一郎", "admin_last_name": "管理",
        "admin_email": f"{chosen}@example.jp"})
    assert approved.status_code == 200, approved.get_data(as_text=True)
    [admin] = [a for a in directory.tenant_members(number) if a.username == chosen]
    assert admin.email == f"{chosen}@example.jp" and admin.roles == {"org-admin"}  # not the contact address

    _, own_admin = user_factory(("org-admin",), number, fresh=True)
    withdrawn = client.post(f"/api/v1/members/{number}/withdraw", json={"reason": "事業終了"}, headers=own_admin)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    assert directory.tenant_members(number) and not any(a.enabled for a in directory.tenant_members(number))
    db.expire_all()
    [notice] = db.scalars(sa.select(Notification).where(Notification.kind == "member.withdrawn.secretariat"))
    assert notice.recipients == "secretariat@pref.example.jp" and number in notice.body
    assert "無効" in notice.body  # the consequence is stated
