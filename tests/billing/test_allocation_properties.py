"""Properties of the allocation that must hold for every input, checked with hypothesis.

The reference ("oracle") for the formula share is written out here straight from the
documented formula, with months/12 and population × months/12 as Fractions, independently of
the integer shortcut the implementation takes.
"""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from billing.allocation import Component, Participant, Policy, allocate, amortise
from billing.errors import InfeasibleBounds

PREFECTURE = "430005"
BASES = ("equal", "population", "usage:api_calls")

# Per test, not a global profile: other packages' tests share the session. Exact Fractions
# with large totals are slower than hypothesis' default deadline expects.
exact_arithmetic = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def participants(draw, min_size=1, max_size=12):
    codes = draw(
        st.lists(st.integers(100_000, 999_999), min_size=min_size, max_size=max_size, unique=True)
        .filter(lambda codes: 430_005 not in codes)
    )
    members = []
    for position, code in enumerate(codes):
        # The first member takes part with positive figures, so every basis has a nonzero total.
        lowest = 1 if position == 0 else 0
        members.append(
            Participant(
                code=str(code),
                population=draw(st.integers(lowest, 2_000_000)),
                months=draw(st.integers(max(lowest, 0), 12)),
                usage={"api_calls": draw(st.integers(lowest, 5_000_000))},
            )
        )
    return members


@st.composite
def policies(draw, with_bounds=False, must_have_equal=False):
    chosen = draw(st.lists(st.sampled_from(BASES), min_size=1, max_size=3, unique=True))
    if must_have_equal and "equal" not in chosen:
        chosen = ["equal", *chosen]
    raw_weights = [draw(st.integers(0, 20)) for _ in chosen]
    if must_have_equal:
        raw_weights[chosen.index("equal")] = draw(st.integers(1, 20))
    if sum(raw_weights) == 0:
        raw_weights[0] = 1
    weight_total = sum(raw_weights)
    components = tuple(Component(basis, Fraction(weight, weight_total)) for basis, weight in zip(chosen, raw_weights))
    share = draw(st.one_of(st.none(), st.fractions(min_value=0, max_value=1, max_denominator=1000)))
    floor = cap = None
    if with_bounds:
        floor = draw(st.one_of(st.none(), st.integers(0, 2_000_000)))
        cap = draw(st.one_of(st.none(), st.integers(floor or 0, 20_000_000)))
    return Policy(share, components, floor, cap)


totals = st.integers(0, 100_000_000_000)


@st.composite
def bounded_cases(draw):
    """(total, members, policy with floor/cap) where the bounds are drawn around the average
    municipal share, so that they often bind, sometimes are infeasible, sometimes are loose."""
    total = draw(totals)
    members = draw(participants())
    policy = draw(policies())
    taking_part = sum(1 for member in members if member.months > 0)
    average = municipal_total(total, policy) / taking_part
    floor = cap = None
    if draw(st.booleans()):
        floor = math.floor(average * Fraction(draw(st.integers(0, 110)), 100))
    if draw(st.booleans()):
        cap = max(math.ceil(average * Fraction(draw(st.integers(90, 300)), 100)), floor or 0)
    return total, members, Policy(policy.prefecture_share, policy.components, floor, cap)


def run(total, members, policy):
    return allocate(total, members, policy, PREFECTURE if policy.prefecture_share is not None else None)


def municipal_total(total, policy):
    return Fraction(total) - (total * policy.prefecture_share if policy.prefecture_share is not None else 0)


def oracle_components(total, members, policy):
    """R × w_c × b_c,i / Σ_j b_c,j per member and component, from the documented formula."""
    remainder = municipal_total(total, policy)

    def basis(member, component):
        if member.months == 0:
            return Fraction(0)
        if component.basis == "equal":
            return Fraction(member.months, 12)
        if component.basis == "population":
            return member.population * Fraction(member.months, 12)
        return Fraction(member.usage["api_calls"])

    result = {member.code: {} for member in members}
    for component in policy.components:
        basis_total = sum((basis(member, component) for member in members), Fraction(0))
        for member in members:
            if component.weight == 0:
                result[member.code][component.basis] = Fraction(0)
            else:
                share = remainder * component.weight * basis(member, component) / basis_total
                result[member.code][component.basis] = share
    return result


@exact_arithmetic
@given(st.one_of(st.tuples(totals, participants(), policies(with_bounds=True)), bounded_cases()))
def test_lines_add_up_to_the_total_and_components_to_their_line(case):
    total, members, policy = case
    try:
        result = run(total, members, policy)
    except InfeasibleBounds:
        return  # the bounds check has its own property below
    assert sum(line.amount for line in result.lines) == total
    assert result.total == total
    for line in result.lines:
        assert sum(line.components.values()) == line.amount
        assert abs(line.amount - line.exact) < 1
        for basis, amount in line.components.items():
            assert abs(amount - line.exact_components[basis]) < 1
    assert [line.code for line in result.lines] == sorted(line.code for line in result.lines)


@exact_arithmetic
@given(totals, participants(), policies(with_bounds=False))
def test_without_floor_or_cap_each_line_is_within_one_yen_of_the_formula(total, members, policy):
    result = run(total, members, policy)
    expected = oracle_components(total, members, policy)
    for member in members:
        line = result.line(member.code)
        formula = sum(expected[member.code].values(), Fraction(0))
        assert line.exact == formula
        assert abs(line.amount - formula) < 1
        for basis, exact_part in expected[member.code].items():
            assert line.exact_components[basis] == exact_part
            assert abs(line.components[basis] - exact_part) < 1
    if policy.prefecture_share is not None:
        prefecture_exact = total * policy.prefecture_share
        assert abs(result.line(PREFECTURE).amount - prefecture_exact) < 1
        assert result.line(PREFECTURE).components == {"prefecture": result.line(PREFECTURE).amount}


@exact_arithmetic
@given(st.one_of(st.tuples(totals, participants(), policies(with_bounds=True)), bounded_cases()))
def test_floor_and_cap_are_met_with_one_common_scale_or_refused(case):
    total, members, policy = case
    remainder = municipal_total(total, policy)
    expected = oracle_components(total, members, policy)
    lowest = policy.floor or 0
    taking_part = [member for member in members if member.months > 0]
    # A participant whose formula share is 0 cannot be scaled up: it pays the floor at most.
    stuck = [member for member in taking_part if sum(expected[member.code].values()) == 0]
    floor_ok = policy.floor is None or len(taking_part) * policy.floor <= remainder
    cap_ok = policy.cap is None or (len(taking_part) - len(stuck)) * policy.cap + len(stuck) * lowest >= remainder
    if not (floor_ok and cap_ok):
        try:
            run(total, members, policy)
        except InfeasibleBounds as error:
            assert error.bound in ("floor", "cap")
            return
        raise AssertionError("infeasible bounds were accepted")

    result = run(total, members, policy)

    def clamp(share):
        share = max(share, lowest)
        return share if policy.cap is None else min(share, policy.cap)

    for member in members:
        line = result.line(member.code)
        if member.months == 0:
            assert line.amount == 0 and line.exact == 0  # no floor for a non-participant
            continue
        # Rounded amounts stay within the bounds, whole yen as they are.
        assert lowest <= line.amount
        assert policy.cap is None or line.amount <= policy.cap
        # The defining equation: clamp(λ × formula, floor, cap) with the one λ of the result.
        formula = sum(expected[member.code].values(), Fraction(0))
        assert line.exact == clamp(result.scale * formula)
    assert sum(line.exact for line in result.lines if line.code != PREFECTURE) == remainder


@exact_arithmetic
@given(bounded_cases(), st.randoms(use_true_random=False))
def test_the_order_of_participants_changes_nothing(case, random):
    total, members, policy = case
    try:
        result = run(total, members, policy)
    except InfeasibleBounds:
        return
    shuffled = list(members)
    random.shuffle(shuffled)
    assert run(total, shuffled, policy) == result


@exact_arithmetic
@given(
    totals,
    participants(),
    policies(with_bounds=False, must_have_equal=True),
    st.integers(100_000, 999_999),
    st.integers(0, 12),
    st.integers(0, 2_000_000),
    st.integers(0, 5_000_000),
)
def test_a_new_member_never_raises_anyone_elses_equal_component(
    total, members, policy, code, months, population, usage
):
    """Exact equal components never rise (R × w × m_i / Σ m, and Σ m can only grow).

    Rounded ones may rise by at most 1 yen: each is within 1 yen of its exact value (strictly),
    so new_rounded < new_exact + 1 <= old_exact + 1 < old_rounded + 2.
    """
    newcomer = str(code)
    assume(newcomer != PREFECTURE and newcomer not in {member.code for member in members})
    before = run(total, members, policy)
    after = run(total, [*members, Participant(newcomer, population, months, {"api_calls": usage})], policy)
    for member in members:
        old, new = before.line(member.code), after.line(member.code)
        assert new.exact_components["equal"] <= old.exact_components["equal"]
        assert new.components["equal"] <= old.components["equal"] + 1


@exact_arithmetic
@given(st.integers(0, 10**12), st.integers(1, 50))
def test_amortised_amounts_add_up_and_differ_by_at_most_one_yen_earliest_first(amount, years):
    yearly = amortise(amount, years)
    assert len(yearly) == years
    assert sum(yearly) == amount
    assert max(yearly) - min(yearly) <= 1
    assert yearly == sorted(yearly, reverse=True)
