"""/api/v1/billing/bank-files, /bank-lines and /payments: payments from the bank's files, and the manual
payment that two people decide. The rules, matching and audit records are :mod:`billing.bank_reconciliation`'s."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from billing import bank_files, bank_reconciliation as bank, ledger
from billing.ledger_errors import InvalidBillingData
from billing.schemas import ManualPaymentCreate
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.errors import Invalid, problem
from core.validation import ID_RANGE, TenantCode

bp = StrictAPIBlueprint("api_bank", __name__, url_prefix=API_PREFIX, abp_tags=tag("billing", "負担金 / cost sharing"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


class BankFileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: Annotated[str, StringConstraints(max_length=255)] = ""
    content_base64: str = Field(max_length=bank.MAX_FILE_BYTES * 4 // 3 + 4, json_schema_extra={"pattern": BASE64},
                                description="The bank's file, base64: a 全銀協 入出金取引明細 or 振込入金通知 (200-byte "
                                            "records, JIS X 0201 / Shift_JIS), or a CSV of 日付, 金額, 振込依頼人, 参照")


class RefusedLineOut(BaseModel):
    line: int = Field(description="The line of the file refused: it repeats an earlier line of the same file")
    repeats: int


class BankFileOut(BaseModel):
    id: int
    kind: str
    kind_ja: str
    credits: int
    total: int = Field(description="Yen")
    refused: list[RefusedLineOut]


class StatementChoiceOut(BaseModel):
    tenant_code: str
    tenant_name: str
    fiscal_year: int
    owed: int
    document_numbers: list[str]
    amount_matches: bool
    payer_matches: bool
    reference_matches: bool


class BankLineOut(BaseModel):
    id: int
    file_id: int
    line: int
    booked_on: dt.date
    amount: int
    payer: str
    reference: str
    bank_ref: str
    confirmed: bool
    entry_id: int | None
    tenant_code: str | None
    fiscal_year: int | None
    match: StatementChoiceOut | None
    suggestions: list[StatementChoiceOut]


class BankLinesOut(BaseModel):
    lines: list[BankLineOut]


class BankLinesQuery(BaseModel):
    open: bool = Field(default=False, description="Only the lines not confirmed yet")
    file_id: int | None = Field(default=None, **ID_RANGE)


class LinePath(BaseModel):
    line_id: int = Field(**ID_RANGE)


class ConfirmBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_code: TenantCode
    fiscal_year: int = Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)


class ConfirmedOut(BaseModel):
    bank_line_id: int
    entry_id: int
    tenant_code: str
    fiscal_year: int
    balance: int = Field(description="What the tenant still owes for the year, yen")


class ConfirmedManyOut(BaseModel):
    confirmed: list[ConfirmedOut]


class ManualPath(BaseModel):
    request_id: int = Field(**ID_RANGE)


class ManualPaymentOut(BaseModel):
    id: int
    tenant_code: str
    fiscal_year: int
    amount: int
    received_on: dt.date
    reference: str
    reason: str
    requested_by: str
    approved_by: str
    entry_id: int | None


def _choice(candidate: bank.Candidate) -> dict:
    statement = candidate.statement
    return {"tenant_code": statement.tenant_code, "tenant_name": statement.tenant_name, "fiscal_year": statement.fiscal_year,
            "owed": statement.owed, "document_numbers": list(statement.document_numbers),
            "amount_matches": candidate.amount, "payer_matches": candidate.payer, "reference_matches": candidate.reference}


def _line(view: bank.LineView) -> dict:
    line, payment = view.line, view.payment
    return {"id": line.id, "file_id": line.file_id, "line": line.line_no, "booked_on": line.booked_on.isoformat(),
            "amount": line.amount, "payer": line.payer, "reference": line.reference, "bank_ref": line.bank_ref,
            "confirmed": payment is not None, "entry_id": payment.entry_id if payment else None,
            "tenant_code": payment.tenant_code if payment else None, "fiscal_year": payment.fiscal_year if payment else None,
            "match": _choice(view.match) if view.match else None, "suggestions": [_choice(c) for c in view.suggestions]}


def _confirmed(payment) -> dict:
    return {"bank_line_id": payment.bank_line_id, "entry_id": payment.entry_id, "tenant_code": payment.tenant_code,
            "fiscal_year": payment.fiscal_year,
            "balance": ledger.tenant_balance(db.session, payment.tenant_code, fiscal_year=payment.fiscal_year)}


def _manual(request) -> dict:
    return {"id": request.id, "tenant_code": request.tenant_code, "fiscal_year": request.fiscal_year,
            "amount": request.amount, "received_on": request.received_on.isoformat(), "reference": request.reference,
            "reason": request.reason, "requested_by": request.requested_by, "approved_by": request.approved_by,
            "entry_id": request.entry_id}


@bp.post("/billing/bank-files", responses={201: BankFileOut},
         summary="Import a bank file of money received, all or nothing (a repeated file or credit is refused)")
def import_bank_file(body: BankFileBody):
    try:
        raw = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("content_base64 is not base64.", "content_base64 が base64 ではありません。",
                      problems=[problem("content_base64", "Not base64.", "base64 ではありません。")]) from None
    try:
        result = bank.import_bank_file(db.session, current_actor(), raw, body.filename)
    except InvalidBillingData as error:  # the file's content is the body's content_base64
        error.problems = [{**p, "field": "content_base64"} if p.get("field") == "file" else p for p in error.problems]
        raise
    return jsonify({"id": result.file.id, "kind": result.file.kind, "kind_ja": bank_files.KIND_LABELS[result.file.kind][0],
                    "credits": result.file.credit_count, "total": result.file.credit_total,
                    "refused": [{"line": line, "repeats": earlier} for line, earlier in result.refused]}), 201


@bp.get("/billing/bank-lines", responses={200: BankLinesOut},
        summary="The bank's credits, each with its payment, or the statement it matches and suggestions")
def list_bank_lines(query: BankLinesQuery):
    views = bank.bank_lines(db.session, current_actor(), open_only=query.open, file_id=query.file_id)
    return jsonify({"lines": [_line(view) for view in views]})


@bp.post("/billing/bank-lines/<int:line_id>/confirm", responses={201: ConfirmedOut},
         summary="Record a bank line as the payment of a tenant's statement for a fiscal year")
def confirm_bank_line(path: LinePath, body: ConfirmBody):
    payment = bank.confirm_line(db.session, current_actor(), path.line_id, body.tenant_code, body.fiscal_year)
    return jsonify(_confirmed(payment)), 201


@bp.post("/billing/bank-lines/confirm-matched", responses={200: ConfirmedManyOut},
         summary="Record every bank line that matches exactly one statement")
def confirm_matched():
    return jsonify({"confirmed": [_confirmed(payment) for payment in bank.confirm_matched(db.session, current_actor())]})


@bp.post("/billing/payments", responses={201: ManualPaymentOut},
         summary="Ask for a payment with no bank line (a reason; another finance officer approves it)")
def request_manual_payment(body: ManualPaymentCreate):
    return jsonify(_manual(bank.request_manual_payment(db.session, current_actor(), body))), 201


@bp.post("/billing/payments/<int:request_id>/approve", responses={201: ManualPaymentOut},
         summary="Approve a manual payment (not the person who asked): the payment is recorded")
def approve_manual_payment(path: ManualPath):
    return jsonify(_manual(bank.approve_manual_payment(db.session, current_actor(), path.request_id))), 201
