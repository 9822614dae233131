"""Admin pages: the auditor verifies the log; the board flags overdue tenants; a municipal admin accepts an
agreement and votes for their own tenant only."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from governance import agreements, council
from governance.models import AgreementAcceptance, CouncilVote
from governance.schemas import ProposalCreate, VersionDraft
from tests.conftest import sign_in
from tests.governance.conftest import guards_disabled, raw

CSRF = "test-csrf-token"


def published(db, operator, required=True):
    version = agreements.draft_version(db, operator, "joint_use_agreement",
                                       VersionDraft(title="共同利用協定", body_md="第1条（目的）…", effective_on=dt.date(2025, 4, 1),
                                                    required=required))
    agreements.publish_version(db, operator, "joint_use_agreement", version.number, 14)
    db.commit()
    return version


def test_the_auditor_runs_verification_from_the_ui(client, db, operator, tenant_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    sign_in(client, ["auditor"], csrf=CSRF)
    page = client.get("/admin/audit-verify/").get_data(as_text=True)
    assert "改ざんは検出されませんでした" in page and "2 件のレコードを検証しました" in page
    with guards_disabled(db, "audit_record"):
        raw(db, "UPDATE audit_record SET tenant_code = '432032' WHERE seq = 2")
        page = client.get("/admin/audit-verify/").get_data(as_text=True)
    assert "改ざん・欠落を検出しました" in page
    assert re.search(r'id="broken-seq">#2<', page)


def test_the_auditor_exports_a_period_from_the_ui(client, db, tenant_factory):
    tenant_factory("431001")
    sign_in(client, ["auditor"], csrf=CSRF)
    response = client.get("/admin/audit-verify/export?format=csv")
    assert response.status_code == 200
    data = response.get_data()
    response.close()
    assert data.startswith("\ufeff".encode()) and "tenant.create" in data.decode("utf-8-sig")


def test_a_municipal_admin_cannot_open_the_verification_page(client, db):
    sign_in(client, ["municipal-admin"], ["431001"], csrf=CSRF)
    assert client.get("/admin/audit-verify/").status_code == 403


def test_the_board_flags_a_tenant_past_its_deadline(client, db, operator, tenant_factory):
    for code in ("431001", "432024"):
        tenant_factory(code)
    published(db, operator)
    raw(db, "UPDATE agreement_version SET deadline_on = :d", d=dt.date.today() - dt.timedelta(days=3))
    sign_in(client, ["platform-operator"], csrf=CSRF)
    page = client.get("/admin/agreements/").get_data(as_text=True)
    rows = re.findall(r'<tr data-code="(\d{6})" class="table-danger">', page)
    assert rows == ["431001", "432024"]
    assert "期限超過" in page

    english = client.get("/admin/agreements/?lang=en").get_data(as_text=True)
    assert "Overdue" in english


def test_a_municipal_admin_accepts_on_the_version_page(client, db, operator, tenant_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    version = published(db, operator)
    sign_in(client, ["municipal-admin"], ["431001"], subject="admin-431001", csrf=CSRF)
    board = client.get("/admin/agreements/").get_data(as_text=True)
    assert 'data-code="431001"' in board and 'data-code="432024"' not in board
    page = client.get("/admin/agreements/joint_use_agreement/1/").get_data(as_text=True)
    assert version.content_hash in page and "431001" in page
    response = client.post("/admin/agreements/joint_use_agreement/1/accept",
                           data={"csrf_token": CSRF, "tenant_code": "431001", "content_hash": version.content_hash})
    assert response.status_code == 302
    row = db.scalars(sa.select(AgreementAcceptance)).one()
    assert (row.tenant_code, row.actor_subject) == ("431001", "admin-431001")


def test_a_post_without_the_csrf_token_is_refused(client, db, operator, tenant_factory):
    tenant_factory("431001")
    version = published(db, operator)
    sign_in(client, ["municipal-admin"], ["431001"], csrf=CSRF)
    response = client.post("/admin/agreements/joint_use_agreement/1/accept",
                           data={"tenant_code": "431001", "content_hash": version.content_hash})
    assert response.status_code == 400
    assert db.scalar(sa.select(sa.func.count()).select_from(AgreementAcceptance)) == 0


def test_a_municipal_admin_votes_for_their_own_tenant_only(client, db, operator, tenant_factory):
    for code in ("430005", "431001", "432024"):
        tenant_factory(code)
    proposal = council.propose(db, operator, ProposalCreate(
        title="運用規約の改定", closes_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5)))
    db.commit()
    sign_in(client, ["municipal-admin"], ["431001"], subject="admin-431001", csrf=CSRF)
    page = client.get(f"/admin/council/{proposal.id}/").get_data(as_text=True)
    assert "431001 熊本市" in page and page.count('name="tenant_code"') == 1  # one ballot: their own tenant's

    other = client.post(f"/admin/council/{proposal.id}/vote", data={"csrf_token": CSRF, "choice": "for", "tenant_code": "432024"},
                        follow_redirects=True).get_data(as_text=True)
    assert "432024" in other and "権限がありません" in other
    own = client.post(f"/admin/council/{proposal.id}/vote", data={"csrf_token": CSRF, "choice": "against", "tenant_code": "431001"},
                      follow_redirects=True)
    assert own.status_code == 200
    again = client.post(f"/admin/council/{proposal.id}/vote", data={"csrf_token": CSRF, "choice": "for", "tenant_code": "431001"},
                        follow_redirects=True).get_data(as_text=True)
    assert "投票済み" in again
    votes = db.scalars(sa.select(CouncilVote)).all()
    assert [(v.tenant_code, v.choice.value) for v in votes] == [("431001", "against")]
    assert 'name="tenant_code"' not in again  # nothing left to vote for


def test_the_operator_opens_and_closes_a_vote_from_the_ui(client, db, operator, tenant_factory):
    tenant_factory("430005")
    sign_in(client, ["platform-operator"], ["430005"], subject="operator-pref", csrf=CSRF)
    closes = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    created = client.post("/admin/council/propose", data={"csrf_token": CSRF, "title": "定例議案", "change_type": "free_text",
                                                          "closes_on": closes}, follow_redirects=True)
    assert "定例議案" in created.get_data(as_text=True)
    [proposal] = council.list_proposals(db, operator)
    client.post(f"/admin/council/{proposal.id}/vote", data={"csrf_token": CSRF, "choice": "for", "tenant_code": "430005"})
    page = client.post(f"/admin/council/{proposal.id}/close", data={"csrf_token": CSRF, "confirmed": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "協議会議決第1号" in page and "可決" in page


def test_the_operator_proposes_a_quota_plan_change_from_the_ui(client, db, operator, tenant_factory):
    tenant_factory("430005")
    sign_in(client, ["platform-operator"], ["430005"], csrf=CSRF)
    closes = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    client.post("/admin/council/propose", data={
        "csrf_token": CSRF, "title": "小規模プランの上限引上げ", "change_type": "change_quota_plan", "closes_on": closes,
        "plan_code": "__new__", "new_plan_code": "small", "plan_name_ja": "小規模団体", "limit_api_calls": "2000000",
        "enforcement_api_calls": "hard"})
    [proposal] = council.list_proposals(db, operator)
    assert council.params_of(proposal) == {"plan_code": "small", "change": {
        "name_ja": "小規模団体", "limits": [{"metric": "api_calls", "limit": 2000000, "enforcement": "hard"}]}}
    page = client.post("/admin/council/propose", data={
        "csrf_token": CSRF, "title": "壊れた議案", "change_type": "change_quota_plan", "closes_on": closes,
        "plan_code": "__new__", "new_plan_code": "small", "limit_api_calls": "たくさん"}).get_data(as_text=True)
    assert "整数で入力してください。" in page and 'value="たくさん"' in page
    assert len(council.list_proposals(db, operator)) == 1
