"""The residents' portal, part 2 (issue 42 item 7): who received what, notices, the resident's own data, leaving.

The portal (admin/portal/records.py) authorises by the resident's session: every function here takes the
signed-in resident's row id and reads only what hangs off that row.

* :func:`history`: the linkage records of every service the resident is or was linked to, under their user
  ID there during the link's life (``linked_at`` to ``ended_at``; links moved to them by a merge included),
  newest first, each with a mark when a split found the link wrong (:class:`~residents.models.LinkageMark`).
  Records about the same user ID outside a link's life are another person's and never shown.
* Notices: the resident's own (:class:`~residents.models.ResidentNotice`: a split, a merge) and those the
  operator or the municipality's residents' desk posts to the municipality's residents (:func:`publish_notice`,
  ``resident.notice.publish``): one notice row per resident enrolled at the time (the addressees are fixed
  when it is posted, as the governance notices' are), so each is read (``read_at``) by its resident.
* :func:`my_data`: everything renkei holds about the resident, as a disclosure request would give it
  (開示請求), one structure for the JSON and the CSV (:func:`my_data_csv`); the download is audited
  (:func:`record_download`) without a personal value.
* :func:`leave`: every current link ended (本人の退会), every consent in force withdrawn
  (:func:`residents.consent.operations.withdraw_consent`), the resident ``left``; audited.
  :func:`erase_left` (the due job ``resident-retention``), after ``days`` from leaving: the encrypted items,
  the hashes and the providers' identifiers erased; the row stays, with its common ID, for the records'
  references.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy.orm import Session

from core import audit, authz, retention
from core.actor import Actor
from core.calendar import jst_text
from core.db import utcnow
from core.errors import Conflict, NotFound
from core.spreadsheet import csv_bytes
from core.validation import NOT_BLANK
from residents.consent import operations as consent
from residents.consent.models import ConsentEvent, ConsentMethod, ConsentRecord, ConsentText, DataService, LinkageRecord
from residents.consent.linkage import record_proof
from residents.consent.schemas import validated
from residents.consent.state import consent_state
from residents.data_inquiries import my_inquiries
from residents.brokerage import REASONS
from residents.lifecycle import RESIDENTS
from residents.models import (CURRENT_LINK, ENCRYPTED_FIELDS, ITEM_LABELS, LinkMethod, LinkageMark, Resident,
                              ResidentDisclosure, ResidentIdentity, ResidentNotice, ResidentProvider, ResidentReview,
                              ResidentSignIn, ResidentStatus, ServiceLink, Sex, VerificationMethod)
from residents.operations import personal_items
from residents.portal import as_consent_app

PAGE_SIZE = 20
LEAVE_REASON = "本人の退会"
BROADCAST_KIND = "resident.broadcast"
DEFAULT_RETENTION_DAYS = retention.kind("left_residents").days  # the linkage year (core.retention)


def _index(lang: str) -> int:
    return 0 if lang == "ja" else 1


def _jst(moment: dt.datetime | None) -> str:
    return jst_text(moment) if moment else ""


def resident_of(session: Session, resident_id: int, tenant_code: str) -> Resident:
    """The signed-in resident's row (of their own municipality), or not found."""
    resident = session.get(Resident, resident_id)
    if resident is None or resident.tenant_code != tenant_code:
        raise NotFound("No such resident.", "該当する住民は見つかりません。")
    return resident


def _services(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(sa.select(DataService.id, DataService.name).where(DataService.id.in_(sorted(ids)))).all())


# --- who received what ----------------------------------------------------------------------------

def _links(session: Session, resident: Resident) -> list[ServiceLink]:
    """Every link of the resident, current and ended, those moved to them by a merge included."""
    return list(session.scalars(sa.select(ServiceLink).where(ServiceLink.resident_id == resident.id)
                                .order_by(ServiceLink.id)))


def _during(link: ServiceLink, column) -> sa.ColumnElement[bool]:
    life = column >= link.linked_at
    return life if link.ended_at is None else sa.and_(life, column <= link.ended_at)


def _linkage_query(resident: Resident, links: list[ServiceLink]) -> sa.Select | None:
    if not links:
        return None
    under = [sa.and_(LinkageRecord.service_id == link.service_id, LinkageRecord.subject_id == link.service_user_id,
                     _during(link, LinkageRecord.occurred_at)) for link in links]
    return sa.select(LinkageRecord).where(LinkageRecord.tenant_code == resident.tenant_code, sa.or_(*under))


@dataclasses.dataclass(frozen=True)
class HistoryPage:
    rows: list[dict[str, Any]]
    page: int
    pages: int
    total: int


def _linkage_rows(session: Session, records: list[LinkageRecord], lang: str) -> list[dict[str, Any]]:
    index = _index(lang)
    services = _services(session, {record.service_id for record in records})
    marked = set(session.scalars(sa.select(LinkageMark.linkage_seq).where(
        LinkageMark.linkage_seq.in_([record.seq for record in records])))) if records else set()
    return [{"seq": record.seq, "at": _jst(record.occurred_at),
             "service": services.get(record.service_id, ""), "items": json.loads(record.items),
             "purpose": record.purpose, "allowed": record.allowed,
             "result": ("許可", "allowed")[index] if record.allowed else ("拒否", "refused")[index],
             "reason": REASONS.get(record.reason, (record.reason, record.reason))[index],
             "marked": record.seq in marked} for record in records]


def history(session: Session, resident: Resident, *, page: int = 1, lang: str = "ja") -> HistoryPage:
    """One page of who received what about the resident, newest first (see the module's rule)."""
    query = _linkage_query(resident, _links(session, resident))
    if query is None:
        return HistoryPage([], 1, 1, 0)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    records = list(session.scalars(query.order_by(LinkageRecord.seq.desc())
                                   .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return HistoryPage(_linkage_rows(session, records, lang), page, pages, total)


# --- notices --------------------------------------------------------------------------------------

def notices(session: Session, resident: Resident, lang: str = "ja") -> list[dict[str, Any]]:
    """The resident's notices, newest first, unread ones marked."""
    index = _index(lang)
    rows = session.scalars(sa.select(ResidentNotice).where(ResidentNotice.resident_id == resident.id)
                           .order_by(ResidentNotice.id.desc()))
    return [{"id": row.id, "at": _jst(row.created_at), "title": (row.title_ja, row.title_en or row.title_ja)[index],
             "body": (row.body_ja, row.body_en or row.body_ja)[index], "unread": row.read_at is None,
             "from_desk": row.kind == BROADCAST_KIND} for row in rows]


def unread_count(session: Session, resident_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(ResidentNotice).where(
        ResidentNotice.resident_id == resident_id, ResidentNotice.read_at.is_(None))) or 0


def mark_read(session: Session, resident: Resident) -> int:
    """The resident opened their notices: every unread one of theirs is read now."""
    done = session.execute(sa.update(ResidentNotice).where(ResidentNotice.resident_id == resident.id,
                                                           ResidentNotice.read_at.is_(None)).values(read_at=utcnow()))
    session.flush()
    return done.rowcount or 0


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
OptionalTitle = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000), NOT_BLANK]
OptionalBody = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


class NoticeIn(BaseModel):
    """A notice to a municipality's residents: Japanese required, English optional."""

    model_config = ConfigDict(extra="forbid")

    title_ja: Title
    body_ja: Body
    title_en: OptionalTitle = ""
    body_en: OptionalBody = ""


# the residents a notice reaches: those who can sign in to the portal
_ADDRESSED = (ResidentStatus.active, ResidentStatus.review)


def publish_notice(session: Session, actor: Actor, tenant_code: str, payload: NoticeIn | dict) -> dict[str, Any]:
    """Post a notice to every resident of ``tenant_code`` enrolled now (the operator, or the municipality's
    residents' desk); audited with the title and how many it reached (never a resident)."""
    data = validated(NoticeIn, payload)
    authz.authorize(actor, "resident.notice.publish", tenant_code)
    from tenancy.registry.models import Tenant

    if session.scalar(sa.select(Tenant.id).where(Tenant.code == tenant_code)) is None:
        raise NotFound("No such municipality.", "該当する市町村はありません。")
    ids = list(session.scalars(sa.select(Resident.id).where(Resident.tenant_code == tenant_code,
                                                            Resident.status.in_(_ADDRESSED)).order_by(Resident.id)))
    now = utcnow()
    session.execute(sa.insert(ResidentNotice), [
        {"resident_id": resident_id, "kind": BROADCAST_KIND, "recovery_id": None, "title_ja": data.title_ja,
         "title_en": data.title_en, "body_ja": data.body_ja, "body_en": data.body_en, "created_at": now}
        for resident_id in ids]) if ids else None
    session.flush()
    result = {"tenant_code": tenant_code, "title_ja": data.title_ja, "title_en": data.title_en, "residents": len(ids),
              "created_at": now}
    audit.record(session, actor, "resident.notice.publish", "tenant", tenant_code, tenant_code=tenant_code,
                 after={"title_ja": data.title_ja, "title_en": data.title_en, "residents": len(ids)})
    return result


# --- the resident's own data ----------------------------------------------------------------------

def _consents(session: Session, resident: Resident, links: list[ServiceLink]) -> list[ConsentRecord]:
    """The consent records of the resident's user IDs: a current link's all, an ended link's up to its end
    (after that the ID is not theirs)."""
    if not links:
        return []
    under = [sa.and_(ConsentRecord.service_id == link.service_id, ConsentRecord.subject_id == link.service_user_id,
                     sa.true() if link.ended_at is None else ConsentRecord.occurred_at <= link.ended_at)
             for link in links]
    return list(session.scalars(sa.select(ConsentRecord).where(ConsentRecord.tenant_code == resident.tenant_code,
                                                               sa.or_(*under)).order_by(ConsentRecord.seq)))


def _linkages(session: Session, resident: Resident, links: list[ServiceLink]) -> list[LinkageRecord]:
    """The records of what was provided under the resident's links, newest first."""
    query = _linkage_query(resident, links)
    return list(session.scalars(query.order_by(LinkageRecord.seq.desc()))) if query is not None else []


def _personal(resident: Resident, keys, index: int) -> dict[str, str]:
    """The basic four items in plain text (blank once erased), the sex in words."""
    plain = personal_items(resident, keys) if resident.erased_at is None else dict.fromkeys(ENCRYPTED_FIELDS, "")
    if plain.get("sex"):
        plain["sex"] = Sex(plain["sex"]).label[index]
    return plain


def _origins(session: Session, links: list[ServiceLink]) -> dict[int, str]:
    """The common IDs of the residents the links moved from (a link carried over), by resident id."""
    moved = {link.origin_resident_id for link in links if link.origin_resident_id}
    if not moved:
        return {}
    return dict(session.execute(sa.select(Resident.id, Resident.common_id).where(Resident.id.in_(moved))).all())


def _sign_in_sections(session: Session, resident: Resident) -> dict[str, list[dict[str, Any]]]:
    """The resident's identifiers at the identity providers and their sign-ins (my_data's two sections)."""
    providers = {row.id: row for row in session.scalars(sa.select(ResidentProvider))}
    issuers = {row.issuer: row.display_name for row in providers.values()}
    sign_ins = session.scalars(sa.select(ResidentSignIn).where(ResidentSignIn.resident_id == resident.id)
                               .order_by(ResidentSignIn.id))
    identities = session.scalars(sa.select(ResidentIdentity).where(ResidentIdentity.resident_id == resident.id)
                                 .order_by(ResidentIdentity.id))
    return {
        "identities": [{"provider": issuers.get(row.issuer, row.issuer), "issuer": row.issuer, "subject": row.subject,
                        "since": _jst(row.created_at)} for row in identities],
        "sign_ins": [{"at": _jst(row.signed_in_at),
                      "provider": providers[row.provider_id].display_name if row.provider_id in providers else "",
                      "subject": row.subject, "assurance_level": row.assurance_level,
                      "verified_claims": row.verified_claims} for row in sign_ins],
    }


def _consent_rows(session: Session, records: list[ConsentRecord], services: dict[int, str], index: int,
                  seals: Any) -> list[dict[str, Any]]:
    """my_data's consent records, each with the title of the text agreed to, its hash and its proof."""
    texts = {row.id: row for row in session.scalars(sa.select(ConsentText).where(
        ConsentText.id.in_({record.text_id for record in records})))} if records else {}
    return [{"at": _jst(record.occurred_at), "service": services.get(record.service_id, ""),
             "event": ConsentEvent(record.event).label[index],
             "text_version": record.text_number,
             "text_title": texts[record.text_id].title if record.text_id in texts else "",
             "purposes": json.loads(record.purposes), "items": json.loads(record.items),
             "method": ConsentMethod(record.method).label[index], "expires_at": _jst(record.expires_at),
             "receipt_id": record.receipt_id, "record_hash": record.hash,
             "proof": record_proof(record, seals)} for record in records]


def my_data(session: Session, keys, resident: Resident, lang: str = "ja", seals: Any = None) -> dict[str, Any]:
    """Everything renkei holds about the resident (開示請求), words in ``lang``; the JSON and the CSV come
    from it. Each consent and linkage record carries its hash and its proof, sealed by its chain's
    newest signed checkpoint in ``seals`` (:func:`residents.consent.linkage.record_proof`: the same
    verifiable receipt the service and the desk get; ``renkei verify-receipt`` checks the file).
    Callers audit the download (:func:`record_download`)."""
    index = _index(lang)
    links = _links(session, resident)
    services = _services(session, {link.service_id for link in links})
    origins = _origins(session, links)
    records = _consents(session, resident, links)
    linkages = _linkages(session, resident, links)
    services.update(_services(session, {record.service_id for record in records} - set(services)))
    disclosures = session.scalars(sa.select(ResidentDisclosure).where(ResidentDisclosure.resident_id == resident.id)
                                  .order_by(ResidentDisclosure.id))
    return {
        "resident": {"common_id": resident.common_id or "", "status": ResidentStatus(resident.status).label[index],
                     "enrolled_at": _jst(resident.enrolled_at),
                     "verification": VerificationMethod(resident.verification).label[index],
                     "assurance_level": resident.assurance_level, "left_at": _jst(resident.left_at)},
        "personal": _personal(resident, keys, index),
        **_sign_in_sections(session, resident),
        "links": [{"service": services.get(link.service_id, ""), "service_user_id": link.service_user_id,
                   "method": LinkMethod(link.method).label[index], "assurance_level": link.assurance_level,
                   "linked_at": _jst(link.linked_at), "ended_at": _jst(link.ended_at), "ended_reason": link.ended_reason,
                   "moved_from": origins.get(link.origin_resident_id, "") or ""} for link in links],
        "disclosures": [{"service": services.get(row.service_id, ""), "items": json.loads(row.items),
                         "reason": row.reason, "set_at": _jst(row.set_at)} for row in disclosures],
        "consents": _consent_rows(session, records, services, index, seals),
        "linkages": [{**row, "record_hash": record.hash, "proof": record_proof(record, seals)}
                     for row, record in zip(_linkage_rows(session, linkages, lang), linkages)],
        "notices": notices(session, resident, lang),
        "inquiries": [{"id": row.number, "service": row.service, "asked_on": row.asked_on, "due_on": row.due_on,
                       "status": row.status, "question": row.question,
                       "answers": [f"{at} {body}" for at, body in row.answers]}
                      for row in my_inquiries(session, resident, lang)],
    }


SECTION_LABELS = {"resident": ("住民", "resident"), "personal": ("基本4情報", "basic four items"),
                  "identities": ("認証事業者の識別子", "provider identifier"), "sign_ins": ("サインイン", "sign-in"),
                  "links": ("サービスとの連携", "link"), "disclosures": ("公開範囲", "disclosure range"),
                  "consents": ("同意記録", "consent"), "linkages": ("提供の記録", "what was provided"),
                  "notices": ("お知らせ", "notice"), "inquiries": ("データの使われ方の問い合わせ", "question about your data")}


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list):
        return "、".join(map(str, value))
    return value


# the words of each field of :func:`my_data` (the JSON keeps its keys for programs; the CSV, read by people, these)
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "common_id": ("共通ID", "common ID"), "status": ("状態", "status"), "enrolled_at": ("登録日時", "enrolled at"),
    "verification": ("本人確認の方法", "how you were verified"), "assurance_level": ("個人認証レベル", "assurance level"),
    "left_at": ("退会日時", "left at"), **ITEM_LABELS, "provider": ("認証事業者", "identity provider"),
    "issuer": ("発行者", "issuer"), "subject": ("認証事業者での識別子", "identifier at the provider"),
    "since": ("登録日時", "since"), "at": ("日時", "at"),
    "verified_claims": ("確認された本人情報", "verified claims"), "service": ("サービス", "service"),
    "service_user_id": ("サービスでの利用者ID", "user ID at the service"), "method": ("方法", "method"),
    "linked_at": ("連携日時", "linked at"), "ended_at": ("終了日時", "ended at"), "ended_reason": ("終了の理由", "why it ended"),
    "moved_from": ("統合前の共通ID", "moved from common ID"), "items": ("データ項目", "data items"),
    "reason": ("理由", "reason"), "set_at": ("設定日時", "set at"), "event": ("同意の操作", "consent event"),
    "text_version": ("同意文の版", "consent text version"), "text_title": ("同意文の題名", "consent text title"),
    "purposes": ("利用目的", "purposes"), "expires_at": ("有効期限", "expires at"),
    "receipt_id": ("同意の受付番号", "consent receipt number"), "seq": ("記録の番号", "record number"),
    "purpose": ("利用目的", "purpose"), "allowed": ("提供したか", "provided"), "result": ("結果", "result"),
    "marked": ("誤った連携による記録", "made under a wrong link"), "id": ("番号", "number"), "title": ("件名", "title"),
    "body": ("本文", "text"), "unread": ("未読", "unread"), "from_desk": ("窓口・運営者から", "from the desk or operator"),
    "record_hash": ("記録のハッシュ値", "record hash"), "asked_on": ("受付日", "asked on"),
    "due_on": ("回答期限", "to be answered by"), "question": ("問い合わせ内容", "question"), "answers": ("回答", "answers"),
}
PROOF = "proof"  # a record's proof is for programs (renkei verify-receipt on the JSON), never a CSV cell


def words(labels: tuple[str, str], lang: str) -> str:
    """A label pair as the CSV writes it: the page's language first, the other after it (「氏名 / name」)."""
    ja, en = labels
    return f"{ja} / {en}" if lang == "ja" else f"{en} / {ja}"


def my_data_csv(data: dict[str, Any], lang: str = "ja") -> bytes:
    """:func:`my_data` as one CSV (UTF-8 with a BOM): a row per field of each record, in the JSON's order
    (section, number of the record in it, field, value), every heading, section and field in words
    (:data:`FIELD_LABELS`), Japanese and English."""
    header = (("区分", "section"), ("番号", "number"), ("項目", "item"), ("値", "value"))
    rows: list[list[Any]] = [[words(pair, lang) for pair in header]]
    for section, content in data.items():
        records = content if isinstance(content, list) else [content]
        for number, record in enumerate(records, start=1):
            rows.extend([words(SECTION_LABELS[section], lang), number,
                         words(FIELD_LABELS.get(field, (field, field)), lang), _cell(value)]
                        for field, value in record.items() if field != PROOF)
    return csv_bytes(rows)


def record_download(session: Session, actor: Actor, resident: Resident, form: str) -> None:
    """The resident downloaded their data: audited with the form and the resident's common ID only."""
    audit.record(session, actor, "resident.data.download", "resident", resident.common_id or str(resident.id),
                 tenant_code=resident.tenant_code, after={"format": form})


# --- leaving --------------------------------------------------------------------------------------

def leave(session: Session, actor: Actor, resident: Resident) -> dict[str, Any]:
    """The resident leaves: every current link ended (本人の退会), every consent in force of their user IDs
    withdrawn, their status ``left``; audited. There is no way back: they enrol anew at the desk."""
    if resident.status is ResidentStatus.left:
        raise Conflict("You have already left.", "すでに退会しています。")
    before = resident.status.value
    resident.status = RESIDENTS.move("leave", resident.status, resident).target
    now = utcnow()
    current = list(session.scalars(sa.select(ServiceLink).where(ServiceLink.resident_id == resident.id, CURRENT_LINK)
                                   .order_by(ServiceLink.id)))
    withdrawn = []
    for link in current:
        latest = consent.latest_event(session, link.service_id, resident.tenant_code, link.service_user_id)
        if latest is not None and consent_state(latest.event, latest.expires_at, now) == ConsentEvent.given:
            record = consent.withdraw_consent(session, as_consent_app(actor, resident.tenant_code), {"service_id": link.service_id,
                                                               "tenant_code": resident.tenant_code,
                                                               "subject_id": link.service_user_id, "method": "web"})
            withdrawn.append(record.receipt_id)
        link.ended_at, link.ended_by, link.ended_reason = now, actor.recorded_name, LEAVE_REASON
    resident.left_at = now
    session.flush()
    audit.record(session, actor, "resident.leave", "resident", resident.common_id or str(resident.id),
                 tenant_code=resident.tenant_code, before={"status": before},
                 after={"status": resident.status.value, "links_ended": [link.id for link in current],
                        "consents_withdrawn": withdrawn})
    return {"links_ended": len(current), "consents_withdrawn": len(withdrawn)}


LEFT = ("You left the residents' portal, so you cannot sign in. To use it again, enrol anew at your municipality's "
        "residents' desk.",
        "あなたは住民ポータルを退会しているため、サインインできません。再び利用するには、市町村の住民窓口で改めて登録してください。")


MOVED = ("You moved away from this municipality, so you cannot sign in as its resident. Sign in as a resident of "
         "the municipality you live in.",
         "あなたはこの市町村から転出しているため、この市町村の住民としてはサインインできません。"
         "お住まいの市町村の住民としてサインインしてください。")


def refuse_if_left(session: Session, tenant_code: str, issuer: str, subject: str) -> None:
    """A left resident signing in again with their identifier is told so (never re-activated). The status is
    that person's only: a new identifier whose 基本4情報 match a person who left is not refused here (it may
    be a namesake who never enrolled); its enrolment waits for the desk's review
    (:func:`residents.operations.sign_in_person`, ``left_person``)."""
    by_identity = sa.select(Resident.status).join(ResidentIdentity, ResidentIdentity.resident_id == Resident.id).where(
        ResidentIdentity.tenant_code == tenant_code, ResidentIdentity.issuer == issuer,
        ResidentIdentity.subject == subject, Resident.status.in_((ResidentStatus.left, ResidentStatus.moved)))
    status = session.scalar(by_identity.limit(1))
    if status is not None:
        raise Conflict(*(LEFT if status is ResidentStatus.left else MOVED))


def erase_left(session: Session, actor: Actor, *, days: int = DEFAULT_RETENTION_DAYS,
               now: dt.datetime | None = None, delete_accounts=None) -> int:
    """The due job ``resident-retention``: for each resident who left more than ``days`` ago, the key material
    that lets anyone find or read the person is erased: the encrypted items, the name and person hashes, the
    providers' identifiers (and the sign-ins' copies of them). The row stays with its common ID. Audited per
    resident (``resident.erase``). ``delete_accounts``, given the residents due, deletes their accounts in the
    residents' realm first (while their identifiers still name them: :func:`residents.signin.delete_realm_accounts`)."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=days)
    # never sooner than the linkage records they explain are kept (core.retention: a setting below is refused)
    retention.refuse_before("left_residents", cutoff, now)
    due = list(session.scalars(sa.select(Resident).where(Resident.status.in_((ResidentStatus.left, ResidentStatus.moved)),
                                                         Resident.erased_at.is_(None), Resident.left_at <= cutoff)
                               .order_by(Resident.id)))
    if due and delete_accounts is not None:
        delete_accounts(due)
    for resident in due:
        # the resident's row, and the rows holding changed items of theirs a sign-in sent to review
        held = session.scalars(sa.select(Resident).join(ResidentReview, ResidentReview.candidate_id == Resident.id)
                               .where(ResidentReview.claims_of_id == resident.id))
        for row in (resident, *held):
            for field in ENCRYPTED_FIELDS:
                setattr(row, field, "")
            row.person_hash = row.address_hash = row.name_hash = ""
            row.erased_at = now
        identities = session.execute(sa.delete(ResidentIdentity).where(ResidentIdentity.resident_id == resident.id))
        session.execute(sa.update(ResidentSignIn).where(ResidentSignIn.resident_id == resident.id).values(subject=""))
        session.flush()
        audit.record(session, actor, "resident.erase", "resident", resident.common_id or str(resident.id),
                     tenant_code=resident.tenant_code,
                     after={"left_at": resident.left_at, "retention_days": days,
                            "identities_removed": identities.rowcount or 0})
    return len(due)
