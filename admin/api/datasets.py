"""/api/v1/datasets: the dataset register (for providers and the operator). The published catalogue
itself is read through CKAN's API and the DCAT feed (admin/catalogue/ckan.py)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.api.fields import MAX_FILE_BYTES
from admin.api.paging import PageNumber, PerPage
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core.errors import Invalid, problem
from core.validation import HTTP_URL_PATTERN, SINGLE_LINE, StatedInSchema
from catalogue import catalogue, conformance, coverage as dataset_coverage, file_checks, importing, operations
from catalogue.models import Access, DatasetStatus, Frequency, PersonalInfo

bp = StrictAPIBlueprint("api_datasets", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("datasets", "データセット台帳 / dataset register"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{2,100}$")]
Provider = Annotated[str, StringConstraints(pattern=r"^([0-9]{6}|[0-9]{13})$")]
Line = Annotated[str, StringConstraints(max_length=200), SINGLE_LINE]  # a title: one line (operations._TEXT_FIELDS)


class DatasetPath(BaseModel):
    uid: Ident = Field(description="The dataset's id (uid) or its catalogue name")


class DatasetMovePath(BaseModel):
    uid: Ident
    verb: Literal["submit", "publish", "refuse", "withdraw"]


class DatasetQuery(CachedSchema):
    q: str = Field(default="", max_length=100, description="Title, keyword or name")
    status: DatasetStatus | None = None
    provider: Provider | None = None
    page: PageNumber = 1
    per_page: PerPage = 50


def _standard_kinds() -> dict:
    """The standard kinds a field takes, stated as its enum (read from the shipped descriptors)."""
    from catalogue import standards

    return {"enum": sorted(standards.kinds())}


class DatasetDistributionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, StringConstraints(max_length=1000), StatedInSchema(pattern=HTTP_URL_PATTERN), SINGLE_LINE]
    format: Annotated[str, StringConstraints(max_length=32), SINGLE_LINE] = ""
    media_type: Annotated[str, StringConstraints(max_length=100), SINGLE_LINE] = ""
    byte_size: int | None = Field(default=None, ge=0, le=2**62)
    is_api: bool = False
    title: Line = ""
    route_service: Annotated[str, StringConstraints(max_length=50),
                             StatedInSchema(pattern=r"^([a-z0-9_]{1,50})?$")] = Field(
        default="", description="An API on the context broker: its Fiware-Service (how the gateway names the dataset of a call)")
    route_service_path: Annotated[str, StringConstraints(max_length=100),
                                  StatedInSchema(pattern=r"^(/([A-Za-z0-9_]{1,50}(/[A-Za-z0-9_]{1,50}){0,9})?)?$")] = Field(
        default="", description="Its Fiware-ServicePath (default /); needs route_service")
    route_entity_type: Annotated[str, StringConstraints(max_length=100),
                                 StatedInSchema(pattern=r"^([^\s\"'<>=;()&?#/,:]{1,100})?$")] = Field(
        default="", description="Its NGSI entity type (empty: the whole service path); needs route_service")
    route_path: Annotated[str, StringConstraints(max_length=300),
                          StatedInSchema(pattern=r"^(/catalog/[A-Za-z0-9._~\-/]{0,290})?$")] = Field(
        default="", description="An API of the catalogue: its path, under /catalog/ (not with route_service)")


class DatasetBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={  # a dataset for named users names them
        "if": {"properties": {"access": {"const": "named"}}, "required": ["access"]},
        "then": {"properties": {"grantees": {"minItems": 1}}, "required": ["grantees"]}})
    provider_code: Provider = Field(description="Tenant code or member organisation's corporate number (ignored on change)")
    title_ja: Annotated[Line, StatedInSchema(minLength=1, pattern=r"\S")]
    title_en: Line = ""
    description: str = Field(default="", max_length=5000)
    category_code: Annotated[str, StringConstraints(max_length=32)]
    keywords: list[Annotated[str, StringConstraints(max_length=50), SINGLE_LINE]] = Field(default_factory=list, max_length=30)
    licence_code: Annotated[str, StringConstraints(max_length=64)]
    access: Access = Access.open
    grantees: list[Annotated[str, StringConstraints(max_length=32),
                             StatedInSchema(pattern=r"^([0-9]{6}|[0-9]{13}|group:[0-9]{1,9})$")]] = Field(
        default_factory=list, max_length=100, description="Tenant codes, corporate numbers or group:<id> (access named)")
    frequency: Frequency = Frequency.irregular
    last_updated_on: dt.date | None = None
    department: Annotated[str, StringConstraints(max_length=100), SINGLE_LINE] = ""
    contact_email: Annotated[str, StringConstraints(max_length=254),
                             StatedInSchema(pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")] = ""
    contact_phone: Annotated[str, StringConstraints(max_length=32), SINGLE_LINE] = ""
    personal_info: PersonalInfo = PersonalInfo.none
    standard_kind: Annotated[str, StringConstraints(max_length=32), StatedInSchema(_standard_kinds)] | None = None
    responsibility_remark: str = Field(default="", max_length=1000)
    distributions: list[DatasetDistributionBody] = Field(default_factory=list, max_length=20)


class DatasetReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=1000, description="Required to refuse or withdraw")


class DatasetFileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: Annotated[str, StringConstraints(max_length=255)] = ""
    content_base64: str = Field(max_length=MAX_FILE_BYTES * 4 // 3 + 4, description="The CSV file's bytes, base64",
                                json_schema_extra={"pattern": r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"})


class DatasetCheckBody(DatasetFileBody):
    replaces: bool = Field(False, description="The file replaces the distribution's file (a new version of the file is "
                                              "published). Without it, a file other than the distribution's (the first file "
                                              "checked, or the last that replaced it) is checked on its own: kept in the "
                                              "history, the dataset's verdict unchanged")


class DatasetProblemOut(BaseModel):
    row: str
    column: str
    message_ja: str
    message_en: str


class DatasetCheckOut(BaseModel):
    conformant: bool
    label_ja: str
    encoding: str
    row_count: int
    problem_count: int
    problems: list[DatasetProblemOut]
    dataset_version: int
    of_distribution: bool = Field(description="The check is of the distribution's file, so it is the dataset's verdict; "
                                              "false: of this file only (the dataset's verdict unchanged)")
    sha256: str = Field(description="The checked file's SHA-256 (hex)")
    byte_size: int = Field(description="The checked file's size in bytes")
    standard_version: str = Field(description="The version of the standard the file met or was checked against: "
                                              "current or older (its schema: /standards/<kind>/schema.json or "
                                              "/standards/<kind>/older/schema.json)")


class DatasetPartyOut(BaseModel):
    party: str = Field(description="provider, operator or user")
    label_ja: str
    label_en: str
    duty_ja: str
    duty_en: str
    remark: str | None = None


class DatasetDistributionOut(BaseModel):
    url: str
    format: str
    media_type: str
    byte_size: int | None
    is_api: bool
    title: str
    route_service: str
    route_service_path: str
    route_entity_type: str
    route_path: str


class DatasetOut(BaseModel):
    uid: str
    name: str
    provider_code: str
    title_ja: str
    title_en: str
    description: str
    category_code: str
    keywords: list[str]
    licence_code: str
    access: str
    grantees: list[str]
    frequency: str
    last_updated_on: dt.date | None
    department: str
    contact_email: str
    contact_phone: str
    personal_info: str
    standard_kind: str | None
    conformance_ja: str
    status: str
    review_reason: str
    version: int
    responsibility: list[DatasetPartyOut] = Field(description="The split of responsibility (責任分界)")
    distributions: list[DatasetDistributionOut]


class DatasetPage(BaseModel):
    items: list[DatasetOut]
    total: int
    page: int
    per_page: int


class DatasetImportHeld(BaseModel):
    line: int
    uid: str
    name: str
    reasons_ja: str
    reasons_en: str


class DatasetImportOut(BaseModel):
    created: list[str]
    held: list[DatasetImportHeld] = []  # rows marked 公開中 that stay drafts: the publish checklist is not met


class DatasetCoverageQuery(CachedSchema):
    q: str = Field(default="", max_length=100)
    kind: Annotated[str, StringConstraints(max_length=32), StatedInSchema(_standard_kinds)] | None = None
    state: Literal["conformant", "not_conformant", "overdue", "missing"] | None = None


class DatasetCoverageRowOut(BaseModel):
    code: str
    name_ja: str
    cells: dict[str, str]
    unused: list[str] = Field(description="The kinds provided whose datasets had no use in the last twelve months "
                                          "(no call through the API gateway, no use reported)")


class DatasetCoverageOut(BaseModel):
    kinds: list[str]
    items: list[DatasetCoverageRowOut]


class DatasetRemindOut(BaseModel):
    queued: int


def _out(dataset) -> dict:
    return {"uid": dataset.uid, "name": dataset.name, "provider_code": dataset.provider_code,
            "title_ja": dataset.title_ja, "title_en": dataset.title_en, "description": dataset.description,
            "category_code": dataset.category_code, "keywords": dataset.keyword_list,
            "licence_code": dataset.licence_code, "access": dataset.access.value,
            "grantees": operations.grantees(db.session, dataset), "frequency": dataset.frequency.value,
            "last_updated_on": dataset.last_updated_on.isoformat() if dataset.last_updated_on else None,
            "department": dataset.department, "contact_email": dataset.contact_email,
            "contact_phone": dataset.contact_phone, "personal_info": dataset.personal_info.value,
            "standard_kind": dataset.standard_kind, "conformance_ja": conformance.conformance_state(dataset).label[0],
            "status": dataset.status.value, "review_reason": dataset.review_reason, "version": dataset.version,
            "responsibility": catalogue.responsibility(dataset),
            "distributions": [{"url": d.url, "format": d.format, "media_type": d.media_type, "byte_size": d.byte_size,
                               "is_api": d.is_api, "title": d.title, "route_service": d.route_service,
                               "route_service_path": d.route_service_path, "route_entity_type": d.route_entity_type,
                               "route_path": d.route_path}
                              for d in operations.distributions(db.session, dataset)]}


def _draft(body: DatasetBody) -> operations.DatasetDraft:
    return operations.DatasetDraft(
        provider_code=body.provider_code, title_ja=body.title_ja, title_en=body.title_en, description=body.description,
        category_code=body.category_code, keywords="、".join(body.keywords), licence_code=body.licence_code,
        access=body.access.value, grantees=tuple(body.grantees), frequency=body.frequency.value,
        last_updated_on=body.last_updated_on, department=body.department, contact_email=body.contact_email,
        contact_phone=body.contact_phone, personal_info=body.personal_info.value, standard_kind=body.standard_kind,
        responsibility_remark=body.responsibility_remark,
        distributions=tuple(operations.DistributionDraft(**d.model_dump()) for d in body.distributions))


def _bytes(body: DatasetFileBody) -> bytes:
    try:
        return base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("content_base64 is not base64.", "content_base64 が base64 ではありません。",
                      problems=[problem("content_base64", "Not base64.", "base64 ではありません。")]) from None


@bp.get("/datasets", responses={200: DatasetPage}, summary="The register: datasets the reader may see (a provider its own)")
def list_datasets(query: DatasetQuery):
    rows, total = operations.list_datasets(db.session, current_actor(), search=query.q,
                                           status=query.status.value if query.status else None,
                                           provider=query.provider, page=query.page, per_page=query.per_page)
    return jsonify({"items": [_out(d) for d in rows], "total": total, "page": query.page, "per_page": query.per_page})


@bp.post("/datasets", responses={201: DatasetOut}, summary="Register a dataset (a draft)")
def register(body: DatasetBody):
    dataset = operations.register(db.session, current_actor(), _draft(body))
    return jsonify(_out(dataset)), 201


@bp.get("/datasets/<uid>", responses={200: DatasetOut}, summary="One dataset of the register")
def get_dataset(path: DatasetPath):
    return jsonify(_out(operations.get_dataset(db.session, current_actor(), path.uid)))


@bp.put("/datasets/<uid>", responses={200: DatasetOut}, summary="Change a dataset (a published one becomes a new version)")
def update(path: DatasetPath, body: DatasetBody):
    return jsonify(_out(operations.update(db.session, current_actor(), path.uid, _draft(body))))


@bp.post("/datasets/<uid>/check", responses={200: DatasetCheckOut},
         summary="Check a CSV (UTF-8 or CP932) against the dataset's standard kind; problems by row and column")
def check(path: DatasetPath, body: DatasetCheckBody):
    result = file_checks.check_file(db.session, current_actor(), path.uid, body.filename, _bytes(body),
                                   replaces=body.replaces)
    problems = [{k: p[k] for k in ("row", "column", "message_ja", "message_en")} for p in file_checks.check_problems(result)]
    return jsonify({"conformant": result.conformant, "label_ja": "準拠" if result.conformant else
                    f"不適合（{result.problem_count:,} 件）", "encoding": result.encoding, "row_count": result.row_count,
                    "problem_count": result.problem_count, "problems": problems,
                    "dataset_version": result.dataset_version, "of_distribution": result.of_distribution,
                    "sha256": result.sha256, "byte_size": result.byte_size, "standard_version": result.standard_version})


@bp.post("/datasets/<uid>/<verb>", responses={200: DatasetOut},
         summary="The workflow: submit (provider), publish or refuse (operator), withdraw")
def move(path: DatasetMovePath, body: DatasetReasonBody):
    return jsonify(_out(operations.move(db.session, current_actor(), path.uid, path.verb, body.reason)))


@bp.post("/datasets/import", responses={201: DatasetImportOut},
         summary="Import a list of datasets (CSV, Japanese headers): all rows or none")
def import_list(body: DatasetFileBody):
    imported = importing.import_datasets(db.session, current_actor(), _bytes(body))
    return jsonify({"created": [d.uid for d in imported.created],
                    "held": [{"line": h.line, "uid": h.dataset.uid, "name": h.dataset.name, "reasons_ja": h.reasons[0],
                              "reasons_en": h.reasons[1]} for h in imported.held]}), 201


@bp.get("/datasets/coverage", responses={200: DatasetCoverageOut}, summary="Municipalities × standard kinds")
def coverage(query: DatasetCoverageQuery):
    from catalogue import standards

    if query.kind is not None and query.kind not in standards.kinds():
        raise Invalid("Unknown standard kind.", "標準データセットの種類がありません。",
                      problems=[problem("kind", "Unknown standard kind.", "標準データセットの種類がありません。")])
    rows = dataset_coverage.coverage(db.session, current_actor(), search=query.q, kind=query.kind, state=query.state)
    return jsonify({"kinds": list(standards.kinds()),
                    "items": [{"code": r.code, "name_ja": r.name_ja, "cells": r.cells, "unused": sorted(r.unused)}
                              for r in rows]})


@bp.post("/datasets/reminders", responses={200: DatasetRemindOut},
         summary="Queue a reminder to each overdue dataset's contact (once per period)")
def remind():
    return jsonify({"queued": dataset_coverage.remind_overdue(db.session, current_actor())})


# --- terms of use per dataset (catalogue.terms) -------------------------------------------------

class DatasetTermsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, StringConstraints(max_length=200)] = Field(description="The title of the terms (利用規約の表題)")
    body_md: str = Field(max_length=50_000, description="The text (Markdown)")


class DatasetTermsVersionOut(BaseModel):
    number: int
    title: str
    body_md: str
    content_hash: str = Field(description="SHA-256 of the version's canonical text: send it to accept")
    created_at: str
    created_by: str
    url: str = Field(description="Where the text is read (the link of the CKAN record and the DCAT feed)")


class DatasetTermsAcceptanceOut(BaseModel):
    consumer_code: str
    number: int
    accepted_at: str
    actor_name: str


class DatasetTermsOut(BaseModel):
    own_terms: bool = Field(description="The licence is terms of its own")
    acceptance_required: bool = Field(description="Limited: a consumer accepts the current version before access")
    current: DatasetTermsVersionOut | None
    versions: list[DatasetTermsVersionOut]
    acceptances: list[DatasetTermsAcceptanceOut]


class DatasetTermsQuery(CachedSchema):
    consumer_code: Provider | None = Field(default=None, description="The municipality or organisation you act for")


class DatasetTermsStandingOut(BaseModel):
    uid: str
    name: str
    title_ja: str
    provider_code: str
    state: Literal["ok", "pending"] = Field(description="ok: the current version is accepted; pending: accept it first")
    accepted_number: int | None
    current: DatasetTermsVersionOut | None


class DatasetTermsStandingList(BaseModel):
    consumer_code: str
    items: list[DatasetTermsStandingOut]


class DatasetTermsAcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: int = Field(ge=1, le=1_000_000, description="The version accepted (the current one)")
    content_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="The content hash of the text read")
    consumer_code: Provider | None = None


def _version_out(dataset, version) -> dict:
    from core.audit import timestamp_text
    from flask import request

    return {"number": version.number, "title": version.title, "body_md": version.body_md,
            "content_hash": version.content_hash, "created_at": timestamp_text(version.created_at),
            "created_by": version.created_by,
            "url": catalogue.terms_url(request.host_url, dataset, version.number)}


def _terms_out(dataset) -> dict:
    from core.audit import timestamp_text
    from catalogue import terms

    versions = terms.versions(db.session, dataset)
    own = terms.has_own_terms(db.session, dataset)
    return {"own_terms": own, "acceptance_required": own and dataset.access != Access.open,
            "current": _version_out(dataset, versions[0]) if versions else None,
            "versions": [_version_out(dataset, v) for v in versions],
            "acceptances": [{"consumer_code": a.consumer_code, "number": a.number,
                             "accepted_at": timestamp_text(a.accepted_at), "actor_name": a.actor_name}
                            for a in terms.acceptances(db.session, current_actor(), dataset.uid)]}


@bp.get("/datasets/<uid>/terms", responses={200: DatasetTermsOut},
        summary="A dataset's own terms of use: its versions and who accepted which (the provider's view)")
def get_terms(path: DatasetPath):
    return jsonify(_terms_out(operations.get_dataset(db.session, current_actor(), path.uid)))


@bp.post("/datasets/<uid>/terms", responses={201: DatasetTermsOut},
         summary="Write the dataset's terms of use: a new version, current at once (consumers are asked again)")
def revise_terms(path: DatasetPath, body: DatasetTermsBody):
    from catalogue import terms

    terms.revise(db.session, current_actor(), path.uid, body.title, body.body_md)
    return jsonify(_terms_out(operations.get_dataset(db.session, current_actor(), path.uid))), 201


@bp.get("/dataset-terms", responses={200: DatasetTermsStandingList},
        summary="Limited datasets with their own terms your municipality or organisation may use, and whether it accepted")
def terms_to_accept(query: DatasetTermsQuery):
    from catalogue import terms

    actor = current_actor()
    rows = terms.to_accept(db.session, actor, query.consumer_code)
    code = query.consumer_code or next(iter(actor.tenant_codes))
    return jsonify({"consumer_code": code, "items": [
        {"uid": s.dataset.uid, "name": s.dataset.name, "title_ja": s.dataset.title_ja,
         "provider_code": s.dataset.provider_code, "state": s.state, "accepted_number": s.accepted_number,
         "current": _version_out(s.dataset, s.terms) if s.terms else None} for s in rows]})


@bp.post("/dataset-terms/<uid>/acceptances", responses={201: DatasetTermsStandingOut},
         summary="Accept the current version of a dataset's terms for your municipality or organisation")
def accept_terms(path: DatasetPath, body: DatasetTermsAcceptBody):
    from catalogue import terms

    actor = current_actor()
    acceptance = terms.accept(db.session, actor, path.uid, body.number, body.content_hash, body.consumer_code)
    s = terms.standing(db.session, actor, path.uid, acceptance.consumer_code)
    return jsonify({"uid": s.dataset.uid, "name": s.dataset.name, "title_ja": s.dataset.title_ja,
                    "provider_code": s.dataset.provider_code, "state": s.state, "accepted_number": s.accepted_number,
                    "current": _version_out(s.dataset, s.terms) if s.terms else None}), 201
