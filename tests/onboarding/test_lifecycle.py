"""The lifecycle: the transition table of the issue, guards, one error per illegal move, history."""

import pytest
import sqlalchemy as sa

from tenancy.onboarding import lifecycle
from core.actor import Actor
from core.errors import problem
from core.errors import NotPermitted
from tenancy.registry.history import history
from core.outbox import Notification
from tenancy.registry.models import TenantStatus as S

from .conftest import audit_actions


def test_the_table_is_exactly_the_lifecycle_of_the_issue():
    # applied → screening → approved → provisioning → active; active ⇄ suspended;
    # withdrawn from any state; withdrawn → applied only by re-application.
    expected = {
        (S.applied, S.screening), (S.screening, S.approved), (S.approved, S.provisioning),
        (S.provisioning, S.active), (S.active, S.suspended), (S.suspended, S.active), (S.withdrawn, S.applied),
        (S.applied, S.withdrawn), (S.screening, S.withdrawn), (S.approved, S.withdrawn),
        (S.provisioning, S.withdrawn), (S.active, S.withdrawn), (S.suspended, S.withdrawn),
    }
    table = {(source, target) for source, targets in lifecycle.TABLE.items() for target in targets}
    assert table == expected


SHOWN_AS = {"applied": "申請受付", "screening": "審査中", "active": "利用中", "withdrawn": "脱退"}


@pytest.mark.parametrize("status,name,error", [
    ("active", "screen", lifecycle.CannotScreen),
    ("applied", "approve", lifecycle.CannotApprove),
    ("applied", "activate", lifecycle.CannotActivate),
    ("screening", "start_provisioning", lifecycle.NotApproved),
    ("applied", "suspend", lifecycle.CannotSuspend),
    ("active", "resume", lifecycle.CannotResume),
    ("withdrawn", "withdraw", lifecycle.AlreadyWithdrawn),
    ("active", "reapply", lifecycle.CannotReapply),
])
def test_each_illegal_move_has_its_own_error_saying_why(db, operator, tenant_factory, snapshot, status, name, error):
    tenant_factory("432059", status=status)
    before = snapshot("432059")
    with pytest.raises(error) as refused:
        lifecycle.move(db, operator, "432059", name, "理由")
    assert refused.value.kind == "conflict"
    assert "水俣市" in refused.value.message_ja and "変更は行っていません" in refused.value.message_ja
    assert f"現在「{SHOWN_AS[status]}」" in refused.value.message_ja  # why: the status the tenant is in
    db.rollback()
    assert snapshot("432059") == before


def test_screening_needs_an_administrative_contact(db, operator, applicant, snapshot):
    tenant = applicant(contact=False)
    before = snapshot(tenant.code)
    with pytest.raises(lifecycle.GuardRefused) as refused:
        lifecycle.screen(db, operator, tenant.code)
    assert [p["field"] for p in refused.value.problems] == ["contacts"]
    assert snapshot(tenant.code) == before


def test_approval_lists_every_unconfirmed_screening_item(db, operator, applicant, snapshot, default_guards):
    tenant = applicant()
    lifecycle.screen(db, operator, tenant.code)
    lifecycle.check_item(db, operator, tenant.code, "screening", "application_received")
    db.commit()
    before = snapshot(tenant.code)
    with pytest.raises(lifecycle.GuardRefused) as refused:
        lifecycle.approve(db, operator, tenant.code, "審査")
    fields = sorted(p["field"] for p in refused.value.problems)
    assert fields == ["checklist.screening.agreements_accepted", "checklist.screening.eligibility_confirmed",
                      "checklist.screening.no_antisocial_ties"]
    assert any("反社会的勢力でないことの確認" in p["message_ja"] for p in refused.value.problems)
    db.rollback()
    assert snapshot(tenant.code) == before


def test_approval_passes_once_screening_is_complete_and_records_who_when_why(db, operator, screened):
    tenant = screened()
    lifecycle.approve(db, operator, tenant.code, "第2回協議会で承認")
    db.commit()
    rows = history(db, tenant)
    assert [(r.from_status, r.to_status) for r in rows][-2:] == [(S.applied, S.screening), (S.screening, S.approved)]
    assert rows[-1].actor_subject == "operator-1" and rows[-1].actor_name == "県 運営者"
    assert rows[-1].reason == "第2回協議会で承認" and rows[-1].at is not None
    assert audit_actions(db, tenant.code)[-1] == "tenant.approve"


def test_only_the_operator_moves_a_tenant(db, screened, snapshot):
    tenant = screened()
    admin = Actor("urn:test", "admin-1", "町 管理者", frozenset({"municipal-admin"}), frozenset({tenant.code}))
    before = snapshot(tenant.code)
    with pytest.raises(NotPermitted):
        lifecycle.approve(db, admin, tenant.code)
    assert snapshot(tenant.code) == before


def test_the_operator_guard_refuses_an_approver_without_the_operator_role(db, screened):
    tenant = screened()
    clerk = Actor("urn:test", "clerk", "clerk", frozenset({"municipal-admin"}))
    move = lifecycle.Move("approve", S.screening, S.approved, clerk, "")
    assert [p["field"] for p in lifecycle.approved_by_operator(db, tenant, move)] == ["actor"]


@pytest.mark.parametrize("name,status", [("suspend", "active"), ("withdraw", "active"), ("reapply", "withdrawn")])
def test_suspension_withdrawal_and_reapplication_need_a_reason(db, operator, tenant_factory, snapshot, name, status):
    tenant_factory("432083", status=status)
    before = snapshot("432083")
    with pytest.raises(lifecycle.ReasonRequired) as refused:
        lifecycle.move(db, operator, "432083", name, "   ")
    assert refused.value.kind == "invalid"
    assert snapshot("432083") == before




def test_a_registered_guard_can_refuse_a_move(db, operator, screened, default_guards, snapshot):
    tenant = screened()

    def unpaid_fees(session, tenant, move):
        return [problem("billing", "The joining fee is unpaid.", "参加負担金が未納です。")]

    lifecycle.register_guard(S.approved, unpaid_fees, name="fees_paid")
    before = snapshot(tenant.code)
    with pytest.raises(lifecycle.GuardRefused) as refused:
        lifecycle.approve(db, operator, tenant.code)
    assert refused.value.problems == [{"field": "billing", "message_en": "The joining fee is unpaid.",
                                       "message_ja": "参加負担金が未納です。"}]
    assert snapshot(tenant.code) == before


def test_a_real_agreements_guard_retires_the_recorded_checklist_item(db, operator, applicant, directory, default_guards):
    from tenancy.onboarding import board as onboarding_board, saga as onboarding

    tenant = applicant()
    lifecycle.screen(db, operator, tenant.code)
    for key in ("application_received", "eligibility_confirmed", "no_antisocial_ties"):
        lifecycle.check_item(db, operator, tenant.code, "screening", key)
    accepted = []

    def accepted_in_governance(session, tenant, move):
        if tenant.code in accepted:
            return []
        return [problem("agreements.joint_use", "Not accepted.", "共同利用協定に同意していません。")]

    assert lifecycle.agreements_item_in_use()
    # as admin/wiring.py does: governance checks accepted versions before activation
    lifecycle.register_guard(S.active, accepted_in_governance, name="agreements_accepted")
    assert not lifecycle.agreements_item_in_use()
    lifecycle.approve(db, operator, tenant.code)  # the unticked checklist item no longer blocks approval
    db.commit()

    outcome = onboarding.provision(db, operator, directory, tenant.code)
    assert outcome.waiting_for == ("共同利用協定に同意していません。",)  # provisioned; activation waits
    assert tenant.status == S.provisioning  # every step done, activation held
    assert onboarding_board.board(db, operator)["columns"]["provisioning"][0]["awaiting_activation"] is True

    accepted.append(tenant.code)
    onboarding.retry(db, operator, directory, tenant.code)
    assert tenant.status == S.active


def test_every_status_change_queues_a_japanese_message_to_the_contacts(db, operator, applicant):
    tenant = applicant()
    lifecycle.screen(db, operator, tenant.code, "申込書を受領")
    db.commit()
    message = db.scalars(sa.select(Notification).where(Notification.tenant_code == tenant.code)).one()
    assert message.recipients == tenant.contacts[0].email
    assert "審査中" in message.subject
    assert "申請受付" in message.body and "審査中" in message.body and "申込書を受領" in message.body
    assert message.status == "queued"


def test_checklist_items_are_audited_and_unknown_items_refused(db, operator, applicant):
    tenant = applicant()
    lifecycle.check_item(db, operator, tenant.code, "screening", "no_antisocial_ties", True, "誓約書受領")
    lifecycle.check_item(db, operator, tenant.code, "screening", "no_antisocial_ties", True, "誓約書受領")  # no change
    db.commit()
    assert audit_actions(db, tenant.code).count("tenant.checklist") == 1
    with pytest.raises(lifecycle.UnknownChecklistItem):
        lifecycle.check_item(db, operator, tenant.code, "screening", "favourite_colour")


def test_reapplication_starts_screening_afresh(db, operator, screened):
    tenant = screened()
    lifecycle.move(db, operator, tenant.code, "withdraw", "申請取下げ")
    lifecycle.reapply(db, operator, tenant.code, "再度の参加申込")
    db.commit()
    assert tenant.status == S.applied
    assert not any(row and row.checked for _, row in lifecycle.checklist(db, tenant, "screening"))
    lifecycle.screen(db, operator, tenant.code)
    with pytest.raises(lifecycle.GuardRefused):
        lifecycle.approve(db, operator, tenant.code)
