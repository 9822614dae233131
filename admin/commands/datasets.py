"""`renkei datasets ...`: the dataset register from the server's command line: list, import a list,
check a file against its standard kind, the workflow, the coverage matrix and the overdue reminders; the
lists the operator keeps (``categories``, ``licences``: admin/commands/dataset_lists.py) and a dataset's
terms of use (``terms``: admin/commands/dataset_terms.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from admin.commands import dataset_lists, dataset_terms
from admin.commands.acting import acting
from admin.commands.output import committed, fail, write_output
from admin.extensions import db
from core import authz
from core.errors import DomainError
from catalogue.models import DatasetStatus
from catalogue.operations import DATASETS


@click.group("datasets")
def group() -> None:
    """The dataset register (データセット台帳) and the standard datasets' coverage."""


group.add_command(dataset_lists.categories_group)
group.add_command(dataset_lists.licences_group)
group.add_command(dataset_terms.group)


@group.command("list")
@click.option("--search", default="", help="Title, keyword or name.")
@click.option("--status", type=click.Choice([status.value for status in DatasetStatus]))
@click.option("--provider", default=None, help="A provider's tenant code or corporate number.")
@with_appcontext
@acting(authz.OPERATOR)
def datasets_list(search: str, status: str | None, provider: str | None, actor) -> None:
    """Every dataset: name, provider, title, status, standard conformance."""
    from catalogue import conformance, operations
    from catalogue.models import DatasetStatus

    try:
        rows, total = operations.list_datasets(db.session, actor, search=search, status=status, provider=provider,
                                               per_page=1_000_000)
    except DomainError as error:
        fail(error)
    for d in rows:
        click.echo(f"{d.name}\t{d.provider_code}\t{d.title_ja}\t{DatasetStatus(d.status).ja}\t"
                   f"{conformance.conformance_state(d).label[0]}")
    click.echo(f"{total} 件 / {total} dataset(s)", err=True)


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
@acting(authz.OPERATOR)
def datasets_import(file: Path, actor) -> None:
    """Import a list of datasets (CSV, UTF-8 or CP932, Japanese headers): every row or none."""
    from catalogue.importing import import_datasets

    imported = committed(lambda: import_datasets(db.session, actor, file.read_bytes()))
    click.echo(f"{len(imported.created)} 件を取り込みました / {len(imported.created)} dataset(s) imported")
    for held in imported.held:
        click.echo(f"{held.line} 行目 {held.dataset.name}: 公開の確認項目を満たさないため下書きのままです（{held.reasons[0]}） / "
                   f"line {held.line} {held.dataset.name}: stays a draft, not published ({held.reasons[1]})", err=True)


@group.command("check")
@click.argument("dataset")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replaces", is_flag=True, help="FILE replaces the distribution's file (a new version of the file is published).")
@with_appcontext
@acting(authz.OPERATOR)
def datasets_check(dataset: str, file: Path, replaces: bool, actor) -> None:
    """Check FILE (a CSV) against DATASET's standard kind; each problem by row and column. A file other than
    the distribution's is checked on its own (the dataset's verdict unchanged) unless it --replaces it."""
    from catalogue import file_checks

    check = committed(lambda: file_checks.check_file(db.session, actor, dataset, file.name, file.read_bytes(),
                                                    replaces=replaces))
    for p in file_checks.check_problems(check):
        click.echo(f"{p['message_ja']}")
    if not check.of_distribution:
        click.echo("配布ファイルではないため、このファイルだけを確認しました（データセットの判定は変わりません） / "
                   "not the distribution's file: checked on its own (the dataset's verdict is unchanged)")
    click.echo("準拠 / conformant" if check.conformant else
               f"不適合（{check.problem_count:,} 件） / not conformant ({check.problem_count:,} problems)")
    if not check.conformant:
        sys.exit(1)


@group.command("move")
@click.argument("dataset")
@click.argument("verb", type=click.Choice(list(DATASETS.moves)))
@click.option("--reason", default="", help="Required to refuse or withdraw.")
@with_appcontext
@acting(authz.OPERATOR)
def datasets_move(dataset: str, verb: str, reason: str, actor) -> None:
    """The workflow: submit, publish, refuse (back to draft) or withdraw DATASET."""
    from catalogue import operations
    from catalogue.models import DatasetStatus

    moved = committed(lambda: operations.move(db.session, actor, dataset, verb, reason))
    click.echo(f"{moved.name}: {DatasetStatus(moved.status).ja}")


@group.command("coverage")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
@acting(authz.OPERATOR)
def datasets_coverage(output: Path | None, actor) -> None:
    """Municipalities x standard kinds as CSV (UTF-8 with BOM, for Excel)."""
    from core.spreadsheet import csv_bytes
    from catalogue import coverage, standards

    rows = committed(lambda: coverage.coverage(db.session, actor))
    kinds = list(standards.kinds().values())
    write_output(csv_bytes([["団体コード", "団体名", *[k.title_ja for k in kinds]],
                            *([row.code, row.name_ja, *[coverage.Cell(row.cells[k.code]).ja for k in kinds]]
                              for row in rows)]), output)


@group.command("remind")
@with_appcontext
@acting(authz.OPERATOR)
def datasets_remind(actor) -> None:
    """Queue a Japanese reminder to each overdue dataset's contact (once per period)."""
    from catalogue import coverage

    queued = committed(lambda: coverage.remind_overdue(db.session, actor))
    click.echo(f"{queued} 件の督促を送信待ちにしました / {queued} reminder(s) queued")
