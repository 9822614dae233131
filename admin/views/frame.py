"""The admin UI's frame for pages that belong to no view: error pages (400, 403, 404, 405, 500, and a
domain refusal) inside the layout, with the navigation, in the reader's language.

An error can happen before any Flask-Admin view runs (an unknown address, a refused CSRF token) or
outside /admin altogether, so the page is rendered through a hidden view of its own: it has the
navigation, the language switch and the page title like every other page, and is never in the menu.
Each page says what happened and what to do next; nothing on it is a raw code or an internal id,
except the reference number of a system error, which the operator needs to find it in the logs.
"""

from __future__ import annotations

from flask import abort, current_app, g, request, session, url_for
from flask_admin import BaseView, expose
from flask_babel import get_locale, lazy_gettext as _l

from core.errors import DomainError

# status -> (title, what happened and what to do); the 400 of a refused CSRF token has its own text
ERROR_TEXTS = {
    400: (_l("The request could not be processed"),
          _l("The request was not in a form the system accepts, so nothing was changed. "
             "Go back to the previous page, reload it and try again.")),
    401: (_l("Please sign in"),
          _l("This page is for signed-in users. Sign in and open the page again.")),
    403: (_l("You are not allowed to do this"),
          _l("You do not have the permission for this operation. "
             "Contact your organisation's administrator or the platform operator.")),
    404: (_l("Page not found"),
          _l("The page you asked for does not exist: the address may be mistyped, or the item was deleted "
             "or is not visible to you. Check the address, or start again from the home page.")),
    405: (_l("This operation is not available here"),
          _l("This page cannot be used this way (for example, a form was sent to a page that only shows "
             "information). Nothing was changed. Use the buttons on the page instead.")),
    409: (_l("This cannot be done in the current state"),
          _l("Someone may have changed the data meanwhile. Reload the page and check its current state.")),
    413: (_l("The file is too large"),
          _l("The file you sent is larger than the system accepts. Nothing was changed. Send a smaller file.")),
    422: (_l("The input has problems"),
          _l("Nothing was changed. Go back, correct the input and send it again.")),
    500: (_l("A system error occurred"),
          _l("Something went wrong on the server; nothing was changed. Try again in a moment. If it happens "
             "again, tell the platform operator the time and the reference number below.")),
    503: (_l("A connected system is not available"),
          _l("A system renkei depends on did not answer. Nothing was changed. Try again in a few minutes.")),
}
CSRF_TEXT = (_l("The form has expired"),
             _l("The form was sent without a valid security token (for example, it was open for a long time, or "
                "you signed in again meanwhile), so it was not accepted and nothing was changed. "
                "Reload the page and send the form again."))
OTHER_TEXT = (_l("An error occurred"), _l("Nothing was changed. Go back to the previous page and try again."))


class FrameView(BaseView):
    """Hidden view that renders the error pages inside the layout; never in the menu."""

    def is_visible(self) -> bool:
        return False

    def is_accessible(self) -> bool:
        return True

    @expose("/")
    def index(self):
        abort(404)


def _frame() -> FrameView | None:
    for admin_ui in current_app.extensions.get("admin", []):
        for view in admin_ui._views:
            if isinstance(view, FrameView):
                return view
    return None


def _back() -> str | None:
    """The page the reader came from, when it is one of ours (never an outside address)."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url) and referrer.rstrip("/") != request.url.rstrip("/"):
        return referrer
    return None


def _sign_in_url() -> str:
    """Sign in again and come back here; after a failed login (the callback itself), back to where it started."""
    if request.path.startswith("/auth/"):
        return url_for("auth.login", next=session.get("login_next") or url_for("admin.index"))
    return url_for("auth.login", next=request.full_path)


def render_error(status: int, *, csrf: bool = False, error: DomainError | None = None) -> tuple[str, int]:
    """The error page for ``status`` inside the layout; a domain refusal shows its own message."""
    title, advice = CSRF_TEXT if csrf else ERROR_TEXTS.get(status, OTHER_TEXT)
    ja = str(get_locale() or "ja") == "ja"
    message, problems = None, []
    if error is not None:
        message = error.message_ja if ja else error.message_en
        from admin.views.base import problem_lines

        problems = problem_lines(error, ja)
    context = dict(status=status, title=str(title), advice=str(advice), message=message, problems=problems,
                   back=_back(), home=url_for("admin.index"), signed_in=g.get("actor") is not None,
                   reference=g.get("request_id") if status >= 500 else None,
                   sign_in_url=_sign_in_url() if status == 401 else None)
    view = _frame()
    if view is None:  # no admin UI registered (cannot happen in create_app's app)
        return f"{title}: {advice}", status
    return view.render("renkei/error.html", **context), status


def views(session):
    return [FrameView(name=_l("Error"), endpoint="frame", url="_frame")]
