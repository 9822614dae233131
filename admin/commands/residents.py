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
