"""CLI command groups of the domains that need the app (database, Keycloak), one module each; the jobs
table (admin/jobs.py) names them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a command that needs no app (verify-receipt) imports this package without Flask
    from flask import Flask


def groups():
    """Every command the app adds to ``app.cli``, from the jobs table (imported when the app is built, not when
    ``renkei`` starts)."""
    from admin import jobs

    return [command.load() for command in jobs.commands() if command.in_app]


def register(app: Flask) -> None:
    for group in groups():
        app.cli.add_command(group)
