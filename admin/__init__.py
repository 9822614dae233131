"""The Flask shell around renkei's domain packages: app factory, REST API, admin views, login.

The request is the unit of work: operations flush, and the request commits once when the
response is a success, or rolls back otherwise (see :func:`_finish_request`).
"""

from __future__ import annotations

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
    """Every table model (the jobs table names their modules), so that the one metadata knows every table."""
    import importlib

    from admin import jobs

    for module in jobs.model_modules():
        importlib.import_module(module)


def _api_blueprints():
    """Every API blueprint, in the jobs table's order (admin/jobs.py)."""
    import importlib

    from admin import jobs

    return [importlib.import_module(module).bp for module in jobs.api_modules()]


def _register_blueprints(app) -> None:
    """The jobs' pages outside the console and the REST API (admin/jobs.py): each a Flask blueprint, or the
    ``init_app`` that registers one with its route modules (the residents' portal)."""
    import importlib

    from flask import Blueprint

    from admin import jobs

    for target in jobs.blueprints():
        module, attribute = target.split(":")
        served = getattr(importlib.import_module(module), attribute)
        if isinstance(served, Blueprint):
            app.register_blueprint(served)
        else:
            served(app)


def _logging(app) -> None:
    """Every log record carries the request id of its request or job run (core/request_context.py);
    outside the tests, with no logging set up by the host, records go to standard error in
    :data:`core.request_context.LOG_FORMAT` from ``RENKEI_LOG_LEVEL`` (default WARNING) up."""
    import logging

    from core import request_context

    request_context.install_log_records()
    root = logging.getLogger()
    if app.config.get("RENKEI_ENV") != "testing" and not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(request_context.LOG_FORMAT))
        root.addHandler(handler)
        root.setLevel(str(app.config.get("RENKEI_LOG_LEVEL", "WARNING")).upper())


def create_app(config_override: dict[str, Any] | None = None, *, check_data: bool = True) -> OpenAPI:
    """The app. ``check_data``: check at the start what the database holds against the settings (the residents'
    key ring against their stored items: :func:`admin.config.check_resident_data`). The ``renkei`` commands'
    app (admin.cli) does not: `renkei check` names the problem, `renkei backup` must still run."""
    from flask_admin import Admin
    from flask_admin.theme import Bootstrap4Theme
    from flask_babel import lazy_gettext
    from flask_openapi3 import Info

    from admin import api, auth, edge, i18n, problems, request_log, security_headers, views, wiring
    from admin.views import charts as chart_pages
    from admin.extensions import db
    from admin.views.home import HomeView
    from admin.problems import from_validation_error

    settings = config_module.from_environment()
    settings.update(config_override or {})
    config_module.settle_defaults(settings)
    config_module.check(settings)
    if settings["RENKEI_API_OPEN_FOR_DEVELOPMENT"]:
        config_module.warn_open_api()
    config_module.warn_no_checkpoint_copy(settings)
    _import_models()
    wiring.wire()

    app = edge.StrictOpenAPI(  # flask-openapi3's app; every operation reads its query and body by the edge's rules
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
    from core import csvfile, db as core_db

    core_db.SQLITE_BUSY_SECONDS = app.config["RENKEI_SQLITE_BUSY_SECONDS"]  # SQLite waits for its lock, not a 500
    csvfile.MAX_PROBLEMS_LISTED = app.config["RENKEI_MAX_PROBLEMS_LISTED"]  # the one setting of every file check
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    _logging(app)
    db.init_app(app)
    if check_data:
        config_module.check_resident_data(app)  # a key ring that cannot read the residents' items: refused
    i18n.init_app(app)
    chart_pages.init_app(app)
    problems.init_app(app)
    security_headers.init_app(app)  # CSP, nosniff, referrer, HSTS over TLS: on every response
    request_log.init_app(app)  # before the others: its after-request runs last and logs the final status
    auth.init_app(app)
    edge.install(app)  # strict int converter, request class (JSON) and text checks: before any route
    app.after_request(_finish_request)
    app.teardown_request(_rollback_on_error)

    for blueprint in _api_blueprints():
        app.register_api(blueprint)
    from admin.api import contract

    contract.install(app)  # what every operation shares: problem+json errors, codes' patterns

    admin_ui = Admin(
        app,
        name="renkei 連携",
        url="/admin",
        index_view=HomeView(url="/admin", name=lazy_gettext("Home")),
        theme=Bootstrap4Theme(base_template="renkei/layout.html"),
        csp_nonce_generator=security_headers.nonce,  # Flask-Admin's own <script> tags carry the request's nonce
    )
    views.register(admin_ui, db)
    from admin import static_files

    static_files.install(app)  # static addresses carry their file's hash, kept a year by browsers
    from admin.views.search import search_box_shown

    app.add_template_global(search_box_shown)  # the header's search box (renkei/layout.html)
    from admin.menu import sections_for

    app.add_template_global(sections_for, "menu_sections")  # the side bar (renkei/_menu.html)
    app.add_url_rule("/", "root", _root)
    _register_blueprints(app)  # the pages outside the console and the REST API (the jobs table names them)
    if app.config["RENKEI_ENV"] == "development":
        from admin import devmail

        app.register_blueprint(devmail.blueprint)  # /dev/mail: the demo's caught mail (404 unless the demo set it up)

    from admin.commands import register as register_cli

    register_cli(app)
    problems.install_retry(app)  # a read that met a dropped database connection is tried once more
    edge.install_body_limit(app)  # bodies over MAX_CONTENT_LENGTH refused as they arrive, on every route
    from admin import proxies

    proxies.install(app)  # outermost: forwarded headers believed only from RENKEI_TRUSTED_PROXIES (by address)
    if not app.testing:
        settle_heap()
        _warm_charts_when_serving(app)
    return app


# The collector's thresholds in a serving process (Python's are 700, 10, 10): a national page or download makes
# tens of thousands of short-lived containers, and with the start-up heap frozen (below) the default thresholds ran a
# full pass over what requests built up (templates, compiled queries, the chart library) about every half second,
# 80-200 ms each: 137 full passes in 80 s of bench_pages as the auditor, the what-if page's p95 146 ms where its p50
# is 57 ms. With these: one full pass in the same run, p95 58 ms; the process holds at most ~50,000 more containers
# before a cycle of garbage is freed (a few MB).
SERVING_GC_THRESHOLDS = (50_000, 20, 20)


def settle_heap() -> None:
    """What a serving process does with its heap once started (create_app outside testing; the benchmarks that time
    pages as served): what start-up built lives as long as the process, so it is kept out of the collector's full
    passes (frozen), which otherwise stop a request for a quarter of a second now and then; and the collector runs
    at :data:`SERVING_GC_THRESHOLDS`."""
    import gc

    gc.freeze()
    gc.set_threshold(*SERVING_GC_THRESHOLDS)


WARM_THREAD_NAME = "renkei-warm-charts"


def _warm_charts_when_serving(app) -> None:
    """The first usage chart of a process would wait about a second for matplotlib: the first
    request the app serves starts importing it in a background thread instead. Only an app that
    serves gets there (gunicorn, ``renkei run``): the other commands build the app, serve no
    request and never import it. After the import, the new objects are kept out of the
    collector's full passes too, as the start-up heap is."""
    import threading

    lock, started = threading.Lock(), []

    def warm() -> None:
        import gc
        import logging

        try:
            from usage import reports

            reports.warm_up()
        except Exception:  # the first chart then imports it itself, and reports what fails
            logging.getLogger(__name__).warning("warming the chart library failed", exc_info=True)
            return
        gc.freeze()

    def start_warming() -> None:
        if started:
            return
        with lock:
            if started:
                return
            started.append(True)
        threading.Thread(target=warm, name=WARM_THREAD_NAME, daemon=True).start()

    app.before_request(start_warming)


def _root():
    """The site's address leads to the admin UI (which sends anonymous visitors to the login)."""
    from flask import redirect, url_for

    return redirect(url_for("admin.index"))


def _finish_request(response: Response) -> Response:
    from flask import request
    from sqlalchemy.exc import DataError, IntegrityError

    from admin.extensions import db

    if not db.session.registry.has():
        pass  # the request never opened a session (a read on a connection of its own, the quota check)
    elif response.status_code < 400:
        try:
            db.session.commit()
        except IntegrityError as error:
            from admin.problems import integrity_response

            db.session.rollback()
            return integrity_response(error)
        except DataError as error:  # a value its column cannot hold, met at the commit (the audit record's append)
            from flask import make_response

            from admin.problems import out_of_range_response

            return make_response(out_of_range_response(error))
        except Exception as error:  # a connection lost at the commit: 503, nothing known to be saved
            from admin.problems import database_unavailable
            from core.db import is_transient

            if not is_transient(error):
                raise
            try:
                db.session.rollback()
            except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
                pass
            return database_unavailable()
    else:
        db.session.rollback()
    if response.mimetype == "text/html" and not request.path.startswith("/api/") and not response.direct_passthrough:
        # Flask-Admin's base template has no lang attribute; screen readers need it (JIS X 8341-3).
        from flask_babel import get_locale

        from admin.security_headers import without_inline_script

        body = without_inline_script(response.get_data())  # runs under the Content-Security-Policy
        response.set_data(_HTML_TAG.sub(f'<html lang="{get_locale() or "ja"}">'.encode(), body, count=1))
    return response


def _rollback_on_error(error: BaseException | None) -> None:
    if error is not None:
        from admin.extensions import db

        db.session.rollback()
