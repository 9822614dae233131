"""`renkei keycloak start|stop|status|bootstrap`: a local Keycloak 26 without Docker, and the realm."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.commands.acting import acting
from core import authz
from core.errors import DomainError
from maintenance import keycloak_distribution, keycloak_server


@click.group("keycloak")
def group() -> None:
    """Local Keycloak (development) and the platform realm."""


def _local_settings() -> dict:
    """The Keycloak URL and admin login: from the app when one runs, else from the environment
    (start, stop and status need no database, no secret key, and build no app)."""
    from flask import current_app, has_app_context

    from admin import config as config_module

    if has_app_context():
        return current_app.config
    settings = config_module.from_environment()
    config_module.settle_defaults(settings)
    return settings


def _port_from_url(url: str) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or 8080


@group.command("start")
@click.option("--port", type=int, default=None, help="HTTP port (default: from RENKEI_KEYCLOAK_URL, else 8080).")
@click.option("--management-port", type=int, default=9000, show_default=True)
def start(port: int | None, management_port: int) -> None:
    """Download (once, into the user cache), then start Keycloak in dev mode on loopback."""
    config = _local_settings()
    port = port or _port_from_url(config["RENKEI_KEYCLOAK_URL"])
    try:
        process = keycloak_server.start(
            port=port, management_port=management_port,
            admin_user=config["RENKEI_KEYCLOAK_ADMIN_USER"],
            admin_password=config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"],
        )
        keycloak_server.admin_token(process.url, config["RENKEI_KEYCLOAK_ADMIN_USER"],
                                    config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"])
    except keycloak_distribution.KeycloakServerError as error:
        raise click.ClickException(str(error)) from None
    state = "started" if process.started else "already running"
    click.echo(f"Keycloak {keycloak_distribution.KEYCLOAK_VERSION} {state} at {process.url} (pid {process.pid}); admin token OK")


@group.command("stop")
@click.option("--port", type=int, default=None)
def stop(port: int | None) -> None:
    """Stop the local Keycloak started by `renkei keycloak start`."""
    port = port or _port_from_url(_local_settings()["RENKEI_KEYCLOAK_URL"])
    stopped = keycloak_server.stop(port)
    click.echo("Keycloak stopped" if stopped else "Keycloak was not running")


@group.command("status")
@click.option("--port", type=int, default=None)
def status(port: int | None) -> None:
    """Whether the local Keycloak runs and is healthy; exit 1 if not."""
    port = port or _port_from_url(_local_settings()["RENKEI_KEYCLOAK_URL"])
    state = keycloak_server.status(port)
    click.echo(f"running={state.running} healthy={state.healthy} pid={state.pid} url={state.url}")
    if not (state.running and state.healthy):
        raise SystemExit(1)


def settings_from_config(direct_grants: bool = False):
    import dataclasses

    from admin.identity import keycloak_settings

    config = current_app.config
    public = config.get("RENKEI_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
    return dataclasses.replace(
        keycloak_settings(),
        metering_client_secret=config.get("RENKEI_METERING_CLIENT_SECRET", ""),
        # 127.0.0.1 and localhost are one address to a browser's user: both come back
        redirect_uris=tuple(dict.fromkeys((f"{public}/*", f"{public.replace('://127.0.0.1:', '://localhost:')}/*",
                                           "http://127.0.0.1:5000/*", "http://localhost:5000/*"))),
        direct_grants=direct_grants,
    )


def _master_password(config) -> str:
    """The master administrator's password, or the refusal in words (exit status 2)."""
    from admin.config import ConfigurationError, master_admin_password

    try:
        return master_admin_password(config)
    except ConfigurationError as error:
        click.echo(f"Error: {error}", err=True)
        raise SystemExit(2) from None


def bootstrap(direct_grants: bool = False, *, require_totp: bool | None = None) -> list[str]:
    """``require_totp``: None takes RENKEI_REQUIRE_TOTP; the demo passes False (docs/identity.md)."""
    import dataclasses

    from tenancy.identity.keycloak import bootstrap_realm, master_admin

    config = current_app.config
    master = master_admin(config["RENKEI_KEYCLOAK_URL"], config["RENKEI_KEYCLOAK_ADMIN_USER"],
                          _master_password(config), "master")
    settings = settings_from_config(direct_grants)
    if require_totp is not None:
        settings = dataclasses.replace(settings, require_totp=require_totp)
    return bootstrap_realm(master, settings)


def _require_audit_log() -> None:
    """The act is recorded in the audit log: refused before Keycloak is touched when the database
    has no schema yet (`renkei db upgrade` first), so no change is ever made unrecorded."""
    import sqlalchemy as sa

    from admin.extensions import db
    from core.audit import AuditRecord

    with db.engine.connect() as connection:
        present = sa.inspect(connection).has_table(AuditRecord.__tablename__)
    if not present:
        raise click.ClickException("the database has no schema yet, so this act could not be recorded in the audit "
                                   "log: run 'renkei db upgrade' first / データベースにスキーマがありません。先に "
                                   "renkei db upgrade を実行してください（この操作は操作ログに記録されます）。")


@group.command("bootstrap")
@click.option("--direct-grants", is_flag=True, help="Allow the password grant on the admin client (development and tests only).")
@with_appcontext
@acting(authz.OPERATOR, maintenance=True)
def bootstrap_command(direct_grants: bool, actor) -> None:
    """Create the platform realm, roles, clients and mappers that are missing, and set its sign-in
    security (password policy, brute-force detection, 5-minute access tokens, admin events, TOTP
    required for operator, finance, auditor and municipal admins; the password grant of Keycloak's
    built-in clients such as admin-cli turned off). Safe to run again. Acts for a signed-in
    operator or the maintenance identity (before the realm exists nobody can sign in), audited."""
    from admin.extensions import db
    from maintenance import realm as realm_module
    from tenancy.identity.keycloak import master_admin

    config = current_app.config
    password = _master_password(config)
    _require_audit_log()
    try:
        master = master_admin(config["RENKEI_KEYCLOAK_URL"], config["RENKEI_KEYCLOAK_ADMIN_USER"], password, "master")
        changes = realm_module.bootstrap(db.session, actor, master, settings_from_config(direct_grants))
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(f"{error.message_en} / {error.message_ja}") from None
    if not changes:
        click.echo("realm up to date: no change")
    for change in changes:
        click.echo(f"created or updated: {change}")


@group.command("people-reindex")
@with_appcontext
@acting(authz.OPERATOR, maintenance=True)
def people_reindex_command(actor) -> None:
    """Rebuild the people index (what the header's search box finds people in) from Keycloak: every
    person with their tenants, replacing what the index held, in one transaction. Run it once at start
    (until then the search asks Keycloak) and whenever it may have drifted; the admin events and
    renkei's own acts keep it current in between, and `renkei jobs run-due` rebuilds it daily. Audited."""
    from admin.commands.jobs import reindex_people
    from admin.extensions import db

    try:
        outcome = reindex_people(actor)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(f"{error.message_en} / {error.message_ja}") from None
    click.echo(f"{outcome.message_ja} / {outcome.message_en}")


@group.command("service-account")
@click.argument("client_id")
@click.option("--role", "account_roles", multiple=True, required=True,
              type=click.Choice(["platform-operator", "finance-officer", "auditor", "metering-client"]),
              help="Realm role of the service account (repeatable).")
@click.option("--as", "as_user", envvar="RENKEI_ACTOR", metavar="USERNAME",
              help="The person issuing it, recorded in the audit log (development only; else who is signed in).")
@click.option("--maintenance-identity", "maintenance_identity", is_flag=True, envvar="RENKEI_MAINTENANCE_IDENTITY",
              help="Act as the host owner's maintenance identity, proven by the signing key (recorded as such).")
@with_appcontext
def service_account_command(client_id: str, account_roles: tuple[str, ...], as_user: str | None,
                            maintenance_identity: bool) -> None:
    """Issue a service account for commands run by a machine (the timers): a Keycloak client whose
    credential is printed once. Commands act for it with RENKEI_CLI_CLIENT_ID and
    RENKEI_CLI_CLIENT_SECRET; running this again for the same client gives a new secret (the old
    one stops working). Acts for a signed-in operator or the maintenance identity, audited.
    (``--role`` here is the account's role: the issuer acts as platform operator.)"""
    from admin.commands.acting import command_actor
    from admin.extensions import db
    from maintenance import realm as realm_module
    from tenancy.identity.keycloak import master_admin

    actor = command_actor(as_user, (), authz.OPERATOR, maintenance_identity)
    config = current_app.config
    password = _master_password(config)
    _require_audit_log()
    try:
        master = master_admin(config["RENKEI_KEYCLOAK_URL"], config["RENKEI_KEYCLOAK_ADMIN_USER"], password, "master")
        secret = realm_module.issue_service_account(db.session, actor, master, settings_from_config(), client_id,
                                                    account_roles)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(f"{error.message_en} / {error.message_ja}") from None
    click.echo(f"service account {client_id} ({', '.join(account_roles)}): keep this secret, it is shown once.")
    click.echo(f"RENKEI_CLI_CLIENT_ID={client_id}")
    click.echo(f"RENKEI_CLI_CLIENT_SECRET={secret}")
