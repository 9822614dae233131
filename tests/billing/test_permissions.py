"""Billing's use cases ask the authorization policy themselves: called directly, with no web layer
in between, an actor without the right is refused and nothing is written."""

import pytest
import sqlalchemy as sa

from billing import allocation_policies, allocation_runs, operations, statements
from billing.models import AllocationRun, CostItem
from core.actor import Actor
from core.audit import AuditRecord
from core.errors import NotPermitted
from tests.billing.conftest import cost_data, policy_data


def person(subject, *roles, tenants=()):
    return Actor(issuer="urn:test", subject=subject, name=subject, roles=frozenset(roles), tenant_codes=frozenset(tenants))


AUDITOR = person("auditor-1", "auditor")
YATSUSHIRO_ADMIN = person("yatsushiro-admin", "municipal-admin", tenants=["432024"])


def count(db, model):
    db.expire_all()
    return db.scalar(sa.select(sa.func.count()).select_from(model))


def test_an_auditor_may_not_enter_a_cost_item_and_nothing_is_written(db):
    with pytest.raises(NotPermitted):
        operations.create_cost_item(db, AUDITOR, cost_data())
    assert (count(db, CostItem), count(db, AuditRecord)) == (0, 0)


def test_finance_enters_a_cost_item(db, finance):
    [item] = operations.create_cost_item(db, finance, cost_data(amount=1_200_000))
    assert item.amount == 1_200_000
    assert count(db, AuditRecord) == 1


def test_the_operator_may_not_adopt_a_policy_outside_the_council(db, finance, operator):
    policy = allocation_policies.create_policy(db, finance, policy_data())
    db.commit()
    with pytest.raises(NotPermitted):
        allocation_policies.adopt_policy(db, operator, policy.id, None)
    assert allocation_policies.adopted_policy(db) is None


def test_an_auditor_may_not_compute_a_run(db, kumamoto, adopted_policy, finance):
    operations.create_cost_item(db, finance, cost_data(amount=1_200_000))
    db.commit()
    with pytest.raises(NotPermitted):
        allocation_runs.create_run(db, AUDITOR, 2025)
    assert count(db, AllocationRun) == 0


def test_a_municipal_admin_reads_their_own_statement_but_not_another_tenants(db, posted_fy2025):
    own = statements.build_statement(db, YATSUSHIRO_ADMIN, "432024", 2025)
    assert own.tenant_code == "432024" and own.charged == 1_950_000
    with pytest.raises(NotPermitted):
        statements.build_statement(db, YATSUSHIRO_ADMIN, "431001", 2025)


def test_runs_the_ledger_and_the_summary_need_the_all_tenants_grant(db, posted_fy2025):
    for read in (lambda actor: allocation_runs.list_runs(db, actor, 2025),
                 lambda actor: allocation_runs.read_run(db, actor, posted_fy2025.id),
                 lambda actor: operations.trial_balance(db, actor, fiscal_year=2025),
                 lambda actor: operations.journal(db, actor, fiscal_year=2025),
                 lambda actor: statements.build_summary(db, actor, 2025)):
        with pytest.raises(NotPermitted):
            read(YATSUSHIRO_ADMIN)
        read(AUDITOR)  # the auditor reads everything
    assert [run.id for run in allocation_runs.list_runs(db, AUDITOR, 2025)] == [posted_fy2025.id]


def test_a_municipal_admin_reads_the_cost_items_but_may_not_withdraw_one(db, finance):
    [item] = operations.create_cost_item(db, finance, cost_data(amount=1_200_000))
    db.commit()
    assert [i.id for i in operations.list_cost_items(db, YATSUSHIRO_ADMIN, 2025)] == [item.id]
    with pytest.raises(NotPermitted):
        operations.delete_cost_item(db, YATSUSHIRO_ADMIN, item.id)
    assert count(db, CostItem) == 1
