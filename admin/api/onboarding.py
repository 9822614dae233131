"""/api/v1 endpoints of onboarding: one endpoint per transition, the board, the timeline, waves, the outbox.

A refused transition is 409 problem+json naming the reason (or every unmet guard in ``errors``);
nothing is changed. The provisioning saga commits after each of its steps itself, so a failed
step stays on record even though the response is an error (503 when Keycloak did not answer;
``details.failed_step``). Every read and act authorises itself in the domain (tenancy.onboarding,
core.outbox).
"""

from __future__ import annotations

from typing import Annotated, Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.auth import current_actor, require
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from admin.identity import identity_directory
from tenancy.onboarding import board as onboarding_board, lifecycle, saga as onboarding, waves
from core import outbox
from core.outbox import NotificationStatus
from admin.api.contract import digits_between
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.validation import NOT_BLANK, StatedInSchema, TenantCode

bp = StrictAPIBlueprint("api_onboarding", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("onboarding", "参加・脱退の手続き / onboarding and offboarding"),
                        abp_security=BEARER, abp_responses={**PROBLEM_RESPONSES, 503: PROBLEM_RESPONSES[409]})

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class TenantPath(BaseModel):
    code: TenantCode = Field(description="Local government code, 6 digits with check digit")


class ChecklistPath(BaseModel):
    code: TenantCode
    checklist: Literal["screening", "handover"]
    item: Annotated[str, StringConstraints(max_length=64), StatedInSchema(
        enum=sorted({entry.key for items in lifecycle.CHECKLISTS.values() for entry in items}),
        description="An item of the checklist named before it")]


class TransitionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(default="", description="Why; kept in the tenant's history")


class ReasonedTransitionBody(BaseModel):
    """A move whose reason is required: stated here, refused (and its refusal recorded) by the lifecycle."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"required": ["reason"]})
    reason: Annotated[Reason, StatedInSchema(minLength=1), NOT_BLANK] = Field(
        default="", description="Why; kept in the tenant's history")


class ChecklistBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checked: bool = True
    note: Reason = ""


class WaveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fiscal_year: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16), StatedInSchema(
        pattern=f"^(?:FY)?{digits_between(str(FIRST_FISCAL_YEAR), str(LAST_FISCAL_YEAR))}(?:年度)?$")] = Field(
        description="FY2025, 2025 or 令和7年度 (the era forms are read too), a supported fiscal year")
    csv: Annotated[str, StringConstraints(max_length=2_000_000)] = Field(
        description="The wave file's text (same columns as `renkei onboarding wave`)")


class OutboxQuery(BaseModel):
    tenant: TenantCode | None = None
    status: NotificationStatus | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class ChecklistItemOut(BaseModel):
    item: str = Field(description="The item's key (the path segment to tick it)")
    label_ja: str
    label_en: str
    checked: bool
    checked_by: str = Field(description="Who ticked it (empty: nobody)")
    checked_at: str | None = Field(description="When it was ticked, ISO 8601 (null: never)")
    note: str


class ChecklistsOut(BaseModel):
    screening: list[ChecklistItemOut]
    handover: list[ChecklistItemOut]


class ProvisioningStepOut(BaseModel):
    step: str
    label_ja: str
    label_en: str
    status: str = Field(description="pending, done or failed")
    attempts: int
    error: str = Field(description="The last error (empty: none)")
    finished_at: str | None = Field(description="ISO 8601 (null: not finished)")


class TenantResourcesOut(BaseModel):
    fiware_service: str
    catalog_organization: str


class TransitionOut(BaseModel):
    from_status: str | None = Field(description="null: the tenant's first status")
    to_status: str
    at: str = Field(description="ISO 8601")
    actor: str = Field(description="The actor's name (their subject when no name is known)")
    actor_subject: str
    reason: str


class OnboardingOut(BaseModel):
    code: str
    name_ja: str
    name_en: str
    status: str
    status_label_ja: str
    wave_fiscal_year: int | None
    allowed_transitions: list[str]
    checklists: ChecklistsOut
    provisioning: list[ProvisioningStepOut]
    platform_resources: TenantResourcesOut | None = Field(description="null: not provisioned yet")
    final_settlement_due: bool
    timeline: list[TransitionOut]


class TimelineList(BaseModel):
    items: list[TransitionOut]


class WaveOutcomeOut(BaseModel):
    code: str
    name_ja: str
    status: str = Field(description="The tenant's status after the wave (- when it was not created)")
    ok: bool
    failed_step: str = Field(description="The provisioning step that failed (empty: none)")
    message_en: str
    message_ja: str


class WaveOut(BaseModel):
    fiscal_year: int
    all_active: bool
    outcomes: list[WaveOutcomeOut]


class NotificationOut(BaseModel):
    id: int
    tenant_code: str | None
    kind: str
    recipients: str = Field(description="The contacts' e-mail addresses, comma separated (empty: none)")
    subject: str
    body: str
    status: str
    attempts: int
    last_error: str | None
    created_at: str
    sent_at: str | None


class NotificationList(BaseModel):
    items: list[NotificationOut]


class ResourceOut(BaseModel):
    code: str
    name_ja: str
    fiware_service: str
    catalog_organization: str


class ResourceList(BaseModel):
    items: list[ResourceOut]


class BoardCardOut(BaseModel):
    code: str
    name_ja: str
    name_en: str
    kind: str
    wave_fiscal_year: int | None
    failed_step: str | None = Field(description="The failed provisioning step (null: none)")
    failed_step_label_ja: str | None
    error: str | None = Field(description="The failed step's last error (null: none)")
    awaiting_activation: bool = Field(description="Every step done, a guard still holds the activation")


class OnboardingBoardOut(BaseModel):
    columns: dict[str, list[BoardCardOut]] = Field(description="Tenants by status")
    counts: dict[str, int]
    active_municipalities: int
    waves: dict[str, dict[str, int]] = Field(description="Per wave (fiscal year): tenants per status")


DETAIL = {200: OnboardingOut}


def _detail(code: str):
    return jsonify(onboarding_board.detail(db.session, current_actor(), code))


@bp.get("/onboarding/board", responses={200: OnboardingBoardOut}, summary="The onboarding board: tenants by state, counts per wave, failed steps")
def get_board():
    return jsonify(onboarding_board.board(db.session, current_actor()))


@bp.get("/tenants/<code>/onboarding", responses={200: OnboardingOut},
        summary="A tenant's onboarding: status, next moves, checklists, provisioning steps, timeline")
def get_onboarding(path: TenantPath):
    return _detail(path.code)


@bp.get("/tenants/<code>/transitions", responses={200: TimelineList}, summary="A tenant's timeline of status changes (who, when, why)")
def get_transitions(path: TenantPath):
    return jsonify({"items": onboarding_board.timeline(db.session, current_actor(), path.code)})


def _simple(name: str, body_model: type[BaseModel] = TransitionBody):
    def endpoint(path: TenantPath, body: TransitionBody):
        if name == "reapply":
            lifecycle.reapply(db.session, current_actor(), path.code, body.reason)
        else:
            getattr(lifecycle, name)(db.session, current_actor(), path.code, body.reason)
        return _detail(path.code)

    endpoint.__name__ = f"post_{name}"
    endpoint.__annotations__["body"] = body_model  # the reason is required for some moves
    return endpoint


def _offboarding(name: str, body_model: type[BaseModel] = TransitionBody):
    def endpoint(path: TenantPath, body: TransitionBody):
        getattr(onboarding, name)(db.session, current_actor(), identity_directory(), path.code, body.reason)
        return _detail(path.code)

    endpoint.__name__ = f"post_{name}"
    endpoint.__annotations__["body"] = body_model  # the reason is required for some moves
    return endpoint


bp.post("/tenants/<code>/screen", responses=DETAIL, summary="applied → screening")(_simple("screen"))
bp.post("/tenants/<code>/approve", responses=DETAIL, summary="screening → approved (screening checklist, agreements, operator)")(_simple("approve"))
bp.post("/tenants/<code>/activate", responses=DETAIL, summary="provisioning → active (every provisioning step done)")(_simple("activate"))
bp.post("/tenants/<code>/reapply", responses=DETAIL, summary="withdrawn → applied (re-application by the operator)")(_simple("reapply", ReasonedTransitionBody))
bp.post("/tenants/<code>/suspend", responses=DETAIL, summary="active → suspended (users disabled, quotas zero)")(_offboarding("suspend", ReasonedTransitionBody))
bp.post("/tenants/<code>/resume", responses=DETAIL, summary="suspended → active")(_offboarding("resume"))
bp.post("/tenants/<code>/withdraw", responses=DETAIL, summary="→ withdrawn (users removed, handover checklist, final settlement)")(_offboarding("withdraw", ReasonedTransitionBody))


@bp.post("/tenants/<code>/provision", responses=DETAIL, summary="approved → provisioning → active: run the provisioning saga")
def post_provision(path: TenantPath, body: TransitionBody):
    onboarding.provision(db.session, current_actor(), identity_directory(), path.code, reason=body.reason)
    return _detail(path.code)


@bp.post("/tenants/<code>/retry", responses=DETAIL, summary="Resume a tenant's provisioning from the failed step")
def post_retry(path: TenantPath, body: TransitionBody):
    onboarding.retry(db.session, current_actor(), identity_directory(), path.code)
    return _detail(path.code)


@bp.put("/tenants/<code>/checklist/<checklist>/<item>", responses=DETAIL, summary="Tick or untick a screening or handover checklist item")
def put_checklist_item(path: ChecklistPath, body: ChecklistBody):
    lifecycle.check_item(db.session, current_actor(), path.code, path.checklist, path.item, body.checked, body.note)
    return _detail(path.code)


@bp.post("/onboarding/waves", responses={200: WaveOut}, summary="Onboard a wave: apply, screen, approve and provision every row")
def post_wave(body: WaveBody):
    require("tenant.transition")  # run_wave authorises too; this refuses before the upload is parsed
    year = waves.parse_fiscal_year(body.fiscal_year)
    rows = waves.parse_wave_csv(body.csv)  # the text as sent (no encoded copy), read row by row
    outcomes = waves.run_wave(db.session, current_actor(), identity_directory(), year, rows)
    return jsonify({"fiscal_year": year, "all_active": all(o.ok for o in outcomes),
                    "outcomes": [o.__dict__ for o in outcomes]})


@bp.get("/onboarding/outbox", responses={200: NotificationList}, summary="Queued, sent and failed notifications to tenants' contacts")
def get_outbox(query: OutboxQuery):
    messages = outbox.read_notifications(db.session, current_actor(), tenant_code=query.tenant, status=query.status,
                                         limit=query.limit)
    return jsonify({"items": [
        {"id": n.id, "tenant_code": n.tenant_code, "kind": n.kind, "recipients": n.recipients, "subject": n.subject,
         "body": n.body, "status": n.status, "attempts": n.attempts, "last_error": n.last_error,
         "created_at": n.created_at.isoformat(), "sent_at": n.sent_at.isoformat() if n.sent_at else None}
        for n in messages]})


@bp.get("/onboarding/platform-resources", responses={200: ResourceList}, summary="FIWARE service and data catalog organisation of each tenant")
def get_platform_resources():
    return jsonify({"items": onboarding_board.platform_resources(db.session, current_actor())})
