"""Validated input shapes of governance (non-table models): agreement versions, acceptances,
council proposals and votes, and the parameters of each typed council change.

Errors carry Japanese text through :func:`core.validation.problems_from`.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints, ValidationError, field_validator

from governance.models import AgreementDocument, ChangeType, VoteChoice
from core.calendar import FIRST_FISCAL_YEAR, JST, LAST_FISCAL_YEAR
from core.errors import Invalid
from core.validation import INT32_MAX, NOT_BLANK, RowId, TenantCode, problems_from
from usage.models import PlanCode

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
Rule = Literal["majority", "two_thirds", "three_quarters", "unanimous"]
ContentHash = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9a-f]{64}$")]
DEFAULT_REACCEPTANCE_DAYS = 30


class VersionDraft(BaseModel):
    """A new version of a document; its text never changes once created."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    body_md: Annotated[str, StringConstraints(min_length=1, max_length=500_000)] = Field(description="Markdown text")
    effective_on: dt.date
    required: bool = Field(default=True, description="Tenants must accept it before activation and re-accept it when active")
    reacceptance_days: StrictInt | None = Field(default=None, ge=1, le=365,
                                                description="Proposed days active tenants get to accept it once published "
                                                            "(the default of the publish step; 30 when not given)")


class VersionPublish(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reacceptance_days: StrictInt = Field(default=DEFAULT_REACCEPTANCE_DAYS, ge=1, le=365,
                                         description="Days active tenants have to accept a required version")


class AcceptanceIn(BaseModel):
    """The accepting admin sends the content hash of the text they read, so the record proves which text it was."""

    model_config = ConfigDict(extra="forbid")

    content_hash: ContentHash
    tenant_code: TenantCode | None = Field(default=None, description="Defaults to the admin's only tenant")


# --- typed council changes -------------------------------------------------------------------------

class AdoptAllocationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy_id: RowId = Field(description="The allocation policy version to adopt")


class AdoptBudget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    budget_id: RowId = Field(description="The drafted budget version (予算案) to adopt")


class ReopenFiscalYear(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fiscal_year: StrictInt = Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR, description="The closed fiscal year to reopen")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), NOT_BLANK] = Field(
        description="Why the closed year must be reopened (e.g. a correction found by the audit)")


class AdmitMunicipality(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_code: TenantCode = Field(description="A municipality in screening")


class SchemaOf:
    """Annotated metadata: the field's JSON schema is that of the model a later check validates it
    with (``module``.``name``, imported when the schema is built; a plain object if it is absent)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        try:
            model = getattr(importlib.import_module(self.module), self.name)
        except ImportError:
            return handler(core_schema)
        return handler(model.__pydantic_core_schema__)


class ChangeQuotaPlan(BaseModel):
    """A quota plan to create or change; ``change`` is validated by the quotas package's check
    (admin.wiring: :class:`usage.quotas.QuotaPlanChange`, whose schema it states)."""

    model_config = ConfigDict(extra="forbid")
    plan_code: PlanCode
    change: Annotated[dict, SchemaOf("usage.quotas", "QuotaPlanChange")] = Field(
        description="The quota plan change (name_ja, name_en, population band, limits)")


class PublishAgreementVersion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: AgreementDocument
    number: StrictInt = Field(ge=1, le=INT32_MAX)  # an integer column
    reacceptance_days: StrictInt = Field(default=DEFAULT_REACCEPTANCE_DAYS, ge=1, le=365)


class FreeText(BaseModel):
    model_config = ConfigDict(extra="forbid")


CHANGE_PARAMS: dict[ChangeType, type[BaseModel]] = {
    ChangeType.adopt_allocation_policy: AdoptAllocationPolicy,
    ChangeType.adopt_budget: AdoptBudget,
    ChangeType.reopen_fiscal_year: ReopenFiscalYear,
    ChangeType.admit_municipality: AdmitMunicipality,
    ChangeType.change_quota_plan: ChangeQuotaPlan,
    ChangeType.publish_agreement_version: PublishAgreementVersion,
    ChangeType.free_text: FreeText,
}


def change_params(change_type: ChangeType, params: dict) -> dict:
    """The parameters of a typed change, validated; errors name ``params.<field>``."""
    try:
        model = CHANGE_PARAMS[change_type].model_validate(params or {})
    except ValidationError as error:
        problems = [{**p, "field": f"params.{p['field']}"} for p in problems_from(error)]
        label_ja, label_en = ChangeType(change_type).label
        raise Invalid(f"The details of the proposal ({label_en}) are not valid.",
                      f"議案（{label_ja}）の内容に誤りがあります。", problems=problems) from None
    return model.model_dump(mode="json", exclude_none=True)


VOTING_CLOSES_AT = dt.time(17, 0)  # a closing day means 17:00 Japan time of that day (the end of office hours)


def closing_moment(day: dt.date) -> dt.datetime:
    """When voting closes on ``day``: 17:00 JST."""
    return dt.datetime.combine(day, VOTING_CLOSES_AT, JST)


class ProposalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)] = ""
    change_type: ChangeType = ChangeType.free_text
    params: dict = Field(default_factory=dict, description="Parameters of the typed change (see docs/governance.md)")
    opens_at: AwareDatetime | None = Field(default=None, description="Start of the voting window with its offset, e.g. 2026-07-01T09:00:00+09:00 (default: now)")
    closes_at: AwareDatetime = Field(description="End of the voting window (exclusive) with its offset, e.g. "
                                                 "2026-07-15T17:00:00+09:00; a date alone (2026-07-15) closes at 17:00 JST of that day")
    quorum: Rule | None = Field(default=None, description="Default: majority of members")
    threshold: Rule | None = Field(default=None, description="Default: majority of votes cast; two_thirds for agreements and cost policies")

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        """``params`` by ``change_type``, stated from the table :func:`change_params` validates them
        with (:data:`CHANGE_PARAMS`): one alternative per change type (``oneOf``, which Schemathesis
        generates from); without ``change_type`` the matter is free text."""
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        branches = []
        for change_type, model in CHANGE_PARAMS.items():
            params = handler(model.__pydantic_core_schema__)
            branch: dict[str, Any] = {"properties": {"change_type": {"const": change_type.value}, "params": params}}
            required = (["change_type"] if change_type != cls.model_fields["change_type"].default else []) \
                + (["params"] if any(field.is_required() for field in model.model_fields.values()) else [])
            if required:
                branch["required"] = required
            branches.append(branch)
        target["oneOf"] = branches
        return schema


    @field_validator("closes_at", mode="before")
    @classmethod
    def _closing_day(cls, value):
        """A closing day without a time closes at 17:00 JST (:func:`closing_moment`)."""
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return closing_moment(value)
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                return closing_moment(dt.date.fromisoformat(value.strip()))
            except ValueError:
                return value  # not a date: the datetime check says what is wrong
        return value


class VoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choice: VoteChoice
    tenant_code: TenantCode | None = Field(default=None, description="The member voting; defaults to the voter's only tenant")


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), NOT_BLANK]
