"""The ``renkei`` command: database, tenants, Keycloak, billing simulation and the demo.

The command groups live in :mod:`admin.commands`, one module each; the app factory adds them to
``app.cli``. This module is the entry point (``main``): a click group that knows its commands by
name and imports a command only when it runs (``renkei --help`` imports neither Flask-Admin,
SQLAlchemy nor the models, and builds no app). The app is built only by a command that asks for it
(``with_appcontext``); ``billing simulate`` and ``keycloak start|stop|status`` never do.
"""

from __future__ import annotations

import importlib

import click

from admin import jobs

# name -> ("module:attribute" of the click command, one-line help shown by ``renkei --help``), from the jobs
# table (admin/jobs.py). tests/admin/test_cli_startup.py checks that each help line is the command's own.
COMMANDS: dict[str, tuple[str, str]] = {command.name: (command.target, command.help) for command in jobs.commands()}

# commands that import not even Flask: they must run where nothing of the app can (a receipt checked
# by anyone, with no database reachable)
WITHOUT_FLASK = frozenset({"verify-receipt"})


def _create_app():
    from admin import create_app
    from admin.config import ConfigurationError

    try:
        return create_app(check_data=False)  # the commands speak for themselves (`renkei check`)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


def load_command(name: str) -> click.Command | None:
    entry = COMMANDS.get(name)
    if entry is None:
        return None
    module_name, attribute = entry[0].split(":")
    return getattr(importlib.import_module(module_name), attribute)


class LazyGroup(click.Group):
    """A group whose commands are imported when one is run, from :data:`COMMANDS`.

    Commands that need the app find a Flask ``ScriptInfo`` in the context (as under ``FlaskGroup``);
    it builds the app on first use only.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = self.commands.get(name) or load_command(name)
        if command is not None and ctx.obj is None and name not in WITHOUT_FLASK:
            from flask.cli import ScriptInfo

            ctx.obj = ScriptInfo(create_app=_create_app)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) if name in COMMANDS else (name, self.commands[name].get_short_help_str())
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
def main() -> None:
    """renkei: administration of a prefecture's shared area data platform."""


# --- demo -------------------------------------------------------------------------------------

DEMO_LOADER = "demo-loader"  # the named operator the demo's sample data is recorded as
DEMO_LOGINS = (
    # username, display name (family, given), roles, tenant
    ("operator", ("熊本県", "運営者"), ("platform-operator",), "430005"),
    ("finance", ("熊本県", "財政担当"), ("finance-officer",), None),
    # a second finance officer: the approver of a run is not the person who computed or reviewed it
    ("finance-approver", ("熊本県", "財政課長"), ("finance-officer",), None),
    ("auditor", ("熊本県", "監査担当"), ("auditor",), None),
    # the prefecture's contractors (issue 57 item 1): their people are on the prefecture's (430005) people page,
    # given and taken by the operator only; usernames are not role ids (a page showing one is not a raw code)
    ("jimukyoku", ("事務局", "受託者"), ("secretariat",), "430005"),
    ("vendor", ("運用事業者", "受託者"), ("platform-vendor",), "430005"),
    ("kumamoto-admin", ("熊本市", "管理者"), ("municipal-admin",), "431001"),
    ("yatsushiro-admin", ("八代市", "管理者"), ("municipal-admin",), "432024"),
    # the sample call's reviewers (with kumamoto-admin, whose 熊本市 is a member of a sample group: a conflict
    # renkei finds); prefecture staff
    ("reviewer", ("熊本県", "審査員"), ("municipal-staff",), "430005"),
)
# the demo logins assigned as the sample call's reviewers (competition.sample.assign_sample_reviewers)
DEMO_REVIEWERS = ("reviewer", "kumamoto-admin")


def _reset_demo_password(directory, user_id: str, username: str, password: str) -> None:
    """Give a demo login ``password`` again. Keycloak refuses a password among the account's last
    five (the realm's history policy), which is what a second run of the demo asks: then the
    password is kept when it still signs in."""
    from tenancy.identity.keycloak import password_token

    try:
        directory.admin.set_user_password(user_id, password, temporary=False)
    except Exception as error:  # python-keycloak's error, seen only through tenancy.identity.keycloak
        if "invalidPasswordHistoryMessage" not in str(error):
            raise
        try:
            password_token(directory.settings, username, password)
        except Exception:
            raise click.ClickException(
                f"{username}: Keycloak keeps its last five passwords and this one is not the current one; "
                "set another RENKEI_DEMO_PASSWORD or reset the password in Keycloak") from None


def ensure_demo_logins(password: str) -> list[tuple[str, str, str]]:
    """Create (or reset) the demo accounts; returns (username, roles, tenant) rows to print."""
    from admin.identity import identity_directory

    directory = identity_directory()
    rows = []
    for username, (family, given), roles, tenant in DEMO_LOGINS:
        found = directory.find_user(username)
        if found is None:
            user_id = directory.create_user(username, f"{username}@example.jp", given, family, password=password)
        else:
            user_id = found["id"]
            _reset_demo_password(directory, user_id, username, password)
        if tenant:
            directory.ensure_tenant_group(tenant)
            directory.add_to_tenant(user_id, tenant)
        directory.set_roles(user_id, roles, roles)
        rows.append((username, ", ".join(roles), tenant or "-"))
    return rows


if __name__ == "__main__":  # python -m admin.cli, as the renkei command
    main()
