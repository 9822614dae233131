"""Users page (利用者管理): a municipal admin manages their own tenant's accounts; the operator any tenant's.

Every change is a POST that calls a tenancy.identity.operations operation (authorized, audited)
through the one POST path of admin/views/base.py (CSRF, one commit, messages); the page itself
only reads.

Inviting, resending the set-up and resetting a password answer with the page itself rather than a
redirect and a flash message: without a mail server they carry a temporary password, which is
shown in that one response (``Cache-Control: no-store``) and never put in the session cookie,
the database or the audit log.
"""

from __future__ import annotations

import wtforms
from flask import abort, g, make_response, request, url_for
from flask_admin import expose
from flask_babel import gettext, lazy_gettext as _l

from admin.extensions import db
from admin.problems import status_of
from admin.identity import identity_directory
from admin.views import labels, paging
from admin.views.base import SecureView, apply_problems, confirm_first, post_action
from core import authz
from tenancy.identity import invitations
from tenancy.identity import operations as identity
from core.errors import DomainError


def _stripped(value: str | None) -> str | None:
    """A typed value without the spaces around it (None stays None)."""
    return value.strip() if value else value


class InviteForm(wtforms.Form):
    """One invitation; the rules are the domain's (identity.invitation_problems), shown beside each field."""

    username = wtforms.StringField(_l("Username"), filters=[_stripped])
    email = wtforms.StringField(_l("E-mail"), filters=[_stripped])
    last_name = wtforms.StringField(_l("Family name"), filters=[_stripped])
    first_name = wtforms.StringField(_l("Given name"), filters=[_stripped])
    roles = wtforms.SelectMultipleField(_l("Roles"), default=[authz.MUNICIPAL_STAFF])

    def invitation(self) -> identity.Invitation:
        return identity.Invitation(self.username.data or "", self.email.data or "", self.first_name.data or "",
                                   self.last_name.data or "", frozenset(self.roles.data or ()))


class BulkInviteForm(wtforms.Form):
    file = wtforms.FileField(_l("CSV file"))


def _no_store(response):
    """A page that may show a temporary password: not kept by the browser or a proxy."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


class UsersView(SecureView):
    required_action = "user.read"
    PICKER_SIZE = 50

    def _tenant_choices(self) -> list:
        return identity.tenants_with_readable_users(db.session, g.actor)

    def _grantable(self) -> list[str]:
        return sorted(authz.grantable_roles(g.actor))

    def _invite_form(self, data=None) -> InviteForm:
        form = InviteForm(data)
        form.roles.choices = [(role, labels.role_label(role)) for role in self._grantable()]
        return form

    @expose("/")
    def index(self):
        return self._page(request.args.get("tenant"))

    def _page(self, code: str | None, *, form: InviteForm | None = None, setups=(), invited_account=None):
        """The users page of one tenant; ``setups`` are set-ups just started (shown once, with any temporary password)."""
        tenants = self._tenant_choices()
        code = code or (tenants[0].code if tenants else None)
        if code is not None and code not in {t.code for t in tenants}:
            abort(403)
        accounts, error = [], None
        if code:
            try:
                accounts = identity.list_users(db.session, g.actor, identity_directory(), code)
            except DomainError as failure:
                error = failure
        # The tenant picker lists at most PICKER_SIZE tenants: those matching the search (?q=, code or
        # name), the one shown always among them, so it stays usable at 1,741 tenants.
        search = paging.search_text()
        picker = paging.paginate(tenants, 1, size=self.PICKER_SIZE,
                                 keep=(lambda t: paging.matches(search, t.code, t.name_ja, t.name_en, t.name_kana))
                                 if search else None)
        choices = list(picker.items)
        if code is not None and code not in {t.code for t in choices}:
            choices.insert(0, next(t for t in tenants if t.code == code))
        # Keycloak away: the page says so inside the layout, as a 503 (Retry-After added for every 503)
        status = status_of(error) if error is not None and error.kind == "unavailable" else 200
        return self.render(
            "renkei/users.html", tenants=tenants, code=code, accounts=accounts, error=error,
            picker=picker, choices=choices, search=search, picker_size=self.PICKER_SIZE,
            can_manage=bool(code) and authz.allowed(g.actor, "user.manage", code),
            grantable=self._grantable(), role_label=labels.role_label, tenant_label=labels.tenant_label,
            form=form or self._invite_form(), setups=list(setups), sends_mail=identity_directory().sends_mail,
            invited_account=invited_account, is_me=lambda account: identity.is_own_account(g.actor, account),
        ), status

    def _act(self, code: str, operation):
        return post_action(operation, back=url_for(".index", tenant=code), saved=gettext("Saved."))

    @expose("/<code>/invite", methods=("POST",))
    def invite(self, code):
        form = self._invite_form(request.form)

        def invite():
            try:
                return identity.invite_with_setup(db.session, g.actor, identity_directory(), code, form.invitation())
            except DomainError as error:
                apply_problems(form, error)
                raise

        return post_action(invite, failed=lambda: self._page(code, form=form),
                           done=lambda invited: _no_store(self._page(code, setups=[invited.setup],
                                                                     invited_account=invited.account)))

    @expose("/<code>/<user_id>/roles", methods=("POST",))
    def roles(self, code, user_id):
        if "role" in request.form:  # the page's choice: one role, replacing the person's roles or added beside them
            role, add = request.form.get("role", ""), request.form.get("mode") == "add"
            return self._act(code, lambda: identity.change_role(db.session, g.actor, identity_directory(), code, user_id,
                                                                role, add=add))
        roles = frozenset(request.form.getlist("roles"))
        return self._act(code, lambda: identity.change_roles(db.session, g.actor, identity_directory(), code, user_id, roles))

    @expose("/<code>/<user_id>/enabled", methods=("POST",))
    def enabled(self, code, user_id):
        value = request.form.get("enabled") == "1"
        if not value and authz.allowed(g.actor, "user.manage", code):  # others are refused by the operation
            asked = confirm_first(
                self, title=gettext("Disable this user's account?"),
                consequence=gettext("Once disabled, this person can no longer sign in, and cannot use any of the "
                                    "organisation's pages or data until the account is enabled again."),
                confirm_label=gettext("Disable the account"), back=url_for(".index", tenant=code))
            if asked is not None:
                return asked
        return self._act(code, lambda: identity.set_user_enabled(db.session, g.actor, identity_directory(), code, user_id, value))

    @expose("/<code>/<user_id>/remove", methods=("POST",))
    def remove(self, code, user_id):
        if authz.allowed(g.actor, "user.manage", code):  # others are refused by the operation
            asked = confirm_first(
                self, title=gettext("Remove this user from the organisation?"),
                consequence=gettext("Once removed, this person loses access to the organisation's pages and data, and "
                                    "all their roles in it are taken away. To let them back in, invite them again."),
                confirm_label=gettext("Remove from the organisation"), back=url_for(".index", tenant=code))
            if asked is not None:
                return asked
        return self._act(code, lambda: identity.remove_user(db.session, g.actor, identity_directory(), code, user_id))

    @expose("/<code>/<user_id>/setup", methods=("POST",))
    def resend_setup(self, code, user_id):
        return post_action(lambda: identity.resend_setup(db.session, g.actor, identity_directory(), code, user_id),
                           back=url_for(".index", tenant=code),
                           done=lambda setup: _no_store(self._page(code, setups=[setup])))

    @expose("/<code>/<user_id>/password", methods=("POST",))
    def reset_password(self, code, user_id):
        if authz.allowed(g.actor, "user.manage", code):  # others are refused by the operation
            who = request.form.get("username", "")
            consequence = (gettext("An e-mail with a link to choose a new password is sent to %(name)s. Their current "
                                   "password keeps working until they choose a new one.", name=who)
                           if identity_directory().sends_mail else
                           gettext("The current password of %(name)s stops working at once and they are signed out "
                                   "everywhere. A new temporary password is shown once on the next page; they must "
                                   "choose their own password when they next sign in.", name=who))
            asked = confirm_first(self, title=gettext("Reset the password of %(name)s?", name=who),
                                  consequence=consequence, confirm_label=gettext("Reset the password"),
                                  back=url_for(".index", tenant=code))
            if asked is not None:
                return asked
        return post_action(lambda: identity.reset_password(db.session, g.actor, identity_directory(), code, user_id),
                           back=url_for(".index", tenant=code),
                           done=lambda setup: _no_store(self._page(code, setups=[setup])))

    @expose("/<code>/bulk", methods=("GET", "POST"))
    def bulk(self, code):
        if not authz.allowed(g.actor, "user.manage", code):
            abort(403)
        form, problems = BulkInviteForm(request.form), []
        if request.method == "GET":
            return self._bulk_page(code, form)
        upload = request.files.get("file")
        source = upload.stream if upload else b""  # read row by row as it is checked, never held whole

        def invite_all():
            try:
                return invitations.invite_from_csv(db.session, g.actor, identity_directory(), code, source)
            except DomainError as error:
                problems.extend(error.problems)  # shown as a list of lines on the page, not as flashes
                error.problems = []
                raise

        return post_action(invite_all, failed=lambda: self._bulk_page(code, form, problems=problems),
                           done=lambda result: _no_store(self._bulk_page(code, form, result=result)))

    def _bulk_page(self, code, form, *, problems=(), result=None):
        tenants = {t.code: t for t in self._tenant_choices()}
        if code not in tenants:
            abort(403)
        return self.render("renkei/users_bulk.html", code=code, form=form, problems=list(problems), result=result,
                           tenant_label=labels.tenant_label, role_label=labels.role_label,
                           grantable=self._grantable(), sends_mail=identity_directory().sends_mail,
                           setup_email=identity.SETUP_EMAIL)


def views(db_):
    return [UsersView(name=_l("Users"), endpoint="users", url="users")]
