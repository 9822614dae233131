"""CLI command groups of the domains that need the app (database, Keycloak), one module each."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a command that needs no app (verify-receipt) imports this package without Flask
    from flask import Flask


def groups():
    """Every command group, listed explicitly (imported when the app is built, not when ``renkei`` starts)."""
    from admin.commands import (audit, backup, billing, check, clients, competition, consent, datasets, db, events, incidents,
                                inquiries, jobs, keycloak, meetings, members, onboarding, progress, report, residents,
                                retention, service, signing, tenants, usage)

    return [module.group for module in (db, tenants, keycloak, onboarding, billing, usage, audit, jobs, backup, check,
                                        members, clients, signing, datasets, consent, report, retention, service,
                                        incidents, inquiries, events, progress, competition, residents, meetings)] \
        + [meetings.groups_group, backup.restore_command] + _signin_commands()


def _signin_commands():
    from admin.commands import signin

    return [signin.login_command, signin.logout_command]


def register(app: Flask) -> None:
    for group in groups():
        app.cli.add_command(group)
