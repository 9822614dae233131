"""`renkei report ...`: documents made from the records.

    renkei report annual --year 2026 --pdf report.pdf --xlsx report.xlsx   the year's annual report (年度報告書)

The report is :mod:`billing.annual_report`'s: the operator, finance and the auditor may make it
(``--role``, default: finance-officer); each file written is recorded in the audit log with its
SHA-256, and the command commits once at the end, or rolls back and prints the problem in Japanese
and English.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import fail, write_output
from admin.extensions import db
from core import authz
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.errors import DomainError


@click.group("report")
def group() -> None:
    """Documents made from the records (年度報告書)."""


@group.command("annual")
@click.option("--year", "fiscal_year", type=click.IntRange(FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR), required=True,
              help="Fiscal year (April–March), e.g. 2026 for 令和8年度.")
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, path_type=Path), help="Write the A4 PDF here.")
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False, path_type=Path), help="Write the workbook here.")
@with_appcontext
@acting(authz.FINANCE)
def annual_command(fiscal_year: int, pdf: Path | None, xlsx: Path | None, actor) -> None:
    """The year's annual report (年度報告書) as an A4 PDF and/or a workbook; each file is audited."""
    from billing import annual_report

    if pdf is None and xlsx is None:
        raise click.UsageError("Give --pdf FILE, --xlsx FILE or both. / --pdf または --xlsx で出力先を指定してください。")
    try:
        files = [(fmt, path, annual_report.generate(db.session, actor, fiscal_year, fmt))
                 for fmt, path in (("pdf", pdf), ("xlsx", xlsx)) if path is not None]
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        fail(error)
    for fmt, path, data in files:
        write_output(data, path)
        click.echo(f"{path}\t{fmt}\t{len(data):,} bytes")
