"""Receipts (受付の通知, issue 59 item 6): the representative's contact is told of each declaration of participation
and each proposal renkei took, with its receipt number and the moment it was received (as e-Rad tells an
applicant), through the outbox; the result of each stage is the selection's own notice (competition.selection).
The representative's people see what was received when on their entry page (:func:`received`).

Withdrawals, amendments and resubmissions (competition/versions.py) have receipts too.

A receipt number is the call's fiscal year, the kind (D: declaration, P: proposal or its resubmitted version, DA: a
declaration's documents amended, DW and PW: a declaration or a proposal withdrawn) and the record's number:
``2025-D00003``. The message lists the files taken with their size and SHA-256, so that an applicant can tell
which file renkei holds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from competition.models import Call, Declaration, Document, DocumentKind, Proposal
from core import outbox
from core.calendar import jst_text
from tenancy.members.models import Organisation
from tenancy.registry.models import Tenant

RECEIPT_KIND = "competition.receipt"
KINDS = {"declaration": ("D", "参加表明書", "declaration of participation"),
         "proposal": ("P", "企画提案書・積算書", "proposal and estimate"),
         # issue 59 item 2 (competition/versions.py): a resubmission is a proposal's next version (its own P number);
         # a withdrawal's number is the withdrawn row's, an amendment's its first new document's
         "resubmission": ("P", "企画提案書・積算書の再提出", "proposal and estimate resubmitted"),
         "proposal_withdrawal": ("PW", "企画提案書の取下げ", "proposal withdrawn"),
         "declaration_withdrawal": ("DW", "参加表明の取下げ", "declaration of participation withdrawn"),
         "amendment": ("DA", "参加表明書類の差替え", "declaration's documents amended")}
WITHDRAWALS = {"proposal_withdrawal", "declaration_withdrawal"}


def addressee(session: Session, representative: str) -> tuple[str, str, str | None]:
    """The representative's name, its contact address and its tenant (a municipality represents itself)."""
    org = session.scalars(sa.select(Organisation).where(Organisation.corporate_number == representative)).first()
    if org is not None:
        return org.name, org.contact_email, None
    tenant = session.scalars(sa.select(Tenant).where(Tenant.code == representative[7:])).first()
    if tenant is not None:
        return tenant.name_ja, outbox.recipients_of(tenant), tenant.code
    return representative, "", None


def number_of(kind: str, fiscal_year: int, row_id: int) -> str:
    return f"{fiscal_year}-{KINDS[kind][0]}{row_id:05d}"


def send(session: Session, call: Call, declaration: Declaration, kind: str, row_id: int, received_at: dt.datetime,
         documents: list[Document]) -> str:
    """Queue the receipt of a declaration or a proposal for the representative's contact; its number."""
    number = number_of(kind, call.fiscal_year, row_id)
    name, address, tenant_code = addressee(session, declaration.representative)
    what = KINDS[kind][1]
    files = "\n".join(f"・{DocumentKind(d.kind).ja}：{d.filename}（{d.size:,} バイト、SHA-256 {d.sha256}）"
                      for d in documents)
    files_label = "取り下げたファイル" if kind in WITHDRAWALS else "受け付けたファイル"
    body = (f"{name} 御中\n\n{call.title}について、提案グループ「{declaration.group_name}」の{what}を受け付けました。\n\n"
            f"受付番号：{number}\n受付日時：{jst_text(received_at)}（日本時間）\n{files_label}：\n{files}\n\n"
            "このメールは renkei から自動で送信しています。")
    outbox.queue(session, kind=RECEIPT_KIND, subject=f"【受付番号 {number}】{what}を受け付けました（{call.title}）",
                 body=body, tenant_code=tenant_code, recipients=address, dedupe_key=f"competition-receipt:{number}")
    return number


@dataclasses.dataclass(frozen=True)
class Received:
    call_title: str
    group_name: str
    what_ja: str
    number: str
    at: dt.datetime


def received(session: Session, group_ids: list[int]) -> list[Received]:
    """What renkei took of these project groups (those the reader represents: competition.operations'
    groups_represented), newest first: each declaration and proposal with its receipt number and moment."""
    if not group_ids:
        return []
    declarations = list(session.scalars(sa.select(Declaration).where(Declaration.group_id.in_(group_ids))))
    if not declarations:
        return []
    calls = {c.id: c for c in session.scalars(sa.select(Call).where(Call.id.in_({d.call_id for d in declarations})))}
    by_id = {d.id: d for d in declarations}
    rows = [Received(calls[d.call_id].title, d.group_name, KINDS["declaration"][1],
                     number_of("declaration", calls[d.call_id].fiscal_year, d.id), d.declared_at) for d in declarations]
    rows += [Received(calls[d.call_id].title, d.group_name, KINDS["declaration_withdrawal"][1],
                      number_of("declaration_withdrawal", calls[d.call_id].fiscal_year, d.id), d.withdrawn_at)
             for d in declarations if d.withdrawn_at is not None]
    for p in session.scalars(sa.select(Proposal).where(Proposal.declaration_id.in_(by_id))):
        d = by_id[p.declaration_id]
        kind = "resubmission" if p.version > 1 else "proposal"
        rows.append(Received(calls[d.call_id].title, d.group_name, KINDS[kind][1],
                             number_of(kind, calls[d.call_id].fiscal_year, p.id), p.submitted_at))
        if p.withdrawn_at is not None and p.withdrawn_at != d.withdrawn_at:  # on its own, not with the declaration
            rows.append(Received(calls[d.call_id].title, d.group_name, KINDS["proposal_withdrawal"][1],
                                 number_of("proposal_withdrawal", calls[d.call_id].fiscal_year, p.id), p.withdrawn_at))
    return sorted(rows, key=lambda r: r.at, reverse=True)
