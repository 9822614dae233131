"""The onboarding board, a tenant's timeline, the wave upload and the outbox in /admin."""

import dataclasses
import io

import pytest
import sqlalchemy as sa

from tenancy.onboarding import lifecycle, saga as onboarding
from tenancy.identity.keycloak import IdentityDirectory
from tenancy.registry.models import Tenant, TenantStatus
from tests.conftest import sign_in

from .conftest import csrf_token
from .test_wave import HEADER


def status_of(db, code):
    db.expire_all()
    return db.scalars(sa.select(Tenant).where(Tenant.code == code)).one().status


def test_the_board_shows_states_counts_and_the_failed_step(client, db, operator, tenant_factory, approved,
                                                            keycloak_settings):
    tenant_factory("430005", status="active")
    tenant_factory("431001", status="active", wave_fiscal_year=2024)
    stuck = approved()
    down = IdentityDirectory(dataclasses.replace(keycloak_settings, url="http://127.0.0.1:9"))
    try:
        onboarding.provision(db, operator, down, stuck.code)
    except onboarding.ProvisioningFailed:
        pass
    sign_in(client)
    page = client.get("/admin/onboarding/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for label in ("申請受付", "審査中", "承認済", "環境構築中", "利用中", "利用停止", "脱退"):
        assert label in html
    assert 'id="active-municipalities">1<' in html  # 熊本市; the prefecture is not a municipality
    assert "令和6年度" in html  # the FY2024 wave row of the counts table
    assert "認証サーバー（Keycloak）の団体グループ作成" in html and stuck.code in html


@pytest.mark.keycloak  # the withdrawal disables the tenant's accounts in Keycloak
def test_the_tenant_page_shows_the_timeline_and_a_move_needs_the_form_token(client, db, operator, applicant):
    tenant = applicant()
    lifecycle.screen(db, operator, tenant.code, "申込書を受領")
    db.commit()
    sign_in(client)
    page = client.get(f"/admin/onboarding/tenant/{tenant.code}/")
    html = page.get_data(as_text=True)
    assert "申込書を受領" in html and "県 運営者" in html
    assert "反社会的勢力でないことの確認" in html

    forged = client.post(f"/admin/onboarding/tenant/{tenant.code}/move", data={"transition": "withdraw", "reason": "x"})
    assert forged.status_code == 400  # refused before the view runs, like every admin POST without the token
    assert status_of(db, tenant.code) == TenantStatus.screening

    token = csrf_token(html)
    done = client.post(f"/admin/onboarding/tenant/{tenant.code}/move",
                       data={"csrf_token": token, "transition": "withdraw", "reason": "申込の取下げ", "confirmed": "1"})
    assert done.status_code == 302
    assert status_of(db, tenant.code) == TenantStatus.withdrawn


def test_a_refused_move_in_the_ui_is_explained_and_changes_nothing(client, db, operator, applicant, snapshot):
    tenant = applicant()
    lifecycle.screen(db, operator, tenant.code)
    db.commit()
    sign_in(client)
    token = csrf_token(client.get(f"/admin/onboarding/tenant/{tenant.code}/").get_data(as_text=True))
    before = snapshot(tenant.code)
    response = client.post(f"/admin/onboarding/tenant/{tenant.code}/move",
                           data={"csrf_token": token, "transition": "approve", "reason": ""}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "まだ「承認」できません" in html and "反社会的勢力でないことの確認" in html
    assert snapshot(tenant.code) == before


def test_ticking_a_checklist_item_in_the_ui(client, db, operator, applicant):
    tenant = applicant()
    sign_in(client)
    token = csrf_token(client.get(f"/admin/onboarding/tenant/{tenant.code}/").get_data(as_text=True))
    client.post(f"/admin/onboarding/tenant/{tenant.code}/checklist",
                data={"csrf_token": token, "checklist": "screening", "item": "no_antisocial_ties", "checked": "1"})
    db.expire_all()
    [(entry, row)] = [(e, r) for e, r in lifecycle.checklist(db, tenant, "screening") if e.key == "no_antisocial_ties"]
    assert row.checked and row.checked_by == "県 運営者"


def test_a_wave_from_the_ui(client, db, directory):
    sign_in(client)
    token = csrf_token(client.get("/admin/onboarding/wave/").get_data(as_text=True))
    csv_bytes = (HEADER + "432083,山鹿 一郎,ui-wave-yamaga@example.jp,済,済,済,済\n").encode("cp932")
    response = client.post("/admin/onboarding/wave/", content_type="multipart/form-data",
                           data={"csrf_token": token, "fiscal_year": "FY2025", "file": (io.BytesIO(csv_bytes), "wave.csv")})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="outcomes"' in html and "山鹿市" in html
    assert status_of(db, "432083") == TenantStatus.active


def test_the_outbox_lists_messages(client, db, operator, applicant):
    tenant = applicant()
    lifecycle.screen(db, operator, tenant.code)
    db.commit()
    sign_in(client)
    html = client.get("/admin/outbox/").get_data(as_text=True)
    assert "参加状態が「審査中」になりました" in html and "送信待ち" in html


def test_a_municipal_admin_sees_only_their_own_tenant_and_cannot_move_it(client, db, applicant, snapshot):
    mine, other = applicant(), applicant()
    sign_in(client, roles=("municipal-admin",), tenants=(mine.code,), name="町 管理者", subject="admin-1")
    html = client.get("/admin/onboarding/").get_data(as_text=True)
    assert mine.code in html and other.code not in html
    assert client.get(f"/admin/onboarding/tenant/{other.code}/").status_code == 403
    page = client.get(f"/admin/onboarding/tenant/{mine.code}/").get_data(as_text=True)
    assert "/move" not in page  # no buttons for moves it may not make
    before = snapshot(mine.code)
    sign_in(client)  # borrow a form token, then act as the municipal admin again
    token = csrf_token(client.get(f"/admin/onboarding/tenant/{mine.code}/").get_data(as_text=True))
    sign_in(client, roles=("municipal-admin",), tenants=(mine.code,), name="町 管理者", subject="admin-1")
    client.post(f"/admin/onboarding/tenant/{mine.code}/move", data={"csrf_token": token, "transition": "screen"})
    assert snapshot(mine.code) == before
