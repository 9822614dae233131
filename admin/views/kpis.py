"""成果指標と実績報告 (the grant's indicators and results report) in /admin: a fiscal year chosen (its era year), each
indicator's target, actual figure and rate, the 実績報告書 as a workbook and an A4 PDF, and the operator's form of
the year's targets. The figures, the targets and their audit records are :mod:`service.kpis`'s."""

from __future__ import annotations

import unicodedata

from flask import abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext, lazy_gettext as _l
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import TextInput

from admin.downloads import results_report_file
from admin.extensions import db
from admin.i18n import format_fiscal_year
from admin.views import operator_forms as forms
from admin.views.base import SecureView, post_action, query_fiscal_year, with_problems_beside_fields
from core import authz
from core.calendar import fiscal_year_of, today_jst
from service import kpis
from service.models import Kpi


class CountField(IntegerField):
    """A whole number as people type it: 「1,200」「１２００」 read as 1200 (a text box: a number box refuses commas)."""

    widget = TextInput()

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [unicodedata.normalize("NFKC", value or "").replace(",", "").strip() for value in valuelist]
        super().process_formdata(valuelist)


class TargetsForm(forms.RenkeiForm):
    """The year's targets, one box per indicator; a blank box: no target that year (未設定)."""

    fiscal_year = SelectField(_l("Fiscal year"), coerce=int, validators=[InputRequired(message=forms.REQUIRED)])

    def __init__(self, formdata=None, **kwargs):
        super().__init__(formdata, **kwargs)
        self.fiscal_year.choices = forms.fiscal_year_choices(self.fiscal_year.data if isinstance(self.fiscal_year.data, int) else None)

    def changes(self) -> dict[str, int | None]:
        return {kpi.value: self[kpi.value].data for kpi in Kpi}


for _kpi in Kpi:  # one box per indicator, named by its value
    setattr(TargetsForm, _kpi.value, CountField(_kpi.ja, validators=[Optional(), forms.InRange(min=1, max=kpis.MAX_TARGET)]))

PROBLEM_FIELDS = {f"targets.{kpi.value}": kpi.value for kpi in Kpi}


def _ja() -> bool:
    return forms.ja()


class KpiView(SecureView):
    required_action = kpis.ACTION

    def _page(self, year: int, form: TargetsForm | None = None, status: int = 200):
        report = kpis.results_report(db.session, g.actor, year)
        db.session.rollback()  # reading writes nothing (only a file handed out and a change of targets are audited)
        can_manage = authz.allowed(g.actor, kpis.MANAGE)
        if form is None:
            form = TargetsForm(None, fiscal_year=year)
            for line in report.lines:
                form[line.kpi.value].data = line.target
        return self.render("renkei/kpis.html", report=report, year=year, form=form, can_manage=can_manage,
                           year_label=format_fiscal_year(year, "ja" if _ja() else "en"),
                           years=forms.fiscal_year_choices(year), how=lambda kpi: kpis.MEASURES[kpi].how_ja,
                           label=lambda pair: pair[0] if _ja() else pair[1]), status

    @expose("/")
    def index(self):
        return self._page(query_fiscal_year("fy", fiscal_year_of(today_jst())))

    @expose("/<int:fiscal_year>.<fmt>")
    def download(self, fiscal_year: int, fmt: str):
        if fmt not in kpis.MEDIA_TYPES:
            abort(404)
        return results_report_file(kpis.generate(db.session, g.actor, fiscal_year, fmt), fiscal_year, fmt)

    @expose("/targets", methods=("POST",))
    def targets(self):
        authz.authorize(g.actor, kpis.MANAGE)
        form = TargetsForm(request.form)
        year = form.fiscal_year.data if isinstance(form.fiscal_year.data, int) else fiscal_year_of(today_jst())
        if not form.validate():
            return self._page(year, form, 422)
        return post_action(
            with_problems_beside_fields(form, lambda: kpis.set_targets(db.session, g.actor, year, form.changes()),
                                        PROBLEM_FIELDS),
            saved=gettext("The targets of %(year)s were saved.", year=format_fiscal_year(year, "ja" if _ja() else "en")),
            done=lambda _saved: redirect(url_for(".index", fy=year)),
            failed=lambda: self._page(year, form, 422))


def views(session):
    return [KpiView(name=_l("Indicators and results report"), endpoint="kpis", url="kpis")]
