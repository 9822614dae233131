"""The ``renkei`` command: database, tenants, Keycloak, billing simulation and the demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from admin.extensions import db
from core.errors import DomainError
from core.actor import system_actor


def _create_app():
    from admin import create_app
    from admin.config import ConfigurationError

    try:
        return create_app()
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, add_version_option=False)
def main() -> None:
    """renkei: administration of a prefecture's shared area data platform."""


def fail(error: DomainError) -> None:
    click.echo(f"エラー: {error.message_ja}", err=True)
    click.echo(f"Error: {error.message_en}", err=True)
    for item in error.problems:
        click.echo(f"  {item['field']}: {item['message_ja']} / {item['message_en']}", err=True)
    sys.exit(2 if error.kind == "invalid" else 1)


# --- database --------------------------------------------------------------------------------

@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


def alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", current_app.config["SQLALCHEMY_DATABASE_URI"].replace("%", "%%"))
    return cfg


def upgrade_database(revision: str = "head") -> None:
    from alembic import command

    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(), revision)


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    upgrade_database(revision)
    click.echo(f"database at {revision}")


# --- tenants ---------------------------------------------------------------------------------

@click.group("tenants")
def tenants_group() -> None:
    """The tenant registry."""


@tenants_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def tenants_import(file: Path) -> None:
    """Import tenants from a CSV file (UTF-8 or CP932; Japanese or English headers). All or nothing."""
    from tenancy.registry.importing import import_csv

    try:
        result = import_csv(db.session, system_actor("cli"), file.read_bytes())
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        fail(error)
    click.echo(f"{len(result.created)} 件を登録しました / imported {len(result.created)} tenant(s)")


@tenants_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--english-headers", is_flag=True, help="CSV headers in English instead of Japanese.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
def tenants_export(fmt: str, english_headers: bool, output: Path | None) -> None:
    """Export the registry as CSV (UTF-8 with BOM, for Excel) or JSON."""
    from tenancy.registry.importing import export_csv, export_json
    from tenancy.registry.operations import list_tenants

    tenants, _ = list_tenants(db.session, per_page=1_000_000)
    data = export_csv(tenants, japanese_headers=not english_headers) if fmt == "csv" else (export_json(tenants) + "\n").encode()
    if output:
        output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


@tenants_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--status")
@with_appcontext
def tenants_list(as_json: bool, status: str | None) -> None:
    """List registered tenants."""
    from tenancy.registry.models import TenantStatus
    from tenancy.registry.operations import list_tenants, summary

    tenants, _ = list_tenants(db.session, status=TenantStatus(status) if status else None, per_page=1_000_000)
    if as_json:
        click.echo(json.dumps([summary(t) for t in tenants], ensure_ascii=False, indent=2))
        return
    for t in tenants:
        click.echo(f"{t.code}  {t.name_ja}\t{t.kind.value}\t{t.population:>9,}\t{t.status.value}\t{t.wave_fiscal_year or ''}")


@tenants_group.command("load-sample")
@with_appcontext
def tenants_load_sample() -> None:
    """Load the Kumamoto sample tenants (prefecture, wave 1 active, wave 2 applied)."""
    from tenancy.registry.sample import load_kumamoto

    created = load_kumamoto(db.session, system_actor("sample-loader"))
    db.session.commit()
    click.echo(f"{len(created)} sample tenant(s) registered")


def register(app: Flask) -> None:
    from admin.commands import groups

    for group in (db_group, tenants_group, *groups()):
        app.cli.add_command(group)


def _register_standalone() -> None:
    """Groups whose commands may run without the app (``billing simulate`` needs no database or
    configuration); their database commands load the app themselves (with_appcontext)."""
    from admin.commands import billing

    main.add_command(billing.group)


_register_standalone()


# --- demo -------------------------------------------------------------------------------------

DEMO_LOGINS = (
    # username, display name (family, given), roles, tenant
    ("operator", ("熊本県", "運営者"), ("platform-operator",), "430005"),
    ("finance", ("熊本県", "財政担当"), ("finance-officer",), None),
    ("auditor", ("熊本県", "監査担当"), ("auditor",), None),
    ("kumamoto-admin", ("熊本市", "管理者"), ("municipal-admin",), "431001"),
    ("yatsushiro-admin", ("八代市", "管理者"), ("municipal-admin",), "432024"),
)


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
            directory.admin.set_user_password(user_id, password, temporary=False)
        if tenant:
            directory.ensure_tenant_group(tenant)
            directory.add_to_tenant(user_id, tenant)
        directory.set_roles(user_id, roles, roles)
        rows.append((username, ", ".join(roles), tenant or "-"))
    return rows


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--serve/--no-serve", default=True, help="Serve the app after preparing it.")
@with_appcontext
def demo(host: str, port: int, serve: bool) -> None:
    """The main job on a developer machine: Keycloak, database, Kumamoto sample data, demo logins, server."""
    import os

    from admin.commands.keycloak import bootstrap
    from admin import keycloak_server
    from tenancy.registry.models import TenantStatus
    from tenancy.registry.operations import list_tenants
    from tenancy.registry.sample import load_kumamoto

    config = current_app.config
    if config["RENKEI_ENV"] != "development":
        raise click.ClickException("renkei demo runs only with RENKEI_ENV=development (it creates known passwords).")
    url = config["RENKEI_KEYCLOAK_URL"]
    if not keycloak_server.answers(url):
        click.echo(f"starting Keycloak {keycloak_server.KEYCLOAK_VERSION} (first run downloads it into the user cache)…")
        from admin.commands.keycloak import _port_from_url

        keycloak_server.start(port=_port_from_url(url), admin_user=config["RENKEI_KEYCLOAK_ADMIN_USER"],
                              admin_password=config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"])
    changes = bootstrap(direct_grants=True)
    click.echo(f"Keycloak realm {config['RENKEI_KEYCLOAK_REALM']}: {len(changes)} change(s)"
               + (f" ({'; '.join(changes)})" if changes and len(changes) < 5 else ""))
    upgrade_database()
    from tenancy.usage.quotas import load_default_plans

    created = load_kumamoto(db.session, system_actor("demo"))
    plans = load_default_plans(db.session, system_actor("demo"))
    db.session.commit()
    active, _ = list_tenants(db.session, status=TenantStatus.active, per_page=1000)
    from admin.identity import identity_directory

    for tenant in active:
        identity_directory().ensure_tenant_group(tenant.code, tenant.name_ja)
    click.echo(f"sample data: {len(created)} tenant(s) added, {len(active)} active; {len(plans)} quota plan(s) added")
    password = os.environ.get("RENKEI_DEMO_PASSWORD", "renkei-demo")
    rows = ensure_demo_logins(password)
    base = f"http://{host}:{port}"
    click.echo("")
    click.echo(f"renkei is ready: admin UI {base}/admin   API {base}/api/v1/tenants   OpenAPI {base}/api/v1/openapi.json")
    click.echo(f"demo logins (password for all: {password}; development only):")
    for username, roles, tenant in rows:
        click.echo(f"  {username:<18} {roles:<20} tenant {tenant}")
    click.echo(f"API token for curl: curl -s -d grant_type=password -d client_id={config['RENKEI_OIDC_CLIENT_ID']} "
               f"-d client_secret={config['RENKEI_OIDC_CLIENT_SECRET']} -d username=operator -d password={password} "
               f"{url}/realms/{config['RENKEI_KEYCLOAK_REALM']}/protocol/openid-connect/token")
    if serve:
        from werkzeug.serving import run_simple

        run_simple(host, port, current_app._get_current_object(), threaded=True)
