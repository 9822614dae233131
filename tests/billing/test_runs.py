"""Cost items, policies and allocation runs against the tenant registry, and their audit trail."""

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from billing import allocation_policies, allocation_previews, allocation_runs, ledger, operations
from billing.ledger_errors import BillingConflict, IllegalTransition, InvalidBillingData
from billing.models import CostItem, EntryKind, JournalEntry, PolicyStatus, Posting, RunStatus
from core.audit import AuditRecord

from .conftest import adopter, cost_data, policy_data


def audit_actions(db):
    db.expire_all()
    return [record.action for record in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq))
            if record.action.startswith("billing.")]


def count(db, model):
    return db.scalar(sa.select(sa.func.count()).select_from(model))


# --- cost items ---------------------------------------------------------------------------------

def test_an_amortised_build_cost_is_one_row_per_year_adding_up_to_the_invoice(db, finance):
    items = operations.create_cost_item(db, finance, cost_data(
        name="基盤構築費", category="build", amount=10_000_000, amortisation_years=3, tax_treatment="taxable_10"))
    db.commit()
    # 10,000,000 / 3: the earlier years carry the extra yen
    assert [(item.fiscal_year, item.amount) for item in items] == [
        (2025, 3_333_334), (2026, 3_333_333), (2027, 3_333_333)]
    assert all(item.invoiced_amount == 10_000_000 for item in items)
    # tax contained in 10,000,000 yen at 10%: 10,000,000 × 10/110 = 909,090.9 → 909,090 = 3 × 303,030
    assert [item.tax_amount for item in items] == [303_030, 303_030, 303_030]
    assert audit_actions(db) == ["billing.cost_item.create"]


def test_only_a_build_cost_can_be_amortised():
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as refused:
        cost_data(category="run", amortisation_years=2)
    assert "build cost" in str(refused.value)


def test_deleting_an_amortised_item_removes_every_year_of_it(db, finance):
    items = operations.create_cost_item(db, finance, cost_data(category="build", amount=900, amortisation_years=3))
    operations.delete_cost_item(db, finance, items[1].id)
    db.commit()
    assert count(db, CostItem) == 0
    assert audit_actions(db) == ["billing.cost_item.create", "billing.cost_item.delete"]


# --- policies ----------------------------------------------------------------------------------

def test_policy_in_words_is_what_the_council_reads(db, finance):
    policy = allocation_policies.create_policy(db, finance, policy_data())
    assert allocation_policies.describe_policy(policy) == "県負担 50%、残りを均等割 50%・人口割 50% で按分"
    usage = allocation_policies.create_policy(db, finance, policy_data(
        name="利用割あり", prefecture_share=None, floor=100_000, cap=5_000_000,
        components=[{"basis": "equal", "weight": "1/3"}, {"basis": "usage:api_calls", "weight": "2/3"}]))
    assert allocation_policies.describe_policy(usage) == (
        "均等割 1/3・利用割（API 呼び出し回数） 2/3 で按分（1団体あたり年額 下限 100,000円・上限 5,000,000円）")
    assert usage.prefecture_share is None
    assert json.loads(usage.components_json) == [{"basis": "equal", "weight": "1/3"},
                                                 {"basis": "usage:api_calls", "weight": "2/3"}]


def test_weights_that_do_not_add_up_to_one_are_refused(db, finance):
    with pytest.raises(InvalidBillingData) as refused:
        allocation_policies.create_policy(db, finance, policy_data(
            components=[{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "0.4"}]))
    assert "9/10" in refused.value.message_en and "合計" in refused.value.message_ja
    assert audit_actions(db) == []


def test_a_new_version_of_a_policy_keeps_the_old_one(db, finance):
    first = allocation_policies.create_policy(db, finance, policy_data())
    second = allocation_policies.create_policy(db, finance, policy_data(prefecture_share="1/3"))
    assert (first.version, second.version) == (1, 2)
    assert first.prefecture_share == "1/2" and second.prefecture_share == "1/3"


def test_adopting_a_policy_supersedes_the_previous(db, finance):
    first = allocation_policies.create_policy(db, finance, policy_data())
    second = allocation_policies.create_policy(db, finance, policy_data(prefecture_share="1/3"))
    allocation_policies.adopt_policy(db, adopter(), first.id)
    allocation_policies.adopt_policy(db, adopter(), second.id)
    allocation_policies.adopt_policy(db, adopter(), second.id)  # nothing changes
    db.commit()
    assert PolicyStatus(first.status) == PolicyStatus.superseded
    assert PolicyStatus(second.status) == PolicyStatus.adopted
    assert (second.adopted_by, second.created_by, second.resolution_ref) == ("県 財政課長", "県 財政担当", None)
    assert allocation_policies.adopted_policy(db).id == second.id
    assert audit_actions(db) == ["billing.policy.create", "billing.policy.create",
                                 "billing.policy.adopt", "billing.policy.adopt"]


# --- runs ---------------------------------------------------------------------------------------

def test_a_run_snapshots_participants_months_populations_and_the_policy(db, finance, kumamoto, adopted_policy,
                                                                       tenant_factory):
    tenant_factory("432041", status="applied")  # 荒尾市 applied but never active: not a participant
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    run = allocation_runs.create_run(db, finance, 2025)
    db.commit()
    snapshot = json.loads(run.snapshot_json)
    assert [(p["code"], p["months"], p["population"]) for p in snapshot["participants"]] == [
        ("431001", 12, 500_000), ("432024", 12, 200_000), ("432032", 6, 200_000)]
    assert snapshot["participants"][0]["population_source"]
    assert snapshot["prefecture"]["code"] == "430005"
    assert snapshot["policy"]["id"] == adopted_policy.id
    assert snapshot["policy"]["adopted_by"] == "県 財政課長"  # four eyes: not the officer who drafted it
    lines = {line.tenant_code: line for line in allocation_runs.run_lines(db, run)}
    assert set(lines) == {"430005", "431001", "432024", "432032"}
    assert lines["430005"].is_prefecture and lines["430005"].amount == 6_000_000
    # 人吉市: 6 months × 100,000 (equal) + 1,200,000 person-months × 0.3125 (population)
    assert json.loads(lines["432032"].components_json) == {"equal": 600_000, "population": 375_000}
    assert RunStatus(run.status) == RunStatus.computed
    assert count(db, JournalEntry) == 0  # nothing posted before approval


def test_approving_twice_posts_nothing_new(db, finance, kumamoto, adopted_policy):
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    run = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, finance, run.id, four_eyes=False)
    allocation_runs.approve_run(db, finance, run.id, posted_on=dt.date(2025, 7, 31), four_eyes=False)
    db.commit()
    entries, postings = count(db, JournalEntry), count(db, Posting)
    assert entries == 5  # four payers and the year's costs
    allocation_runs.approve_run(db, finance, run.id, four_eyes=False)
    db.commit()
    assert (count(db, JournalEntry), count(db, Posting)) == (entries, postings)
    assert ledger.tenant_balance(db, "431001") == 3_075_000
    assert audit_actions(db).count("billing.run.approve") == 1


def test_the_drafter_re_approving_an_approved_run_meets_the_four_eyes_refusal(db, finance, kumamoto, adopted_policy):
    """Issue 36: approving an approved run again is harmless for its approver (nothing new is
    posted), but its drafter and its reviewer are refused as for the first approval, in words."""
    from billing.ledger_errors import FourEyesRefused

    from .conftest import colleague

    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    run = allocation_runs.create_run(db, finance, 2025)
    reviewer, approver = colleague(2), colleague(3, "県 財政担当（承認）")
    allocation_runs.review_run(db, reviewer, run.id)
    allocation_runs.approve_run(db, approver, run.id, posted_on=dt.date(2025, 7, 31))
    db.commit()
    for person in (finance, reviewer):
        with pytest.raises(FourEyesRefused) as refused:
            allocation_runs.approve_run(db, person, run.id)
        assert "four eyes" in refused.value.message_en and "別の財政担当者" in refused.value.message_ja
    assert allocation_runs.approve_run(db, approver, run.id).status == RunStatus.approved
    db.commit()
    assert audit_actions(db).count("billing.run.approve") == 1


def test_a_refused_move_names_the_status_it_needs_in_words(db, finance, kumamoto, adopted_policy):
    """The English refusal says the status a move needs as a word ("reviewed", not "reviewd")."""
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    run = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, finance, run.id, four_eyes=False)
    with pytest.raises(IllegalTransition) as refused:
        allocation_runs.review_run(db, finance, run.id, four_eyes=False)
    assert refused.value.message_en.endswith("only a run that is computed can be reviewed")


def test_a_run_must_be_reviewed_before_it_is_approved(db, finance, kumamoto, adopted_policy):
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    run = allocation_runs.create_run(db, finance, 2025)
    with pytest.raises(IllegalTransition) as refused:
        allocation_runs.approve_run(db, finance, run.id, four_eyes=False)
    assert "確認済" in refused.value.message_ja
    assert count(db, JournalEntry) == 0


def test_reversal_entries_point_at_the_originals_and_the_old_run_stays_visible(db, finance, kumamoto, adopted_policy):
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    first = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, finance, first.id, four_eyes=False)
    allocation_runs.approve_run(db, finance, first.id, posted_on=dt.date(2025, 7, 31), four_eyes=False)
    db.commit()
    originals = allocation_runs.run_entry_ids(db, first)
    second = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, finance, second.id, four_eyes=False)
    db.commit()
    with pytest.raises(BillingConflict) as refused:
        allocation_runs.approve_run(db, finance, second.id, four_eyes=False)
    assert f"#{first.id}" in refused.value.message_ja
    db.rollback()

    allocation_runs.reverse_run(db, finance, first.id, "人口の出典を更新", reversed_on=dt.date(2025, 8, 5))
    allocation_runs.approve_run(db, finance, second.id, posted_on=dt.date(2025, 8, 5), four_eyes=False)
    db.commit()
    reversals = list(db.scalars(sa.select(JournalEntry).where(JournalEntry.kind == EntryKind.reversal)))
    assert sorted(entry.reverses_id for entry in reversals) == sorted(originals)
    assert all(entry.run_id == first.id for entry in reversals)
    first = allocation_runs.get_run(db, first.id)
    assert RunStatus(first.status) == RunStatus.reversed and first.reversal_reason == "人口の出典を更新"
    assert ledger.tenant_balance(db, "431001") == 3_075_000  # the second run only
    assert ledger.trial_balance(db).difference == 0
    assert audit_actions(db)[-2:] == ["billing.run.reverse", "billing.run.approve"]


def test_usage_components_read_the_usage_hook(db, finance, kumamoto, monkeypatch):
    usage = {"431001": 700, "432024": 200, "432032": 100}
    monkeypatch.setattr(allocation_previews, "USAGE_TOTALS", lambda session, code, metric, year: usage[code])
    policy = allocation_policies.create_policy(db, finance, policy_data(
        prefecture_share=None, components=[{"basis": "usage:api_calls", "weight": "1"}]))
    operations.create_cost_item(db, finance, cost_data(amount=1_000_000))
    run = allocation_runs.create_run(db, finance, 2025, policy.id)
    # 1,000,000 by usage 700 : 200 : 100; the prefecture has no line without a prefecture share
    assert {line.tenant_code: line.amount for line in allocation_runs.run_lines(db, run)} == {
        "431001": 700_000, "432024": 200_000, "432032": 100_000}
    assert json.loads(run.snapshot_json)["participants"][0]["usage"] == {"api_calls": 700}


def test_a_run_without_an_adopted_policy_or_costs_is_refused_with_a_reason(db, finance, kumamoto):
    with pytest.raises(InvalidBillingData) as no_policy:
        allocation_runs.create_run(db, finance, 2025)
    assert "採用中の按分方式がありません" in no_policy.value.message_ja
    policy = allocation_policies.create_policy(db, finance, policy_data())
    with pytest.raises(InvalidBillingData) as no_costs:
        allocation_runs.create_run(db, finance, 2025, policy.id)
    assert "費目" in no_costs.value.message_ja


def test_an_infeasible_floor_is_refused_in_the_clerks_words(db, finance, kumamoto):
    policy = allocation_policies.create_policy(db, finance, policy_data(floor=400_000))
    operations.create_cost_item(db, finance, cost_data(amount=2_000_000))
    # the municipalities share 1,000,000; three floors of 400,000 need 1,200,000
    with pytest.raises(InvalidBillingData) as refused:
        allocation_runs.create_run(db, finance, 2025, policy.id)
    assert "下限額" in refused.value.message_ja


def test_every_change_is_audited_once_and_refusals_not_at_all(db, finance, kumamoto):
    policy = allocation_policies.create_policy(db, finance, policy_data())
    allocation_policies.adopt_policy(db, adopter(), policy.id)
    operations.create_cost_item(db, finance, cost_data(amount=1_200_000))
    run = allocation_runs.create_run(db, finance, 2025)
    with pytest.raises(IllegalTransition):
        allocation_runs.reverse_run(db, finance, run.id, "まだ計上していない")
    allocation_runs.review_run(db, finance, run.id, four_eyes=False)
    allocation_runs.approve_run(db, finance, run.id, four_eyes=False)
    allocation_runs.approve_run(db, finance, run.id, four_eyes=False)
    allocation_runs.reverse_run(db, finance, run.id, "誤り")
    allocation_runs.reverse_run(db, finance, run.id, "誤り")
    db.commit()
    assert audit_actions(db) == [
        "billing.policy.create", "billing.policy.adopt", "billing.cost_item.create", "billing.run.create",
        "billing.run.review", "billing.run.approve", "billing.run.reverse"]


def test_a_run_whose_cost_items_changed_since_it_was_computed_cannot_be_approved(db, finance, kumamoto, adopted_policy):
    """The ledger must book what is invoiced now, not what was entered when the run was computed."""
    [item] = operations.create_cost_item(db, finance, cost_data(amount=12_000_000))  # one year: one item
    run = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, finance, run.id, four_eyes=False)
    operations.delete_cost_item(db, finance, item.id)
    operations.create_cost_item(db, finance, cost_data(amount=5_000_000))
    db.commit()
    with pytest.raises(BillingConflict) as refused:
        allocation_runs.approve_run(db, finance, run.id, four_eyes=False)
    assert "新しく按分計算" in refused.value.message_ja
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == 0


def test_the_same_payment_reference_in_another_year_is_another_payment(db, finance, posted_fy2025):
    from billing.schemas import PaymentCreate

    # posted_fy2025 recorded 1,000,000 from 八代市 for FY2025 as "振込 0901-01"
    operations.record_payment(db, finance, PaymentCreate(tenant_code="432024", fiscal_year=2026, amount=1_000_000,
                                                         received_on=dt.date(2026, 9, 1), reference="振込 0901-01"))
    db.commit()
    payments = db.scalars(sa.select(JournalEntry).where(JournalEntry.kind == EntryKind.payment)).all()
    assert sorted(entry.fiscal_year for entry in payments) == [2025, 2026]
