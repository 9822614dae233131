"""`renkei residents ...`: the residents' side from the server's command line (issue 42).

* ``new-key ID``: print a fresh key entry (``ID:base64key``) to put first in ``RENKEI_RESIDENT_KEYS`` (or the
  key file), keeping the old entries after it until ``rotate-key`` has run;
* ``rotate-key``: write every resident's encrypted items and matching hashes again under the current (first)
  key of the settings' ring; one transaction (the operator; audited);
* ``reviews TENANT``: the municipality's enrolments waiting for review (its residents' desk);
* ``search-name TENANT NAME --reason R [--birth-date D]``: the municipality's residents of that full name (its
  residents' desk; audited with the reason and each person shown);
* ``figures TENANT [--fiscal-year Y]``: the numbers for policy work, small counts shown as "<10" (its residents'
  desk or its admin).

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


@group.command("search-name")
@click.argument("tenant_code")
@click.argument("full_name")
@click.option("--reason", required=True, help="Why: recorded in the audit log with each person shown")
@click.option("--birth-date", default="", help="The date of birth (1980-04-01), to narrow the search")
@with_appcontext
@acting(authz.RESIDENT_DESK)
def search_name_command(tenant_code: str, full_name: str, reason: str, birth_date: str, actor) -> None:
    """The municipality's residents of that full name (normalised: widths, spaces, old kanji forms)."""
    from admin.resident_keys import keyring
    from residents import operations as residents

    rows = committed(lambda: residents.search_by_name(db.session, actor, keyring(), tenant_code, reason=reason,
                                                      full_name=full_name, birth_date=birth_date))
    for row in rows:
        click.echo(f"{row['common_id'] or '(review)'}\t{row['full_name']}\t{row['birth_date']}\t{row['sex']}\t"
                   f"{row['address']}")
    click.echo(f"{len(rows)} 人 / {len(rows)} resident(s)", err=True)


def _cell(cell: dict, threshold: int) -> str:
    return f"<{threshold}" if cell["suppressed"] else f"{cell['value']:,}"


@group.command("figures")
@click.argument("tenant_code")
@click.option("--fiscal-year", type=int, default=None, help="The fiscal year of the enrolments per month (default: this one)")
@with_appcontext
@acting(authz.RESIDENT_DESK)
def figures_command(tenant_code: str, fiscal_year: int | None, actor) -> None:
    """Enrolments per month, links per service, opt-in rates per consent item; small counts as "<10"."""
    from admin.resident_keys import small_count
    from residents import figures

    numbers = committed(lambda: figures.policy_figures(db.session, actor, tenant_code, fiscal_year=fiscal_year,
                                                       threshold=small_count()))
    limit = numbers["threshold"]
    click.echo(f"# 月別の登録数 / enrolments per month, FY{numbers['fiscal_year']}")
    for month in numbers["enrolments"]["months"]:
        click.echo(f"{month['month']}\t{_cell(month, limit)}")
    click.echo(f"total\t{_cell(numbers['enrolments']['total'], limit)}")
    click.echo("# サービス別の連携数 / links per service")
    for service in numbers["links"]["services"]:
        click.echo(f"{service['service_id']}\t{service['service_name']}\t{_cell(service, limit)}")
    click.echo(f"total\t\t{_cell(numbers['links']['total'], limit)}")
    click.echo("# 同意項目別の同意率 / opt-in rates per consent item")
    for service in numbers["opt_ins"]:
        for item in service["items"]:
            rate = "-" if item["rate_percent"] is None else f"{item['rate_percent']}%"
            click.echo(f"{service['service_id']}\t{service['service_name']}\t{item['item']}\t"
                       f"{_cell(service['asked'], limit)}\t{_cell(item['opted_in'], limit)}\t{rate}")
