"""The home page (ホーム): per role, what needs attention, each item a count with a link to the page
where it is handled.

* operator: the 24-hour recovery clock of each incident not recovered yet; applications awaiting screening, provisioning failures, overdue re-acceptances, quota
  alerts, open votes, unresolved identity incidents, unpaid statements, current notices;
* finance: runs awaiting review or approval, unpaid statements, the latest year's cost items;
* auditor: the audit log's counts and the chain verification;
* whoever may read personal-data breaches (service.breaches; a municipality's people their own only): each 速報 or
  確報 not yet submitted, its deadline (era date) and the days left or 期限超過;
* municipal admin and staff: their own tenant's status, usage against quota this month, their
  statements, pending agreement acceptances, open votes, and the notices addressed to them.

Every figure comes from a domain read that takes the actor and authorises itself; each read runs a
bounded number of aggregate queries, so the page does not slow down with the number of tenants.

Each figure links to the list it counts (``url#id``: the element with that id, or a pager's
``id-count``, carries the list's ``data-count``) and is computed by that list's own read, or a count
with the list's one filter beside it: bench/home_figures.py follows every link and compares. Above
them, small charts (core/charts.py) where people would rather look: usage this year by month,
datasets by state, cost shares still owed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from flask import g, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from admin.extensions import db
from governance import notices as notices_module
from governance.notices import notices_for
from service.incidents import operations as incident_operations
from admin.i18n import format_date, format_fiscal_year
from admin.views import labels
from admin.views.base import _signed_in, csrf_field
from admin.service.incident_settings import first_report_hours
from admin.views.times import local_time, remaining_text
from billing import attention as billing_attention
from billing import operations as billing_operations
from billing.models import RunStatus
from core import authz, charts
from core.calendar import current_month, date_ja, fiscal_year_of, today_jst
from secretariat import member_report
from governance import agreements, audit as audit_log, council
from governance.models import AgreementDocument
from tenancy.identity import incidents as identity_incidents, operations as identity
from tenancy.onboarding import board as onboarding_board
from tenancy.registry.models import Tenant, TenantStatus
from usage import quota_alerts, quotas



@dataclasses.dataclass
class Item:
    """One thing that needs attention: a count, the page where it is handled, and what it is about."""

    title: str
    count: int
    url: str | None
    details: list[tuple[str, str | None]] = dataclasses.field(default_factory=list)
    unit: str = ""
    more: int = 0  # rows beyond the details shown (the page where it is handled lists them all)


SHOWN = 10  # detail lines per item: the words are built for these only, whatever the number of tenants


def _first(rows, line) -> dict[str, Any]:
    """The details of an item: ``line(row)`` for the first SHOWN rows, and how many more there are."""
    rows = list(rows)
    return {"details": [line(row) for row in rows[:SHOWN]], "more": max(0, len(rows) - SHOWN)}


def _url(endpoint: str, **values: Any) -> str | None:
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _yen(amount: int) -> str:
    return f"{amount:,}円" if labels.ja() else f"¥{amount:,}"


def _fy(year: int) -> str:
    return format_fiscal_year(year, labels.locale())


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if labels.ja() else pair[1]


# --- what each role looks at -------------------------------------------------------------------------

def _operator_items(actor) -> list[Item]:
    session = db.session
    waiting = onboarding_board.attention(session, actor)
    items = [
        Item(_("Applications awaiting screening"), len(waiting["awaiting_screening"]),
             _url("onboarding.index", _anchor="awaiting-screening"),
             **_first(waiting["awaiting_screening"],
                      lambda row: (f"{labels.tenant_label(row['code'])}（{labels.tenant_status(row['status'])}）",
                                   _url("onboarding.tenant", code=row["code"])))),
        Item(_("Provisioning failures"), len(waiting["provisioning_failures"]),
             _url("onboarding.index", _anchor="provisioning-failures"),
             **_first(waiting["provisioning_failures"],
                      lambda row: (f"{labels.tenant_label(row['code'])}: "
                                   f"{row['step_label_ja'] if labels.ja() else row['step_label_en']}",
                                   _url("onboarding.tenant", code=row["code"])))),
    ]
    overdue = agreements.overdue(session, actor)
    items.append(Item(_("Overdue re-acceptances of agreements"), len(overdue),
                      _url("agreements.index", overdue="1", _anchor="board-pages"),
                      **_first(overdue, lambda row: (labels.tenant_label(row.tenant_code), _url("agreements.index")))))
    items.append(_quota_item(actor))
    items.append(_votes_item(actor))
    incidents = identity.unresolved_incidents_by_tenant(session, actor)
    items.append(Item(_("Unresolved identity incidents"),
                      identity_incidents.count_unresolved(session, actor) if authz.allowed(actor, identity_incidents.ACTION)
                      else sum(count for _code, _name, count in incidents),
                      _url("incidents.index", _anchor="open-heading"),
                      **_first(incidents, lambda row: (f"{labels.tenant_label(row[0])}: {row[2]}",
                                                       _url("users.index", tenant=row[0])))))
    items.append(_unpaid_item(actor))
    items.append(_overdue_inquiries_item(actor))
    return items


def _recruitment(actor):
    """The year's recruitment target and how far it is reached (the secretariat's, issue 40), or None."""
    if not authz.allowed(actor, member_report.ACTION):
        return None
    today = today_jst()
    return member_report.progress_of(db.session, fiscal_year_of(today), today)


def _overdue_inquiries_item(actor) -> Item:
    """Inquiries not answered by their due day (secretariat.inquiries.overdue), oldest due first."""
    from secretariat import inquiries

    late = inquiries.overdue(db.session, actor)
    return Item(_("Overdue inquiries"), len(late), _url("inquiries.index", overdue="1", _anchor="inquiries"),
                **_first(late, lambda row: (f"{row.id} {row.subject}（{row.due_on.isoformat()}）",
                                            _url("inquiries.detail", inquiry_id=row.id))))


def _quota_item(actor) -> Item:
    alerts, total = quota_alerts.quota_alerts_shown(db.session, actor, SHOWN)
    details = []
    for alert in alerts:
        enforcement = labels.enforcement_label(alert.enforcement)
        details.append((f"{labels.tenant_label(alert.tenant_code)}: {labels.metric_label(alert.metric)} "
                        f"{alert.used:,} / {alert.limit:,}（{alert.percent}%、{enforcement}）"
                        if labels.ja() else
                        f"{labels.tenant_label(alert.tenant_code)}: {labels.metric_label(alert.metric)} "
                        f"{alert.used:,} / {alert.limit:,} ({alert.percent}%, {enforcement})",
                        _url("usage.index", metric=alert.metric)))
    return Item(_("Quota limits reached this month"), total, _url("usage.index", _anchor="quota-alerts"), details,
                more=max(0, total - len(alerts)))


def _votes_item(actor) -> Item:
    votes = council.open_votes(db.session, actor)
    return Item(_("Proposals open for voting"), len(votes), _url("council.index", _anchor="open-proposals"),
                **_first(votes, lambda vote: (f"{vote.proposal.title}（{vote.votes}/{vote.members}）" if labels.ja()
                                              else f"{vote.proposal.title} ({vote.votes}/{vote.members})",
                                              _url("council.proposal", proposal_id=vote.proposal.id))))


def _unpaid_item(actor) -> Item:
    unpaid, total = billing_attention.unpaid_statements_shown(db.session, actor, SHOWN)
    details = [(f"{labels.tenant_label(row.tenant_code)} {_fy(row.fiscal_year)}: {_yen(row.balance)}",
                _url("billing.statement", code=row.tenant_code, fiscal_year=row.fiscal_year)) for row in unpaid]
    return Item(_("Unpaid statements"), total, _url("billing.index", _anchor="unpaid-pages"), details,
                more=max(0, total - len(unpaid)))


def _finance_items(actor) -> list[Item]:
    session = db.session
    runs = billing_attention.runs_waiting(session, actor)
    items = []
    for status, anchor, title in (("computed", "runs-to-review", _("Runs awaiting review")),
                                  ("reviewed", "runs-to-approve", _("Runs awaiting approval"))):
        waiting = [run for run in runs if RunStatus(run.status).value == status]
        items.append(Item(title, len(waiting), _url("billing.index", _anchor=anchor),
                          **_first(waiting, lambda run: (f"{_fy(run.fiscal_year)} #{run.id}: {_yen(run.total)}",
                                                         _url("billing.run", run_id=run.id)))))
    items.append(_unpaid_item(actor))
    latest = billing_attention.latest_cost_year(session, actor)
    if latest is None:
        items.append(Item(_("Cost items of the latest year"), 0, _url("billing_cost_items.index_view")))
    else:
        listed = billing_operations.list_cost_items(session, actor, latest.fiscal_year)  # the year's list, counted
        items.append(Item(_("Cost items of the latest year"), len(listed),
                          _url("billing.index", fy=latest.fiscal_year, _anchor="cost-items"),
                          [(f"{_fy(latest.fiscal_year)}: {_yen(latest.total)}", _url("billing.index", fy=latest.fiscal_year))]))
    return items


def _auditor_items(actor) -> list[Item]:
    summary = audit_log.log_summary(db.session, actor)
    details = [(_("Verify the hash chain of the audit log now"), _url("audit_verify.index"))]
    if summary.first_at is not None:
        details.append((f"{_('Oldest record kept')}: {format_date(summary.first_at, labels.locale())}", None))
        details.append((f"{_('Latest record')}: {format_date(summary.last_at, labels.locale())}", None))
    if summary.purged:
        details.append((f"{_('Records archived and purged')}: {summary.purged:,}", None))
    return [Item(_("Audit records kept"), summary.records, _url("audit.index_view", _anchor="list-count"), details),
            Item(_("Audit records in the last 30 days"), summary.last_30_days,
                 _url("audit.index_view", recent=audit_log.RECENT_DAYS, _anchor="list-count"))]


@dataclasses.dataclass
class TenantHome:
    """What a municipal admin or staff member sees about one of their own tenants."""

    code: str
    label: str
    status: str
    status_value: str
    usage: list[dict[str, Any]]
    statements: list[tuple[str, str, str, str | None]]  # year, amount, balance, link
    acceptances: list[tuple[str, str | None]]
    votes: list[tuple[str, str | None]]
    datasets: list[tuple[str, str | None]] = dataclasses.field(default_factory=list)  # overdue or not conformant
    datasets_more: int = 0  # beyond the SHOWN listed


def _tenant_home(actor, tenant: Tenant, open_votes: list) -> TenantHome:
    session, code = db.session, tenant.code
    usage = []
    if authz.allowed(actor, "usage.read", code):
        from admin.identity import measured_levels

        for row in quotas.tenant_quota_status(session, actor, code, measured=measured_levels(code)):
            enforcement = labels.enforcement_label(row["enforcement"]) if row["enforcement"] else ""
            usage.append({"metric": row["label_ja"] if labels.ja() else row["label_en"], "used": row["used"],
                          "limit": row["limit"], "percent": row["percent"], "enforcement": enforcement,
                          "over": row["limit"] is not None and row["used"] >= row["limit"]})
    statements = []
    if authz.allowed(actor, "billing.read", code):
        for own in billing_attention.own_statements(session, actor, code):
            statements.append((_fy(own.fiscal_year), _yen(own.amount), _yen(own.balance),
                               _url("billing.statement", code=code, fiscal_year=own.fiscal_year)))
    acceptances = []
    if authz.allowed(actor, "governance.read", code):
        standing = agreements.tenant_agreements(session, actor, code)
        for document in standing.documents:
            if document.state in ("pending", "overdue"):
                name = _pick(AgreementDocument(document.document).label)
                version = (f"{name} 第{document.required_number}版" if labels.ja()
                           else f"{name} version {document.required_number}")
                if document.deadline_on:
                    deadline = format_date(document.deadline_on, labels.locale())
                    version += (f"（期限 {deadline}{'・期限切れ' if document.state == 'overdue' else ''}）" if labels.ja()
                                else f" (due {deadline}{', overdue' if document.state == 'overdue' else ''})")
                acceptances.append((version, _url("agreements.version", document=AgreementDocument(document.document).value,
                                                  number=document.required_number)))
    votes = []
    for vote in open_votes:
        if code in vote.not_voted:
            votes.append((vote.proposal.title, _url("council.proposal", proposal_id=vote.proposal.id)))
    datasets, datasets_more = [], 0
    if authz.allowed(actor, "dataset.read", code):
        from catalogue import conformance, coverage as dataset_coverage

        needing = dataset_coverage.attention(session, actor, code)
        datasets_more = max(0, len(needing) - SHOWN)
        for dataset in needing[:SHOWN]:
            state = conformance.conformance_state(dataset)
            why = [_("overdue for its update frequency")] if state.overdue else []
            if state.standard and not state.conformant:
                why.append(_pick(state.verdict_label))
            datasets.append((f"{dataset.title_ja}（{'、'.join(why)}）" if labels.ja() else f"{dataset.title_ja} ({', '.join(why)})",
                             _url("datasets.detail", uid=dataset.uid)))
    return TenantHome(code, labels.tenant_label(code), labels.tenant_status(tenant.status),
                      TenantStatus(tenant.status).value, usage, statements, acceptances, votes, datasets, datasets_more)


# --- charts: where people would rather look than read ------------------------------------------------
# Each builder gives the actor's chart or None (not theirs to read, or nothing to show); every figure
# comes from the function of the list its row links to. Open inquiries and incidents get a builder
# here once they exist as lists (issue 38: they do not yet).

def _usage_chart(actor) -> charts.Chart | None:
    """API calls this fiscal year by month, over the tenants the actor reads (the usage page's total row)."""
    if not authz.allowed(actor, "usage.read"):
        return None
    from usage import reports as usage_reports
    from usage.models import METRICS

    metric, year = "api_calls", fiscal_year_of(current_month())
    months = usage_reports.months_of_year(db.session, actor, year, metric)
    name = METRICS[metric].label_ja if labels.ja() else METRICS[metric].label_en
    busiest = max(months, key=lambda row: row[1])
    return charts.of(
        "chart-usage", _("%(metric)s this fiscal year by month (%(year)s)", metric=name, year=_fy(year)),
        _("Bars per month from April; the busiest month so far is %(month)s with %(count)s.",
          month=_month_label(busiest[0]), count=f"{busiest[1]:,}"),
        [(_month_label(month), value) for month, value in months], category_header=_("Month"), series_name=name,
        links=[_url("usage.index", month=f"{month:%Y-%m}", metric=metric) for month, _value in months])


def _month_label(month) -> str:
    """A month of the fiscal year the chart's title names: 4月, or Apr (short, so twelve fit side by side)."""
    return f"{month.month}月" if labels.ja() else f"{month:%b}"


def _datasets_chart(actor) -> charts.Chart | None:
    """The datasets of the actor's register list by status, each linking to that list filtered by it."""
    if not authz.allowed(actor, "dataset.read"):
        return None
    from catalogue import operations as dataset_operations
    from catalogue.models import DatasetStatus

    counts = dataset_operations.status_counts(db.session, actor)
    if not any(counts.values()):
        return None
    rows = [(_pick(DatasetStatus(status).label), count) for status, count in counts.items()]
    return charts.of(
        "chart-datasets", _("Datasets by state"),
        _("Bars per state of the register; %(count)s datasets in all.", count=f"{sum(counts.values()):,}"),
        rows, category_header=_("State"), series_name=_("Datasets"), horizontal=True,
        links=[_url("datasets.index", status=status.value, _anchor="pages") for status in counts])


def _outstanding_chart(actor) -> charts.Chart | None:
    """負担金 still owed, per fiscal year (the unpaid statements summed by year)."""
    grant = authz.grant_for(actor, "billing.read")
    if grant is None or not grant.all_tenants:
        return None
    years = billing_attention.outstanding_by_year(db.session, actor)
    if not years:
        return None
    return charts.of(
        "chart-outstanding", _("Cost shares still owed by fiscal year"),
        _("Bars per fiscal year; %(amount)s owed in all on %(count)s statements.",
          amount=_yen(sum(y.owed for y in years)), count=f"{sum(y.statements for y in years):,}"),
        [(_fy(y.fiscal_year), y.owed) for y in years], category_header=_("Fiscal year"), series_name=_("Still owed"),
        unit="円" if labels.ja() else " yen", horizontal=True,
        links=[_url("billing.index", fy=y.fiscal_year) for y in years])


CHARTS = (_usage_chart, _datasets_chart, _outstanding_chart)


def home_charts(actor) -> list[charts.Chart]:
    return [chart for chart in (build(actor) for build in CHARTS) if chart is not None]


def _breach_deadlines(actor) -> list[dict[str, Any]]:
    """Each report to the Commission (速報, 確報) of a personal-data breach not yet recorded as submitted, soonest first:
    for those who may read breaches (a municipality's people their own only); service.breaches.deadlines computes
    each."""
    from service import breaches

    if not authz.allowed(actor, breaches.READ):
        return []
    rows = []
    for breach, due in breaches.open_deadlines(db.session, actor):
        rows.append({"breach": breach, "kind": _pick(due.kind.label), "due_on": date_ja(due.due_on),
                     "overdue": due.overdue, "days_left": due.days_left,
                     "municipality": labels.tenant_label(breach.tenant_code),
                     "url": _url("breaches.detail", breach_id=breach.id)})
    return rows


# --- the view ----------------------------------------------------------------------------------------

class HomeView(AdminIndexView):
    """The landing page: who is signed in, and what needs their attention."""

    def is_accessible(self) -> bool:
        return _signed_in()

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    def render(self, template, **kwargs):
        return super().render(template, csrf_field=csrf_field, **kwargs)

    @expose("/")
    def index(self):
        actor = g.actor
        notices = (notices_for(db.session, actor) if authz.allowed(actor, "notice.read")
                   else [])
        notices_url = _url("notices.index", _anchor="current-notices") if authz.allowed(actor, "notice.publish") else None
        notices_count = notices_module.count_for(db.session, actor) if authz.allowed(actor, "notice.read") else 0
        sections: list[tuple[str, list[Item]]] = []
        if authz.OPERATOR in actor.roles:
            sections.append((_("Operator: what needs attention"),
                             _operator_items(actor) + [Item(_("Notices being shown"), notices_count, notices_url)]))
        if authz.FINANCE in actor.roles:
            sections.append((_("Finance: what needs attention"), _finance_items(actor)))
        if authz.AUDITOR in actor.roles:
            sections.append((_("Audit"), _auditor_items(actor)))
        if authz.SECRETARIAT in actor.roles and authz.OPERATOR not in actor.roles:
            sections.append((_("Secretariat: what needs attention"), [_overdue_inquiries_item(actor)]))
        tenants: list[TenantHome] = []
        if actor.roles & authz.TENANT_ROLES and actor.tenant_codes:
            own = list(db.session.scalars(
                sa.select(Tenant).where(Tenant.code.in_(sorted(actor.tenant_codes))).order_by(Tenant.code)))
            votes = council.open_votes(db.session, actor) if authz.allowed(actor, "governance.read") else []
            can_vote = {t.code for t in own if authz.allowed(actor, "council.vote", t.code)}
            tenants = [_tenant_home(actor, tenant, votes if tenant.code in can_vote else []) for tenant in own]
            open_count = len(votes)
        else:
            open_count = 0
        clocks = []
        if authz.allowed(actor, "incident.manage"):  # the operator and the platform vendor
            clocks = [(clock, _url("incidents.detail", incident_id=clock.incident.id), local_time(clock.recover_by),
                       remaining_text(clock))
                      for clock in incident_operations.running_clocks(db.session, actor, first_report_hours=first_report_hours())]
        return self.render(
            "renkei/home.html",
            breach_deadlines=_breach_deadlines(actor),
            recruitment=_recruitment(actor),
            format_fy=_fy,
            actor=actor,
            clocks=clocks,
            role_labels=[labels.role_label(r) for r in sorted(actor.roles)],
            sections=sections,
            charts=home_charts(actor),
            tenants=tenants,
            open_count=open_count,
            council_url=_url("council.index"),
            notices=notices,
            notices_url=notices_url,
            when=lambda value: format_date(value, labels.locale()),
            locale=labels.locale(),
        )
