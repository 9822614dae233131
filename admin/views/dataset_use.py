"""Who uses a dataset (データセットの利用状況, issue 37): a provider's datasets called through the API
gateway in a month, by consuming municipality or organisation and API client. The provider's own
people see their own; the operator and the auditor pick any provider."""

from __future__ import annotations

from flask import abort, g, request
from flask_admin import expose
from flask_babel import lazy_gettext as _l

from admin.extensions import db
from admin.problems import status_of
from admin.views.base import SecureView
from core.calendar import add_months, current_month, parse_month
from core.errors import DomainError
from usage import dataset_use

MONTHS_SHOWN = 24  # the month picker: this month and the 23 before it


class DatasetUseView(SecureView):
    required_action = "dataset.use.read"

    @expose("/")
    def index(self):
        providers = dataset_use.providers_to_show(db.session, g.actor)
        codes = [code for code, _name in providers]
        provider = request.args.get("provider") or (codes[0] if codes else None)
        try:
            month = parse_month(request.args.get("month"))
            use = dataset_use.dataset_use(db.session, g.actor, provider, month) if provider else None
        except DomainError as error:  # a month that cannot be read, another provider's use
            abort(400 if error.kind == "invalid" else status_of(error))
        this_month = current_month()
        months = [add_months(this_month, -n) for n in range(MONTHS_SHOWN)]
        return self.render("renkei/dataset_use.html", providers=providers, provider=provider, month=month,
                           months=months, use=use)


def views(session):
    return [DatasetUseView(name=_l("Who uses our datasets"), endpoint="dataset_use", url="dataset-use")]
