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

# name -> ("module:attribute" of the click command, one-line help shown by ``renkei --help``).
# tests/admin/test_cli_startup.py checks that each help line is the command's own.
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("admin.commands.audit:group", "The audit log (操作ログ): verification, export, retention."),
    "backup": ("admin.commands.backup:group",
               "Write one archive: database, Keycloak realm, audit chain head, manifest with checksums."),
    "billing": ("admin.commands.billing:group", "Cost allocation (按分計算) tools."),
    "check": ("admin.commands.check:group", "Check the whole system; exit 1 naming the first problem."),
    "clients": ("admin.commands.clients:group", 'API clients of tenants: create, list, rotate the secret, revoke.'),
    "competition": ("admin.commands.competition:group",
                    "The data-utilisation project competition (企画コンペ): calls, questions, declarations, proposals."),
    "consent": ("admin.commands.consent:group",
                "Personal data by consent (本人同意・連携記録): services, histories, linkage records, chains."),
    "datasets": ("admin.commands.datasets:group", "The dataset register (データセット台帳) and the standard datasets' coverage."),
    "db": ("admin.commands.db:group", "Database schema (Alembic migrations)."),
    "demo": ("admin.commands.demo:demo",
             "The main job on a developer machine: Keycloak, database, Kumamoto sample data, demo logins, server."),
    "events": ("admin.commands.events:group", "Events, seminars, community meetings and training (イベント・セミナー・研修)."),
    "groups": ("admin.commands.meetings:groups_group",
               "The data-utilisation community and working groups (コミュニティ・ワーキンググループ)."),
    "gateway": ("admin.commands.gateway:group", "The API gateway (nginx in front of the platform's APIs)."),
    "inquiries": ("admin.commands.inquiries:group", "Inquiries to the secretariat (問合せ窓口)."),
    "meetings": ("admin.commands.meetings:group", "Meetings and minutes (会議・議事録)."),
    "jobs": ("admin.commands.jobs:group", "Periodic jobs (定期処理)."),
    "keycloak": ("admin.commands.keycloak:group", "Local Keycloak (development) and the platform realm."),
    "login": ("admin.commands.signin:login_command",
              "Sign in at Keycloak; the following commands act for you until you log out or stay idle too long."),
    "logout": ("admin.commands.signin:logout_command",
               "End the command line's sign-in session: Keycloak's session ends and the kept tokens are deleted."),
    "incidents": ("admin.commands.incidents:group",
                  "The incident register (障害台帳): incidents, their timeline and the reports to the prefecture."),
    "members": ("admin.commands.members:group", 'Consortium members: organisations (by corporate number) and municipalities.'),
    "onboarding": ("admin.commands.onboarding:group", "Onboarding and offboarding of municipalities (参加・脱退の手続き)."),
    "progress": ("admin.commands.progress:group",
                 "The secretariat's schedule, progress and issues (年間予定・進捗・課題) and the monthly report."),
    "report": ("admin.commands.report:group", "Documents made from the records (年度報告書)."),
    "residents": ("admin.commands.residents:group",
                  "The residents' side (住民の共通ID・暗号鍵・確認待ち): the key, its rotation, the review queue."),
    "restore": ("admin.commands.backup:restore_command",
                "Restore an archive into an EMPTY database and recreate the Keycloak realm, then check the result."),
    "retention": ("admin.commands.retention:group",
                  "How long records are kept (保存期間): the table, what is due for disposal, a closed year's archive."),
    "routes": ("flask.cli:routes_command", "Show the routes for the app."),
    "run": ("flask.cli:run_command", "Run a development server."),
    "shell": ("flask.cli:shell_command", "Run a shell in the app context."),
    "service": ("admin.commands.service:group",
                "Running the platform: availability, planned maintenance (稼働監視・計画メンテナンス)."),
    "signing-key": ("admin.commands.signing:group", "The key that signs backups and audit checkpoints (署名鍵)."),
    "tenants": ("admin.commands.tenants:group", "The tenant registry."),
    "usage": ("admin.commands.usage:group", "Usage metering and quotas (利用実績・利用上限)."),
    "verify-receipt": ("admin.commands.receipts:verify_receipt_command",
                       "Check a printed receipt (or a resident's download) without a database."),
}

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
