"""The issue's journey against the real Keycloak: a company applies on the public form, confirms its
e-mail, is screened with an edited checklist and approved; its admin invites a colleague on the same
users page a municipal admin uses; 熊本市's admin cannot see or touch it, and it cannot see any
municipality's users, statements or usage."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from tenancy.members.models import MemberStatus, Organisation, ScreeningItem
from tests.conftest import sign_in
from tests.members.conftest import token_from_outbox

pytestmark = pytest.mark.keycloak

NUMBER = "7000012050002"
CSRF = "journey-csrf-token"


def _apply(client) -> None:
    client.get("/join/")
    with client.session_transaction() as session:
        token = session["csrf"]
    form = {"csrf_token": token, "corporate_number": NUMBER, "name": "くまもとデータ株式会社", "kind": "company",
            "prefecture": "熊本県", "representative": "代表 太郎", "contact_name": "担当 花子",
            "contact_email": f"apply-{uuid.uuid4().hex[:6]}@example.jp"}
    wrong = client.post("/join/", data={**form, "corporate_number": "1000012050002"})
    assert wrong.status_code == 422
    assert "7000012050002" in wrong.get_data(as_text=True)  # the right check digit, beside the field
    done = client.post("/join/", data=form)
    assert done.status_code == 200 and "確認メール" in done.get_data(as_text=True)


def _screen_and_approve(client, db, directory):
    """The secretariat screens with an edited checklist (unchecked items stop approval; approval asks
    first) and approves; the organisation's admin is the person the approver chose."""
    sign_in(client, csrf=CSRF)  # the secretariat (operator)
    assert client.post("/admin/members-checklist/add", data={"csrf_token": CSRF, "label_ja": "県内に事業所があること"}).status_code == 302
    for document in ("pledge", "profile"):
        client.post(f"/admin/members/{NUMBER}/documents", data={"csrf_token": CSRF, "document": document, "received_on": "2026-04-01"})
    premature = {"csrf_token": CSRF, "confirmed": "1", "reason": "審査完了", "admin_username": f"org-{uuid.uuid4().hex[:6]}",
                 "admin_last_name": "管理", "admin_first_name": "一郎", "admin_email": f"it-{uuid.uuid4().hex[:6]}@example.jp"}
    client.post(f"/admin/members/{NUMBER}/approve", data=premature, follow_redirects=False)
    page = client.get(f"/admin/members/{NUMBER}").get_data(as_text=True)
    assert "県内に事業所があること" in page  # the edited checklist is the one screened
    assert db.scalar(sa.select(Organisation.status)) == MemberStatus.applied  # unchecked items stop approval
    for item_id in db.scalars(sa.select(ScreeningItem.id)):
        client.post(f"/admin/members/{NUMBER}/checklist/{item_id}", data={"csrf_token": CSRF, "checked": "1", "note": "確認済"})
    asked = client.post(f"/admin/members/{NUMBER}/approve", data={k: v for k, v in premature.items() if k != "confirmed"})
    assert asked.status_code == 200 and db.scalar(sa.select(Organisation.status)) == MemberStatus.applied  # asks first
    assert client.post(f"/admin/members/{NUMBER}/approve", data=premature).status_code == 302
    db.expire_all()
    assert db.scalar(sa.select(Organisation.status)) == MemberStatus.approved
    [admin] = [a for a in directory.tenant_members(NUMBER) if a.username == premature["admin_username"]]
    assert admin.roles == {"org-admin"} and admin.tenant_codes == {NUMBER}
    assert admin.email == premature["admin_email"]  # the person the approver chose, not the applicant's contact
    return admin


def _invite_colleague(client, db, directory, admin) -> str:
    """The organisation's admin invites a colleague on the users page a municipal admin uses, and
    cannot give a municipal role or see a municipality's users."""
    # the organisation's admin, on the users page a municipal admin uses
    sign_in(client, ["org-admin"], [NUMBER], subject=admin.id, csrf=CSRF)
    colleague = f"colleague-{uuid.uuid4().hex[:6]}"
    invited = client.post(f"/admin/users/{NUMBER}/invite", data={
        "csrf_token": CSRF, "username": colleague, "email": f"{colleague}@example.jp", "last_name": "同僚",
        "first_name": "二郎", "roles": ["data-user"]})
    assert invited.status_code == 200, invited.get_data(as_text=True)[:500]
    members = {a.username: a for a in directory.tenant_members(NUMBER)}
    assert members[colleague].roles == {"data-user"}
    refused = client.post(f"/admin/users/{NUMBER}/invite", data={
        "csrf_token": CSRF, "username": f"x-{colleague}", "email": f"x-{colleague}@example.jp", "last_name": "越権",
        "first_name": "三郎", "roles": ["municipal-admin"]})
    assert f"x-{colleague}" not in {a.username for a in directory.tenant_members(NUMBER)}
    assert refused.status_code in (200, 302, 403)
    assert client.get("/admin/users/?tenant=431001").status_code == 403  # no municipality's users
    actions = set(db.scalars(sa.select(AuditRecord.action).where(AuditRecord.tenant_code == NUMBER)))
    assert {"member.apply", "member.email_confirm", "member.document", "member.screen.check", "member.approve",
            "user.invite"} <= actions  # user.invite: the colleague (the admin's invitation is a step of the approval)
    return colleague


def _kumamoto_cannot_touch_it(client, directory, colleague) -> None:
    # 熊本市's admin cannot see or touch the organisation
    sign_in(client, ["municipal-admin"], ["431001"], csrf=CSRF)
    assert client.get(f"/admin/users/?tenant={NUMBER}").status_code == 403
    assert client.get(f"/admin/members/{NUMBER}").status_code == 403
    touched = client.post(f"/admin/users/{NUMBER}/invite", data={
        "csrf_token": CSRF, "username": f"kc-{colleague}", "email": f"kc-{colleague}@example.jp", "last_name": "市",
        "first_name": "職員", "roles": ["municipal-staff"]})
    assert touched.status_code in (302, 403)
    assert f"kc-{colleague}" not in {a.username for a in directory.tenant_members(NUMBER)}


def _withdraw(client, directory, admin, colleague) -> None:
    # the organisation withdraws: asked first, then every one of its accounts is disabled at once
    sign_in(client, ["org-admin"], [NUMBER], subject=admin.id, csrf=CSRF)
    asked = client.post(f"/admin/members/{NUMBER}/withdraw", data={"csrf_token": CSRF, "reason": "事業終了"})
    assert asked.status_code == 200 and all(a.enabled for a in directory.tenant_members(NUMBER))
    assert "すべて直ちに無効" in asked.get_data(as_text=True)  # the consequence, said before it happens
    assert client.post(f"/admin/members/{NUMBER}/withdraw",
                       data={"csrf_token": CSRF, "reason": "事業終了", "confirmed": "1"}).status_code == 302
    assert not any(a.enabled for a in directory.tenant_members(NUMBER))
    again = client.post(f"/admin/users/{NUMBER}/invite", data={
        "csrf_token": CSRF, "username": f"late-{colleague}", "email": f"late-{colleague}@example.jp", "last_name": "遅",
        "first_name": "四郎", "roles": ["data-user"]})
    assert again.status_code < 500
    assert f"late-{colleague}" not in {a.username for a in directory.tenant_members(NUMBER)}


def test_a_company_joins_and_its_admin_invites_a_colleague(client, db, directory, tenant_factory, keycloak_server):
    tenant_factory("431001")
    _apply(client)
    confirmed = client.get(f"/join/confirm/{token_from_outbox(db, NUMBER)}")
    assert confirmed.status_code == 200 and "受け付けました" in confirmed.get_data(as_text=True)
    admin = _screen_and_approve(client, db, directory)
    colleague = _invite_colleague(client, db, directory, admin)
    _kumamoto_cannot_touch_it(client, directory, colleague)
    _withdraw(client, directory, admin, colleague)


def test_an_organisation_token_reads_no_municipality(client, db, user_factory, tenant_factory):
    """A real token of an organisation's admin: its group maps to its corporate number, and every
    municipality's users, statements and usage are refused."""
    tenant_factory("431001")
    # a fresh account: another test withdraws this organisation, which disables the session's cached one
    _, headers = user_factory(("org-admin",), NUMBER, fresh=True)
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["tenants"] == [NUMBER]
    for url in ("/api/v1/tenants/431001/users", "/api/v1/billing/statements/431001/2025", "/api/v1/tenants/431001/usage",
                "/api/v1/tenants/431001"):
        assert client.get(url, headers=headers).status_code == 403, url
    listed = client.get("/api/v1/members", headers=headers).get_json()
    assert listed["items"] == []  # its own organisation only (none registered here), no municipality
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    assert client.get(f"/api/v1/members/{NUMBER}", headers=kumamoto).status_code == 403
