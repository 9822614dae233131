"""`renkei residents ...`: the residents' side from the server's command line (issue 42).

* ``new-key ID``: print a fresh key entry (``ID:base64key``) to put first in ``RENKEI_RESIDENT_KEYS`` (or the
  key file), keeping the old entries after it until ``rotate-key`` has run;
* ``rotate-key``: write every resident's encrypted items and matching hashes again under the current (first)
  key of the settings' ring; one transaction (the operator; audited);
* ``reviews TENANT``: the municipality's enrolments waiting for review (its residents' desk).

Each acts for an authenticated person (admin/commands/acting.py) and the operations ask the one policy.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed, fail
from admin.extensions import db
from core import authz
from core.errors import Invalid


@click.group("residents")
def group() -> None:
    """The residents' side (住民の共通ID・暗号鍵・確認待ち): the key, its rotation, the review queue."""


@group.command("new-key")
@click.argument("key_id")
def new_key_command(key_id: str) -> None:
    """Print a new key entry ID:base64key (32 random bytes); it is shown once and stored nowhere by renkei."""
    from residents.crypto import ResidentKeyError, new_key_entry

    try:
        click.echo(new_key_entry(key_id))
    except ResidentKeyError as error:
        fail(Invalid(str(error), f"鍵の名前が不正です: {error}"))


@group.command("rotate-key")
@with_appcontext
@acting(authz.OPERATOR)
def rotate_key_command(actor) -> None:
    """Encrypt every resident's items again with the current (first) key of RENKEI_RESIDENT_KEYS."""
    from admin.resident_keys import keyring
    from residents import operations as residents

    ring = keyring()
    counts = committed(lambda: residents.rotate_key(db.session, actor, ring))
    click.echo(f"{counts['rewritten']} 件を鍵 {ring.current_id} で暗号化し直しました（住民 {counts['residents']} 件） / "
               f"{counts['rewritten']} of {counts['residents']} resident(s) re-encrypted under key {ring.current_id}")


@group.command("reviews")
@click.argument("tenant_code")
@with_appcontext
@acting(authz.RESIDENT_DESK)
def reviews_command(tenant_code: str, actor) -> None:
    """The municipality's enrolments waiting for review: number, matched common ID, what matched, since."""
    from residents import operations as residents

    rows = committed(lambda: residents.list_reviews(db.session, actor, tenant_code))
    for row in rows:
        click.echo(f"{row['id']}\t{row['matched_common_id']}\t{row['reason']}\t"
                   f"{'address matches' if row['address_matches'] else 'address differs'}\t{row['created_at']:%Y-%m-%d}")
    click.echo(f"{len(rows)} 件 / {len(rows)} review(s)", err=True)


def _master():
    """Keycloak's master administrator (RENKEI_KEYCLOAK_ADMIN_USER and _PASSWORD), after checking that the act
    can be recorded in the audit log and that the residents' realm is not the staff realm."""
    from flask import current_app

    from admin.commands.keycloak import _master_password, _require_audit_log
    from tenancy.identity.keycloak import master_admin

    config = current_app.config
    if config["RENKEI_RESIDENTS_REALM"] == config["RENKEI_KEYCLOAK_REALM"]:
        raise click.ClickException("RENKEI_RESIDENTS_REALM must not be the staff realm (RENKEI_KEYCLOAK_REALM) / "
                                   "住民用レルムは職員用レルムと別の名前にしてください。")
    password = _master_password(config)
    _require_audit_log()
    return master_admin(config["RENKEI_KEYCLOAK_URL"], config["RENKEI_KEYCLOAK_ADMIN_USER"], password, "master")


@group.command("realm-setup")
@with_appcontext
@acting(authz.OPERATOR, maintenance=True)
def realm_setup_command(actor) -> None:
    """Create or correct the residents' realm (RENKEI_RESIDENTS_REALM, never the staff realm) and the portal's
    client (RENKEI_RESIDENTS_CLIENT_ID/_SECRET, redirect to RENKEI_PUBLIC_URL/portal/). Safe to run again;
    audited as resident.realm.setup."""
    from admin.portal import realm_settings
    from residents import signin

    master = _master()
    changes = committed(lambda: signin.setup_realm(db.session, actor, master, realm_settings()))
    for change in changes or ["変更なし / no change"]:
        click.echo(change)


@group.command("provider-add")
@click.option("--alias", required=True, help="The provider's name in the residents' realm (a-z, 0-9, -), e.g. mynumber-card.")
@click.option("--discovery-url", required=True, help="The provider's OpenID Connect discovery document (.well-known/openid-configuration).")
@click.option("--client-id", required=True, help="renkei's client id at the provider.")
@click.option("--client-secret", envvar="RENKEI_RESIDENT_PROVIDER_SECRET", required=True,
              help="renkei's client secret at the provider (or RENKEI_RESIDENT_PROVIDER_SECRET); never recorded.")
@click.option("--assurance-level", type=int, required=True,
              help="The assurance level (個人認証レベル) a sign-in through it carries, e.g. 3 for the My Number Card.")
@click.option("--display-name", default=None, help="The provider's name residents see (default: the alias).")
@with_appcontext
@acting(authz.OPERATOR, maintenance=True)
def provider_add_command(alias: str, discovery_url: str, client_id: str, client_secret: str, assurance_level: int,
                         display_name: str | None, actor) -> None:
    """Configure an OpenID Connect identity provider for residents from its discovery URL (scopes openid name
    address birthdate gender; the claims brought in at every sign-in) at an assurance level. Again for the same
    alias corrects it; audited as resident.provider.add."""
    from admin.portal import realm_settings
    from residents import signin

    master = _master()
    row, changes = committed(lambda: signin.add_provider(db.session, actor, master, realm_settings(), {
        "alias": alias, "display_name": display_name or alias, "discovery_url": discovery_url, "client_id": client_id,
        "client_secret": client_secret, "assurance_level": assurance_level}))
    for change in changes:
        click.echo(change)
    click.echo(f"認証事業者 {row.alias}（発行者 {row.issuer}、個人認証レベル {row.assurance_level}） / "
               f"provider {row.alias} (issuer {row.issuer}, assurance level {row.assurance_level})")
