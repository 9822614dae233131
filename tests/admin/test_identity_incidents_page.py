"""The operator's page of identity incidents: what is unresolved, what to do, and resolving one
(a note, asked first, audited)."""

import sqlalchemy as sa

from core.audit import AuditRecord
from tenancy.identity.models import IdentityIncident
from tests.admin.test_labels import visible_text
from tests.conftest import sign_in


def incident(db, username="stuck-1", operation="user.invite", code="431001"):
    row = IdentityIncident(operation=operation, tenant_code=code, username=username, keycloak_user_id="kc-1",
                           step="grant roles", error="IdentityUnavailable: Keycloak did not answer")
    db.add(row)
    db.commit()
    return row.id


def test_the_operator_sees_each_unresolved_incident_with_what_to_do(client, db, tenant_factory):
    tenant_factory("431001")
    incident(db)
    incident(db, "member-2", "tenant.withdraw")
    sign_in(client)
    home = client.get("/admin/").get_data(as_text=True)
    assert "/admin/incidents/" in home  # the navigation and the home page lead to it
    page = visible_text(client.get("/admin/incidents/").get_data(as_text=True))
    assert "認証サーバーの不整合" in page and "未解消 (2)" in page
    assert "431001 熊本市" in page and "利用者の招待" in page
    assert "Keycloak 管理画面の「Users」で stuck-1 を検索し" in page
    assert "/tenants/431001 グループに追加してください" in page


def test_resolving_asks_first_then_records_the_note_and_audits_once(client, db, tenant_factory):
    tenant_factory("431001")
    number = incident(db)
    sign_in(client, csrf="t")
    asked = client.post(f"/admin/incidents/{number}/resolve", data={"csrf_token": "t", "note": "Keycloak で削除しました"})
    assert asked.status_code == 200 and "この不整合を解消済みにしますか" in asked.get_data(as_text=True)
    db.expire_all()
    assert db.get(IdentityIncident, number).resolved_at is None  # nothing written before the confirmation

    done = client.post(f"/admin/incidents/{number}/resolve",
                       data={"csrf_token": "t", "note": "Keycloak で削除しました", "confirmed": "1"}, follow_redirects=True)
    page = visible_text(done.get_data(as_text=True))
    assert done.status_code == 200 and f"番号 {number} の不整合を解消済みにしました" in page
    assert "未解消の不整合はありません" in page and "Keycloak で削除しました" in page
    db.expire_all()
    row = db.get(IdentityIncident, number)
    assert row.resolved_at is not None and row.resolution_note == "Keycloak で削除しました"
    records = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "identity.incident.resolve")).all()
    assert [r.target_id for r in records] == [str(number)]

    again = client.post(f"/admin/incidents/{number}/resolve",
                        data={"csrf_token": "t", "note": "もう一度", "confirmed": "1"}, follow_redirects=True)
    assert "解消済みです" in again.get_data(as_text=True)


def test_an_empty_note_is_refused_beside_the_field(client, db, tenant_factory):
    tenant_factory("431001")
    number = incident(db)
    sign_in(client, csrf="t")
    answer = client.post(f"/admin/incidents/{number}/resolve", data={"csrf_token": "t", "note": "  ", "confirmed": "1"})
    assert answer.status_code == 400
    assert f'id="note-{number}-error"' in answer.get_data(as_text=True)
    assert "対応した内容を入力してください" in answer.get_data(as_text=True)
    db.expire_all()
    assert db.get(IdentityIncident, number).resolved_at is None


def test_only_the_operator_may_open_or_resolve(client, db, tenant_factory):
    """The identity incidents are the operator's: a municipal admin and finance may not open the
    incident register; the auditor reads the register (its platform incidents) but sees no identity
    incident and resolves none."""
    tenant_factory("431001")
    number = incident(db)
    for roles, tenants in ((["municipal-admin"], ["431001"]), (["auditor"], []), (["finance-officer"], [])):
        sign_in(client, roles, tenants, csrf="t")
        page = client.get("/admin/incidents/")
        assert page.status_code == (200 if roles == ["auditor"] else 403)
        assert "stuck-1" not in page.get_data(as_text=True)
        assert client.get(f"/admin/incidents/identity/{number}").status_code == 403
        assert client.post(f"/admin/incidents/{number}/resolve",
                           data={"csrf_token": "t", "note": "x", "confirmed": "1"}).status_code == 403
        if roles != ["auditor"]:
            assert "/admin/incidents/" not in client.get("/admin/").get_data(as_text=True)


def test_identity_incidents_are_a_kind_of_the_one_register_each_with_its_page(client, db, tenant_factory):
    tenant_factory("431001")
    number = incident(db)
    sign_in(client)
    page = client.get("/admin/incidents/").get_data(as_text=True)
    assert 'data-kind="identity"' in page and f'/admin/incidents/identity/{number}' in page
    text = visible_text(page)
    assert "障害台帳" in text and "認証サーバーの不整合" in text
    own = visible_text(client.get(f"/admin/incidents/identity/{number}").get_data(as_text=True))
    assert "stuck-1" in own and "Keycloak 管理画面の「Users」で stuck-1 を検索し" in own
    assert client.get("/admin/incidents/identity/999999").status_code == 404
