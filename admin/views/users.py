"""Users page (利用者管理): a municipal admin manages their own tenant's accounts; the operator any tenant's.

Every change is a POST that calls a tenancy.identity.operations operation (authorized, audited) and commits
once; the page itself only reads. Forms carry a per-session CSRF token.
"""

from __future__ import annotations

import secrets

from flask import abort, flash, g, redirect, request, session, url_for
from flask_admin import expose
from flask_babel import lazy_gettext as _l

from admin.extensions import db
from admin.identity import identity_directory
from admin.views.base import SecureView
from core import authz
from tenancy.identity import operations as identity
from core.errors import DomainError
from tenancy.registry.operations import list_tenants


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        abort(400)


class UsersView(SecureView):
    required_action = "user.read"

    def _tenant_choices(self) -> list:
        grant = authz.authorize(g.actor, "user.read")
        tenants, _ = list_tenants(db.session, codes=None if grant.all_tenants else sorted(g.actor.tenant_codes),
                                  per_page=10000)
        return tenants

    @expose("/")
    def index(self):
        tenants = self._tenant_choices()
        code = request.args.get("tenant") or (tenants[0].code if tenants else None)
        if code is not None and code not in {t.code for t in tenants}:
            abort(403)
        accounts, error = [], None
        if code:
            try:
                accounts = identity.list_users(db.session, g.actor, identity_directory(), code)
            except DomainError as failure:
                error = failure
        return self.render(
            "renkei/users.html", tenants=tenants, code=code, accounts=accounts, error=error,
            can_manage=bool(code) and authz.allowed(g.actor, "user.manage", code),
            grantable=sorted(authz.PEOPLE_ROLES if authz.OPERATOR in g.actor.roles else authz.TENANT_ROLES),
            role_labels=authz.ROLE_LABELS_JA, csrf=csrf_token(),
        )

    def _act(self, code: str, operation) -> None:
        check_csrf()
        try:
            operation()
            db.session.commit()
            flash("保存しました / Saved", "success")
        except DomainError as failure:
            db.session.rollback()
            flash(f"{failure.message_ja} / {failure.message_en}", "error")

    @expose("/<code>/invite", methods=("POST",))
    def invite(self, code):
        form = request.form
        invitation = identity.Invitation(form.get("username", "").strip(), form.get("email", "").strip(),
                                         form.get("first_name", "").strip(), form.get("last_name", "").strip(),
                                         frozenset(form.getlist("roles")))
        self._act(code, lambda: identity.invite_user(db.session, g.actor, identity_directory(), code, invitation))
        return redirect(url_for(".index", tenant=code))

    @expose("/<code>/<user_id>/roles", methods=("POST",))
    def roles(self, code, user_id):
        roles = frozenset(request.form.getlist("roles"))
        self._act(code, lambda: identity.change_roles(db.session, g.actor, identity_directory(), code, user_id, roles))
        return redirect(url_for(".index", tenant=code))

    @expose("/<code>/<user_id>/enabled", methods=("POST",))
    def enabled(self, code, user_id):
        value = request.form.get("enabled") == "1"
        self._act(code, lambda: identity.set_user_enabled(db.session, g.actor, identity_directory(), code, user_id, value))
        return redirect(url_for(".index", tenant=code))

    @expose("/<code>/<user_id>/remove", methods=("POST",))
    def remove(self, code, user_id):
        self._act(code, lambda: identity.remove_user(db.session, g.actor, identity_directory(), code, user_id))
        return redirect(url_for(".index", tenant=code))


def views(db_):
    return [UsersView(name=_l("Users"), endpoint="users", url="users")]
