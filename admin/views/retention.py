"""How long records are kept (記録の保存期間): the one table (core/retention.py), what is past its
retention now, its signed export, the disposal of the books (a recorded act, confirmed first), and a
closed year's signed archive. The operator and the auditor read it; only the operator disposes."""

from __future__ import annotations

from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, abort, current_app, g, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.views import labels
from admin.views.base import SecureView, confirm_first, post_action, typed_number
from billing.models import YearClose, YearCloseStatus
from core import authz, retention
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, date_ja, fiscal_year_ja, fiscal_year_of, today_jst
from maintenance import retention as due
from maintenance import signing

DISPOSABLE = ("ledger", "allocation_runs", "letters_statements", "costs_invoices", "agreements", "council")


def _attachment(data: bytes, mimetype: str, name: str, name_ja: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name_ja)}"
    return response


def table_rows(japanese: bool) -> list[dict[str, str]]:
    """The table as the page shows it: each kind, its period, from when, until when this year's records stay."""
    this_year = fiscal_year_of(today_jst())
    rows = []
    for kind in retention.KINDS:
        counts_ja, counts_en = retention.CountsFrom(kind.counts_from).label
        example = ""
        if kind.years:
            until = kind.keep_until_year(this_year)
            example = (f"{fiscal_year_ja(this_year)}の記録は{date_ja(until)}まで" if japanese
                       else f"FY{this_year}'s records until {until.isoformat()}")
        rows.append({"key": kind.key, "label": kind.label_ja if japanese else kind.label_en,
                     "period": kind.period_ja() if japanese else kind.period_en(),
                     "counts_from": counts_ja if japanese else counts_en, "example": example,
                     "basis": kind.basis_ja if japanese else kind.basis_en})
    return rows


class RetentionView(SecureView):
    required_action = "retention.read"

    @expose("/")
    def index(self):
        japanese = labels.ja()
        listed = due.due_list(db.session, g.actor)
        closed = list(db.session.scalars(sa.select(YearClose.fiscal_year).where(
            YearClose.status == YearCloseStatus.closed).order_by(YearClose.fiscal_year.desc())))
        db.session.rollback()
        return self.render("renkei/retention.html", rows=table_rows(japanese), due=listed, japanese=japanese,
                           closed=[(year, fiscal_year_ja(year) if japanese else f"FY{year}") for year in closed],
                           can_dispose=authz.allowed(g.actor, "retention.dispose"), disposable=DISPOSABLE,
                           last_year=retention.oldest_disposable_year("ledger", today_jst()))

    @expose("/due.json")
    def due_file(self):
        data = due.export_due(db.session, g.actor, signing.signer(current_app.config))
        return _attachment(data, "application/json", "retention-due.json", "廃棄対象一覧（署名付き）.json")

    @expose("/year/<int:fiscal_year>.tar")
    def year_file(self, fiscal_year: int):
        data = due.year_archive(db.session, g.actor, fiscal_year, signing.signer(current_app.config))
        return _attachment(data, "application/x-tar", f"records-FY{fiscal_year}.tar",
                           f"{fiscal_year_ja(fiscal_year)}の記録（署名付き）.tar")

    @expose("/dispose", methods=("POST",))
    def dispose(self):
        if not authz.allowed(g.actor, "retention.dispose"):
            abort(403)
        key = request.form.get("kind", "")
        year = typed_number(request.form.get("fiscal_year"), low=FIRST_FISCAL_YEAR, high=LAST_FISCAL_YEAR)
        back = url_for(".index")
        if key not in DISPOSABLE or year is None:
            abort(400)
        kind = retention.kind(key)
        label = kind.label_ja if labels.ja() else kind.label_en
        asked = confirm_first(
            self, title=_("Dispose of %(kind)s?", kind=label),
            consequence=_("This records that %(kind)s of %(year)s and before, past their retention, are disposed of: "
                          "the act is in the audit log and cannot be undone, and the signed list of what went is "
                          "downloaded. Destroy the paper and file copies yourself; the database keeps the books "
                          "(posted entries are never deleted).",
                          kind=label, year=fiscal_year_ja(year) if labels.ja() else f"FY{year}"),
            confirm_label=_("Record the disposal"), back=back)
        if asked is not None:
            return asked
        return post_action(
            lambda: due.dispose(db.session, g.actor, key, year, signing.signer(current_app.config)), back=back,
            done=lambda result: _attachment(result[0], "application/json", f"disposed-{key}-FY{year}.json",
                                            f"廃棄記録_{kind.label_ja}_{fiscal_year_ja(year)}.json"))


def views(session):
    return [RetentionView(name=_l("Record retention"), endpoint="retention", url="retention")]
