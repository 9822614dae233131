"""Worked examples of the cost allocation, as a finance officer would check them by hand.

Every expected figure here is worked out in docs/allocation.md (same example numbers) and
in the comments below; none is copied from the code's output.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from billing.allocation import (
    Component,
    CostItem,
    Participant,
    Policy,
    allocate,
    allocate_costs,
    amortise,
)
from billing.errors import AllocationError, BillingError, InfeasibleBounds

PREFECTURE = "430005"  # 熊本県
A, B, C, D = "433489", "433641", "433675", "433683"  # 美里町, 玉東町, 南関町, 長洲町

HALF = Fraction(1, 2)
EQUAL_AND_POPULATION = (Component("equal", HALF), Component("population", HALF))


def amounts(result):
    return {line.code: line.amount for line in result.lines}


def components(result):
    return {line.code: dict(line.components) for line in result.lines}


# --- amortisation ---------------------------------------------------------------------------


def test_a_build_cost_over_three_years_puts_the_extra_yen_first():
    # 1,000,000 / 3 = 333,333 remainder 1: the first year carries the extra yen.
    assert amortise(1_000_000, 3) == [333_334, 333_333, 333_333]


def test_amortisation_with_two_extra_yen_and_exact_division():
    # 11 / 3 = 3 remainder 2; 900 / 3 = 300 exactly.
    assert amortise(11, 3) == [4, 4, 3]
    assert amortise(900, 3) == [300, 300, 300]
    assert amortise(0, 2) == [0, 0]


@pytest.mark.parametrize("amount, years", [(-1, 3), (100, 0), (Fraction(1, 2), 2)])
def test_amortisation_refuses_nonsense(amount, years):
    with pytest.raises(AllocationError):
        amortise(amount, years)


# --- worked examples (docs/allocation.md) ---------------------------------------------------


def test_example_0_ties_go_to_the_smaller_code():
    # 100 yen in three equal thirds of 33⅓: floors give 99, the 1 missing yen goes to the
    # smallest code because all fractional parts are equal. Input order must not matter.
    policy = Policy(None, (Component("equal", Fraction(1)),))
    result = allocate(100, [Participant(C), Participant(A), Participant(B)], policy)
    assert amounts(result) == {A: 34, B: 33, C: 33}
    assert [line.code for line in result.lines] == [A, B, C]


def test_example_1_equal_and_population_with_the_prefecture_bearing_half():
    policy = Policy(HALF, EQUAL_AND_POPULATION)
    participants = [Participant(A, 10_000), Participant(B, 20_000), Participant(C, 30_000)]
    result = allocate(1_000_000, participants, policy, PREFECTURE)

    # Prefecture 1,000,000 × ½; A 83,333⅓ + 41,666⅔; B 83,333⅓ + 83,333⅓; C 83,333⅓ + 125,000.
    assert result.line(PREFECTURE).exact == 500_000
    assert result.line(A).exact == 125_000
    assert result.line(B).exact == Fraction(500_000, 3)  # 166,666⅔
    assert result.line(C).exact == Fraction(625_000, 3)  # 208,333⅓
    # Floors add up to 999,999; the missing yen goes to B (fraction ⅔).
    assert amounts(result) == {PREFECTURE: 500_000, A: 125_000, B: 166_667, C: 208_333}
    assert result.total == 1_000_000
    assert components(result) == {
        PREFECTURE: {"prefecture": 500_000},
        A: {"equal": 83_333, "population": 41_667},  # the yen to population (⅔ > ⅓)
        B: {"equal": 83_334, "population": 83_333},  # tie at ⅓: the earlier component, equal
        C: {"equal": 83_333, "population": 125_000},
    }


def test_example_2_a_municipality_joining_in_october_pays_for_six_months():
    policy = Policy(None, EQUAL_AND_POPULATION)
    participants = [
        Participant(A, 10_000, months=12),
        Participant(B, 10_000, months=12),
        Participant(C, 20_000, months=6),
    ]
    result = allocate(900_000, participants, policy)
    # Equal: 450,000 on 1 : 1 : ½ → 180,000, 180,000, 90,000.
    # Population: 450,000 on 10,000 : 10,000 : 20,000 × ½ → 150,000 each.
    assert amounts(result) == {A: 330_000, B: 330_000, C: 240_000}
    assert components(result)[C] == {"equal": 90_000, "population": 150_000}
    assert components(result)[A] == {"equal": 180_000, "population": 150_000}


def test_example_3_a_binding_cap_moves_the_excess_to_the_others_in_proportion():
    policy = Policy(None, EQUAL_AND_POPULATION, cap=500_000)
    participants = [Participant(A, 10_000), Participant(B, 10_000), Participant(C, 40_000)]
    result = allocate(1_200_000, participants, policy)
    # Formula: 300,000, 300,000, 600,000. C is capped at 500,000; A and B share 700,000 in
    # proportion 1 : 1 (λ = 7/6).
    assert amounts(result) == {A: 350_000, B: 350_000, C: 500_000}
    assert result.line(C).bound == "cap"
    assert result.line(C).formula == 600_000
    assert result.scale == Fraction(7, 6)
    # A: equal 233,333⅓ + population 116,666⅔; C scaled by 5/6: 166,666⅔ + 333,333⅓.
    assert result.line(A).exact_components == {"equal": Fraction(700_000, 3), "population": Fraction(350_000, 3)}
    assert components(result) == {
        A: {"equal": 233_333, "population": 116_667},
        B: {"equal": 233_333, "population": 116_667},
        C: {"equal": 166_667, "population": 333_333},
    }


def test_example_4_usage_is_not_prorated_and_three_yen_go_to_the_largest_fractions():
    policy = Policy(Fraction(1, 5), (Component("equal", Fraction(1, 4)), Component("usage:api_calls", Fraction(3, 4))))
    participants = [
        Participant("434256", usage={"api_calls": 0}),
        Participant("434329", usage={"api_calls": 100_000}),
        Participant("434337", usage={"api_calls": 200_000}),
        Participant("435015", months=6, usage={"api_calls": 300_000}),
    ]
    result = allocate(1_000_000, participants, policy, PREFECTURE)
    # R = 800,000. Equal 200,000 on 12:12:12:6 → 57,142⁶⁄₇ ×3 and 28,571³⁄₇.
    # Usage 600,000 on 0:100,000:200,000:300,000 → 0, 100,000, 200,000, 300,000.
    assert result.line("435015").exact == Fraction(2_300_000, 7)  # 328,571³⁄₇
    assert amounts(result) == {
        PREFECTURE: 200_000,
        "434256": 57_143,
        "434329": 157_143,
        "434337": 257_143,
        "435015": 328_571,
    }
    assert components(result)["434256"] == {"equal": 57_143, "usage:api_calls": 0}
    assert components(result)["434337"] == {"equal": 57_143, "usage:api_calls": 200_000}
    assert components(result)["435015"] == {"equal": 28_571, "usage:api_calls": 300_000}


def test_example_5_a_binding_floor_and_a_member_with_zero_months():
    policy = Policy(None, (Component("population", Fraction(1)),), floor=10_000)
    participants = [
        Participant(A, 2_000),
        Participant(B, 8_000),
        Participant(C, 90_000),
        Participant(D, 5_000, months=0),  # joins next year: pays nothing, no floor
    ]
    result = allocate(100_000, participants, policy)
    # Formula 2,000 / 8,000 / 90,000: A and B lifted to 10,000, C pays the remaining 80,000.
    assert amounts(result) == {A: 10_000, B: 10_000, C: 80_000, D: 0}
    assert result.line(A).bound == result.line(B).bound == "floor"
    assert result.line(D).bound is None
    assert result.scale == Fraction(8, 9)


def test_a_floor_the_zero_month_member_would_make_feasible_is_still_infeasible():
    # 3 participants × 40,000 = 120,000 > 100,000; D (0 months) is not counted.
    policy = Policy(None, (Component("population", Fraction(1)),), floor=40_000)
    participants = [
        Participant(A, 2_000),
        Participant(B, 8_000),
        Participant(C, 90_000),
        Participant(D, 5_000, months=0),
    ]
    with pytest.raises(InfeasibleBounds) as caught:
        allocate(100_000, participants, policy)
    assert caught.value.bound == "floor"
    assert caught.value.participants == 3
    assert "120,000" in caught.value.message_en
    assert "下限額" in caught.value.message_ja


def test_an_infeasible_cap_is_reported_with_the_amounts_in_both_languages():
    # 3 × 300,000 = 900,000 < 1,000,000.
    policy = Policy(None, (Component("equal", Fraction(1)),), cap=300_000)
    with pytest.raises(InfeasibleBounds) as caught:
        allocate(1_000_000, [Participant(A), Participant(B), Participant(C)], policy)
    assert caught.value.bound == "cap"
    assert "900,000" in caught.value.message_en and "1,000,000" in caught.value.message_en
    assert "上限額" in caught.value.message_ja
    assert isinstance(caught.value, BillingError)


def test_floor_and_cap_together_clamp_at_both_ends():
    # Formula (population 1, T = 100,000): 1,000 / 9,000 / 90,000. Floor 5,000 and cap 60,000:
    # A at the floor 5,000, C at the cap 60,000, B pays the remaining 35,000 (not bound).
    policy = Policy(None, (Component("population", Fraction(1)),), floor=5_000, cap=60_000)
    result = allocate(100_000, [Participant(A, 1_000), Participant(B, 9_000), Participant(C, 90_000)], policy)
    assert amounts(result) == {A: 5_000, B: 35_000, C: 60_000}
    assert (result.line(A).bound, result.line(B).bound, result.line(C).bound) == ("floor", None, "cap")


def test_a_floor_lifting_a_member_without_usage_is_attributed_by_weight():
    # Pure usage policy; A used nothing. Floor 100: A pays 100, B pays the other 900.
    policy = Policy(None, (Component("usage:api_calls", Fraction(1)),), floor=100)
    result = allocate(1_000, [Participant(A, usage={"api_calls": 0}), Participant(B, usage={"api_calls": 5})], policy)
    assert amounts(result) == {A: 100, B: 900}
    assert components(result)[A] == {"usage:api_calls": 100}


def test_all_of_the_cost_on_the_prefecture():
    policy = Policy(Fraction(1), (Component("equal", Fraction(1)),))
    result = allocate(5_000, [Participant(A), Participant(B)], policy, PREFECTURE)
    assert amounts(result) == {PREFECTURE: 5_000, A: 0, B: 0}


def test_cost_items_are_added_up_before_allocating():
    # Two items of 50 yen among three equal members. Item by item, each 50 would round to
    # 17/17/16 (16⅔ each, the two missing yen to the smaller codes), adding up to 34/34/32: C
    # 1⅓ yen below its exact 33⅓. On the year total of 100 yen: 34/33/33, all within 1 yen.
    policy = Policy(None, (Component("equal", Fraction(1)),))
    costs = [CostItem("cloud", 50), CostItem("maintenance", 50)]
    result = allocate_costs(costs, [Participant(A), Participant(B), Participant(C)], policy)
    assert result.total == 100
    assert amounts(result) == {A: 34, B: 33, C: 33}
    assert result.cost_items == tuple(costs)
    by_item = result.exact_by_cost_item()
    assert by_item["cloud"] == {A: Fraction(50, 3), B: Fraction(50, 3), C: Fraction(50, 3)}


# --- refusals -------------------------------------------------------------------------------


def test_weights_must_add_up_to_exactly_one():
    with pytest.raises(AllocationError) as caught:
        Policy(None, (Component("equal", Fraction(1, 2)), Component("population", Fraction(2, 5))))
    assert "9/10" in caught.value.message_en
    assert caught.value.message_ja


def test_binary_float_weights_are_refused():
    with pytest.raises(AllocationError):
        Component("equal", 0.5)  # type: ignore[arg-type]


def test_unknown_basis_is_refused():
    with pytest.raises(AllocationError):
        Component("area", Fraction(1))


def test_floor_above_cap_is_refused():
    with pytest.raises(AllocationError):
        Policy(None, (Component("equal", Fraction(1)),), floor=200, cap=100)


def test_a_basis_adding_up_to_zero_cannot_be_divided():
    policy = Policy(None, (Component("equal", HALF), Component("usage:api_calls", HALF)))
    participants = [Participant(A, usage={"api_calls": 0}), Participant(B, usage={"api_calls": 0})]
    with pytest.raises(AllocationError) as caught:
        allocate(1_000, participants, policy)
    assert "usage:api_calls" in caught.value.message_en


def test_participants_must_be_unique_and_not_the_prefecture():
    policy = Policy(HALF, (Component("equal", Fraction(1)),))
    with pytest.raises(AllocationError):
        allocate(100, [Participant(A), Participant(A)], policy, PREFECTURE)
    with pytest.raises(AllocationError):
        allocate(100, [Participant(A), Participant(PREFECTURE)], policy, PREFECTURE)
    with pytest.raises(AllocationError):
        allocate(100, [Participant(A)], policy, None)  # a share needs the prefecture's code


def test_missing_population_for_a_population_basis_is_refused():
    policy = Policy(None, EQUAL_AND_POPULATION)
    with pytest.raises(AllocationError):
        allocate(100, [Participant(A, 10), Participant(B)], policy)


@pytest.mark.parametrize("months", [-1, 13])
def test_months_outside_the_fiscal_year_are_refused(months):
    with pytest.raises(AllocationError):
        Participant(A, months=months)


def test_a_cap_that_only_fits_by_charging_a_member_without_usage_is_infeasible():
    # Pure usage policy, 2,000 yen, cap 1,000: 2 × 1,000 would suffice, but A used nothing, so
    # no scaling makes A pay; B alone can pay at most 1,000 < 2,000.
    policy = Policy(None, (Component("usage:api_calls", Fraction(1)),), cap=1_000)
    members = [Participant(A, usage={"api_calls": 0}), Participant(B, usage={"api_calls": 5})]
    with pytest.raises(InfeasibleBounds) as caught:
        allocate(2_000, members, policy)
    assert caught.value.bound == "cap"
    assert caught.value.stuck_at_floor == 1
    assert "formula share of 0" in caught.value.message_en
