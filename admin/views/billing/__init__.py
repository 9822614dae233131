"""Cost sharing in /admin (負担金): the year's page (runs, summary, trial balance), a run's page
with its review / approve / reverse buttons, printable statements with Excel and CSV downloads;
the read-only lists of cost items, policies, journal entries and accounts are in
admin/views/billing/lists.py, the forms of these pages in admin/views/billing/forms.py.

Reads follow ``billing.read`` (a municipal admin sees only their own tenant's statement and
entries); every change is a POST that calls a :mod:`billing.operations` use case, which audits
it, through the one POST path of admin/views/base.py. A refusal is shown as a message and changes
nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext, lazy_gettext as _l
from flask_babel import gettext as _
from wtforms import Form, HiddenField, StringField

from admin import config
from admin.downloads import attachment
from admin.extensions import db
from admin.i18n import format_date, format_fiscal_year
from admin.views import paging
from admin.views.base import SecureView, apply_problems, confirm_first, post_action, with_problems_beside_fields
from admin.views.billing.budgets import BudgetPages
from admin.views.billing.close import YearClosePages
from admin.views.billing.estimates import EstimatePages
from admin.views.billing.grants import GrantPages
from admin.views.billing.forms import (AdoptForm, CostItemForm, PolicyForm, ProposeForm, _ja, _locale,
                                       _propose_form,
                                       _member_choices, _resolution_text, _year_choices)
from admin.views.billing.reminders import _day as reminder_day
from admin.views.billing.lists import (AccountView, CostItemView, JournalEntryView, PolicyView, _basis_label, _category,
                                       _kind_label, _tax)
from billing import (allocation, allocation_policies, allocation_previews, allocation_runs, documents, grants, ledger,
                     operations, simulate, statements, year_close)
from billing import attention as billing_attention
from billing import reminders as reminder_letters
from billing.ledger_errors import BillingNotFound
from governance import council
from governance.models import ChangeType
from governance.schemas import ProposalCreate, closing_moment
from billing.models import RunKind, Account, AllocationPolicy, CostItem, JournalEntry, PolicyStatus, RunStatus
from core import authz, charts
from core.calendar import (FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, fiscal_year_ja, fiscal_year_of,
                           is_supported_fiscal_year, today_jst)
from core.errors import DomainError
from core.validation import whole_number
from tenancy.registry.models import Tenant, TenantKind, TenantStatus
from tenancy.registry.prefecture import get_settings

CATEGORY = _l("Cost sharing")


class ActionForm(Form):
    action = HiddenField()
    text = StringField()


class RunForm(Form):
    fiscal_year = StringField()
    kind = StringField()


# The run actions that cannot be undone, and what the confirmation step says (msgids; frame.po).
_IRREVERSIBLE_RUN_ACTIONS = {
    "approve": ("Approve this allocation run?",
                "Approving posts the shares to the accounting ledger; it can be undone only by reversing entries.",
                "Approve and post to the ledger"),
    "reverse": ("Reverse this allocation run?",
                "Reversing posts entries that cancel every share this run posted to the ledger. A reversed run cannot "
                "be approved again; to charge the year again, compute a new run.",
                "Reverse with reversing entries"),
    "discard": ("Discard this allocation run?",
                "A discarded run cannot be reviewed or approved any more. Nothing is posted to the ledger; to charge "
                "the year, compute a new run.",
                "Discard the run"),
}


def _requested_year(default: int | None = None) -> int:
    """The year asked for (``?fy=2025``), else ``default`` (the latest year with data), else this year."""
    year = whole_number(request.args.get("fy", ""), max_digits=4)
    if year is not None and is_supported_fiscal_year(year):
        return year
    return default or fiscal_year_of(today_jst())


def _download(data: bytes, mimetype: str, stem: str, label: str, extension: str) -> Response:
    return attachment(data, mimetype, f"{stem}.{extension}", f"{label}.{extension}")


def _four_eyes() -> bool:
    """Whether this office requires two people (:func:`admin.config.four_eyes`)."""
    return config.four_eyes(current_app.config)


def _account_names(code: str) -> tuple[str, str]:
    spec = ledger.standard_account(code)
    return (spec.name_ja, spec.name_en) if spec is not None else (code, code)


def account_label(code: str, name_ja: str, name_en: str, names: dict[str, str]) -> str:
    """An account in words: 「負担金未収金 熊本市（431001）」 rather than ``receivable:431001``."""
    if code.startswith(ledger.RECEIVABLE_PREFIX):
        tenant = code[len(ledger.RECEIVABLE_PREFIX):]
        name = names.get(tenant, "")
        return (f"負担金未収金 {name}（{tenant}）" if _ja() else f"Receivable from {name} ({tenant})").replace(" （", "（")
    return name_ja if _ja() else name_en


def _tenant_names() -> dict[str, str]:
    return dict(db.session.execute(sa.select(Tenant.code, Tenant.name_ja)).all())


def _yen_text(amount: int | None) -> str:
    """An amount as the page's language writes it (blank when there is none)."""
    if amount is None:
        return ""
    return f"{amount:,}円" if _ja() else f"¥{amount:,}"


def what_if_chart(rows: list[tuple[str, int, int]], label_a: str, label_b: str, title: str) -> charts.Chart:
    """The what-if page's chart (core/charts.py): per payer, A's and B's shares side by side, the
    largest difference said in its description."""
    biggest = max(rows, key=lambda row: abs(row[2] - row[1]), default=None)
    description = _("Bars per payer: %(a)s and %(b)s.", a=label_a, b=label_b)
    if biggest is not None:
        description += " " + _("The largest difference is %(name)s: %(diff)s yen.", name=biggest[0],
                               diff=f"{biggest[2] - biggest[1]:+,}")
    return charts.Chart("what-if-chart", title, description, tuple(name for name, _a, _b in rows),
                        (charts.Series(f"A: {label_a}", tuple(a for _name, a, _b in rows)),
                         charts.Series(f"B: {label_b}", tuple(b for _name, _a, b in rows))),
                        _("Tenant"), "円" if _ja() else " yen", horizontal=True)


class BillingView(BudgetPages, GrantPages, YearClosePages, EstimatePages, SecureView):
    """The year's page, a run's page and statements (and the budget's and the grants' pages,
    :class:`BudgetPages`, :class:`GrantPages`)."""

    required_action = "billing.read"

    def _all(self) -> bool:
        return self.grant.all_tenants

    def _can_manage(self) -> bool:
        return authz.allowed(g.actor, "billing.manage")

    def _attention(self, label) -> dict:
        """What the home page counts for finance, listed here by the same reads: runs waiting for a
        review or an approval (every year), and the statements not fully paid (a page at a time)."""
        waiting = billing_attention.runs_waiting(db.session, g.actor)
        number = paging.page_number("unpaid_page")
        unpaid, total = billing_attention.unpaid_statements_shown(db.session, g.actor, paging.PAGE_SIZE,
                                                                  offset=(number - 1) * paging.PAGE_SIZE)
        return {"waiting": {status: [(label(run), url_for(".run", run_id=run.id)) for run in waiting
                                     if RunStatus(run.status).value == status] for status in ("computed", "reviewed")},
                "unpaid": paging.Page.of(
                    [(f"{row.tenant_name}（{row.tenant_code}）"
                      f" {format_fiscal_year(row.fiscal_year, _locale())}: {_yen_text(row.balance)}",
                      url_for(".statement", code=row.tenant_code, fiscal_year=row.fiscal_year)) for row in unpaid],
                    number, total)}

    @expose("/")
    def index(self):
        latest = self._default_year()
        year = _requested_year(latest)
        context = {"year": year, "year_label": format_fiscal_year(year, _locale()), "all_tenants": self._all(),
                   "first_year": FIRST_FISCAL_YEAR, "last_year": LAST_FISCAL_YEAR, "year_choices": _year_choices(year, latest),
                   "can_manage": self._can_manage(), "can_compare": self._all(), "run_form": RunForm(),
                   "run_status": _run_status, "run_kind": _run_kind,
                   "year_label_of": lambda value: format_fiscal_year(value, _locale())}
        if self._all():
            cost_items = operations.list_cost_items(db.session, g.actor, year)
            names = _tenant_names()
            summary = statements.build_summary(db.session, g.actor, year)
            books = operations.trial_balance(db.session, g.actor, fiscal_year=year)
            # the statements and the trial balance hold a row per tenant: paged (50 a page), searched (?q=)
            search = paging.search_text()
            label = lambda row: account_label(row.code, row.name_ja, row.name_en, names)
            args = {key: value for key, value in request.args.items()
                    if key in ("fy", "q", "page", "books_page", "unpaid_page")}
            runs = allocation_runs.list_runs(db.session, g.actor, year)
            context.update(self._attention(label=lambda run: f"{format_fiscal_year(run.fiscal_year, _locale())} "
                                                             f"{_('Run #%(id)s', id=run.id)}: {_yen_text(run.total)}"))
            context.update(
                search=search, summary_rows=paging.paginate(summary.rows, paging.page_number(), keep=lambda row: paging.matches(
                    search, row.tenant_code, row.tenant_name)),
                books_rows=paging.paginate(books.rows, paging.page_number("books_page"),
                                           keep=(lambda row: paging.matches(search, row.code, label(row))) if search else None),
                href=lambda name: lambda number: url_for(".index", **{**args, "fy": year, name: number}),
                runs=runs, letters={run.id: documents.issued_count(db.session, run.id) for run in runs},
                summary=summary,
                books=books,
                cost_items=cost_items, cost_total=sum(item.amount for item in cost_items),
                funding=_funding_or_problem(year),
                close=year_close.close_summary(year_close.year_close(db.session, year), year),
                locked=operations.posted_run(db.session, year),
                settle_from=allocation_runs.settlement_due(db.session, year),
                policy=allocation_policies.adopted_policy(db.session),
                describe=allocation_policies.describe_policy,
                category_label=lambda item: _category(None, None, item, "category"),
                tax_label=lambda item: _tax(None, None, item, "tax_treatment"),
                account=lambda row: account_label(row.code, row.name_ja, row.name_en, names),
            )
        else:
            codes = sorted(g.actor.tenant_codes)
            names = dict(db.session.query(Tenant.code, Tenant.name_ja).filter(Tenant.code.in_(codes)).all())
            context["own"] = [(code, names.get(code, code), allocation_runs.statement_years(db.session, g.actor, code))
                              for code in codes]
            # the reminders (督促状) each tenant was sent, and what is unpaid after its due date now
            context["own_reminders"] = [(names.get(code, code), reminder)
                                        for code in codes for reminder in reminder_letters.reminders_of(db.session, g.actor, code)]
            context["own_overdue"] = [item for code in codes for item in reminder_letters.overdue_of(db.session, g.actor, code)]
            context["day"] = reminder_day
        return self.render("renkei/billing_index.html", **context)

    @expose("/runs/new", methods=("POST",))
    def new_run(self):
        form = RunForm(request.form)
        try:
            year = int((form.fiscal_year.data or "").strip())
        except ValueError:
            flash("年度は西暦の数字で入力してください（例: 2025）。" if _ja() else "Enter the fiscal year as a number, e.g. 2025.", "error")
            return redirect(url_for(".index"))

        kind = (form.kind.data or RunKind.final.value).strip()
        if kind not in (RunKind.final.value, RunKind.provisional.value):
            abort(400)

        def create_run():
            return allocation_runs.create_run(db.session, g.actor, year, kind=RunKind(kind))

        return post_action(create_run,
                           saved=lambda run: f"按分計算 #{run.id} を作成しました。" if _ja() else f"Run #{run.id} computed.",
                           done=lambda run: redirect(url_for(".run", run_id=run.id)),
                           failed=lambda: redirect(url_for(".index", fy=year)))

    @expose("/fiscal-years/<int:fiscal_year>/settlement", methods=("POST",))
    def settle(self, fiscal_year: int):
        """Compute the year's 精算 from its posted 概算 run (reviewed and approved like any run)."""
        return post_action(lambda: allocation_runs.create_settlement(db.session, g.actor, fiscal_year),
                           saved=lambda run: (f"精算の按分計算 #{run.id} を作成しました。確認と承認を経て差額を計上します。" if _ja()
                                              else f"Settlement run #{run.id} computed; review and approve it to post the differences."),
                           done=lambda run: redirect(url_for(".run", run_id=run.id)),
                           failed=lambda: redirect(url_for(".index", fy=fiscal_year)))

    @expose("/runs/<int:run_id>/")
    def run(self, run_id: int):
        run = allocation_runs.read_run(db.session, g.actor, run_id)
        lines = allocation_runs.run_lines(db.session, run)
        snapshot = json.loads(run.snapshot_json)
        moves = allocation_runs.allowed_run_actions(run)
        four_eyes = _four_eyes()
        refusals = allocation_runs.four_eyes_refusals(run, g.actor) if four_eyes else {}
        shared = {line.tenant_code for line in lines}
        active_now = db.session.scalar(sa.select(sa.func.count()).select_from(Tenant).where(
            Tenant.status == TenantStatus.active, Tenant.kind != TenantKind.prefecture))
        # one row per tenant in each table: paged (50 a page) and searched by code or name (?q=)
        search = paging.search_text()
        names = _tenant_names()
        shown_lines = paging.paginate(lines, paging.page_number(), keep=lambda line: paging.matches(
            search, line.tenant_code, line.tenant_name))
        not_sharing = allocation_previews.not_sharing(db.session, run.fiscal_year, excluding=shared)
        shown_others = paging.paginate(not_sharing, paging.page_number("others_page"),
                                       keep=lambda item: paging.matches(search, item.code, item.name))

        def entry_matches(entry) -> bool:
            tenant = entry.tenant_code or (entry.account[len(ledger.RECEIVABLE_PREFIX):]
                                           if entry.account.startswith(ledger.RECEIVABLE_PREFIX) else None)
            return tenant is not None and paging.matches(search, tenant, names.get(tenant))

        if search:  # searched by the tenant's name too: every posting looked at
            shown_entries = paging.paginate(ledger.postings(db.session, run_id=run.id),
                                            paging.page_number("entries_page"), keep=entry_matches)
        else:  # the page's postings only (two in each of the run's 1,741 charges at national size)
            count = ledger.count_postings(db.session, run_id=run.id)
            number = min(paging.page_number("entries_page"), paging.pages_for(count))
            shown_entries = paging.Page.of(ledger.postings(db.session, run_id=run.id, limit=paging.PAGE_SIZE,
                                                           offset=(number - 1) * paging.PAGE_SIZE), number, count)
        args = {key: value for key, value in request.args.items() if key in ("q", "page", "entries_page", "others_page")}
        return self.render("renkei/billing_run.html", run=run, lines=shown_lines.items, snapshot=snapshot,
                           entries=shown_entries.items, shown_lines=shown_lines, shown_entries=shown_entries,
                           shown_others=shown_others, search=search,
                           href=lambda name: lambda number: url_for(".run", run_id=run.id, **{**args, name: number}),
                           four_eyes=four_eyes, refusals={name: (ja if _ja() else en) for name, (ja, en) in refusals.items()},
                           not_sharing=shown_others.items, not_sharing_count=len(not_sharing),
                           reason=lambda item: item.reason_ja if _ja() else item.reason_en,
                           municipalities=sum(1 for line in lines if not line.is_prefecture), active_now=active_now,
                           year_label=format_fiscal_year(run.fiscal_year, _locale()),
                           account=lambda code: account_label(code, *_account_names(code), names),
                           posted=RunStatus(run.status) == RunStatus.approved,
                           # every line's components, in first-seen order (the prefecture line has only its share)
                           components=list(dict.fromkeys(basis for line in lines for basis in json.loads(line.components_json))),
                           line_components=lambda line: json.loads(line.components_json),
                           basis_label=allocation_policies.basis_label_ja, moves=moves if self._can_manage() else [],
                           move_labels=allocation_runs.RUN_ACTION_LABELS_JA if _ja() else {name: name for name in moves},
                           form=ActionForm(), run_status=_run_status, run_kind=_run_kind, kind_label=_kind_label,
                           date=lambda value: format_date(value, _locale()), **self._letters(run))

    def _letters(self, run) -> dict[str, Any]:
        """What the run page's letters section shows: how many are issued, and whether more can be."""
        settings = get_settings(db.session)
        days = settings.payment_days if settings is not None else 30
        return {"letters_issued": documents.issued_count(db.session, run.id), "settings_set": settings is not None,
                "can_manage": self._can_manage(), "can_issue": self._can_manage() and settings is not None,
                "default_due": (today_jst() + dt.timedelta(days=days)).isoformat()}

    @expose("/runs/<int:run_id>/act", methods=("POST",))
    def act(self, run_id: int):
        form = ActionForm(request.form)
        action, text = form.action.data, (form.text.data or "").strip()
        if action in _IRREVERSIBLE_RUN_ACTIONS and self._can_manage():  # others are refused by the operation
            title, consequence, label = _IRREVERSIBLE_RUN_ACTIONS[action]
            asked = confirm_first(self, title=gettext(title), consequence=gettext(consequence),
                                  confirm_label=gettext(label), back=url_for(".run", run_id=run_id))
            if asked is not None:
                return asked

        def act_on_run():
            if action == "review":
                allocation_runs.review_run(db.session, g.actor, run_id, text, four_eyes=_four_eyes())
            elif action == "approve":
                allocation_runs.approve_run(db.session, g.actor, run_id, four_eyes=_four_eyes())
            elif action == "reverse":
                allocation_runs.reverse_run(db.session, g.actor, run_id, text)
            elif action == "discard":
                allocation_runs.discard_run(db.session, g.actor, run_id)
            else:
                abort(400)

        return post_action(act_on_run, back=url_for(".run", run_id=run_id),
                           saved="按分計算を更新しました。" if _ja() else "Run updated.")

    # --- cost items ---------------------------------------------------------------------------------

    def _manage_only(self) -> None:
        if not self._can_manage():
            abort(403)

    @expose("/cost-items/new", methods=("GET", "POST"))
    def cost_item_new(self):
        self._manage_only()
        year = _requested_year()
        form = CostItemForm(request.form if request.method == "POST" else None,
                            **({} if request.method == "POST" else {"fiscal_year": year}))
        if request.method == "GET":
            return self._cost_item_page(form, None)
        if not form.validate():
            return self._cost_item_page(form, None)
        return post_action(
            with_problems_beside_fields(form, lambda: operations.create_cost_item(db.session, g.actor, form.to_schema())),
            saved=lambda items: _("Cost item %(name)s saved.", name=items[0].name),
            done=lambda items: redirect(url_for(".index", fy=items[0].fiscal_year)),
            failed=lambda: self._cost_item_page(form, None, refused=True))

    @expose("/cost-items/<int:item_id>/edit", methods=("GET", "POST"))
    def cost_item_edit(self, item_id: int):
        self._manage_only()
        item = db.session.get(CostItem, item_id)
        if item is None:
            abort(404)
        locked = operations.cost_item_locked(db.session, item)
        if request.method == "GET":
            form = CostItemForm(None, **operations.cost_item_input(db.session, item))
            return self._cost_item_page(form, item, locked)
        form = CostItemForm(request.form)
        if not form.validate():
            return self._cost_item_page(form, item, locked)
        return post_action(
            with_problems_beside_fields(form, lambda: operations.update_cost_item(db.session, g.actor, item_id, form.to_schema())),
            saved=lambda items: _("Cost item %(name)s saved.", name=items[0].name),
            done=lambda items: redirect(url_for(".index", fy=items[0].fiscal_year)),
            failed=lambda: self._cost_item_page(form, item, locked, refused=True))

    def _cost_item_page(self, form, item, locked=None, refused=False):
        status = 422 if refused or form.errors else 200
        group = operations.cost_item_group(db.session, item) if item is not None else []
        return self.render("renkei/billing_cost_item.html", form=form, item=item, locked=locked, group=group,
                           year_label=lambda year: format_fiscal_year(year, _locale())), status

    @expose("/cost-items/<int:item_id>/delete", methods=("POST",))
    def cost_item_delete(self, item_id: int):
        self._manage_only()
        item = db.session.get(CostItem, item_id)
        if item is None:
            abort(404)
        year, name = item.fiscal_year, item.name
        group = operations.cost_item_group(db.session, item)
        asked = confirm_first(
            self, title=_("Delete cost item %(name)s?", name=name),
            consequence=_("Deleting removes this cost line from %(years)s. Runs computed before cannot be approved "
                          "any more and must be computed again. The deletion is kept in the audit log.",
                          years="、".join(format_fiscal_year(member.fiscal_year, _locale()) for member in group)),
            confirm_label=_("Delete"), back=url_for(".index", fy=year))
        if asked is not None:
            return asked
        return post_action(lambda: operations.delete_cost_item(db.session, g.actor, item_id),
                           back=url_for(".index", fy=year), saved=_("Cost item %(name)s deleted.", name=name))

    # --- allocation policies: builder with a preview, adoption, the council -------------------------

    @expose("/policies/new", methods=("GET", "POST"))
    def policy_new(self):
        self._manage_only()
        year = self._default_year()
        if request.method == "GET":
            form = PolicyForm(None, year=year)
            adopted = allocation_policies.adopted_policy(db.session)
            if adopted is not None:
                _fill_policy_form(form, adopted)
            return self._policy_page(form)
        form = PolicyForm(request.form, year=year)
        previewing = request.form.get("intent") == "preview"
        valid = form.validate()
        if previewing:
            form.name.errors = []  # a preview needs no name yet
            valid = not form.errors
        if not valid:
            return self._policy_page(form)
        if previewing:
            return self._policy_page(form, preview=self._preview(form))
        return post_action(
            with_problems_beside_fields(form, lambda: allocation_policies.create_policy(db.session, g.actor, form.to_schema()),
                     {"components": "equal", "prefecture_share": "prefecture_share"}),
            saved=lambda policy: _("Policy %(name)s (version %(version)s) saved. Adopt it, or send it to the council.",
                                   name=policy.name, version=policy.version),
            done=lambda policy: redirect(url_for(".policies", _anchor=f"policy-{policy.id}")),
            failed=lambda: (self._policy_page(form)[0], 422))

    @expose("/policies/preview", methods=("POST",))
    def policy_preview(self):
        """The preview table alone (fetched by the builder's script); writes nothing."""
        self._manage_only()
        form = PolicyForm(request.form, year=self._default_year())
        form.validate()
        form.name.errors = []
        preview = self._preview(form) if not form.errors else None
        return self.render("renkei/billing_preview.html", form=form, preview=preview, fragment=True,
                           basis_label=_basis_label, yen=_yen_text, **_preview_context())

    def _preview(self, form):
        try:
            return allocation_previews.preview_allocation(db.session, g.actor, form.fiscal_year.data, form.value(),
                                                 form.members.data or "participating")
        except DomainError as error:
            apply_problems(form, error)
            form.form_errors.append(error.message_ja if _ja() else error.message_en)
            form.form_errors.extend(item["message_ja"] if _ja() else item["message_en"] for item in error.problems)
            return None

    def _policy_page(self, form, preview=None):
        return self.render("renkei/billing_policy_new.html", form=form, preview=preview, basis_label=_basis_label,
                           yen=_yen_text, **_preview_context()), (422 if form.errors or form.form_errors else 200)

    @expose("/policies/")
    def policies(self):
        return self._policies_page()

    def _policies_page(self, refused: AdoptForm | None = None):
        """The policies, each not adopted with its adoption form; ``refused``: the form that came back
        refused (what was picked, the problem beside the picker), the page then answering 422."""
        policies = allocation_policies.list_policies(db.session, g.actor)
        can_manage = self._can_manage()
        adopt_forms = {}
        if can_manage:
            waiting = [policy for policy in policies if PolicyStatus(policy.status) != PolicyStatus.adopted]
            choices = allocation_policies.resolution_choices(db.session, g.actor, waiting)
            for policy in waiting:
                form = AdoptForm(choices=choices[policy.id], policy_id=policy.id, four_eyes=_four_eyes())
                if refused is not None and refused.policy_id == policy.id:
                    picked = (refused.resolution_id.data or "").strip()
                    number = whole_number(picked, max_digits=10)
                    decision = allocation_policies.council_decision(db.session, number) if (
                        number is not None and 0 < number < 2**31) else None
                    if decision is not None and picked not in dict(form.resolution_id.choices):
                        # what was picked stays shown, though it cannot stand (the problem says why)
                        form.resolution_id.choices.append((picked, _resolution_text(decision)))
                    form.resolution_id.data, form.resolution_id.errors = picked, refused.resolution_id.errors
                adopt_forms[policy.id] = form
        page = self.render("renkei/billing_policies.html", policies=policies, describe=allocation_policies.describe_policy,
                           status_label=_policy_status_label, adopt_forms=adopt_forms, four_eyes=_four_eyes(),
                           drafted_by=lambda policy: allocation_policies.drafted_by(policy, g.actor),
                           resolution_text=lambda ref: allocation_policies.resolution_text(db.session, ref),
                           can_manage=can_manage, can_propose=authz.allowed(g.actor, "council.manage"),
                           can_compare=self._all(),  # the comparison shows every tenant's share
                           propose_form=_propose_form(None),
                           date=lambda value: format_date(value, _locale()))
        return (page, 422) if refused is not None else page

    @expose("/policies/<int:policy_id>/adopt", methods=("POST",))
    def policy_adopt(self, policy_id: int):
        form = AdoptForm(request.form, policy_id=policy_id)
        policy = allocation_policies.read_policy(db.session, g.actor, policy_id)

        def refused():
            return self._policies_page(refused=form)

        def adopt():
            return allocation_policies.adopt_policy(db.session, g.actor, policy_id, form.value(),
                                                    four_eyes=_four_eyes())

        if self._can_manage():  # others are refused by the operation
            # what would be refused is said now, beside the picker, before the confirmation step
            checked = post_action(with_problems_beside_fields(
                form, lambda: allocation_policies.check_adoption(db.session, g.actor, policy_id, form.value(),
                                                                 four_eyes=_four_eyes())),
                done=lambda _result: None, failed=refused)
            if checked is not None:
                return checked
            asked = confirm_first(
                self, title=_("Adopt %(name)s (version %(version)s)?", name=policy.name, version=policy.version),
                consequence=_("From now on every new allocation run uses this policy: %(words)s. The policy adopted "
                              "until now stops being used; runs already computed keep the policy they used.",
                              words=allocation_policies.describe_policy(policy)),
                confirm_label=_("Adopt"), back=url_for(".policies"))
            if asked is not None:
                return asked
        return post_action(with_problems_beside_fields(form, adopt), back=url_for(".policies"), failed=refused,
                           saved=_("Policy %(name)s (version %(version)s) adopted.", name=policy.name,
                                   version=policy.version))

    @expose("/policies/<int:policy_id>/propose", methods=("POST",))
    def policy_propose(self, policy_id: int):
        """The operator puts the policy to the council (a proposal to adopt it)."""

        policy = allocation_policies.read_policy(db.session, g.actor, policy_id)
        form = _propose_form(request.form)
        if not form.validate():
            flash(_("The proposal needs a title and a closing day."), "error")
            return redirect(url_for(".policies", _anchor=f"policy-{policy_id}"))

        def propose():
            data = ProposalCreate(title=form.title.data, description=allocation_policies.describe_policy(policy),
                                  change_type=ChangeType.adopt_allocation_policy, params={"policy_id": policy.id},
                                  closes_at=closing_moment(form.closes_on.data))
            return council.propose(db.session, g.actor, data)

        return post_action(propose, back=url_for(".policies", _anchor=f"policy-{policy_id}"),
                           saved=_("The proposal was sent to the council."),
                           done=lambda proposal: redirect(url_for("council.proposal", proposal_id=proposal.id)))

    # --- what if ------------------------------------------------------------------------------------

    @expose("/what-if")
    def what_if(self):
        operations.require_all_tenants(g.actor)
        year = _requested_year(self._default_year())
        policies = allocation_policies.list_policies(db.session, g.actor)
        adopted = allocation_policies.adopted_policy(db.session)
        default_id = str(adopted.id) if adopted else (str(policies[-1].id) if policies else "")
        choice = {key: request.args.get(key, default) for key, default in (
            ("a_policy", default_id), ("b_policy", default_id),
            ("a_members", "participating"), ("b_members", "with_applicants"))}
        by_id = {str(policy.id): policy for policy in policies}
        sides, problems = {}, []
        chosen = {side: by_id.get(choice[f"{side}_policy"]) for side in ("a", "b")}
        asked = [side for side, policy in chosen.items() if policy is not None]
        # both sides in one call: the year's municipalities are read once for the two allocations
        answers = dict(zip(asked, allocation_previews.preview_allocations(
            db.session, g.actor, year, [(chosen[side], choice[f"{side}_members"]) for side in asked])))
        for side in ("a", "b"):
            if chosen[side] is None:
                problems.append(_("Choose a policy for %(side)s.", side=side.upper()))
            elif isinstance(answers[side], DomainError):
                error = answers[side]
                problems.append(f"{side.upper()}: {error.message_ja if _ja() else error.message_en}")
            else:
                sides[side] = (chosen[side], answers[side])
        rows, chart, shown = [], None, None
        search = paging.search_text()
        if len(sides) == 2:
            (policy_a, a), (policy_b, b) = sides["a"], sides["b"]
            names = {**a.names, **b.names}
            for difference in simulate.compare(a.result, b.result):
                rows.append((difference.code, names.get(difference.code, ""), difference.a, difference.b,
                             difference.difference))
            label = lambda policy, preview: f"{policy.name} v{policy.version}・{preview.municipalities}団体" if _ja() \
                else f"{policy.name} v{policy.version}, {preview.municipalities} municipalities"
            # one row per payer: paged (50 a page) and searched by code or name; the chart shows the page's rows
            shown = paging.paginate(rows, paging.page_number(), keep=lambda row: paging.matches(search, row[0], row[1]))
            chart = what_if_chart([(name or code, a_amount or 0, b_amount or 0)
                               for code, name, a_amount, b_amount, _d in shown.items],
                              label(policy_a, a), label(policy_b, b),
                              _("Shares in %(year)s, A and B", year=format_fiscal_year(year, _locale())))
        return self.render("renkei/billing_what_if.html", year=year, year_choices=_year_choices(year),
                           policies=policies, choice=choice, member_choices=_member_choices(), sides=sides,
                           rows=shown.items if shown else rows, shown=shown, search=search,
                           kept={key: value for key, value in choice.items()} | {"fy": year},
                           href=lambda number: url_for(".what_if", **{**request.args.to_dict(), "page": number}),
                           chart=chart, problems=problems, describe=allocation_policies.describe_policy,
                           year_label=format_fiscal_year(year, _locale()))

    # --- payments -----------------------------------------------------------------------------------

    @expose("/payments/new", methods=("GET", "POST"))
    def payment_new(self):
        """Payments are recorded from the bank's lines (or, the exception, by two people): their page."""
        self._manage_only()
        return redirect(url_for("billing_bank.index"))

    def _default_year(self) -> int:
        return allocation_runs.default_year(db.session, g.actor, fiscal_year_of(today_jst()))

    @expose("/statements/<code>/<int:fiscal_year>/")
    def statement(self, code: str, fiscal_year: int):
        try:
            letter = documents.letter(db.session, g.actor, code, fiscal_year)
        except BillingNotFound as error:
            # not posted yet (or no such tenant): say so inside the layout, with the years that have one
            known = db.session.scalar(sa.select(Tenant.id).where(Tenant.code == code)) is not None
            years = allocation_runs.statement_years(db.session, g.actor, code) if known else []
            return self.render("renkei/statement_missing.html", message=error.message_ja if _ja() else error.message_en,
                               code=code, years=years, year_label=lambda year: format_fiscal_year(year, _locale())), 404
        built = letter.statement
        return self.render("renkei/statement.html", statement=built, header_rows=statements._header_rows(built),
                           amount_rows=statements._amount_rows(built), letter=letter,
                           addressee=documents.addressee(built.tenant_name),
                           letter_rows=[row for row in documents.letter_rows(letter) if row[0] != "宛先"],
                           can_manage=self._can_manage(),
                           reminders=[(built.tenant_name, reminder) for reminder
                                      in reminder_letters.reminders_of(db.session, g.actor, code, fiscal_year)],
                           year_label=lambda value: format_fiscal_year(value, _locale()),
                           overdue=next((item for item in reminder_letters.overdue_of(db.session, g.actor, code)
                                         if item.fiscal_year == fiscal_year), None),
                           day=reminder_day)

    @expose("/statements/<code>/<int:fiscal_year>.<fmt>")
    def statement_file(self, code: str, fiscal_year: int, fmt: str):
        letter = documents.letter(db.session, g.actor, code, fiscal_year)
        built, rows = letter.statement, documents.letter_rows(letter)
        label = f"負担金通知_{built.tenant_name}_{built.era}"
        if fmt == "xlsx":
            return _download(statements.to_xlsx(built, rows), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             built.filename_stem, label, "xlsx")
        if fmt == "csv":
            return _download(statements.to_csv(built, rows), "text/csv", built.filename_stem, label, "csv")
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


def _funding_or_problem(year: int):
    """The year's 事業費, grants and 負担対象額, or the refusal in words when the grants cannot apply."""
    try:
        return grants.year_funding(db.session, g.actor, year)
    except DomainError as error:
        return error.message_ja if _ja() else error.message_en


def _policy_status_label(status) -> str:
    status = PolicyStatus(status)
    return status.ja if _ja() else status.en


def _fill_policy_form(form: "PolicyForm", policy: AllocationPolicy) -> None:
    """Start the builder from a stored policy (in percentages), as a new version of it."""
    form.name.data = policy.name
    form.description.data = policy.description
    share = allocation_policies.policy_value(policy).prefecture_share
    form.prefecture_share.data = _percent_number(share) if share else "0"
    form.equal.data = form.population.data = form.usage.data = "0"
    for basis, weight in allocation_policies.policy_components(policy):
        metric = allocation.usage_metric(basis)
        if metric is not None:
            form.usage.data, form.usage_metric.data = _percent_number(weight), metric
        elif basis in (allocation.EQUAL, allocation.POPULATION):
            form[basis].data = _percent_number(weight)
    form.floor.data, form.cap.data = policy.floor, policy.cap


def _percent_number(value: Fraction) -> str:
    text = allocation_policies.percent_text(value)
    return text[:-1] if text.endswith("%") else str(float(value * 100))


def _preview_context() -> dict[str, Any]:
    return {"preview_year_label": lambda year: format_fiscal_year(year, _locale()), "preview_ja": _ja()}


def _run_kind(kind) -> str:
    kind = RunKind(kind)
    return kind.ja if _ja() else kind.en


def _run_status(status) -> str:
    status = RunStatus(status)
    return status.ja if _ja() else status.en



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
