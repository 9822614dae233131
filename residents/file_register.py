"""The file register (個人情報ファイル簿, issue 56 item 5): per municipality, each file of personal information renkei
keeps for it, generated from the records (never typed), so that it cannot drift from what is held.

The files of a municipality:

* **住民共通ID台帳** (the residents' register of common IDs and links): every resident of the municipality whose
  items are held (``erased_at`` empty, whatever their status); items: the common ID, the 基本4情報, the providers'
  identifiers, the services' user IDs linked and the disclosure ranges; collected: the identity verifications the
  desk recorded at enrolment and the ways the links were made (each as the records hold them); recipients: the
  services the municipality's residents are linked to now; retention: while enrolled, then
  ``left_days`` after leaving (the due job ``resident-retention``); persons: the residents held.
* **one file per service** (each service's linkage): each service the municipality owns or any of its residents
  was ever linked to; purposes and items: its current consent text's (by position); collected: by the resident's
  consent to that text's version, through the common ID; recipient: the service (its provider and controller);
  retention: the linkage records' ``linkage_days`` and the service's own retention; persons: the municipality's
  residents linked to it now.

The office in charge is the municipality's (its first contact's department, else 住民窓口). Nothing in the register
names a person: counts, names of services, words.

Read by the municipality's admins and the operator (``resident.file_register.read``), as a page, a workbook and
a PDF (:mod:`core.report_document`: one list of rows feeds both); published without sign-in only where the
municipality chooses (:func:`set_published`, ``resident.file_register.publish``, audited; :func:`public_register`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, report_document, retention
from core.actor import Actor
from core.calendar import date_ja, today_jst
from core.db import utcnow
from core.errors import NotFound
from core.report_document import Section
from residents.consent.models import ConsentDataItem, ConsentPurpose, ConsentText, DataService
from residents.models import CURRENT_LINK, FileRegisterSetting, LinkMethod, Resident, ServiceLink, VerificationMethod

REGISTER_ITEMS = ("共通ID", "氏名", "住所", "生年月日", "性別", "認証事業者の識別子", "連携先サービスの利用者ID",
                  "公開範囲（提供を許可した項目）")
REGISTER_PURPOSE = ("住民の本人確認と共通IDの付番、本人が連携したデータ利用サービスへの、本人の同意と公開範囲に基づく"
                    "情報の提供（データ仲介）")
HEADERS = ("ファイルの名称", "利用目的", "記録項目", "収集方法", "提供先", "保存期間", "担当課", "記録されている人数")
TITLE = "個人情報ファイル簿"


@dataclasses.dataclass(frozen=True)
class PersonalFile:
    key: str  # "register", or "service-<id>"
    name: str
    purpose: str
    items: tuple[str, ...]
    collected: tuple[str, ...]
    recipients: tuple[str, ...]
    retention: str
    office: str
    persons: int

    def row(self) -> tuple:
        return (self.name, self.purpose, "、".join(self.items) or "—", "、".join(self.collected) or "—",
                "、".join(self.recipients) or "—", self.retention, self.office, self.persons)


@dataclasses.dataclass(frozen=True)
class FileRegister:
    tenant_code: str
    municipality: str
    generated_on: dt.date
    published: bool
    files: tuple[PersonalFile, ...]

    @property
    def title(self) -> str:
        return f"{self.municipality} {TITLE}"

    def as_of(self, lang: str = "ja") -> str:
        """The day it was generated: the era year in Japanese (令和8年11月26日), ISO in English."""
        return date_ja(self.generated_on) if lang == "ja" else self.generated_on.isoformat()


def _tenant(session: Session, tenant_code: str):
    from tenancy.registry.models import Tenant

    tenant = session.scalar(sa.select(Tenant).where(Tenant.code == (tenant_code or "")[:6]))
    if tenant is None:
        raise NotFound("No such municipality.", "該当する市町村はありません。")
    return tenant


def _office(tenant) -> str:
    department = next((contact.department for contact in tenant.contacts if contact.department), "")
    return f"{tenant.name_ja} {department or '住民窓口'}"


def _residents(tenant_code: str):
    return sa.select(Resident.id).where(Resident.tenant_code == tenant_code)


def _register_file(session: Session, tenant, office: str, left_days: int) -> PersonalFile:
    code = tenant.code
    held = Resident.tenant_code == code, Resident.erased_at.is_(None)
    verifications = set(session.scalars(sa.select(Resident.verification).where(*held).distinct()))
    methods = set(session.scalars(sa.select(ServiceLink.method).where(ServiceLink.resident_id.in_(_residents(code)))
                                  .distinct()))
    recipients = session.scalars(sa.select(DataService.name).join(ServiceLink, ServiceLink.service_id == DataService.id)
                                 .where(ServiceLink.resident_id.in_(_residents(code)), CURRENT_LINK)
                                 .distinct().order_by(DataService.name))
    collected = ([f"本人確認：{v.ja}" for v in VerificationMethod if v in verifications]
                 + [f"連携：{m.ja}" for m in LinkMethod if m in methods])
    persons = session.scalar(sa.select(sa.func.count()).select_from(Resident).where(*held))
    return PersonalFile(key="register", name=f"{tenant.name_ja} 住民共通ID台帳（共通ID・サービス連携）",
                        purpose=REGISTER_PURPOSE, items=REGISTER_ITEMS, collected=tuple(collected),
                        recipients=tuple(recipients), office=office, persons=persons,
                        retention=f"在籍中は保有。退会の日から{left_days}日後に基本4情報・照合用ハッシュ・認証事業者の識別子を消去"
                                  "（共通IDの行は記録の参照のため保存）")


def _service_files(session: Session, tenant, office: str, linkage_days: int) -> list[PersonalFile]:
    code = tenant.code
    linked_ever = sa.select(ServiceLink.service_id).where(ServiceLink.resident_id.in_(_residents(code)))
    services = list(session.scalars(sa.select(DataService).where(
        sa.or_(DataService.owner_code == code, DataService.id.in_(linked_ever))).order_by(DataService.name, DataService.id)))
    text_ids = [service.current_text_id for service in services if service.current_text_id]
    texts = {text.id: text for text in session.scalars(sa.select(ConsentText).where(ConsentText.id.in_(text_ids)))}
    purposes: dict[int, list[str]] = {}
    for row in session.scalars(sa.select(ConsentPurpose).where(ConsentPurpose.text_id.in_(text_ids))
                               .order_by(ConsentPurpose.position, ConsentPurpose.id)):
        purposes.setdefault(row.text_id, []).append(row.statement)
    items: dict[int, list[str]] = {}
    for row in session.scalars(sa.select(ConsentDataItem).where(ConsentDataItem.text_id.in_(text_ids))
                               .order_by(ConsentDataItem.position, ConsentDataItem.id)):
        items.setdefault(row.text_id, []).append(row.name)
    persons = dict(session.execute(sa.select(ServiceLink.service_id, sa.func.count(sa.distinct(ServiceLink.resident_id)))
                                   .where(ServiceLink.resident_id.in_(_residents(code)), CURRENT_LINK)
                                   .group_by(ServiceLink.service_id)).all())
    files = []
    for service in services:
        text = texts.get(service.current_text_id)
        files.append(PersonalFile(
            key=f"service-{service.id}", name=f"{service.name} 連携記録ファイル",
            purpose="、".join(purposes.get(service.current_text_id, [])) or "（同意文が未登録）",
            items=tuple(items.get(service.current_text_id, [])),
            collected=(f"本人の同意（同意文 第{text.number}版）に基づき、共通IDを介した連携により取得・提供",) if text else (),
            recipients=(f"{service.name}（提供者：{service.provider}、管理者：{service.controller}）",),
            retention=f"連携記録は{linkage_days}日（サービスでの保存期間：{service.retention_days}日）",
            office=office, persons=persons.get(service.id, 0)))
    return files


def _published(session: Session, tenant_code: str) -> bool:
    return bool(session.scalar(sa.select(FileRegisterSetting.published).where(FileRegisterSetting.tenant_code == tenant_code)))


def _build(session: Session, tenant_code: str, left_days: int | None, linkage_days: int | None) -> FileRegister:
    tenant = _tenant(session, tenant_code)
    office = _office(tenant)
    left_days = left_days or retention.kind("left_residents").days
    linkage_days = linkage_days or retention.kind("linkage").days
    files = (_register_file(session, tenant, office, left_days), *_service_files(session, tenant, office, linkage_days))
    return FileRegister(tenant_code=tenant.code, municipality=tenant.name_ja, generated_on=today_jst(),
                        published=_published(session, tenant.code), files=files)


def register(session: Session, actor: Actor, tenant_code: str, *, left_days: int | None = None,
             linkage_days: int | None = None) -> FileRegister:
    """The municipality's register, for its admins and the operator (see the module's rule)."""
    authz.authorize(actor, "resident.file_register.read", tenant_code)
    return _build(session, tenant_code, left_days, linkage_days)


def public_register(session: Session, tenant_code: str, *, left_days: int | None = None,
                    linkage_days: int | None = None) -> FileRegister:
    """The register on the public page: only where the municipality publishes it (else not found, as no page)."""
    if not _published(session, (tenant_code or "")[:6]):
        raise NotFound("This municipality does not publish its file register here.",
                       "この市町村は個人情報ファイル簿をここで公表していません。")
    return _build(session, tenant_code, left_days, linkage_days)


def set_published(session: Session, actor: Actor, tenant_code: str, published: bool) -> FileRegisterSetting:
    """The municipality publishes its register on the public page, or stops; audited (before and after)."""
    authz.authorize(actor, "resident.file_register.publish", tenant_code)
    tenant = _tenant(session, tenant_code)
    row = session.scalar(sa.select(FileRegisterSetting).where(FileRegisterSetting.tenant_code == tenant.code))
    before = bool(row and row.published)
    if row is None:
        row = FileRegisterSetting(tenant_code=tenant.code)
        session.add(row)
    row.published, row.changed_at, row.changed_by = bool(published), utcnow(), actor.recorded_name
    session.flush()
    audit.record(session, actor, "resident.file_register.publish", "file_register", tenant.code, tenant_code=tenant.code,
                 before={"register_published": before}, after={"register_published": row.published})
    return row


# --- the downloads -----------------------------------------------------------------------------------

def sections(found: FileRegister) -> list[Section]:
    return [Section(title=TITLE, headers=HEADERS, rows=tuple(file.row() for file in found.files),
                    note=f"{found.municipality}が保有する個人情報ファイル（記録から作成、{found.generated_on.isoformat()}時点）")]


def to_xlsx(found: FileRegister) -> bytes:
    return report_document.to_xlsx(found.title, sections(found))


def to_pdf(found: FileRegister) -> bytes:
    document = report_document.to_html(found.title, found.municipality, found.generated_on, sections(found))
    return report_document.to_pdf(document, "file register", "個人情報ファイル簿")
