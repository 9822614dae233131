"""`renkei clients ...`: the platform's API clients of tenants (client credentials with an IP allowlist).

Acts for a named person (``--as``, default role platform-operator), audited like the admin UI.
The secret of ``create`` and ``rotate`` is printed once, on stdout; nothing else prints it.
"""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed
from admin.extensions import db
from core import authz
from tenancy.identity.api_clients import SCOPES
from tenancy.identity.models import ClientStatus

SCOPE_NAMES = tuple(SCOPES)  # the scopes the API accepts too (one list: tenancy.identity.api_clients.SCOPES)


@click.group("clients")
def group() -> None:
    """API clients of tenants: create, list, rotate the secret, revoke."""


def _print_secret(issued) -> None:
    click.echo(f"client_id\t{issued.keycloak_client_id}")
    click.echo(f"client_secret\t{issued.secret}")
    if issued.previous_valid_until is not None:
        click.echo(f"previous_valid_until\t{issued.previous_valid_until.isoformat()}")
    click.echo("シークレットはこの一度だけ表示されます / the secret is shown only this once", err=True)


@group.command("list")
@click.option("--tenant", default=None, help="Only this owner's clients (local-government code or corporate number).")
@with_appcontext
@acting(authz.OPERATOR)
def clients_list(tenant: str | None, actor) -> None:
    """Every client the person may see: id, tenant, name, status, expiry, allowlist."""
    from tenancy.identity import api_clients

    rows = committed(lambda: api_clients.list_api_clients(db.session, actor, tenant))
    for row in rows:
        allowed = "*" if row.allow_any else (row.allowlist or "-")
        click.echo(f"{row.id}\t{row.tenant_code}\t{row.name}\t{ClientStatus(row.status).value}\t{row.expires_on.isoformat()}\t{allowed}")
    click.echo(f"{len(rows)} 件 / {len(rows)} client(s)", err=True)


@group.command("create")
@click.option("--tenant", required=True, help="Owner: a tenant's local-government code or a member organisation's corporate number.")
@click.option("--name", required=True)
@click.option("--purpose", required=True)
@click.option("--scope", "scopes", multiple=True, type=click.Choice(SCOPE_NAMES), help="A scope it may ask for (repeatable).")
@click.option("--expires", "expires_on", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--allow", "allowlist", multiple=True, metavar="CIDR", help="An allowed source network (repeatable).")
@click.option("--allow-any", is_flag=True, help="Any source address (operator only).")
@with_appcontext
@acting(authz.OPERATOR)
def clients_create(tenant, name, purpose, scopes, expires_on: dt.datetime, allowlist, allow_any, actor) -> None:
    """Create a client in Keycloak and print its client id and secret (once)."""
    from admin.identity import identity_directory
    from tenancy.identity import api_clients

    payload = {"name": name, "purpose": purpose, "scopes": list(scopes), "expires_on": expires_on.date(),
               "allowlist": list(allowlist), "allow_any": allow_any}
    _print_secret(committed(lambda: api_clients.create_api_client(db.session, actor, identity_directory(), tenant, payload)))


@group.command("edit")
@click.argument("client_id", type=int)
@click.option("--name", default=None)
@click.option("--purpose", default=None)
@click.option("--scope", "scopes", multiple=True, type=click.Choice(SCOPE_NAMES),
              help="A scope it may ask for (repeatable; replaces the current scopes).")
@click.option("--no-scopes", is_flag=True, help="Remove every scope.")
@click.option("--expires", "expires_on", default=None, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--allow", "allowlist", multiple=True, metavar="CIDR",
              help="An allowed source network (repeatable; replaces the current allowlist).")
@click.option("--no-allow", is_flag=True, help="Empty the allowlist (no address may call).")
@click.option("--allow-any/--no-allow-any", "allow_any", default=None, help="Any source address (operator only).")
@with_appcontext
@acting(authz.OPERATOR)
def clients_edit(client_id: int, name, purpose, scopes, no_scopes, expires_on: dt.datetime | None, allowlist,
                 no_allow, allow_any, actor) -> None:
    """Change a client's name, purpose, scopes, expiry or allowlist; options left out stay as they are.
    Keycloak follows: tokens issued afterwards carry the new allowlist and scopes."""
    from admin.identity import identity_directory
    from tenancy.identity import api_clients
    from tenancy.identity.models import ApiClient

    if (scopes and no_scopes) or (allowlist and no_allow):
        raise click.UsageError("--scope と --no-scopes、--allow と --no-allow は同時に指定できません / "
                               "--scope with --no-scopes, or --allow with --no-allow, contradict each other.")
    changes: dict = {"name": name, "purpose": purpose, "allow_any": allow_any,
                     "expires_on": expires_on.date() if expires_on else None,
                     "scopes": [] if no_scopes else (list(scopes) or None),
                     "allowlist": [] if no_allow else (list(allowlist) or None)}
    changes = {key: value for key, value in changes.items() if value is not None}
    row = committed(lambda: api_clients.edit_api_client(db.session, actor, identity_directory(), client_id, changes))
    if not isinstance(row, ApiClient):  # beyond the operator's policy: a request waits for the operator
        click.echo(f"運営者の承認待ちです（申請 {row.id}） / waiting for the operator's approval (request {row.id})")
        return
    allowed = "*" if row.allow_any else (row.allowlist or "-")
    click.echo(f"{row.id}\t{row.tenant_code}\t{row.name}\t{ClientStatus(row.status).value}\t{row.expires_on.isoformat()}\t{allowed}\t"
               f"{row.scopes or '-'}")


@group.command("rotate")
@click.argument("client_id", type=int)
@click.option("--overlap-seconds", type=click.IntRange(0, 30 * 86400), default=None,
              help="How long the previous secret keeps working (default: RENKEI_API_CLIENT_OVERLAP_SECONDS or 1 day).")
@with_appcontext
@acting(authz.OPERATOR)
def clients_rotate(client_id: int, overlap_seconds: int | None, actor) -> None:
    """Issue a new client id and secret; the previous ones keep working for the overlap."""
    from admin.identity import identity_directory
    from tenancy.identity import api_clients

    overlap = overlap_seconds if overlap_seconds is not None else int(
        current_app.config.get("RENKEI_API_CLIENT_OVERLAP_SECONDS") or api_clients.DEFAULT_OVERLAP_SECONDS)
    _print_secret(committed(lambda: api_clients.rotate_secret(db.session, actor, identity_directory(), client_id, overlap)))


@group.command("revoke")
@click.argument("client_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@acting(authz.OPERATOR)
def clients_revoke(client_id: int, yes: bool, actor) -> None:
    """Revoke at once: no new token, tokens already issued refused by the gateway check. Irreversible."""
    from admin.identity import identity_directory
    from tenancy.identity import api_clients

    if not yes:
        click.confirm(f"API クライアント {client_id} を失効させます（元に戻せません）。よろしいですか / Revoke client "
                      f"{client_id} (irreversible)?", abort=True)
    row = committed(lambda: api_clients.revoke_api_client(db.session, actor, identity_directory(), client_id))
    click.echo(f"{row.id}\t{ClientStatus(row.status).value}")


@group.command("retire-due")
@with_appcontext
@acting(authz.OPERATOR)
def clients_retire_due(actor) -> None:
    """Disable in Keycloak the rotated secrets whose overlap has ended (run it from the scheduler)."""
    from admin.identity import identity_directory
    from tenancy.identity import api_clients

    count = committed(lambda: api_clients.retire_due(db.session, actor, identity_directory()))
    click.echo(f"{count} 件 / {count} credential(s) retired", err=True)
