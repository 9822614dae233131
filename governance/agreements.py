"""Agreements (協定・規約): versioned documents that every tenant must have accepted.

Rules:

* A version is created as a draft with its text, title and effective date; its
  ``content_hash`` (see :func:`content_hash`) fixes that text. Publishing makes it the current
  version of its document; versions are published in number order.
* A *required* version must be accepted before a tenant can be activated (the onboarding
  guard :func:`require_accepted`), and publishing one opens a re-acceptance window: active
  tenants that have not accepted it get a deadline (``deadline_on``, a JST date) and a
  notification. A tenant past its deadline is flagged on the board; suspending it stays the
  operator's decision.
* A tenant complies with a document when it accepted a version at least as new as the latest
  published required one. Only the current version can be accepted, by a municipal admin of
  the tenant, who sends the content hash of the text they read.
* The prefecture (kind ``prefecture``) offers the agreements; it has no acceptance to give and
  is not on the board.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from governance.errors import (AgreementsNotAccepted, AlreadyAccepted, AlreadyPublished, VersionNotAcceptable,
                               VersionNotFound)
from governance.models import AgreementAcceptance, AgreementDocument, AgreementVersion, CouncilResolution, VersionStatus
from governance.schemas import DEFAULT_REACCEPTANCE_DAYS, VersionDraft
from core import authz, outbox
from core.texts import normalise_text, refusal, text_hash  # the rules of versioned texts (consent imports them here too)
from core.actor import Actor
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import labels
from core.lifecycle import Lifecycle, Move, WhyNot
from core.calendar import day_text, today_jst
from core.db import lock_key, utcnow
from tenancy.registry.models import Tenant, TenantKind, TenantStatus
from tenancy.registry.operations import get_tenant


def today(now: dt.datetime | None = None) -> dt.date:
    return today_jst(now or utcnow())


def label(document: AgreementDocument, lang: str = "ja") -> str:
    ja, en = AgreementDocument(document).label
    return ja if lang == "ja" else en


def content_hash(document: AgreementDocument, number: int, title: str, effective_on: dt.date, body_md: str) -> str:
    """SHA-256 (hex) of the canonical JSON ``{"body_md", "document", "effective_on", "number", "title"}``
    (keys sorted, no spaces, UTF-8): the text a tenant accepts, bound to its document and version."""
    return text_hash({"document": AgreementDocument(document).value, "number": number, "title": title,
                      "effective_on": effective_on.isoformat(), "body_md": body_md})


def version_summary(version: AgreementVersion) -> dict:
    return {"document": AgreementDocument(version.document).value, "number": version.number, "title": version.title,
            "effective_on": version.effective_on.isoformat(), "required": version.required,
            "content_hash": version.content_hash, "status": VersionStatus(version.status).value,
            "deadline_on": version.deadline_on.isoformat() if version.deadline_on else None,
            "reacceptance_days": version.reacceptance_days, "resolution_id": version.resolution_id}


# --- queries --------------------------------------------------------------------------------------
# The public reads (read_*, current_version, required_version, acceptances, tenant_agreements,
# board) take the actor and ask ``governance.read`` themselves; the helpers with a leading
# underscore, and the onboarding guard, serve the use cases after they have authorised.

def _list_versions(session: Session, document: AgreementDocument | None = None,
                   status: VersionStatus | None = None) -> list[AgreementVersion]:
    query = sa.select(AgreementVersion)
    if document is not None:
        query = query.where(AgreementVersion.document == document)
    if status is not None:
        query = query.where(AgreementVersion.status == status)
    return list(session.scalars(query.order_by(AgreementVersion.document, AgreementVersion.number)))


def _get_version(session: Session, document: AgreementDocument, number: int) -> AgreementVersion:
    version = session.scalars(sa.select(AgreementVersion).where(
        AgreementVersion.document == document, AgreementVersion.number == number)).one_or_none()
    if version is None:
        raise VersionNotFound(AgreementDocument(document).value, number)
    return version


def sees_drafts(actor: Actor) -> bool:
    """Drafts are seen only by those who may publish them (``agreement.manage``); everyone else
    who reads governance sees published versions."""
    return authz.allowed(actor, "agreement.manage")


def read_versions(session: Session, actor: Actor, document: AgreementDocument | None = None) -> list[AgreementVersion]:
    """The versions of ``document`` the actor may see: drafts only for those who manage agreements."""
    authz.authorize(actor, "governance.read")
    return _list_versions(session, document, None if sees_drafts(actor) else VersionStatus.published)


def read_version(session: Session, actor: Actor, document: AgreementDocument, number: int) -> AgreementVersion:
    """One version; a draft is, to anyone who may not see drafts, a version that does not exist."""
    authz.authorize(actor, "governance.read")
    version = _get_version(session, document, number)
    if version.status != VersionStatus.published and not sees_drafts(actor):
        document = AgreementDocument(document)
        raise NotFound(f"There is no published version {number} of {document.value}.",
                       f"{label(document)} 第{number}版は公開されていません。", document=document.value, number=number)
    return version


def _current_version(session: Session, document: AgreementDocument) -> AgreementVersion | None:
    return session.scalars(sa.select(AgreementVersion).where(
        AgreementVersion.document == document, AgreementVersion.status == VersionStatus.published)
        .order_by(AgreementVersion.number.desc()).limit(1)).one_or_none()


def _required_version(session: Session, document: AgreementDocument) -> AgreementVersion | None:
    return session.scalars(sa.select(AgreementVersion).where(
        AgreementVersion.document == document, AgreementVersion.status == VersionStatus.published,
        AgreementVersion.required.is_(True)).order_by(AgreementVersion.number.desc()).limit(1)).one_or_none()


def current_version(session: Session, actor: Actor, document: AgreementDocument) -> AgreementVersion | None:
    """The latest published version of the document."""
    authz.authorize(actor, "governance.read")
    return _current_version(session, document)


def required_version(session: Session, actor: Actor, document: AgreementDocument) -> AgreementVersion | None:
    """The minimum version a tenant must have accepted: the latest published required one."""
    authz.authorize(actor, "governance.read")
    return _required_version(session, document)


def acceptances(session: Session, actor: Actor, tenant_code: str) -> list[AgreementAcceptance]:
    """Every acceptance the tenant has given, oldest first: to those who may read that tenant's governance."""
    authz.authorize(actor, "governance.read", tenant_code)
    return list(session.scalars(sa.select(AgreementAcceptance).where(AgreementAcceptance.tenant_code == tenant_code)
                                .order_by(AgreementAcceptance.accepted_at, AgreementAcceptance.id)))


@dataclasses.dataclass(frozen=True)
class DocumentStatus:
    """Where one tenant stands with one document.

    ``state``: ``ok`` (accepted the required version or newer), ``not_required`` (no required
    version published), ``pending`` (must accept; within the window or not yet active) or
    ``overdue`` (active and past the deadline).
    """

    document: AgreementDocument
    accepted_number: int | None
    accepted_at: dt.datetime | None
    required_number: int | None
    current_number: int | None
    deadline_on: dt.date | None
    state: str

    def as_dict(self) -> dict:
        return {"document": self.document.value, "accepted_number": self.accepted_number,
                "accepted_at": audit.timestamp_text(self.accepted_at) if self.accepted_at else None,
                "required_number": self.required_number, "current_number": self.current_number,
                "deadline_on": self.deadline_on.isoformat() if self.deadline_on else None, "state": self.state}


@dataclasses.dataclass(frozen=True)
class TenantAgreements:
    tenant_code: str
    tenant_name: str
    tenant_status: str
    documents: list[DocumentStatus]

    @property
    def overdue(self) -> bool:
        return any(d.state == "overdue" for d in self.documents)

    @property
    def in_reacceptance(self) -> bool:
        return any(d.state in ("pending", "overdue") and d.deadline_on is not None for d in self.documents)

    @property
    def earliest_deadline(self) -> dt.date | None:
        deadlines = [d.deadline_on for d in self.documents if d.state in ("pending", "overdue") and d.deadline_on]
        return min(deadlines) if deadlines else None

    def as_dict(self) -> dict:
        return {"tenant_code": self.tenant_code, "tenant_name": self.tenant_name, "tenant_status": self.tenant_status,
                "overdue": self.overdue, "in_reacceptance": self.in_reacceptance,
                "earliest_deadline": self.earliest_deadline.isoformat() if self.earliest_deadline else None,
                "documents": [d.as_dict() for d in self.documents]}


def _standing(session: Session, tenants: Sequence[Tenant], on: dt.date) -> list[TenantAgreements]:
    published = _list_versions(session, status=VersionStatus.published)
    current: dict[AgreementDocument, AgreementVersion] = {}
    required: dict[AgreementDocument, AgreementVersion] = {}
    for version in published:  # ordered by number: the last wins
        current[version.document] = version
        if version.required:
            required[version.document] = version
    codes = [t.code for t in tenants]
    accepted: dict[tuple[str, AgreementDocument], AgreementAcceptance] = {}
    if codes:
        for row in session.scalars(sa.select(AgreementAcceptance).where(AgreementAcceptance.tenant_code.in_(codes))
                                   .order_by(AgreementAcceptance.version_number)):
            accepted[(row.tenant_code, row.document)] = row  # the newest version accepted wins
    result = []
    for tenant in tenants:
        rows = []
        for document in AgreementDocument:
            need, have, now_version = required.get(document), accepted.get((tenant.code, document)), current.get(document)
            if need is None and have is None and now_version is None:
                continue
            deadline, state = None, "not_required"
            if need is not None:
                if have is not None and have.version_number >= need.number:
                    state = "ok"
                else:
                    active = TenantStatus(tenant.status) == TenantStatus.active
                    deadline = need.deadline_on if active else None
                    state = "overdue" if deadline is not None and on > deadline else "pending"
            elif have is not None:
                state = "ok"
            rows.append(DocumentStatus(document, have.version_number if have else None, have.accepted_at if have else None,
                                       need.number if need else None, now_version.number if now_version else None,
                                       deadline, state))
        result.append(TenantAgreements(tenant.code, tenant.name_ja, TenantStatus(tenant.status).value, rows))
    return result


def tenant_agreements(session: Session, actor: Actor, tenant_code: str,
                      now: dt.datetime | None = None) -> TenantAgreements:
    """Where one tenant stands with every document: to those who may read that tenant's governance."""
    authz.authorize(actor, "governance.read", tenant_code)
    return _standing(session, [get_tenant(session, tenant_code)], today(now))[0]


def board(session: Session, actor: Actor, now: dt.datetime | None = None) -> list[TenantAgreements]:
    """Every tenant bound by the agreements (not the prefecture, not withdrawn), by code; for someone
    who may read only their own tenants' governance, only those tenants."""
    grant = authz.authorize(actor, "governance.read")
    # the three columns _standing reads, not whole rows: every municipality of the country at national size
    query = sa.select(Tenant.code, Tenant.name_ja, Tenant.status).where(Tenant.kind != TenantKind.prefecture,
                                                                        Tenant.status != TenantStatus.withdrawn)
    if not grant.all_tenants:
        query = query.where(Tenant.code.in_(sorted(grant.tenant_codes)))
    return _standing(session, session.execute(query.order_by(Tenant.code)).all(), today(now))


def overdue(session: Session, actor: Actor, now: dt.datetime | None = None) -> list[TenantAgreements]:
    """The board's overdue rows (an active tenant past a required version's deadline), by code; the
    tenants are read only when some required version's deadline has passed (the usual case reads none)."""
    grant = authz.authorize(actor, "governance.read")
    on = today(now)
    required: dict[AgreementDocument, AgreementVersion] = {}
    for version in _list_versions(session, status=VersionStatus.published):  # by number: the last wins
        if version.required:
            required[version.document] = version
    if not any(v.deadline_on is not None and on > v.deadline_on for v in required.values()):
        return []
    query = (sa.select(Tenant).options(sa.orm.lazyload(Tenant.contacts))
             .where(Tenant.kind != TenantKind.prefecture, Tenant.status == TenantStatus.active))
    if not grant.all_tenants:
        query = query.where(Tenant.code.in_(sorted(grant.tenant_codes)))
    return [row for row in _standing(session, list(session.scalars(query.order_by(Tenant.code))), on) if row.overdue]


def missing_acceptances(session: Session, tenant: Tenant) -> list[AgreementVersion]:
    """The required versions the tenant has not accepted (nor a newer version of)."""
    if TenantKind(tenant.kind) == TenantKind.prefecture:
        return []
    required: dict[AgreementDocument, AgreementVersion] = {}  # as _required_version, every document in one query
    for version in session.scalars(sa.select(AgreementVersion).where(
            AgreementVersion.status == VersionStatus.published, AgreementVersion.required.is_(True))
            .order_by(AgreementVersion.number.desc())):
        required.setdefault(AgreementDocument(version.document), version)
    missing = []
    for document in AgreementDocument:
        need = required.get(document)
        if need is None:
            continue
        newest = session.scalar(sa.select(sa.func.max(AgreementAcceptance.version_number)).where(
            AgreementAcceptance.tenant_code == tenant.code, AgreementAcceptance.document == document))
        if newest is None or newest < need.number:
            missing.append(need)
    return missing


def require_accepted(session: Session, tenant: Tenant) -> None:
    """The onboarding guard: refuse activation until every required version is accepted."""
    missing = missing_acceptances(session, tenant)
    if missing:
        names_ja = "、".join(f"{label(v.document)} 第{v.number}版" for v in missing)
        names_en = ", ".join(f"{label(v.document, 'en')} version {v.number}" for v in missing)
        raise AgreementsNotAccepted(
            f"Tenant {tenant.code} cannot be activated before its municipal admin accepts: {names_en}.",
            f"団体コード {tenant.code} は、市町村管理者が次の協定・規約に同意するまで利用開始できません: {names_ja}",
            problems=[problem(f"agreements.{AgreementDocument(v.document).value}",
                              f"{label(v.document, 'en')} version {v.number} is not accepted by the tenant's municipal admin.",
                              f"{label(v.document)} 第{v.number}版に市町村管理者が同意していません。") for v in missing],
            tenant=tenant.code, missing=[{"document": AgreementDocument(v.document).value, "number": v.number} for v in missing],
        )


# --- use cases ------------------------------------------------------------------------------------

def draft_version(session: Session, actor: Actor, document: AgreementDocument, data: VersionDraft) -> AgreementVersion:
    """A new version (next number) of ``document``, as a draft (the document's numbering held until the
    transaction ends: two drafts at once take two numbers)."""
    authz.authorize(actor, "agreement.manage")
    document = AgreementDocument(document)
    lock_key(session, "governance.agreement-version", document.value)
    last = session.scalar(sa.select(sa.func.max(AgreementVersion.number)).where(AgreementVersion.document == document))
    number = (last or 0) + 1
    body = normalise_text(data.body_md)
    version = AgreementVersion(document=document, number=number, title=data.title, body_md=body,
                               effective_on=data.effective_on, required=data.required,
                               reacceptance_days=data.reacceptance_days,
                               content_hash=content_hash(document, number, data.title, data.effective_on, body),
                               created_by=actor.recorded_name)
    session.add(version)
    session.flush()
    audit.record(session, actor, "agreement.draft", "agreement_version", f"{document.value}/{number}",
                 after=version_summary(version))
    return version


# --- the lifecycle: draft ──publish──▶ published (final: a change is a new version) -------------------

def _not_behind(version: AgreementVersion, session: Session) -> WhyNot | None:
    """The guard of publishing: no later version of the document is published already."""
    document = AgreementDocument(version.document)
    current = _current_version(session, document)
    if current is None or current.number <= version.number:
        return None
    return WhyNot(
        f"Version {current.number} of {document.value} is already published; version {version.number} would go back in time.",
        f"{label(document)} は第{current.number}版が公開済みのため、第{version.number}版は公開できません。",
        details={"document": document.value, "number": version.number})


VERSIONS = Lifecycle("版", "agreement version", VersionStatus, labels(VersionStatus), (
    Move("publish", frozenset({VersionStatus.draft}), VersionStatus.published, "公開", "publish", _not_behind,
         grant="agreement.manage"),
), initial=(VersionStatus.draft,),
    refusal=lambda move, status, version: AlreadyPublished(AgreementDocument(version.document).value, version.number))
"""An agreement version's lifecycle: drafted, then published once (the council may decide it)."""


def check_publishable(session: Session, document: AgreementDocument, number: int) -> AgreementVersion:
    """The draft to publish, or the reason it cannot be (also the council's proposal check)."""
    version = _get_version(session, document, number)
    VERSIONS.move("publish", version.status, version, session)
    return version


def publish_version(session: Session, actor: Actor, document: AgreementDocument, number: int,
                    reacceptance_days: int = DEFAULT_REACCEPTANCE_DAYS, *,
                    resolution: CouncilResolution | None = None, now: dt.datetime | None = None) -> AgreementVersion:
    """Make a draft the current version; for a required one, open the re-acceptance window.

    Active tenants that have not accepted it get ``reacceptance_days`` days (to the end of the
    JST day) and a notification. ``resolution`` is the council resolution that decided it, if any.
    """
    if resolution is None:
        authz.authorize(actor, "agreement.manage")
    if not 1 <= reacceptance_days <= 365:
        raise Invalid("The re-acceptance window must be 1 to 365 days.", "再同意の期間は 1〜365 日で指定してください。",
                      problems=[problem("reacceptance_days", "1 to 365.", "1〜365 日で指定してください。")])
    document = AgreementDocument(document)
    version = check_publishable(session, document, number)
    now = now or utcnow()
    version.status = VERSIONS.moves["publish"].target
    version.published_at, version.published_by = now, actor.recorded_name
    version.resolution_id = resolution.id if resolution is not None else None
    if version.required:
        version.reacceptance_days = reacceptance_days
        version.deadline_on = today(now) + dt.timedelta(days=reacceptance_days)
    session.flush()
    notified = _notify_reacceptance(session, version) if version.required else []
    audit.record(session, actor, "agreement.publish", "agreement_version", f"{document.value}/{number}",
                 before={"status": "draft"},
                 after={**version_summary(version), "reacceptance_tenants": notified,
                        "resolution": resolution.ref if resolution is not None else None})
    return version


def _notify_reacceptance(session: Session, version: AgreementVersion) -> list[str]:
    tenants = session.scalars(sa.select(Tenant).where(Tenant.status == TenantStatus.active,
                                                      Tenant.kind != TenantKind.prefecture).order_by(Tenant.code))
    codes = []
    for tenant in tenants:
        if not any(v.id == version.id for v in missing_acceptances(session, tenant)):
            continue
        codes.append(tenant.code)
        outbox.queue(
            session, kind="agreement.reacceptance", tenant=tenant,
            subject=f"【要対応】{label(version.document)} 第{version.number}版への同意のお願い",
            body=(f"{tenant.name_ja} ご担当者様\n\n{label(version.document)}「{version.title}」第{version.number}版を公開しました"
                  f"（施行日 {day_text(version.effective_on)}）。\n{day_text(version.deadline_on)} までに、貴団体の市町村管理者が"
                  f"管理画面の「協定・規約」から内容を確認し、同意してください。\n"),
            dedupe_key=f"agreement:{AgreementDocument(version.document).value}:{version.number}:{tenant.code}",
        )
    return codes


def tenant_for(actor: Actor, tenant_code: str | None) -> str:
    """The tenant a person acts for: the one named, or their only tenant."""
    return authz.acting_for(actor, tenant_code, "tenant_code", "which tenant this is for", "対象の団体コード")


def accept_version(session: Session, actor: Actor, document: AgreementDocument, number: int, seen_hash: str,
                   tenant_code: str | None = None) -> AgreementAcceptance:
    """A municipal admin accepts the current version of a document for their tenant."""
    document = AgreementDocument(document)
    authz.authorize(actor, "agreement.accept", tenant_code)  # someone without the right is refused before being asked which tenant
    code = tenant_for(actor, tenant_code)
    authz.authorize(actor, "agreement.accept", code)
    tenant = get_tenant(session, code)
    if TenantStatus(tenant.status) == TenantStatus.withdrawn:
        raise Conflict(f"Tenant {code} has withdrawn; it cannot accept agreements.",
                       f"団体コード {code} は脱退済みのため、同意できません。", tenant=code)
    version = _get_version(session, document, number)
    if version.status != VersionStatus.published:
        raise VersionNotAcceptable(f"Version {number} of {document.value} is a draft; only published versions can be accepted.",
                                   f"{label(document)} 第{number}版は公開前のため、同意できません。", reason="draft")
    current = _current_version(session, document)
    why = refusal(number, current.number if current is not None else None, seen_hash, version.content_hash)
    if why == "superseded":
        raise VersionNotAcceptable(
            f"Version {number} of {document.value} has been replaced by version {current.number}; accept that one.",
            f"{label(document)} 第{number}版は第{current.number}版に改定されています。第{current.number}版に同意してください。",
            reason="superseded", current=current.number)
    if why == "hash_mismatch":
        raise VersionNotAcceptable(
            "The text you read is not this version's text (the content hash differs); reload it and read it again.",
            "確認された本文がこの版の本文と一致しません（ハッシュ値が異なります）。本文を再表示して確認してください。",
            reason="hash_mismatch", expected=version.content_hash)
    exists = session.scalar(sa.select(AgreementAcceptance.id).where(
        AgreementAcceptance.tenant_code == code, AgreementAcceptance.version_id == version.id))
    if exists is not None:
        raise AlreadyAccepted(code, document.value, number)
    acceptance = AgreementAcceptance(tenant_code=code, version_id=version.id, document=document, version_number=number,
                                     content_hash=version.content_hash, actor_issuer=actor.issuer,
                                     actor_subject=actor.subject, actor_name=actor.name)
    session.add(acceptance)
    session.flush()
    audit.record(session, actor, "agreement.accept", "agreement_version", f"{document.value}/{number}", tenant_code=code,
                 after={"tenant_code": code, "document": document.value, "number": number,
                        "content_hash": version.content_hash})
    return acceptance


def enact_publish(session: Session, actor: Actor, params: dict, resolution: CouncilResolution) -> str:
    """Council enactor for ``publish_agreement_version``: publish the draft, citing the resolution."""
    version = publish_version(session, actor, AgreementDocument(params["document"]), int(params["number"]),
                              int(params.get("reacceptance_days", DEFAULT_REACCEPTANCE_DAYS)), resolution=resolution)
    return f"agreement_version:{AgreementDocument(version.document).value}/{version.number}"


def check_publish_proposal(session: Session, params: dict) -> None:
    check_publishable(session, AgreementDocument(params["document"]), int(params["number"]))
