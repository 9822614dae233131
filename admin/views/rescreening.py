"""The members' yearly re-screening page (年次再確認, issue 58 item 4): the round of a fiscal year, the upload of the
国税庁's difference files (a refused file comes back with its problems by line), each member's findings, declaration,
decision and outcome, and the filters "for decision" and "not re-confirmed". A decision asks first. The rules are
secretariat.rescreening's; a member re-confirms its declaration on its own member page (admin/views/members.py)."""

from __future__ import annotations

from flask import g, request, url_for
from flask_admin import expose
from flask_babel import gettext, lazy_gettext as _l

from admin.extensions import db
from admin.i18n import current_language, format_date, format_fiscal_year
from admin.problems import status_of
from admin.views.base import MAX_UPLOAD, SecureView, confirm_first, file_line, post_action, query_fiscal_year
from core import authz
from core.errors import DomainError, Invalid, problem
from secretariat import rescreening

FILTERS = ("all", "decision", "undeclared")
MAX_FILES = 31  # a month of daily files in one upload


class RescreeningView(SecureView):
    required_action = rescreening.READ

    def _year(self) -> int:
        return query_fiscal_year("year", rescreening.current_fiscal_year())

    @expose("/")
    def index(self):
        return self._page(self._year())

    def _page(self, fiscal_year: int, error: DomainError | None = None, status: int = 200):
        shown = request.args.get("show", "all")
        shown = shown if shown in FILTERS else "all"
        found, standings = rescreening.standings(db.session, g.actor, fiscal_year)
        listed = [s for s in standings if shown == "all" or (shown == "decision" and s.for_decision)
                  or (shown == "undeclared" and not s.declared)]
        ja = current_language() == "ja"
        problems = [(p.get("file", ""), file_line(p.get("field", "")), p["message_ja"] if ja else p["message_en"])
                    for p in (error.problems if error is not None else [])]
        return self.render("renkei/rescreening.html", fiscal_year=fiscal_year, found=found, standings=standings,
                           listed=listed, shown=shown, error=error, problems=problems,
                           files=rescreening.imported_files(db.session, g.actor, found) if found else [],
                           decisions=rescreening.Decision, declared=sum(1 for s in standings if s.declared),
                           for_decision=sum(1 for s in standings if s.for_decision),
                           awaiting=sum(1 for s in standings if s.outcome == rescreening.Outcome.awaiting_decision),
                           fiscal_label=format_fiscal_year, format_date=format_date, pick=_pick,
                           can_manage=authz.allowed(g.actor, rescreening.MANAGE),
                           can_decide=authz.allowed(g.actor, rescreening.DECIDE)), status

    @expose("/start", methods=("POST",))
    def start(self):
        fiscal_year = self._year()
        return post_action(lambda: rescreening.start_round(db.session, g.actor, fiscal_year),
                           back=url_for(".index", year=fiscal_year), saved=gettext("The re-screening was started."))

    @expose("/import", methods=("POST",))
    def import_files(self):
        fiscal_year = self._year()
        try:
            uploads = _read_uploads(request.files.getlist("file"))
            result = rescreening.import_files(db.session, g.actor, fiscal_year, uploads)
        except DomainError as error:
            db.session.rollback()
            return self._page(fiscal_year, error, status_of(error))
        return post_action(lambda: result, back=url_for(".index", year=fiscal_year, show="decision"),
                           saved=gettext("%(files)s file(s), %(rows)s row(s) imported: %(matched)s concern members, "
                                         "%(decide)s member(s) for decision.", files=result.files,
                                         rows=f"{result.rows:,}", matched=len(result.findings),
                                         decide=len(result.for_decision)))

    @expose("/<number>/decide", methods=("POST",))
    def decide(self, number: str):
        fiscal_year = self._year()
        back = url_for(".index", year=fiscal_year)
        chosen = next((d for d in rescreening.Decision if d.value == request.form.get("decision")), None)
        if chosen is not None and request.form.get("reason", "").strip() and authz.allowed(g.actor, rescreening.DECIDE):
            asked = confirm_first(self, title=gettext("Record “%(decision)s” for %(number)s?",
                                                      decision=_pick(chosen.label), number=number),
                                  consequence=gettext("The decision and its reason are recorded as this year's outcome "
                                                      "for the member. A withdrawal itself is done from the member's "
                                                      "page."),
                                  confirm_label=gettext("Record the decision"), back=back)
            if asked is not None:
                return asked
        return post_action(lambda: rescreening.decide(db.session, g.actor, fiscal_year, number,
                                                      request.form.get("decision", ""), request.form.get("reason", "")),
                           back=back, saved=gettext("The decision was recorded."))


def _read_uploads(uploads) -> list[tuple[str, bytes]]:
    chosen = [u for u in uploads if u is not None and u.filename]
    if not chosen:
        raise Invalid("Choose a difference file.", "差分データのファイルを選んでください。",
                      problems=[problem("file", "Choose a difference file.", "差分データのファイルを選んでください。")])
    if len(chosen) > MAX_FILES:
        raise Invalid(f"Choose at most {MAX_FILES} files at a time.", f"一度に選べるファイルは {MAX_FILES} 個までです。",
                      problems=[problem("file", f"At most {MAX_FILES} files.", f"{MAX_FILES} 個までです。")])
    read = []
    for upload in chosen:
        raw = upload.stream.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise Invalid(f"{upload.filename} is larger than 20 MB.", f"{upload.filename} が 20 MB を超えています。",
                          problems=[problem("file", "Larger than 20 MB.", "20 MB を超えています。")])
        read.append((upload.filename, raw))
    return read


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if current_language() == "ja" else pair[1]


def views(session):
    return [RescreeningView(name=_l("Yearly re-screening"), endpoint="member_rescreening", url="member-rescreening")]
