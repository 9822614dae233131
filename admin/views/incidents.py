"""障害台帳 (the incident register): platform failures and the identity incidents (認証サーバーの
不整合: Keycloak work renkei could not undo) in one list. A platform incident's page holds its
24-hour clock, its timeline, the first and final reports (letters, PDF) and the link to the request
log of its window; an identity incident's page says what to do, and resolving one takes a note. Every
irreversible act asks first; the operations audit it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Response, abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext as _, lazy_gettext as _l

from admin.extensions import db
from governance import submissions
from admin.service.incident_settings import first_report_hours, report_recipients, reporter
from admin.i18n import format_date
from admin.views.base import SecureView, confirm_first, post_action
from admin.views.times import local_time, parse_local, remaining_text
from core import authz
from core.calendar import JST
from service import breaches, components as service_components
from service.incidents import letters, operations, register
from service.incidents.models import IncidentStatus, ReportKind, Severity
from tenancy.identity import incidents
from tenancy.members.models import MemberStatus, Organisation
from tenancy.registry.models import Tenant, TenantKind

def _components() -> list[tuple[str, tuple[str, str]]]:
    """The platform's components as the availability monitor registers them (one list: the probe names the same keys)."""
    return [(c.key, (c.name_ja, c.name_en or c.name_ja)) for c in service_components.all_components(db.session)]


def _ja() -> bool:
    return str(get_locale() or "ja") == "ja"


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if _ja() else pair[1]


class IncidentsView(SecureView):
    required_action = operations.READ

    def _can(self, action: str) -> bool:
        return authz.allowed(g.actor, action)

    def _register(self, notes: dict[int, str] | None = None, errors: dict[int, str] | None = None, status: int = 200):
        ja = _ja()
        identity = self._can(incidents.ACTION)
        return self.render("renkei/incidents.html",
                           rows=register.register(db.session, g.actor),
                           identity=identity,
                           open_items=incidents.list_incidents(db.session, g.actor) if identity else [],
                           open_count=incidents.count_unresolved(db.session, g.actor) if identity else 0,
                           resolved=incidents.list_incidents(db.session, g.actor, resolved=True, limit=20) if identity else [],
                           can_manage=self._can(operations.MANAGE),
                           notes=notes or {}, errors=errors or {}, ja=ja, pick=_pick, local_time=local_time,
                           when=lambda value: format_date(value, "ja" if ja else "en")), status

    @expose("/")
    def index(self):
        return self._register()

    # --- opening --------------------------------------------------------------------------------

    def _choices(self):
        tenants = db.session.execute(sa.select(Tenant.code, Tenant.name_ja).where(Tenant.kind != TenantKind.prefecture)
                                     .order_by(Tenant.code)).all()
        members = db.session.execute(sa.select(Organisation.corporate_number, Organisation.name)
                                     .where(Organisation.status == MemberStatus.approved)
                                     .order_by(Organisation.corporate_number)).all()
        return tenants, members

    def _new_page(self, form: dict | None = None, status: int = 200):
        if not self._can(operations.MANAGE):
            abort(403)
        tenants, members = self._choices()
        return self.render("renkei/incident_new.html", form=form or {}, components=_components(), tenants=tenants,
                           members=members, severities=list(Severity), pick=_pick,
                           now=dt.datetime.now(JST).strftime("%Y-%m-%dT%H:%M")), status

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        if request.method == "GET":
            return self._new_page()
        if not self._can(operations.MANAGE):
            abort(403)
        form = request.form
        labels = dict(_components())
        components = [(code, labels[code][0]) for code in form.getlist("components") if code in labels]
        other = (form.get("other_component") or "").strip()[:200]
        if other:
            components.append((f"other:{other[:56]}", other))
        draft = operations.IncidentDraft(
            title=form.get("title", ""), severity=form.get("severity", ""), detected_at=parse_local(form.get("detected_at")),
            description=form.get("description", ""), components=components,
            tenant_codes=form.getlist("tenant_codes"), member_numbers=form.getlist("member_numbers"))
        kept = {"title": draft.title, "severity": draft.severity, "detected_at": form.get("detected_at", ""),
                "description": draft.description, "components": form.getlist("components"), "other_component": other,
                "tenant_codes": list(draft.tenant_codes), "member_numbers": list(draft.member_numbers)}
        return post_action(lambda: operations.open_incident(db.session, g.actor, draft),
                           saved=lambda incident: _("Incident %(id)d was opened.", id=incident.id),
                           done=lambda incident: redirect(url_for(".detail", incident_id=incident.id)),
                           failed=lambda: self._new_page(kept, status=400))

    # --- one incident -----------------------------------------------------------------------------

    def _detail_page(self, incident_id: int, status: int = 200):
        session = db.session
        incident = operations.get_incident(session, g.actor, incident_id)
        clock = operations.clock(session, incident, first_report_hours=first_report_hours())
        window_end = incident.recovered_at or dt.datetime.now(dt.timezone.utc)
        log_url = (url_for("request_log.index", start=local_time(incident.detected_at - dt.timedelta(minutes=30)).replace(" ", "T"),
                           end=local_time(window_end + dt.timedelta(minutes=30)).replace(" ", "T"))
                   if self._can("log.read") else None)
        return self.render("renkei/incident.html", incident=incident, clock=clock, remaining=remaining_text(clock),
                           components=operations.components(session, incident.id),
                           tenants=operations.tenants(session, incident.id),
                           members=operations.members(session, incident.id),
                           entries=operations.timeline(session, incident.id),
                           reports=operations.reports(session, incident.id), ReportKind=ReportKind,
                           can_manage=self._can(operations.MANAGE), moves=[m.name for m in operations.INCIDENTS.moves_from(incident.status)],
                           hand_kinds=operations.ENTRY_KINDS_BY_HAND, 
                           status_label=_pick(IncidentStatus(incident.status).label),
                           severity_label=_pick(Severity(incident.severity).label),
                           pick=_pick, local_time=local_time, log_url=log_url, recipients=report_recipients(),
                           part_max=operations.PART_MAX, entry_max=operations.ENTRY_MAX,
                           breach_rows=(breaches.list_breaches(session, g.actor, incident_id=incident.id)
                                        if self._can(breaches.READ) else None),
                           can_mark_breach=self._can(breaches.MARK),
                           owed=submissions.find(session, submissions.K.incident_report, f"incident:{incident.id}")), status

    @expose("/<int:incident_id>")
    def detail(self, incident_id: int):
        return self._detail_page(incident_id)

    @expose("/<int:incident_id>/edit", methods=("GET", "POST"))
    def edit(self, incident_id: int):
        """Change an open incident's severity and add the municipalities and members it affects."""
        if not self._can(operations.MANAGE):
            abort(403)
        incident = operations.get_incident(db.session, g.actor, incident_id)
        if request.method == "GET":
            tenants, members = self._choices()
            affected = set(operations.tenant_codes(db.session, incident.id))
            named = set(operations.member_numbers(db.session, incident.id))
            return self.render("renkei/incident_edit.html", incident=incident, severities=list(Severity),
                               tenants=[t for t in tenants if t[0] not in affected],
                               members=[m for m in members if m[0] not in named], pick=_pick)
        form = request.form
        return post_action(lambda: operations.edit_incident(
            db.session, g.actor, incident_id, severity=form.get("severity") or None,
            add_tenant_codes=form.getlist("tenant_codes"), add_member_numbers=form.getlist("member_numbers")),
            saved=_("The incident was changed."), back=self._back(incident_id))

    def _back(self, incident_id: int):
        return url_for(".detail", incident_id=incident_id)

    @expose("/<int:incident_id>/entries", methods=("POST",))
    def entry(self, incident_id: int):
        form = request.form
        at = parse_local(form.get("at")) if form.get("at") else None
        if form.get("kind") == "recovered":
            confirmation = confirm_first(self, title=_("Record the recovery?"),
                                         consequence=_("The 24-hour clock stops at the time given; this cannot be undone."),
                                         confirm_label=_("Record the recovery"), back=self._back(incident_id))
            if confirmation is not None:
                return confirmation
        return post_action(lambda: operations.add_entry(db.session, g.actor, incident_id, form.get("kind", ""),
                                                        form.get("text", ""), at),
                           saved=_("The entry was added to the timeline."), back=self._back(incident_id))

    @expose("/<int:incident_id>/first-report", methods=("POST",))
    def first_report(self, incident_id: int):
        confirmation = confirm_first(
            self, title=_("Send the first report to the prefecture?"),
            consequence=_("A numbered letter is issued (its number is never given again), the prefecture's recipients "
                          "are e-mailed, and the affected municipalities and members receive a notice."),
            confirm_label=_("Send the first report"), back=self._back(incident_id))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: operations.send_first_report(db.session, g.actor, incident_id,
                                                                recipients=report_recipients()),
                           saved=lambda report: _("The first report %(number)s was issued.", number=report.number),
                           back=self._back(incident_id))

    @expose("/<int:incident_id>/close", methods=("POST",))
    def close(self, incident_id: int):
        form = request.form
        final = operations.FinalReport(cause=form.get("cause", ""), impact=form.get("impact", ""),
                                       response=form.get("response", ""), prevention=form.get("prevention", ""))
        confirmation = confirm_first(
            self, title=_("Close the incident with the final report?"),
            consequence=_("The final report is issued as a numbered letter to the prefecture, the affected receive a "
                          "notice, and the incident is closed; none of this can be undone."),
            confirm_label=_("Close and send the final report"), back=self._back(incident_id))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: operations.close_incident(db.session, g.actor, incident_id, final,
                                                             recipients=report_recipients()),
                           saved=lambda report: _("The final report %(number)s was issued and the incident closed.",
                                                  number=report.number),
                           back=self._back(incident_id))

    @expose("/<int:incident_id>/reports/<kind>.pdf")
    def report_pdf(self, incident_id: int, kind: str):
        letter = letters.report_letter(db.session, g.actor, incident_id, kind,
                                       reporter=reporter())
        name = f"incident-{incident_id}-{kind}.pdf"
        return Response(letters.report_pdf(letter), mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})

    # --- identity incidents ----------------------------------------------------------------------------

    @expose("/identity/<int:incident_id>")
    def identity(self, incident_id: int):
        if not self._can(incidents.ACTION):
            abort(403)
        ja = _ja()
        return self.render("renkei/identity_incident.html", item=incidents.get_incident(db.session, g.actor, incident_id),
                           ja=ja, notes={}, errors={}, when=lambda value: format_date(value, "ja" if ja else "en"))

    @expose("/<int:incident_id>/resolve", methods=("POST",))
    def resolve(self, incident_id: int):
        """Resolve an identity incident (its address kept from the older list of identity incidents)."""
        if not self._can(incidents.ACTION):
            abort(403)
        note = (request.form.get("note") or "").strip()
        if not note or len(note) > incidents.NOTE_MAX:
            message = (_("Say what was done to resolve it.") if not note
                       else _("At most %(count)d characters.", count=incidents.NOTE_MAX))
            return self._register({incident_id: note}, {incident_id: message}, status=400)
        confirmation = confirm_first(
            self, title=_("Mark this incident resolved?"),
            consequence=_("The incident leaves the list of things to do, with your note on record in the audit log. "
                          "Do this only after putting the account right in Keycloak."),
            confirm_label=_("Mark resolved"), back=url_for(".index"))
        if confirmation is not None:
            return confirmation

        def failed():
            return self._register({incident_id: note}, status=400)

        return post_action(lambda: incidents.resolve(db.session, g.actor, incident_id, note),
                           saved=lambda incident: _("Incident %(id)d was marked resolved.", id=incident.id),
                           done=lambda incident: redirect(url_for(".index")), failed=failed)


def views(db_):
    return [IncidentsView(name=_l("Incidents"), endpoint="incidents", url="incidents")]
