"""The budget page of cost sharing (予算と予実): a year's budget versions, a form to draft one (or a
revision, 補正, with its reason), the operator's button that puts a draft to the council, and the
予実 per category with its Excel file. Mixed into the cost-sharing view (admin/views/billing/__init__.py);
every act is an operation of :mod:`billing.budgets` or the council's.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from admin.extensions import db
from admin.i18n import format_fiscal_year
from admin.views import operator_forms as forms
from admin.views.base import post_action, query_fiscal_year, with_problems_beside_fields
from admin.views.billing.forms import YenField, _Form, _locale, _propose_form, _validated, _year_choices
from billing import budgets
from billing.models import BudgetStatus, CostCategory
from billing.schemas import BudgetCreate
from core import authz
from governance import council
from governance.models import ChangeType
from core.calendar import fiscal_year_ja
from governance.schemas import ProposalCreate, closing_moment


class BudgetForm(_Form):
    """A budget version: yen per cost category (blank: not budgeted), the contract ceiling, the reason."""

    fiscal_year = SelectField(_l("Fiscal year"), coerce=int, validators=[InputRequired()])
    build = YenField(_l("Build cost (yen)"), validators=[Optional(), forms.InRange(min=0, max=10**15, unit=_l(" yen"))])
    run = YenField(_l("Running cost (yen)"), validators=[Optional(), forms.InRange(min=0, max=10**15, unit=_l(" yen"))])
    overhead = YenField(_l("Overhead (yen)"), validators=[Optional(), forms.InRange(min=0, max=10**15, unit=_l(" yen"))])
    contract_ceiling = YenField(_l("Contract ceiling (yen, tax included)"),
                                validators=[Optional(), forms.InRange(min=0, max=10**15, unit=_l(" yen"))])
    reason = TextAreaField(_l("Reason for the revision"), validators=[Length(max=2000)])

    def __init__(self, formdata=None, **kwargs):
        super().__init__(formdata, **kwargs)
        self.fiscal_year.choices = _year_choices(self.fiscal_year.data if isinstance(self.fiscal_year.data, int) else None)

    def to_schema(self) -> BudgetCreate:
        amounts = {category.value: self[category.value].data for category in CostCategory
                   if self[category.value].data is not None}
        return _validated(BudgetCreate, {"fiscal_year": self.fiscal_year.data, "amounts": amounts,
                                         "contract_ceiling": self.contract_ceiling.data, "reason": self.reason.data or ""},
                          {"missing": "run", "too_short": "run"})


def _category_label(category: str) -> str:
    category = CostCategory(category)
    return category.ja if _locale() == "ja" else category.en


class BudgetPages:
    """Mixed into the cost-sharing view: its ``_manage_only``, ``_default_year`` and ``render`` serve these pages."""

    def _budget_page(self, year: int, form: BudgetForm | None = None, refused: bool = False):
        versions = budgets.list_budgets(db.session, g.actor, year)
        form = form or BudgetForm(None, fiscal_year=year)
        return self.render(
            "renkei/billing_budget.html", year=year, year_label=format_fiscal_year(year, _locale()),
            versions=[(budget, budgets.budget_lines(db.session, budget)) for budget in versions],
            report=budgets.budget_actual(db.session, g.actor, year), form=form, propose_form=_propose_form(None),
            can_manage=authz.allowed(g.actor, "billing.manage"), can_propose=authz.allowed(g.actor, "council.manage"),
            category_label=_category_label, draft=BudgetStatus.draft, adopted=BudgetStatus.adopted,
        ), (422 if refused or form.errors else 200)

    @expose("/budget/")
    def budget(self):
        return self._budget_page(query_fiscal_year("fy", self._default_year()))

    @expose("/budget/new", methods=("POST",))
    def budget_new(self):
        self._manage_only()
        form = BudgetForm(request.form)
        year = form.fiscal_year.data if isinstance(form.fiscal_year.data, int) else self._default_year()
        if not form.validate():
            return self._budget_page(year, form)
        return post_action(
            with_problems_beside_fields(form, lambda: budgets.draft_budget(db.session, g.actor, form.to_schema())),
            saved=lambda budget: _("Budget version %(version)s of %(year)s drafted.", version=budget.version,
                                   year=format_fiscal_year(budget.fiscal_year, _locale())),
            done=lambda budget: redirect(url_for(".budget", fy=budget.fiscal_year)),
            failed=lambda: self._budget_page(year, form, refused=True))

    @expose("/budget/<int:budget_id>/propose", methods=("POST",))
    def budget_propose(self, budget_id: int):
        """The operator puts a drafted version to the council (a proposal to adopt it)."""
        budget = budgets.read_budget(db.session, g.actor, budget_id)
        form = _propose_form(request.form)
        back = url_for(".budget", fy=budget.fiscal_year)
        if not form.validate():
            flash(_("The proposal needs a title and a closing day."), "error")
            return redirect(back)
        amounts = "、".join(f"{CostCategory(category).ja} {amount:,}円"
                           for category, amount in budgets.budget_lines(db.session, budget).items())

        def propose():
            data = ProposalCreate(title=form.title.data, description=f"予算（第{budget.version}版）: {amounts}",
                                  change_type=ChangeType.adopt_budget, params={"budget_id": budget.id},
                                  closes_at=closing_moment(form.closes_on.data))
            return council.propose(db.session, g.actor, data)

        return post_action(propose, back=back, saved=_("The proposal was sent to the council."),
                           done=lambda proposal: redirect(url_for("council.proposal", proposal_id=proposal.id)))

    @expose("/budget/<int:fiscal_year>.xlsx")
    def budget_xlsx(self, fiscal_year: int):
        data = budgets.budget_actual_xlsx(budgets.budget_actual(db.session, g.actor, fiscal_year))
        response = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response.headers["Content-Disposition"] = (f"attachment; filename=\"budget-actual-FY{fiscal_year}.xlsx\"; "
                                                   f"filename*=UTF-8''{quote(f'予実_{fiscal_year_ja(fiscal_year)}.xlsx')}")
        return response

