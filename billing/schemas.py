"""Validated input shapes of billing (non-table models) and the JSON shapes it hands out.

Fractions (the prefecture share, component weights) are read from strings only — ``"1/2"``,
``"0.5"`` or ``"50%"`` — and kept exact as :class:`fractions.Fraction`; a JSON number is
refused so that no binary float ever stands for a share. Amounts are JSON integers (yen).
"""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field as Limits, StrictInt, StrictStr, StringConstraints, model_validator
from pydantic_core import PydanticCustomError
from sqlmodel import Field, SQLModel

from billing.models import TAX_RATE_PERCENT, CostCategory, GrantRounding, TaxTreatment
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.validation import NOT_BLANK, RowId, StatedInSchema, TenantCode

_DECIMAL = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*\Z")
_RATIO = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*\Z")


def parse_fraction(text: str) -> Fraction:
    """``"1/2"``, ``"0.5"`` or ``"50%"`` as an exact fraction; ValueError otherwise."""
    ratio = _RATIO.match(text)
    if ratio:
        numerator, denominator = int(ratio.group(1)), int(ratio.group(2))
        if denominator == 0:
            raise ValueError("denominator 0")
        return Fraction(numerator, denominator)
    decimal = _DECIMAL.match(text)
    if decimal:
        value = Fraction(decimal.group(1))
        return value / 100 if decimal.group(2) else value
    raise ValueError(text)


def fraction_text(value: Fraction) -> str:
    """The stored form of a fraction: ``"1/2"``, ``"1"``, ``"0"``."""
    value = Fraction(value)
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _valid_fraction(text: str) -> str:
    try:
        value = parse_fraction(text)
    except ValueError:
        raise PydanticCustomError(
            "fraction",
            "Write a fraction as text: '1/2', '0.5' or '50%'.",
            {"message_ja": "割合は文字列で「1/2」「0.5」「50%」のように入力してください。"},
        ) from None
    if value > 1:
        raise PydanticCustomError(
            "fraction_range",
            "A share or weight is between 0 and 1 (0% to 100%).",
            {"message_ja": "割合は0以上1以下（0%〜100%）で入力してください。"},
        )
    return fraction_text(value)


# The forms parse_fraction reads, stated as a pattern (a subset: no spaces, half-width digits, at
# most six digits a part); that a ratio is at most 1 is beyond a pattern and stated in words.
FRACTION_PATTERN = r"^(?:[01]|0\.[0-9]{1,6}|1\.0{1,6}|[0-9]{1,2}(?:\.[0-9]{1,4})?%|100%|[0-9]{1,6}/[1-9][0-9]{0,5})$"
FractionText = Annotated[StrictStr, AfterValidator(_valid_fraction),
                         StatedInSchema(pattern=FRACTION_PATTERN, description="A fraction from 0 to 1: '1/2' (the "
                                        "numerator at most the denominator), '0.5' or '50%'")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), NOT_BLANK]
FiscalYear = Annotated[StrictInt, Limits(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)]
Yen = Annotated[StrictInt, Limits(ge=0, le=10**15)]


def contains_tax(treatment: TaxTreatment | str) -> bool:
    """Whether an amount of ``treatment`` contains consumption tax (it has a rate in
    :data:`billing.models.TAX_RATE_PERCENT`); an exempt or out-of-scope cost contains none."""
    return TaxTreatment(treatment) in TAX_RATE_PERCENT


def _state_cost_item_rules(schema: dict) -> None:
    """The rules of :meth:`CostItemCreate._consistent` that JSON Schema can state, as alternatives
    (``anyOf``: Schemathesis generates from them, not from ``if``/``then``), derived from the same
    definitions: tax_amount only 0 or absent where :func:`contains_tax` is false, and
    amortisation_years only 1 for a cost other than a build cost."""
    taxed = [t.value for t in TaxTreatment if contains_tax(t)]
    untaxed = [t.value for t in TaxTreatment if not contains_tax(t)]
    others = [c.value for c in CostCategory if c != CostCategory.build]
    schema["allOf"] = [
        {"anyOf": [{"properties": {"tax_treatment": {"enum": taxed}}},
                   {"properties": {"tax_treatment": {"enum": untaxed}, "tax_amount": {"enum": [0, None]}}}]},
        {"anyOf": [{"properties": {"category": {"const": CostCategory.build.value}}},
                   {"properties": {"category": {"enum": others}, "amortisation_years": {"const": 1}}}]},
    ]


class CostItemCreate(SQLModel):
    """A cost line as invoiced (tax included). ``amortisation_years`` > 1 spreads a build cost
    over that many fiscal years from ``fiscal_year`` on."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_state_cost_item_rules)

    fiscal_year: FiscalYear
    name: Annotated[Text, StringConstraints(max_length=200)]
    category: CostCategory
    amount: Yen
    tax_treatment: TaxTreatment
    tax_amount: Yen | None = None
    vendor: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    amortisation_years: Annotated[StrictInt, Limits(ge=1, le=30)] = 1

    @model_validator(mode="after")
    def _consistent(self) -> "CostItemCreate":
        if self.amortisation_years > 1 and self.category != CostCategory.build:
            raise PydanticCustomError(
                "amortisation",
                "Only a build cost can be amortised over several years; set amortisation_years to 1.",
                {"message_ja": "複数年度で償却できるのは構築費のみです。償却年数を1にしてください。"},
            )
        if self.fiscal_year + self.amortisation_years - 1 > LAST_FISCAL_YEAR:
            raise PydanticCustomError(
                "amortisation",
                f"The amortisation would run past FY{LAST_FISCAL_YEAR}, beyond the years a run can be made for.",
                {"message_ja": f"償却期間が{LAST_FISCAL_YEAR}年度を超えています。償却年数を見直してください。"},
            )
        if self.tax_amount is not None and self.tax_amount > self.amount:
            raise PydanticCustomError(
                "tax_amount",
                "The tax contained in the amount cannot exceed the amount.",
                {"message_ja": "消費税額が金額（税込）を超えています。"},
            )
        if self.tax_amount and not contains_tax(self.tax_treatment):
            raise PydanticCustomError(
                "tax_amount",
                "An exempt or out-of-scope cost contains no consumption tax; leave tax_amount out or 0.",
                {"message_ja": "非課税・不課税の費目には消費税額を入力しないでください。"},
            )
        return self


class ComponentIn(SQLModel):
    model_config = ConfigDict(extra="forbid")

    basis: Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), NOT_BLANK]
    weight: FractionText


class PolicyCreate(SQLModel):
    """A new policy version. The same ``name`` again makes the next version of that policy."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, StringConstraints(max_length=200)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    prefecture_share: FractionText | None = None
    components: list[ComponentIn] = Field(min_length=1, max_length=10)
    floor: Yen | None = None
    cap: Yen | None = None


class AdoptPolicy(SQLModel):
    model_config = ConfigDict(extra="forbid")

    resolution_id: RowId | None = Field(
        default=None,
        description="The council resolution (its id, as GET /api/v1/billing/policies/{policy_id}/resolutions lists "
                    "them) that decided the adoption; without it, the adopting finance officer must not be the one "
                    "who drafted the policy (four eyes). A typed reference is not accepted.")


class RunCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")

    fiscal_year: FiscalYear
    policy_id: RowId | None = Field(default=None, description="Policy version to use; default: the adopted one")
    kind: Literal["final", "provisional"] = Field(
        default="final", description="final (確定): the year charged once; provisional (概算): charged now, settled "
                                     "(精算) after the grants are fixed")


class RunReview(SQLModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class RunReverse(SQLModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, StringConstraints(max_length=2000)]


class PaymentCreate(SQLModel):
    """Money received from a tenant for a fiscal year's share."""

    model_config = ConfigDict(extra="forbid")

    tenant_code: TenantCode
    fiscal_year: FiscalYear
    amount: Annotated[StrictInt, Limits(gt=0, le=10**15)]
    received_on: dt.date
    reference: Annotated[Text, StringConstraints(max_length=150)]


class ManualPaymentCreate(PaymentCreate):
    """A payment with no bank line behind it (the exception): why, for the second person who approves it."""

    reason: Annotated[Text, StringConstraints(max_length=2000)]


# A fraction of FRACTION_PATTERN's forms that is 0: a grant's rate is above 0.
ZERO_FRACTION_PATTERN = r"^(?:0|0\.0{1,6}|0{1,2}(?:\.0{1,4})?%|0{1,6}/[1-9][0-9]{0,5})$"


def _state_grant_rules(schema: dict) -> None:
    """The rules of :meth:`GrantCreate._consistent` as JSON Schema states them: a rate above 0, at
    least one category or cost item, and the decided amount and its date together."""
    schema["properties"]["rate"]["not"] = {"pattern": ZERO_FRACTION_PATTERN}
    schema["allOf"] = [
        {"anyOf": [{"required": ["categories"], "properties": {"categories": {"minItems": 1}}},
                   {"required": ["item_ids"], "properties": {"item_ids": {"minItems": 1}}}]},
        {"anyOf": [{"required": ["decided_amount", "decided_on"],
                    "properties": {"decided_amount": {"type": "integer"}, "decided_on": {"type": "string"}}},
                   {"properties": {"decided_amount": {"type": "null"}, "decided_on": {"type": "null"}}}]},
    ]


class GrantCreate(SQLModel):
    """A grant funding part of a fiscal year's costs (交付金): its rate (補助率) and the costs it covers
    (交付対象経費: whole categories and/or single cost items of the year), with the applied amount and,
    once known, the decided amount (交付決定額) and its date."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_state_grant_rules)

    fiscal_year: FiscalYear
    name: Annotated[Text, StringConstraints(max_length=200)]
    grantor: Annotated[Text, StringConstraints(max_length=200)]
    rate: FractionText
    categories: list[CostCategory] = Field(default_factory=list, max_length=len(CostCategory))
    item_ids: list[RowId] = Field(default_factory=list, max_length=200)
    applied_amount: Yen | None = None
    decided_amount: Yen | None = None
    decided_on: dt.date | None = None
    decision_reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    rounding: GrantRounding = Field(default=GrantRounding.yen, description=(
        "How the 交付要綱 rounds the amount: yen (1円単位) or thousand (千円未満切捨て, down to 1,000 yen)"))
    fixed_amount_authoritative: bool = Field(default=False, description=(
        "The 交付要綱 makes the notice of the fixed amount (額の確定) decide: once recorded, the grant funds exactly that"))

    @model_validator(mode="after")
    def _consistent(self) -> "GrantCreate":
        if parse_fraction(self.rate) == 0:
            raise PydanticCustomError("grant_rate", "A grant's rate is above 0 (for example 1/2).",
                                      {"message_ja": "補助率は0より大きい値（例: 1/2）を入力してください。"})
        if not self.categories and not self.item_ids:
            raise PydanticCustomError(
                "grant_costs", "Choose the costs the grant covers: a category or cost items.",
                {"message_ja": "交付対象経費（費目の区分または費目）を選んでください。"})
        if (self.decided_amount is None) != (self.decided_on is None):
            raise PydanticCustomError(
                "grant_decision", "The decided amount and the date of the decision go together.",
                {"message_ja": "交付決定額と交付決定日は両方入力してください。"})
        self.categories = sorted(set(self.categories), key=lambda category: category.value)
        self.item_ids = sorted(set(self.item_ids))
        return self


class GrantFix(SQLModel):
    """The grant's fixed amount (額の確定), after the year's report on results (実績報告)."""

    model_config = ConfigDict(extra="forbid")

    fixed_amount: Yen
    fixed_on: dt.date


class BudgetCreate(SQLModel):
    """A new version of a fiscal year's budget (予算): an amount per cost category, the contract
    ceiling (委託上限額, tax included) where one is set, and for a revision (補正) its reason."""

    model_config = ConfigDict(extra="forbid")

    fiscal_year: FiscalYear
    amounts: dict[CostCategory, Yen] = Field(min_length=1, description="Yen per cost category (build, run, overhead)")
    contract_ceiling: Yen | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = Field(
        default="", description="Why this version: required for a revision (補正) of a year that has a budget")
