"""Validated input shapes of personal data by consent (non-table models)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints, ValidationError,
                      ValidationInfo, field_validator)
from pydantic_core import PydanticCustomError

from core.errors import Invalid
from residents.consent.subject_ids import DEFAULT_MAX_LENGTH, DEFAULT_MIN_LENGTH, DEFAULT_PATTERN, PATTERN_MAX
from residents.consent.terms import (DEFAULT_JURISDICTION, DEFAULT_LEGAL_BASIS, DEFAULT_PROCESSING, JURISDICTION_PATTERN,
                                      LEGAL_BASES, PROCESSING)
from core.validation import NOT_BLANK, RowId, StatedInSchema, TenantCode, problems_from

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
Statement = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NOT_BLANK]
# the pseudonymous identifier the resident identity provider gives, unique per tenant: never a name or My Number
SubjectId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=128,
                                             pattern=r"^[A-Za-z0-9._:@-]+$")]


def _an_identifier(value: str) -> str:
    """Refuse an identifier that is an e-mail address, a phone number or shaped like a 個人番号 (12 digits
    with a valid check digit, with or without hyphens): renkei takes only an identifier the service or the
    resident identity provider gives (the rule's one home: residents.consent.subject_ids)."""
    from residents.consent.subject_ids import shape_problem

    found = shape_problem(value.replace(" ", ""))
    if found is not None:
        kind, en, ja = found
        raise PydanticCustomError(kind, en, {"message_ja": ja})  # a SubjectId has no brace to be read as a field
    return value


def _a_pattern(value: str) -> str:
    from residents.consent.subject_ids import pattern_problem

    found = pattern_problem(value)
    if found is not None:
        raise PydanticCustomError("user_id_pattern", found[0], {"message_ja": found[1]})
    return value


UserIdPattern = Annotated[str, StringConstraints(min_length=1, max_length=PATTERN_MAX), AfterValidator(_a_pattern)]
# the identifier a consent or a check is recorded under: never an e-mail address, a phone number or a 個人番号
NewSubjectId = Annotated[SubjectId, AfterValidator(_an_identifier),
                         StatedInSchema(description="An identifier the service gives the person: never an e-mail "
                                        "address, a phone number (0 and 9 digits; 050, 070, 080 or 090 and 8) or a "
                                        "12-digit number whose last digit is the My Number check digit (422), and of "
                                        "the form the service declares (user_id_pattern, user_id_min_length, "
                                        "user_id_max_length)")]
ContentHash = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9a-f]{64}$")]
Owner = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^([0-9]{6}|[0-9]{13})$")]


def _trimmed(value: str) -> str:
    if value != value.strip():
        raise PydanticCustomError("trimmed", "No white space at the start or the end.",
                                  {"message_ja": "前後に空白を入れないでください。"})
    return value


# A text a consent text lists (a purpose, a data item's name) as it is stored and compared: each is
# listed once, so it is taken as sent (no white space around it), not trimmed; the schema states it.
TRIMMED_PATTERN = r"^\S(?:[\s\S]*\S)?$"
Trimmed = [AfterValidator(_trimmed), StatedInSchema(pattern=TRIMMED_PATTERN)]
ItemName = Annotated[str, StringConstraints(min_length=1, max_length=200), *Trimmed]
Purpose = Annotated[str, StringConstraints(min_length=1, max_length=500), *Trimmed]


def _names_as_keys(schema: dict) -> None:
    """State the keys' pattern as ``propertyNames`` (pydantic writes it as ``patternProperties``, which
    would leave keys of any other form allowed) and every value as a data item."""
    for pattern, value in (schema.pop("patternProperties", None) or {}).items():
        schema.setdefault("propertyNames", {})["pattern"] = pattern
        schema["additionalProperties"] = value


class DataItemIn(BaseModel):
    """A data item of a consent text (its name is the key it is listed under, :attr:`TextDraft.items`)."""

    model_config = ConfigDict(extra="forbid")

    dataset_ref: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        default=None, description="The dataset of the register it comes from, if any: its catalogue name (CKAN's "
        "`name`) or its uid. It must be one the service's owner may name (its own datasets that are not withdrawn, "
        "or a published one of another provider its owner may see under the dataset's access); any other is refused "
        "(422, the problem naming the item at `items[<position>].dataset_ref`). Answers give the catalogue name.")


class TextDraft(BaseModel):
    """A consent text version: what the person reads and agrees to."""

    model_config = ConfigDict(extra="forbid")

    title: Name
    body_ja: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    body_en: Annotated[str, StringConstraints(max_length=100_000)] = ""
    purposes: list[Purpose] = Field(min_length=1, max_length=50, json_schema_extra={"uniqueItems": True},
                                    description="Purposes of use (利用目的), each in words, each once: the required "
                                                "ones (a consent to the text is a consent to each)")
    optional_purposes: list[Purpose] = Field(
        default=[], max_length=50, json_schema_extra={"uniqueItems": True},
        description="Optional purposes, shown after the required ones: the person may consent to any of them or none "
                    "(`optional_purposes` of the consent); none of them also among `purposes`")
    legal_basis: Literal[tuple(LEGAL_BASES)] = Field(  # type: ignore[valid-type]
        default=DEFAULT_LEGAL_BASIS, description="The legal basis (ISO/IEC TS 27560 legal basis): " + "; ".join(
            f"{code}: {en}" for code, (_ja, en, _dpv) in LEGAL_BASES.items()))
    special_care: bool = Field(default=False, description="The data items include special-care personal information "
                                                          "(要配慮個人情報): its acquisition needs the person's consent too")
    processing: list[Literal[tuple(PROCESSING)]] = Field(  # type: ignore[valid-type]
        default=list(DEFAULT_PROCESSING), min_length=1, max_length=len(PROCESSING), json_schema_extra={"uniqueItems": True},
        description="The processing operations (DPV's terms), each once")
    jurisdiction: Annotated[str, StringConstraints(pattern=JURISDICTION_PATTERN)] = Field(
        default=DEFAULT_JURISDICTION, description="ISO 3166-1 country or ISO 3166-2 subdivision code (JP, JP-43)")
    items: dict[ItemName, DataItemIn] = Field(
        min_length=1, max_length=200, json_schema_extra=_names_as_keys,
        description="Data items the service receives, by name (each once: a name is a key), in the order they are "
                    "shown, e.g. {\"生年月日\": {}, \"世帯構成\": {\"dataset_ref\": \"...\"}}")


class ServiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_code: Owner = Field(description="The tenant's code or the member organisation's corporate number")
    name: Name
    provider: Name = Field(description="Who provides the service to residents")
    controller: Name = Field(description="The party answerable for the data the service receives")
    controller_contact: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    responsibility: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = Field(
        default="", description="The split of responsibility with the platform operator, in words")
    retention_days: StrictInt = Field(ge=1, le=36500, description="How long the service keeps what it receives")
    required_level: StrictInt = Field(ge=1, le=99, description="The identity assurance level it requires")
    api_client_id: RowId | None = Field(default=None, description="The platform API client that calls the broker")
    user_id_pattern: UserIdPattern = Field(default=DEFAULT_PATTERN, description=(
        "The form of the service's user IDs, a regular expression a whole ID matches (the default: the platform's own)"))
    user_id_min_length: StrictInt = Field(default=DEFAULT_MIN_LENGTH, ge=DEFAULT_MIN_LENGTH, le=DEFAULT_MAX_LENGTH,
                                          description="The fewest characters of one of the service's user IDs")
    user_id_max_length: StrictInt = Field(default=DEFAULT_MAX_LENGTH, ge=DEFAULT_MIN_LENGTH, le=DEFAULT_MAX_LENGTH,
                                          description="The most characters of one of the service's user IDs")
    text: TextDraft

    @field_validator("user_id_max_length")
    @classmethod
    def _lengths_in_order(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("user_id_min_length")
        if low is not None and low > value:
            raise PydanticCustomError("user_id_lengths", "The most characters must not be fewer than the fewest.",
                                      {"message_ja": "最大文字数は最小文字数以上にしてください。"})
        return value


class ConsentIn(BaseModel):
    """A consent given by a person (by the resident app, or on paper at a counter)."""

    model_config = ConfigDict(extra="forbid")

    service_id: RowId
    tenant_code: TenantCode
    subject_id: NewSubjectId = Field(description="The person's pseudonymous identifier; one shaped like a 個人番号 "
                                                 "(12 digits with a valid check digit) is refused")
    content_hash: ContentHash = Field(description="The hash of the consent text the person was shown")
    optional_purposes: list[Purpose] = Field(
        default=[], max_length=50, json_schema_extra={"uniqueItems": True},
        description="Which of the text's optional purposes the person also consents to (none by default); the "
                    "required ones are always part of the consent")
    method: Literal["web", "app", "paper"] = "app"
    assurance_level: StrictInt = Field(ge=1, le=99, description="The level at which the person was identified")
    expires_at: AwareDatetime | None = None


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: RowId
    tenant_code: TenantCode
    subject_id: SubjectId
    method: Literal["web", "app", "paper"] = "app"


class CheckIn(BaseModel):
    """The broker's question before it hands personal data to a service."""

    model_config = ConfigDict(extra="forbid")

    service_id: RowId
    tenant_code: TenantCode
    subject_id: NewSubjectId
    items: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]] = Field(
        min_length=1, max_length=200)
    purpose: Statement
    client: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] = Field(
        default="", description="The platform API client the broker acts for")
    assurance_level: StrictInt | None = Field(default=None, ge=1, le=99,
                                              description="The level at which the person is identified now, if known")


def validated(model: type[BaseModel], payload: BaseModel | dict) -> BaseModel:
    if isinstance(payload, model):
        return payload
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise Invalid("The input is not valid.", "入力内容に誤りがあります。", problems=problems_from(error)) from None


def as_aware(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(dt.timezone.utc) if moment is not None else None
