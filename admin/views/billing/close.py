"""The year's close on the cost-sharing page (年度の締め・決算): ask, close (a second finance officer,
after a confirmation that says what it means), withdraw, and the 収支決算 as xlsx and PDF. Mixed into
the cost-sharing view (admin/views/billing/__init__.py); every act is an operation of :mod:`billing.year_close`.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, current_app, g, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin.config import four_eyes
from admin.extensions import db
from admin.i18n import format_fiscal_year
from admin.views.base import confirm_first, post_action
from admin.views.billing.forms import _locale
from billing import year_close
from core.calendar import fiscal_year_ja

_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


class YearClosePages:
    """Mixed into the cost-sharing view: its ``_manage_only`` and ``render`` serve these acts."""

    def _back(self, fiscal_year: int) -> str:
        return url_for(".index", fy=fiscal_year) + "#close-h"

    @expose("/close/<int:fiscal_year>/request", methods=("POST",))
    def close_request(self, fiscal_year: int):
        self._manage_only()
        return post_action(lambda: year_close.request_close(db.session, g.actor, fiscal_year), back=self._back(fiscal_year),
                           saved=_("The close of %(year)s was asked; a second finance officer closes it.",
                                   year=format_fiscal_year(fiscal_year, _locale())))

    @expose("/close/<int:fiscal_year>/approve", methods=("POST",))
    def close_approve(self, fiscal_year: int):
        self._manage_only()
        label = format_fiscal_year(fiscal_year, _locale())
        asked = confirm_first(
            self, title=_("Close %(year)s?", year=label),
            consequence=_("Closing fixes the year's accounts: from then on nothing dated in %(year)s can be entered, "
                          "changed or posted, by anyone, until the council decides to reopen it.", year=label),
            confirm_label=_("Close the year"), back=self._back(fiscal_year))
        if asked is not None:
            return asked
        return post_action(lambda: year_close.close_year(db.session, g.actor, fiscal_year,
                                                         four_eyes=four_eyes(current_app.config)),
                           back=self._back(fiscal_year), saved=_("%(year)s is closed.", year=label))

    @expose("/close/<int:fiscal_year>/withdraw", methods=("POST",))
    def close_withdraw(self, fiscal_year: int):
        self._manage_only()
        return post_action(lambda: year_close.withdraw_close(db.session, g.actor, fiscal_year), back=self._back(fiscal_year),
                           saved=_("The request to close was withdrawn."))

    @expose("/accounts/<int:fiscal_year>.<fmt>")
    def accounts_file(self, fiscal_year: int, fmt: str):
        if fmt not in _TYPES:
            abort(404)
        accounts = year_close.accounts_of_year(db.session, g.actor, fiscal_year)
        close = year_close.year_close(db.session, fiscal_year)
        data = (year_close.accounts_xlsx if fmt == "xlsx" else year_close.accounts_pdf)(accounts, close)
        response = Response(data, mimetype=_TYPES[fmt])
        response.headers["Content-Disposition"] = (
            f"attachment; filename=\"accounts-FY{fiscal_year}.{fmt}\"; "
            f"filename*=UTF-8''{quote(f'収支決算書_{fiscal_year_ja(fiscal_year)}.{fmt}')}")
        return response
