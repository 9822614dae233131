"""`renkei demo`: the main job on a developer machine (Keycloak, database, sample data, logins, server)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.cli import DEMO_LOADER, ensure_demo_logins
from admin.commands.db import upgrade_database
from admin.extensions import db
from core import authz
from core.actor import console_actor


def active_tenants(session, actor, per_page: int = 500):
    """Every active tenant the actor may read, page by page (not only the first page)."""
    from tenancy.registry.models import TenantStatus
    from tenancy.registry.operations import list_tenants

    page = 1
    while True:
        items, total = list_tenants(session, actor, status=TenantStatus.active, page=page, per_page=per_page)
        yield from items
        if not items or page * per_page >= total:
            return
        page += 1


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--serve/--no-serve", default=True, help="Serve the app after preparing it.")
@with_appcontext
def demo(host: str, port: int, serve: bool) -> None:
    """The main job on a developer machine: Keycloak, database, Kumamoto sample data, demo logins, server."""
    import os

    from admin.commands.keycloak import bootstrap
    from admin import keycloak_server
    from tenancy.registry.sample import load_kumamoto

    config = current_app.config
    if config["RENKEI_ENV"] != "development":
        raise click.ClickException("renkei demo runs only with RENKEI_ENV=development (it creates known passwords).")
    if config["RENKEI_API_OPEN_FOR_DEVELOPMENT"] and host not in {"127.0.0.1", "::1", "localhost"}:
        raise click.ClickException(f"RENKEI_API_OPEN_FOR_DEVELOPMENT is on: the demo serves only on a loopback "
                                   f"address (127.0.0.1, ::1), not on {host}.")
    url = config["RENKEI_KEYCLOAK_URL"]
    if not keycloak_server.answers(url):
        click.echo(f"starting Keycloak {keycloak_server.KEYCLOAK_VERSION} (first run downloads it into the user cache)…")
        from admin.commands.keycloak import _port_from_url

        keycloak_server.start(port=_port_from_url(url), admin_user=config["RENKEI_KEYCLOAK_ADMIN_USER"],
                              admin_password=config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"])
    # the demo relaxes the second factor (TOTP) so that its logins work at once; it says so below
    config["RENKEI_REQUIRE_TOTP"] = False
    changes = bootstrap(direct_grants=True, require_totp=False)
    click.echo(f"Keycloak realm {config['RENKEI_KEYCLOAK_REALM']}: {len(changes)} change(s)"
               + (f" ({'; '.join(changes)})" if changes and len(changes) < 5 else ""))
    upgrade_database()
    from tenancy.usage.quotas import load_default_plans

    loader = console_actor(DEMO_LOADER, {authz.OPERATOR})
    created = load_kumamoto(db.session, loader)
    plans = load_default_plans(db.session, loader)
    db.session.commit()
    from admin.identity import identity_directory

    active = 0
    for tenant in active_tenants(db.session, loader):
        identity_directory().ensure_tenant_group(tenant.code, tenant.name_ja)
        active += 1
    click.echo(f"sample data: {len(created)} tenant(s) added, {active} active; {len(plans)} quota plan(s) added")
    password = os.environ.get("RENKEI_DEMO_PASSWORD", "renkei-demo-2026")  # the realm's policy: 12 characters or more
    rows = ensure_demo_logins(password)
    base = f"http://{host}:{port}"
    click.echo("")
    click.echo(f"renkei is ready: admin UI {base}/admin   API {base}/api/v1/tenants   OpenAPI {base}/api/v1/openapi.json")
    click.echo(f"demo logins (password for all: {password}; development only):")
    for username, roles, tenant in rows:
        click.echo(f"  {username:<18} {roles:<20} tenant {tenant}")
    click.echo("  note: the demo relaxes the second factor (TOTP): these logins need no code. `renkei keycloak "
               "bootstrap` outside the demo requires TOTP for operator, finance, auditor and municipal admins.")
    click.echo(f"API token for curl: curl -s -d grant_type=password -d client_id={config['RENKEI_OIDC_CLIENT_ID']} "
               f"-d client_secret={config['RENKEI_OIDC_CLIENT_SECRET']} -d username=operator -d password={password} "
               f"{url}/realms/{config['RENKEI_KEYCLOAK_REALM']}/protocol/openid-connect/token")
    if serve:
        from werkzeug.serving import run_simple

        run_simple(host, port, current_app._get_current_object(), threaded=True)
