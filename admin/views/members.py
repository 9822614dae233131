"""Consortium members (会員): the public application form (no account), and the secretariat's pages:
members list (search, CSV/xlsx), one organisation's screening (documents, checklist, approve or
reject with a reason), the checklist editor, and project groups. Every change is a POST through
admin/views/base.py's one POST path; approve, reject and withdraw ask first."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.i18n import format_date, format_fiscal_year
from admin.problems import status_of
from admin.identity import identity_directory
from admin.views import paging
from admin.views.base import SecureView, check_csrf, confirm_first, csrf_field, flash_error, post_action
from core import authz
from core.errors import DomainError
from core.spreadsheet import CSV_MIMETYPE, csv_bytes, safe_row
from admin.views.times import local_time
from core.codes import INDUSTRY_MAJOR_GROUPS
from core.validation import whole_number
from secretariat import mailings
from secretariat import rescreening
from tenancy.identity import operations as identity
from tenancy.members import details as member_details
from tenancy.members import operations as members
from tenancy.members.models import (DOCUMENTS, PREFECTURES, BaseKind, ChangeStatus, MemberStatus, OrganisationKind,
                                    SizeBand)
from tenancy.registry.prefecture import consortium_name, home_prefecture_name

FORM_FIELDS = ("corporate_number", "name", "name_kana", "kind", "prefecture", "address", "representative",
               "contact_name", "contact_email", "contact_phone")


def _ja() -> bool:
    from admin.i18n import current_language

    return current_language() == "ja"


def _pick(pair) -> str:
    return pair[0] if _ja() else pair[1]


# --- the public application form -----------------------------------------------------------------

public = Blueprint("join", __name__, url_prefix="/join")


BASE_ROWS = 3  # rows of the form for bases besides the head office (支社・事業所)


def _form_page(values: dict, errors: dict[str, str], message: str | None = None, status: int = 200):
    return render_template("renkei/members_apply.html", values=values, errors=errors, message=message,
                           kinds=[(k.value, _pick(k.label)) for k in OrganisationKind], prefectures=PREFECTURES,
                           base_kinds=[(k.value, _pick(k.label)) for k in BaseKind],
                           base_rows=range(1, BASE_ROWS + 1), consortium=consortium_name(db.session),
                           home=home_prefecture_name(db.session), csrf_field=csrf_field), status


def _bases(form) -> tuple[tuple[str, str], ...]:
    """The form's base rows that name a prefecture, as (kind, prefecture)."""
    return tuple(((form.get(f"base_kind_{n}") or "").strip(), (form.get(f"base_prefecture_{n}") or "").strip())
                 for n in range(1, BASE_ROWS + 1) if (form.get(f"base_prefecture_{n}") or "").strip())


@public.get("/")
def apply_form():
    return _form_page({"prefecture": home_prefecture_name(db.session)}, {})


def _send_application(values: dict[str, str], bases: tuple[tuple[str, str], ...]) -> None:
    """Hand the typed application to the members' office, with the e-mail confirmation link in the form's language."""
    language = "ja" if _ja() else "en"
    # the link opens the confirmation page in the language the form was filled in, even in
    # another browser (the language the applicant chose is not in that browser's session)
    lang = {} if language == "ja" else {"lang": language}
    members.apply(db.session, members.Application(**{name: values[name] for name in FORM_FIELDS}, bases=bases),
                  confirm_url=lambda token: url_for("join.confirm", token=token, _external=True, **lang),
                  request_id=getattr(g, "request_id", None), source_ip=request.remote_addr, language=language)


@public.post("/")
def apply_submit():
    check_csrf()
    values = {name: (request.form.get(name) or "").strip() for name in FORM_FIELDS}
    bases = _bases(request.form)
    # the filled rows, numbered from 1 as the domain numbers its problems (base_prefecture_1, ...)
    for number, (kind, prefecture) in enumerate(bases, start=1):
        values.update({f"base_kind_{number}": kind, f"base_prefecture_{number}": prefecture})
    try:
        _send_application(values, bases)
    except DomainError as error:
        db.session.rollback()
        ja = _ja()
        errors = {p["field"]: p["message_ja"] if ja else p["message_en"] for p in error.problems if p.get("field")}
        return _form_page(values, errors, error.message_ja if ja else error.message_en,
                          status=status_of(error))
    return render_template("renkei/members_applied.html", email=values["contact_email"])


@public.get("/confirm/<token>")
def confirm(token: str):
    try:
        org = members.confirm_email(db.session, token)
    except DomainError as error:
        db.session.rollback()
        return render_template("renkei/members_applied.html", failure=error.message_ja if _ja() else error.message_en), status_of(error)
    return render_template("renkei/members_applied.html", confirmed=org.name)


# --- the secretariat's pages ---------------------------------------------------------------------

class MembersView(SecureView):
    required_action = "member.read"

    @staticmethod
    def _status() -> str | None:
        """The status filter (``?status=``), one of the members' statuses; 400 for any other."""
        status = request.args.get("status") or None
        if status and status not in {s.value for s in MemberStatus}:
            abort(400)
        return status

    def _rows(self):
        status = self._status()
        rows, _total = members.list_members(db.session, g.actor, search=paging.search_text(), status=status,
                                            per_page=1_000_000)
        return rows, status

    @expose("/")
    def index(self):
        rows, status = self._rows()
        page = paging.paginate(rows, paging.page_number())
        return self.render("renkei/members.html", page=page, search=paging.search_text(), status=status,
                           statuses=[(s.value, _pick(s.label)) for s in MemberStatus], pick=_pick,
                           can_screen=authz.allowed(g.actor, "member.screen"),
                           waiting=member_details.waiting_changes(db.session, g.actor)
                           if authz.allowed(g.actor, "member.screen") else [],
                           can_groups=authz.allowed(g.actor, "project.read"))

    @expose("/export.<fmt>")
    def export(self, fmt: str):
        if fmt not in ("csv", "xlsx"):
            abort(404)
        rows = [safe_row(row) for row in members.export_rows(db.session, g.actor, paging.search_text(), self._status())]
        name = f"members-{dt.date.today():%Y%m%d}.{fmt}"
        if fmt == "csv":
            data, mimetype = csv_bytes(rows), CSV_MIMETYPE
        else:
            from openpyxl import Workbook

            book = Workbook()
            sheet = book.active
            sheet.title = "会員一覧"
            for row in rows:
                sheet.append(row)
            out = io.BytesIO()
            book.save(out)
            data, mimetype = out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(data, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}"})

    @expose("/<number>")
    def detail(self, number: str):
        try:
            org = members.get_member(db.session, g.actor, number)
        except DomainError as error:
            abort(status_of(error))
        screening = authz.allowed(g.actor, "member.screen")
        state = members.screening_state(db.session, g.actor, number) if screening else []
        problems = members.approval_problems(db.session, g.actor, org) \
            if screening and org.status == MemberStatus.applied else []
        declaring = authz.allowed(g.actor, rescreening.DECLARE, number) and org.status == MemberStatus.approved
        rescreening_round, rescreening_entry = rescreening.own_round(db.session, g.actor, number) if declaring else (None, None)
        return self.render("renkei/members_detail.html", org=org, state=state, problems=problems, pick=_pick,
                           rescreening_round=rescreening_round, rescreening_entry=rescreening_entry,
                           declaration=_pick(rescreening.DECLARATION), fiscal_label=format_fiscal_year,
                           format_date=format_date,
                           bases=members.member_bases(db.session, org),
                           documents=DOCUMENTS, kind=_pick(OrganisationKind(org.kind).label), status=_pick(MemberStatus(org.status).label),
                           screening=screening and org.status == MemberStatus.applied,
                           can_approve=authz.allowed(g.actor, "member.approve"),
                           can_withdraw=authz.allowed(g.actor, "member.withdraw", number)
                           and org.status in (MemberStatus.approved, MemberStatus.applied, MemberStatus.unconfirmed),
                           can_change=authz.allowed(g.actor, "member.update", number),
                           today=dt.date.today().isoformat(), values=request.form)

    def _back(self, number):
        return url_for(".detail", number=number)

    @expose("/<number>/documents", methods=("POST",))
    def document(self, number: str):
        try:
            received = dt.date.fromisoformat(request.form.get("received_on") or "")
        except ValueError:
            received = None

        def act():
            if received is None:
                raise members.ApplicationInvalid([{"field": "received_on", "message_en": "Enter the date received.",
                                                   "message_ja": "受領日を入力してください。"}])
            return members.record_document(db.session, g.actor, number, request.form.get("document", ""), received)

        return post_action(act, back=self._back(number), saved=_("Saved."))

    @expose("/<number>/checklist/<int:item_id>", methods=("POST",))
    def check(self, number: str, item_id: int):
        return post_action(lambda: members.check_item(db.session, g.actor, number, item_id,
                                                      request.form.get("checked") == "1", request.form.get("note", "")),
                           back=self._back(number), saved=_("Saved."))

    @expose("/<number>/approve", methods=("POST",))
    def approve(self, number: str):
        confirmation = confirm_first(
            self, title=_("Approve this organisation?"),
            consequence=_("The organisation becomes a member, its account group is created and its admin is invited. "
                          "The applicant is notified."),
            confirm_label=_("Approve"), back=self._back(number))
        if confirmation is not None:
            return confirmation

        def act():
            org = members.get_member(db.session, g.actor, number)
            admin = identity.Invitation(request.form.get("admin_username", "").strip(),
                                        (request.form.get("admin_email") or org.contact_email).strip(),
                                        request.form.get("admin_first_name", "").strip(),
                                        request.form.get("admin_last_name", "").strip(), frozenset())
            return members.approve(db.session, g.actor, identity_directory(), number, request.form.get("reason", ""), admin)

        return post_action(act, back=self._back(number), saved=_("Approved; the organisation's admin was invited."))

    @expose("/<number>/rescreening/declare", methods=("POST",))
    def declare(self, number: str):
        """The member's own admin re-confirms its declaration in this year's re-screening (issue 58 item 4)."""
        if request.form.get("agree") != "1":
            flash(_("Tick the box to confirm the declaration."), "error")
            return redirect(self._back(number))
        return post_action(lambda: rescreening.declare(db.session, g.actor, number), back=self._back(number),
                           saved=_("The declaration was re-confirmed. Thank you."))

    @expose("/<number>/reject", methods=("POST",))
    def reject(self, number: str):
        confirmation = confirm_first(self, title=_("Reject this application?"),
                                     consequence=_("The applicant is told the reason. This cannot be undone; they may apply again."),
                                     confirm_label=_("Reject"), back=self._back(number))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: members.reject(db.session, g.actor, number, request.form.get("reason", "")),
                           back=self._back(number), saved=_("Rejected."))

    @expose("/<number>/withdraw", methods=("POST",))
    def withdraw(self, number: str):
        confirmation = confirm_first(self, title=_("Withdraw this organisation?"),
                                     consequence=_("Every account of the organisation is disabled at once and its people can no longer "
                                                   "be changed; the secretariat is notified."),
                                     confirm_label=_("Withdraw membership"), back=self._back(number))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: members.withdraw(db.session, g.actor, number, request.form.get("reason", ""),
                                                    identity_directory()),
                           back=self._back(number), saved=_("Withdrawn."))


    # --- the member's own details (issue 58 item 1) ---------------------------------------------------

    def _details_page(self, number: str, values: dict | None = None, errors: dict | None = None,
                      message: str | None = None, status: int = 200):
        try:
            org = members.get_member(db.session, g.actor, number)
            rows = member_details.history(db.session, g.actor, number)
        except DomainError as error:
            abort(status_of(error))
        if values is None:
            values = {key: "" if value is None else str(value)
                      for key, value in dataclasses.asdict(member_details.details_of(org)).items()}
        return self.render(
            "renkei/members_details.html", org=org, values=values, errors=errors or {}, message=message, pick=_pick,
            labels=member_details.FIELD_LABELS, reviewed=member_details.REVIEWED, prefectures=PREFECTURES,
            industries=[(letter, _pick(pair)) for letter, pair in INDUSTRY_MAJOR_GROUPS.items()],
            size_bands=[(band.value, _pick(band.label)) for band in SizeBand],
            rows=rows, shown=_shown, local_time=local_time, pending=ChangeStatus.pending,
            can_change=authz.allowed(g.actor, "member.update", number),
            can_decide=authz.allowed(g.actor, "member.screen"),
            announcements=mailings.receives_announcements(db.session, number),
            can_set_mail=authz.allowed(g.actor, mailings.PREFERENCE, number)), status

    @expose("/<number>/details")
    def details(self, number: str):
        return self._details_page(number)

    @expose("/<number>/details", methods=("POST",))
    def change_details(self, number: str):
        values = {field: (request.form.get(field) or "").strip()
                  for field in member_details.REVIEWED + member_details.IMMEDIATE}
        errors, numbers = {}, {}
        for field in ("employees", "capital_yen"):  # typed as an office writes them: 1,200
            numbers[field] = whole_number(values[field].replace(",", "")) if values[field] else None
            if values[field] and numbers[field] is None:
                ja, en = member_details.FIELD_LABELS[field]
                errors[field] = f"{ja}は 0 以上の整数で入力してください。" if _ja() else f"The {en.lower()} is a whole number, 0 or more."
        try:
            if errors:  # the other fields' problems too, all at once
                raise member_details.DetailsInvalid(member_details.details_problems(
                    member_details.MemberDetails(**{**values, "employees": None, "capital_yen": None})))
            outcome = member_details.change_details(db.session, g.actor, number,
                                                    member_details.MemberDetails(**{**values, **numbers}))
        except DomainError as error:
            db.session.rollback()
            if error.kind in ("not_found", "forbidden"):
                abort(status_of(error))
            errors.update({p["field"]: p["message_ja"] if _ja() else p["message_en"]
                           for p in error.problems if p.get("field")})
            return self._details_page(number, values, errors, error.message_ja if _ja() else error.message_en,
                                      status=status_of(error))
        if outcome.pending is not None:
            saved = _("Saved. The change of the name, address or representative waits for the secretariat's approval.")
        else:
            saved = _("Saved.") if outcome.applied else _("Nothing was changed.")
        return post_action(lambda: None, back=url_for(".details", number=number), saved=saved)

    @expose("/<number>/mail-preference", methods=("POST",))
    def mail_preference(self, number: str):
        wanted = request.form.get("announcements")
        if wanted not in ("0", "1"):
            abort(400)
        receive = wanted == "1"
        return post_action(lambda: mailings.set_preference(db.session, g.actor, number, receive),
                           back=url_for(".details", number=number),
                           saved=_("Announcements will be sent again.") if receive else _("Announcements stopped."))

    @expose("/<number>/changes/<int:change_id>/approve", methods=("POST",))
    def approve_change(self, number: str, change_id: int):
        return post_action(lambda: member_details.approve_change(db.session, g.actor, change_id,
                                                                 request.form.get("reason", "")),
                           back=url_for(".details", number=number), saved=_("Approved; the change now applies."))

    @expose("/<number>/changes/<int:change_id>/reject", methods=("POST",))
    def reject_change(self, number: str, change_id: int):
        return post_action(lambda: member_details.reject_change(db.session, g.actor, change_id,
                                                                request.form.get("reason", "")),
                           back=url_for(".details", number=number), saved=_("Rejected; the member is told the reason."))


def _shown(field: str, value) -> str:
    """A history value as a reader says it: the industry's and size's names, a number with commas."""
    if value is None or value == "":
        return "—"
    if field == "industry" and value in INDUSTRY_MAJOR_GROUPS:
        return _pick(INDUSTRY_MAJOR_GROUPS[value])
    if field == "size_band" and value in {band.value for band in SizeBand}:
        return _pick(SizeBand(value).label)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class ChecklistView(SecureView):
    required_action = "member.screen"

    @expose("/")
    def index(self):
        return self.render("renkei/members_checklist.html",
                           items=members.screening_items(db.session, g.actor, include_inactive=True))

    @expose("/add", methods=("POST",))
    def add(self):
        return post_action(lambda: members.add_screening_item(db.session, g.actor, request.form.get("label_ja", ""),
                                                              request.form.get("label_en", "")),
                           back=url_for(".index"), saved=_("Saved."))

    @expose("/<int:item_id>/active", methods=("POST",))
    def active(self, item_id: int):
        return post_action(lambda: members.set_screening_item_active(db.session, g.actor, item_id,
                                                                     request.form.get("active") == "1"),
                           back=url_for(".index"), saved=_("Saved."))


def _chosen_numbers(form) -> list[str]:
    """The members ticked in the picker (a pasted list of numbers, one per line, still reads)."""
    return [n for value in form.getlist("members") for n in value.replace("、", "\n").replace(",", "\n").split() if n]


class GroupsView(SecureView):
    required_action = "project.read"
    PICKER_SIZE = 50

    def _values(self) -> dict:
        return {"name": request.form.get("name", ""), "representative": request.form.get("representative", ""),
                "members": _chosen_numbers(request.form), "q": request.form.get("q", "").strip()}

    def _picker(self, values: dict) -> dict:
        """What the member picker shows: the members chosen so far, then those matching the search."""
        if not authz.allowed(g.actor, "project.manage"):
            return {}
        rows, total = members.group_candidates(db.session, g.actor, values.get("q", ""), chosen=values.get("members", []),
                                               limit=self.PICKER_SIZE)
        return {"candidates": rows, "matching": total, "picker_size": self.PICKER_SIZE,
                "kind_label": lambda row: row.kind_label[0] if _ja() else row.kind_label[1]}

    def _page(self, values=None, errors=(), status=200):
        groups = members.list_groups(db.session, g.actor)
        values = values or {"name": "", "representative": "", "members": [], "q": ""}
        names = members.member_names(db.session, g.actor, {n for _, numbers in groups for n in numbers})
        return self.render("renkei/members_groups.html", groups=groups, names=names, values=values, errors=list(errors),
                           can_manage=authz.allowed(g.actor, "project.manage"), **self._picker(values)), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/", methods=("POST",))
    def form(self):
        values = self._values()
        if request.form.get("action") == "search":  # narrow the picker; nothing is saved
            return self._page(values)
        try:
            members.form_group(db.session, g.actor, values["name"], values["representative"], values["members"])
        except DomainError as error:
            db.session.rollback()
            if error.kind != "invalid":
                flash_error(error)
            return self._page(values, [p["message_ja"] if _ja() else p["message_en"] for p in error.problems]
                              or [error.message_ja if _ja() else error.message_en], status=status_of(error))
        return post_action(lambda: None, back=url_for(".index"), saved=_("The project group was formed."))

    def _group_page(self, group_id: int, values=None, errors=(), status=200):
        try:
            group, numbers = members.get_group(db.session, g.actor, group_id)
        except DomainError as error:
            abort(status_of(error))
        values = values or {"name": group.name, "representative": group.representative, "members": numbers, "q": ""}
        names = members.member_names(db.session, g.actor, [*numbers, group.representative])
        return self.render("renkei/members_group.html", group=group, numbers=numbers, names=names, values=values,
                           errors=list(errors), can_manage=authz.allowed(g.actor, "project.manage"),
                           **self._picker(values)), status

    @expose("/<int:group_id>")
    def group(self, group_id: int):
        return self._group_page(group_id)

    @expose("/<int:group_id>/change", methods=("POST",))
    def change(self, group_id: int):
        values = self._values()
        if request.form.get("action") == "search":
            return self._group_page(group_id, values)
        try:
            members.change_group(db.session, g.actor, group_id, values["name"], values["representative"], values["members"])
        except DomainError as error:
            db.session.rollback()
            if error.kind not in ("invalid", "not_found"):
                flash_error(error)
            if error.kind == "not_found":
                abort(status_of(error))
            return self._group_page(group_id, values, [p["message_ja"] if _ja() else p["message_en"] for p in error.problems]
                                    or [error.message_ja if _ja() else error.message_en], status=status_of(error))
        return post_action(lambda: None, back=url_for(".group", group_id=group_id), saved=_("The project group was changed."))

    @expose("/<int:group_id>/dissolve", methods=("POST",))
    def dissolve(self, group_id: int):
        confirmation = confirm_first(self, title=_("Dissolve this project group?"),
                                     consequence=_("The group and its membership are deleted; the audit log keeps what "
                                                   "it was. This cannot be undone."),
                                     confirm_label=_("Dissolve"), back=url_for(".group", group_id=group_id))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: members.dissolve_group(db.session, g.actor, group_id, request.form.get("reason", "")),
                           back=url_for(".index"), saved=_("The project group was dissolved."))


def views(session):
    return [MembersView(name=_l("Consortium members"), endpoint="members", url="members"),
            ChecklistView(name=_l("Membership screening checklist"), endpoint="member_checklist", url="members-checklist"),
            GroupsView(name=_l("Project groups"), endpoint="project_groups", url="project-groups")]
