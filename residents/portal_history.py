"""What the resident sees of their own record (renkei issue 50 item 5): who looked them up, what services asked
for, their own items, and a way to dispute a record.

The portal (admin/portal/records.py) authorises by the resident's session: every function here takes the
signed-in resident's row and reads only what is about that row.

* :func:`desk_lookups`: each time municipal staff looked the resident up at the residents' desk
  (:func:`residents.operations.look_up`, :func:`residents.operations.search_by_name`). Those look-ups are
  audited with their reason (``resident.view``); this reads those audit records, by the resident's common ID (or
  ``resident-<uid>`` when they had none yet, and the common IDs merged into theirs), and gives each as words:
  the staff member's name as the record keeps it (never their Keycloak id: a record without a name says
  「市町村の職員」), the municipality, when, and the reason typed. The audit log is therefore kept at least
  as long as the linkage records (the purge's floor, :func:`governance.audit_export.refuse_before_linkages`).
* :func:`service_request_words`: each request of a service (the linkage records, :func:`residents.portal_records.history`)
  with its purpose, the items asked, the items given and the items refused, in words. The brokerage asks the
  check for the items the resident ticked and, on their own, for those they did not (which the check refuses and
  records): a request of both is therefore two records here, what was given and what was refused.
* :func:`own_items`: the resident's 基本4情報 decrypted for them, labelled.
* :func:`dispute`: the resident disputes one of these records: an inquiry to the secretariat
  (:func:`secretariat.inquiries.record_on_behalf`, category 個人情報・同意) naming the record but never the resident (a row of
  resident_inquiry ties it to them, as a question asked on the portal is), a notice to the
  resident that it was sent, and an audit record (``resident.dispute``) with the inquiry's number (never the text);
  a record is disputed once (:func:`disputes_sent`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import jst_text
from core.errors import Conflict, Invalid, NotFound, problem
from core.validation import text_field_problem
from residents.consent.models import LinkageRecord
from residents.models import ENCRYPTED_FIELDS, Resident, ResidentInquiry, ResidentNotice, Sex
from residents.portal_records import FIELD_LABELS, _linkage_query, _links

# the desk's look-ups live in the audit log (residents.operations.look_up, search_by_name): it is purged no sooner
# than the linkage records (governance.audit_export.refuse_before_linkages)
LOOKUP_ACTION = "resident.view"
SEARCH_ACTION = "resident.search"
DISPUTE_KIND = "resident.dispute"
DISPUTE_MAX = 2000
STAFF_UNNAMED = ("市町村の職員", "municipal staff")

# the consent texts name items in Japanese (residents.brokerage.HELD_ITEMS); their English
ITEM_WORDS_EN = {"氏名": "name", "住所": "address", "生年月日": "date of birth", "性別": "sex", "利用者ID": "user ID"}


def _index(lang: str) -> int:
    return 0 if lang == "ja" else 1


def _jst(moment) -> str:
    return jst_text(moment) if moment else ""


def item_words(items: list[str], lang: str) -> list[str]:
    """The consent texts' item names as the resident reads them (Japanese, or English where known)."""
    return list(items) if lang == "ja" else [ITEM_WORDS_EN.get(item, item) for item in items]


# --- the desk's look-ups --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class DeskLookup:
    seq: int
    at: str
    who: str
    municipality: str
    reason: str


def _targets(session: Session, resident: Resident) -> list[str]:
    """The ids the audit log names the resident by: their common ID, ``resident-<uid>`` (before they had one),
    and the common IDs merged into theirs."""
    merged = session.scalars(sa.select(Resident.common_id).where(Resident.merged_into_id == resident.id,
                                                                 Resident.common_id.is_not(None)))
    return sorted({i for i in (resident.common_id, f"resident-{resident.uid}", *merged) if i})


def _municipalities(session: Session, codes: set[str], lang: str) -> dict[str, str]:
    from tenancy.registry.models import Tenant

    if not codes:
        return {}
    rows = session.execute(sa.select(Tenant.code, Tenant.name_ja, Tenant.name_en).where(Tenant.code.in_(sorted(codes))))
    return {code: (ja if lang == "ja" else (en or ja)) for code, ja, en in rows}


def _json(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _staff_names(session: Session, rows: list[Any]) -> dict[str, str]:
    """The staff members' names: as the record keeps it, else as the log knows them (never their id)."""
    from governance.audit import known_people

    unnamed = {row.actor_subject for row in rows if not row.actor_name or row.actor_name == row.actor_subject}
    known = known_people(session, unnamed) if unnamed else {}
    return {subject: person.name for subject, person in known.items() if person.name}


_COLUMNS = (AuditRecord.seq, AuditRecord.occurred_at, AuditRecord.actor_subject, AuditRecord.actor_name,
            AuditRecord.tenant_code, AuditRecord.after)


def _lookup_rows(session: Session, resident: Resident) -> list[tuple[Any, str]]:
    """(audit row, reason) of each look-up of the resident: a look-up by ID is its own record
    (``resident.view``, target the resident); a search by name is one record (``resident.search``) whose steps
    name each person shown, so the searches of the resident's municipality that name them are read and their
    steps checked."""
    targets = _targets(session, resident)
    found = [(row, _text(_json(row.after).get("reason"))) for row in session.execute(
        sa.select(*_COLUMNS).where(AuditRecord.target_type == "resident", AuditRecord.target_id.in_(targets),
                                   AuditRecord.action == LOOKUP_ACTION, AuditRecord.tenant_code == resident.tenant_code))]
    searches = session.execute(sa.select(*_COLUMNS).where(
        AuditRecord.action == SEARCH_ACTION, AuditRecord.tenant_code == resident.tenant_code,
        sa.or_(*(AuditRecord.after.like(f'%"{target}"%') for target in targets))))
    for row in searches:
        after = _json(row.after)
        steps = after.get("steps") if isinstance(after.get("steps"), list) else []
        if any(isinstance(step, dict) and step.get("action") == LOOKUP_ACTION and step.get("target_id") in targets
               for step in steps):
            found.append((row, _text(after.get("reason"))))
    return sorted(found, key=lambda pair: pair[0].seq, reverse=True)


def desk_lookups(session: Session, resident: Resident, lang: str = "ja") -> list[DeskLookup]:
    """Each look-up of the resident by municipal staff, newest first (see the module's rule)."""
    pairs = _lookup_rows(session, resident)
    rows = [row for row, _ in pairs]
    names = _staff_names(session, rows)
    places = _municipalities(session, {row.tenant_code for row in rows if row.tenant_code}, lang)
    unnamed = STAFF_UNNAMED[_index(lang)]
    return [DeskLookup(seq=row.seq, at=_jst(row.occurred_at),
                       who=(row.actor_name if row.actor_name and row.actor_name != row.actor_subject
                            else names.get(row.actor_subject, unnamed)),
                       municipality=places.get(row.tenant_code, row.tenant_code or ""),
                       reason=reason) for row, reason in pairs]


# --- the services' requests -----------------------------------------------------------------------

def service_request_words(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """A linkage row (:func:`residents.portal_records.history`) with its items asked, given and refused in words:
    an allowed request gave every item it asked (the brokerage asks the check only for the items the resident
    ticked); a refused one gave none."""
    asked = item_words(row["items"], lang)
    return {**row, "asked": asked, "given": asked if row["allowed"] else [],
            "refused": [] if row["allowed"] else asked}


# --- the resident's own items ---------------------------------------------------------------------

def own_items(resident: Resident, keys, lang: str = "ja") -> list[tuple[str, str]]:
    """The resident's 基本4情報 as (label, value), decrypted for them (the caller is their own session); empty
    once erased."""
    from residents.operations import personal_items

    if resident.erased_at is not None:
        return []
    plain = personal_items(resident, keys)
    index = _index(lang)
    if plain.get("sex"):
        plain["sex"] = Sex(plain["sex"]).label[index]
    return [(FIELD_LABELS[field][index], plain.get(field) or "") for field in ENCRYPTED_FIELDS]


# --- disputing a record ---------------------------------------------------------------------------

RECORD_KINDS = {"lookup": ("窓口での閲覧の記録", "record of a look-up at the desk"),
                "linkage": ("サービスへの提供の記録", "record of a service's request")}


@dataclasses.dataclass(frozen=True)
class DisputedRecord:
    kind: str
    seq: int
    label_ja: str
    label_en: str

    @property
    def ref(self) -> str:
        return f"{self.kind}-{self.seq}"


def _is_own_record(session: Session, resident: Resident, kind: str, seq: int) -> bool:
    """Whether the resident's own history holds the record of this kind (lookup, linkage) and number."""
    if kind == "lookup":
        return seq in {row.seq for row in desk_lookups(session, resident)}
    if kind == "linkage":
        query = _linkage_query(resident, _links(session, resident))
        return query is not None and session.scalar(
            sa.select(sa.func.count()).select_from(query.where(LinkageRecord.seq == seq).subquery())) > 0
    return False


def disputed_record(session: Session, resident: Resident, ref: str) -> DisputedRecord:
    """The record ``lookup-<seq>`` or ``linkage-<seq>`` of the resident's own, or not found (another person's
    record is never named)."""
    kind, _, number = (ref or "").partition("-")
    seq = int(number) if number.isdigit() and len(number) <= 18 else None
    if seq is None or not _is_own_record(session, resident, kind, seq):
        raise NotFound("No such record of yours.", "該当するあなたの記録は見つかりません。")
    ja, en = RECORD_KINDS[kind]
    return DisputedRecord(kind, seq, f"{ja}（番号 {seq}）", f"{en} (number {seq})")


class DisputeInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("Your dispute has a problem; nothing was sent.", "異議の内容に誤りがあります。送信していません。",
                         problems=problems)


def dispute(session: Session, actor: Actor, resident: Resident, ref: str, text: str) -> int:
    """The resident disputes one of their records: the inquiry's number (see the module's rule)."""
    from secretariat.inquiries import InquiryDraft, InquiryInvalid, record_on_behalf

    record = disputed_record(session, resident, ref)
    if record.ref in disputes_sent(session, resident):  # one inquiry a record: its answer shows with the resident's questions
        raise Conflict("You have already disputed this record: the secretariat's answer shows with your questions.",
                       "この記録にはすでに異議を申し立てています。事務局の回答は、ほかの問い合わせとともに表示されます。")
    text = (text or "").strip("\r\n ")
    wrong = text_field_problem("text", text, "description of what is wrong", "異議の内容", DISPUTE_MAX, required=True, single_line=False)
    if wrong is not None:
        raise DisputeInvalid([wrong])
    # the inquiry never names the resident: the row of resident_inquiry ties it to them (as a question asked
    # on the portal is), shown at the desk only to those who may read residents (data_inquiries.desk_facts)
    draft = InquiryDraft(inquirer_kind="resident", channel="portal", category="personal_data",
                         subject=f"住民ポータルからの異議：{record.label_ja}",
                         question=f"異議の対象：{record.label_ja}（{record.ref}）\n\n{text}",
                         tenant_code=resident.tenant_code)
    try:
        inquiry = record_on_behalf(session, actor, draft)
    except InquiryInvalid as error:  # only the text can be wrong here: said beside the form's one field
        raise DisputeInvalid([problem("text", p["message_en"], p["message_ja"]) for p in error.problems]) from None
    session.add(ResidentInquiry(resident_id=resident.id, inquiry_id=inquiry.id, tenant_code=resident.tenant_code))
    session.add(ResidentNotice(
        resident_id=resident.id, kind=DISPUTE_KIND, title_ja="異議を送信しました", title_en="Your dispute was sent",
        body_ja=f"{record.label_ja}への異議を事務局に送信しました（受付番号 {inquiry.id}）。"
                f"{inquiry.due_on:%Y年%m月%d日}までに回答します。",
        body_en=f"Your dispute of the {record.label_en} was sent to the secretariat (inquiry number {inquiry.id}). "
                f"It will be answered by {inquiry.due_on.isoformat()}."))
    session.flush()
    audit.record(session, actor, "resident.dispute", "resident", resident.common_id or f"resident-{resident.uid}",
                 tenant_code=resident.tenant_code, after={"disputed_record": record.ref, "inquiry_id": inquiry.id})
    return inquiry.id


def disputes_sent(session: Session, resident: Resident) -> set[str]:
    """The records the resident has disputed (``lookup-<seq>``, ``linkage-<seq>``), from their audit records."""
    rows = session.scalars(sa.select(AuditRecord.after).where(
        AuditRecord.target_type == "resident", AuditRecord.target_id.in_(_targets(session, resident)),
        AuditRecord.action == "resident.dispute"))
    return {record for record in (_text(_json(after).get("disputed_record")) for after in rows) if record}
