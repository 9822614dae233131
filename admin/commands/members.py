"""`renkei members ...`: the consortium members list and its export, screening decisions, project groups."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed, fail, write_output
from admin.extensions import db
from core import authz
from core.errors import DomainError
from tenancy.members.models import MemberStatus


@click.group("members")
def group() -> None:
    """Consortium members: organisations (by corporate number) and municipalities."""


@group.command("list")
@click.option("--search", default="", help="Name, kana or corporate number.")
@click.option("--status", type=click.Choice([status.value for status in MemberStatus]))
@with_appcontext
@acting(authz.OPERATOR)
def members_list(search: str, status: str | None, actor) -> None:
    """Every member: corporate number, name, kind, prefecture, status."""
    from tenancy.members import operations as members

    try:
        rows, total = members.list_members(db.session, actor, search=search, status=status, per_page=1_000_000)
    except DomainError as error:
        fail(error)
    for row in rows:
        click.echo(f"{row.corporate_number}\t{row.name}\t{row.kind_label[0]}\t{row.prefecture}\t{row.status_label[0]}")
    click.echo(f"{total} 件 / {total} member(s)", err=True)


@group.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
@acting(authz.OPERATOR)
def members_export(output: Path | None, actor) -> None:
    """The members list as CSV (UTF-8 with BOM, for Excel), municipalities with their derived corporate numbers."""
    from core.spreadsheet import csv_bytes
    from tenancy.members import operations as members

    rows = committed(lambda: members.export_rows(db.session, actor))
    write_output(csv_bytes(rows), output)


@group.command("reject")
@click.argument("corporate_number")
@click.option("--reason", required=True)
@with_appcontext
@acting(authz.OPERATOR)
def members_reject(corporate_number: str, reason: str, actor) -> None:
    """Reject an application under screening, with the reason (the applicant is told)."""
    from tenancy.members import operations as members

    committed(lambda: members.reject(db.session, actor, corporate_number, reason))
    click.echo(f"{corporate_number} を不承認にしました / rejected")


@group.command("withdraw")
@click.argument("corporate_number")
@click.option("--reason", required=True)
@with_appcontext
@acting(authz.OPERATOR)
def members_withdraw(corporate_number: str, reason: str, actor) -> None:
    """Withdraw a member organisation (its people can no longer be changed)."""
    from admin.identity import identity_directory
    from tenancy.members import operations as members

    committed(lambda: members.withdraw(db.session, actor, corporate_number, reason, identity_directory()))
    click.echo(f"{corporate_number} を退会させました / withdrawn")


@group.command("form-group")
@click.argument("name")
@click.option("--representative", required=True, help="The representative member's corporate number.")
@click.option("--member", "numbers", multiple=True, required=True, help="A member's corporate number (repeat).")
@with_appcontext
@acting(authz.OPERATOR)
def members_form_group(name: str, representative: str, numbers: tuple[str, ...], actor) -> None:
    """Form a project group (提案グループ); broken rules are listed in words."""
    from tenancy.members import operations as members

    group_ = committed(lambda: members.form_group(db.session, actor, name, representative, numbers))
    click.echo(f"提案グループ「{group_.name}」を結成しました / formed project group {group_.id}")


@group.command("change-group")
@click.argument("group_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--name", required=True, help="The group's name (repeat the current one to keep it).")
@click.option("--representative", required=True, help="The representative member's corporate number.")
@click.option("--member", "numbers", multiple=True, required=True,
              help="Every member's corporate number after the change (repeat).")
@with_appcontext
@acting(authz.OPERATOR)
def members_change_group(group_id: int, name: str, representative: str, numbers: tuple[str, ...], actor) -> None:
    """Change a project group: its members, representative or name; the rules are checked again."""
    from tenancy.members import operations as members

    committed(lambda: members.change_group(db.session, actor, group_id, name, representative, numbers))
    click.echo(f"提案グループ {group_id} を変更しました / changed project group {group_id}")


@group.command("dissolve-group")
@click.argument("group_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--reason", required=True)
@click.confirmation_option(prompt="提案グループを解散します。元に戻せません。よろしいですか？ / Dissolve the group? This cannot be undone.")
@with_appcontext
@acting(authz.OPERATOR)
def members_dissolve_group(group_id: int, reason: str, actor) -> None:
    """Dissolve a project group (asks first; the audit log keeps what it was)."""
    from tenancy.members import operations as members

    committed(lambda: members.dissolve_group(db.session, actor, group_id, reason))
    click.echo(f"提案グループ {group_id} を解散しました / dissolved project group {group_id}")
