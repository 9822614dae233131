"""The secure base of every admin view, and Flask-Admin's adapter for SQLModel columns.

Flask-Admin views are open by default; here every view asks :mod:`core.authz` for an action
(``required_action``). Anonymous users are redirected to the login; signed-in users without the
grant get 403. Views are read-only: changes go through custom actions that call operations, so
audit records and invariants (ledger, lifecycle) are never bypassed by Flask-Admin's own
``create_model``/``update_model`` commits.

Every POST to a view takes one path, modelled on Indico's ``RH.process`` (``indico/web/rh.py``):

1. :meth:`SecureMixin._handle_view` refuses (400) a POST without the session's CSRF token, before
   the view runs; every form sends it with ``{{ csrf_field() }}``. This is the only CSRF mechanism.
2. The view parses its form and hands the operation to :func:`post_action`, which calls it,
3. leaves the commit to the request: a successful response (the redirect or the page) is committed
   once by ``admin._finish_request``; views never commit,
4. flashes the view's success message,
5. or, when the operation raises a :class:`~core.errors.DomainError`, rolls back, shows the error
   and its field problems in the reader's language, and redirects back or shows the form again.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, g, redirect, request, session, url_for
from flask_admin import BaseView
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterConverter
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model.filters import convert
from flask_admin.model.form import converts
from flask_babel import get_locale, gettext
from markupsafe import Markup
from werkzeug.exceptions import BadRequest

from admin.extensions import db
from core import authz
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.errors import DomainError
from core.validation import INT32_MAX, whole_number

T = TypeVar("T")

CSRF_FIELD = "csrf_token"
_CSRF_SESSION_KEY = "csrf"


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


def csrf_token() -> str:
    """The session's CSRF token, made on first use."""
    if _CSRF_SESSION_KEY not in session:
        session[_CSRF_SESSION_KEY] = secrets.token_urlsafe(24)
    return session[_CSRF_SESSION_KEY]


def csrf_field() -> Markup:
    """The hidden field every admin form sends (``{{ csrf_field() }}`` in a template)."""
    return Markup('<input name="{}" type="hidden" value="{}">').format(CSRF_FIELD, csrf_token())


class CsrfRefused(BadRequest):
    """A POST without the session's CSRF token: a 400 whose page says the form expired (admin/views/frame.py)."""

    csrf = True


def check_csrf() -> None:
    """Refuse (400) a request whose form does not carry the session's CSRF token."""
    sent, expected = request.form.get(CSRF_FIELD, ""), session.get(_CSRF_SESSION_KEY, "")
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        raise CsrfRefused()


def _ja() -> bool:
    return str(get_locale() or "ja") == "ja"


# --- numbers people type: one rule (core.validation.whole_number) ------------------------------------
#
# Every whole number a view reads from a query parameter or a form field goes through these: ASCII
# digits only ("²", "٣" and "1_000" are not numbers, though ``str.isdigit()`` or ``int()`` take them),
# within the column's range. Never ``text.isdigit()`` then ``int(text)``: the pair let "²" through to
# ``int()`` and answered 500.

def typed_number(text: str | None, *, low: int = 0, high: int = INT32_MAX) -> int | None:
    """The whole number typed in ``text`` (spaces around it ignored) if it lies in ``low..high``, else None."""
    number = whole_number((text or "").strip(), max_digits=len(str(high)))
    return number if number is not None and low <= number <= high else None


def typed_id(text: str | None) -> int | None:
    """The id of a row typed or picked in ``text`` (1..2^31-1, what an id column holds), else None."""
    return typed_number(text, low=1)


def query_number(name: str, *, low: int = 0, high: int = INT32_MAX, default: int | None = None) -> int | None:
    """The query parameter ``name`` as a whole number in ``low..high``; ``default`` when it is absent or
    empty; 400 when it is anything else (the page's filter refused, not guessed)."""
    text = request.args.get(name)
    if text is None or not text.strip():
        return default
    number = typed_number(text, low=low, high=high)
    if number is None:
        abort(400)
    return number


def query_fiscal_year(name: str, default: int) -> int:
    """The fiscal year asked for in the query parameter ``name`` (a supported year, core.calendar), else
    ``default`` when absent; 400 for anything else."""
    year = query_number(name, low=FIRST_FISCAL_YEAR, high=LAST_FISCAL_YEAR, default=default)
    return default if year is None else year


def problem_label(field: str | None) -> str:
    """The words for a problem's field path (``params.policy_id``, ``rows[3].username``): the label of
    its last name in the reader's language when the label table knows it, else nothing (a person
    is never shown the internal path)."""
    import re

    from governance.audit import AUDIT_FIELD_LABELS_JA

    names = [name for name in re.split(r"[.\[\]]+", field or "") if name and not name.isdigit()]
    if not names or names[-1] not in AUDIT_FIELD_LABELS_JA:
        return ""
    return AUDIT_FIELD_LABELS_JA[names[-1]] if _ja() else names[-1].replace("_", " ").capitalize()


def flash_error(error: DomainError) -> None:
    """A refusal in the reader's language, then one line per problem no form field took: its
    field's label when known (「ユーザー名: 必須項目です。」), never the internal field path."""
    ja = _ja()
    message = error.message_ja if ja else error.message_en
    flash(message, "error")
    listed, total = error.details.get("errors_listed"), error.details.get("errors_total")
    if isinstance(listed, int) and isinstance(total, int) and listed < total:  # a file check lists only the first
        flash(f"最初の {listed:,} 件を表示（全 {total:,} 件）" if ja else f"Showing the first {listed:,} of {total:,}.", "error")
    for line in problem_lines(error, ja, besides=message):
        flash(line, "error")


def problem_lines(error: DomainError, ja: bool, *, besides: str | None = None) -> list[str]:
    """Each problem of the refusal as a line in the reader's language, its field's label first when
    known (「ユーザー名: 必須項目です。」); a problem without words, or saying ``besides`` again, is left out."""
    lines = []
    for item in error.problems:
        text = item.get("message_ja") if ja else item.get("message_en")
        if text and text != besides:
            label = problem_label(item.get("field"))
            lines.append(f"{label}: {text}" if label else text)
    return lines


def post_action(operation: Callable[[], T], *, back: str | None = None,
                saved: str | Callable[[T], str] | None = None,
                done: Callable[[T], Any] | None = None, failed: Callable[[], Any] | None = None):
    """Call one operation for a POST (the CSRF token was checked before the view ran).

    On success, flash ``saved`` (a message, or a function of the operation's result) and return
    ``done(result)``, or a redirect to ``back``; the request commits once after the response.
    On a :class:`DomainError`, roll back, show it, and return ``failed()`` (the form again, with
    what was typed) or a redirect to ``back``.
    """
    try:
        result = operation()
    except DomainError as error:
        db.session.rollback()
        flash_error(error)
        return failed() if failed is not None else redirect(back)
    message = saved(result) if callable(saved) else saved
    if message:
        flash(message, "success")
    return done(result) if done is not None else redirect(back)


def submit_then_show(operation: Callable[[], Any], back: str):
    """A contractor's page submits its document to the prefecture (``operation`` gives the version,
    :mod:`governance.submissions`): on success the submission's page, else back (the progress report's page, the
    service's monthly reports)."""
    return post_action(operation, saved=lambda version: gettext("Submitted to the prefecture as version %(number)s.",
                                                                number=version.number),
                       done=lambda version: redirect(url_for("submissions.detail", submission_id=version.submission_id)),
                       back=back)


def apply_problems(form, error: DomainError, fields: dict[str, str] | None = None,
                   messages: dict[str, str] | None = None) -> list[dict]:
    """Put each field problem of ``error`` beside its field of the WTForms ``form``, in the reader's language.

    A problem's ``field`` names a form field directly, or through ``fields`` (a problem field, or
    a prefix of one such as ``params.change``, → a form field name). ``messages`` replaces the
    domain's text for a form field (e.g. 「按分方式を選んでください。」 for the policy picker).
    The problems placed are removed from ``error.problems``, so :func:`flash_error` (called by
    :func:`post_action`) then shows the refusal and only what no field could take; those are returned.
    """
    ja, fields, messages = _ja(), fields or {}, messages or {}
    left = []
    for item in error.problems:
        name = item.get("field", "")
        target = fields.get(name) or next((to for prefix, to in fields.items()
                                           if name.startswith(prefix + ".") or name.startswith(prefix + "[")), None)
        target = target or name
        field = form._fields.get(target) if hasattr(form, "_fields") else None
        if field is None:
            left.append(item)
            continue
        text = messages.get(target) or (item["message_ja"] if ja else item["message_en"])
        field.errors = [*list(field.errors or []), text] if text not in (field.errors or []) else list(field.errors)
    error.problems = left
    return left


def with_problems_beside_fields(form, operation: Callable[[], T], fields: dict[str, str] | None = None,
                                messages: dict[str, str] | None = None) -> Callable[[], T]:
    """``operation``, whose refusal first puts its field problems beside the form's fields
    (:func:`apply_problems`); :func:`post_action` then shows the rest and the form again."""
    def run():
        try:
            return operation()
        except DomainError as error:
            apply_problems(form, error, fields, messages)
            raise
    return run


def confirm_first(view, *, title: str, consequence: str, confirm_label: str, back: str):
    """The confirmation step of an irreversible act (approve, reverse, remove, withdraw, ...).

    Returns the confirmation page, which states ``consequence`` and posts the same form again with
    ``confirmed=1``, unless this POST already carries that; then it returns None and the caller
    goes on to :func:`post_action`. Nothing is written before the person confirms.
    """
    if request.form.get("confirmed") == "1":
        return None
    fields = [(name, value) for name, values in request.form.lists() if name not in (CSRF_FIELD, "confirmed")
              for value in values]
    return view.render("renkei/confirm.html", title=title, consequence=consequence, confirm_label=confirm_label,
                       action=request.path, fields=fields, back=back)


class SecureMixin:
    required_action: str = "tenant.read"

    def is_accessible(self) -> bool:
        return _signed_in() and authz.allowed(g.actor, self.required_action)

    def inaccessible_callback(self, name, **kwargs):
        if not _signed_in():
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    def _handle_view(self, name, **kwargs):
        refused = super()._handle_view(name, **kwargs)
        if refused is None and request.method == "POST":
            check_csrf()
        return refused

    def render(self, template, **kwargs):
        return super().render(template, csrf_field=csrf_field, **kwargs)

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


def tenants_for(action: str) -> list[tuple[str, str]]:
    """The tenants (municipalities) whose people the reader may act for under ``action``."""
    from tenancy.registry.models import Tenant

    grant = authz.grant_for(g.actor, action)
    if grant is None:
        return []
    query = db.session.query(Tenant.code, Tenant.name_ja, Tenant.name_en).order_by(Tenant.code)
    if not grant.all_tenants:
        query = query.filter(Tenant.code.in_(sorted(grant.tenant_codes)))
    return [(code, f"{ja if _ja() else (en or ja)}（{code}）") for code, ja, en in query]


# --- a file uploaded and checked row by row (the tenant registry's import, the members' import) -------------

MAX_UPLOAD = 20 * 1024 * 1024  # a registry of every municipality in Japan is well under 1 MB


def file_line(field: str) -> str:
    """「5」 from ``line 5: code`` (the line of the file a problem is on), else the field as it is."""
    found = re.match(r"line (\d+)", field)
    return found.group(1) if found else field
