"""Scenarios for ``renkei billing simulate``: parse and validate a JSON file into typed values.

A scenario is what a finance officer wants to try before the council decides: a fiscal year,
the participating municipalities (tenants), the year's cost items and an allocation policy::

    {"fiscal_year": 2025,
     "tenants": [{"code": "431001", "population": 738744, "months": 12,
                  "usage": {"api_calls": 120000}}],
     "costs": [{"id": "cloud", "amount": 12000000}],
     "policy": {"prefecture": {"code": "430005", "share": "0.5"},
                "components": [{"basis": "equal", "weight": "0.5"},
                               {"basis": "population", "weight": "0.5"}],
                "floor": null, "cap": null}}

Rules (each breach is reported with where it is, e.g. ``tenants[3].code``):

* Validation collects *every* problem and raises one :class:`ScenarioError` listing them all,
  so a clerk fixes the file in one pass instead of one error per run.
* Numbers never pass through binary floats: JSON numbers with a fraction or exponent are read
  as ``Decimal`` and weights/shares become exact ``Fraction`` s (``0.1`` is exactly 1/10).
  Weights and shares may be numbers or strings (``"0.5"``, ``"1/3"``).
* Amounts, populations, usage quantities and months must be JSON integers: ``1.5``, ``12.0``
  and ``"12"`` are refused rather than guessed.
* ``months`` defaults to 12 (a full fiscal year, April to March); a municipality joining in
  October has ``"months": 6``. ``population`` is needed only with a ``population`` component and
  each ``usage`` metric only with its ``usage:<metric>`` component, and neither is needed for a
  tenant with ``months`` 0 (it pays nothing).
* Local government codes are six digits with a valid check digit (the rule is in core/codes.py); the
  prefecture's code must be a prefecture code and must not be listed among the tenants.
* Unknown keys are ignored, so a scenario may carry notes.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from billing.allocation import (
    EQUAL,
    MONTHS_IN_YEAR,
    POPULATION,
    USAGE_PREFIX,
    AllocationError,
    Component,
    CostItem,
    Participant,
    Policy,
    infeasible_bounds,
    is_known_basis,
    usage_metric,
)
from billing.errors import ScenarioError
from billing.scenario_values import (JsonObject, Problems, check_duplicate_keys, code_problem, exact_fraction,
                                     json_kind, json_kind_ja, refuse_constant, show_fraction, whole_number)
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core import codes, csvfile


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: everything :func:`billing.allocation.allocate_costs` needs."""

    fiscal_year: int
    tenants: tuple[Participant, ...]
    costs: tuple[CostItem, ...]
    policy: Policy
    prefecture_code: str | None

    @property
    def total(self) -> int:
        """The year's total cost T in yen: the sum of the cost items."""
        return sum(cost.amount for cost in self.costs)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (UTF-8 with or without BOM, or CP932: see core.csvfile)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ScenarioError(["file not found"], ["ファイルが見つかりません。"]) from None
    except IsADirectoryError:
        raise ScenarioError(["is a directory, not a scenario file"], ["フォルダです。シナリオのファイルを指定してください。"]) from None
    except OSError as error:
        raise ScenarioError(
            [f"cannot be read: {error.strerror}"], [f"ファイルを読み込めません({error.strerror})。"]
        ) from None
    return parse_scenario(raw)


def parse_scenario(text: str | bytes) -> Scenario:
    """Decode scenario JSON (floats as ``Decimal``) and validate it; see :func:`validate_scenario`."""
    if isinstance(text, bytes):
        try:
            text = csvfile.decode(text)
        except csvfile.FileRejected as error:
            raise ScenarioError([error.message_en], [error.message_ja]) from None
    try:
        document = json.loads(
            text,
            parse_float=Decimal,
            parse_constant=refuse_constant,
            object_pairs_hook=JsonObject.from_pairs,
        )
    except json.JSONDecodeError as error:
        raise ScenarioError(
            [f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"],
            [f"JSON の書式が正しくありません({error.lineno} 行 {error.colno} 文字目: {error.msg})。"],
        ) from None
    except ValueError as error:
        raise ScenarioError([f"invalid JSON: {error}"], [f"JSON の書式が正しくありません({error})。"]) from None
    return validate_scenario(document)


def validate_scenario(document: object) -> Scenario:
    """Validate a decoded scenario, collecting every problem; raise :class:`ScenarioError`."""
    problems = Problems()
    if not isinstance(document, dict):
        problems.add(
            "",
            f"a scenario must be a JSON object with fiscal_year, tenants, costs and policy, got {json_kind(document)}",
            f"シナリオは fiscal_year・tenants・costs・policy を持つ JSON オブジェクトにしてください({json_kind_ja(document)} になっています)。",
        )
        raise problems.error()
    check_duplicate_keys(document, "", problems)

    fiscal_year = _fiscal_year(document, problems)
    # The tenants are checked against the policy (which figures are needed), but problems are
    # listed in the order of the file: fiscal_year, tenants, costs, policy.
    policy_problems = Problems()
    policy_parts = _policy(document.get("policy"), "policy", "policy" in document, policy_problems)
    tenants = _tenants(document.get("tenants"), "tenants" in document, policy_parts, problems)
    costs = _costs(document.get("costs"), "costs" in document, problems)
    problems.extend(policy_problems)
    _check_basis_totals(tenants, policy_parts, problems)
    _check_floor_and_cap(tenants, costs, policy_parts, problems)

    if problems:
        raise problems.error()
    try:
        policy = Policy(
            prefecture_share=policy_parts.prefecture_share,
            components=tuple(Component(basis, weight) for basis, weight in policy_parts.components),
            floor=policy_parts.floor,
            cap=policy_parts.cap,
        )
        participants = tuple(
            Participant(code=t.code, population=t.population, months=t.months, usage=t.usage)
            for t in tenants.entries
        )
        cost_items = tuple(CostItem(id=cost_id, amount=amount) for cost_id, amount in costs.entries)
    except AllocationError as error:  # pragma: no cover - validation above should catch it all
        raise ScenarioError([error.message_en], [error.message_ja]) from None
    return Scenario(
        fiscal_year=fiscal_year,
        tenants=participants,
        costs=cost_items,
        policy=policy,
        prefecture_code=policy_parts.prefecture_code,
    )


# --- sections -----------------------------------------------------------------------------


def _fiscal_year(document: Mapping[str, object], problems: Problems) -> int:
    if "fiscal_year" not in document:
        problems.add("fiscal_year", "missing (e.g. 2025 for 令和7年度)", "年度がありません(例: 令和7年度なら 2025)。")
        return 0
    year = whole_number(
        document["fiscal_year"], "fiscal_year", "years", "年度", problems, low=FIRST_FISCAL_YEAR, high=LAST_FISCAL_YEAR
    )
    return year or 0


@dataclass
class _PolicyParts:
    components: list[tuple[str, Fraction]]  # only the well-formed ones, in policy order
    positions: dict[str, int]  # basis -> its index in the file's components list
    bases: set[str]  # every recognised basis, even with a bad weight (tenant checks need them)
    prefecture_code: str | None
    prefecture_share: Fraction | None
    prefecture_valid: bool
    floor: int | None
    cap: int | None
    bounds_valid: bool
    components_complete: bool = False  # every component in the file is well-formed


def _policy(policy: object, where: str, present: bool, problems: Problems) -> _PolicyParts:
    parts = _PolicyParts([], {}, set(), None, None, False, None, None, False)
    if not present:
        problems.add(where, "missing: the allocation policy (components with weights)", "按分方式(policy)がありません。")
        return parts
    if not isinstance(policy, dict):
        problems.add(
            where,
            f"must be an object; got {json_kind(policy)}",
            f"オブジェクトで指定してください({json_kind_ja(policy)} になっています)。",
        )
        return parts
    check_duplicate_keys(policy, where, problems)
    _prefecture(policy.get("prefecture"), f"{where}.prefecture", parts, problems)
    _components(policy.get("components"), f"{where}.components", "components" in policy, parts, problems)

    parts.bounds_valid = True
    for name, name_ja in (("floor", "下限額"), ("cap", "上限額")):
        value = policy.get(name)
        if value is None:
            continue
        amount = whole_number(value, f"{where}.{name}", "yen", f"{name_ja}(円)", problems)
        if amount is None:
            parts.bounds_valid = False
        setattr(parts, name, amount)
    if parts.floor is not None and parts.cap is not None and parts.floor > parts.cap:
        problems.add(
            f"{where}.floor",
            f"the floor ({parts.floor:,} yen) is above the cap ({parts.cap:,} yen)",
            f"下限額({parts.floor:,}円)が上限額({parts.cap:,}円)を上回っています。",
        )
        parts.bounds_valid = False
    return parts


def _prefecture(prefecture: object, where: str, parts: _PolicyParts, problems: Problems) -> None:
    if prefecture is None:
        parts.prefecture_valid = True  # no prefecture share, no prefecture line
        return
    if not isinstance(prefecture, dict):
        problems.add(
            where,
            f"must be an object with code and share, or null; got {json_kind(prefecture)}",
            f"code と share を持つオブジェクトか null で指定してください({json_kind_ja(prefecture)} になっています)。",
        )
        return
    check_duplicate_keys(prefecture, where, problems)
    valid = True
    code = prefecture.get("code")
    if "code" not in prefecture:
        problems.add(
            f"{where}.code",
            "missing: the prefecture's code, e.g. \"430005\"",
            "県の団体コードがありません(例: \"430005\")。",
        )
        valid = False
    elif (problem := code_problem(code)) is not None:
        problems.add(f"{where}.code", *problem)
        valid = False
    elif not codes.is_prefecture(code):
        problems.add(
            f"{where}.code",
            f"{code} is not a prefecture code (two digits, 000 and the check digit, e.g. 430005)",
            f"{code} は都道府県のコードではありません(例: 熊本県 430005)。",
        )
        valid = False
    else:
        parts.prefecture_code = code
    if "share" not in prefecture:
        problems.add(f"{where}.share", "missing: the prefecture's share, e.g. \"0.5\"", "県負担割合がありません(例: \"0.5\")。")
        valid = False
    else:
        share = exact_fraction(prefecture["share"], f"{where}.share", "the share", "県負担割合", problems)
        if share is None:
            valid = False
        elif not 0 <= share <= 1:
            problems.add(
                f"{where}.share",
                f"must be between 0 and 1 (a fraction of the total); got {show_fraction(share)}",
                f"県負担割合は0以上1以下(総額に対する割合)で指定してください(値: {show_fraction(share)})。",
            )
            valid = False
        else:
            parts.prefecture_share = share
    parts.prefecture_valid = valid
    if not valid:
        # The code is kept when it is itself valid: tenants are still checked against it.
        parts.prefecture_share = None


def _components(components: object, where: str, present: bool, parts: _PolicyParts, problems: Problems) -> None:
    if not present or not isinstance(components, list) or not components:
        problems.add(
            where,
            "must be a non-empty list of {\"basis\", \"weight\"} objects"
            + ("" if present else " (missing)"),
            "按分の構成要素を {\"basis\", \"weight\"} のリストで指定してください。",
        )
        return
    first_place: dict[str, str] = {}
    weights: list[Fraction] = []
    for index, component in enumerate(components):
        place = f"{where}[{index}]"
        if not isinstance(component, dict):
            problems.add(
                place,
                f"must be an object with basis and weight; got {json_kind(component)}",
                "basis と weight を持つオブジェクトで指定してください。",
            )
            continue
        check_duplicate_keys(component, place, problems)
        basis = component.get("basis")
        basis_ok = isinstance(basis, str) and is_known_basis(basis)
        if not basis_ok:
            suggestion = ""
            if isinstance(basis, str):
                close = difflib.get_close_matches(basis, [EQUAL, POPULATION, f"{USAGE_PREFIX}api_calls"], n=1)
                if close:
                    suggestion = f"; did you mean {close[0]!r}?"
            shown = repr(basis) if isinstance(basis, str) else json_kind(basis)
            problems.add(
                f"{place}.basis",
                f"unknown basis {shown}: use equal, population or usage:<metric>{suggestion}",
                f"按分の基準 {basis!r} は使えません(equal=均等割・population=人口割・usage:<指標>=利用割)。",
            )
        elif basis in first_place:
            problems.add(
                f"{place}.basis",
                f"{basis} is already given at {first_place[basis]}; give each basis once",
                f"{basis} は {first_place[basis]} で既に指定されています。",
            )
        else:
            first_place[basis] = place
            parts.bases.add(basis)
        if "weight" not in component:
            problems.add(f"{place}.weight", "missing", "割合(weight)がありません。")
            continue
        weight = exact_fraction(component["weight"], f"{place}.weight", "the weight", "割合", problems)
        if weight is None:
            continue
        if weight < 0:
            problems.add(
                f"{place}.weight",
                f"must not be negative; got {show_fraction(weight)}",
                f"割合が負の値です({show_fraction(weight)})。",
            )
            continue
        weights.append(weight)
        if basis_ok and first_place.get(basis) == place:
            parts.components.append((basis, weight))
            parts.positions[basis] = index
    parts.components_complete = len(parts.components) == len(components)
    if len(weights) == len(components):
        weight_sum = sum(weights, Fraction(0))
        if weight_sum != 1:
            problems.add(
                where,
                f"weights must add up to exactly 1; they add up to {show_fraction(weight_sum)}",
                f"割合の合計がちょうど1になっていません(合計 {show_fraction(weight_sum)})。",
            )


_INVALID = object()  # a figure that is present but wrong, as opposed to absent (None)


@dataclass
class _TenantEntry:
    code: str
    population: int | None
    months: int
    usage: dict[str, int]


@dataclass
class _Tenants:
    entries: list[_TenantEntry]
    # Per tenant, what is known for sure: months (None if invalid), population and usage values
    # (None if invalid). Basis totals are checked only when every needed figure is known.
    months: list[int | None]
    populations: list[object]  # int, None (absent) or _INVALID
    usages: list[dict[str, int] | None]


def _tenants(tenants: object, present: bool, policy: _PolicyParts, problems: Problems) -> _Tenants:
    """The scenario's tenants, each checked (:func:`_tenant`): what is known of each, and the entries
    of those whose every figure is valid."""
    result = _Tenants([], [], [], [])
    if not present or not isinstance(tenants, list) or not tenants:
        problems.add(
            "tenants",
            "must be a non-empty list of participating municipalities" + ("" if present else " (missing)"),
            "参加団体(tenants)を1団体以上のリストで指定してください。",
        )
        return result
    needs_population = POPULATION in policy.bases
    needed_metrics = sorted(metric for basis in policy.bases if (metric := usage_metric(basis)) is not None)
    first_place: dict[str, str] = {}
    for index, tenant in enumerate(tenants):
        place = f"tenants[{index}]"
        if not isinstance(tenant, dict):
            problems.add(
                place,
                f"must be an object with code (and population, months, usage); got {json_kind(tenant)}",
                "code などを持つオブジェクトで指定してください。",
            )
            result.months.append(None)
            result.populations.append(None)
            result.usages.append(None)
            continue
        _tenant(tenant, place, policy, needs_population, needed_metrics, first_place, problems, result)
    return result


def _tenant(tenant: dict, place: str, policy: _PolicyParts, needs_population: bool, needed_metrics: list[str],
            first_place: dict[str, str], problems: Problems, result: _Tenants) -> None:
    """One tenant: its code, months, population and usage checked in that order (every problem
    reported), what is known of it added to ``result``, and its entry when every figure is valid."""
    check_duplicate_keys(tenant, place, problems)
    code = tenant.get("code")
    valid = _tenant_code_valid(tenant, place, policy, first_place, problems)
    months: int | None = MONTHS_IN_YEAR
    if "months" in tenant:
        months = whole_number(tenant["months"], f"{place}.months", "months", "参加月数", problems,
                               low=0, high=MONTHS_IN_YEAR)
    valid = valid and months is not None
    taking_part = months != 0  # an invalid months value still needs its figures checked
    population = _tenant_population(tenant, place, needs_population and taking_part, problems)
    usage = _tenant_usage(tenant, place, needed_metrics if taking_part else [], problems)
    valid = valid and population is not _INVALID and usage is not None
    result.months.append(months)
    result.populations.append(population)
    result.usages.append(usage)
    if valid:
        known_population = population if isinstance(population, int) else None
        result.entries.append(_TenantEntry(code, known_population, months, usage))


def _tenant_code_valid(tenant: dict, place: str, policy: _PolicyParts, first_place: dict[str, str],
                       problems: Problems) -> bool:
    """The tenant's code: present, well formed, listed once, not the prefecture's (whose share is
    set in the policy). A valid code is remembered in ``first_place``."""
    code = tenant.get("code")
    if "code" not in tenant:
        problems.add(f"{place}.code", "missing: the municipality's six-digit code", "団体コードがありません。")
        return False
    if (problem := code_problem(code)) is not None:
        problems.add(f"{place}.code", *problem)
        return False
    if code in first_place:
        problems.add(
            f"{place}.code",
            f"{code} is already listed at {first_place[code]}",
            f"{code} は {first_place[code]} で既に指定されています。",
        )
        return False
    if code == policy.prefecture_code:
        problems.add(
            f"{place}.code",
            f"{code} is the prefecture (policy.prefecture.code); its share is set there, not as a tenant",
            f"{code} は県です。県の負担は policy.prefecture で指定し、参加団体には含めないでください。",
        )
        return False
    first_place[code] = place
    return True


def _tenant_population(tenant: dict, place: str, needed: bool, problems: Problems) -> object:
    """The tenant's population: a whole number, None when absent and not ``needed`` (the policy
    has no population component, or the tenant takes no part), or _INVALID."""
    if "population" in tenant and tenant["population"] is not None:
        population = whole_number(tenant["population"], f"{place}.population", "people", "人口", problems)
        return _INVALID if population is None else population
    if needed:
        problems.add(
            f"{place}.population",
            "missing; the policy has a population component",
            "人口がありません(人口割があるため必要です)。",
        )
        return _INVALID
    return None


def _tenant_usage(tenant: dict, place: str, needed_metrics: list[str], problems: Problems) -> dict[str, int] | None:
    """The tenant's usage, metric -> quantity (whole numbers), with each of ``needed_metrics``
    present (the policy's usage components, for a tenant taking part); None when any is wrong."""
    raw_usage = tenant.get("usage")
    if raw_usage is not None and not isinstance(raw_usage, dict):
        problems.add(
            f"{place}.usage",
            f"must be an object of metric: quantity; got {json_kind(raw_usage)}",
            "利用実績は {指標: 数量} のオブジェクトで指定してください。",
        )
        return None
    usage: dict[str, int] | None = {}
    if raw_usage is not None:
        check_duplicate_keys(raw_usage, f"{place}.usage", problems)
        for metric, quantity in raw_usage.items():
            checked = whole_number(quantity, f"{place}.usage.{metric}", "units", "利用実績", problems)
            if checked is None:
                usage = None
            elif usage is not None:
                usage[metric] = checked
    for metric in needed_metrics:
        if raw_usage is None or metric not in raw_usage:
            problems.add(
                f"{place}.usage.{metric}",
                f"missing; the policy has a {USAGE_PREFIX}{metric} component",
                f"利用実績 {metric} がありません(利用割 {USAGE_PREFIX}{metric} があるため必要です)。",
            )
            usage = None
    return usage


@dataclass
class _Costs:
    entries: list[tuple[str, int]]
    complete: bool


def _costs(costs: object, present: bool, problems: Problems) -> _Costs:
    result = _Costs([], False)
    if not present or not isinstance(costs, list) or not costs:
        problems.add(
            "costs",
            "must be a non-empty list of cost items {\"id\", \"amount\"}" + ("" if present else " (missing)"),
            "費目(costs)を {\"id\", \"amount\"} のリストで1件以上指定してください。",
        )
        return result
    first_place: dict[str, str] = {}
    complete = True
    for index, cost in enumerate(costs):
        place = f"costs[{index}]"
        if not isinstance(cost, dict):
            problems.add(
                place,
                f"must be an object with id and amount; got {json_kind(cost)}",
                "id と amount を持つオブジェクトで指定してください。",
            )
            complete = False
            continue
        check_duplicate_keys(cost, place, problems)
        cost_id = cost.get("id")
        valid = True
        if not isinstance(cost_id, str) or not cost_id.strip():
            problems.add(
                f"{place}.id",
                f"must be a non-empty name such as \"cloud\"; got {json_kind(cost_id)}",
                "費目名(id)を \"cloud\" のような文字列で指定してください。",
            )
            valid = False
        elif cost_id in first_place:
            problems.add(
                f"{place}.id",
                f"{cost_id!r} is already used at {first_place[cost_id]}",
                f"費目名 {cost_id} は {first_place[cost_id]} で既に使われています。",
            )
            valid = False
        else:
            first_place[cost_id] = place
        if "amount" not in cost:
            problems.add(f"{place}.amount", "missing: the amount in yen", "金額(円)がありません。")
            valid = False
        else:
            amount = whole_number(cost["amount"], f"{place}.amount", "yen", "金額(円)", problems)
            if amount is None:
                valid = False
        if valid:
            result.entries.append((cost_id, amount))
        else:
            complete = False
    result.complete = complete
    return result


def _check_basis_totals(tenants: _Tenants, policy: _PolicyParts, problems: Problems) -> None:
    """A basis with a nonzero weight needs a nonzero total, or there is nothing to divide by."""
    for basis, weight in policy.components:
        if weight == 0 or not tenants.months:
            continue
        total = 0
        known = True
        for months, population, usage in zip(tenants.months, tenants.populations, tenants.usages):
            if months is None:
                known = False
                break
            if months == 0:
                continue
            if basis == EQUAL:
                total += months
            elif basis == POPULATION:
                if not isinstance(population, int):
                    known = False
                    break
                total += population
            else:
                metric = usage_metric(basis)
                if usage is None or metric not in usage:
                    known = False
                    break
                total += usage[metric]
        if not known or total != 0:
            continue
        if basis == EQUAL:
            why_en, why_ja = "every tenant has months 0", "全団体の参加月数が0です"
        elif basis == POPULATION:
            why_en, why_ja = "the participating tenants' population adds up to 0", "参加団体の人口の合計が0です"
        else:
            metric = usage_metric(basis)
            why_en = f"the participating tenants' {metric} usage adds up to 0"
            why_ja = f"参加団体の利用実績 {metric} の合計が0です"
        problems.add(
            f"policy.components[{policy.positions[basis]}]",
            f"{basis} has weight {show_fraction(weight)} but {why_en}, so there is nothing to divide by",
            f"{basis} の割合は {show_fraction(weight)} ですが、{why_ja}。按分できません。",
        )


def _check_floor_and_cap(tenants: _Tenants, costs: _Costs, policy: _PolicyParts, problems: Problems) -> None:
    """Report a floor or cap that no allocation can meet: the allocation's own test
    (:func:`billing.allocation.infeasible_bounds`), asked before anything is computed."""
    if policy.floor is None and policy.cap is None:
        return
    if not (tenants.months and costs.complete and policy.prefecture_valid and policy.bounds_valid):
        return
    if any(months is None for months in tenants.months):
        return
    participating = sum(1 for months in tenants.months if months)
    known: list[Participant] = []
    if policy.components_complete:  # which formula shares are 0 is known only from every component
        known = [Participant(code=t.code, population=t.population, months=t.months, usage=t.usage)
                 for t in tenants.entries if t.months]
    for error in infeasible_bounds(
        known,
        sum(amount for _, amount in costs.entries),
        prefecture_share=policy.prefecture_share,
        components=[Component(basis, weight) for basis, weight in policy.components],
        floor=policy.floor,
        cap=policy.cap,
        unknown_participants=participating - len(known),
    ):
        problems.add(f"policy.{error.bound}", error.message_en, error.message_ja)
