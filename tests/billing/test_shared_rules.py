"""Billing uses the one home of each shared rule: the floor/cap feasibility of billing.allocation
in scenario validation, core.csvfile's decoding for scenario files, core.codes for accounts."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from click.testing import CliRunner

from billing import ledger
from billing.allocation import Component, CostItem, Participant, Policy, allocate_costs
from billing.cli import billing_cli
from billing.errors import InfeasibleBounds, ScenarioError
from billing.scenario import parse_scenario

# Three Kumamoto towns with a pure usage policy; 433489 used nothing, so no λ makes it pay.
USAGE = {"433489": 0, "433641": 10, "433675": 30}
TOTAL = 1_000_000


def scenario(*, floor=None, cap=None) -> dict:
    return {
        "fiscal_year": 2025,
        "tenants": [{"code": code, "usage": {"api_calls": used}} for code, used in USAGE.items()],
        "costs": [{"id": "cloud", "amount": TOTAL}],
        "policy": {"components": [{"basis": "usage:api_calls", "weight": 1}], "floor": floor, "cap": cap},
    }


def test_a_cap_only_a_member_without_usage_could_make_feasible_is_refused_before_computing():
    # 3 × 400,000 = 1,200,000 ≥ 1,000,000 looked enough to the old scenario check, but 433489
    # pays nothing whatever the scale, so the two users carry at most 800,000.
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(json.dumps(scenario(cap=400_000)))
    [problem] = refused.value.problems
    assert "policy.cap" in problem and "infeasible cap" in problem and "800,000" in problem


@pytest.mark.parametrize("floor", [None, 0, 100_000, 300_000, 333_333, 333_334, 400_000])
@pytest.mark.parametrize("cap", [None, 400_000, 499_999, 500_000, 500_001, 1_000_000])
def test_scenario_validation_refuses_exactly_the_bounds_allocation_refuses(floor, cap):
    policy = Policy(None, (Component("usage:api_calls", Fraction(1)),), floor=floor, cap=cap)
    members = [Participant(code, usage={"api_calls": used}) for code, used in USAGE.items()]
    try:
        allocate_costs([CostItem("cloud", TOTAL)], members, policy)
        allocation_refuses = set()
    except InfeasibleBounds as error:
        allocation_refuses = {f"policy.{error.bound}"}
    try:
        parse_scenario(json.dumps(scenario(floor=floor, cap=cap)))
        validation_refuses = set()
    except ScenarioError as error:
        validation_refuses = {problem.split(":")[0] for problem in error.problems}
    # allocate() stops at the first infeasible bound; validation lists each, floor first.
    assert allocation_refuses <= validation_refuses
    assert bool(allocation_refuses) == bool(validation_refuses)


def simulate(path):
    return CliRunner().invoke(billing_cli, ["simulate", str(path), "--json"])


def test_a_scenario_saved_as_shift_jis_by_a_windows_editor_is_read(tmp_path):
    document = scenario()
    document["memo"] = "令和7年度 利用割のみの試算（熊本県 企画振興部）"
    path = tmp_path / "scenario.json"
    path.write_bytes(json.dumps(document, ensure_ascii=False).encode("cp932"))
    result = simulate(path)
    assert result.exit_code == 0, result.stderr
    amounts = {line["code"]: line["amount"] for line in json.loads(result.stdout)["allocations"]}
    assert amounts == {"433489": 0, "433641": 250_000, "433675": 750_000}  # 10 : 30 of 1,000,000


def test_a_scenario_in_neither_utf8_nor_cp932_is_refused_saying_how_to_save_it(tmp_path):
    path = tmp_path / "scenario.json"
    path.write_bytes(json.dumps(scenario()).encode("utf-16"))
    result = simulate(path)
    assert result.exit_code == 2 and result.stdout == ""
    assert "UTF-8" in result.stderr and "CP932" in result.stderr


def test_a_receivable_exists_only_for_a_valid_local_government_code():
    assert ledger.standard_account("receivable:431001").tenant_code == "431001"
    assert ledger.standard_account("receivable:431002") is None  # check digit of 43100 is 1
    assert ledger.standard_account("receivable:43100") is None
