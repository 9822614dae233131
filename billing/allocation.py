"""Cost allocation (按分計算): the pure, exact arithmetic that splits a year's cost in yen.

No database, no Flask, no binary floats: every intermediate value is an ``int`` or a
``fractions.Fraction``. The method is documented with worked examples in ``docs/allocation.md``.

The steps, for a fiscal year whose cost items add up to ``T`` yen:

1. **Prefecture share (県負担).** With a prefecture share ``s`` the prefecture's line is exactly
   ``T × s``; the municipalities share ``R = T − T × s``. Without one there is no prefecture
   line and ``R = T``.
2. **Formula share.** Municipality ``i`` gets ``R × Σ_c w_c × b_c,i / Σ_j b_c,j`` where the
   component weights ``w_c`` add up to exactly 1 and the basis ``b`` is ``months/12`` for
   ``equal`` (均等割), ``population × months/12`` for ``population`` (人口割) and the year's
   metered quantity for ``usage:<metric>`` (利用割, not prorated: what was used was used).
   The formula shares add up to ``R`` exactly.
3. **Floor and cap.** Each participating municipality pays ``clamp(λ × formula_i, floor, cap)``
   with the single ``λ`` that makes the shares add up to ``R`` again. ``λ`` is found exactly by
   walking the breakpoints of that piecewise-linear, non-decreasing function.
   Infeasible bounds raise :class:`InfeasibleBounds`: ``n × floor > R``, or the caps cannot
   reach ``R`` (``n × cap < R``, where a participant whose formula share is 0 counts with the
   floor instead of the cap since no λ raises it). :func:`infeasible_bounds` is the one home of
   this test; scenario validation calls it too.
4. **Rounding to yen** by largest remainder over all lines (the prefecture's included): every
   line is rounded down, then the missing yen go one each to the largest fractional parts, ties
   to the smaller local government code.
5. **Component breakdown** of every line (``equal``, ``population``, ``usage:<metric>``, or
   ``prefecture``), scaled by ``share / formula share`` when λ or a bound changed the line, and
   rounded the same way within the line, ties to the earlier component in policy order.

Invariants of every :class:`AllocationResult` (checked by the property tests):

* the line amounts add up to ``T`` exactly, and every line's components add up to the line;
* every amount and every component is within (strictly less than) 1 yen of its exact value;
* a participating municipality's amount lies within ``[floor, cap]`` (they are whole yen, so
  rounding cannot push an amount across them);
* the result does not depend on the order in which participants are given.

Decisions:

* A municipality with ``months == 0`` did not take part in the year: it pays 0, its usage is
  not counted in any usage basis, and the floor does not apply to it (it also does not count
  towards the number of municipalities the floor and cap are checked against).
* Floors and caps are yearly amounts and are not prorated for mid-year joiners.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

from billing.errors import AllocationError, InfeasibleBounds

MONTHS_IN_YEAR = 12
EQUAL = "equal"
POPULATION = "population"
USAGE_PREFIX = "usage:"
PREFECTURE_COMPONENT = "prefecture"

_METRIC_NAME = re.compile(r"[A-Za-z0-9_.\-]+\Z")


def usage_metric(basis: str) -> str | None:
    """The metric of a ``usage:<metric>`` basis, or None for any other basis."""
    if basis.startswith(USAGE_PREFIX):
        return basis[len(USAGE_PREFIX):]
    return None


def is_known_basis(basis: str) -> bool:
    """True for ``equal``, ``population`` and ``usage:<metric>`` with a plain metric name."""
    if basis in (EQUAL, POPULATION):
        return True
    metric = usage_metric(basis)
    return metric is not None and bool(_METRIC_NAME.match(metric))


def _is_whole(value: object) -> bool:
    # bool is an int subclass; True yen is a bug, not an amount.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class CostItem:
    """One cost line (費目) of a fiscal year: cloud fees, maintenance, an amortised build cost."""

    id: str
    amount: int
    category: str = ""

    def __post_init__(self) -> None:
        if not _is_whole(self.amount) or self.amount < 0:
            raise AllocationError(
                f"cost item {self.id!r}: amount must be a non-negative whole number of yen, "
                f"got {self.amount!r}",
                f"費目 {self.id}: 金額は0以上の整数(円)で指定してください(値: {self.amount!r})。",
            )


@dataclass(frozen=True)
class Participant:
    """A municipality taking part in the year's allocation.

    ``months`` is the number of months of the fiscal year it took part (0–12; a municipality
    joining in October takes part 6 months). ``population`` is needed only for a
    ``population`` basis, ``usage`` (metric → the year's metered total) only for usage bases.
    """

    code: str
    population: int | None = None
    months: int = MONTHS_IN_YEAR
    usage: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if not _is_whole(self.months) or not 0 <= self.months <= MONTHS_IN_YEAR:
            problems.append(f"months must be a whole number from 0 to 12, got {self.months!r}")
        if self.population is not None and (not _is_whole(self.population) or self.population < 0):
            problems.append(f"population must be a non-negative integer, got {self.population!r}")
        for metric, quantity in self.usage.items():
            if not _is_whole(quantity) or quantity < 0:
                problems.append(f"usage {metric!r} must be a non-negative integer, got {quantity!r}")
        if problems:
            raise AllocationError(
                f"participant {self.code}: " + "; ".join(problems),
                f"参加団体 {self.code}: 参加月数(0〜12の整数)・人口・利用実績(0以上の整数)を確認してください。",
            )
        # A private copy, so that a caller mutating its dict cannot change a frozen participant.
        object.__setattr__(self, "usage", dict(self.usage))


@dataclass(frozen=True)
class Component:
    """One part of the formula: a basis and its weight (a fraction of the municipal total)."""

    basis: str
    weight: Fraction

    def __post_init__(self) -> None:
        if not is_known_basis(self.basis):
            raise AllocationError(
                f"unknown basis {self.basis!r} (use equal, population or usage:<metric>)",
                f"按分の基準 {self.basis!r} は使えません(equal・population・usage:<指標> のいずれか)。",
            )
        if isinstance(self.weight, float) or not isinstance(self.weight, (int, Fraction)):
            raise AllocationError(
                f"weight of {self.basis} must be an exact Fraction, got {self.weight!r}",
                f"{self.basis} の割合は分数(Fraction)で指定してください。",
            )
        weight = Fraction(self.weight)
        if weight < 0:
            raise AllocationError(
                f"weight of {self.basis} must not be negative, got {weight}",
                f"{self.basis} の割合が負の値です({weight})。",
            )
        object.__setattr__(self, "weight", weight)

    @property
    def metric(self) -> str | None:
        return usage_metric(self.basis)


@dataclass(frozen=True)
class Policy:
    """An allocation policy (按分方式).

    ``prefecture_share`` is the fraction of the total the prefecture bears (None: no prefecture
    line). The component weights add up to exactly 1. ``floor`` and ``cap`` are yearly amounts in
    yen per participating municipality (None: no floor / no cap).
    """

    prefecture_share: Fraction | None
    components: tuple[Component, ...]
    floor: int | None = None
    cap: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", tuple(self.components))
        if not self.components:
            raise AllocationError(
                "the policy needs at least one component",
                "按分方式に構成要素(均等割・人口割・利用割)が一つもありません。",
            )
        weight_sum = sum((component.weight for component in self.components), Fraction(0))
        if weight_sum != 1:
            raise AllocationError(
                f"component weights must add up to exactly 1, they add up to {weight_sum}",
                f"按分の割合の合計が1になっていません(合計 {weight_sum})。",
            )
        bases = [component.basis for component in self.components]
        if len(set(bases)) != len(bases):
            raise AllocationError(
                f"each basis may appear once in a policy, got {bases}",
                "同じ按分の基準が二回以上指定されています。",
            )
        share = self.prefecture_share
        if share is not None:
            if isinstance(share, float) or not isinstance(share, (int, Fraction)):
                raise AllocationError(
                    f"the prefecture share must be an exact Fraction, got {share!r}",
                    "県負担割合は分数(Fraction)で指定してください。",
                )
            share = Fraction(share)
            if not 0 <= share <= 1:
                raise AllocationError(
                    f"the prefecture share must be between 0 and 1, got {share}",
                    f"県負担割合は0以上1以下で指定してください(値: {share})。",
                )
            object.__setattr__(self, "prefecture_share", share)
        for name, bound in (("floor", self.floor), ("cap", self.cap)):
            if bound is not None and (not _is_whole(bound) or bound < 0):
                raise AllocationError(
                    f"the {name} must be a non-negative whole number of yen, got {bound!r}",
                    f"{'下限額' if name == 'floor' else '上限額'}は0以上の整数(円)で指定してください。",
                )
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise AllocationError(
                f"the floor ({self.floor:,} yen) is above the cap ({self.cap:,} yen)",
                f"下限額({self.floor:,}円)が上限額({self.cap:,}円)を上回っています。",
            )

    @property
    def bases(self) -> tuple[str, ...]:
        return tuple(component.basis for component in self.components)


@dataclass(frozen=True)
class AllocationLine:
    """One payer's line: the rounded ``amount`` in yen and how it was reached.

    ``exact`` is the exact share the amount was rounded from (after floor/cap); ``formula`` is
    the exact share by the formula alone (before floor/cap; equal to ``exact`` when no bound
    moved anything). ``components`` and ``exact_components`` are keyed by basis in policy order
    (``prefecture`` for the prefecture's line). ``bound`` is ``"floor"`` or ``"cap"`` when that
    bound clamped this line.
    """

    code: str
    amount: int
    exact: Fraction
    components: Mapping[str, int]
    exact_components: Mapping[str, Fraction]
    formula: Fraction
    months: int
    bound: str | None = None
    is_prefecture: bool = False


@dataclass(frozen=True)
class AllocationResult:
    """The outcome of one allocation; ``lines`` are sorted by code and add up to ``total``."""

    total: int
    lines: tuple[AllocationLine, ...]
    policy: Policy
    prefecture_code: str | None
    municipal_total: Fraction
    scale: Fraction
    cost_items: tuple[CostItem, ...] = ()
    grants: tuple[GrantShare, ...] = ()

    @property
    def cost_total(self) -> int:
        """事業費: what the cost items add up to (``total`` plus what the grants fund)."""
        return self.total + self.grant_total

    @property
    def grant_total(self) -> int:
        """交付金充当額: what the grants fund of the year's costs."""
        return sum(grant.amount for grant in self.grants)

    def line(self, code: str) -> AllocationLine:
        for line in self.lines:
            if line.code == code:
                return line
        raise KeyError(code)

    def amounts(self) -> dict[str, int]:
        return {line.code: line.amount for line in self.lines}

    def exact_shares(self) -> dict[str, Fraction]:
        """Each payer's exact share (after floor/cap), before rounding to yen."""
        return {line.code: line.exact for line in self.lines}

    def exact_by_cost_item(self) -> dict[str, dict[str, Fraction]]:
        """Exact share of each cost item per payer: ``exact × item / total``.

        Deliberately exact only: integer per-item amounts cannot in general add up both to
        every item and to every (once-rounded) line; call :func:`allocate` per item if a bill
        must show whole yen per item, accepting that each line may then drift by up to one yen
        per item from its once-rounded amount.
        """
        items_total = sum(item.amount for item in self.cost_items)
        if self.total == 0 or items_total == 0:
            return {item.id: {line.code: Fraction(0) for line in self.lines} for item in self.cost_items}
        return {
            item.id: {line.code: line.exact * item.amount / items_total for line in self.lines}
            for item in self.cost_items
        }

    def to_json_dict(self) -> dict[str, object]:
        """The ``renkei billing simulate --json`` shape: total and one entry per line."""
        return {
            "total": self.total,
            "allocations": [
                {"code": line.code, "amount": line.amount, "components": dict(line.components)}
                for line in self.lines
            ],
        }


def amortise(amount: int, years: int) -> list[int]:
    """Split a build cost (構築費) into ``years`` yearly whole-yen amounts.

    The amounts add up to ``amount`` exactly and differ by at most 1 yen; the earlier years carry
    the extra yen, so nothing is left to collect at the end of the period.
    """
    if not _is_whole(amount) or amount < 0:
        raise AllocationError(
            f"the amount to amortise must be a non-negative whole number of yen, got {amount!r}",
            f"償却する金額は0以上の整数(円)で指定してください(値: {amount!r})。",
        )
    if not _is_whole(years) or years < 1:
        raise AllocationError(
            f"the amortisation period must be at least one year, got {years!r}",
            f"償却年数は1年以上の整数で指定してください(値: {years!r})。",
        )
    per_year, extra_yen = divmod(amount, years)
    return [per_year + 1 if year < extra_yen else per_year for year in range(years)]


_COMMON_DENOMINATOR_BITS = 65_536


def round_preserving_total(exact_parts: Sequence[Fraction], total: int) -> list[int]:
    """Round exact parts to whole yen so that they add up to ``total`` (largest remainder).

    Every part is rounded down, then the missing yen go one each to the parts with the largest
    fractional parts; ties go to the earlier part (callers order parts by code or by policy
    order). Each result is within 1 yen of its exact part when the missing yen do not
    outnumber the parts with a fraction. That holds for the lines (their exact sum is the
    integer total) and for a line's components (the line's amount is its exact share rounded
    down or up, so at most as many yen are missing as the components' fractions add up to,
    rounded up).
    """
    rounded = [part.numerator // part.denominator for part in exact_parts]  # floor, for int and Fraction

    def remainders() -> Sequence[int | Fraction]:
        # Fractional parts compared exactly as integers over their common denominator (the same
        # order as comparing the Fractions, much faster for 1,741 lines); Fractions beyond a size
        # where that stops paying off are compared as they are.
        common = math.lcm(*{part.denominator for part in exact_parts})
        if common.bit_length() <= _COMMON_DENOMINATOR_BITS:
            return [(part.numerator % part.denominator) * (common // part.denominator) for part in exact_parts]
        return [part - whole for part, whole in zip(exact_parts, rounded)]

    return _largest_remainder(rounded, total, remainders, lambda: list(exact_parts))


def _round_over(numerators: Sequence[int], denominator: int, total: int) -> list[int]:
    """:func:`round_preserving_total` of the parts ``numerator / denominator`` (one common
    denominator > 0), in integers: the same rule and the same result, without a Fraction."""
    rounded = [numerator // denominator for numerator in numerators]
    if sum(rounded) == total:  # no yen to place (and no remainders to work out)
        return rounded
    return _largest_remainder(rounded, total, lambda: [numerator % denominator for numerator in numerators],
                              lambda: [Fraction(numerator, denominator) for numerator in numerators])


def _largest_remainder(rounded: list[int], total: int, remainders: Callable[[], Sequence[int | Fraction]],
                       parts: Callable[[], list[Fraction]]) -> list[int]:
    """The largest remainder rule, the one home of it: ``rounded`` (each part rounded down) gets
    the yen missing to ``total``, one each to the parts whose ``remainders()`` (their fractional
    parts, or the same scaled by one positive factor) are the largest, ties to the earlier part.
    ``parts()``: the exact parts, named when the yen to place cannot be placed (a bug)."""
    missing_yen = total - sum(rounded)
    if not 0 <= missing_yen <= len(rounded):
        raise AssertionError(f"cannot round {parts()} to {total}: {missing_yen} yen to place")
    if missing_yen:
        # largest first; a stable sort keeps equal remainders in their order (reverse included)
        for index in sorted(range(len(rounded)), key=remainders().__getitem__, reverse=True)[:missing_yen]:
            rounded[index] += 1
    return rounded


def allocate(
    total: int,
    participants: Sequence[Participant],
    policy: Policy,
    prefecture_code: str | None = None,
) -> AllocationResult:
    """Split ``total`` yen between the prefecture (if the policy has a share) and the
    municipalities, following ``policy``. See the module docstring for the method.

    Raises :class:`AllocationError` for inconsistent inputs (duplicate codes, a missing
    population or usage figure, a basis whose total is 0 while its weight is not) and
    :class:`InfeasibleBounds` when the floor or cap cannot be met.
    """
    _check_inputs(total, participants, policy, prefecture_code)
    # Sorting first makes the result independent of input order and lets every tie-break
    # below simply mean "the earlier one".
    municipalities = sorted(participants, key=lambda participant: participant.code)

    prefecture_exact = total * policy.prefecture_share if policy.prefecture_share is not None else None
    municipal_total = _municipal_total(total, policy.prefecture_share)

    denominator, numerators = _formula_numerators(municipalities, policy, municipal_total)
    formula_components = _formula_components(numerators, denominator)
    formula = [Fraction(sum(parts), denominator) for parts in numerators]
    infeasible = infeasible_bounds(
        municipalities, total, prefecture_share=policy.prefecture_share, components=policy.components,
        floor=policy.floor, cap=policy.cap,
    )
    if infeasible:
        raise infeasible[0]
    scale, shares, bounds = _apply_floor_and_cap(municipalities, formula, policy, municipal_total)

    payers: list[tuple[str, Fraction, bool]] = [
        (municipality.code, share, False) for municipality, share in zip(municipalities, shares)
    ]
    if prefecture_code is not None:
        payers.append((prefecture_code, prefecture_exact, True))
        payers.sort(key=lambda payer: payer[0])
    amounts = round_preserving_total([share for _, share, _ in payers], total)

    by_code = {municipality.code: index for index, municipality in enumerate(municipalities)}
    bases = policy.bases  # a tuple built on each call: once here, not twice per line
    lines = []
    for (code, exact, is_prefecture), amount in zip(payers, amounts):
        if is_prefecture:
            lines.append(
                AllocationLine(
                    code=code,
                    amount=amount,
                    exact=exact,
                    components={PREFECTURE_COMPONENT: amount},
                    exact_components={PREFECTURE_COMPONENT: exact},
                    formula=exact,
                    months=MONTHS_IN_YEAR,
                    is_prefecture=True,
                )
            )
            continue
        index = by_code[code]
        if exact is formula[index] or exact == formula[index]:  # no bound or λ moved the line: most lines
            exact_parts = formula_components[index]
            rounded_parts = _round_over(numerators[index], denominator, amount)
        else:
            exact_parts = _scaled_components(formula_components[index], formula[index], exact, policy)
            rounded_parts = round_preserving_total(exact_parts, amount)
        lines.append(
            AllocationLine(
                code=code,
                amount=amount,
                exact=exact,
                components=dict(zip(bases, rounded_parts)),
                exact_components=dict(zip(bases, exact_parts)),
                formula=formula[index],
                months=municipalities[index].months,
                bound=bounds[index],
            )
        )
    return AllocationResult(
        total=total,
        lines=tuple(lines),
        policy=policy,
        prefecture_code=prefecture_code,
        municipal_total=municipal_total,
        scale=scale,
    )


def allocate_costs(
    costs: Sequence[CostItem],
    participants: Sequence[Participant],
    policy: Policy,
    prefecture_code: str | None = None,
    grants: Sequence[Grant] = (),
) -> AllocationResult:
    """Allocate a fiscal year's cost items in one go, on what the grants leave of their sum.

    The grants fund their share of their eligible items first (:func:`apply_grants`); the
    prefecture's share and the municipalities' formula then split the rest, the base
    (負担対象額). The items are summed before allocating because rounding once keeps every
    payer's line within 1 yen of its exact share of the year; allocating item by item and adding
    the rounded results could put a line up to one yen per item away from it.
    """
    funded = apply_grants(costs, grants)
    base = sum(cost.amount for cost in costs) - sum(grant.amount for grant in funded)
    return replace(allocate(base, participants, policy, prefecture_code), cost_items=tuple(costs), grants=funded)


# --- grants (交付金) --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grant:
    """A grant funding part of the year's costs (e.g. 新しい地方経済・生活環境創生交付金).

    ``rate`` (補助率) is an exact fraction in (0, 1]; the grant funds ``rate × eligible`` of the
    cost items it covers (交付対象経費: their category is in ``categories`` or their id in
    ``item_ids``), rounded down to its ``unit`` (1 yen, or 1,000 yen where the 交付要綱 says
    千円未満切捨て), never more than ``cap`` (the decided amount 交付決定額, or once fixed the
    fixed amount 確定額; None: no cap yet, as in an application). ``exact``: the amount the
    grantor's notice of the fixed amount states, where the 交付要綱 makes it authoritative; the grant
    then funds exactly that (never more than its eligible costs).
    """

    id: str
    rate: Fraction
    categories: frozenset[str] = frozenset()
    item_ids: frozenset[str] = frozenset()
    cap: int | None = None
    unit: int = 1
    exact: int | None = None

    def __post_init__(self) -> None:
        rate = self.rate
        if isinstance(rate, float) or not isinstance(rate, (int, Fraction)) or not 0 < Fraction(rate) <= 1:
            raise AllocationError(
                f"grant {self.id!r}: the rate must be an exact fraction above 0 and at most 1, got {rate!r}",
                f"交付金 {self.id}: 補助率は0より大きく1以下の分数で指定してください(値: {rate!r})。",
            )
        object.__setattr__(self, "rate", Fraction(rate))
        object.__setattr__(self, "categories", frozenset(self.categories))
        object.__setattr__(self, "item_ids", frozenset(self.item_ids))
        if self.cap is not None and (not _is_whole(self.cap) or self.cap < 0):
            raise AllocationError(
                f"grant {self.id!r}: the cap must be a non-negative whole number of yen, got {self.cap!r}",
                f"交付金 {self.id}: 上限額(交付決定額・確定額)は0以上の整数(円)で指定してください。",
            )
        if self.unit not in (1, 1000):
            raise AllocationError(f"grant {self.id!r}: the rounding unit is 1 or 1000 yen, got {self.unit!r}",
                                  f"交付金 {self.id}: 端数処理の単位は1円または1,000円です(値: {self.unit!r})。")
        if self.exact is not None and (not _is_whole(self.exact) or self.exact < 0):
            raise AllocationError(
                f"grant {self.id!r}: the fixed amount must be a non-negative whole number of yen, got {self.exact!r}",
                f"交付金 {self.id}: 確定額は0以上の整数(円)で指定してください。",
            )

    def covers(self, cost: CostItem) -> bool:
        return cost.category in self.categories or cost.id in self.item_ids


@dataclass(frozen=True)
class GrantShare:
    """What one grant funds of the year: its eligible costs, ``rate × eligible`` rounded down to
    the grant's unit and the amount it funds after its cap (``capped`` when the cap decided it),
    or the authoritative fixed amount where the grant has one."""

    id: str
    eligible: int
    by_rate: int
    amount: int
    capped: bool


def apply_grants(costs: Sequence[CostItem], grants: Sequence[Grant]) -> tuple[GrantShare, ...]:
    """Each grant's share of the year's costs. A cost item is funded by one grant at most (two
    grants claiming one item is an error: it would fund the same yen twice), so the grants
    together never fund more than the costs."""
    ids = [grant.id for grant in grants]
    duplicates = sorted(grant_id for grant_id, count in Counter(ids).items() if count > 1)
    if duplicates:
        raise AllocationError(f"grants listed more than once: {', '.join(duplicates)}",
                              f"同じ交付金が二回以上含まれています: {', '.join(duplicates)}")
    shares = []
    for grant in grants:
        eligible = 0
        for cost in costs:
            if not grant.covers(cost):
                continue
            others = [other.id for other in grants if other is not grant and other.covers(cost)]
            if others:
                raise AllocationError(
                    f"cost item {cost.id!r} is eligible for more than one grant ({grant.id}, {', '.join(others)})",
                    f"費目 {cost.id} が複数の交付金（{grant.id}、{'、'.join(others)}）の対象になっています。",
                )
            eligible += cost.amount
        by_rate = math.floor(grant.rate * eligible / grant.unit) * grant.unit
        if grant.exact is not None:
            if grant.exact > eligible:
                raise AllocationError(
                    f"grant {grant.id!r}: its fixed amount {grant.exact} is more than its eligible costs {eligible}",
                    f"交付金 {grant.id}: 確定額（{grant.exact:,}円）が交付対象経費（{eligible:,}円）を超えています。",
                )
            shares.append(GrantShare(grant.id, eligible, by_rate, grant.exact, capped=grant.exact < by_rate))
            continue
        amount = by_rate if grant.cap is None else min(by_rate, grant.cap)
        shares.append(GrantShare(grant.id, eligible, by_rate, amount, capped=amount < by_rate))
    return tuple(shares)


def _check_inputs(
    total: int,
    participants: Sequence[Participant],
    policy: Policy,
    prefecture_code: str | None,
) -> None:
    if not _is_whole(total) or total < 0:
        raise AllocationError(
            f"the total must be a non-negative whole number of yen, got {total!r}",
            f"按分する総額は0以上の整数(円)で指定してください(値: {total!r})。",
        )
    if (policy.prefecture_share is None) != (prefecture_code is None):
        raise AllocationError(
            "a prefecture code and a prefecture share go together: give both or neither",
            "県負担割合と県の団体コードは両方指定するか、両方とも省略してください。",
        )
    codes = [participant.code for participant in participants]
    duplicates = sorted(code for code, count in Counter(codes).items() if count > 1)
    if duplicates:
        raise AllocationError(
            f"participants listed more than once: {', '.join(duplicates)}",
            f"同じ団体が二回以上含まれています: {', '.join(duplicates)}",
        )
    if prefecture_code is not None and prefecture_code in set(codes):
        raise AllocationError(
            f"the prefecture {prefecture_code} is also listed as a municipality",
            f"県({prefecture_code})が市町村として重複して含まれています。",
        )
    for component in policy.components:
        metric = component.metric
        for participant in participants:
            if participant.months == 0:
                continue
            if component.basis == POPULATION and participant.population is None:
                raise AllocationError(
                    f"participant {participant.code}: population is needed for the population basis",
                    f"参加団体 {participant.code}: 人口割のため人口が必要です。",
                )
            if metric is not None and metric not in participant.usage:
                raise AllocationError(
                    f"participant {participant.code}: usage {metric!r} is needed for the "
                    f"{component.basis} basis",
                    f"参加団体 {participant.code}: 利用割({metric})のため利用実績が必要です。",
                )


def basis_value(participant: Participant, basis: str) -> int:
    """The participant's basis quantity, scaled by 12 for the prorated bases.

    ``equal`` gives ``months`` and ``population`` gives ``population × months`` rather than the
    documented ``months/12`` and ``population × months/12``: only ratios ``b_i / Σ b_j`` enter
    the allocation, so the common factor 1/12 cancels and the sums stay integers (fast).
    Usage is the year's metered total, not prorated. Non-participants (months 0) count 0.
    """
    if participant.months == 0:
        return 0
    if basis == EQUAL:
        return participant.months
    if basis == POPULATION:
        return (participant.population or 0) * participant.months
    return participant.usage[basis[len(USAGE_PREFIX):]]


def _municipal_total(total: int, prefecture_share: Fraction | None) -> Fraction:
    """``R``: what the municipalities share, the total less the prefecture's exact share."""
    return Fraction(total) - (total * prefecture_share if prefecture_share is not None else 0)


def _has_formula_share(participant: Participant, components: Sequence[Component]) -> bool:
    """False when every basis with a nonzero weight is 0 for the participant: its formula share
    is then 0 and no λ can raise it (months 0 also gives False)."""
    return any(component.weight and basis_value(participant, component.basis) for component in components)


def infeasible_bounds(
    participants: Sequence[Participant],
    total: int,
    *,
    prefecture_share: Fraction | None,
    components: Sequence[Component],
    floor: int | None,
    cap: int | None,
    unknown_participants: int = 0,
) -> list[InfeasibleBounds]:
    """Every reason why no λ keeps each participating municipality within [floor, cap].

    The one home of this test: :func:`allocate` raises the first, scenario validation lists
    them all. With ``n`` participating municipalities (months > 0) sharing ``R`` (the total
    less the prefecture's share), the floor is infeasible when ``n × floor > R`` and the cap
    when ``(n − z) × cap + z × floor < R``, ``z`` being the participants whose formula share is
    0 (they pay the floor, or nothing, whatever λ is). ``unknown_participants`` counts further
    participating municipalities whose figures are not known yet (a scenario with errors in
    them): they count in ``n`` and are assumed able to reach the cap.
    """
    municipal_total = _municipal_total(total, prefecture_share)
    taking_part = [participant for participant in participants if participant.months > 0]
    participating = len(taking_part) + unknown_participants
    stuck_at_floor = 0 if cap is None else \
        sum(1 for participant in taking_part if not _has_formula_share(participant, components))
    problems = []
    if floor is not None and participating * floor > municipal_total:
        problems.append(InfeasibleBounds("floor", floor, participating, municipal_total))
    lowest = floor or 0
    if cap is not None and (participating - stuck_at_floor) * cap + stuck_at_floor * lowest < municipal_total:
        problems.append(InfeasibleBounds("cap", cap, participating, municipal_total, stuck_at_floor, lowest))
    return problems


def _formula_numerators(
    municipalities: Sequence[Participant], policy: Policy, municipal_total: Fraction
) -> tuple[int, list[tuple[int, ...]]]:
    """Each municipality's formula parts (``R × w_c × b_c,i / Σ_j b_c,j`` per component, in
    policy order) exactly, as integer numerators over one common denominator: ``(denominator,
    numerators per municipality)``. Integers add, compare and round much faster than Fractions
    for 1,741 municipalities, and give the same values."""
    per_units: list[Fraction | None] = []
    per_component: list[list[int]] = []
    for component in policy.components:
        values = [basis_value(municipality, component.basis) for municipality in municipalities]
        basis_total = sum(values)
        if component.weight == 0:
            per_units.append(None)
            per_component.append(values)
            continue
        if basis_total == 0:
            raise AllocationError(
                f"basis {component.basis} has weight {component.weight} but its total over the "
                "participating municipalities is 0, so there is nothing to divide by",
                f"按分の基準 {component.basis} の割合は {component.weight} ですが、参加団体の合計が0のため按分できません。",
            )
        # One division per component, not per municipality: this is what keeps 1,741 tenants
        # well under a second.
        per_units.append(municipal_total * component.weight / basis_total)
        per_component.append(values)
    denominator = math.lcm(*(per_unit.denominator for per_unit in per_units if per_unit is not None))
    scaled: list[list[int]] = []
    for per_unit, values in zip(per_units, per_component):
        factor = 0 if per_unit is None else per_unit.numerator * (denominator // per_unit.denominator)
        scaled.append([factor * value for value in values])
    return denominator, list(zip(*scaled)) if municipalities else []


def _formula_components(numerators: Sequence[Sequence[int]], denominator: int) -> list[list[Fraction]]:
    """The formula parts of :func:`_formula_numerators` as Fractions, per municipality (one
    Fraction per distinct part and component: the equal basis has at most 12)."""
    made: list[dict[int, Fraction]] = [{} for _ in numerators[0]] if numerators else []
    return [[known[numerator] if numerator in known else known.setdefault(numerator, Fraction(numerator, denominator))
             for known, numerator in zip(made, parts)] for parts in numerators]


def _apply_floor_and_cap(
    municipalities: Sequence[Participant],
    formula: Sequence[Fraction],
    policy: Policy,
    municipal_total: Fraction,
) -> tuple[Fraction, list[Fraction], list[str | None]]:
    """Return ``(λ, shares, bound per municipality)`` with shares ``clamp(λ × formula, floor,
    cap)`` adding up to ``municipal_total``; non-participants (months 0) get 0 and no floor.
    The bounds are feasible (:func:`infeasible_bounds` has been asked)."""
    cap = policy.cap
    lowest = policy.floor or 0
    if lowest == 0 and cap is None:
        # No bound to meet (a formula share is never negative): λ = 1, without comparing each line.
        return Fraction(1), list(formula), [None] * len(formula)
    taking_part = [municipality.months > 0 for municipality in municipalities]

    within_bounds = all(
        not part or (lowest <= share and (cap is None or share <= cap))
        for part, share in zip(taking_part, formula)
    )
    if within_bounds:
        # The formula shares already add up to the municipal total, so λ = 1.
        return Fraction(1), list(formula), [None] * len(formula)

    scale = _solve_scale(taking_part, formula, lowest, cap, municipal_total)
    shares: list[Fraction] = []
    bounds: list[str | None] = []
    for part, share in zip(taking_part, formula):
        if not part:
            shares.append(Fraction(0))
            bounds.append(None)
            continue
        scaled = scale * share
        if scaled < lowest:
            shares.append(Fraction(lowest))
            bounds.append("floor")
        elif cap is not None and scaled > cap:
            shares.append(Fraction(cap))
            bounds.append("cap")
        else:
            shares.append(scaled)
            bounds.append(None)
    if sum(shares, Fraction(0)) != municipal_total:
        raise AssertionError("floor/cap solution does not add up to the municipal total")
    return scale, shares, bounds


def _solve_scale(
    taking_part: Sequence[bool],
    formula: Sequence[Fraction],
    lowest: int,
    cap: int | None,
    municipal_total: Fraction,
) -> Fraction:
    """Solve ``Σ clamp(λ × formula_i, lowest, cap) = municipal_total`` for λ ≥ 0, exactly.

    The left side is continuous, non-decreasing and linear between breakpoints
    ``lowest / formula_i`` (line i leaves the floor) and ``cap / formula_i`` (line i reaches
    the cap). Walking the sorted breakpoints while keeping the current piece as
    ``fixed + slope × λ`` finds the piece that reaches the target; λ is then one division.
    Feasibility (n × floor ≤ total ≤ what the caps allow) has been checked by the caller.
    """
    fixed = Fraction(0)  # what the lines at a bound contribute on the current piece
    slope = Fraction(0)  # sum of formula shares of the lines strictly between the bounds
    breakpoints: list[tuple[Fraction, Fraction, Fraction]] = []
    for part, share in zip(taking_part, formula):
        if not part:
            continue
        fixed += lowest
        if share == 0:
            continue  # stays at the floor for every λ
        breakpoints.append((lowest / share, Fraction(-lowest), share))
        if cap is not None:
            breakpoints.append((cap / share, Fraction(cap), -share))
    if municipal_total <= fixed:
        return Fraction(0)  # everyone at the floor already adds up
    breakpoints.sort(key=lambda breakpoint: breakpoint[0])
    for at_scale, fixed_change, slope_change in breakpoints:
        if fixed + slope * at_scale >= municipal_total:
            break
        fixed += fixed_change
        slope += slope_change
    if slope <= 0:
        raise AssertionError("no scale reaches the municipal total despite feasible bounds")
    return (municipal_total - fixed) / slope


def _scaled_components(
    formula_parts: Sequence[Fraction], formula: Fraction, share: Fraction, policy: Policy
) -> list[Fraction]:
    if share == formula:
        return list(formula_parts)
    if formula != 0:
        # A bound or λ moved the line: every component moves in proportion.
        ratio = share / formula
        return [part * ratio for part in formula_parts]
    # A floor lifted a line whose formula share is 0 (e.g. a pure usage policy and no usage):
    # attribute the floor to the components in proportion to their weights.
    return [share * component.weight for component in policy.components]
