"""企画コンペ (the project competition): the secretariat's pages (calls made from the template, published;
questions answered and published at once; the declarations and proposals), the members' page (ask a
question; a representative declares with the documents and submits the proposal and its estimate), and
the public page of the published call (/competition/, no account). The rules are competition/operations.py's."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.problems import status_of
from admin.views import operator_forms as forms
from admin.views.base import SecureView, confirm_first, post_action, typed_id, typed_number
from competition import operations as comp
from competition import receipts, review, selection, stages, versions
from competition.models import DECLARATION_OPTIONAL, DECLARATION_REQUIRED, CallStatus, DocumentKind
from core import authz
from core.calendar import JST, day_text, fiscal_year_label, jst_text
from core.errors import DomainError, Invalid, problem
from core.labelled import labels

ESTIMATE_ROWS = 10  # lines of the estimate form


def _when(moment: dt.datetime, timed: bool = True) -> str:
    return jst_text(moment) if timed else day_text(moment)


def _documents_of(milestone) -> list[str]:
    names = {k.value: forms.pick(v) for k, v in labels(DocumentKind).items()}
    names["estimate"] = forms.pick(("積算書", "Cost estimate"))
    return [names.get(key, key) for key in milestone.documents.split(",") if key]


def _int(name: str) -> int | None:
    return typed_number((request.form.get(name) or "").replace(",", ""), high=999_999_999_999)


class CompetitionView(SecureView):
    """The secretariat's pages of the competition."""

    required_action = "competition.read"

    @expose("/")
    def index(self):
        return self.render("renkei/competition.html", rows=comp.list_calls(db.session, g.actor),
                           can_manage=authz.allowed(g.actor, "competition.manage"), year_label=fiscal_year_label)

    @expose("/create", methods=("POST",))
    def create(self):
        year = _int("fiscal_year")
        return post_action(lambda: comp.create_call(db.session, g.actor, year if year is not None else 0,
                                                    title=request.form.get("title", "")),
                           back=url_for(".index"), saved=_("Saved."),
                           done=lambda call: redirect(url_for(".detail", call_id=call.id)))

    @expose("/<int:call_id>")
    def detail(self, call_id: int, typed: dict | None = None, errors: dict | None = None):
        try:
            call = comp.get_call(db.session, call_id)
        except DomainError as error:
            abort(status_of(error))
        status = CallStatus(call.status)
        return self.render("renkei/competition_detail.html", call=call, when=_when, documents_of=_documents_of,
                           status_label=forms.pick(stages.CALLS.label(status)), typed=typed or {}, errors=errors or {},
                           may_close=stages.CALLS.allows("close_unfilled", status)
                           and not stages.has_proposals(db.session, call.id),
                           may_reopen=stages.CALLS.allows("reopen", status),
                           milestones=comp.milestones(db.session, call.id), criteria=comp.criteria(db.session, call.id),
                           total=comp.total_points(db.session, call.id),
                           questions=comp.list_questions(db.session, g.actor, call.id),
                           declarations=comp.list_declarations(db.session, g.actor, call.id),
                           boards=selection.boards(db.session, g.actor, call.id),
                           can_manage=authz.allowed(g.actor, "competition.manage"), year_label=fiscal_year_label)

    @expose("/<int:call_id>/publish", methods=("POST",))
    def publish(self, call_id: int):
        return post_action(lambda: comp.publish_call(db.session, g.actor, call_id),
                           back=url_for(".detail", call_id=call_id), saved=_("Published."))

    @expose("/<int:call_id>/milestones/<key>", methods=("POST",))
    def milestone(self, call_id: int, key: str):
        def move():
            try:
                at = dt.datetime.strptime(request.form.get("at", ""), "%Y-%m-%dT%H:%M").replace(tzinfo=JST)
            except ValueError:
                raise Invalid("Enter the date and time.", "日時を入力してください。",
                              problems=[problem("at", "Enter the date and time.", "日時を入力してください。")]) from None
            return comp.set_milestone(db.session, g.actor, call_id, key, at)

        return post_action(move, back=url_for(".detail", call_id=call_id), saved=_("Saved."))

    def _call_move(self, call_id: int, field: str, act, saved: str, confirm: dict | None = None):
        """Close a call without a selection or reopen it, with the reason typed: refused, the page again with the
        reason kept and the problem beside it."""
        reason = request.form.get("reason", "")
        if confirm is not None:
            confirmation = confirm_first(self, back=url_for(".detail", call_id=call_id), **confirm)
            if confirmation is not None:
                return confirmation

        def again():
            return self.detail(call_id, typed={field: reason}, errors={field: refused[0]} if refused else {})

        refused: list[str] = []

        def run():
            try:
                return act(reason)
            except Invalid as error:
                refused.extend(forms.pick((p["message_ja"], p["message_en"])) for p in error.problems
                               if p.get("field") == "reason")
                raise

        return post_action(run, back=url_for(".detail", call_id=call_id), saved=saved, failed=again)

    @expose("/<int:call_id>/close", methods=("POST",))
    def close_call(self, call_id: int):
        return self._call_move(
            call_id, "close", lambda reason: review.close_without_selection(db.session, g.actor, call_id, reason),
            _("The call was closed without a selection."),
            confirm={"title": _("Close the call without a selection?"),
                     "consequence": _("The call has no proposal to review. It ends without a selection and takes nothing "
                                      "more until it is reopened."),
                     "confirm_label": _("Close the call")})

    @expose("/<int:call_id>/reopen", methods=("POST",))
    def reopen_call(self, call_id: int):
        return self._call_move(call_id, "reopen", lambda reason: review.reopen(db.session, g.actor, call_id, reason),
                               _("The call was reopened: move its schedule so that applicants may act again."))

    @expose("/<int:call_id>/stages/<stage>/selection", methods=("POST",))
    def select(self, call_id: int, stage: str):
        if stage not in ("first", "second"):
            abort(404)
        chosen = [number for v in request.form.getlist("group_id") if (number := typed_id(v)) is not None]
        return post_action(lambda: selection.select(db.session, g.actor, call_id, stage, chosen),
                           back=url_for(".detail", call_id=call_id), saved=_("Selection recorded and notified."))

    @expose("/<int:call_id>/notices/<int:selection_id>.pdf")
    def notice(self, call_id: int, selection_id: int):
        try:
            letter = selection.letter_of(db.session, g.actor, call_id, selection_id)
        except DomainError as error:
            abort(status_of(error))
        return Response(selection.letter_pdf(letter), mimetype="application/pdf",
                        headers={"Content-Disposition": f"inline; filename=notice-{selection_id}.pdf"})

    @expose("/questions/<int:question_id>/answer", methods=("POST",))
    def answer(self, question_id: int):
        call_id = _int("call_id") or 0
        return post_action(lambda: comp.answer(db.session, g.actor, question_id, request.form.get("answer", "")),
                           back=url_for(".detail", call_id=call_id), saved=_("Saved."))

    @expose("/<int:call_id>/answers/publish", methods=("POST",))
    def publish_answers(self, call_id: int):
        return post_action(lambda: comp.publish_answers(db.session, g.actor, call_id),
                           back=url_for(".detail", call_id=call_id),
                           saved=lambda n: _("%(count)s answers published.", count=n))


class CompetitionEntryView(SecureView):
    """The members' page: questions, and a representative's declaration and proposal."""

    required_action = "competition.ask"

    @expose("/")
    def index(self):
        groups = comp.groups_represented(db.session, g.actor) if authz.allowed(g.actor, "competition.submit") else []
        required = [(k.value, forms.pick(DocumentKind(k).label), True) for k in DECLARATION_REQUIRED]
        optional = [(k.value, forms.pick(DocumentKind(k).label), False) for k in DECLARATION_OPTIONAL]
        return self.render("renkei/competition_entry.html", calls=comp.published_calls(db.session), groups=groups,
                           received=receipts.received(db.session, [group.id for group in groups]), when=_when,
                           documents=required + optional, rows=range(1, ESTIMATE_ROWS + 1),
                           proposal_label=forms.pick(DocumentKind.proposal.label), year_label=fiscal_year_label,
                           standing=lambda call_id, group_id: versions.standing(db.session, call_id, group_id))

    @expose("/<int:call_id>/questions", methods=("POST",))
    def ask(self, call_id: int):
        return post_action(lambda: comp.ask(db.session, g.actor, call_id, request.form.get("question", ""),
                                            asked_for=request.form.get("asked_for") or None),
                           back=url_for(".index"), saved=_("Your question was received."))

    @expose("/<int:call_id>/groups/<int:group_id>/declaration", methods=("POST",))
    def declare(self, call_id: int, group_id: int):
        uploads = [comp.Upload(kind, f.filename or "", f.read(comp.MAX_UPLOAD_BYTES + 1))
                   for kind, f in request.files.items() if f and f.filename]
        return post_action(lambda: comp.declare(db.session, g.actor, call_id, group_id, uploads),
                           back=url_for(".index"), saved=_("Your declaration of participation was received."))

    @expose("/<int:call_id>/groups/<int:group_id>/proposal", methods=("POST",))
    def propose(self, call_id: int, group_id: int):
        upload, lines, total = _proposal_form()
        return post_action(lambda: comp.submit_proposal(db.session, g.actor, call_id, group_id, upload, lines, total),
                           back=url_for(".index"), saved=_("Your proposal was received."))

    # --- applicants' rights before a deadline (issue 59 item 2: competition/versions.py) ---------------------

    @expose("/<int:call_id>/groups/<int:group_id>/declaration/withdraw", methods=("POST",))
    def withdraw_declaration(self, call_id: int, group_id: int):
        confirmation = confirm_first(
            self, back=url_for(".index"), title=_("Withdraw the declaration of participation?"),
            consequence=_("The group's declaration and its proposal are withdrawn: the group takes no further part in "
                          "this call and cannot declare again. The files are kept."),
            confirm_label=_("Withdraw the declaration"))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: versions.withdraw_declaration(db.session, g.actor, call_id, group_id),
                           back=url_for(".index"), saved=_("Your declaration was withdrawn; a receipt was sent."))

    @expose("/<int:call_id>/groups/<int:group_id>/declaration/amend", methods=("POST",))
    def amend_declaration(self, call_id: int, group_id: int):
        uploads = [comp.Upload(kind, f.filename or "", f.read(comp.MAX_UPLOAD_BYTES + 1))
                   for kind, f in request.files.items() if f and f.filename]
        return post_action(lambda: versions.amend_declaration(db.session, g.actor, call_id, group_id, uploads),
                           back=url_for(".index"), saved=_("The documents were replaced; a receipt was sent."))

    @expose("/<int:call_id>/groups/<int:group_id>/proposal/withdraw", methods=("POST",))
    def withdraw_proposal(self, call_id: int, group_id: int):
        confirmation = confirm_first(
            self, back=url_for(".index"), title=_("Withdraw the proposal?"),
            consequence=_("The proposal is withdrawn and will not be reviewed unless you submit it again before the "
                          "proposal deadline. The file is kept."),
            confirm_label=_("Withdraw the proposal and estimate"))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: versions.withdraw_proposal(db.session, g.actor, call_id, group_id),
                           back=url_for(".index"), saved=_("Your proposal was withdrawn; a receipt was sent."))

    @expose("/<int:call_id>/groups/<int:group_id>/proposal/resubmit", methods=("POST",))
    def resubmit_proposal(self, call_id: int, group_id: int):
        upload, lines, total = _proposal_form()
        return post_action(lambda: versions.resubmit_proposal(db.session, g.actor, call_id, group_id, upload, lines, total),
                           back=url_for(".index"), saved=_("Your proposal was resubmitted as a new version."))


def _proposal_form() -> tuple[comp.Upload, list[comp.Line], int]:
    """The proposal form's file, estimate lines and total (a value that is no whole number: -1, refused beside it)."""
    f = request.files.get("proposal")
    upload = comp.Upload("proposal", (f.filename or "") if f else "", f.read(comp.MAX_UPLOAD_BYTES + 1) if f else b"")
    lines = []
    for n in range(1, ESTIMATE_ROWS + 1):
        item, amount = (request.form.get(f"item_{n}") or "").strip(), (request.form.get(f"amount_{n}") or "").strip()
        if item or amount:
            lines.append(comp.Line(item, _yen_or_refused(f"amount_{n}")))
    return upload, lines, _yen_or_refused("total_yen")


def _yen_or_refused(name: str) -> int:
    """The typed whole number of yen, or -1 when it is none (the operation refuses it beside its field)."""
    value = _int(name)
    return value if value is not None else -1


def views(session):
    return [CompetitionView(name=_l("Project competition"), endpoint="competition", url="competition"),
            CompetitionEntryView(name=_l("Competition entries"), endpoint="competition_entry", url="competition-entry")]


# --- the public page of the published call --------------------------------------------------------

public = Blueprint("competition_public", __name__, url_prefix="/competition")


@public.get("/")
@public.get("/<int:fiscal_year>")
def public_call(fiscal_year: int | None = None):
    try:
        shown = comp.public_call(db.session, fiscal_year)
    except DomainError as error:
        return render_template("renkei/competition_public.html", shown=None, message=forms.pick(
            (error.message_ja, error.message_en))), status_of(error)
    return render_template("renkei/competition_public.html", shown=shown, when=_when, documents_of=_documents_of,
                           year_label=fiscal_year_label, message=None,
                           selected=selection.selected(db.session, shown.call.id))
