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
from pydantic import BaseModel, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.api.contract import XLSX, json_csv_xlsx, media
from admin.auth import current_actor
from admin.config import four_eyes
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from billing import (allocation_policies, allocation_runs, budgets, documents, grants, ledger, operations, statements,
                     year_close)
from billing.models import EntryKind, RunKind
from billing.schemas import (AdoptPolicy, BudgetCreate, CostItemCreate, GrantCreate, GrantFix, PolicyCreate, RunCreate,
                             RunReverse, RunReview)
from core.validation import ID_RANGE, TenantCode
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, fiscal_year_en, fiscal_year_ja

bp = StrictAPIBlueprint("api_billing", __name__, url_prefix=API_PREFIX, abp_tags=tag("billing", "負担金 / cost sharing"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

FiscalYearValue = Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR, description="Fiscal year (April–March), e.g. 2025 for 令和7年度")


class IdPath(BaseModel):
    item_id: int = Field(**ID_RANGE)


class PolicyPath(BaseModel):
    policy_id: int = Field(**ID_RANGE)


class BudgetPath(BaseModel):
    budget_id: int = Field(**ID_RANGE)


class BudgetActualQuery(BaseModel):
    format: Literal["json", "xlsx", "csv"] = "json"


class AccountsQuery(BaseModel):
    format: Literal["json", "xlsx", "pdf"] = "json"


class GrantPath(BaseModel):
    grant_id: int = Field(**ID_RANGE)


class RunPath(BaseModel):
    run_id: int = Field(**ID_RANGE)


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
    run_id: int | None = Field(default=None, **ID_RANGE)
    account: str | None = Field(default=None, max_length=64)


# --- answers (what jsonify returns; the contract, see docs/architecture.md "API contract") ----------

class CostItemOut(BaseModel):
    id: int
    fiscal_year: int
    name: str
    category: str
    category_ja: str
    amount: int
    invoiced_amount: int | None = None
    tax_treatment: str
    tax_amount: int | None = None
    vendor: str | None = None
    reference: str | None = None
    amortisation_years: int | None = None
    amortisation_index: int | None = None
    amortised_from_id: int | None = None


class CostItemList(BaseModel):
    items: list[CostItemOut]


class GrantOut(BaseModel):
    id: int
    fiscal_year: int
    name: str
    grantor: str
    rate: str = Field(description="補助率, an exact fraction, e.g. 1/2")
    categories: list[str] = Field(description="Cost categories the grant covers (build, run)")
    categories_ja: list[str]
    item_ids: list[int] = Field(description="Single cost items of the year the grant covers")
    applied_amount: int | None = None
    decided_amount: int | None = Field(default=None, description="交付決定額")
    decided_on: str | None = None
    decision_reference: str | None = None
    fixed_amount: int | None = Field(default=None, description="確定額 (額の確定)")
    fixed_on: str | None = None
    cap: int | None = Field(default=None, description="What the grant funds at most now: fixed, else decided, else applied")
    rounding: Literal["yen", "thousand"] = Field(description="How the 交付要綱 rounds the amount: to the yen, or down to 1,000 yen")
    rounding_ja: str = Field(description="「1円単位」 or 「千円未満切捨て」")
    fixed_amount_authoritative: bool = Field(description="Once fixed, the grant funds exactly its fixed amount (the grantor's notice)")


class GrantList(BaseModel):
    items: list[GrantOut]


class BudgetOut(BaseModel):
    id: int
    fiscal_year: int
    version: int
    status: str = Field(description="draft, adopted (by the council; one a year) or superseded (by a revision)")
    status_ja: str
    amounts: dict[str, int] = Field(description="Yen per cost category (build, run, overhead)")
    total: int
    contract_ceiling: int | None = Field(default=None, description="委託上限額, tax included")
    reason: str | None = None
    created_by: str | None = None
    created_at: str | None = None
    adopted_at: str | None = None
    resolution_ref: str | None = None


class BudgetList(BaseModel):
    items: list[BudgetOut]


class BudgetActualRowOut(BaseModel):
    category: str
    label_ja: str
    budget: int
    committed: int = Field(description="Cost items entered")
    booked: int = Field(description="Posted to the ledger's cost accounts by approved runs")
    grant: int = Field(description="What the grants fund of this category")
    difference: int = Field(description="budget − committed (negative: over budget)")


class BudgetActualOut(BaseModel):
    fiscal_year: int
    era: str
    budget_id: int | None
    budget_version: int | None
    rows: list[BudgetActualRowOut]


class YearCloseOut(BaseModel):
    fiscal_year: int
    id: int | None = None
    status: str = Field(description="open, requested, closed, withdrawn or reopened")
    status_ja: str
    closable_from: str = Field(description="The first day the year may be closed (after the 出納整理期間)")
    requested_by: str | None = None
    requested_at: str | None = None
    closed_by: str | None = None
    closed_at: str | None = None
    statement_sha256: str | None = Field(default=None, description="SHA-256 of the 収支決算 fixed at the close")
    reopen_resolution_id: int | None = None


class AccountsLineOut(BaseModel):
    source: str | None = None
    category: str | None = None
    amount: int


class AccountsOut(BaseModel):
    fiscal_year: int
    era: str
    revenue: list[AccountsLineOut]
    revenue_total: int
    expenditure: list[AccountsLineOut]
    expenditure_total: int
    balance: int
    outstanding: int


class PolicyComponentOut(BaseModel):
    basis: str = Field(description="equal, population or usage:<metric>")
    weight: str = Field(description="Exact fraction, e.g. 1/2")


class PolicyOut(BaseModel):
    id: int
    name: str
    version: int
    description: str | None = None
    prefecture_share: str | None = None
    components: list[PolicyComponentOut]
    floor: int | None = None
    cap: int | None = None
    status: str
    resolution_ref: str | None = None
    adopted_at: str | None = None
    adopted_by: str | None = None
    in_words: str


class PolicyList(BaseModel):
    items: list[PolicyOut]


class ResolutionChoiceOut(BaseModel):
    id: int = Field(description="What POST .../adopt takes as resolution_id")
    fiscal_year: int
    number: int = Field(description="The resolution's number in its fiscal year (協議会議決第N号)")
    title: str = Field(description="The title of the proposal the council voted on")
    decided_at: str
    label_ja: str
    label_en: str


class ResolutionChoiceList(BaseModel):
    items: list[ResolutionChoiceOut]


class RunLineOut(BaseModel):
    tenant_code: str
    tenant_name: str
    is_prefecture: bool
    months: int
    population: int | None
    population_source: str
    usage: dict[str, int] = Field(description="Metered quantity per usage metric (empty for the prefecture)")
    amount: int
    components: dict[str, int] = Field(description="Yen per basis of the policy; they add up to amount")
    bound: str | None


class RunOut(BaseModel):
    id: int
    fiscal_year: int
    status: str
    status_ja: str
    kind: str | None = Field(default=None, description="final (確定), provisional (概算) or settlement (精算)")
    kind_ja: str | None = None
    settles_run_id: int | None = Field(default=None, description="The provisional run a settlement settles")
    policy_id: int | None = None
    total: int | None = Field(default=None, description="負担対象額: what the payers share (the costs less the grants)")
    cost_total: int | None = Field(default=None, description="事業費: the year's cost items")
    grant_total: int | None = Field(default=None, description="交付金充当額: what the grants fund")
    prefecture_code: str | None = None
    created_at: str | None = None
    created_by: str | None = None
    reviewed_by: str | None = None
    review_note: str | None = None
    approved_by: str | None = None
    posted_on: str | None = None
    reversed_by: str | None = None
    reversal_reason: str | None = None
    four_eyes: bool | None = None
    lines: list[RunLineOut] | None = Field(default=None, description="One line per tenant (a single run only)")


class RunList(BaseModel):
    items: list[RunOut]


class TrialBalanceRow(BaseModel):
    code: str
    name_ja: str
    name_en: str
    type: str
    debit: int
    credit: int
    balance: int


class TrialBalanceOut(BaseModel):
    as_of: dt.date | None
    fiscal_year: int | None
    rows: list[TrialBalanceRow]
    total_debit: int
    total_credit: int
    difference: int


class PostingOut(BaseModel):
    account: str
    amount: int


class EntryOut(BaseModel):
    id: int
    idempotency_key: str
    kind: str
    fiscal_year: int
    occurred_on: dt.date
    description: str | None
    tenant_code: str | None
    run_id: int | None
    reverses_id: int | None
    postings: list[PostingOut]


class EntryList(BaseModel):
    items: list[EntryOut]


# --- cost items -----------------------------------------------------------------------------------

@bp.get("/billing/cost-items", responses={200: CostItemList}, summary="List cost items (費目)")
def list_cost_items(query: YearQuery):
    items = operations.list_cost_items(db.session, current_actor(), query.fiscal_year)
    return jsonify({"items": [operations.cost_item_summary(item) for item in items]})


@bp.post("/billing/cost-items", responses={201: CostItemList}, summary="Enter a cost item (amortised over years for a build cost)")
def create_cost_item(body: CostItemCreate):
    items = operations.create_cost_item(db.session, current_actor(), body)
    return jsonify({"items": [operations.cost_item_summary(item) for item in items]}), 201


@bp.delete("/billing/cost-items/<int:item_id>", responses={204: None}, summary="Withdraw a cost item (every year of an amortised one)")
def delete_cost_item(path: IdPath):
    operations.delete_cost_item(db.session, current_actor(), path.item_id)
    return "", 204


# --- budgets ---------------------------------------------------------------------------------------

@bp.get("/billing/budgets", responses={200: BudgetList}, summary="List budget versions (予算)")
def list_budgets(query: YearQuery):
    found = budgets.list_budgets(db.session, current_actor(), query.fiscal_year)
    return jsonify({"items": [budgets.budget_summary(db.session, budget) for budget in found]})


@bp.get("/billing/budgets/<int:budget_id>", responses={200: BudgetOut}, summary="Get a budget version")
def get_budget(path: BudgetPath):
    return jsonify(budgets.budget_summary(db.session, budgets.read_budget(db.session, current_actor(), path.budget_id)))


@bp.post("/billing/budgets", responses={201: BudgetOut},
         summary="Draft a budget version (a revision, 補正, needs its reason); the council adopts it "
                 "(POST /api/v1/council/proposals with change_type adopt_budget)")
def draft_budget(body: BudgetCreate):
    budget = budgets.draft_budget(db.session, current_actor(), body)
    return jsonify(budgets.budget_summary(db.session, budget)), 201


@bp.get("/billing/fiscal-years/<int:fiscal_year>/budget-actual", responses={200: json_csv_xlsx(BudgetActualOut)},
        summary="The year's budget against actual (予実) per cost category")
def budget_actual(path: SummaryPath, query: BudgetActualQuery):
    report = budgets.budget_actual(db.session, current_actor(), path.fiscal_year)
    stem, label = f"budget-actual-{fiscal_year_en(path.fiscal_year)}", f"予実_{fiscal_year_ja(path.fiscal_year)}"
    if query.format == "xlsx":
        return _download(budgets.budget_actual_xlsx(report), "xlsx", stem, label)
    if query.format == "csv":
        from core.spreadsheet import csv_bytes

        return _download(csv_bytes(budgets.budget_actual_rows(report)), "csv", stem, label)
    return jsonify(budgets.budget_json(report))


# --- the year's close (決算) ---------------------------------------------------------------------------

@bp.get("/billing/fiscal-years/<int:fiscal_year>/close", responses={200: YearCloseOut}, summary="Whether the year is closed (決算)")
def get_year_close(path: SummaryPath):
    close = year_close.read_close(db.session, current_actor(), path.fiscal_year)
    return jsonify(year_close.close_summary(close, path.fiscal_year))


@bp.post("/billing/fiscal-years/<int:fiscal_year>/close", responses={201: YearCloseOut},
         summary="Ask to close the year (from 1 June after it); a second finance officer closes it")
def request_year_close(path: SummaryPath):
    close = year_close.request_close(db.session, current_actor(), path.fiscal_year)
    return jsonify(year_close.close_summary(close, path.fiscal_year)), 201


@bp.post("/billing/fiscal-years/<int:fiscal_year>/close/approve", responses={200: YearCloseOut},
         summary="Close the year (a finance officer other than the one who asked): nothing dated in it can be written afterwards")
def approve_year_close(path: SummaryPath):
    close = year_close.close_year(db.session, current_actor(), path.fiscal_year, four_eyes=four_eyes(current_app.config))
    return jsonify(year_close.close_summary(close, path.fiscal_year))


@bp.post("/billing/fiscal-years/<int:fiscal_year>/close/withdraw", responses={200: YearCloseOut},
         summary="Withdraw the request to close the year")
def withdraw_year_close(path: SummaryPath):
    close = year_close.withdraw_close(db.session, current_actor(), path.fiscal_year)
    return jsonify(year_close.close_summary(close, path.fiscal_year))


@bp.get("/billing/fiscal-years/<int:fiscal_year>/accounts", responses={200: media(AccountsOut, XLSX, "application/pdf")},
        summary="The year's 収支決算 (revenue by source, expenditure by category, balance) as JSON, xlsx or PDF")
def accounts_of_year(path: SummaryPath, query: AccountsQuery):
    actor = current_actor()
    accounts = year_close.accounts_of_year(db.session, actor, path.fiscal_year)
    close = year_close.year_close(db.session, path.fiscal_year)
    stem, label = f"accounts-{fiscal_year_en(path.fiscal_year)}", f"収支決算書_{fiscal_year_ja(path.fiscal_year)}"
    if query.format == "xlsx":
        return _download(year_close.accounts_xlsx(accounts, close), "xlsx", stem, label)
    if query.format == "pdf":
        return _download(year_close.accounts_pdf(accounts, close), "pdf", stem, label)
    return jsonify(accounts.as_json())


# --- grants ----------------------------------------------------------------------------------------

@bp.get("/billing/grants", responses={200: GrantList}, summary="List grants (交付金)")
def list_grants(query: YearQuery):
    found = grants.list_grants(db.session, current_actor(), query.fiscal_year)
    return jsonify({"items": [grants.grant_summary(grant) for grant in found]})


@bp.get("/billing/grants/<int:grant_id>", responses={200: GrantOut}, summary="Get a grant")
def get_grant(path: GrantPath):
    return jsonify(grants.grant_summary(grants.read_grant(db.session, current_actor(), path.grant_id)))


@bp.post("/billing/grants", responses={201: GrantOut},
         summary="Enter a grant of a fiscal year (its rate, the costs it covers, the applied or decided amount)")
def create_grant(body: GrantCreate):
    return jsonify(grants.grant_summary(grants.create_grant(db.session, current_actor(), body))), 201


@bp.put("/billing/grants/<int:grant_id>", responses={200: GrantOut},
        summary="Change a grant (e.g. its decision) while no run of its year is posted")
def update_grant(path: GrantPath, body: GrantCreate):
    return jsonify(grants.grant_summary(grants.update_grant(db.session, current_actor(), path.grant_id, body)))


@bp.delete("/billing/grants/<int:grant_id>", responses={204: None}, summary="Withdraw a grant while no run of its year is posted")
def delete_grant(path: GrantPath):
    grants.delete_grant(db.session, current_actor(), path.grant_id)
    return "", 204


@bp.post("/billing/grants/<int:grant_id>/fix", responses={200: GrantOut},
         summary="Record the grant's fixed amount (額の確定), after the year's report on results")
def fix_grant(path: GrantPath, body: GrantFix):
    return jsonify(grants.grant_summary(grants.fix_grant(db.session, current_actor(), path.grant_id, body)))


# --- policies --------------------------------------------------------------------------------------

@bp.get("/billing/policies", responses={200: PolicyList}, summary="List allocation policy versions (按分方式)")
def list_policies():
    policies = allocation_policies.list_policies(db.session, current_actor())
    return jsonify({"items": [allocation_policies.policy_summary(policy) for policy in policies]})


@bp.get("/billing/policies/<int:policy_id>", responses={200: PolicyOut}, summary="Get a policy version")
def get_policy(path: PolicyPath):
    return jsonify(allocation_policies.policy_summary(allocation_policies.read_policy(db.session, current_actor(), path.policy_id)))


@bp.post("/billing/policies", responses={201: PolicyOut}, summary="Record a new policy version (immutable once recorded)")
def create_policy(body: PolicyCreate):
    return jsonify(allocation_policies.policy_summary(allocation_policies.create_policy(db.session, current_actor(), body))), 201


@bp.post("/billing/policies/<int:policy_id>/adopt", responses={200: PolicyOut}, summary="Adopt a policy version (the one the next run uses)")
def adopt_policy(path: PolicyPath, body: AdoptPolicy):
    policy = allocation_policies.adopt_policy(db.session, current_actor(), path.policy_id, body.resolution_id,
                                              four_eyes=four_eyes(current_app.config))
    return jsonify(allocation_policies.policy_summary(policy))


@bp.get("/billing/policies/<int:policy_id>/resolutions", responses={200: ResolutionChoiceList},
        summary="The council resolutions that may stand for adopting this policy version (adopted this fiscal year)")
def policy_resolutions(path: PolicyPath):
    choices = allocation_policies.resolutions_for_policy(db.session, current_actor(), path.policy_id)
    return jsonify({"items": [{"id": choice.id, "fiscal_year": choice.fiscal_year, "number": choice.number,
                               "title": choice.title, "decided_at": choice.decided_at.isoformat(),
                               "label_ja": choice.label_ja, "label_en": choice.label_en} for choice in choices]})


# --- runs ---------------------------------------------------------------------------------------------

def _run_out(run):
    return allocation_runs.run_summary(run, allocation_runs.run_lines(db.session, run))


@bp.get("/billing/runs", responses={200: RunList}, summary="List allocation runs (按分計算)")
def list_runs(query: YearQuery):
    runs = allocation_runs.list_runs(db.session, current_actor(), query.fiscal_year)
    return jsonify({"items": [allocation_runs.run_summary(run) for run in runs]})


@bp.get("/billing/runs/<int:run_id>", responses={200: RunOut}, summary="Get a run with its lines and snapshot")
def get_run(path: RunPath):
    return jsonify(_run_out(allocation_runs.read_run(db.session, current_actor(), path.run_id)))


@bp.post("/billing/runs", responses={201: RunOut}, summary="Compute a run for a fiscal year (snapshot of its inputs)")
def create_run(body: RunCreate):
    return jsonify(_run_out(allocation_runs.create_run(db.session, current_actor(), body.fiscal_year, body.policy_id,
                                                       kind=RunKind(body.kind)))), 201


@bp.post("/billing/fiscal-years/<int:fiscal_year>/settlement", responses={201: RunOut},
         summary="Compute the year's settlement (精算) from its posted provisional run, once the grants are fixed")
def create_settlement(path: SummaryPath):
    return jsonify(_run_out(allocation_runs.create_settlement(db.session, current_actor(), path.fiscal_year))), 201


@bp.post("/billing/runs/<int:run_id>/review", responses={200: RunOut}, summary="Mark a computed run as reviewed")
def review_run(path: RunPath, body: RunReview):
    return jsonify(_run_out(allocation_runs.review_run(db.session, current_actor(), path.run_id, body.note,
                                                       four_eyes=four_eyes(current_app.config))))


@bp.post("/billing/runs/<int:run_id>/approve", responses={200: RunOut}, summary="Approve a reviewed run and post it to the ledger (idempotent)")
def approve_run(path: RunPath):
    return jsonify(_run_out(allocation_runs.approve_run(db.session, current_actor(), path.run_id,
                                                        four_eyes=four_eyes(current_app.config))))


@bp.post("/billing/runs/<int:run_id>/reverse", responses={200: RunOut}, summary="Reverse a posted run with reversal entries")
def reverse_run(path: RunPath, body: RunReverse):
    return jsonify(_run_out(allocation_runs.reverse_run(db.session, current_actor(), path.run_id, body.reason)))


@bp.post("/billing/runs/<int:run_id>/discard", responses={200: RunOut}, summary="Discard a run that was never posted")
def discard_run(path: RunPath):
    return jsonify(_run_out(allocation_runs.discard_run(db.session, current_actor(), path.run_id)))


# --- payments and the ledger ----------------------------------------------------------------------

# payments are recorded from the bank's lines, or by two people: admin/api/bank.py


@bp.get("/billing/ledger/trial-balance", responses={200: TrialBalanceOut}, summary="Trial balance (試算表), optionally as of a date")
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


@bp.get("/billing/ledger/entries", responses={200: EntryList}, summary="Journal entries with their postings (read-only)")
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
    "pdf": "application/pdf",
}


def _download(data: bytes, fmt: str, stem: str, label_ja: str) -> Response:
    response = Response(data, mimetype=_MIMETYPES[fmt].split(";")[0])
    if fmt != "html":
        response.headers["Content-Type"] = _MIMETYPES[fmt]
        quoted = urllib.parse.quote(f"{label_ja}.{fmt}")
        response.headers["Content-Disposition"] = f"attachment; filename=\"{stem}.{fmt}\"; filename*=UTF-8''{quoted}"
    return response


class StatementPolicyOut(BaseModel):
    name: str
    version: int
    in_words: str = Field(description="The policy in words (按分方法)")
    resolution_ref: str | None


class StatementComponentOut(BaseModel):
    basis: str = Field(description="equal, population or usage:<metric>")
    label_ja: str
    amount: int = Field(description="Yen")


class StatementPaymentOut(BaseModel):
    received_on: dt.date
    reference: str
    amount: int = Field(description="Yen received (positive)")


class StatementOut(BaseModel):
    tenant_code: str
    tenant_name: str
    fiscal_year: int
    era: str = Field(description="The fiscal year in era form, e.g. 令和7年度")
    run_id: int
    posted_on: dt.date | None
    policy: StatementPolicyOut
    months: int = Field(description="Months of participation in the year")
    population: int | None
    usage: dict[str, int] = Field(description="Metered quantity per metric the share was computed from")
    components: list[StatementComponentOut]
    charged: int = Field(description="Yen")
    payments: list[StatementPaymentOut]
    paid: int = Field(description="Yen")
    balance: int = Field(description="Yen still owed (negative: overpaid)")


class SummaryRowOut(BaseModel):
    tenant_code: str
    tenant_name: str
    months: int | None = Field(description="Months of participation (null for the prefecture or without a charge)")
    charged: int
    paid: int
    balance: int


class FiscalSummaryOut(BaseModel):
    fiscal_year: int
    run_id: int | None
    rows: list[SummaryRowOut]
    charged: int = Field(description="Yen, every tenant")
    paid: int
    balance: int


@bp.get("/billing/statements/<code>/<int:fiscal_year>",
        responses={200: media(StatementOut, "text/csv", XLSX, "text/html")}, summary="A tenant's statement (負担金通知) for a fiscal year")
def statement(path: StatementPath, query: StatementQuery):
    letter = documents.letter(db.session, current_actor(), path.code, path.fiscal_year)
    built, rows = letter.statement, documents.letter_rows(letter)
    if query.format == "json":
        return jsonify(statements.statement_to_json(built))
    label = f"負担金通知_{built.tenant_name}_{built.era}"
    if query.format == "xlsx":
        return _download(statements.to_xlsx(built, rows), "xlsx", built.filename_stem, label)
    if query.format == "csv":
        return _download(statements.to_csv(built, rows), "csv", built.filename_stem, label)
    return _download(statements.to_html(built, rows).encode("utf-8"), "html", built.filename_stem, label)


@bp.get("/billing/fiscal-years/<int:fiscal_year>/summary", responses={200: json_csv_xlsx(FiscalSummaryOut)}, summary="Every tenant's charge, payments and balance")
def summary(path: SummaryPath, query: SummaryQuery):
    built = statements.build_summary(db.session, current_actor(), path.fiscal_year)
    stem, label = f"summary-{fiscal_year_en(path.fiscal_year)}", f"負担金一覧_{fiscal_year_ja(path.fiscal_year)}"
    if query.format == "xlsx":
        return _download(statements.summary_to_xlsx(built), "xlsx", stem, label)
    if query.format == "csv":
        return _download(statements.summary_to_csv(built), "csv", stem, label)
    return jsonify(statements.summary_to_json(built))
