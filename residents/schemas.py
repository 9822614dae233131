"""Validated input shapes of the residents' side (non-table models)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from core.validation import NOT_BLANK, RowId, TenantCode
from residents.consent.schemas import NewSubjectId, Statement
from residents.models import LinkMethod, Sex, VerificationMethod

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500), NOT_BLANK]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NOT_BLANK]
Issuer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), NOT_BLANK]
CommonId = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[0-9A-Z]{16}$")]


class EnrolmentIn(BaseModel):
    """A counter enrolment: the 基本4情報 as the document shows them, how identity was verified, and the
    identity provider's identifier of the person when they signed in (optional)."""

    model_config = ConfigDict(extra="forbid")

    tenant_code: TenantCode
    full_name: FullName
    address: Address
    birth_date: dt.date
    sex: Sex
    verification: VerificationMethod
    assurance_level: StrictInt = Field(ge=1, le=99)
    issuer: Issuer | None = None
    subject: NewSubjectId | None = None


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: RowId
    service_user_id: NewSubjectId
    method: LinkMethod = LinkMethod.counter
    verification: VerificationMethod | None = None  # at a counter: how staff verified the person's identity
    assurance_level: StrictInt = Field(ge=1, le=99)


ItemName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]


class DisclosureIn(BaseModel):
    """A disclosure range: the data items (of the service's consent text) the service may receive."""

    model_config = ConfigDict(extra="forbid")

    service_id: RowId
    items: list[ItemName] = Field(max_length=100)
    reason: Reason


class BrokerIn(BaseModel):
    """A service's request for a person's items, by its own user ID (the brokerage)."""

    model_config = ConfigDict(extra="forbid")

    service_id: RowId
    service_user_id: NewSubjectId
    items: list[ItemName] = Field(min_length=1, max_length=100)
    purpose: Statement


class LinkedIdIn(BaseModel):
    """A service's request for the person's user ID at another service, for a consented linkage."""

    model_config = ConfigDict(extra="forbid")

    service_id: RowId
    service_user_id: NewSubjectId
    target_service_id: RowId
    purpose: Statement
