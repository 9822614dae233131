"""`renkei residents ...`: the residents' side from the server's command line (issue 42).

* ``new-key ID``: print a fresh key entry (``ID:base64key``) to put first in ``RENKEI_RESIDENT_KEYS`` (or the
  key file), keeping the old entries after it until ``rotate-key`` has run;
* ``rotate-key``: write every resident's encrypted items and matching hashes again under the current (first)
  key of the settings' ring; one transaction (the operator; audited);
* ``reviews TENANT``: the municipality's enrolments waiting for review (its residents' desk);
* ``split TENANT COMMON_ID SERVICE_ID --reason``, ``merge TENANT SURVIVING MERGED --reason``: propose a
  recovery; ``recoveries TENANT``: the proposals; ``approve|refuse|cancel TENANT ID``: decide one (four eyes:
  another person of the desk approves or refuses, the proposer cancels; residents.recovery).
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
from core.calendar import day_text
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
                   f"{'address matches' if row['address_matches'] else 'address differs'}\t{day_text(row['created_at'])}")
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
    from admin.portal.door import realm_settings
    from residents import signin

    master = _master()
    changes = committed(lambda: signin.setup_realm(db.session, actor, master, realm_settings()))
    for change in changes or ["変更なし / no change"]:
        click.echo(change)


@group.command("erase-realm-attributes")
@with_appcontext
@acting(authz.OPERATOR, maintenance=True)
def erase_realm_attributes_command(actor) -> None:
    """Erase from every account of the residents' realm the 基本4情報 earlier versions kept there (the card's
    name, address, birth date and sex as user attributes, the name as first and last name); `realm-setup` does
    it too. Audited as resident.realm.erase; says how many accounts it changed."""
    from admin.portal.door import realm_settings
    from residents import signin

    master = _master()
    erased = committed(lambda: signin.erase_realm_attributes(db.session, actor, master, realm_settings()))
    click.echo(f"基本4情報を消去したアカウント: {erased} / accounts the 基本4情報 were erased from: {erased}")


@group.command("delete-left-accounts")
@with_appcontext
@acting(authz.OPERATOR, maintenance=True)
def delete_left_accounts_command(actor) -> None:
    """Delete the residents' realm accounts of every resident who left (the accounts linked to their providers'
    identifiers); the resident-retention job does it before erasing the identifiers when it may reach Keycloak's
    master administrator. Safe to run again; audited per resident as resident.realm.accounts.delete."""
    from admin.portal.door import realm_settings
    from residents import signin

    master = _master()
    deleted = committed(lambda: signin.delete_realm_accounts(db.session, actor, master, realm_settings()))
    click.echo(f"削除した退会者のアカウント: {deleted} / accounts of residents who left deleted: {deleted}")


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
    from admin.portal.door import realm_settings
    from residents import signin

    master = _master()
    row, changes = committed(lambda: signin.add_provider(db.session, actor, master, realm_settings(), {
        "alias": alias, "display_name": display_name or alias, "discovery_url": discovery_url, "client_id": client_id,
        "client_secret": client_secret, "assurance_level": assurance_level}))
    for change in changes:
        click.echo(change)
    click.echo(f"認証事業者 {row.alias}（発行者 {row.issuer}、個人認証レベル {row.assurance_level}） / "
               f"provider {row.alias} (issuer {row.issuer}, assurance level {row.assurance_level})")
# --- recovery: split a wrong link, merge two common IDs (four eyes: residents.recovery) -------------

def _recovery_line(row: dict) -> str:
    about = (f"{row['common_id']} ← {row['merged_common_id']}" if row["kind"] == "merge"
             else f"{row['common_id']} × service {row['service_id']} ({row['service_user_id']})")
    return (f"#{row['id']}\t{row['kind']}\t{row['status']}\t{about}\t{row['proposed_by']}\t{row['reason']}"
            + (f"\t{row['decided_by']}: {row['decision_reason']}" if row["decided_by"] else ""))


@group.command("split")
@click.argument("tenant_code")
@click.argument("common_id")
@click.argument("service_id", type=int)
@click.option("--reason", required=True, help="Why the link is wrong (recorded; kept with the ended link).")
@with_appcontext
@acting(authz.RESIDENT_DESK)
def split_command(tenant_code: str, common_id: str, service_id: int, reason: str, actor) -> None:
    """Propose ending COMMON_ID's link to SERVICE_ID (its user ID is not this person); another person of the
    residents' desk approves (renkei residents approve)."""
    from residents import recovery

    row = committed(lambda: recovery.recovery_view(
        db.session, recovery.propose_split(db.session, actor, tenant_code, common_id, service_id, reason), actor))
    click.echo(_recovery_line(row))
    click.echo(f"提案 #{row['id']} を登録しました。別の担当者が承認すると連携が解除されます / proposal #{row['id']} "
               "recorded; the link ends when another person approves it", err=True)


@group.command("merge")
@click.argument("tenant_code")
@click.argument("surviving_common_id")
@click.argument("merged_common_id")
@click.option("--reason", required=True, help="Why these are one person (recorded).")
@with_appcontext
@acting(authz.RESIDENT_DESK)
def merge_command(tenant_code: str, surviving_common_id: str, merged_common_id: str, reason: str, actor) -> None:
    """Propose merging MERGED_COMMON_ID into SURVIVING_COMMON_ID (one person's two IDs); another person approves."""
    from residents import recovery

    row = committed(lambda: recovery.recovery_view(db.session, recovery.propose_merge(
        db.session, actor, tenant_code, surviving_common_id, merged_common_id, reason), actor))
    click.echo(_recovery_line(row))
    click.echo(f"提案 #{row['id']} を登録しました。別の担当者が承認すると統合されます / proposal #{row['id']} "
               "recorded; the IDs are merged when another person approves it", err=True)


@group.command("recoveries")
@click.argument("tenant_code")
@click.option("--all", "every", is_flag=True, help="Decided proposals too.")
@with_appcontext
@acting(authz.RESIDENT_DESK)
def recoveries_command(tenant_code: str, every: bool, actor) -> None:
    """The municipality's split and merge proposals awaiting approval (with --all, decided ones too)."""
    from residents import recovery

    rows = committed(lambda: recovery.list_recoveries(db.session, actor, tenant_code, open_only=not every))
    for row in rows:
        click.echo(_recovery_line(row))
    click.echo(f"{len(rows)} 件 / {len(rows)} proposal(s)", err=True)


def _decide_command(name: str, help_text: str, reason_required: bool):
    @group.command(name, help=help_text)
    @click.argument("tenant_code")
    @click.argument("recovery_id", type=int)
    @click.option("--reason", required=reason_required, default="", help="Why (recorded).")
    @with_appcontext
    @acting(authz.RESIDENT_DESK)
    def command(tenant_code: str, recovery_id: int, reason: str, actor) -> None:
        from residents import recovery

        def decide():
            getattr(recovery, name)(db.session, actor, tenant_code, recovery_id, reason)
            return recovery.recovery_view(db.session, recovery.get_recovery(db.session, tenant_code, recovery_id), actor)

        click.echo(_recovery_line(committed(decide)))

    return command


approve_command = _decide_command(
    "approve", "Approve proposal RECOVERY_ID as the second person (not its proposer): the link is ended and the "
               "records made under it marked, or the IDs merged; the services and the resident are notified.", False)
refuse_command = _decide_command("refuse", "Refuse proposal RECOVERY_ID (not its proposer), with a reason.", True)
cancel_command = _decide_command("cancel", "Cancel one's own proposal RECOVERY_ID, with a reason.", True)
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
