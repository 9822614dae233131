"""`renkei signing-key ...`: the Ed25519 key that signs backup manifests and audit checkpoints.

``init`` makes an install's **first** key with no one signed in (nobody can be before the realm
exists, and production has no development mode): the private key at RENKEI_SIGNING_KEY, its public
key beside it and in the installation's folder of trusted keys (RENKEI_TRUSTED_KEYS, which must be
set and not the key's folder); audited as that key's maintenance identity; refused once a key
exists (docs/deployment.md, "Backups"). ``generate`` makes the key pair once (the private key 0600 at RENKEI_SIGNING_KEY, the public key
``<key id>.pub`` beside it); ``--replace`` rotates it (the old public key stays trusted until the
operator removes it). ``show`` lists the signing key and the trusted public keys. See
docs/operations.md, "Signed backups".

Exit codes: 0 done, 1 refused (a key exists), 2 bad input.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import fail
from admin.extensions import db
from core import audit, authz
from core.errors import DomainError


@click.group("signing-key")
def group() -> None:
    """The key that signs backups and audit checkpoints (署名鍵)."""


@group.command("generate")
@click.option("--replace", is_flag=True, help="Rotate: replace the private key; the old public key stays trusted.")
@with_appcontext
@acting(authz.OPERATOR)
def generate_command(replace: bool, actor) -> None:
    """Make the signing key once (private key 0600, public key <key id>.pub beside it)."""
    from maintenance import signing as settings
    from core import signing

    path = settings.signing_key_path(current_app.config)
    previous = settings.signer_or_none(current_app.config) if replace else None
    try:
        authz.authorize(actor, "system.backup")
        signer, public_path = signing.generate_key(path, path.parent, replace=replace)
        audit.record(db.session, actor, "system.signing_key", "signing_key", signer.key_id,
                     before={"key_id": previous.key_id} if previous else None,
                     after={"key_id": signer.key_id, "public_key": public_path.name})
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        fail(error)
    click.echo(f"署名鍵を作成しました / signing key written: {path} (mode 0600), key id {signer.key_id}")
    click.echo(f"  public key / 公開鍵: {public_path}")
    click.echo("  秘密鍵はバックアップの保管場所とは別に保管し、公開鍵は復元する環境にも置いてください。")
    click.echo("  Keep the private key apart from the backup store; copy the public key to wherever archives "
               "are restored or checked (RENKEI_TRUSTED_KEYS).")
    if previous is not None:
        click.echo(f"  the previous key {previous.key_id} stays trusted while its .pub file is in the trusted keys")


@group.command("init")
@with_appcontext
def init_command() -> None:
    """Make this install's first signing key (no sign-in needed; once): its public key goes into RENKEI_TRUSTED_KEYS."""
    from maintenance import signing as settings

    try:
        signer, path, trusted_path, actor = settings.first_key(current_app.config)
        audit.record(db.session, actor, "system.signing_key", "signing_key", signer.key_id,
                     after={"key_id": signer.key_id, "public_key": trusted_path.name, "first": True,
                            "trusted_in": str(trusted_path.parent)})
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        fail(error)
    click.echo(f"最初の署名鍵を作成しました / first signing key written: {path} (mode 0600), key id {signer.key_id}")
    click.echo(f"  信頼する公開鍵 / trusted public key: {trusted_path}")
    click.echo("  保守用IDはこの公開鍵で確認します。信頼する公開鍵のフォルダは root だけが変更できるようにしてください。")
    click.echo("  The maintenance identity is believed from this public key: let only root change its folder.")


@group.command("show")
@with_appcontext
def show_command() -> None:
    """The signing key's id and the trusted public keys."""
    from maintenance import signing as settings

    signer = settings.signer_or_none(current_app.config)
    path = settings.signing_key_path(current_app.config)
    click.echo(f"signing key: {path} " + (f"(key id {signer.key_id})" if signer else "(none: run `renkei signing-key generate`)"))
    trusted = settings.trusted_keys(current_app.config)
    click.echo(f"trusted public keys ({', '.join(str(p) for p in settings.trusted_locations(current_app.config))}): "
               + (", ".join(sorted(trusted)) or "none"))
    try:
        installed = settings.installed_trusted_keys(current_app.config)
        click.echo("the maintenance identity is believed from / 保守用IDを確認する公開鍵: " + (", ".join(sorted(installed)) or "none"))
    except DomainError as error:
        click.echo(f"the maintenance identity is refused / 保守用IDは使えません: {error.message_en}")
