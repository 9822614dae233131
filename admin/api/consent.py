"""/api/v1 personal data by consent: services, consent records and receipts, the broker's consent
check, linkage searches and a person's history (residents.consent; every operation authorises itself)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from flask import Response, jsonify
from pydantic import BaseModel, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, autocommit_engine, tag
from admin.api.contract import XLSX, media
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core.spreadsheet import CSV_MIMETYPE
from core.validation import ID_RANGE, TenantCode
from residents.consent import check, history, operations as consent, terms
from residents.consent.lifecycle import TRANSITIONS
from residents.consent.models import DataService
from residents.consent.schemas import CheckIn, ConsentIn, ServiceCreate, SubjectId, TextDraft, WithdrawalIn

bp = StrictAPIBlueprint("api_consent", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("consent", "本人同意・同意確認・連携記録 / consent, the consent check, linkage records"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)


class ServicePath(BaseModel):
    service_id: int = Field(**ID_RANGE)


class TransitionPath(BaseModel):
    service_id: int = Field(**ID_RANGE)
    transition: Literal["approve", "suspend", "resume", "end"]


class LevelPath(BaseModel):
    level: int = Field(ge=1, le=99)


class ReceiptPath(BaseModel):
    receipt_id: str = Field(pattern=r"^[0-9a-f-]{36}$")


class PersonPath(BaseModel):
    code: TenantCode
    subject_id: SubjectId


class AssuranceLevelBody(BaseModel):
    label_ja: str = Field(min_length=1, max_length=200)
    label_en: str = Field(default="", max_length=200)


class ServiceMoveBody(BaseModel):
    reason: str = Field(default="", max_length=500)


class LinkageQuery(CachedSchema):
    service_id: int | None = Field(default=None, **ID_RANGE)
    date_from: dt.date | None = Field(default=None, alias="from", description="First day (JST), inclusive")
    date_to: dt.date | None = Field(default=None, alias="to", description="Last day (JST), inclusive")
    result: Literal["allowed", "refused"] | None = None


class HistoryQuery(CachedSchema):
    format: Literal["json", "csv", "xlsx"] = "json"
    lang: Literal["ja", "en"] = "ja"


class AssuranceLevelOut(BaseModel):
    level: int
    label_ja: str
    label_en: str


class AssuranceLevelList(BaseModel):
    items: list[AssuranceLevelOut]


class ItemDatasetOut(BaseModel):
    """The dataset of the register a data item comes from."""

    uid: str
    name: str = Field(description="The catalogue name (CKAN's `name`, what package_show takes)")
    title_ja: str
    title_en: str
    provider_code: str
    provider_name_ja: str
    provider_name_en: str


class ConsentDataItemOut(BaseModel):
    name: str
    dataset_ref: str | None = Field(description="The catalogue name of the dataset it comes from; null for a free item")
    dataset: ItemDatasetOut | None


class ConsentTextOut(BaseModel):
    number: int
    title: str
    body_ja: str
    body_en: str
    content_hash: str
    purposes: list[str] = Field(description="The required purposes")
    optional_purposes: list[str] = Field(description="The optional purposes: each consented to or not")
    items: list[ConsentDataItemOut]
    legal_basis: str
    special_care: bool = Field(description="The items include special-care personal information (要配慮個人情報)")
    processing: list[str]
    jurisdiction: str
    retention_days: int | None = Field(description="The service's retention when the text was made (null: older texts)")


class DataServiceOut(BaseModel):
    id: int
    owner_code: str
    name: str
    provider: str
    controller: str
    controller_contact: str
    responsibility: str
    retention_days: int
    required_level: int
    api_client_id: int | None
    status: str
    user_id_pattern: str = Field(description="The form of the service's user IDs (a regular expression)")
    user_id_min_length: int
    user_id_max_length: int
    current_text: ConsentTextOut | None = None


class DataServiceList(BaseModel):
    items: list[DataServiceOut]


class ReceiptSourceOut(BaseModel):
    category: str = Field(description="A data item the consent covers")
    dataset: ItemDatasetOut | None = Field(description="The dataset of the register it comes from; null for a free item")


class PurposeNecessityOut(BaseModel):
    purpose: str
    necessity: Literal["required", "optional"]
    consented: bool


class TermOut(BaseModel):
    code: str
    label_ja: str
    label_en: str
    dpv: str = Field(description="The W3C Data Privacy Vocabulary concept")


class StorageDurationOut(BaseModel):
    days: int | None
    iso8601: str | None


class CoveredFieldOut(BaseModel):
    field: str = Field(description="A field the record's hash covers")
    label_ja: str
    label_en: str
    value: str | int | bool | None = Field(description="The field's value as hashed")
    sha256: str = Field(description="SHA-256 of the canonical JSON {field: value}: locates a change, proves nothing alone")


class CheckpointAnchorOut(BaseModel):
    seq: int
    hash: str


class SignatureOut(BaseModel):
    algorithm: str
    key_id: str
    value: str = Field(description="The Ed25519 signature (base64) over the checkpoint without its signature")


class CheckpointOut(BaseModel):
    format: str
    chain: str
    seq: int
    hash: str
    at: str
    anchor: CheckpointAnchorOut | None = None
    database: str | None = None
    signature: SignatureOut


class SigningKeyOut(BaseModel):
    key_id: str
    fingerprint_sha256: str
    public_key_pem: str
    published_at: str = Field(description="Where renkei publishes the key (/portal/signing-keys/<key id>.pub)")


class RecordProofOut(BaseModel):
    """A record's proof (docs/receipts.md; renkei verify-receipt checks it without a database)."""

    format: str
    chain: str
    rule: str
    covered: list[CoveredFieldOut]
    prev_hash: str = Field(description="The previous record's hash")
    hash: str
    checkpoint: CheckpointOut | None = Field(description="The chain's newest signed checkpoint (null before the first)")
    signing_key: SigningKeyOut | None


class ConsentReceiptOut(BaseModel):
    """A consent receipt (ISO/IEC TS 27560 fields) the person can keep."""

    model_config = {"extra": "allow"}
    record_id: str
    event: str
    timestamp: str
    purposes: list[str] = Field(description="The purposes this consent covers")
    purpose_necessity: list[PurposeNecessityOut] = Field(description="Each purpose of the text: required or optional, "
                                                                     "and whether this consent covers it")
    personal_data_categories: list[str]
    personal_data_sources: list[ReceiptSourceOut]
    legal_basis: list[TermOut]
    special_care_personal_data: bool
    processing: list[TermOut]
    jurisdiction: str
    storage_duration: StorageDurationOut
    state: Literal["given", "withdrawn", "expired"] = Field(
        description="The consent's state now: expired from its expiry on, even before the expiry is recorded")
    record_seq: int
    record_hash: str = Field(description="The record's hash in the consent records' chain (renkei consent verify --record)")
    proof: RecordProofOut = Field(description="The record's proof: the fields its hash covers, the previous record's "
                                              "hash, the chain's newest signed checkpoint and its key "
                                              "(docs/receipts.md; renkei verify-receipt checks it without a database)")


class ConsentCheckOut(BaseModel):
    allowed: bool
    reason: str
    reason_ja: str
    reason_en: str
    consent_record: str | None = Field(description="The receipt id of the consent record relied on")
    linkage_record: int = Field(description="The sequence number of this call's linkage record")
    checked_at: str
    not_covered: list[str]
    linkage_hash: str = Field(description="The hash of this call's linkage record in its chain")


class LinkageRecordOut(BaseModel):
    seq: int
    at: str
    service: str
    tenant_code: str
    subject_id: str
    items: str
    purpose: str
    result: str
    reason: str
    consent: str
    client: str
    hash: str = Field(description="The record's hash in the linkage records' chain (renkei consent verify --record)")
    record_hash: str | None = Field(default=None, description="In a person's history: the record's hash again, "
                                                               "printed beside its proof")
    proof: RecordProofOut | None = Field(default=None, description="In a person's history: the record's proof "
                                                                   "(docs/receipts.md)")


class LinkageRecordList(BaseModel):
    items: list[LinkageRecordOut]


class PersonHistoryOut(BaseModel):
    tenant_code: str
    subject_id: str
    consents: list[ConsentReceiptOut]
    linkages: list[LinkageRecordOut]


def _text_out(text) -> dict:
    return {"number": text.number, "title": text.title, "body_ja": text.body_ja, "body_en": text.body_en,
            "content_hash": text.content_hash, "purposes": consent.purposes_of(db.session, text.id, required=True),
            "optional_purposes": consent.purposes_of(db.session, text.id, required=False),
            "items": _items_out(text.id), "legal_basis": text.legal_basis, "special_care": text.special_care,
            "processing": terms.processing_of(text), "jurisdiction": text.jurisdiction,
            "retention_days": text.retention_days}


def _items_out(text_id: int) -> list[dict]:
    sources = consent.item_sources(db.session, text_id)
    summaries = consent.dataset_summary(db.session, [s.dataset for s in sources])
    return [{"name": s.item.name, "dataset_ref": s.dataset.name if s.dataset else None,
             "dataset": summaries[s.dataset.id] if s.dataset else None} for s in sources]


def _service_out(service: DataService, with_text: bool = True) -> dict:
    data = consent.service_summary(service)
    text = consent.current_text(db.session, service) if with_text else None
    data["current_text"] = _text_out(text) if text is not None else None
    return data


@bp.get("/consent/levels", responses={200: AssuranceLevelList}, summary="The identity assurance levels (個人認証レベル) the operator keeps")
def list_levels():
    return jsonify({"items": [{"level": row.level, "label_ja": row.label_ja, "label_en": row.label_en}
                              for row in consent.list_levels(db.session)]})


@bp.put("/consent/levels/<int:level>", responses={200: AssuranceLevelOut}, summary="Add or rename an assurance level (operator)")
def set_level(path: LevelPath, body: AssuranceLevelBody):
    row = consent.set_level(db.session, current_actor(), path.level, body.label_ja, body.label_en)
    return jsonify({"level": row.level, "label_ja": row.label_ja, "label_en": row.label_en})


@bp.get("/consent/services", responses={200: DataServiceList}, summary="Services that receive personal data (those the caller may see)")
def list_services():
    return jsonify({"items": [_service_out(s, with_text=False)
                              for s in consent.list_services(db.session, current_actor())]})


@bp.post("/consent/services", responses={201: DataServiceOut},
         summary="Register a service with version 1 of its consent text (a tenant's or organisation's admin); the operator approves it")
def register_service(body: ServiceCreate):
    service = consent.register_service(db.session, current_actor(), body)
    return jsonify(_service_out(service)), 201


@bp.get("/consent/services/<int:service_id>", responses={200: DataServiceOut}, summary="A service, its controller and its current consent text")
def get_service(path: ServicePath):
    return jsonify(_service_out(consent.read_service(db.session, current_actor(), path.service_id)))


@bp.post("/consent/services/<int:service_id>/texts", responses={201: ConsentTextOut},
         summary="A new version of the consent text (a change of purpose or items needs new consent)")
def revise_text(path: ServicePath, body: TextDraft):
    text = consent.revise_text(db.session, current_actor(), path.service_id, body)
    return jsonify(_text_out(text)), 201


@bp.post("/consent/services/<int:service_id>/<transition>", responses={200: DataServiceOut},
         summary="Approve, suspend, resume or end a service (operator; suspend and end need a reason)",
         description="Moves: " + "; ".join(f"{t.name}: {', '.join(sorted(s.value for s in t.sources))} → {t.target.value}"
                                          for t in TRANSITIONS.values()))
def move_service(path: TransitionPath, body: ServiceMoveBody):
    service = consent.move_service(db.session, current_actor(), path.service_id, path.transition, body.reason)
    return jsonify(_service_out(service))


@bp.get("/consent/services/<int:service_id>/linkages", responses={200: LinkageRecordList},
        summary="The service's linkage records (its owner's admins: their own services only)")
def service_linkages(path: ServicePath, query: LinkageQuery):
    rows = history.service_linkages(db.session, current_actor(), path.service_id, first_day=query.date_from,
                                    last_day=query.date_to, allowed=_result(query.result))
    return jsonify({"items": history.linkage_dicts(rows, db.session)})


def _seals():
    """The chains' newest signed checkpoints, for the receipts' proofs (maintenance.signing.seals)."""
    from flask import current_app

    from maintenance.signing import seals

    return seals(current_app.config)


def _result(result: str | None) -> bool | None:
    return None if result is None else result == "allowed"


@bp.post("/consent/records", responses={201: ConsentReceiptOut},
         summary="Record a person's consent (the resident app with consent:write, or a clerk of the person's tenant)",
         description="The body names the text the person was shown by its content hash; only the service's current "
                     "text can be consented to. The answer is the consent receipt.")
def give_consent(body: ConsentIn):
    record = consent.give_consent(db.session, current_actor(), body)
    return jsonify(consent.receipt(db.session, record, seals=_seals())), 201


@bp.post("/consent/withdrawals", responses={201: ConsentReceiptOut},
         summary="Record a withdrawal: the next consent check for the person and service is refused")
def withdraw_consent(body: WithdrawalIn):
    record = consent.withdraw_consent(db.session, current_actor(), body)
    return jsonify(consent.receipt(db.session, record, seals=_seals())), 201


@bp.get("/consent/records/<receipt_id>", responses={200: ConsentReceiptOut}, summary="A consent receipt")
def get_receipt(path: ReceiptPath):
    return jsonify(consent.receipt(db.session, consent.get_record(db.session, current_actor(), path.receipt_id),
                                   seals=_seals()))


@bp.post("/consent/check", responses={200: ConsentCheckOut},
         summary="For the broker: may this person's data items go to this service for this purpose now?",
         description="Always 200 when the check itself worked; `allowed` decides and `reason` says why ("
                     + ", ".join(check.REASONS) + "). Every call is written as a hash-chained linkage record. "
                     "Callers: metering-client (the platform's components) or platform-operator.")
def consent_check(body: CheckIn):
    engine = autocommit_engine()  # PostgreSQL: the check's read and its record's write, one statement each
    if engine is None:
        return jsonify(check.consent_check(db.session, current_actor(), body).as_dict())
    with engine.connect() as connection:
        return jsonify(check.consent_check(db.session, current_actor(), body, autocommit=connection).as_dict())


@bp.get("/consent/linkages", responses={200: LinkageRecordList},
        summary="Search linkage records across tenants by service, period and result (auditor, operator)")
def search_linkages(query: LinkageQuery):
    rows = history.search_linkages(db.session, current_actor(), service_id=query.service_id, first_day=query.date_from,
                                   last_day=query.date_to, allowed=_result(query.result))
    return jsonify({"items": history.linkage_dicts(rows, db.session)})


@bp.get("/tenants/<code>/people/<subject_id>/consent-history", responses={200: media(PersonHistoryOut, "text/csv", XLSX)},
        summary="Everything about one person of a tenant: consents, withdrawals, linkages (a clerk of that tenant)")
def person_history(path: PersonPath, query: HistoryQuery):
    found = history.person_history(db.session, current_actor(), path.code, path.subject_id)
    if query.format == "json":
        return jsonify(history.history_json(db.session, found, query.lang, _seals()))
    name = f"consent-history-{path.code}-{path.subject_id}.{query.format}"
    body = history.history_csv(found, query.lang) if query.format == "csv" else history.history_xlsx(found, query.lang)
    response = Response(body, mimetype=CSV_MIMETYPE if query.format == "csv" else XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

