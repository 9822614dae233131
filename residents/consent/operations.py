"""Operations of personal data by consent: assurance levels, services, consent texts, consent records.

Each takes the session and the acting person, asks :mod:`core.authz`, flushes and audits; the
request commits once. Permissions:

* ``consent.manage`` (the operator): the assurance levels; approving, suspending, resuming and
  ending a service (:mod:`residents.consent.lifecycle`).
* ``consent.service.manage`` on the service's owner (a tenant's or organisation's admin, the
  operator): registering a service and new versions of its consent text.
* ``consent.service.read`` on the owner: the service, its texts and its own linkages.
* ``consent.record`` on the person's tenant (a clerk of that tenant, or the resident app's API
  client holding ``consent:write``): recording a consent and its withdrawal.

A consent is always to the service's *current* text (the person sends the hash of the text they
were shown); a new version needs new consent (the check refuses consents to older ones).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, chain
from core.actor import Actor
from core.db import lock_key, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from governance.agreements import normalise_text, text_hash
from residents.consent import lifecycle, terms
from residents.consent.models import (CONSENT_HASHED_FIELDS, AssuranceLevel, ConsentDataItem, ConsentEvent,
                                       ConsentMethod, ConsentPurpose, ConsentRecord, ConsentText, DataService,
                                       ServiceStatus)
from residents.consent.state import consent_state
from residents.consent.schemas import ConsentIn, ServiceCreate, TextDraft, WithdrawalIn, as_aware, validated
from residents.consent.subject_ids import check_user_id
from catalogue import catalogue as dataset_catalogue, operations as dataset_register
from catalogue.models import Dataset
from tenancy.identity.models import ApiClient

DEFAULT_LEVELS = (
    (1, "レベル1：自己申告", "Level 1: self-declared"),
    (2, "レベル2：メールアドレス・電話番号の確認済み", "Level 2: verified e-mail or phone"),
    (3, "レベル3：マイナンバーカードの公的個人認証", "Level 3: My Number Card public-key authentication"),
)


# --- assurance levels -----------------------------------------------------------------------------

def list_levels(session: Session) -> list[AssuranceLevel]:
    return list(session.scalars(sa.select(AssuranceLevel).order_by(AssuranceLevel.level)))


def set_level(session: Session, actor: Actor, level: int, label_ja: str, label_en: str = "") -> AssuranceLevel:
    """Add or rename an assurance level (the operator keeps the list)."""
    authz.authorize(actor, "consent.manage")
    label_ja, label_en = label_ja.strip(), label_en.strip()
    if not 1 <= level <= 99 or not label_ja:
        raise Invalid("A level is a number 1–99 with a Japanese name.", "レベルは 1〜99 の番号と日本語の名称で指定してください。",
                      problems=[problem("label_ja", "Give the level a name.", "名称を入力してください。")] if not label_ja else [])
    row = session.get(AssuranceLevel, level)
    before = {"label_ja": row.label_ja, "label_en": row.label_en} if row else None
    if row is None:
        row = AssuranceLevel(level=level, label_ja=label_ja, label_en=label_en)
        session.add(row)
    else:
        row.label_ja, row.label_en = label_ja, label_en
    session.flush()
    audit.record(session, actor, "consent.level.set", "assurance_level", str(level), before=before,
                 after={"level": level, "label_ja": label_ja, "label_en": label_en})
    return row


def ensure_default_levels(session: Session, actor: Actor) -> None:
    """The three usual levels, where the operator has none yet (the demo and a fresh platform)."""
    if not list_levels(session):
        for level, ja, en in DEFAULT_LEVELS:
            set_level(session, actor, level, ja, en)


# --- services and their texts -------------------------------------------------------------------

def get_service(session: Session, service_id: int) -> DataService:
    service = session.get(DataService, service_id)
    if service is None:
        raise NotFound(f"No service {service_id}.", f"番号 {service_id} のデータ利用サービスはありません。")
    return service


def read_service(session: Session, actor: Actor, service_id: int) -> DataService:
    """A service, for the operator, the auditor and its owner's admins (another owner's is not found)."""
    authz.authorize(actor, "consent.service.read")
    service = get_service(session, service_id)
    if not authz.allowed(actor, "consent.service.read", service.owner_code):
        raise NotFound(f"No service {service_id}.", f"番号 {service_id} のデータ利用サービスはありません。")
    return service


def list_services(session: Session, actor: Actor, *, status: ServiceStatus | None = None) -> list[DataService]:
    grant = authz.authorize(actor, "consent.service.read")
    query = sa.select(DataService).order_by(DataService.id)
    if not grant.all_tenants:
        query = query.where(DataService.owner_code.in_(sorted(grant.tenant_codes)))
    if status is not None:
        query = query.where(DataService.status == status)
    return list(session.scalars(query))


def services_in_use(session: Session, end: dt.datetime) -> int:
    """The data services registered before ``end`` and approved (in use) now: the consent services page's
    "approved" list of the operator (for the running year), and the results report's (service.kpis) services."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(DataService).where(
        DataService.status == ServiceStatus.approved, DataService.created_at < end)) or 0)


def approved_services(session: Session, actor: Actor, *, approved_only: bool = True) -> list[DataService]:
    """The services whose consents ``actor`` may record (:func:`recordable_service`'s rule), those that
    may collect consent now unless not ``approved_only`` (a withdrawal: any status): the clerk's forms."""
    grant = authz.authorize(actor, "consent.record")
    query = sa.select(DataService).order_by(DataService.name)
    if approved_only:
        query = query.where(DataService.status == ServiceStatus.approved)
    if not grant.all_tenants:
        query = query.where(DataService.owner_code.in_(sorted(grant.tenant_codes)))
    return list(session.scalars(query))


def recordable_service(session: Session, service_id: int, tenant_code: str) -> DataService:
    """The service a consent of a person of ``tenant_code`` is recorded for: one the tenant owns. Another
    owner's service is not found, as it is to the tenant's admins (:func:`read_service`): a city's clerk
    or consent application cannot record consents to a service it cannot see."""
    service = session.get(DataService, service_id)
    if service is None or service.owner_code != tenant_code:
        raise NotFound(f"No service {service_id}.", f"番号 {service_id} のデータ利用サービスはありません。")
    return service


def texts_of(session: Session, service_id: int) -> list[ConsentText]:
    return list(session.scalars(sa.select(ConsentText).where(ConsentText.service_id == service_id)
                                .order_by(ConsentText.number.desc())))


def current_text(session: Session, service: DataService) -> ConsentText | None:
    return session.get(ConsentText, service.current_text_id) if service.current_text_id else None


def purposes_of(session: Session, text_id: int, *, required: bool | None = None) -> list[str]:
    """A text's purposes in order: all of them, or the required (``required=True``) or optional ones only."""
    query = sa.select(ConsentPurpose.statement).where(ConsentPurpose.text_id == text_id)
    if required is not None:
        query = query.where(ConsentPurpose.required == required)
    return list(session.scalars(query.order_by(ConsentPurpose.position)))


def _consented_purposes(session: Session, text: ConsentText, chosen: list[str]) -> list[str]:
    """The purposes a consent covers: the text's required ones and those of its optional ones the
    person chose, in the text's order; a choice that is not an optional purpose of the text is refused."""
    optional = purposes_of(session, text.id, required=False)
    unknown = [statement for statement in chosen if statement not in optional]
    if unknown:
        raise Invalid("A chosen purpose is not an optional purpose of the text.", "選んだ利用目的が同意文の任意の利用目的にありません。",
                      problems=[problem(f"optional_purposes[{chosen.index(statement)}]",
                                        f"“{statement}” is not an optional purpose of this text.",
                                        f"「{statement}」はこの同意文の任意の利用目的ではありません。") for statement in unknown])
    return [statement for statement in purposes_of(session, text.id)
            if statement not in optional or statement in chosen]


def items_of(session: Session, text_id: int) -> list[ConsentDataItem]:
    return list(session.scalars(sa.select(ConsentDataItem).where(ConsentDataItem.text_id == text_id)
                                .order_by(ConsentDataItem.position)))


@dataclasses.dataclass(frozen=True)
class ItemSource:
    """A data item of a consent text with the dataset of the register it comes from (None: a free item)."""

    item: ConsentDataItem
    dataset: Dataset | None


def item_sources(session: Session, text_id: int) -> list[ItemSource]:
    """A text's data items in order, each with its dataset (one query)."""
    rows = session.execute(sa.select(ConsentDataItem, Dataset).outerjoin(Dataset, Dataset.id == ConsentDataItem.dataset_id)
                           .where(ConsentDataItem.text_id == text_id).order_by(ConsentDataItem.position)).all()
    return [ItemSource(item, dataset) for item, dataset in rows]


def dataset_summary(session: Session, datasets: list[Dataset | None]) -> dict[int, dict[str, Any]]:
    """The datasets named by data items as their pages, the API and the receipt show them: catalogue
    name, uid, titles and the provider by name, by the dataset's row id."""
    present = [d for d in datasets if d is not None]
    names = dataset_catalogue.providers(session, [d.provider_code for d in present])
    found = {}
    for d in present:
        provider = names.get(d.provider_code)
        found[d.id] = {"uid": d.uid, "name": d.name, "title_ja": d.title_ja, "title_en": d.title_en or d.title_ja,
                       "provider_code": d.provider_code,
                       "provider_name_ja": provider.name_ja if provider else d.provider_code,
                       "provider_name_en": provider.name_en if provider else d.provider_code}
    return found


def consent_text_hash(service: DataService, number: int, draft: TextDraft,
                      sources: dict[str, Dataset | None] | None = None) -> str:
    """The hash of a consent text: bound to its service, version, controller, purposes and items, and
    to the dataset each item comes from where any does (the rule of versioned texts, :func:`core.texts.text_hash`)."""
    content = {"service": service.id, "number": number, "controller": service.controller,
               "title": draft.title, "body_ja": normalise_text(draft.body_ja),
               "body_en": normalise_text(draft.body_en) if draft.body_en.strip() else "",
               "purposes": list(draft.purposes), "items": list(draft.items),
               # what TS 27560 records of the processing (residents.consent.terms), with the service's retention
               "terms": {"legal_basis": draft.legal_basis, "special_care": draft.special_care,
                         "processing": list(draft.processing), "jurisdiction": draft.jurisdiction,
                         "retention_days": service.retention_days}}
    if draft.optional_purposes:
        content["optional_purposes"] = list(draft.optional_purposes)
    named = {name: dataset.uid for name, dataset in (sources or {}).items() if dataset is not None}
    if named:
        content["sources"] = named
    return text_hash(content)


def item_sources_of(session: Session, owner_code: str, draft: TextDraft, field_prefix: str = "") -> dict[str, Dataset | None]:
    """The dataset each data item of ``draft`` names (None: a free item), refused all at once if an item
    names a dataset the register does not hold or one the service's owner may not name
    (:func:`catalogue.operations.nameable_by`: its own, and others' published ones it may see);
    each problem names the item (``items[<position>].dataset_ref``)."""
    found: dict[str, Dataset | None] = {}
    problems = []
    for position, (name, item) in enumerate(draft.items.items()):
        ref = (item.dataset_ref or "").strip()
        dataset = dataset_register.nameable_dataset(session, owner_code, ref) if ref else None
        if ref and dataset is None:
            problems.append(problem(
                f"{field_prefix}items[{position}].dataset_ref",
                f"Data item “{name}”: “{ref}” is not a dataset of the register this service may name "
                "(its owner's own, or a published one its owner may see).",
                f"データ項目「{name}」の出所「{ref}」は、データセット台帳にないか、このサービスの登録団体が利用できない"
                "データセットです（自団体のもの、または公開中で利用が認められたものを選んでください）。"))
        found[name] = dataset
    if problems:
        raise Invalid("A data item names a dataset the service may not name; nothing was saved.",
                      "データ項目の出所のデータセットに誤りがあります。保存していません。", problems=problems)
    return found


ITEM_TWICE = problem("items", "A data item is listed twice.", "同じデータ項目が二度書かれています。")


def items_named(names: list[str]) -> dict[str, dict]:
    """A consent text's data items from a list of their names (a form's lines, in order), for
    :attr:`TextDraft.items`, where each name is a key: a name listed twice is refused here."""
    if len(set(names)) != len(names):
        raise Invalid("The consent text has duplicates.", "同意文の内容に重複があります。", problems=[ITEM_TWICE])
    return {name: {} for name in names}


def _check_draft(draft: TextDraft) -> None:
    """Each purpose once, required or optional, and each operation once (the schema states it:
    ``uniqueItems``; each item is once by its shape)."""
    every = [*draft.purposes, *draft.optional_purposes]
    if len(set(every)) != len(every):
        field = "purposes" if len(set(draft.purposes)) != len(draft.purposes) else "optional_purposes"
        raise Invalid("The consent text has duplicates.", "同意文の内容に重複があります。", problems=[
            problem(field, "A purpose is listed twice.", "同じ利用目的が二度書かれています。")])
    if len(set(draft.processing)) != len(draft.processing):
        raise Invalid("The consent text has duplicates.", "同意文の内容に重複があります。", problems=[
            problem("processing", "An operation is listed twice.", "同じ取扱いの種類が二度書かれています。")])


def _add_text(session: Session, actor: Actor, service: DataService, draft: TextDraft,
              sources: dict[str, Dataset | None]) -> ConsentText:
    number = (session.scalar(sa.select(sa.func.max(ConsentText.number)).where(ConsentText.service_id == service.id)) or 0) + 1
    text = ConsentText(service_id=service.id, number=number, title=draft.title, body_ja=normalise_text(draft.body_ja),
                       body_en=normalise_text(draft.body_en) if draft.body_en.strip() else "",
                       content_hash=consent_text_hash(service, number, draft, sources), created_by=actor.recorded_name,
                       legal_basis=draft.legal_basis, special_care=draft.special_care,
                       processing=json.dumps(list(draft.processing)), jurisdiction=draft.jurisdiction,
                       retention_days=service.retention_days)
    session.add(text)
    session.flush()
    purposes = [(statement, True) for statement in draft.purposes] + [(s, False) for s in draft.optional_purposes]
    for position, (statement, required) in enumerate(purposes, 1):
        session.add(ConsentPurpose(text_id=text.id, position=position, statement=statement, required=required))
    for position, name in enumerate(draft.items, 1):
        dataset = sources.get(name)
        session.add(ConsentDataItem(text_id=text.id, position=position, name=name,
                                    dataset_id=dataset.id if dataset is not None else None))
    service.current_text_id = text.id
    session.flush()
    return text


def _sources_record(sources: dict[str, Dataset | None]) -> dict[str, Any]:
    """What the audit record keeps of the items' datasets: 「生年月日: 住民基本台帳（kumamoto-city-jumin）」."""
    named = {name: f"{d.title_ja}（{d.name}）" for name, d in sources.items() if d is not None}
    return {"item_datasets": named} if named else {}


def _check_client(session: Session, owner_code: str, client_id: int | None) -> None:
    if client_id is None:
        return
    client = session.get(ApiClient, client_id)
    if client is None or client.tenant_code != owner_code:
        raise Invalid("The API client is not one of the service owner's.", "API クライアントはサービスの登録団体のものを選んでください。",
                      problems=[problem("api_client_id", "Choose one of the owner's API clients.",
                                        "登録団体の API クライアントを選んでください。")])


def register_service(session: Session, actor: Actor, data: ServiceCreate | dict) -> DataService:
    """Register a service (awaiting the operator's approval) with version 1 of its consent text."""
    data = validated(ServiceCreate, data)
    authz.authorize(actor, "consent.service.manage", data.owner_code)
    if session.get(AssuranceLevel, data.required_level) is None:
        raise Invalid("Unknown assurance level.", "その個人認証レベルは登録されていません。",
                      problems=[problem("required_level", "Choose one of the levels.", "一覧から個人認証レベルを選んでください。")])
    _check_client(session, data.owner_code, data.api_client_id)
    _check_draft(data.text)
    sources = item_sources_of(session, data.owner_code, data.text, "text.")
    service = DataService(owner_code=data.owner_code, name=data.name, provider=data.provider, controller=data.controller,
                          controller_contact=data.controller_contact, responsibility=data.responsibility,
                          retention_days=data.retention_days, required_level=data.required_level,
                          api_client_id=data.api_client_id, created_by=actor.recorded_name, user_id_pattern=data.user_id_pattern,
                          user_id_min_length=data.user_id_min_length, user_id_max_length=data.user_id_max_length)
    session.add(service)
    session.flush()
    text = _add_text(session, actor, service, data.text, sources)
    audit.record(session, actor, "consent.service.register", "data_service", str(service.id), tenant_code=service.owner_code,
                 after={**service_summary(service), "version": text.number, "content_hash": text.content_hash,
                        **_sources_record(sources)})
    return service


def revise_text(session: Session, actor: Actor, service_id: int, draft: TextDraft | dict) -> ConsentText:
    """A new version of the consent text (a change of purpose or items): consents to older versions
    no longer allow linkage; each person has to consent again."""
    authz.authorize(actor, "consent.service.manage")  # a role that never may: 403, before the id or the text is read
    lock_key(session, "consent.service", service_id)  # two revisions at once: one after the other, two numbers
    service = read_service(session, actor, service_id)  # another owner's: not found, as when reading it (issue 36)
    authz.authorize(actor, "consent.service.manage", service.owner_code)
    draft = validated(TextDraft, draft)
    if service.status == ServiceStatus.ended:
        raise Conflict("The service has ended.", "このサービスは終了しています。")
    before = service.current_text_id
    _check_draft(draft)
    sources = item_sources_of(session, service.owner_code, draft)
    text = _add_text(session, actor, service, draft, sources)
    audit.record(session, actor, "consent.text.revise", "data_service", str(service.id), tenant_code=service.owner_code,
                 before={"text_id": before}, after={"version": text.number, "content_hash": text.content_hash,
                                                     "purposes": list(draft.purposes), "items": list(draft.items),
                                                     **_sources_record(sources)})
    return text


def move_service(session: Session, actor: Actor, service_id: int, name: str, reason: str = "") -> DataService:
    """Approve, suspend, resume or end a service (the operator)."""
    authz.authorize(actor, "consent.manage")
    lock_key(session, "consent.service", service_id)  # two moves at once: the second sees the first's status
    service = session.scalars(sa.select(DataService).where(DataService.id == service_id).with_for_update()
                              .execution_options(populate_existing=True)).one_or_none()
    if service is None:
        raise NotFound(f"No service {service_id}.", f"番号 {service_id} のデータ利用サービスはありません。")
    transition = lifecycle.check(service, name, reason)
    before = ServiceStatus(service.status).value
    service.status, service.status_reason = transition.target, reason.strip()
    session.flush()
    audit.record(session, actor, f"consent.service.{name}", "data_service", str(service.id), tenant_code=service.owner_code,
                 before={"status": before}, after={"status": transition.target.value, "reason": reason.strip()})
    return service


def service_summary(service: DataService) -> dict[str, Any]:
    return {"id": service.id, "owner_code": service.owner_code, "name": service.name, "provider": service.provider,
            "controller": service.controller, "controller_contact": service.controller_contact,
            "responsibility": service.responsibility, "retention_days": service.retention_days,
            "required_level": service.required_level, "api_client_id": service.api_client_id,
            "status": ServiceStatus(service.status).value, "user_id_pattern": service.user_id_pattern,
            "user_id_min_length": service.user_id_min_length, "user_id_max_length": service.user_id_max_length}


# --- consent records ------------------------------------------------------------------------------

def _append_record(session: Session, values: dict[str, Any]) -> ConsentRecord:
    stored = chain.append(session, ConsentRecord.__table__, CONSENT_HASHED_FIELDS, values)
    return session.get(ConsentRecord, stored["id"])


def latest_event(session: Session, service_id: int, tenant_code: str, subject_id: str) -> ConsentRecord | None:
    return session.scalars(sa.select(ConsentRecord).where(
        ConsentRecord.service_id == service_id, ConsentRecord.tenant_code == tenant_code,
        ConsentRecord.subject_id == subject_id).order_by(ConsentRecord.seq.desc()).limit(1)).first()


def _actor_values(actor: Actor) -> dict[str, Any]:
    client = actor.client_id if hasattr(actor, "client_id") else None
    return {"recorded_by_issuer": actor.issuer, "recorded_by_subject": actor.subject,
            "recorded_by_name": actor.name, "api_client_id": client, "request_id": actor.request_id}


def give_consent(session: Session, actor: Actor, data: ConsentIn | dict) -> ConsentRecord:
    """Record a person's consent to the service's current text (append-only; a receipt is its record)."""
    data = validated(ConsentIn, data)
    authz.authorize(actor, "consent.record", data.tenant_code)
    service = recordable_service(session, data.service_id, data.tenant_code)
    if service.status != ServiceStatus.approved:
        raise Conflict("The service is not approved to collect consent.", "このサービスは承認されていないため、同意を記録できません。")
    check_user_id(service, data.subject_id, "subject_id")
    text = current_text(session, service)
    if text is None or text.content_hash != data.content_hash:
        raise Conflict("The consent text shown is not the service's current one: show the current text and ask again.",
                       "提示した同意文が現行の版ではありません。現行の同意文を示して、改めて同意を得てください。",
                       problems=[problem("content_hash", "Not the current text.", "現行の同意文ではありません。")])
    if session.get(AssuranceLevel, data.assurance_level) is None:
        raise Invalid("Unknown assurance level.", "その個人認証レベルは登録されていません。",
                      problems=[problem("assurance_level", "Choose one of the levels.", "一覧から個人認証レベルを選んでください。")])
    expires_at = as_aware(data.expires_at)
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid("The expiry is in the past.", "有効期限が過去の日時です。",
                      problems=[problem("expires_at", "Give a future time.", "未来の日時を入力してください。")])
    values = {"receipt_id": str(uuid.uuid4()), "event": ConsentEvent.given.value, "refers_to": None,
              "occurred_at": utcnow(), "tenant_code": data.tenant_code, "subject_id": data.subject_id,
              "service_id": service.id, "controller": service.controller, "text_id": text.id, "text_number": text.number,
              "text_hash": text.content_hash,
              "purposes": json.dumps(_consented_purposes(session, text, list(data.optional_purposes)), ensure_ascii=False),
              "items": json.dumps([i.name for i in items_of(session, text.id)], ensure_ascii=False),
              "method": ConsentMethod(data.method).value, "assurance_level": data.assurance_level,
              "expires_at": expires_at, **_actor_values(actor)}
    record = _append_record(session, values)
    audit.record(session, actor, "consent.give", "consent_record", record.receipt_id, tenant_code=data.tenant_code,
                 after={"service_id": service.id, "subject_id": data.subject_id, "version": text.number,
                        "method": data.method, "assurance_level": data.assurance_level,
                        "optional_purposes": list(data.optional_purposes)})
    return record


def withdraw_consent(session: Session, actor: Actor, data: WithdrawalIn | dict) -> ConsentRecord:
    """Record a withdrawal: a new entry ending the person's consent, effective for the next check."""
    data = validated(WithdrawalIn, data)
    authz.authorize(actor, "consent.record", data.tenant_code)
    service = recordable_service(session, data.service_id, data.tenant_code)
    latest = latest_event(session, service.id, data.tenant_code, data.subject_id)
    if latest is None or consent_state(latest.event, latest.expires_at, utcnow()) != ConsentEvent.given:
        raise Conflict("This person has no consent in force for the service (none given, withdrawn or expired).",
                       "この方のこのサービスへの有効な同意はありません（未同意・撤回済み・期限切れ）。")
    values = {column: getattr(latest, column) for column in
              ("tenant_code", "subject_id", "service_id", "controller", "text_id", "text_number", "text_hash",
               "purposes", "items", "assurance_level", "expires_at")}
    values.update({"receipt_id": str(uuid.uuid4()), "event": ConsentEvent.withdrawn.value, "refers_to": latest.id,
                   "occurred_at": utcnow(), "method": ConsentMethod(data.method).value, **_actor_values(actor)})
    record = _append_record(session, values)
    audit.record(session, actor, "consent.withdraw", "consent_record", record.receipt_id, tenant_code=data.tenant_code,
                 before={"receipt_id": latest.receipt_id}, after={"service_id": service.id, "subject_id": data.subject_id,
                                                                  "method": data.method})
    return record


def get_record(session: Session, actor: Actor, receipt_id: str) -> ConsentRecord:
    """A consent record, for those who may record or read the person's tenant (another tenant's is not found)."""
    record = session.scalars(sa.select(ConsentRecord).where(ConsentRecord.receipt_id == receipt_id)).one_or_none()
    if record is None or not (authz.allowed(actor, "consent.record", record.tenant_code)
                              or authz.allowed(actor, "consent.history", record.tenant_code)):
        raise NotFound("No such consent record.", "その同意記録はありません。")
    return record


def ending_events(session: Session, records: list[ConsentRecord]) -> dict[int, ConsentRecord]:
    """For each 'given' record of ``records``, the first later record that ended it (a withdrawal or an
    expiry), by the given record's id: what :func:`residents.consent.state.consent_state` reads."""
    given = [r.id for r in records if ConsentEvent(r.event) == ConsentEvent.given]
    found: dict[int, ConsentRecord] = {}
    if given:
        for row in session.scalars(sa.select(ConsentRecord).where(ConsentRecord.refers_to.in_(given))
                                   .order_by(ConsentRecord.seq)):
            found.setdefault(row.refers_to, row)
    return found


def state_of(record: ConsentRecord, ended: ConsentRecord | None, now=None) -> ConsentEvent:
    """The state now of the consent ``record`` belongs to (a record that ends a consent is its own state)."""
    return consent_state(record.event, record.expires_at, now or utcnow(), ended.event if ended is not None else None)


def _purpose_necessity(session: Session, record: ConsentRecord) -> list[dict[str, Any]]:
    """Each purpose of the text consented to: required or optional (``dpv:hasNecessity``) and whether this
    consent covers it (a consent per purpose, where the text marks purposes optional)."""
    covered = set(json.loads(record.purposes))
    rows = session.execute(sa.select(ConsentPurpose.statement, ConsentPurpose.required)
                           .where(ConsentPurpose.text_id == record.text_id).order_by(ConsentPurpose.position)).all()
    if not rows:  # the text is gone: what the record says
        return [{"purpose": p, "necessity": "required", "consented": True} for p in json.loads(record.purposes)]
    return [{"purpose": statement, "necessity": "required" if required else "optional", "consented": statement in covered}
            for statement, required in rows]


def receipt(session: Session, record: ConsentRecord, *, ended: ConsentRecord | None = None,
            looked_up: bool = False, seals: Any = None) -> dict[str, Any]:
    """The consent receipt (ISO/IEC TS 27560 field names; the Kantara receipt before it) the person keeps,
    with the consent's state now (:func:`state_of`: 期限切れ past the expiry even before the expiry is
    written), the TS 27560 fields of the processing (:func:`residents.consent.terms.record_terms`) and
    the record's hash in its chain (``renkei consent verify --record HASH`` checks it), and its proof:
    the fields the hash covers, the previous record's hash and the chain's newest signed checkpoint in
    ``seals`` (:func:`residents.consent.linkage.record_proof`; ``renkei verify-receipt`` checks it
    without a database)."""
    from residents.consent.linkage import record_proof

    service = session.get(DataService, record.service_id)
    text = session.get(ConsentText, record.text_id)
    if not looked_up:
        ended = ending_events(session, [record]).get(record.id)
    return {
        "schema": "renkei-consent-receipt/2 (ISO/IEC TS 27560)",
        "record_id": record.receipt_id,
        "event": ConsentEvent(record.event).value,
        "refers_to": _receipt_of(session, record.refers_to),
        "timestamp": chain.timestamp_text(record.occurred_at),
        "data_subject": {"identifier": record.subject_id, "identifier_issuer": record.tenant_code},
        "controller": {"name": record.controller, "contact": service.controller_contact if service else ""},
        "service": {"id": record.service_id, "name": service.name if service else "",
                    "provider": service.provider if service else ""},
        "notice": {"version": record.text_number, "title": text.title if text else "", "hash": record.text_hash},
        "purposes": json.loads(record.purposes),
        "purpose_necessity": _purpose_necessity(session, record),
        "personal_data_categories": json.loads(record.items),
        "personal_data_sources": _receipt_sources(session, record),
        **terms.record_terms(text, service),
        "method": ConsentMethod(record.method).value,
        "identity_assurance_level": record.assurance_level,
        "expiry": chain.timestamp_text(record.expires_at) if record.expires_at else None,
        "recorded_by": record.recorded_by_name or record.recorded_by_subject,
        "state": state_of(record, ended).value,
        "record_seq": record.seq,
        "record_hash": record.hash,
        "proof": record_proof(record, seals),
    }


def expire_consents(session: Session, actor: Actor, *, now=None) -> list[ConsentRecord]:
    """Write the expiry of every consent past its expiry that nothing has ended yet: an 'expired' record
    chained after it (``refers_to`` the given record), as the withdrawal is; audited
    (``consent.expire``, one record per run). The state was already 期限切れ before (the readers ask
    :func:`state_of`); this makes the chain say so. Run by the ``consent-expiry`` job and
    ``renkei consent expire``; running it again writes nothing new."""
    authz.authorize(actor, "consent.manage")
    now = now or utcnow()
    ended = sa.select(ConsentRecord.refers_to).where(ConsentRecord.refers_to.is_not(None))
    newer = ConsentRecord.__table__.alias("newer")
    superseded = sa.exists().where(newer.c.service_id == ConsentRecord.service_id,
                                   newer.c.tenant_code == ConsentRecord.tenant_code,
                                   newer.c.subject_id == ConsentRecord.subject_id, newer.c.seq > ConsentRecord.seq)
    due = list(session.scalars(sa.select(ConsentRecord).where(
        ConsentRecord.event == ConsentEvent.given, ConsentRecord.expires_at.is_not(None),
        ConsentRecord.expires_at <= now, ConsentRecord.id.not_in(ended), ~superseded).order_by(ConsentRecord.seq)))
    written = []
    for given in due:
        values = {column: getattr(given, column) for column in
                  ("tenant_code", "subject_id", "service_id", "controller", "text_id", "text_number", "text_hash",
                   "purposes", "items", "method", "assurance_level", "expires_at")}
        values.update({"receipt_id": str(uuid.uuid4()), "event": ConsentEvent.expired.value, "refers_to": given.id,
                       "occurred_at": utcnow(), "method": ConsentMethod(given.method).value, **_actor_values(actor)})
        written.append(_append_record(session, values))
    if written:
        audit.record(session, actor, "consent.expire", "consent_record", f"{written[0].seq}-{written[-1].seq}",
                     after={"count": len(written), "receipts": [r.receipt_id for r in written][:100],
                            "expired": [g.receipt_id for g in due][:100]})
    return written


def _receipt_sources(session: Session, record: ConsentRecord) -> list[dict[str, Any]]:
    """Where each data item of the consent comes from: the dataset of the register (catalogue name,
    title, provider) or None, in the order of the text the person consented to."""
    consented = json.loads(record.items)
    found = {s.item.name: s for s in item_sources(session, record.text_id)}
    summaries = dataset_summary(session, [s.dataset for s in found.values()])
    return [{"category": name, "dataset": summaries.get(found[name].dataset.id) if name in found and found[name].dataset
             else None} for name in consented]


def _receipt_of(session: Session, record_id: int | None) -> str | None:
    if record_id is None:
        return None
    return session.scalar(sa.select(ConsentRecord.receipt_id).where(ConsentRecord.id == record_id))
