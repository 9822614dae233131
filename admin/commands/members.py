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


# --- the secretariat's desk (issue 40): the existing members imported, the report, the target ----------

@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and print the preview; write nothing.")
@click.option("--notify", is_flag=True, help="Mail each new member's contact (through the outbox); otherwise no one is mailed.")
@with_appcontext
@acting(authz.OPERATOR)
def members_import_command(file: Path, dry_run: bool, notify: bool, actor) -> None:
    """Import the existing members from an xlsx or CSV (UTF-8 or CP932) file: every row checked first, all or nothing."""
    from secretariat import members_import

    if dry_run:
        try:
            preview = members_import.check_file(db.session, actor, file, notify=notify)
        except DomainError as error:
            db.session.rollback()
            fail(error)
        db.session.rollback()
        for row in preview.rows:
            changes = "、".join(f"{members_import.HEADERS_JA[name]}: {before or '—'} → {after}"
                               for name, (before, after) in row.changes.items())
            click.echo(f"{row.line}\t{row.corporate_number}\t{row.name}\t{row.outcome.ja}\t{changes}")
        click.echo(f"新規 {preview.count('new')} 件、登録済み {preview.count('same')} 件、内容が異なる {preview.count('differs')} 件"
                   f"（取り込みは行っていません） / {preview.count('new')} new, {preview.count('same')} same, "
                   f"{preview.count('differs')} differ (dry run: nothing written)", err=True)
        return
    result = committed(lambda: members_import.import_file(db.session, actor, file, notify=notify))
    click.echo(f"新規 {len(result.created)} 件、更新 {len(result.updated)} 件、変更なし {result.unchanged} 件、メール {result.notified} 件 / "
               f"{len(result.created)} created, {len(result.updated)} updated, {result.unchanged} unchanged, {result.notified} mailed")


@group.command("report")
@click.argument("period")
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="Write the A4 PDF here.")
@click.option("--xlsx", type=click.Path(dir_okay=False, path_type=Path), help="Write the workbook here.")
@with_appcontext
@acting(authz.OPERATOR)
def members_report_command(period: str, pdf: Path | None, xlsx: Path | None, actor) -> None:
    """The member report for PERIOD (2026-05, 2026-Q1 or FY2026): its figures printed, its files written."""
    from secretariat import member_report

    def run():
        found = member_report.parse_period(period)
        files = {fmt: member_report.generate(db.session, actor, found, fmt) for fmt, path in (("pdf", pdf), ("xlsx", xlsx)) if path}
        return member_report.build_report(db.session, actor, found), files

    report, files = committed(run)
    for section in member_report.sections(report)[:1]:
        for label, value in section.rows:
            click.echo(f"{label}\t{value}")
    for fmt, path in (("pdf", pdf), ("xlsx", xlsx)):
        if path:
            path.write_bytes(files[fmt])
            click.echo(f"{path} を書き出しました / wrote {path}", err=True)


@group.command("target")
@click.argument("fiscal_year", type=int)
@click.argument("target", type=int)
@with_appcontext
@acting(authz.OPERATOR)
def members_target_command(fiscal_year: int, target: int, actor) -> None:
    """Set FISCAL_YEAR's recruitment target (new members; 50 unless set)."""
    from secretariat import member_report

    committed(lambda: member_report.set_recruitment_target(db.session, actor, fiscal_year, target))
    click.echo(f"{fiscal_year}年度の新規会員募集目標を {target} にしました / target for FY{fiscal_year} set to {target}")
