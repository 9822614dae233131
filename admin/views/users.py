"""Users page (利用者管理): a municipal admin manages their own tenant's accounts; the operator any tenant's.

Every change is a POST that calls a tenancy.identity.operations operation (authorized, audited)
through the one POST path of admin/views/base.py (CSRF, one commit, messages); the page itself
only reads.
"""

from __future__ import annotations

from flask import abort, g, request, url_for
from flask_admin import expose
from flask_babel import lazy_gettext as _l

from admin.extensions import db
from admin.identity import identity_directory
from admin.views.base import SecureView, post_action
from core import authz
from tenancy.identity import operations as identity
from core.errors import DomainError


class UsersView(SecureView):
    required_action = "user.read"

    def _tenant_choices(self) -> list:
        return identity.tenants_with_readable_users(db.session, g.actor)

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
            role_labels=authz.ROLE_LABELS_JA,
        )

    def _act(self, code: str, operation):
        return post_action(operation, back=url_for(".index", tenant=code), saved="保存しました / Saved")

    @expose("/<code>/invite", methods=("POST",))
    def invite(self, code):
        form = request.form
        invitation = identity.Invitation(form.get("username", "").strip(), form.get("email", "").strip(),
                                         form.get("first_name", "").strip(), form.get("last_name", "").strip(),
                                         frozenset(form.getlist("roles")))
        return self._act(code, lambda: identity.invite_user(db.session, g.actor, identity_directory(), code, invitation))

    @expose("/<code>/<user_id>/roles", methods=("POST",))
    def roles(self, code, user_id):
        roles = frozenset(request.form.getlist("roles"))
        return self._act(code, lambda: identity.change_roles(db.session, g.actor, identity_directory(), code, user_id, roles))

    @expose("/<code>/<user_id>/enabled", methods=("POST",))
    def enabled(self, code, user_id):
        value = request.form.get("enabled") == "1"
        return self._act(code, lambda: identity.set_user_enabled(db.session, g.actor, identity_directory(), code, user_id, value))

    @expose("/<code>/<user_id>/remove", methods=("POST",))
    def remove(self, code, user_id):
        return self._act(code, lambda: identity.remove_user(db.session, g.actor, identity_directory(), code, user_id))


def views(db_):
    return [UsersView(name=_l("Users"), endpoint="users", url="users")]
