"""/api/v1: the official letters of a run (納入通知書) and the prefecture's settings that they carry.

Who may do what is decided by :mod:`billing.documents` and :mod:`tenancy.registry.prefecture`:
finance issues and reissues letters; a letter is read with ``billing.read`` on its tenant (a
municipal admin their own); a run's batch needs every tenant's grant; the operator edits the
settings, which finance, the operator and the auditor read.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Literal

from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.api.contract import media
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from billing import documents, letter_files, reminders
from billing.models import LetterFileKind, Reminder, StatementDocument
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.validation import ID_RANGE, TenantCode
from tenancy.registry.prefecture import PrefectureSettingsIn, read_settings, settings_summary, update_settings

bp = StrictAPIBlueprint("api_letters", __name__, url_prefix=API_PREFIX, abp_tags=tag("letters", "納入通知書と県の設定 / letters and settings"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

PDF = "application/pdf"


class RunPath(BaseModel):
    run_id: int = Field(**ID_RANGE)


class LetterPath(BaseModel):
    code: TenantCode
    fiscal_year: int = Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)


class IssueBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_on: dt.date | None = Field(default=None, description="納期限; by default the settings' days after today")


class LettersQuery(BaseModel):
    format: Literal["json", "pdf"] = "json"


class LetterOut(BaseModel):
    tenant_code: str
    fiscal_year: int
    run_id: int
    number: str = Field(description="文書番号, e.g. デ戦第12号")
    issued_on: dt.date
    due_on: dt.date = Field(description="納期限")
    reissue_count: int
    reissued_on: dt.date | None
    sha256: str | None = Field(default=None, description="SHA-256 of the file sent (its newest edition); a download gives that file")


class LettersOut(BaseModel):
    letters: list[LetterOut]


class SettingsOut(BaseModel):
    issuer_title: str
    issuer_name: str
    office: str
    office_address: str
    office_phone: str
    office_email: str = Field(description="\"\" when none is given")
    bank_name: str
    bank_branch: str
    account_type: Literal["ordinary", "current"]
    account_number: str
    account_holder: str
    document_symbol: str
    payment_days: int
    consortium_name: str
    seal: Literal["omitted", "printed"] = Field(description="Letters carry 「公印省略」 (omitted) or the printed seal")
    closed_days: str = Field(description="The office's own closed days, ISO dates one a line (weekends, holidays and "
                                         "12/29-1/3 are closed days without being listed)")


def _letter_out(document: StatementDocument) -> dict:
    kept = letter_files.latest(db.session, LetterFileKind.statement, document.id)
    return {"sha256": kept.sha256 if kept is not None else None,
            "tenant_code": document.tenant_code, "fiscal_year": document.fiscal_year, "run_id": document.run_id,
            "number": document.number, "issued_on": document.issued_on.isoformat(), "due_on": document.due_on.isoformat(),
            "reissue_count": document.reissue_count,
            "reissued_on": document.reissued_on.isoformat() if document.reissued_on else None}


def _pdf(data: bytes, stem: str, label_ja: str) -> Response:
    response = Response(data, mimetype=PDF)
    quoted = urllib.parse.quote(f"{label_ja}.pdf")
    response.headers["Content-Disposition"] = f"attachment; filename=\"{stem}.pdf\"; filename*=UTF-8''{quoted}"
    return response


@bp.post("/billing/runs/<int:run_id>/letters", responses={201: LettersOut},
         summary="Issue the letters (納入通知書) of a posted run: numbers each municipality's letter once")
def issue_letters(path: RunPath, body: IssueBody):
    issued = documents.issue_documents(db.session, current_actor(), path.run_id, due_on=body.due_on)
    return jsonify({"letters": [_letter_out(document) for document in issued]}), 201


@bp.get("/billing/runs/<int:run_id>/letters", responses={200: media(LettersOut, PDF)},
        summary="A run's issued letters, as a list or as one PDF (one A4 page each)")
def run_letters(path: RunPath, query: LettersQuery):
    letters = documents.run_letters(db.session, current_actor(), path.run_id)
    if query.format == "pdf":
        return _pdf(documents.letters_pdf(db.session, current_actor(), letters), f"statements-run-{path.run_id}",
                    f"納入通知書_一括_{letters[0].statement.era}_按分計算{path.run_id}")
    return jsonify({"letters": [_letter_out(found.document) for found in letters]})


@bp.get("/billing/statements/<code>/<int:fiscal_year>/letter", responses={200: media(LetterOut, PDF)},
        summary="A tenant's issued letter for a fiscal year, as its facts or as a one-page PDF")
def letter(path: LetterPath, query: LettersQuery):
    found = documents.issued_letter(db.session, current_actor(), path.code, path.fiscal_year)
    if query.format == "pdf":
        return _pdf(documents.letters_pdf(db.session, current_actor(), [found]), f"statement-{path.code}-FY{path.fiscal_year}",
                    f"納入通知書_{found.statement.tenant_name}_{found.statement.era}")
    return jsonify(_letter_out(found.document))


@bp.post("/billing/statements/<code>/<int:fiscal_year>/letter/reissue", responses={200: LetterOut},
         summary="Reissue a letter: the same number, marked 再発行")
def reissue_letter(path: LetterPath):
    return jsonify(_letter_out(documents.reissue_document(db.session, current_actor(), path.code, path.fiscal_year)))


# --- reminders (督促状) ----------------------------------------------------------------------------------

class StatementRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_code: TenantCode
    fiscal_year: int = Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)


class ReminderIssueBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    statements: list[StatementRef] = Field(min_length=1, max_length=2000,
                                           description="The statements to remind (each unpaid after its due date)")
    due_on: dt.date = Field(description="新たな納期限: a date after today (in Japan)")


class ReminderPath(BaseModel):
    reminder_id: int = Field(**ID_RANGE)


class ReminderOut(BaseModel):
    id: int
    tenant_code: str
    fiscal_year: int
    number: str = Field(description="文書番号 of the 督促状 (the office's one letter sequence)")
    letter_number: str = Field(description="文書番号 of the letter it follows (納入通知書 or 精算書)")
    issued_on: dt.date = Field(description="The day it was sent")
    due_on: dt.date = Field(description="新たな納期限")
    amount: int = Field(description="Yen unpaid when it was sent")
    paid_on: dt.date | None = Field(description="The day a payment paid the statement off; null while unpaid")
    sha256: str | None = Field(description="SHA-256 of the file sent; a download gives that file")


class RemindersOut(BaseModel):
    reminders: list[ReminderOut]


class OverdueOut(BaseModel):
    tenant_code: str
    tenant_name: str
    fiscal_year: int
    owed: int = Field(description="Yen still unpaid")
    letter_number: str
    due_on: dt.date = Field(description="納期限 of the statement's newest letter, passed")
    reminders: list[ReminderOut]


class OverdueListOut(BaseModel):
    statements: list[OverdueOut]


def _reminder_out(reminder: Reminder) -> dict:
    kept = letter_files.latest(db.session, LetterFileKind.reminder, reminder.id)
    document = db.session.get(StatementDocument, reminder.document_id)
    return {"id": reminder.id, "tenant_code": reminder.tenant_code, "fiscal_year": reminder.fiscal_year,
            "number": reminder.number, "letter_number": document.number if document is not None else "",
            "issued_on": reminder.issued_on.isoformat(), "due_on": reminder.due_on.isoformat(), "amount": reminder.amount,
            "paid_on": reminder.paid_on.isoformat() if reminder.paid_on else None,
            "sha256": kept.sha256 if kept is not None else None}


@bp.get("/billing/reminders/overdue", responses={200: OverdueListOut},
        summary="The statements unpaid after their due date today (finance's reminder list)")
def overdue_statements():
    return jsonify({"statements": [
        {"tenant_code": item.tenant_code, "tenant_name": item.tenant_name, "fiscal_year": item.fiscal_year,
         "owed": item.owed, "letter_number": item.document.number, "due_on": item.due_on.isoformat(),
         "reminders": [_reminder_out(reminder) for reminder in item.reminders]}
        for item in reminders.overdue_list(db.session, current_actor())]})


@bp.post("/billing/reminders", responses={201: RemindersOut},
         summary="Send a numbered 督促状 (one A4 page) for each statement, with a new due date")
def issue_reminders(body: ReminderIssueBody):
    issued = reminders.issue_reminders(db.session, current_actor(),
                                       [(ref.tenant_code, ref.fiscal_year) for ref in body.statements], body.due_on)
    return jsonify({"reminders": [_reminder_out(reminder) for reminder in issued]}), 201


@bp.get("/billing/statements/<code>/<int:fiscal_year>/reminders", responses={200: RemindersOut},
        summary="The reminders sent for a tenant's statement of a fiscal year")
def statement_reminders(path: LetterPath):
    return jsonify({"reminders": [_reminder_out(reminder) for reminder
                                  in reminders.reminders_of(db.session, current_actor(), path.code, path.fiscal_year)]})


@bp.get("/billing/reminders/<int:reminder_id>", responses={200: media(ReminderOut, PDF)},
        summary="One reminder, as its facts or as the PDF sent")
def reminder(path: ReminderPath, query: LettersQuery):
    if query.format == "pdf":
        found, content = reminders.reminder_file(db.session, current_actor(), path.reminder_id)
        return _pdf(content, f"reminder-{found.tenant_code}-FY{found.fiscal_year}-{found.id}", f"督促状_{found.number}")
    return jsonify(_reminder_out(reminders.get_reminder(db.session, current_actor(), path.reminder_id)))


# --- the prefecture's settings ----------------------------------------------------------------------------

def _settings_out(saved) -> dict:
    return settings_summary(saved)


@bp.get("/settings/prefecture", responses={200: SettingsOut},
        summary="The prefecture's settings that letters carry (issuer, office, bank, numbering)")
def settings():
    return jsonify(_settings_out(read_settings(db.session, current_actor())))


@bp.put("/settings/prefecture", responses={200: SettingsOut}, summary="Set the prefecture's settings (operator)")
def write_settings(body: PrefectureSettingsIn):
    return jsonify(_settings_out(update_settings(db.session, current_actor(), body)))


# --- 負担金見込額: the estimates for the municipalities' budget requests --------------------------------------

class YearPath(BaseModel):
    fiscal_year: int = Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)


class EstimateIssueBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    billing_month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
                               description="When the 概算 納入通知書 is expected to go out (YYYY-MM, a month of the year)")


class EstimateLineOut(BaseModel):
    tenant_code: str
    tenant_name: str
    amount: int = Field(description="負担金見込額 (yen)")
    components: dict[str, int]
    number: str | None = Field(default=None, description="文書番号 of the issued letter")
    version: int | None = None
    issued_on: dt.date | None = None


class EstimateBudgetOut(BaseModel):
    id: int
    version: int
    status: str = Field(description="adopted (議決済み) or draft (案)")
    amounts: dict[str, int] = Field(description="Yen per cost category")
    total: int


class EstimateGrantOut(BaseModel):
    name: str
    rate: str
    amount: int = Field(description="What the grant is expected to fund (yen)")
    basis: str = Field(description="交付決定額 or 申請額: the amount that caps it")


class EstimatePolicyOut(BaseModel):
    id: int | None = None
    name: str
    version: int


class EstimateAssumptionsOut(BaseModel):
    budget: EstimateBudgetOut
    policy: EstimatePolicyOut
    cost_total: int = Field(description="事業費 (the budget)")
    grants: list[EstimateGrantOut]
    grant_total: int
    shared_total: int = Field(description="負担対象額")
    prefecture_share: int
    population_as_of: str = Field(description="The day the registry's populations were read")
    usage_year: int = Field(description="The fiscal year whose usage is taken")
    months: int
    billing_month: str | None = Field(default=None, description="When the 概算 charge goes out (issued letters)")


class EstimatesOut(BaseModel):
    fiscal_year: int
    version: int | None = Field(default=None, description="The issued version shown (the latest); none issued yet")
    letters: list[EstimateLineOut]
    assumptions: EstimateAssumptionsOut | None = None


def _estimates_out(fiscal_year: int, issued) -> dict:
    from billing import estimates

    summaries = [estimates.estimate_summary(letter) for letter in issued]
    return {"fiscal_year": fiscal_year, "version": summaries[0]["version"] if summaries else None,
            "assumptions": summaries[0]["assumptions"] if summaries else None,
            "letters": [{key: summary[key] for key in ("tenant_code", "tenant_name", "amount", "components", "number",
                                                        "version", "issued_on")} for summary in summaries]}


@bp.get("/billing/fiscal-years/<int:fiscal_year>/estimates", responses={200: media(EstimatesOut, PDF)},
        summary="The year's issued 負担金見込額 letters (the latest version), as a list or as one PDF")
def estimates_issued(path: YearPath, query: LettersQuery):
    from billing import estimates

    issued = estimates.issued_estimates(db.session, current_actor(), path.fiscal_year)
    if query.format == "pdf":
        return _pdf(estimates.estimates_pdf(db.session, current_actor(), issued), f"estimates-FY{path.fiscal_year}",
                    f"負担金見込額通知_{path.fiscal_year}年度")
    return jsonify(_estimates_out(path.fiscal_year, issued))


@bp.get("/billing/fiscal-years/<int:fiscal_year>/estimates/preview", responses={200: EstimatesOut},
        summary="What the year's 負担金見込額 would be now, from its budget and expected grants (issues nothing)")
def estimates_preview(path: YearPath):
    from billing import estimates

    found = estimates.compute_estimate(db.session, current_actor(), path.fiscal_year)
    return jsonify({"fiscal_year": path.fiscal_year, "version": None, "assumptions": found.assumptions,
                    "letters": [{"tenant_code": line.tenant_code, "tenant_name": line.tenant_name, "amount": line.amount,
                                 "components": line.components} for line in found.lines]})


@bp.post("/billing/fiscal-years/<int:fiscal_year>/estimates", responses={201: EstimatesOut},
         summary="Issue the year's 負担金見込額 letters: one numbered letter per municipality (a new version)")
def estimates_issue(path: YearPath, body: EstimateIssueBody):
    from billing import estimates

    issued = estimates.issue_estimates(db.session, current_actor(), path.fiscal_year, billing_month=body.billing_month)
    return jsonify(_estimates_out(path.fiscal_year, issued)), 201
