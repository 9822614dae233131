"""The finance office's grant pages (交付金): enter a grant of a year, change it, record its fixed
amount (額の確定), withdraw it. They are pages of the cost-sharing view (admin/views/billing/__init__.py),
which mixes :class:`GrantPages` in; every act is an operation of :mod:`billing.grants`.
"""

from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin.extensions import db
from admin.i18n import format_fiscal_year
from admin.views.base import confirm_first, post_action, query_fiscal_year, typed_number, with_problems_beside_fields
from admin.views.billing.forms import GrantFixForm, GrantForm, _locale
from billing import grants, operations
from billing.models import Grant
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR


def _form_data(grant: Grant) -> dict:
    summary = grants.grant_summary(grant)
    keep = ("fiscal_year", "name", "grantor", "rate", "categories", "item_ids", "applied_amount", "decided_amount",
            "decision_reference", "rounding", "fixed_amount_authoritative")
    return {**{key: summary[key] for key in keep}, "decided_on": grant.decided_on}


class GrantPages:
    """Mixed into the cost-sharing view: its ``_manage_only`` and ``render`` serve these pages."""

    def _grant(self, grant_id: int) -> Grant:
        grant = db.session.get(Grant, grant_id)
        if grant is None:
            abort(404)
        return grant

    def _year_items(self, year: int):
        return operations.list_cost_items(db.session, g.actor, year)

    def _grant_page(self, form, grant=None, refused=False, fix_form=None):
        status = 422 if refused or form.errors or (fix_form is not None and fix_form.errors) else 200
        year = grant.fiscal_year if grant is not None else form.fiscal_year.data
        return self.render("renkei/billing_grant.html", form=form, grant=grant, fix_form=fix_form or GrantFixForm(),
                           locked=operations.posted_run(db.session, year) if isinstance(year, int) else None,
                           year_label=lambda value: format_fiscal_year(value, _locale())), status

    @expose("/grants/new", methods=("GET", "POST"))
    def grant_new(self):
        self._manage_only()
        year = query_fiscal_year("fy", self._default_year())
        if request.method == "GET":
            return self._grant_page(GrantForm(None, items=self._year_items(year), fiscal_year=year))
        form = GrantForm(request.form, items=self._year_items(
            typed_number(request.form.get("fiscal_year"), low=FIRST_FISCAL_YEAR, high=LAST_FISCAL_YEAR) or year))
        if not form.validate():
            return self._grant_page(form)
        return post_action(
            with_problems_beside_fields(form, lambda: grants.create_grant(db.session, g.actor, form.to_schema())),
            saved=lambda grant: _("Grant %(name)s saved.", name=grant.name),
            done=lambda grant: redirect(url_for(".index", fy=grant.fiscal_year) + "#grants-h"),
            failed=lambda: self._grant_page(form, refused=True))

    @expose("/grants/<int:grant_id>/edit", methods=("GET", "POST"))
    def grant_edit(self, grant_id: int):
        self._manage_only()
        grant = self._grant(grant_id)
        items = self._year_items(grant.fiscal_year)
        if request.method == "GET":
            return self._grant_page(GrantForm(None, items=items, **_form_data(grant)), grant)
        form = GrantForm(request.form, items=items)
        if not form.validate():
            return self._grant_page(form, grant)
        return post_action(
            with_problems_beside_fields(form, lambda: grants.update_grant(db.session, g.actor, grant_id, form.to_schema())),
            saved=lambda changed: _("Grant %(name)s saved.", name=changed.name),
            done=lambda changed: redirect(url_for(".index", fy=changed.fiscal_year) + "#grants-h"),
            failed=lambda: self._grant_page(form, grant, refused=True))

    @expose("/grants/<int:grant_id>/fix", methods=("POST",))
    def grant_fix(self, grant_id: int):
        self._manage_only()
        grant = self._grant(grant_id)
        form = GrantFixForm(request.form)
        page_form = GrantForm(None, items=self._year_items(grant.fiscal_year), **_form_data(grant))
        if not form.validate():
            return self._grant_page(page_form, grant, fix_form=form)
        return post_action(
            with_problems_beside_fields(form, lambda: grants.fix_grant(db.session, g.actor, grant_id, form.to_schema())),
            saved=lambda fixed: _("The fixed amount of %(name)s is recorded.", name=fixed.name),
            done=lambda fixed: redirect(url_for(".index", fy=fixed.fiscal_year) + "#grants-h"),
            failed=lambda: self._grant_page(page_form, grant, refused=True, fix_form=form))

    @expose("/grants/<int:grant_id>/delete", methods=("POST",))
    def grant_delete(self, grant_id: int):
        self._manage_only()
        grant = self._grant(grant_id)
        year, name = grant.fiscal_year, grant.name
        asked = confirm_first(
            self, title=_("Withdraw grant %(name)s?", name=name),
            consequence=_("Withdrawing removes this grant from %(year)s: the next run shares the whole cost without it. "
                          "Runs computed before cannot be approved any more. The withdrawal is kept in the audit log.",
                          year=format_fiscal_year(year, _locale())),
            confirm_label=_("Withdraw"), back=url_for(".index", fy=year))
        if asked is not None:
            return asked
        return post_action(lambda: grants.delete_grant(db.session, g.actor, grant_id),
                           back=url_for(".index", fy=year) + "#grants-h", saved=_("Grant %(name)s withdrawn.", name=name))
