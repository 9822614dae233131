"""Imported by the fork server of tests/renkei_processes.py: every module a renkei process imports when it
builds its app or runs a command (``renkei gateway fold``, ``renkei login``...), so that each process
forked from the server starts with them imported. Importing this module builds no app, opens no
database and reads no setting: the children do that, each from its own environment. The chart library
a serving process warms up after its first request (admin:_warm_charts_when_serving) is warmed here."""

from __future__ import annotations

import importlib

from admin import jobs


def _preload() -> None:
    targets = [*jobs.model_modules(), *jobs.api_modules(), *jobs.view_modules(),
               *(target.split(":")[0] for target in jobs.blueprints()),
               *(command.module for command in jobs.commands()),
               "admin", "admin.cli", "admin.api", "admin.auth", "admin.edge", "admin.i18n", "admin.problems",
               "admin.request_log", "admin.security_headers", "admin.views", "admin.views.charts", "admin.views.home",
               "admin.wiring", "admin.extensions", "admin.api.contract", "admin.commands",
               "admin.service.gateway_calls",
               "flask_admin", "flask_admin.theme", "flask_openapi3", "flask.cli", "werkzeug.serving",
               "bench.local_token", "usage.call_log", "tests.renkei_processes", "tests.usage.gateway_worker"]
    for module in targets:
        importlib.import_module(module)
    from usage import reports

    reports.warm_up()


_preload()
