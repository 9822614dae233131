"""The secure base of every admin view, and Flask-Admin's adapter for SQLModel columns.

Flask-Admin views are open by default; here every view asks :mod:`core.authz` for an action
(``required_action``). Anonymous users are redirected to the login; signed-in users without the
grant get 403. Views are read-only: changes go through custom actions that call operations, so
audit records and invariants (ledger, lifecycle) are never bypassed by Flask-Admin's own
``create_model``/``update_model`` commits.
"""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterConverter
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model.filters import convert
from flask_admin.model.form import converts
from flask_babel import get_locale

from core import authz
from core.errors import DomainError


class SQLModelFormConverter(AdminModelConverter):
    @converts("AutoString")
    def conv_auto_string(self, column, field_args, **extra):
        return self.conv_String(column=column, field_args=field_args, **extra)


class SQLModelFilterConverter(FilterConverter):
    @convert("autostring")
    def conv_auto_string(self, column, name, **kwargs):
        return self.conv_string(column, name, **kwargs)


def _signed_in() -> bool:
    return g.get("actor") is not None


class SecureMixin:
    required_action: str = "tenant.read"

    def is_accessible(self) -> bool:
        return _signed_in() and authz.allowed(g.actor, self.required_action)

    def inaccessible_callback(self, name, **kwargs):
        if not _signed_in():
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    def is_visible(self) -> bool:
        return _signed_in() and authz.allowed(g.actor, self.required_action)

    @property
    def grant(self) -> authz.Grant:
        return authz.authorize(g.actor, self.required_action)


class SecureModelView(SecureMixin, ModelView):
    """Read-only list and details of a SQLModel table, scoped to the actor's tenants."""

    model_form_converter = SQLModelFormConverter
    filter_converter = SQLModelFilterConverter()
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    page_size = 50
    tenant_code_column: str | None = None  # a column holding a tenant code, to scope the list

    def _scoped(self, query):
        if self.tenant_code_column is None or self.grant.all_tenants:
            return query
        column = getattr(self.model, self.tenant_code_column)
        return query.filter(column.in_(sorted(g.actor.tenant_codes)))

    def get_query(self):
        return self._scoped(super().get_query())

    def get_count_query(self):
        return self._scoped(super().get_count_query())

    def get_one(self, id):
        record = super().get_one(id)
        if record is not None and self.tenant_code_column and not self.grant.all_tenants:
            if getattr(record, self.tenant_code_column) not in g.actor.tenant_codes:
                abort(404)
        return record


class SecureView(SecureMixin, BaseView):
    pass


class HomeView(AdminIndexView):
    """The landing page: who is signed in, and what they may do."""

    def is_accessible(self) -> bool:
        return _signed_in()

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    @expose("/")
    def index(self):
        actor = g.actor
        return self.render(
            "renkei/home.html",
            actor=actor,
            role_labels=[authz.ROLE_LABELS_JA.get(r, r) for r in sorted(actor.roles)],
            locale=str(get_locale()),
        )


def domain_error_page(error: DomainError):
    from admin.problems import STATUS_BY_KIND

    status = STATUS_BY_KIND.get(error.kind, 400)
    return render_template("renkei/error.html", error=error, status=status), status
