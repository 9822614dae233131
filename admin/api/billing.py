"""/api/v1/billing: cost items, allocation policies, runs, the ledger (read-only), payments, statements.

Reads need ``billing.read``: finance, the operator and the auditor read everything; a municipal
admin or staff member reads the cost items, the policies and their own tenant's statement only
(runs and the ledger show every tenant's share, so they need the all-tenants grant). Writes need
``billing.manage`` (finance); the auditor's every write is refused.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Literal

from flask import Response, jsonify
from flask_openapi3 import APIBlueprint
from pydantic import BaseModel, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.auth import current_actor, require
from admin.extensions import db
from billing import ledger, operations, statements
from billing.models import EntryKind
from billing.schemas import AdoptPolicy, CostItemCreate, PaymentCreate, PolicyCreate, RunCreate, RunReverse, RunReview
from billing.schemas import TenantCode
from core.errors import NotPermitted

bp = APIBlueprint("api_billing", __name__, url_prefix=API_PREFIX, abp_tags=tag("billing", "負担金 / cost sharing"),
                  abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

FiscalYearValue = Field(ge=2000, le=2100, description="Fiscal year (April–March), e.g. 2025 for 令和7年度")


def _require_all_tenants(action: str = "billing.read") -> None:
    if not require(action).all_tenants:
        raise NotPermitted(
            "This view shows every tenant's share; you may read your own tenant's statement only.",
            "この画面は全団体の負担金を含むため閲覧できません。自団体の負担金通知のみ閲覧できます。",
            action=action,
        )


class IdPath(BaseModel):
    item_id: int = Field(ge=1)


class PolicyPath(BaseModel):
    policy_id: int = Field(ge=1)


class RunPath(BaseModel):
    run_id: int = Field(ge=1)


class YearQuery(BaseModel):
    fiscal_year: int | None = Field(default=None, ge=2000, le=2100)


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
    fiscal_year: int | None = Field(default=None, ge=2000, le=2100)


class EntriesQuery(BaseModel):
    fiscal_year: int | None = Field(default=None, ge=2000, le=2100)
    tenant_code: TenantCode | None = None
    run_id: int | None = Field(default=None, ge=1)
    account: str | None = Field(default=None, max_length=64)


# --- cost items -----------------------------------------------------------------------------------

@bp.get("/billing/cost-items", summary="List cost items (費目)")
def list_cost_items(query: YearQuery):
    require("billing.read")
    items = operations.list_cost_items(db.session, query.fiscal_year)
    return jsonify({"items": [operations.cost_item_summary(item) for item in items]})


@bp.post("/billing/cost-items", summary="Enter a cost item (amortised over years for a build cost)")
def create_cost_item(body: CostItemCreate):
    require("billing.manage")
    items = operations.create_cost_item(db.session, current_actor(), body)
    return jsonify({"items": [operations.cost_item_summary(item) for item in items]}), 201


@bp.delete("/billing/cost-items/<int:item_id>", summary="Withdraw a cost item (every year of an amortised one)")
def delete_cost_item(path: IdPath):
    require("billing.manage")
    operations.delete_cost_item(db.session, current_actor(), path.item_id)
    return "", 204


# --- policies --------------------------------------------------------------------------------------

@bp.get("/billing/policies", summary="List allocation policy versions (按分方式)")
def list_policies():
    require("billing.read")
    return jsonify({"items": [operations.policy_summary(policy) for policy in operations.list_policies(db.session)]})


@bp.get("/billing/policies/<int:policy_id>", summary="Get a policy version")
def get_policy(path: PolicyPath):
    require("billing.read")
    return jsonify(operations.policy_summary(operations.get_policy(db.session, path.policy_id)))


@bp.post("/billing/policies", summary="Record a new policy version (immutable once recorded)")
def create_policy(body: PolicyCreate):
    require("billing.manage")
    return jsonify(operations.policy_summary(operations.create_policy(db.session, current_actor(), body))), 201


@bp.post("/billing/policies/<int:policy_id>/adopt", summary="Adopt a policy version (the one the next run uses)")
def adopt_policy(path: PolicyPath, body: AdoptPolicy):
    require("billing.manage")
    policy = operations.adopt_policy(db.session, current_actor(), path.policy_id, body.resolution_ref)
    return jsonify(operations.policy_summary(policy))


# --- runs ---------------------------------------------------------------------------------------------

def _run_out(run):
    return operations.run_summary(run, operations.run_lines(db.session, run))


@bp.get("/billing/runs", summary="List allocation runs (按分計算)")
def list_runs(query: YearQuery):
    _require_all_tenants()
    return jsonify({"items": [operations.run_summary(run) for run in operations.list_runs(db.session, query.fiscal_year)]})


@bp.get("/billing/runs/<int:run_id>", summary="Get a run with its lines and snapshot")
def get_run(path: RunPath):
    _require_all_tenants()
    return jsonify(_run_out(operations.get_run(db.session, path.run_id)))


@bp.post("/billing/runs", summary="Compute a run for a fiscal year (snapshot of its inputs)")
def create_run(body: RunCreate):
    require("billing.manage")
    return jsonify(_run_out(operations.create_run(db.session, current_actor(), body.fiscal_year, body.policy_id))), 201


@bp.post("/billing/runs/<int:run_id>/review", summary="Mark a computed run as reviewed")
def review_run(path: RunPath, body: RunReview):
    require("billing.manage")
    return jsonify(_run_out(operations.review_run(db.session, current_actor(), path.run_id, body.note)))


@bp.post("/billing/runs/<int:run_id>/approve", summary="Approve a reviewed run and post it to the ledger (idempotent)")
def approve_run(path: RunPath):
    require("billing.manage")
    return jsonify(_run_out(operations.approve_run(db.session, current_actor(), path.run_id)))


@bp.post("/billing/runs/<int:run_id>/reverse", summary="Reverse a posted run with reversal entries")
def reverse_run(path: RunPath, body: RunReverse):
    require("billing.manage")
    return jsonify(_run_out(operations.reverse_run(db.session, current_actor(), path.run_id, body.reason)))


@bp.post("/billing/runs/<int:run_id>/discard", summary="Discard a run that was never posted")
def discard_run(path: RunPath):
    require("billing.manage")
    return jsonify(_run_out(operations.discard_run(db.session, current_actor(), path.run_id)))


# --- payments and the ledger ----------------------------------------------------------------------

@bp.post("/billing/payments", summary="Record a payment received from a tenant")
def record_payment(body: PaymentCreate):
    require("billing.manage")
    entry = operations.record_payment(db.session, current_actor(), body)
    return jsonify({"entry_id": entry.id, "idempotency_key": entry.idempotency_key,
                    "balance": ledger.tenant_balance(db.session, body.tenant_code, fiscal_year=body.fiscal_year)}), 201


@bp.get("/billing/ledger/trial-balance", summary="Trial balance (試算表), optionally as of a date")
def trial_balance(query: LedgerQuery):
    _require_all_tenants()
    books = ledger.trial_balance(db.session, as_of=query.as_of, fiscal_year=query.fiscal_year)
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
    _require_all_tenants()
    entries: dict[int, dict] = {}
    for view in ledger.postings(db.session, fiscal_year=query.fiscal_year, tenant_code=query.tenant_code,
                                run_id=query.run_id, account_code=query.account):
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
    require("billing.read", path.code)
    built = statements.build_statement(db.session, path.code, path.fiscal_year)
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
    _require_all_tenants()
    built = statements.build_summary(db.session, path.fiscal_year)
    stem, label = f"summary-FY{path.fiscal_year}", f"負担金一覧_{statements.era_label(path.fiscal_year)}"
    if query.format == "xlsx":
        return _download(statements.summary_to_xlsx(built), "xlsx", stem, label)
    if query.format == "csv":
        return _download(statements.summary_to_csv(built), "csv", stem, label)
    return jsonify(statements.summary_to_json(built))
