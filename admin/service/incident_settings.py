"""The incident register's settings: when the first report is due and who at the prefecture receives
the reports (the service settings the operator keeps on the prefecture settings page; the
installation's RENKEI_INCIDENT_FIRST_REPORT_HOURS and RENKEI_INCIDENT_REPORT_RECIPIENTS only until
they are set there), and who signs them (admin/config.py); read by the pages, the API and the
command line alike."""

from __future__ import annotations

from flask import current_app

from admin.extensions import db
from service import settings as service_settings
from service.incidents import operations
from tenancy.registry.prefecture import get_settings


def first_report_hours() -> float:
    saved = service_settings.current(db.session).first_report_minutes
    if saved is not None:
        return saved / 60
    return float(current_app.config.get("RENKEI_INCIDENT_FIRST_REPORT_HOURS", operations.DEFAULT_FIRST_REPORT_HOURS))


def report_recipients() -> list[str]:
    """The prefecture's recipients of the reports: the service settings', else the installation's, else the
    prefecture settings' e-mail."""
    named = service_settings.recipients_of(service_settings.current(db.session).report_recipients or "") or \
        service_settings.recipients_of(str(current_app.config.get("RENKEI_INCIDENT_REPORT_RECIPIENTS", "")))
    if named:
        return named
    settings = get_settings(db.session)
    return [settings.office_email] if settings is not None and settings.office_email else []


def reporter() -> str:
    return str(current_app.config.get("RENKEI_INCIDENT_REPORTER", "") or "")
