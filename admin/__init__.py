"""The Flask shell around renkei's domain packages: app factory, REST API, admin views, login.

The request is the unit of work: operations flush, and the request commits once when the
response is a success, or rolls back otherwise (see :func:`_finish_request`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from admin import config as config_module

if TYPE_CHECKING:
    from flask import Response
    from flask_openapi3 import OpenAPI

# Flask, Flask-Admin, SQLAlchemy... are imported where they are used: ``import admin`` (the
# ``renkei`` console script) stays light, so that ``renkei --help`` starts fast.
_HTML_TAG = re.compile(rb"<html>", re.IGNORECASE)


def _import_models() -> None:
    """Every table model, so that the one metadata knows every table."""
    import billing.models  # noqa: F401
    import governance.models  # noqa: F401
    import tenancy.identity.models  # noqa: F401
    import tenancy.usage.models  # noqa: F401
    import tenancy.registry.models  # noqa: F401
    import tenancy.onboarding.models  # noqa: F401


def _api_blueprints():
    """Every API blueprint, listed explicitly."""
    from admin.api import billing, governance, onboarding, tenants, usage, users

    return [module.bp for module in (tenants, users, onboarding, billing, usage, governance)]


def create_app(config_override: dict[str, Any] | None = None) -> OpenAPI:
    from flask_admin import Admin
    from flask_admin.theme import Bootstrap4Theme
    from flask_babel import lazy_gettext
    from flask_openapi3 import Info, OpenAPI

    from admin import api, auth, i18n, problems, views, wiring
    from admin.extensions import db
    from admin.views.home import HomeView
    from admin.problems import from_validation_error

    settings = config_module.from_environment()
    settings.update(config_override or {})
    config_module.check(settings)
    _import_models()
    wiring.wire()

    app = OpenAPI(
        __name__,
        info=Info(title="renkei API", version="1", description="参加団体・利用者・負担金・協定の管理 API"),
        security_schemes=api.SECURITY_SCHEMES,
        doc_prefix=api.API_PREFIX,
        doc_url="/openapi.json",
        doc_ui=True,
        validation_error_callback=from_validation_error,
    )
    app.config.update(settings)
    Path(app.config["RENKEI_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    db.init_app(app)
    i18n.init_app(app)
    problems.init_app(app)
    auth.init_app(app)
    app.before_request(_reject_malformed_json)
    app.after_request(_finish_request)
    app.teardown_request(_rollback_on_error)

    for blueprint in _api_blueprints():
        app.register_api(blueprint)

    admin_ui = Admin(
        app,
        name="renkei 連携",
        url="/admin",
        index_view=HomeView(url="/admin", name=lazy_gettext("Home")),
        theme=Bootstrap4Theme(base_template="renkei/layout.html"),
    )
    views.register(admin_ui, db)
    app.add_url_rule("/", "root", _root)

    from admin.commands import register as register_cli

    register_cli(app)
    return app


def _root():
    """The site's address leads to the admin UI (which sends anonymous visitors to the login)."""
    from flask import redirect, url_for

    return redirect(url_for("admin.index"))


def _reject_malformed_json():
    """A body that is not JSON, or not valid JSON, is a 400/415 with a message, never a 500."""
    from flask import request

    if not request.path.startswith("/api/") or request.method not in {"POST", "PUT", "PATCH"}:
        return None
    raw = request.get_data(cache=True)
    if not raw:
        return None
    from admin.problems import problem_response

    if not request.is_json:
        return problem_response(415, "Send the body as JSON with 'Content-Type: application/json'.",
                                "本文は JSON で送り、Content-Type: application/json を指定してください。")
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        where = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        return problem_response(400, f"The body is not valid JSON{where}: {error}.",
                                f"本文が正しい JSON ではありません{where}。")
    return None


def _finish_request(response: Response) -> Response:
    from flask import request
    from sqlalchemy.exc import IntegrityError

    from admin.extensions import db

    if response.status_code < 400:
        try:
            db.session.commit()
        except IntegrityError:
            from admin.problems import concurrent_change

            db.session.rollback()
            return concurrent_change()
    else:
        db.session.rollback()
    if response.mimetype == "text/html" and not request.path.startswith("/api/") and not response.direct_passthrough:
        # Flask-Admin's base template has no lang attribute; screen readers need it (JIS X 8341-3).
        from flask_babel import get_locale

        body = response.get_data()
        response.set_data(_HTML_TAG.sub(f'<html lang="{get_locale() or "ja"}">'.encode(), body, count=1))
    return response


def _rollback_on_error(error: BaseException | None) -> None:
    if error is not None:
        from admin.extensions import db

        db.session.rollback()
