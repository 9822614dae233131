"""The read-only lists of cost sharing in /admin: cost items, allocation policies, journal entries and
accounts (Flask-Admin model views; registered by :func:`admin.views.billing.views`), and the words
their columns are shown in.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g
from flask_babel import lazy_gettext as _l

from admin.extensions import db
from admin.i18n import format_date, format_fiscal_year
from admin.views import labels as words
from admin.views.base import SecureModelView
from admin.views.billing.forms import _ja, _locale
from billing import allocation, allocation_policies, ledger
from billing.models import (
    Account,
    CostCategory,
    EntryKind,
    PolicyStatus,
    Posting,
    TaxTreatment,
)


def _basis_label(basis: str) -> str:
    if _ja():
        return allocation_policies.basis_label_ja(basis)
    metric = allocation.usage_metric(basis)
    return {"equal": "Equal part", "population": "Population part", "prefecture": "Prefecture"}.get(
        basis, f"Usage part ({metric})" if metric else basis)


def _kind_label(kind) -> str:
    kind = EntryKind(kind)
    return kind.ja if _ja() else kind.en


# --- read-only lists ------------------------------------------------------------------------------

def _yen(view, context, model, name):
    value = getattr(model, name)
    return "" if value is None else f"{value:,}円"


def _fy(view, context, model, name):
    return format_fiscal_year(getattr(model, name), _locale())


def _category(view, context, model, name):
    category = CostCategory(model.category)
    return category.ja if _ja() else category.en


def _tax(view, context, model, name):
    treatment = TaxTreatment(model.tax_treatment)
    return treatment.ja if _ja() else treatment.en


def _policy_status(view, context, model, name):
    status = PolicyStatus(model.status)
    return status.ja if _ja() else status.en


def _in_words(view, context, model, name):
    return allocation_policies.describe_policy(model)


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
    return " / ".join(f"{debit_ja if amount > 0 else credit_ja} {words.account_label(code)} {abs(amount):,}円"
                      for code, amount in rows)


def _account(view, context, model, name):
    return words.account_label(model.code)


def _account_type(view, context, model, name):
    return words.account_type(model.type)


def _tenant(view, context, model, name):
    return words.tenant_label(model.tenant_code) if model.tenant_code else "—"


def _entry_status(view, context, model, name):
    posted = model.status == "posted"
    return ("計上済" if posted else "記帳中") if _ja() else ("Posted" if posted else "Being written")


class CostItemView(words.LabelledFilters, SecureModelView):
    required_action = "billing.read"
    filter_option_labels = {"category": lambda value: CostCategory(value).ja if _ja() else CostCategory(value).en}
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
        "created_at": _l("Registered"), "created_by": _l("Created by"),
    }
    # what a clerk reads; the row id and the link to the first year's row stay internal
    column_details_list = ("fiscal_year", "name", "category", "amount", "invoiced_amount", "tax_treatment",
                           "tax_amount", "vendor", "reference", "amortisation_index", "amortisation_years",
                           "created_at", "created_by")
    column_formatters = {"fiscal_year": _fy, "category": _category, "amount": _yen, "tax_treatment": _tax,
                         "tax_amount": _yen, "invoiced_amount": _yen, "created_at": _date}
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
    # the components in words (均等割 50%・人口割 50%), never the stored JSON
    column_formatters_detail = {**column_formatters, "components_json": lambda view, context, model, name: "・".join(
        f"{_basis_label(basis)} {allocation_policies.percent_text(weight)}" for basis, weight in allocation_policies.policy_components(model))}


class JournalEntryView(words.LabelledFilters, SecureModelView):
    required_action = "billing.read"
    filter_option_labels = {"kind": _kind_label}
    tenant_code_column = "tenant_code"
    column_list = ("id", "occurred_on", "fiscal_year", "kind", "tenant_code", "description", "run_id", "reverses_id")
    column_details_list = ("id", "status", "occurred_on", "fiscal_year", "kind", "tenant_code",
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
    column_formatters = {"fiscal_year": _fy, "kind": _entry_kind, "occurred_on": _date, "created_at": _date,
                         "tenant_code": _tenant}
    column_formatters_detail = {**column_formatters, "postings": _postings, "status": _entry_status}


class AccountView(SecureModelView):
    required_action = "billing.read"
    tenant_code_column = "tenant_code"
    column_list = ("code", "type", "balance")  # the account in words: 「未収金 431001 熊本市」
    column_details_list = ("code", "type", "tenant_code", "balance")  # the names are in the account's words
    column_default_sort = "code"
    column_labels = {"code": _l("Account"), "name_ja": _l("Name"), "type": _l("Type"), "tenant_code": _l("Tenant"),
                     "balance": _l("Balance")}
    column_formatters = {"balance": lambda view, context, model, name: f"{view.balance_of(model):,}円",
                         "code": _account, "type": _account_type, "tenant_code": _tenant}

    def get_list(self, *args, **kwargs):
        """The page's accounts, with their balances in one grouped query (not one per row)."""
        count, rows = super().get_list(*args, **kwargs)
        if kwargs.get("execute", True) and rows is not None:
            g.account_balances = ledger.balances(db.session, list(rows))
        return count, rows

    def balance_of(self, account: Account) -> int:
        known = getattr(g, "account_balances", {})
        return known[account.code] if account.code in known else ledger.balance(db.session, account.code)

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
