"""The competition's review pages (issue 41 items 4 and 7).

* ``competition_reviewers`` (the operator; the auditor reads): a call's reviewers, assigned by picking a
  person from the people list (the people search, :func:`tenancy.identity.operations.search_people`: the
  id assigned is one the list gave, never one typed), and each stage of the review closed after a
  confirmation that says what closing does.
* ``competition_review`` (a reviewer of a call): the proposals of the stage in progress, a conflict of
  interest declared per group, and a scoring form per proposal built from the call's table (gates 可/否
  first, each score within its maximum, a comment per criterion); a refused form comes back as typed,
  each problem beside its field. A reviewer sees only their own marks.

The rules are competition/review.py's and competition/reviewing.py's; this is the shell around them.
"""

from __future__ import annotations

from flask import Response, abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.identity import identity_directory
from admin.problems import status_of
from admin.views import operator_forms as forms
from admin.views import paging
from admin.views.base import SecureView, confirm_first, post_action, typed_number
from competition import operations as comp
from competition import review, reviewing
from competition.models import CriterionKind
from competition.models import Stage
from core import authz, search
from core.calendar import fiscal_year_label, jst_text
from core.errors import DomainError, Invalid, problem
from tenancy.identity import operations as identity


def _call_or_404(call_id: int):
    try:
        return comp.get_call(db.session, call_id)
    except DomainError as error:
        abort(status_of(error))


def _stage_or_404(stage: str) -> Stage:
    if stage not in {s.value for s in Stage}:
        abort(404)
    return Stage(stage)


def stage_label(stage: Stage | None) -> str:
    return forms.pick(Stage(stage).label) if stage else ""


class CompetitionReviewersView(SecureView):
    """The operator's page of a call's review: reviewers picked from the people list, stages closed."""

    required_action = "competition.read"

    @expose("/")
    def index(self):
        return self.render("renkei/competition_reviewers_index.html", calls=comp.list_calls(db.session, g.actor),
                           year_label=fiscal_year_label)

    def _people(self, typed: str | None = None):
        """The people the search box found (only for one who may assign and may read the people list)."""
        typed = paging.search_text() if typed is None else typed
        if not typed or not authz.allowed(g.actor, "competition.manage") or not authz.allowed(g.actor, "user.read"):
            return typed, None
        return typed, identity.search_people(db.session, g.actor, identity_directory(), search.read_query(typed))

    @expose("/<int:call_id>")
    def call(self, call_id: int):
        return self._call_page(call_id)

    def _call_page(self, call_id: int, person_error: str = "", status: int = 200, typed: str | None = None):
        found = _call_or_404(call_id)
        typed, people = self._people(typed)
        assigned = {r.subject for r in reviewing.reviewers(db.session, g.actor, call_id)}
        return self.render("renkei/competition_reviewers.html", call=found, typed=typed, people=people, assigned=assigned,
                           reviewers=reviewing.reviewers(db.session, g.actor, call_id),
                           ties=reviewing.ties(db.session, g.actor, call_id), person_error=person_error,
                           stages=reviewing.stages(db.session, call_id), stage_label=stage_label, moment=jst_text,
                           can_manage=authz.allowed(g.actor, "competition.manage"),
                           can_search=authz.allowed(g.actor, "user.read")), status

    @expose("/<int:call_id>/reviewers", methods=("POST",))
    def assign(self, call_id: int):
        typed, person = (request.form.get("q") or "").strip()[:100], request.form.get("person") or ""
        back = url_for(".call", call_id=call_id, q=typed or None)

        person_error: list[str] = []

        def assign():
            found = identity.search_people(db.session, g.actor, identity_directory(), search.read_query(typed)) \
                if typed and person else None
            hit = next((h for h in found.hits if h.key == person), None) if found else None
            try:
                if hit is None:
                    raise Invalid("Choose the reviewer from the people found.", "審査員は検索した利用者の一覧から選んでください。",
                                  problems=[problem("person", "Choose a person.", "利用者を選んでください。")])
                return review.assign_reviewer(db.session, g.actor, identity_directory(), call_id, hit.key)
            except Invalid as error:  # the person's problem beside the people found (an unknown account too)
                mine = [p for p in error.problems if p.get("field") in ("person", "subject")]
                if mine:
                    person_error.append(error.message_ja if forms.ja() else error.message_en)
                    error.problems = [p for p in error.problems if p not in mine]
                raise

        return post_action(assign, back=back, saved=lambda row: _("%(name)s is now a reviewer of this call.", name=row.name),
                           failed=lambda: self._call_page(call_id, " ".join(person_error), 422, typed) if person_error
                           else redirect(back))

    @expose("/<int:call_id>/stages/<stage>/close", methods=("POST",))
    def close(self, call_id: int, stage: str):
        chosen = _stage_or_404(stage)
        back = url_for(".call", call_id=call_id)
        confirmation = confirm_first(
            self, title=_("Close %(stage)s?", stage=stage_label(chosen)),
            consequence=_("The scores are unsealed and the ranking is fixed: no reviewer can score this stage any more, "
                          "and the results are shown for the selection. This cannot be undone."),
            confirm_label=_("Close the stage"), back=back)
        if confirmation is not None:
            return confirmation
        return post_action(lambda: review.close_stage(db.session, g.actor, call_id, chosen), back=back,
                           saved=_("The stage was closed; the results are shown on the call's page."))


def _mark(criterion, form) -> review.Mark:
    """The typed mark of a criterion: a gate's 可 or 否 (none chosen: None), a score's whole number (anything
    else: -1, which the review refuses beside the field)."""
    key = criterion.id
    if criterion.kind == CriterionKind.gate:
        choice = form.get(f"passed_{key}")
        return review.Mark(key, passed={"yes": True, "no": False}.get(choice), comment=form.get(f"comment_{key}", ""))
    typed = typed_number(form.get(f"points_{key}"), high=99_999)
    points = -1 if typed is None else typed
    return review.Mark(key, points=points, comment=form.get(f"comment_{key}", ""))


def _typed_marks(mine: dict) -> dict[str, str]:
    """A reviewer's saved marks as the scoring form's fields (the correction form starts from them)."""
    typed = {}
    for criterion_id, s in mine.items():
        if s.passed is not None:
            typed[f"passed_{criterion_id}"] = "yes" if s.passed else "no"
        else:
            typed[f"points_{criterion_id}"] = str(s.points)
        typed[f"comment_{criterion_id}"] = s.comment
    return typed


def _problems_by_criterion(error: DomainError) -> dict[int, str]:
    """The refusal's problems by criterion id (the review names them ``criterion <id>``)."""
    ja = forms.ja()
    found = {}
    for item in error.problems:
        name = item.get("field", "")
        if name.startswith("criterion ") and name[10:].isdigit():
            found.setdefault(int(name[10:]), item["message_ja"] if ja else item["message_en"])
    return found


class CompetitionReviewView(SecureView):
    """A reviewer's desk: the calls they review, the proposals of the stage in progress, conflicts, scores."""

    required_action = "competition.review"

    def _desk(self, call_id: int):
        try:
            return reviewing.desk(db.session, g.actor, call_id)
        except DomainError as error:
            abort(status_of(error))

    @expose("/")
    def index(self):
        return self.render("renkei/competition_review_index.html", calls=reviewing.calls_to_review(db.session, g.actor),
                           year_label=fiscal_year_label)

    @expose("/<int:call_id>")
    def desk(self, call_id: int):
        return self.render("renkei/competition_review.html", desk=self._desk(call_id), stage_label=stage_label)

    @expose("/<int:call_id>/groups/<int:group_id>/conflict", methods=("POST",))
    def conflict(self, call_id: int, group_id: int):
        return post_action(lambda: review.declare_conflict(db.session, g.actor, call_id, group_id, request.form.get("note", "")),
                           back=url_for(".desk", call_id=call_id),
                           saved=_("Your conflict of interest was recorded; you will not score this group."))

    def _score_page(self, call_id: int, group_id: int, typed=None, errors=None, status: int = 200):
        try:
            desk, group = reviewing.to_review(db.session, g.actor, call_id, group_id)
            mine = review.my_scores(db.session, g.actor, call_id, desk.stage) if desk.stage else []
        except DomainError as error:
            abort(status_of(error))
        mine = {s.criterion_id: s for s in mine if s.declaration_id == group.declaration_id}
        correcting = (typed or _typed_marks(mine)) if mine else {}
        return self.render("renkei/competition_score.html", desk=desk, group=group, stage_label=stage_label,
                           criteria=comp.criteria(db.session, call_id), mine=mine, typed=typed or {},
                           correcting=correcting, errors=errors or {}), status

    @expose("/<int:call_id>/groups/<int:group_id>", methods=("GET", "POST"))
    def score(self, call_id: int, group_id: int):
        if request.method == "GET":
            return self._score_page(call_id, group_id)
        desk = self._desk(call_id)
        if desk.stage is None:
            abort(409)
        table = comp.criteria(db.session, call_id)
        marks = [_mark(c, request.form) for c in table]
        errors: dict[int, str] = {}

        def save():
            try:
                return review.score(db.session, g.actor, call_id, desk.stage, group_id, marks)
            except DomainError as error:
                errors.update(_problems_by_criterion(error))
                error.problems = [p for p in error.problems if not p.get("field", "").startswith("criterion ")]
                raise

        return post_action(save, back=url_for(".desk", call_id=call_id), saved=_("Your scores were saved."),
                           failed=lambda: self._score_page(call_id, group_id, request.form, errors, 422))

    # --- a score corrected while the stage is open (issue 59 item 2: review.correct_score) -------------------

    @expose("/<int:call_id>/groups/<int:group_id>/correct", methods=("POST",))
    def correct(self, call_id: int, group_id: int):
        desk = self._desk(call_id)
        if desk.stage is None:
            abort(409)
        marks = [_mark(c, request.form) for c in comp.criteria(db.session, call_id)]
        errors: dict[int, str] = {}

        def save():
            try:
                return review.correct_score(db.session, g.actor, call_id, desk.stage, group_id, marks)
            except DomainError as error:
                errors.update(_problems_by_criterion(error))
                error.problems = [p for p in error.problems if not p.get("field", "").startswith("criterion ")]
                raise

        return post_action(save, back=url_for(".score", call_id=call_id, group_id=group_id),
                           saved=_("Your scores were corrected; the earlier values are kept."),
                           failed=lambda: self._score_page(call_id, group_id, request.form, errors, 422))

    @expose("/<int:call_id>/groups/<int:group_id>/proposal.pdf")
    def proposal(self, call_id: int, group_id: int):
        try:
            document = reviewing.proposal_file(db.session, g.actor, call_id, group_id)
        except DomainError as error:
            abort(status_of(error))
        return Response(document.content, mimetype="application/pdf",
                        headers={"Content-Disposition": f"inline; filename=proposal-{group_id}.pdf"})


def views(session):
    return [CompetitionReviewersView(name=_l("Reviewers and review stages"), endpoint="competition_reviewers",
                                     url="competition-reviewers"),
            CompetitionReviewView(name=_l("Review of proposals"), endpoint="competition_review", url="competition-review")]
