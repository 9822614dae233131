"""A resident asks how their data is used (issue 56 item 6): 「データの使われ方について問い合わせる」 in the portal.

* :func:`ask`: the signed-in resident asks about one of the services linked to them (their current links,
  :func:`residents.portal.my_links`) or 「その他・わからない」; the question is checked (required, at most
  :data:`QUESTION_MAX` characters, no control characters) and every problem is given at once, each beside its
  field. It opens an inquiry at the secretariat's desk (:func:`secretariat.inquiries.record_on_behalf`: category
  個人情報・同意, channel 住民ポータル, the municipality's code, due in the desk's business days) and a
  :class:`residents.models.ResidentInquiry` row saying who asked and about which service. Audited twice with
  the resident as the actor: ``inquiry.submit`` (the inquiry) and ``resident.data_inquiry`` (the resident's
  common ID as the target, the inquiry's number and the service; never the text).
* **Least privilege**: the inquiry itself never names the resident. Its subject names the service, its question
  is only what the resident typed, its inquirer is 「住民」 of the municipality. The secretariat's desk
  (``inquiry.read``: the operator and the auditor, who hold no ``resident.read``) therefore sees the
  question, the service and the municipality, and answers it into the portal without learning who asked.
  :func:`desk_facts` gives the desk's pages the service and, only to an actor allowed ``resident.read`` for that
  municipality (its residents' desk), the resident's common ID; the 基本4情報 are never shown with an inquiry
  (those allowed look the resident up at the desk, with a reason, as every look-up is).
* :func:`my_inquiries`: the resident's own questions (asked under their common ID or one merged into it), newest first, with their status in the resident's words
  (受付済, 対応中, 回答済, 完了) and the desk's answers (kept with the inquiry: an inquiry from the portal is
  answered there, never by mail). Nobody else's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.calendar import date_ja, jst_text
from core.errors import Invalid, problem
from core.validation import text_field_problem
from residents.consent.models import DataService
from residents.models import Resident, ResidentInquiry
from residents.portal import my_links

QUESTION_MAX = 2000
OTHER = "other"
OTHER_WORDS = ("その他・わからない", "Other, or I do not know")
SUBJECT_JA = "データの使われ方について"
ACTION = "resident.data_inquiry"

# the desk's statuses as the resident reads them (secretariat.inquiries.InquiryStatus's values)
STATUS_WORDS = {"received": ("受付済", "Received"), "in_progress": ("対応中", "Being handled"),
                "answered": ("回答済", "Answered"), "closed": ("完了", "Closed")}


def _index(lang: str) -> int:
    return 0 if lang == "ja" else 1


def _day(day: dt.date, lang: str) -> str:
    """A day as the resident reads it: the era year in Japanese (令和8年11月26日), ISO in English."""
    return date_ja(day) if lang == "ja" else day.isoformat()


def service_choices(session: Session, resident: Resident, lang: str = "ja") -> list[tuple[str, str]]:
    """The picker's choices: each service linked to the resident now, by name, then 「その他・わからない」."""
    return [(str(service.id), service.name) for _, service in my_links(session, resident)] + \
        [(OTHER, OTHER_WORDS[_index(lang)])]


class DataInquiryInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("Your question has problems; nothing was sent.", "問い合わせの内容に誤りがあります。送信していません。",
                         problems=problems)


def _service(session: Session, resident: Resident, choice: str) -> tuple[DataService | None, dict[str, str] | None]:
    """The service chosen (None for 「その他・わからない」), or the problem: none chosen, or not linked to the resident."""
    choice = (choice or "").strip()
    if not choice:
        return None, problem("service", "Choose the service your question is about, or 「その他・わからない」.",
                             "問い合わせるサービスを選んでください（わからない場合は「その他・わからない」）。")
    if choice == OTHER:
        return None, None
    linked = {str(service.id): service for _, service in my_links(session, resident)}
    if choice not in linked:
        return None, problem("service", "You can ask only about a service linked to you, or choose 「その他・わからない」.",
                             "あなたが連携しているサービスか「その他・わからない」を選んでください。")
    return linked[choice], None


def _recorded_inquiry(session: Session, actor: Actor, draft, response_days: int | None):
    """The secretariat's inquiry for the resident's question; its refusal said beside the question field."""
    from secretariat.inquiries import DEFAULT_RESPONSE_DAYS, InquiryInvalid, record_on_behalf

    try:
        return record_on_behalf(session, actor, draft, response_days=response_days or DEFAULT_RESPONSE_DAYS)
    except InquiryInvalid as error:  # only the question can be wrong here: said beside its field
        raise DataInquiryInvalid([problem("question", p["message_en"], p["message_ja"]) for p in error.problems]) from None


def ask(session: Session, actor: Actor, resident: Resident, service_choice: str, question: str, *,
        response_days: int | None = None) -> ResidentInquiry:
    """The resident asks how their data is used (see the module's rule); the row saying who asked what."""
    from secretariat.inquiries import InquiryDraft

    service, wrong_service = _service(session, resident, service_choice)
    question = (question or "").strip("\r\n ")
    found = [p for p in (wrong_service, text_field_problem("question", question, "question", "問い合わせ内容",
                                                            QUESTION_MAX, required=True, single_line=False)) if p]
    if found:
        raise DataInquiryInvalid(found)
    about = service.name if service is not None else OTHER_WORDS[0]
    draft = InquiryDraft(inquirer_kind="resident", channel="portal", category="personal_data",
                         subject=f"{SUBJECT_JA}：{about}"[:200], question=question, tenant_code=resident.tenant_code)
    inquiry = _recorded_inquiry(session, actor, draft, response_days)
    row = ResidentInquiry(resident_id=resident.id, inquiry_id=inquiry.id, tenant_code=resident.tenant_code,
                          service_id=service.id if service is not None else None)
    session.add(row)
    session.flush()
    audit.record(session, actor, ACTION, "resident", resident.common_id or f"resident-{resident.uid}",
                 tenant_code=resident.tenant_code,
                 after={"inquiry_id": inquiry.id, "service_id": row.service_id, "due_on": inquiry.due_on.isoformat()})
    return row


@dataclasses.dataclass(frozen=True)
class MyInquiry:
    number: int
    service: str
    asked_on: str
    due_on: str
    status: str
    status_value: str
    question: str
    answers: list[tuple[str, str]]  # (when, the desk's answer)


def _asked_as(resident: Resident) -> sa.Select:
    """The rows the resident may have asked as: their own and the common IDs merged into theirs (the questions stay
    with the row that asked; a merge moves the links, not the questions)."""
    return sa.select(Resident.id).where(sa.or_(Resident.id == resident.id, Resident.merged_into_id == resident.id))


def my_inquiries(session: Session, resident: Resident, lang: str = "ja") -> list[MyInquiry]:
    """The resident's own questions, newest first, with status and answers (see the module's rule)."""
    from secretariat.inquiries import Inquiry, InquiryReply

    index = _index(lang)
    rows = session.execute(sa.select(ResidentInquiry, Inquiry, DataService.name)
                           .join(Inquiry, Inquiry.id == ResidentInquiry.inquiry_id)
                           .outerjoin(DataService, DataService.id == ResidentInquiry.service_id)
                           .where(ResidentInquiry.resident_id.in_(_asked_as(resident)))
                           .order_by(ResidentInquiry.id.desc())).all()
    answers: dict[int, list[tuple[str, str]]] = {}
    if rows:
        for reply in session.scalars(sa.select(InquiryReply).where(
                InquiryReply.inquiry_id.in_([inquiry.id for _, inquiry, _ in rows])).order_by(InquiryReply.id)):
            answers.setdefault(reply.inquiry_id, []).append((jst_text(reply.sent_at), reply.body))
    return [MyInquiry(number=inquiry.id, service=name or OTHER_WORDS[index], asked_on=_day(inquiry.received_on, lang),
                      due_on=_day(inquiry.due_on, lang), status=STATUS_WORDS[inquiry.status.value][index],
                      status_value=inquiry.status.value, question=inquiry.question, answers=answers.get(inquiry.id, []))
            for _, inquiry, name in rows]


@dataclasses.dataclass(frozen=True)
class DeskFacts:
    """What the secretariat's pages show of a resident's question beside the inquiry: the service it is about,
    and the resident's common ID only to those allowed to see the municipality's residents (else None)."""

    service: str
    common_id: str | None


def desk_facts(session: Session, actor: Actor, inquiry_ids: list[int]) -> dict[int, DeskFacts]:
    """The facts of those inquiries that came from the portal (see the module's rule)."""
    if not inquiry_ids:
        return {}
    rows = session.execute(sa.select(ResidentInquiry.inquiry_id, ResidentInquiry.tenant_code, DataService.name,
                                     Resident.common_id)
                           .join(Resident, Resident.id == ResidentInquiry.resident_id)
                           .outerjoin(DataService, DataService.id == ResidentInquiry.service_id)
                           .where(ResidentInquiry.inquiry_id.in_(inquiry_ids)))
    return {inquiry_id: DeskFacts(service=name or OTHER_WORDS[0],
                                  common_id=common_id if authz.allowed(actor, "resident.read", tenant_code) else None)
            for inquiry_id, tenant_code, name, common_id in rows}


def facts_of(session: Session, actor: Actor, inquiry_id: int) -> DeskFacts | None:
    return desk_facts(session, actor, [inquiry_id]).get(inquiry_id)

