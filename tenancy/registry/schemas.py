"""Validated input and output shapes of the tenant registry (non-table SQLModel models).

Table models skip validation, so every write goes through these first. Errors raised here
carry a Japanese message beside the English one (``ctx["message_ja"]``), which
:func:`core.validation.problems_from` turns into the problem list a clerk reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, PlainSerializer, StrictInt, StringConstraints, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError
from sqlmodel import Field, SQLModel

from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.validation import EMAIL_PATTERN, INT32_MAX, NOT_BLANK, SINGLE_LINE, StatedInSchema, TenantCode, single_line
from tenancy.registry.models import TenantKind, TenantStatus


def _valid_email(value: str) -> str:
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value:
        raise PydanticCustomError(
            "email",
            f"{value!r} is not an e-mail address.",
            {"message_ja": f"{value!r} はメールアドレスの形式ではありません。"},
        )
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(single_line), SINGLE_LINE, NOT_BLANK]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_valid_email), AfterValidator(single_line),
                  SINGLE_LINE, StatedInSchema(pattern=EMAIL_PATTERN)]


class ContactIn(SQLModel):
    model_config = ConfigDict(extra="forbid")

    role: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(single_line), SINGLE_LINE] = "admin"
    name: Annotated[Text, StringConstraints(max_length=100)]
    department: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(single_line), SINGLE_LINE] = ""
    email: Email
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32, pattern=r"^[0-9+\-() ]*$")] = ""


class ContactOut(ContactIn):
    model_config = ConfigDict(extra="ignore", from_attributes=True)


class TenantCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")

    code: TenantCode
    name_ja: Annotated[Text, StringConstraints(max_length=100)]
    # optional: a registry file as a Japanese office keeps it has no English name (English pages
    # then show the Japanese name)
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(single_line), SINGLE_LINE] = ""
    name_kana: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(single_line), SINGLE_LINE] | None = None
    kind: TenantKind
    population: StrictInt = Field(gt=0)
    population_source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255), AfterValidator(single_line), SINGLE_LINE] = ""
    status: TenantStatus = TenantStatus.applied
    wave_fiscal_year: StrictInt | None = Field(default=None, ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)
    user_seat_limit: StrictInt | None = Field(default=None, ge=0, le=INT32_MAX)  # an integer column
    contacts: list[ContactIn] = Field(default_factory=list, max_length=20)


class TenantUpdate(SQLModel):
    """A partial update: only the fields sent change. The code and status are not updatable here
    (status moves through the onboarding lifecycle)."""

    model_config = ConfigDict(extra="forbid")

    # null is not a value of the NOT NULL columns (refused, 422): the contract leaves it out (omit the field)
    name_ja: Annotated[Text, StringConstraints(max_length=100)] | SkipJsonSchema[None] = None
    name_en: Annotated[Text, StringConstraints(max_length=100)] | SkipJsonSchema[None] = None
    name_kana: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(single_line), SINGLE_LINE] | None = None
    kind: TenantKind | SkipJsonSchema[None] = None
    population: Annotated[StrictInt, Field(gt=0)] | SkipJsonSchema[None] = None  # the bound on the number itself
    population_source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255), AfterValidator(single_line), SINGLE_LINE] | SkipJsonSchema[None] = None
    wave_fiscal_year: StrictInt | None = Field(default=None, ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)
    user_seat_limit: StrictInt | None = Field(default=None, ge=0, le=INT32_MAX)  # an integer column
    contacts: list[ContactIn] | None = Field(default=None, max_length=20)


def json_time(value: dt.datetime) -> str:
    """A time as the API writes it: UTC, always with microseconds, and "Z" (pydantic's own format
    drops a zero fraction, so one time would be written two ways). PostgreSQL writes the same text
    (``tenancy.registry.operations``' time renderer)."""
    if value.tzinfo is not dt.timezone.utc:
        value = value.astimezone(dt.timezone.utc)
    return value.isoformat(timespec="microseconds")[:-6] + "Z"  # without "+00:00"


# a time the output model writes with :func:`json_time` (the contract still says date-time)
OutTime = Annotated[dt.datetime, PlainSerializer(json_time, return_type=str, when_used="json"),
                    WithJsonSchema({"type": "string", "format": "date-time"})]


# A tenant as every path writes it: the API (Flask's encoding of this model, or the text PostgreSQL
# builds from this model's fields), the audit's before/after and the export (its fields but the
# times the database keeps). A new field here reaches all of them, or is refused at import where no
# renderer knows its type (see tenancy.registry.operations). (A comment, not a docstring: a
# docstring would become the contract's description.)
class TenantOut(SQLModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_ja: str
    name_en: str
    name_kana: str | None
    kind: TenantKind
    population: int
    population_source: str
    status: TenantStatus
    wave_fiscal_year: int | None
    user_seat_limit: int | None
    contacts: list[ContactOut]
    created_at: OutTime
    updated_at: OutTime


class TenantPage(SQLModel):
    items: list[TenantOut]
    total: int
    page: int
    per_page: int
