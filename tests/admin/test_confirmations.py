"""Every irreversible act in /admin asks first: the first click shows a page stating the consequence and
writes nothing; only the button on that page acts.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa

from billing import allocation_policies, allocation_runs, operations
from billing.models import AllocationRun, JournalEntry, RunStatus
from core.actor import Actor
from core.audit import AuditRecord
from governance import agreements, council
from governance.models import CouncilProposal, ProposalStatus, VoteChoice
from governance.schemas import ProposalCreate, VersionDraft
from tests.billing.conftest import colleague, cost_data, make_reviewed_run, policy_data
from tests.conftest import sign_in

CSRF = "confirmation-test-token"


def confirmation_form(page: str) -> tuple[str, dict[str, str]]:
    """The confirmation page's form: where it posts and the fields it sends (what its button submits)."""
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page, re.S)
    fields = dict(re.findall(r'<input (?:type="hidden" )?name="([^"]+)" (?:type="hidden" )?value="([^"]*)"', form.group(2)))
    return html.unescape(form.group(1)), {name: html.unescape(value) for name, value in fields.items()}


def audit_count(db) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(AuditRecord))


def asked_then_confirmed(client, db, url: str, data: dict, *, says: list[str], unchanged, changed):
    """POST once: a 200 page stating the consequence, nothing written; then press its button: the act is done."""
    before = audit_count(db)
    first = client.post(url, data={"csrf_token": CSRF, **data})
    page = first.get_data(as_text=True)
    assert first.status_code == 200
    for words in says:
        assert words in page
    assert '<main id="content"' in page  # inside the layout, with a way back
    db.expire_all()
    assert unchanged() and audit_count(db) == before
    action, fields = confirmation_form(page)
    assert action == url and fields["confirmed"] == "1"
    for name, value in data.items():
        assert fields[name] == value  # the form is sent again exactly as it was typed
    done = client.post(action, data=fields)
    assert done.status_code == 302
    db.expire_all()
    assert changed() and audit_count(db) == before + 1


# --- billing -----------------------------------------------------------------------------------

FINANCE = Actor(issuer="urn:test", subject="finance-1", name="県 財政担当", roles=frozenset({"finance-officer"}))


@pytest.fixture
def reviewed_run(db, tenant_factory):
    return make_reviewed_run(db, tenant_factory, FINANCE)


def run_status(db, run_id) -> RunStatus:
    return RunStatus(db.get(AllocationRun, run_id).status)


def entries(db) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(JournalEntry))


def test_approving_a_run_states_that_it_posts_to_the_ledger_first(client, db, reviewed_run):
    sign_in(client, ["finance-officer"], subject="finance-approver", csrf=CSRF)
    asked_then_confirmed(
        client, db, f"/admin/billing/runs/{reviewed_run.id}/act", {"action": "approve", "text": ""},
        says=["承認すると負担金が会計帳簿に計上され、取り消しは逆仕訳でのみ行えます"],
        unchanged=lambda: run_status(db, reviewed_run.id) == RunStatus.reviewed and entries(db) == 0,
        changed=lambda: run_status(db, reviewed_run.id) == RunStatus.approved and entries(db) > 0)


def test_the_confirmation_is_in_english_when_english_was_chosen(client, db, reviewed_run):
    sign_in(client, ["finance-officer"], subject="finance-approver", csrf=CSRF)
    client.get("/admin/?lang=en")
    page = client.post(f"/admin/billing/runs/{reviewed_run.id}/act",
                       data={"csrf_token": CSRF, "action": "approve", "text": ""}).get_data(as_text=True)
    assert "ledger" in page and "会計帳簿" not in page
    assert '<html lang="en">' in page


def test_reversing_a_run_states_the_reversing_entries_first(client, db, reviewed_run):
    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), reviewed_run.id)
    db.commit()
    posted = entries(db)
    sign_in(client, ["finance-officer"], subject="finance-approver", csrf=CSRF)
    asked_then_confirmed(
        client, db, f"/admin/billing/runs/{reviewed_run.id}/act", {"action": "reverse", "text": "費目の計上誤り"},
        says=["逆仕訳", "再び承認できません"],
        unchanged=lambda: run_status(db, reviewed_run.id) == RunStatus.approved and entries(db) == posted,
        changed=lambda: run_status(db, reviewed_run.id) == RunStatus.reversed and entries(db) > posted)


def test_discarding_a_run_asks_first(client, db, reviewed_run):
    sign_in(client, ["finance-officer"], subject="finance-approver", csrf=CSRF)
    asked_then_confirmed(
        client, db, f"/admin/billing/runs/{reviewed_run.id}/act", {"action": "discard", "text": ""},
        says=["破棄", "元に戻せず"],
        unchanged=lambda: run_status(db, reviewed_run.id) == RunStatus.reviewed,
        changed=lambda: run_status(db, reviewed_run.id) == RunStatus.discarded)


def test_reviewing_is_not_irreversible_and_acts_on_the_first_click(client, db, tenant_factory):
    for code in ("430005", "431001"):
        tenant_factory(code)
    policy = allocation_policies.create_policy(db, FINANCE, policy_data())
    allocation_policies.adopt_policy(db, colleague(4, "県 財政課長"), policy.id)
    operations.create_cost_item(db, FINANCE, cost_data(amount=1_000_000))
    run = allocation_runs.create_run(db, FINANCE, 2025)
    db.commit()
    sign_in(client, ["finance-officer"], subject="finance-reviewer", csrf=CSRF)
    answer = client.post(f"/admin/billing/runs/{run.id}/act", data={"csrf_token": CSRF, "action": "review", "text": ""})
    assert answer.status_code == 302
    db.expire_all()
    assert run_status(db, run.id) == RunStatus.reviewed


def test_someone_who_may_not_approve_is_refused_without_a_confirmation_page(client, db, reviewed_run):
    sign_in(client, ["auditor"], csrf=CSRF)
    answer = client.post(f"/admin/billing/runs/{reviewed_run.id}/act",
                         data={"csrf_token": CSRF, "action": "approve", "text": ""}, follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "承認すると" not in page
    db.expire_all()
    assert run_status(db, reviewed_run.id) == RunStatus.reviewed and entries(db) == 0


# --- governance --------------------------------------------------------------------------------

def test_publishing_an_agreement_version_asks_first(client, db, operator, tenant_factory):
    tenant_factory("431001")
    version = agreements.draft_version(db, operator, "joint_use_agreement", VersionDraft(
        title="共同利用協定", body_md="第1条（目的）…", effective_on=dt.date(2025, 4, 1), required=True))
    db.commit()
    sign_in(client, csrf=CSRF)
    asked_then_confirmed(
        client, db, f"/admin/agreements/joint_use_agreement/{version.number}/publish", {"reacceptance_days": "21"},
        says=["公開すると", "21日間", "共同利用協定"],
        unchanged=lambda: agreements.current_version(db, operator, "joint_use_agreement") is None,
        changed=lambda: agreements.current_version(db, operator, "joint_use_agreement").number == version.number)


@pytest.fixture
def open_proposal(db, operator, tenant_factory):
    tenant_factory("431001")
    proposal = council.propose(db, operator, ProposalCreate(
        title="運用規約の改定", closes_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5)))
    db.commit()
    return proposal


def proposal_status(db, proposal_id) -> ProposalStatus:
    return ProposalStatus(db.get(CouncilProposal, proposal_id).status)


def test_closing_a_vote_asks_first(client, db, open_proposal):
    kumamoto_admin = Actor(issuer="urn:test", subject="admin-431001", name="熊本市 管理者",
                           roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"431001"}))
    council.cast_vote(db, kumamoto_admin, open_proposal.id, VoteChoice.for_, "431001")  # every member voted: closable
    db.commit()
    sign_in(client, csrf=CSRF)
    asked_then_confirmed(
        client, db, f"/admin/council/{open_proposal.id}/close", {},
        says=["締め切ると投票は終了し", "取り消せません"],
        unchanged=lambda: proposal_status(db, open_proposal.id) == ProposalStatus.open,
        changed=lambda: proposal_status(db, open_proposal.id) != ProposalStatus.open)


def test_withdrawing_a_proposal_asks_first(client, db, open_proposal):
    sign_in(client, csrf=CSRF)
    asked_then_confirmed(
        client, db, f"/admin/council/{open_proposal.id}/withdraw", {"reason": "内容を見直すため"},
        says=["取り下げた議案は元に戻せません"],
        unchanged=lambda: proposal_status(db, open_proposal.id) == ProposalStatus.open,
        changed=lambda: proposal_status(db, open_proposal.id) == ProposalStatus.withdrawn)


# --- onboarding (the moves reach Keycloak: the tenant's accounts are disabled or taken out) -------

def tenant_status(db, code):
    from tenancy.registry.models import Tenant

    return db.scalar(sa.select(Tenant.status).where(Tenant.code == code))


@pytest.mark.keycloak
def test_withdrawing_a_tenant_names_it_and_states_the_consequence_first(client, db, tenant_factory, directory):
    from tests.onboarding.conftest import fresh_code
    from tenancy.registry.models import TenantStatus

    tenant = tenant_factory(fresh_code(), name_ja="テスト連携町", status="applied")
    sign_in(client, csrf=CSRF)
    asked_then_confirmed(
        client, db, f"/admin/onboarding/tenant/{tenant.code}/move", {"transition": "withdraw", "reason": "申込の取下げ"},
        says=["テスト連携町を脱退させますか", "取り消せません"],
        unchanged=lambda: tenant_status(db, tenant.code) == TenantStatus.applied,
        changed=lambda: tenant_status(db, tenant.code) == TenantStatus.withdrawn)


@pytest.mark.keycloak
def test_suspending_a_tenant_states_that_its_users_cannot_sign_in_first(client, db, tenant_factory, directory):
    from tests.onboarding.conftest import fresh_code
    from tenancy.registry.models import TenantStatus

    tenant = tenant_factory(fresh_code(), name_ja="テスト停止村", status="active")
    sign_in(client, csrf=CSRF)
    asked_then_confirmed(
        client, db, f"/admin/onboarding/tenant/{tenant.code}/move", {"transition": "suspend", "reason": "負担金の未納"},
        says=["テスト停止村の利用を停止しますか", "ログインできなくなり"],
        unchanged=lambda: tenant_status(db, tenant.code) == TenantStatus.active,
        changed=lambda: tenant_status(db, tenant.code) == TenantStatus.suspended)


# --- users -------------------------------------------------------------------------------------

@pytest.fixture
def staff_member(tenant_factory, user_factory):
    tenant_factory("431001")
    account, _ = user_factory(("municipal-staff",), "431001", fresh=True)
    return account


def test_disabling_a_user_asks_first(client, db, staff_member, directory):
    sign_in(client, csrf=CSRF)
    asked_then_confirmed(
        client, db, f"/admin/users/431001/{staff_member.id}/enabled", {"enabled": "0"},
        says=["無効にすると", "ログインできなくなり"],
        unchanged=lambda: directory.account(staff_member.id).enabled,
        changed=lambda: not directory.account(staff_member.id).enabled)


def test_removing_a_user_from_the_tenant_asks_first(client, db, staff_member, directory):
    sign_in(client, csrf=CSRF)
    asked_then_confirmed(
        client, db, f"/admin/users/431001/{staff_member.id}/remove", {},
        says=["団体から外しますか", "改めて招待"],
        unchanged=lambda: directory.account(staff_member.id).tenant_codes == {"431001"},
        changed=lambda: directory.account(staff_member.id).tenant_codes == set())
