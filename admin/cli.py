"""The ``renkei`` command: database, tenants, Keycloak, billing simulation and the demo.

The command groups live in :mod:`admin.commands`, one module each; the app factory adds them to
``app.cli``. This module is the entry point (``main``) and the demo.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from admin.commands.db import upgrade_database
from admin.extensions import db
from core import authz
from core.actor import console_actor


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


def _register_standalone() -> None:
    """Groups whose commands may run without the app (``billing simulate`` needs no database or
    configuration); their database commands load the app themselves (with_appcontext)."""
    from admin.commands import billing

    main.add_command(billing.group)


_register_standalone()


# --- demo -------------------------------------------------------------------------------------

DEMO_LOADER = "demo-loader"  # the named operator the demo's sample data is recorded as
DEMO_LOGINS = (
    # username, display name (family, given), roles, tenant
    ("operator", ("熊本県", "運営者"), ("platform-operator",), "430005"),
    ("finance", ("熊本県", "財政担当"), ("finance-officer",), None),
    # a second finance officer: the approver of a run is not the person who computed or reviewed it
    ("finance-approver", ("熊本県", "財政課長"), ("finance-officer",), None),
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

    loader = console_actor(DEMO_LOADER, {authz.OPERATOR})
    created = load_kumamoto(db.session, loader)
    plans = load_default_plans(db.session, loader)
    db.session.commit()
    active, _ = list_tenants(db.session, loader, status=TenantStatus.active, per_page=1000)
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
