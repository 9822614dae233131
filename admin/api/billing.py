"""/api/v1/billing: cost items, allocation policies, runs, the ledger (read-only), payments, statements.

Who may read and change what is decided by the billing operations themselves (see
:mod:`billing.operations`): finance, the operator and the auditor read everything; a municipal
admin or staff member reads the cost items, the policies and their own tenant's statement only;
writes need ``billing.manage`` (finance).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Literal

from flask import Response, current_app, jsonify
from flask_openapi3 import APIBlueprint
from pydantic import BaseModel, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.auth import current_actor
from admin.extensions import db
from billing import ledger, operations, statements
from billing.models import EntryKind
from billing.schemas import AdoptPolicy, CostItemCreate, PaymentCreate, PolicyCreate, RunCreate, RunReverse, RunReview
from core.validation import TenantCode
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, fiscal_year_en, fiscal_year_ja

bp = APIBlueprint("api_billing", __name__, url_prefix=API_PREFIX, abp_tags=tag("billing", "負担金 / cost sharing"),
                  abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

FiscalYearValue = Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR, description="Fiscal year (April–March), e.g. 2025 for 令和7年度")


class IdPath(BaseModel):
    item_id: int = Field(ge=1)


class PolicyPath(BaseModel):
    policy_id: int = Field(ge=1)


class RunPath(BaseModel):
    run_id: int = Field(ge=1)


class YearQuery(BaseModel):
    fiscal_year: int | None = Field(default=None, ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)


class StatementPath(BaseModel):
    code: TenantCode
    fiscal_year: int = FiscalYearValue


class SummaryPath(BaseModel):
    fiscal_year: int = FiscalYearValue


class StatementQuery(BaseModel):
    format: Literal["json", "xlsx", "csv", "html"] = "json"


class SummaryQuery(BaseModel):
    format: Literal["json", "xlsx", "csv"] = "json"


class LedgerQuery(BaseModel):
    as_of: dt.date | None = None
    fiscal_year: int | None = Field(default=None, ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)


class EntriesQuery(BaseModel):
    fiscal_year: int | None = Field(default=None, ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)
    tenant_code: TenantCode | None = None
    run_id: int | None = Field(default=None, ge=1)
    account: str | None = Field(default=None, max_length=64)


# --- cost items -----------------------------------------------------------------------------------

@bp.get("/billing/cost-items", summary="List cost items (費目)")
def list_cost_items(query: YearQuery):
    items = operations.list_cost_items(db.session, current_actor(), query.fiscal_year)
    return jsonify({"items": [operations.cost_item_summary(item) for item in items]})


@bp.post("/billing/cost-items", summary="Enter a cost item (amortised over years for a build cost)")
def create_cost_item(body: CostItemCreate):
    items = operations.create_cost_item(db.session, current_actor(), body)
    return jsonify({"items": [operations.cost_item_summary(item) for item in items]}), 201


@bp.delete("/billing/cost-items/<int:item_id>", summary="Withdraw a cost item (every year of an amortised one)")
def delete_cost_item(path: IdPath):
    operations.delete_cost_item(db.session, current_actor(), path.item_id)
    return "", 204


# --- policies --------------------------------------------------------------------------------------

@bp.get("/billing/policies", summary="List allocation policy versions (按分方式)")
def list_policies():
    policies = operations.list_policies(db.session, current_actor())
    return jsonify({"items": [operations.policy_summary(policy) for policy in policies]})


@bp.get("/billing/policies/<int:policy_id>", summary="Get a policy version")
def get_policy(path: PolicyPath):
    return jsonify(operations.policy_summary(operations.read_policy(db.session, current_actor(), path.policy_id)))


@bp.post("/billing/policies", summary="Record a new policy version (immutable once recorded)")
def create_policy(body: PolicyCreate):
    return jsonify(operations.policy_summary(operations.create_policy(db.session, current_actor(), body))), 201


@bp.post("/billing/policies/<int:policy_id>/adopt", summary="Adopt a policy version (the one the next run uses)")
def adopt_policy(path: PolicyPath, body: AdoptPolicy):
    policy = operations.adopt_policy(db.session, current_actor(), path.policy_id, body.resolution_ref)
    return jsonify(operations.policy_summary(policy))


# --- runs ---------------------------------------------------------------------------------------------

def _run_out(run):
    return operations.run_summary(run, operations.run_lines(db.session, run))


@bp.get("/billing/runs", summary="List allocation runs (按分計算)")
def list_runs(query: YearQuery):
    runs = operations.list_runs(db.session, current_actor(), query.fiscal_year)
    return jsonify({"items": [operations.run_summary(run) for run in runs]})


@bp.get("/billing/runs/<int:run_id>", summary="Get a run with its lines and snapshot")
def get_run(path: RunPath):
    return jsonify(_run_out(operations.read_run(db.session, current_actor(), path.run_id)))


@bp.post("/billing/runs", summary="Compute a run for a fiscal year (snapshot of its inputs)")
def create_run(body: RunCreate):
    return jsonify(_run_out(operations.create_run(db.session, current_actor(), body.fiscal_year, body.policy_id))), 201


@bp.post("/billing/runs/<int:run_id>/review", summary="Mark a computed run as reviewed")
def review_run(path: RunPath, body: RunReview):
    return jsonify(_run_out(operations.review_run(db.session, current_actor(), path.run_id, body.note,
                                                  four_eyes=current_app.config.get("RENKEI_FOUR_EYES", True))))


@bp.post("/billing/runs/<int:run_id>/approve", summary="Approve a reviewed run and post it to the ledger (idempotent)")
def approve_run(path: RunPath):
    return jsonify(_run_out(operations.approve_run(db.session, current_actor(), path.run_id,
                                                   four_eyes=current_app.config.get("RENKEI_FOUR_EYES", True))))


@bp.post("/billing/runs/<int:run_id>/reverse", summary="Reverse a posted run with reversal entries")
def reverse_run(path: RunPath, body: RunReverse):
    return jsonify(_run_out(operations.reverse_run(db.session, current_actor(), path.run_id, body.reason)))


@bp.post("/billing/runs/<int:run_id>/discard", summary="Discard a run that was never posted")
def discard_run(path: RunPath):
    return jsonify(_run_out(operations.discard_run(db.session, current_actor(), path.run_id)))


# --- payments and the ledger ----------------------------------------------------------------------

@bp.post("/billing/payments", summary="Record a payment received from a tenant")
def record_payment(body: PaymentCreate):
    entry = operations.record_payment(db.session, current_actor(), body)
    return jsonify({"entry_id": entry.id, "idempotency_key": entry.idempotency_key,
                    "balance": ledger.tenant_balance(db.session, body.tenant_code, fiscal_year=body.fiscal_year)}), 201


@bp.get("/billing/ledger/trial-balance", summary="Trial balance (試算表), optionally as of a date")
def trial_balance(query: LedgerQuery):
    books = operations.trial_balance(db.session, current_actor(), as_of=query.as_of, fiscal_year=query.fiscal_year)
    return jsonify({
        "as_of": query.as_of.isoformat() if query.as_of else None,
        "fiscal_year": query.fiscal_year,
        "rows": [{"code": row.code, "name_ja": row.name_ja, "name_en": row.name_en, "type": row.type.value,
                  "debit": row.debit, "credit": row.credit, "balance": row.natural} for row in books.rows],
        "total_debit": books.total_debit,
        "total_credit": books.total_credit,
        "difference": books.difference,
    })


@bp.get("/billing/ledger/entries", summary="Journal entries with their postings (read-only)")
def journal(query: EntriesQuery):
    entries: dict[int, dict] = {}
    for view in operations.journal(db.session, current_actor(), fiscal_year=query.fiscal_year,
                                   tenant_code=query.tenant_code, run_id=query.run_id, account_code=query.account):
        entry = entries.setdefault(view.entry_id, {
            "id": view.entry_id, "idempotency_key": view.idempotency_key, "kind": EntryKind(view.kind).value,
            "fiscal_year": view.fiscal_year, "occurred_on": view.occurred_on.isoformat(),
            "description": view.description, "tenant_code": view.tenant_code, "run_id": view.run_id,
            "reverses_id": view.reverses_id, "postings": [],
        })
        entry["postings"].append({"account": view.account, "amount": view.amount})
    return jsonify({"items": list(entries.values())})


# --- statements --------------------------------------------------------------------------------------

_MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def _download(data: bytes, fmt: str, stem: str, label_ja: str) -> Response:
    response = Response(data, mimetype=_MIMETYPES[fmt].split(";")[0])
    if fmt != "html":
        response.headers["Content-Type"] = _MIMETYPES[fmt]
        quoted = urllib.parse.quote(f"{label_ja}.{fmt}")
        response.headers["Content-Disposition"] = f"attachment; filename=\"{stem}.{fmt}\"; filename*=UTF-8''{quoted}"
    return response


@bp.get("/billing/statements/<code>/<int:fiscal_year>", summary="A tenant's statement (負担金通知) for a fiscal year")
def statement(path: StatementPath, query: StatementQuery):
    built = statements.build_statement(db.session, current_actor(), path.code, path.fiscal_year)
    if query.format == "json":
        return jsonify(statements.statement_to_json(built))
    label = f"負担金通知_{built.tenant_name}_{built.era}"
    if query.format == "xlsx":
        return _download(statements.to_xlsx(built), "xlsx", built.filename_stem, label)
    if query.format == "csv":
        return _download(statements.to_csv(built), "csv", built.filename_stem, label)
    return _download(statements.to_html(built).encode("utf-8"), "html", built.filename_stem, label)


@bp.get("/billing/fiscal-years/<int:fiscal_year>/summary", summary="Every tenant's charge, payments and balance")
def summary(path: SummaryPath, query: SummaryQuery):
    built = statements.build_summary(db.session, current_actor(), path.fiscal_year)
    stem, label = f"summary-{fiscal_year_en(path.fiscal_year)}", f"負担金一覧_{fiscal_year_ja(path.fiscal_year)}"
    if query.format == "xlsx":
        return _download(statements.summary_to_xlsx(built), "xlsx", stem, label)
    if query.format == "csv":
        return _download(statements.summary_to_csv(built), "csv", stem, label)
    return jsonify(statements.summary_to_json(built))
