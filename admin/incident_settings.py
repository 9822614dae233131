"""The incident register's settings of this installation (admin/config.py): when the first report is
due, who at the prefecture receives the reports, and who signs them; read by the pages, the API and
the command line alike."""

from __future__ import annotations

from flask import current_app

from admin.extensions import db
from service.incidents import operations
from tenancy.registry.prefecture import get_settings


def first_report_hours() -> float:
    return float(current_app.config.get("RENKEI_INCIDENT_FIRST_REPORT_HOURS", operations.DEFAULT_FIRST_REPORT_HOURS))


def report_recipients() -> list[str]:
    """The prefecture's recipients of the reports: the setting, else the prefecture settings' e-mail."""
    named = [part.strip() for part in str(current_app.config.get("RENKEI_INCIDENT_REPORT_RECIPIENTS", "")).split(",")]
    named = [part for part in named if part]
    if named:
        return named
    settings = get_settings(db.session)
    return [settings.office_email] if settings is not None and settings.office_email else []


def reporter() -> str:
    return str(current_app.config.get("RENKEI_INCIDENT_REPORTER", "") or "")
