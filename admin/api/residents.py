"""/api/v1 the residents' side (residents/): counter enrolment with the duplicate search, looking a person up
with a reason, links to services' IDs and the review queue; a municipality's residents' desk, its own
municipality only (every operation authorises itself and audits)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, autocommit_engine, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from admin.resident_keys import keyring, small_count
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.validation import ID_RANGE, RowId, TenantCode
from residents.consent.schemas import NewSubjectId, SubjectId
from residents import brokerage, figures, operations as residents, portal as resident_portal, portal_records, recovery
from residents.portal_records import NoticeIn
from residents.schemas import Address, CommonId, DisclosureIn, EnrolmentIn, FullName, Issuer, LinkIn, Reason

bp = StrictAPIBlueprint("api_residents", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("residents", "住民の共通ID・サービスのIDとの連携・確認待ち / residents: common IDs, links, "
                                                  "the review queue"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)


class TenantPath(BaseModel):
    code: TenantCode


class ResidentPath(BaseModel):
    code: TenantCode
    common_id: str = Field(pattern=r"^[0-9A-Za-z]{16}$")


class RecoveryPath(BaseModel):
    code: TenantCode
    recovery_id: int = Field(**ID_RANGE)


class ReviewPath(BaseModel):
    code: TenantCode
    review_id: int = Field(**ID_RANGE)


class EnrolmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: FullName
    address: Address
    birth_date: dt.date
    sex: Literal["1", "2", "9"] = Field(description="ISO/IEC 5218: 1 male, 2 female, 9 not applicable")
    verification: Literal["my_number_card", "photo_id", "two_documents", "provider"]
    assurance_level: int = Field(ge=1, le=99)
    issuer: Issuer | None = Field(default=None, description="The identity provider, if the person signed in")
    subject: NewSubjectId | None = Field(default=None, description="The provider's identifier of the person")


class LookupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why the person is looked up: recorded in the audit log with the view")
    common_id: CommonId


class ServiceLookupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why the person is looked up: recorded in the audit log with the view")
    service_id: RowId
    service_user_id: SubjectId


class NameSearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why the person is searched for: recorded in the audit log with each view")
    full_name: FullName = Field(description="The full name: compared normalised (widths, spaces, old kanji forms), "
                                            "exactly, through a keyed hash")
    birth_date: dt.date | None = Field(default=None, description="The date of birth, to narrow the search")


class FoundOut(BaseModel):
    common_id: str | None = Field(description="Null for an enrolment waiting for review")
    status: str
    full_name: str
    address: str
    birth_date: str
    sex: str
    enrolled_at: dt.datetime


class FoundList(BaseModel):
    items: list[FoundOut]


class FiguresQuery(BaseModel):
    fiscal_year: int | None = Field(default=None, ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR,
                                    description="Fiscal year (April–March) of the enrolments per month; default this one")


class CountOut(BaseModel):
    value: int | None = Field(description="Null when suppressed (below the threshold, or derivable from the total)")
    suppressed: bool


class MonthCountOut(CountOut):
    month: str


class ServiceCountOut(CountOut):
    service_id: int
    service_name: str


class EnrolmentFigures(BaseModel):
    months: list[MonthCountOut]
    total: CountOut


class LinkFigures(BaseModel):
    services: list[ServiceCountOut]
    total: CountOut


class ItemRateOut(BaseModel):
    item: str
    opted_in: CountOut
    rate_percent: float | None = Field(description="Null when suppressed")


class OptInOut(BaseModel):
    service_id: int
    service_name: str
    asked: CountOut = Field(description="The people with a consent record for the service (each once)")
    items: list[ItemRateOut]


class FiguresOut(BaseModel):
    tenant_code: str
    fiscal_year: int
    threshold: int = Field(description="Counts below it are suppressed (RENKEI_RESIDENT_SMALL_COUNT)")
    enrolments: EnrolmentFigures
    links: LinkFigures
    opt_ins: list[OptInOut]


class LinkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: RowId
    service_user_id: NewSubjectId
    method: Literal["counter", "portal_signin", "portal_code", "service_api"] = "counter"
    verification: Literal["my_number_card", "photo_id", "two_documents", "provider"] | None = Field(
        default=None, description="At a counter: how staff verified the person's identity")
    assurance_level: int = Field(ge=1, le=99)


class DisclosureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: RowId = Field(description="A service the resident is linked to")
    items: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]] = Field(
        max_length=100, description="Names of data items of the service's current consent text; empty: nothing")
    reason: Reason = Field(description="Why (the resident's request at the desk): recorded in the audit log")


class BrokerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: RowId = Field(description="The asking service (its API client must be the caller)")
    service_user_id: SubjectId = Field(description="The person as the asking service knows them")
    items: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=100, description="Data item names of the service's consent text (氏名, 住所, 生年月日, 性別)")
    purpose: str = Field(min_length=1, max_length=500, description="One of the purposes of the service's consent text")


class BrokerOut(BaseModel):
    allowed: bool
    reason: str = Field(description="allowed, or the rule that refused: " + ", ".join(brokerage.REASONS))
    reason_ja: str
    reason_en: str
    items: dict[str, str] = Field(description="The items sent: only those allowed")
    withheld: list[str] = Field(description="Items asked for and not sent (outside the disclosure range, or not held)")
    linkage_record: int | None = Field(description="The sequence number of the linkage record, once the consent "
                                                   "check was asked")


class LinkedIdBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: RowId = Field(description="The asking service (its API client must be the caller)")
    service_user_id: SubjectId = Field(description="The person as the asking service knows them")
    target_service_id: RowId = Field(description="The service whose user ID of the person is asked for")
    purpose: str = Field(min_length=1, max_length=500, description="The linkage's purpose, in both services' consent texts")


class LinkedIdOut(BaseModel):
    allowed: bool
    reason: str = Field(description="allowed, or the rule that refused: " + ", ".join(brokerage.REASONS))
    reason_ja: str
    reason_en: str
    target_service_user_id: str | None = Field(description="The person's user ID at the target service, when allowed")
    linkage_record: int | None = Field(description="The sequence number of the linkage record, once a consent check "
                                                   "was asked")


class LinkCodeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: RowId = Field(description="The service (its API client must be the caller)")
    service_user_id: NewSubjectId = Field(description="The person as the service knows them: the ID the code links")


class LinkCodeOut(BaseModel):
    code: str = Field(description="Eight characters, shown once: the resident enters it in the portal with the "
                                  "service chosen; only its hash is kept")
    service_id: int
    service_user_id: str
    expires_at: dt.datetime = Field(description="Valid for 10 minutes, and for one use")


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    same_person: bool = Field(description="True: the existing person (no new ID); false: another person (issued)")
    reason: Reason


class EnrolmentOut(BaseModel):
    common_id: str | None = Field(description="The common ID issued; null when the enrolment waits for review")
    status: str
    review_id: int | None


class LinkOut(BaseModel):
    service_id: int
    service_user_id: str
    method: str
    assurance_level: int
    linked_at: dt.datetime


class ResidentLinkOut(LinkOut):
    id: int
    origin_common_id: str | None = Field(description="The common ID the link was made for (another one when a merge "
                                                     "moved it here)")
    ended_at: dt.datetime | None = Field(description="Set when a split ended the link (kept, no longer in force)")
    ended_by: str
    ended_reason: str
    verification: str | None = Field(description="How staff verified the person's identity for a link made at a counter")
    disclosed: list[str] = Field(description="The items the service may receive now (its disclosure range; an ended "
                                             "link: none)")


class ConsentOut(BaseModel):
    seq: int
    event: str
    occurred_at: dt.datetime
    service_id: int
    service_user_id: str
    receipt_id: str
    items: list[str]
    expires_at: dt.datetime | None
    origin_common_id: str | None = Field(description="The common ID whose link the consent came with")


class ResidentOut(BaseModel):
    common_id: str | None
    tenant_code: str
    status: str
    full_name: str
    address: str
    birth_date: str
    sex: str
    verification: str
    assurance_level: int
    enrolled_at: dt.datetime
    enrolled_by: str
    merged_from: list[str] = Field(description="Common IDs merged into this one (they resolve to it)")
    moved_to: str | None = Field(None, description="Moved out (status moved): the municipality's code, \"\" for "
                                                   "outside the platform's area")
    moved_from: str | None = Field(None, description="Moved in: the code of the municipality moved from")
    moved_at: dt.datetime | None = Field(None, description="When the resident moved out")
    links: list[ResidentLinkOut]
    consents: list[ConsentOut] = Field(description="The consents of the current links, each with its origin")


class DisclosureOut(BaseModel):
    service_id: int
    items: list[str]
    reason: str
    set_at: dt.datetime
    set_by: str


class ReviewOut(BaseModel):
    id: int
    matched_common_id: str | None
    reason: str
    claims_of_common_id: str | None = None  # the changed items of this resident's sign-in are held (not an enrolment)
    address_matches: bool
    status: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str
    decision_reason: str


class ReviewList(BaseModel):
    items: list[ReviewOut]


class SplitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    common_id: CommonId
    service_id: RowId = Field(description="The service whose link of this resident is wrong")
    reason: Reason = Field(description="Why the link is wrong: recorded, and kept with the ended link")


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    surviving_common_id: CommonId = Field(description="The common ID that stays")
    merged_common_id: CommonId = Field(description="The second common ID of the same person: merged into the first")
    reason: Reason


class DecisionReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ApprovalBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = Field(
        default="", description="What the second person checked (optional)")


class RecoveryOut(BaseModel):
    id: int
    kind: Literal["split", "merge"]
    status: Literal["proposed", "approved", "refused", "cancelled"]
    common_id: str | None = Field(description="split: the resident; merge: the surviving common ID")
    merged_common_id: str | None = Field(description="merge: the common ID merged into the surviving one")
    service_id: int | None
    service_user_id: str | None
    reason: str
    proposed_at: dt.datetime
    proposed_by: str
    decided_at: dt.datetime | None
    decided_by: str
    decision_reason: str
    marked_records: int = Field(description="split: the linkage records made under the wrong link, marked")
    own: bool = Field(description="Whether the caller proposed it (then they may cancel, never approve or refuse)")


class RecoveryList(BaseModel):
    items: list[RecoveryOut]


def _link_out(link) -> dict:
    return {"service_id": link.service_id, "service_user_id": link.service_user_id, "method": link.method.value,
            "assurance_level": link.assurance_level, "linked_at": link.linked_at}


@bp.post("/tenants/<code>/residents", responses={201: EnrolmentOut},
         summary="Enrol a resident at a counter (the municipality's residents' desk): a common ID, or a review item "
                 "when the person matches someone enrolled")
def enrol(path: TenantPath, body: EnrolmentBody):
    enrolment = residents.enrol(db.session, current_actor(), keyring(),
                                EnrolmentIn.model_validate({**body.model_dump(), "tenant_code": path.code}))
    return jsonify({"common_id": enrolment.resident.common_id, "status": enrolment.resident.status.value,
                    "review_id": enrolment.review.id if enrolment.review else None}), 201


@bp.post("/tenants/<code>/residents/lookup", responses={200: ResidentOut},
         summary="Look a resident up by common ID, with a reason (audited: who looked at whom)")
def look_up(path: TenantPath, body: LookupBody):
    return jsonify(residents.look_up(db.session, current_actor(), keyring(), path.code, reason=body.reason,
                                     common_id=body.common_id))


@bp.post("/tenants/<code>/residents/lookup-by-service", responses={200: ResidentOut},
         summary="Look a resident up by a service's own user ID, with a reason (audited: who looked at whom)")
def look_up_by_service(path: TenantPath, body: ServiceLookupBody):
    return jsonify(residents.look_up(db.session, current_actor(), keyring(), path.code, reason=body.reason,
                                     service_id=body.service_id, service_user_id=body.service_user_id))


@bp.post("/tenants/<code>/residents/search-by-name", responses={200: FoundList},
         summary="Search the municipality's residents by full name (optionally with the date of birth), with a reason "
                 "(audited: the search and each person shown)")
def search_by_name(path: TenantPath, body: NameSearchBody):
    return jsonify({"items": residents.search_by_name(
        db.session, current_actor(), keyring(), path.code, reason=body.reason, full_name=body.full_name,
        birth_date=body.birth_date.isoformat() if body.birth_date else "")})


@bp.get("/tenants/<code>/residents/figures", responses={200: FiguresOut},
        summary="The municipality's numbers for policy work: enrolments per month, links per service, opt-in rates per "
                "consent item; small counts suppressed")
def policy_figures(path: TenantPath, query: FiguresQuery):
    return jsonify(figures.policy_figures(db.session, current_actor(), path.code, fiscal_year=query.fiscal_year,
                                          threshold=small_count()))


@bp.post("/tenants/<code>/residents/<common_id>/links", responses={201: LinkOut},
         summary="Link a resident to a registered service's own user ID")
def link(path: ResidentPath, body: LinkBody):
    made = residents.link_service(db.session, current_actor(), path.code, path.common_id,
                                  LinkIn.model_validate(body.model_dump()))
    return jsonify(_link_out(made)), 201


@bp.put("/tenants/<code>/residents/<common_id>/disclosure", responses={200: DisclosureOut},
        summary="Set, on the resident's behalf, the data items a linked service may receive (公開範囲), with a reason")
def set_disclosure(path: ResidentPath, body: DisclosureBody):
    row = residents.set_disclosure(db.session, current_actor(), path.code, path.common_id,
                                   DisclosureIn.model_validate(body.model_dump()))
    return jsonify({"service_id": row.service_id, "items": json.loads(row.items), "reason": row.reason,
                    "set_at": row.set_at, "set_by": row.set_by})


@bp.post("/residents/broker", responses={200: BrokerOut},
         summary="For a data service's API client (scope residents:broker): a person's items by the service's own user "
                 "ID, within the resident's disclosure range and consent",
         description="Always 200 when the request was understood: `allowed` decides and `reason` names the rule "
                     "that refused. The answer never holds the common ID or another service's ID.")
def broker(body: BrokerBody):
    engine = autocommit_engine()  # PostgreSQL: the consent check's read and record as in /consent/check
    if engine is None:
        return jsonify(brokerage.broker(db.session, current_actor(), keyring(), body.model_dump()).as_dict())
    with engine.connect() as connection:
        return jsonify(brokerage.broker(db.session, current_actor(), keyring(), body.model_dump(),
                                        autocommit=connection).as_dict())


@bp.post("/residents/broker/linked-id", responses={200: LinkedIdOut},
         summary="For a data service's API client (scope residents:broker): the person's user ID at another service, "
                 "for a linkage both services' consents cover",
         description="Always 200 when the request was understood: `allowed` decides and `reason` names the rule that "
                     "refused; a refusal on the target's side never tells whether the person is known there.")
def linked_id(body: LinkedIdBody):
    engine = autocommit_engine()
    if engine is None:
        return jsonify(brokerage.linked_id(db.session, current_actor(), body.model_dump()).as_dict())
    with engine.connect() as connection:
        return jsonify(brokerage.linked_id(db.session, current_actor(), body.model_dump(), autocommit=connection).as_dict())


@bp.post("/residents/link-codes", responses={201: LinkCodeOut},
         summary="For a data service's API client (scope residents:broker): a one-time code for one of its own user IDs, "
                 "which the resident enters in the residents' portal to link that ID to their common ID",
         description="The code is valid for 10 minutes and for one use; renkei keeps only its hash. A service that is "
                     "not the caller's is not found.")
def issue_link_code(body: LinkCodeBody):
    row, code = resident_portal.issue_link_code(db.session, current_actor(), body.model_dump())
    return jsonify({"code": code, "service_id": row.service_id, "service_user_id": row.service_user_id,
                    "expires_at": row.expires_at.isoformat()}), 201


@bp.get("/tenants/<code>/resident-reviews", responses={200: ReviewList},
        summary="The municipality's enrolments held as possible duplicates (open ones)")
def list_reviews(path: TenantPath):
    return jsonify({"items": residents.list_reviews(db.session, current_actor(), path.code)})


@bp.post("/tenants/<code>/resident-reviews/<int:review_id>/decide", responses={200: ReviewOut},
         summary="Decide a review: the same person (no new ID) or another person (a common ID issued), with a reason")
def decide_review(path: ReviewPath, body: DecisionBody):
    review = residents.decide_review(db.session, current_actor(), path.code, path.review_id, body.same_person, body.reason,
                                    keys=keyring())
    return jsonify(next(item for item in residents.list_reviews(db.session, current_actor(), path.code, open_only=False)
                        if item["id"] == review.id))


# --- recovery: split a wrong link, merge two common IDs; four eyes (residents.recovery) -------------

def _recovery_out(row) -> dict:
    return recovery.recovery_view(db.session, row, current_actor())


@bp.post("/tenants/<code>/resident-recoveries/split", responses={201: RecoveryOut},
         summary="Propose ending a resident's link to a service (the service's user ID is not this person), with a "
                 "reason; another person of the residents' desk approves")
def propose_split(path: TenantPath, body: SplitBody):
    row = recovery.propose_split(db.session, current_actor(), path.code, body.common_id, body.service_id, body.reason)
    return jsonify(_recovery_out(row)), 201


@bp.post("/tenants/<code>/resident-recoveries/merge", responses={201: RecoveryOut},
         summary="Propose merging two common IDs of one person, with a reason; another person of the residents' desk "
                 "approves")
def propose_merge(path: TenantPath, body: MergeBody):
    row = recovery.propose_merge(db.session, current_actor(), path.code, body.surviving_common_id, body.merged_common_id,
                                 body.reason)
    return jsonify(_recovery_out(row)), 201


@bp.get("/tenants/<code>/resident-recoveries", responses={200: RecoveryList},
        summary="The municipality's split and merge proposals awaiting approval")
def list_recoveries(path: TenantPath):
    return jsonify({"items": recovery.list_recoveries(db.session, current_actor(), path.code)})


@bp.post("/tenants/<code>/resident-recoveries/<int:recovery_id>/approve", responses={200: RecoveryOut},
         summary="Approve a proposal (not its proposer): the link is ended and the records made under it marked, or "
                 "the IDs merged; the services and the resident are notified")
def approve_recovery(path: RecoveryPath, body: ApprovalBody):
    recovery.approve(db.session, current_actor(), path.code, path.recovery_id, body.reason)
    return jsonify(_recovery_out(recovery.get_recovery(db.session, path.code, path.recovery_id)))


@bp.post("/tenants/<code>/resident-recoveries/<int:recovery_id>/refuse", responses={200: RecoveryOut},
         summary="Refuse a proposal (not its proposer), with a reason: nothing changes")
def refuse_recovery(path: RecoveryPath, body: DecisionReasonBody):
    return jsonify(_recovery_out(recovery.refuse(db.session, current_actor(), path.code, path.recovery_id, body.reason)))


@bp.post("/tenants/<code>/resident-recoveries/<int:recovery_id>/cancel", responses={200: RecoveryOut},
         summary="Cancel one's own proposal, with a reason: nothing changes")
def cancel_recovery(path: RecoveryPath, body: DecisionReasonBody):
    return jsonify(_recovery_out(recovery.cancel(db.session, current_actor(), path.code, path.recovery_id, body.reason)))


# --- notices to a municipality's residents, shown in the portal (residents.portal_records) ------------

class ResidentNoticeBody(NoticeIn):
    """A notice to the municipality's residents: the title and text in Japanese, in English optionally."""


class ResidentNoticeOut(BaseModel):
    tenant_code: str
    title_ja: str
    title_en: str
    residents: int = Field(description="How many residents it reached (those enrolled now)")
    created_at: dt.datetime


@bp.post("/tenants/<code>/resident-notices", responses={201: ResidentNoticeOut},
         summary="Post a notice to the municipality's residents (the operator or its residents' desk): every resident "
                 "enrolled now sees it in the portal's お知らせ")
def publish_resident_notice(path: TenantPath, body: ResidentNoticeBody):
    result = portal_records.publish_notice(db.session, current_actor(), path.code, body.model_dump())
    return jsonify(ResidentNoticeOut.model_validate(result).model_dump(mode="json")), 201
