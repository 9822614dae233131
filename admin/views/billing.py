"""Cost sharing in /admin (負担金): the year's page (runs, summary, trial balance), a run's page
with its review / approve / reverse buttons, printable statements with Excel and CSV downloads,
and read-only lists of cost items, policies, journal entries and accounts.

Reads follow ``billing.read`` (a municipal admin sees only their own tenant's statement and
entries); every change is a POST that calls a :mod:`billing.operations` use case, which audits
it, through the one POST path of admin/views/base.py. A refusal is shown as a message and changes
nothing.
"""

from __future__ import annotations

import json
import urllib.parse

import sqlalchemy as sa
from flask import Response, abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, lazy_gettext as _l
from wtforms import Form, HiddenField, StringField

from admin.extensions import db
from admin.i18n import format_date, format_fiscal_year
from admin.views.base import SecureModelView, SecureView, post_action
from billing import ledger, operations, statements
from billing.models import (
    CATEGORY_LABELS_JA,
    ENTRY_KIND_LABELS_JA,
    POLICY_STATUS_LABELS_JA,
    RUN_STATUS_LABELS_JA,
    TAX_LABELS_JA,
    Account,
    AllocationPolicy,
    CostCategory,
    CostItem,
    EntryKind,
    JournalEntry,
    PolicyStatus,
    Posting,
    RunStatus,
    TaxTreatment,
)
from core import authz
from core.calendar import (FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, fiscal_year_ja, fiscal_year_of,
                           is_supported_fiscal_year, today_jst)
from tenancy.registry.models import Tenant

CATEGORY = _l("Cost sharing")


def _locale() -> str:
    return str(get_locale() or "ja")


def _ja() -> bool:
    return _locale() == "ja"


class ActionForm(Form):
    action = HiddenField()
    text = StringField()


class RunForm(Form):
    fiscal_year = StringField()


def _requested_year() -> int:
    try:
        year = int(request.args.get("fy", ""))
        if is_supported_fiscal_year(year):
            return year
    except ValueError:
        pass
    return fiscal_year_of(today_jst())


def _download(data: bytes, mimetype: str, stem: str, label: str, extension: str) -> Response:
    response = Response(data, mimetype=mimetype)
    quoted = urllib.parse.quote(f"{label}.{extension}")
    response.headers["Content-Disposition"] = f"attachment; filename=\"{stem}.{extension}\"; filename*=UTF-8''{quoted}"
    return response


class BillingView(SecureView):
    """The year's page, a run's page and statements."""

    required_action = "billing.read"

    def _all(self) -> bool:
        return self.grant.all_tenants

    def _can_manage(self) -> bool:
        return authz.allowed(g.actor, "billing.manage")

    @expose("/")
    def index(self):
        year = _requested_year()
        context = {"year": year, "year_label": format_fiscal_year(year, _locale()), "all_tenants": self._all(),
                   "first_year": FIRST_FISCAL_YEAR, "last_year": LAST_FISCAL_YEAR,
                   "can_manage": self._can_manage(), "run_form": RunForm(), "run_status": _run_status}
        if self._all():
            context.update(
                runs=operations.list_runs(db.session, g.actor, year),
                summary=statements.build_summary(db.session, g.actor, year),
                books=operations.trial_balance(db.session, g.actor, fiscal_year=year),
                cost_items=operations.list_cost_items(db.session, g.actor, year),
                policy=operations.adopted_policy(db.session),
                describe=operations.describe_policy,
            )
        else:
            codes = sorted(g.actor.tenant_codes)
            names = dict(db.session.query(Tenant.code, Tenant.name_ja).filter(Tenant.code.in_(codes)).all())
            context["own"] = [(code, names.get(code, code)) for code in codes]
        return self.render("renkei/billing_index.html", **context)

    @expose("/runs/new", methods=("POST",))
    def new_run(self):
        form = RunForm(request.form)
        try:
            year = int((form.fiscal_year.data or "").strip())
        except ValueError:
            flash("年度は西暦の数字で入力してください（例: 2025）。" if _ja() else "Enter the fiscal year as a number, e.g. 2025.", "error")
            return redirect(url_for(".index"))

        def create_run():
            return operations.create_run(db.session, g.actor, year)

        return post_action(create_run,
                           saved=lambda run: f"按分計算 #{run.id} を作成しました。" if _ja() else f"Run #{run.id} computed.",
                           done=lambda run: redirect(url_for(".run", run_id=run.id)),
                           failed=lambda: redirect(url_for(".index", fy=year)))

    @expose("/runs/<int:run_id>/")
    def run(self, run_id: int):
        run = operations.read_run(db.session, g.actor, run_id)
        lines = operations.run_lines(db.session, run)
        snapshot = json.loads(run.snapshot_json)
        entries = ledger.postings(db.session, run_id=run.id)
        moves = operations.allowed_run_actions(run)
        return self.render("renkei/billing_run.html", run=run, lines=lines, snapshot=snapshot, entries=entries,
                           # every line's components, in first-seen order (the prefecture line has only its share)
                           components=list(dict.fromkeys(basis for line in lines for basis in json.loads(line.components_json))),
                           line_components=lambda line: json.loads(line.components_json),
                           basis_label=operations.basis_label_ja, moves=moves if self._can_manage() else [],
                           move_labels=operations.RUN_ACTION_LABELS_JA if _ja() else {name: name for name in moves},
                           form=ActionForm(), run_status=_run_status, kind_label=_kind_label,
                           date=lambda value: format_date(value, _locale()))

    @expose("/runs/<int:run_id>/act", methods=("POST",))
    def act(self, run_id: int):
        form = ActionForm(request.form)
        action, text = form.action.data, (form.text.data or "").strip()

        def act_on_run():
            if action == "review":
                operations.review_run(db.session, g.actor, run_id, text)
            elif action == "approve":
                operations.approve_run(db.session, g.actor, run_id)
            elif action == "reverse":
                operations.reverse_run(db.session, g.actor, run_id, text)
            elif action == "discard":
                operations.discard_run(db.session, g.actor, run_id)
            else:
                abort(400)

        return post_action(act_on_run, back=url_for(".run", run_id=run_id),
                           saved="按分計算を更新しました。" if _ja() else "Run updated.")

    @expose("/statements/<code>/<int:fiscal_year>/")
    def statement(self, code: str, fiscal_year: int):
        built = statements.build_statement(db.session, g.actor, code, fiscal_year)
        return self.render("renkei/statement.html", statement=built, header_rows=statements._header_rows(built),
                           amount_rows=statements._amount_rows(built))

    @expose("/statements/<code>/<int:fiscal_year>.<fmt>")
    def statement_file(self, code: str, fiscal_year: int, fmt: str):
        built = statements.build_statement(db.session, g.actor, code, fiscal_year)
        label = f"負担金通知_{built.tenant_name}_{built.era}"
        if fmt == "xlsx":
            return _download(statements.to_xlsx(built), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             built.filename_stem, label, "xlsx")
        if fmt == "csv":
            return _download(statements.to_csv(built), "text/csv", built.filename_stem, label, "csv")
        abort(404)

    @expose("/summary/<int:fiscal_year>.<fmt>")
    def summary_file(self, fiscal_year: int, fmt: str):
        built = statements.build_summary(db.session, g.actor, fiscal_year)
        label = f"負担金一覧_{fiscal_year_ja(fiscal_year)}"
        if fmt == "xlsx":
            return _download(statements.summary_to_xlsx(built),
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             f"summary-FY{fiscal_year}", label, "xlsx")
        if fmt == "csv":
            return _download(statements.summary_to_csv(built), "text/csv", f"summary-FY{fiscal_year}", label, "csv")
        abort(404)


def _run_status(status) -> str:
    status = RunStatus(status)
    return RUN_STATUS_LABELS_JA[status] if _ja() else status.value


def _kind_label(kind) -> str:
    kind = EntryKind(kind)
    return ENTRY_KIND_LABELS_JA[kind] if _ja() else kind.value


# --- read-only lists ------------------------------------------------------------------------------

def _yen(view, context, model, name):
    value = getattr(model, name)
    return "" if value is None else f"{value:,}円"


def _fy(view, context, model, name):
    return format_fiscal_year(getattr(model, name), _locale())


def _category(view, context, model, name):
    category = CostCategory(model.category)
    return CATEGORY_LABELS_JA[category] if _ja() else category.value


def _tax(view, context, model, name):
    treatment = TaxTreatment(model.tax_treatment)
    return TAX_LABELS_JA[treatment] if _ja() else treatment.value


def _policy_status(view, context, model, name):
    status = PolicyStatus(model.status)
    return POLICY_STATUS_LABELS_JA[status] if _ja() else status.value


def _in_words(view, context, model, name):
    return operations.describe_policy(model)


def _entry_kind(view, context, model, name):
    return _kind_label(model.kind)


def _date(view, context, model, name):
    return format_date(getattr(model, name), _locale())


def _postings(view, context, model, name):
    rows = db.session.execute(
        sa.select(Account.code, Posting.amount).join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id == model.id).order_by(Posting.id)
    ).all()
    debit_ja, credit_ja = ("借方", "貸方") if _ja() else ("debit", "credit")
    return " / ".join(f"{debit_ja if amount > 0 else credit_ja} {code} {abs(amount):,}円" for code, amount in rows)


class CostItemView(SecureModelView):
    required_action = "billing.read"
    column_list = ("fiscal_year", "name", "category", "amount", "tax_treatment", "tax_amount", "vendor", "reference",
                   "amortisation_index", "amortisation_years")
    column_filters = ("fiscal_year", "category")
    column_searchable_list = ("name", "vendor", "reference")
    column_default_sort = [("fiscal_year", True), ("id", False)]
    column_labels = {
        "fiscal_year": _l("Fiscal year"), "name": _l("Cost item"), "category": _l("Category"), "amount": _l("Amount"),
        "tax_treatment": _l("Tax treatment"), "tax_amount": _l("Consumption tax"), "vendor": _l("Vendor"),
        "reference": _l("Reference"), "amortisation_index": _l("Year of amortisation"),
        "amortisation_years": _l("Amortisation years"), "invoiced_amount": _l("Invoiced amount"),
    }
    column_formatters = {"fiscal_year": _fy, "category": _category, "amount": _yen, "tax_treatment": _tax,
                         "tax_amount": _yen, "invoiced_amount": _yen}
    column_formatters_detail = column_formatters


class PolicyView(SecureModelView):
    required_action = "billing.read"
    column_list = ("name", "version", "status", "prefecture_share", "floor", "cap", "resolution_ref", "adopted_at")
    column_details_list = ("name", "version", "status", "prefecture_share", "components_json", "floor", "cap",
                           "resolution_ref", "adopted_at", "adopted_by", "description", "created_at", "created_by")
    column_default_sort = [("name", False), ("version", True)]
    column_labels = {
        "name": _l("Policy"), "version": _l("Version"), "status": _l("Status"), "prefecture_share": _l("In words"),
        "floor": _l("Floor"), "cap": _l("Cap"), "resolution_ref": _l("Council resolution"),
        "adopted_at": _l("Adopted"), "adopted_by": _l("Adopted by"), "components_json": _l("Components"),
        "description": _l("Description"), "created_at": _l("Registered"), "created_by": _l("Created by"),
    }
    column_formatters = {"status": _policy_status, "prefecture_share": _in_words, "floor": _yen, "cap": _yen,
                         "adopted_at": _date, "created_at": _date}
    column_formatters_detail = column_formatters


class JournalEntryView(SecureModelView):
    required_action = "billing.read"
    tenant_code_column = "tenant_code"
    column_list = ("id", "occurred_on", "fiscal_year", "kind", "tenant_code", "description", "run_id", "reverses_id")
    column_details_list = ("id", "idempotency_key", "status", "occurred_on", "fiscal_year", "kind", "tenant_code",
                           "description", "run_id", "reverses_id", "postings", "created_at", "created_by")
    column_filters = ("fiscal_year", "kind", "tenant_code", "run_id")
    column_searchable_list = ("description", "idempotency_key", "tenant_code")
    column_default_sort = ("id", True)
    column_labels = {
        "id": _l("No."), "occurred_on": _l("Date"), "fiscal_year": _l("Fiscal year"), "kind": _l("Kind"),
        "tenant_code": _l("Tenant"), "description": _l("Description"), "run_id": _l("Allocation run"),
        "reverses_id": _l("Reverses entry"), "idempotency_key": _l("Idempotency key"), "status": _l("Status"),
        "postings": _l("Postings"), "created_at": _l("Registered"), "created_by": _l("Created by"),
    }
    column_formatters = {"fiscal_year": _fy, "kind": _entry_kind, "occurred_on": _date, "created_at": _date}
    column_formatters_detail = {**column_formatters, "postings": _postings}


class AccountView(SecureModelView):
    required_action = "billing.read"
    tenant_code_column = "tenant_code"
    column_list = ("code", "name_ja", "type", "tenant_code", "balance")
    column_default_sort = "code"
    column_labels = {"code": _l("Account"), "name_ja": _l("Name"), "type": _l("Type"), "tenant_code": _l("Tenant"),
                     "balance": _l("Balance")}
    column_formatters = {"balance": lambda view, context, model, name: f"{ledger.balance(db.session, model.code):,}円"}

    def get_query(self):
        query = super().get_query()
        if not self.grant.all_tenants:
            query = query.filter(Account.tenant_code.is_not(None))
        return query

    def get_count_query(self):
        query = super().get_count_query()
        if not self.grant.all_tenants:
            query = query.filter(Account.tenant_code.is_not(None))
        return query


def views(session):
    return [
        BillingView(name=_l("Cost sharing"), endpoint="billing", url="billing", category=CATEGORY),
        CostItemView(CostItem, session, name=_l("Cost items"), endpoint="billing_cost_items", url="billing/cost-items",
                     category=CATEGORY),
        PolicyView(AllocationPolicy, session, name=_l("Allocation policies"), endpoint="billing_policies",
                   url="billing/policies", category=CATEGORY),
        JournalEntryView(JournalEntry, session, name=_l("Journal"), endpoint="billing_journal", url="billing/journal",
                         category=CATEGORY),
        AccountView(Account, session, name=_l("Accounts"), endpoint="billing_accounts", url="billing/accounts",
                    category=CATEGORY),
    ]
