"""The estimates page of cost sharing (負担金見込額): what next year's budget and expected grants would ask
of each municipality now, the form that issues the numbered letters (a new version each time, after
a confirmation), and the issued letters as one PDF. Mixed into the cost-sharing view
(admin/views/billing/__init__.py); every act is an operation of :mod:`billing.estimates`.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, g, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin.extensions import db
from admin.i18n import format_fiscal_year
from admin.views.base import confirm_first, post_action
from admin.views.billing.forms import _locale, _year_choices
from billing import estimates
from core.calendar import fiscal_year_of, today_jst
from core.errors import DomainError
from core.validation import whole_number


class EstimatePages:
    """Mixed into the cost-sharing view: its ``_manage_only``, ``_can_manage`` and ``render`` serve these pages."""

    def _estimate_year(self) -> int:
        year = whole_number(request.args.get("fy", ""), max_digits=4)
        return year if year is not None and year in dict(_year_choices(year)) else fiscal_year_of(today_jst()) + 1

    @expose("/estimates/")
    def estimates(self):
        if not self._all():  # every municipality's estimate: the all-tenants readers' page
            abort(403)
        year = self._estimate_year()
        try:
            found, problem = estimates.compute_estimate(db.session, g.actor, year), None
        except DomainError as error:
            found, problem = None, (error.message_ja if _locale() == "ja" else error.message_en)
        issued = estimates.issued_estimates(db.session, g.actor, year)
        return self.render("renkei/billing_estimates.html", year=year, year_label=format_fiscal_year(year, _locale()),
                           year_choices=_year_choices(year), estimate=found, problem=problem, issued=issued,
                           can_manage=self._can_manage(), default_month=f"{year}-06")

    @expose("/estimates/<int:fiscal_year>/issue", methods=("POST",))
    def estimates_issue(self, fiscal_year: int):
        self._manage_only()
        back = url_for(".estimates", fy=fiscal_year)
        label = format_fiscal_year(fiscal_year, _locale())
        asked = confirm_first(
            self, title=_("Issue the cost-share estimates of %(year)s?", year=label),
            consequence=_("Each municipality's letter gets its own document number, which is never given again; "
                          "the estimates issued before stay on record."),
            confirm_label=_("Issue the estimates"), back=back)
        if asked is not None:
            return asked
        month = (request.form.get("billing_month") or "").strip()
        return post_action(lambda: estimates.issue_estimates(db.session, g.actor, fiscal_year, billing_month=month),
                           back=back, saved=_("The estimates of %(year)s were issued.", year=label))

    @expose("/estimates/<int:fiscal_year>/letters.pdf")
    def estimates_pdf(self, fiscal_year: int):
        letters = estimates.issued_estimates(db.session, g.actor, fiscal_year)
        response = Response(estimates.estimates_pdf(db.session, g.actor, letters), mimetype="application/pdf")
        response.headers["Content-Disposition"] = (
            f"attachment; filename=\"estimates-FY{fiscal_year}.pdf\"; "
            f"filename*=UTF-8''{quote(f'負担金見込額通知_{fiscal_year}年度.pdf')}")
        return response
