"""Account review pages (年度のアカウント棚卸し, issue 57 item 6): the operator's overview of which municipalities'
reviews are done this fiscal year, and one municipality's review, where its admin decides for each person
(kept, disabled, handed over) and attests it done. The rules are service.account_reviews'; disabling and
handing over ask first."""

from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext, lazy_gettext as _l

from admin.extensions import db
from admin.identity import identity_directory
from admin.i18n import current_language, format_date, format_fiscal_year
from admin.views import labels
from admin.views.base import SecureView, confirm_first, post_action
from core import authz
from core.errors import DomainError
from service import account_reviews as reviews


class AccountReviewsView(SecureView):
    required_action = "account_review.read"

    @expose("/")
    def index(self):
        grant = authz.authorize(g.actor, "account_review.read")
        if not grant.all_tenants:
            codes = sorted(grant.tenant_codes)
            if not codes:
                abort(403)
            return redirect(url_for(".review", code=codes[0]))
        fiscal_year = reviews.current_fiscal_year()
        standings = reviews.overview(db.session, g.actor, fiscal_year)
        return self.render("renkei/account_reviews.html", standings=standings, fiscal_year=fiscal_year,
                           fiscal_label=format_fiscal_year, format_date=format_date,
                           can_start_all=authz.allowed(g.actor, "account_review.start"),
                           done=sum(1 for s in standings if s.done))

    @expose("/start-all", methods=("POST",))
    def start_all(self):
        fiscal_year = reviews.current_fiscal_year()
        return post_action(lambda: reviews.start_for_all(db.session, g.actor, fiscal_year), back=url_for(".index"),
                           saved=lambda count: gettext("The review was started for %(count)s organisation(s).",
                                                       count=count))

    @expose("/<code>")
    def review(self, code):
        return self._page(code, request.args.get("days"))

    def _page(self, code, days_text=None):
        authz.authorize(g.actor, "account_review.read", code)
        fiscal_year = reviews.current_fiscal_year()
        days_error = None
        try:
            days = reviews.unused_days(days_text)
        except DomainError as error:
            days, days_error = reviews.UNUSED_DAYS, error.problems[0]["message_ja" if current_language() == "ja" else "message_en"]
        review, rows, error = None, [], None
        try:
            review, rows = reviews.rows(db.session, g.actor, identity_directory(), code, fiscal_year, days)
        except DomainError as failure:
            error = failure
        colleagues = [r.account for r in rows if r.account.enabled]
        return self.render("renkei/account_review.html", code=code, review=review, rows=rows, error=error,
                           days=days_text if days_error else days, days_error=days_error, fiscal_year=fiscal_year,
                           fiscal_label=format_fiscal_year, format_date=format_date, colleagues=colleagues,
                           tenant_label=labels.tenant_label, role_label=labels.role_label,
                           decisions=reviews.Decision, admin_role=authz.MUNICIPAL_ADMIN,
                           can_start=authz.allowed(g.actor, "account_review.start", code),
                           can_decide=authz.allowed(g.actor, "account_review.attest", code))

    @expose("/<code>/start", methods=("POST",))
    def start(self, code):
        fiscal_year = reviews.current_fiscal_year()
        return post_action(lambda: reviews.start_review(db.session, g.actor, code, fiscal_year),
                           back=url_for(".review", code=code), saved=gettext("The account review was started."))

    @expose("/<code>/<user_id>/decide", methods=("POST",))
    def decide(self, code, user_id):
        decision, successor = request.form.get("decision", ""), request.form.get("successor_id", "")
        back = url_for(".review", code=code)
        if decision in (reviews.DISABLED, reviews.HANDED_OVER) and authz.allowed(g.actor, "account_review.attest", code):
            who = request.form.get("username", "")
            consequence = (gettext("The account of %(name)s is disabled at once: they can no longer sign in.", name=who)
                           if decision == reviews.DISABLED else
                           gettext("The municipal admin role is given to the chosen colleague and taken from %(name)s.",
                                   name=who))
            asked = confirm_first(self, title=gettext("Record this decision for %(name)s?", name=who),
                                  consequence=consequence, confirm_label=gettext("Record the decision"), back=back)
            if asked is not None:
                return asked
        fiscal_year = reviews.current_fiscal_year()
        return post_action(lambda: reviews.decide(db.session, g.actor, identity_directory(), code,
                                                  fiscal_year, user_id, decision, successor),
                           back=back, saved=gettext("The decision was recorded."))

    @expose("/<code>/attest", methods=("POST",))
    def attest(self, code):
        back = url_for(".review", code=code)
        if authz.allowed(g.actor, "account_review.attest", code):
            asked = confirm_first(self, title=gettext("Attest this year's account review done?"),
                                  consequence=gettext("Once attested, the review is closed and no decision can be "
                                                      "changed; the operator sees it done."),
                                  confirm_label=gettext("Attest the review"), back=back)
            if asked is not None:
                return asked
        fiscal_year = reviews.current_fiscal_year()
        try:
            days = reviews.unused_days(request.form.get("days"))
        except DomainError:
            days = reviews.UNUSED_DAYS
        return post_action(lambda: reviews.attest(db.session, g.actor, identity_directory(), code,
                                                  fiscal_year, days),
                           back=back, saved=gettext("The account review was attested done."))


def views(db_):
    return [AccountReviewsView(name=_l("Account review"), endpoint="account_reviews", url="account-reviews")]
