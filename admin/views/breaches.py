"""個人情報の漏えい等 (personal-data breaches): an incident marked as a breach of a municipality's residents' data,
its two deadlines to the Commission, the residents possibly affected, the notices to them and the letter list, and
the report (速報, 確報) as PDF and xlsx. The rules are service.breaches'; every act asks first where it cannot be
undone, and the operations audit it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.resident_keys import keyring
from admin.views.base import SecureView, confirm_first, post_action, tenants_for
from admin.views.times import local_time, parse_local
from core import authz, report_document
from core.calendar import date_ja, today_jst
from core.errors import DomainError
from core.spreadsheet import XLSX_MIMETYPE, csv_bytes
from residents.consent.models import DataService
from service import breaches
from service.incidents import operations as incidents
from service.incidents.models import BreachKind, BreachReportKind, NoticeChannel


def _ja() -> bool:
    return str(get_locale() or "ja") == "ja"


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if _ja() else pair[1]


class BreachesView(SecureView):
    required_action = breaches.READ

    @expose("/")
    def index(self):
        rows = [(breach, breaches.deadlines(breach), breaches.municipality_name(db.session, breach.tenant_code))
                for breach in breaches.list_breaches(db.session, g.actor)]
        return self.render("renkei/breaches.html", rows=rows, pick=_pick, date_ja=date_ja, local_time=local_time)

    # --- marking an incident -----------------------------------------------------------------------

    def _new_page(self, incident_id: int, form: dict | None = None, errors: dict | None = None, status: int = 200):
        incident = incidents.get_incident(db.session, g.actor, incident_id)  # who marks sees the incident
        services = db.session.execute(sa.select(DataService.id, DataService.name).order_by(DataService.id)).all()
        return self.render("renkei/breach_new.html", incident=incident, form=form or {}, errors=errors or {},
                           kinds=list(BreachKind), services=services, tenants=tenants_for(breaches.MARK),
                           pick=_pick), status

    @expose("/new/<int:incident_id>", methods=("GET", "POST"))
    def new(self, incident_id: int):
        if not authz.allowed(g.actor, breaches.MARK):
            abort(403)
        if request.method == "GET":
            return self._new_page(incident_id)
        form = request.form
        ids = [int(value) for value in form.getlist("service_ids") if value.isdigit() and len(value) < 10]
        draft = breaches.BreachDraft(
            tenant_code=(form.get("tenant_code") or "").strip(), kind=form.get("kind", ""),
            window_start=parse_local(form.get("window_start")), window_end=parse_local(form.get("window_end")),
            known_at=parse_local(form.get("known_at")), service_ids=ids,
            unlawful_purpose=form.get("unlawful_purpose") == "1", summary=form.get("summary", ""))
        kept = {name: form.get(name, "") for name in ("tenant_code", "kind", "window_start", "window_end", "known_at",
                                                      "unlawful_purpose", "summary")}
        kept["service_ids"] = [str(i) for i in ids]
        try:
            breach = breaches.mark_breach(db.session, g.actor, incident_id, draft)
        except DomainError as error:
            db.session.rollback()
            ja = _ja()
            errors = {p["field"]: (p["message_ja"] if ja else p["message_en"]) for p in error.problems}
            if not errors:
                errors = {"kind": error.message_ja if ja else error.message_en}
            return self._new_page(incident_id, kept, errors, 400)
        return redirect(url_for(".detail", breach_id=breach.id))

    # --- one breach ----------------------------------------------------------------------------------

    @expose("/<int:breach_id>")
    def detail(self, breach_id: int):
        session = db.session
        breach = breaches.get_breach(session, g.actor, breach_id)
        can_see = authz.allowed(g.actor, breaches.RESIDENTS, breach.tenant_code)
        told = breaches.notices_sent(session, breach.id)
        return self.render(
            "renkei/breach.html", breach=breach, deadlines=breaches.deadlines(breach),
            municipality=breaches.municipality_name(session, breach.tenant_code),
            services=breaches.services(session, breach.id),
            count=breaches.affected_count(session, g.actor, breach.id),
            items=breaches.affected_items(session, g.actor, breach.id),
            residents=breaches.affected_residents(session, g.actor, breach.id) if can_see else None, told=told,
            letters=sum(1 for c in told.values() if c is NoticeChannel.letter),
            can_manage=authz.allowed(g.actor, breaches.MANAGE, breach.tenant_code),
            can_notify=can_see and authz.allowed(g.actor, breaches.MANAGE, breach.tenant_code),
            can_letters=authz.allowed(g.actor, breaches.LETTERS, breach.tenant_code),
            parts=breaches.REPORT_PARTS, part_max=breaches.PART_MAX, kind_label=_pick(BreachKind(breach.kind).label),
            ReportKind=BreachReportKind, unauthorised=breaches.unauthorised(breach), pick=_pick, date_ja=date_ja,
            local_time=local_time, today=today_jst())

    def _back(self, breach_id: int) -> str:
        return url_for(".detail", breach_id=breach_id)

    @expose("/<int:breach_id>/report", methods=("POST",))
    def report(self, breach_id: int):
        parts = {name: request.form.get(name, "") for name, _ja in breaches.REPORT_PARTS}
        return post_action(lambda: breaches.write_report(db.session, g.actor, breach_id, parts),
                           saved=_("The report's items were saved."), back=self._back(breach_id))

    @expose("/<int:breach_id>/submitted/<kind>", methods=("POST",))
    def submitted(self, breach_id: int, kind: str):
        at = parse_local(request.form.get("at")) if request.form.get("at") else None
        confirmation = confirm_first(
            self, title=_("Record the report as submitted to the Commission?"),
            consequence=_("The deadline is then met; the record cannot be undone."),
            confirm_label=_("Record the submission"), back=self._back(breach_id))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: breaches.record_report(db.session, g.actor, breach_id, kind, at=at),
                           saved=_("The submission was recorded."), back=self._back(breach_id))

    @expose("/<int:breach_id>/notify", methods=("POST",))
    def notify(self, breach_id: int):
        confirmation = confirm_first(
            self, title=_("Tell the affected residents?"),
            consequence=_("Each affected resident who uses the portal receives a notice there; the others are put on "
                          "the letter list. A notice cannot be taken back."),
            confirm_label=_("Send the notices"), back=self._back(breach_id))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: breaches.notify_residents(db.session, g.actor, breach_id),
                           saved=lambda done: _("Notices sent: %(portal)d in the portal, %(letter)d on the letter list.",
                                                portal=done.portal, letter=done.letter),
                           back=self._back(breach_id))

    @expose("/<int:breach_id>/letters.csv")
    def letters(self, breach_id: int):
        rows = breaches.letter_list(db.session, g.actor, keyring(), breach_id)
        body = csv_bytes([("共通ID", "氏名", "住所", "対象の情報"),
                          *((r.common_id, r.full_name, r.address, "、".join(r.items)) for r in rows)])
        return Response(body, mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="breach-{breach_id}-letters.csv"'})

    @expose("/<int:breach_id>/reports/<kind>.<ext>")
    def report_file(self, breach_id: int, kind: str, ext: str):
        if ext not in ("pdf", "xlsx"):
            abort(404)
        title, issuer, sections = breaches.report_sections(db.session, g.actor, breach_id, kind)
        name = f"breach-{breach_id}-{kind}.{ext}"
        if ext == "xlsx":
            return Response(report_document.to_xlsx(title, sections), mimetype=XLSX_MIMETYPE,
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        document = report_document.to_html(title, issuer, today_jst(), sections)
        return Response(report_document.to_pdf(document, "breach report", "漏えい等報告"), mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})


def views(db_):
    return [BreachesView(name=_l("Personal-data breaches"), endpoint="breaches", url="breaches")]
