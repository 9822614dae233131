"""委託契約と成果 (the commissioned projects' contracts): the selected groups awaiting a contract, each with its
form (the representative picked from the group's members, the budget lines against the call's eligible costs,
the milestones and deliverables); a contract's page with its deliveries, the data rule decided from the
dataset register, and its cost entered under the year's grant (finance). The rules are competition/contracts.py's."""

from __future__ import annotations

import datetime as dt

from flask import abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.problems import status_of
from admin.views import operator_forms as forms
from admin.views.base import SecureView, post_action, typed_id, typed_number
from billing import grants as billing_grants
from competition import contracts, selection
from competition.models import Declaration
from core import authz
from core.calendar import fiscal_year_label, read_date
from core.errors import DomainError
from core.labelled import labels

LINE_ROWS = 8
ITEM_ROWS = 6


def _yen(text: str | None) -> int:
    typed = typed_number((text or "").replace(",", ""), high=999_999_999_999)
    return -1 if typed is None else typed


def _date(name: str) -> dt.date | None:
    return read_date(request.form.get(name) or "") if (request.form.get(name) or "").strip() else None


def _member_names(numbers: list[str]) -> dict[str, str]:
    """Each member's name (an organisation's, or a municipality's), as the notices address it."""
    return {n: selection.addressee_name(db.session, n) for n in numbers}


class ContractsView(SecureView):
    """The commissioned projects' contracts and their delivery."""

    required_action = "competition.read"  # the menu shows it to the competition's readers; finance opens it by address

    def is_accessible(self) -> bool:
        return super().is_accessible() or (getattr(g, "actor", None) is not None
                                           and authz.allowed(g.actor, "billing.manage"))

    def _index(self, typed: dict | None = None, status: int = 200):
        can_manage = authz.allowed(g.actor, "competition.manage")
        waiting = contracts.awaiting_contract(db.session, g.actor) if can_manage else []
        return self.render("renkei/competition_contracts.html", rows=contracts.list_contracts(db.session, g.actor),
                           waiting=[(c, d, _member_names(m)) for c, d, m in waiting], typed=typed or {},
                           categories=[(k, forms.pick(v)) for k, v in contracts.COST_CATEGORIES.items()],
                           kinds=[(k.value, forms.pick(v)) for k, v in labels(contracts.ItemKind).items()],
                           line_rows=range(1, LINE_ROWS + 1), item_rows=range(1, ITEM_ROWS + 1),
                           end_of=contracts.commission_end, year_label=fiscal_year_label), status

    @expose("/")
    def index(self):
        return self._index()

    @expose("/calls/<int:call_id>/groups/<int:group_id>", methods=("POST",))
    def create(self, call_id: int, group_id: int):
        form = request.form
        terms = contracts.Terms(form.get("representative", ""), _yen(form.get("amount_yen")), _date("starts_on"),
                                _date("ends_on"), _date("signed_on"))
        lines = [contracts.BudgetLine(form.get(f"category_{n}", ""), form.get(f"item_{n}", ""), _yen(form.get(f"amount_{n}")))
                 for n in range(1, LINE_ROWS + 1)
                 if (form.get(f"item_{n}") or "").strip() or (form.get(f"amount_{n}") or "").strip()]
        items = [contracts.Deliverable(form.get(f"kind_{n}", ""), form.get(f"title_{n}", ""), _date(f"due_{n}"))
                 for n in range(1, ITEM_ROWS + 1) if (form.get(f"title_{n}") or "").strip()]
        typed = {"key": f"{call_id}-{group_id}", **form.to_dict()}
        return post_action(lambda: contracts.create_contract(db.session, g.actor, call_id, group_id, terms, lines, items),
                           saved=_("The contract was recorded."),
                           done=lambda row: redirect(url_for(".detail", contract_id=row.id)),
                           failed=lambda: self._index(typed, 400))

    @expose("/<int:contract_id>")
    def detail(self, contract_id: int):
        try:
            contract = contracts.get_contract(db.session, g.actor, contract_id)
        except DomainError as error:
            abort(status_of(error))
        call = db.session.get(contracts.Call, contract.call_id)
        can_cost = authz.allowed(g.actor, "billing.manage")
        declaration = db.session.get(Declaration, contract.declaration_id)
        return self.render("renkei/competition_contract.html", contract=contract, call=call, declaration=declaration,
                           representative=_member_names([contract.representative])[contract.representative],
                           lines=contracts.budget_lines(db.session, contract.id),
                           items=contracts.deliverables(db.session, contract.id),
                           rule=contracts.data_rule(db.session, contract),
                           datasets=contracts.group_datasets(db.session, contract),
                           grants=billing_grants.year_grants(db.session, call.fiscal_year) if can_cost else [],
                           categories=dict((k, forms.pick(v)) for k, v in contracts.COST_CATEGORIES.items()),
                           kinds=dict((k, forms.pick(v)) for k, v in labels(contracts.ItemKind).items()),
                           can_manage=authz.allowed(g.actor, "competition.manage"), can_cost=can_cost,
                           ja=forms.ja(), year_label=fiscal_year_label)

    @expose("/<int:contract_id>/items/<int:item_id>/delivered", methods=("POST",))
    def deliver(self, contract_id: int, item_id: int):
        dataset_id = typed_id(request.form.get("dataset_id"))
        return post_action(lambda: contracts.deliver(db.session, g.actor, contract_id, item_id, _date("delivered_on"),
                                                     dataset_id),
                           back=url_for(".detail", contract_id=contract_id), saved=_("Recorded as delivered."))

    @expose("/<int:contract_id>/cost", methods=("POST",))
    def cost(self, contract_id: int):
        grant = request.form.get("grant_id", "")
        category = request.form.get("category", "run")
        return post_action(lambda: contracts.record_cost(db.session, g.actor, contract_id,
                                                         typed_id(grant) or 0,
                                                         category if category in ("build", "run", "overhead") else "run"),
                           back=url_for(".detail", contract_id=contract_id),
                           saved=_("The contract's cost was entered under the grant."))


def views(session):
    return [ContractsView(name=_l("Commissioned contracts"), endpoint="competition_contracts", url="competition-contracts")]
