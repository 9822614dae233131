"""What ``renkei billing simulate`` shows: a scenario's allocation as a table or JSON, and the
difference between two scenarios.

The JSON shape is a contract for scripts and spreadsheets::

    {"total": 12000000,
     "allocations": [{"code": "430005", "amount": 6000000, "components": {"prefecture": 6000000}},
                     {"code": "431001", "amount": 6000000,
                      "components": {"equal": 3000000, "population": 3000000}}]}

one entry per payer including the prefecture, sorted by code; amounts are whole yen and add up
to ``total``. A comparison is ``{"a": <result>, "b": <result>, "differences": [{"code", "a",
"b", "difference"}]}`` over the union of both scenarios' codes; a code missing from one
scenario has ``null`` there and counts as 0 yen in ``difference`` (= b − a).

Nothing here computes money: every figure comes from :mod:`billing.allocation`; percentages are
for reading only and are formatted with integer arithmetic.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from billing.allocation import (
    EQUAL,
    POPULATION,
    PREFECTURE_COMPONENT,
    AllocationResult,
    allocate_costs,
    usage_metric,
)
from billing.scenario import Scenario
from core.calendar import fiscal_year_en, fiscal_year_ja
from core.errors import DomainError
from tenancy.registry.importing import reference_municipalities


def simulate(scenario: Scenario) -> AllocationResult:
    """Allocate a validated scenario's year total (may raise InfeasibleBounds/AllocationError)."""
    return allocate_costs(scenario.costs, scenario.tenants, scenario.policy, scenario.prefecture_code)


@functools.lru_cache(maxsize=1)
def municipality_names() -> Mapping[str, str]:
    """Japanese names by local government code from the tenancy reference data.

    The names only decorate the table, so a missing or unreadable file gives no names rather
    than an error.
    """
    try:
        return {code: row["name_ja"] for code, row in reference_municipalities().items() if row.get("name_ja")}
    except (OSError, DomainError):
        return {}


def fiscal_year_label(fiscal_year: int) -> str:
    """``FY2025 (令和7年度)``: finance staff read era years, scripts read the western one."""
    return f"{fiscal_year_en(fiscal_year)} ({fiscal_year_ja(fiscal_year)})"


_BASIS_LABELS_JA = {PREFECTURE_COMPONENT: "県負担", EQUAL: "均等割", POPULATION: "人口割"}


def component_label(basis: str) -> str:
    """Column heading for a component: the key scripts use plus the clerk's word for it."""
    if basis in _BASIS_LABELS_JA:
        return f"{basis} {_BASIS_LABELS_JA[basis]}"
    metric = usage_metric(basis)
    return f"{basis} 利用割" if metric is not None else basis


def yen(amount: int) -> str:
    return f"{amount:,}円"


def signed_yen(amount: int) -> str:
    return f"{amount:+,}円" if amount else "0円"


def percentage(part: int, whole: int) -> str:
    """``part / whole`` as a percentage to two places, rounded half up, without floats."""
    if whole == 0:
        return "-"
    hundredths = (Fraction(part * 10000, whole) + Fraction(1, 2)).__floor__()
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def show_fraction(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _municipalities(count: int) -> str:
    return f"{count} municipality" if count == 1 else f"{count} municipalities"


def _display_width(text: str) -> int:
    # Japanese names take two columns in a terminal; padding by len() would skew the table.
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


def _render(rows: Sequence[Sequence[str]], right_aligned: set[int]) -> list[str]:
    widths = [max(_display_width(row[column]) for row in rows) for column in range(len(rows[0]))]
    rendered = []
    for row in rows:
        cells = []
        for column, cell in enumerate(row):
            padding = " " * (widths[column] - _display_width(cell))
            cells.append(padding + cell if column in right_aligned else cell + padding)
        rendered.append("  ".join(cells).rstrip())
    return rendered


def describe_policy(scenario: Scenario) -> str:
    policy = scenario.policy
    parts = []
    if policy.prefecture_share is not None:
        parts.append(f"prefecture {scenario.prefecture_code} bears {show_fraction(policy.prefecture_share)}")
    weights = ", ".join(f"{component.basis} {show_fraction(component.weight)}" for component in policy.components)
    parts.append(f"municipalities: {weights}")
    parts.append(f"floor {yen(policy.floor) if policy.floor is not None else 'none'}")
    parts.append(f"cap {yen(policy.cap) if policy.cap is not None else 'none'}")
    return "; ".join(parts)


def _report(heading: list[str], rows: list[list[str]], right: set[int]) -> str:
    """A report as text: its heading lines, a blank line, then the table of ``rows`` (the first the
    column names, the last the totals, each set off by a rule; columns ``right`` aligned right)."""
    body = _render(rows, right)
    rule = "-" * max(_display_width(line) for line in body)
    return "\n".join([*heading, "", body[0], rule, *body[1:-1], rule, body[-1]]) + "\n"


def format_table(scenario: Scenario, result: AllocationResult, names: Mapping[str, str] | None = None) -> str:
    """A readable table: code, Japanese name, amount, each component, share of the total."""
    names = municipality_names() if names is None else names
    bases = ([PREFECTURE_COMPONENT] if result.prefecture_code is not None else []) + list(scenario.policy.bases)
    header = ["code", "name", "amount", *(component_label(basis) for basis in bases), "share"]
    rows: list[list[str]] = [header]
    for line in result.lines:
        marks = {"floor": " (floor)", "cap": " (cap)"}.get(line.bound or "", "")
        if not line.is_prefecture and line.months not in (0, 12):
            marks += f" ({line.months} months)"
        elif not line.is_prefecture and line.months == 0:
            marks += " (not taking part)"
        rows.append(
            [
                line.code,
                names.get(line.code, "") + marks,
                yen(line.amount),
                *(yen(line.components[basis]) if basis in line.components else "" for basis in bases),
                percentage(line.amount, result.total),
            ]
        )
    column_totals = [sum(line.components.get(basis, 0) for line in result.lines) for basis in bases]
    totals_row = ["total", "", yen(result.total), *(yen(amount) for amount in column_totals)]
    rows.append([*totals_row, percentage(result.total, result.total)])
    right = {2, *range(3, 3 + len(bases)), 3 + len(bases)}
    municipalities = sum(1 for line in result.lines if not line.is_prefecture)
    return _report([f"Cost allocation simulation, {fiscal_year_label(scenario.fiscal_year)}",
                    f"Total {yen(result.total)} from {len(scenario.costs)} cost item(s), {_municipalities(municipalities)}",
                    f"Policy: {describe_policy(scenario)}"], rows, right)


def format_json(result: AllocationResult) -> str:
    return json.dumps(result.to_json_dict(), ensure_ascii=False)


@dataclass(frozen=True)
class AmountDifference:
    """One payer's amount in scenario A and in B (None: not in that scenario)."""

    code: str
    a: int | None
    b: int | None

    @property
    def difference(self) -> int:
        # Absent from a scenario means paying nothing in it.
        return (self.b or 0) - (self.a or 0)

    def to_json_dict(self) -> dict[str, object]:
        return {"code": self.code, "a": self.a, "b": self.b, "difference": self.difference}


def compare(result_a: AllocationResult, result_b: AllocationResult) -> tuple[AmountDifference, ...]:
    """Per code in either result (sorted), the amount in A, in B and B − A."""
    amounts_a, amounts_b = result_a.amounts(), result_b.amounts()
    return tuple(
        AmountDifference(code, amounts_a.get(code), amounts_b.get(code))
        for code in sorted(amounts_a.keys() | amounts_b.keys())
    )


def comparison_json(result_a: AllocationResult, result_b: AllocationResult) -> str:
    document = {
        "a": result_a.to_json_dict(),
        "b": result_b.to_json_dict(),
        "differences": [difference.to_json_dict() for difference in compare(result_a, result_b)],
    }
    return json.dumps(document, ensure_ascii=False)


def format_comparison(
    label_a: str,
    scenario_a: Scenario,
    result_a: AllocationResult,
    label_b: str,
    scenario_b: Scenario,
    result_b: AllocationResult,
    names: Mapping[str, str] | None = None,
) -> str:
    """Per payer: amount in A, amount in B and the difference B − A, then the totals."""
    names = municipality_names() if names is None else names
    rows = [["code", "name", "A", "B", "B - A"]]
    for difference in compare(result_a, result_b):
        rows.append(
            [
                difference.code,
                names.get(difference.code, ""),
                yen(difference.a) if difference.a is not None else "-",
                yen(difference.b) if difference.b is not None else "-",
                signed_yen(difference.difference),
            ]
        )
    rows.append(["total", "", yen(result_a.total), yen(result_b.total), signed_yen(result_b.total - result_a.total)])
    def summary(letter: str, label: str, scenario: Scenario, result: AllocationResult) -> str:
        municipalities = sum(1 for line in result.lines if not line.is_prefecture)
        return (
            f"{letter}: {label}, {fiscal_year_label(scenario.fiscal_year)}, {_municipalities(municipalities)}, "
            f"total {yen(result.total)}; {describe_policy(scenario)}"
        )

    return _report(["Cost allocation comparison (B - A; a payer missing from a scenario pays 0 there)",
                    summary("A", label_a, scenario_a, result_a), summary("B", label_b, scenario_b, result_b)],
                   rows, {2, 3, 4})
