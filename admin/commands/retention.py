"""`renkei retention ...`: how long each kind of record is kept (core/retention.py, the one table).

* ``table``: the table (kind, period, from when it counts, the specification it follows);
* ``due``: what is past its retention now, by kind; ``--export FILE`` writes it as a signed JSON
  file (audited), the list of what goes;
* ``dispose KIND --through-fiscal-year N``: the recorded act of disposing of a kind's records of
  that year and before (asks first; refused while any is inside its retention), writing the signed
  list of what went;
* ``year-archive FISCAL_YEAR -o FILE``: a closed year's records as one signed archive (tar: a JSON
  file per kind, a manifest with each file's SHA-256, the manifest's SHA-256 and signature), for
  the prefecture's document management; audited. ``verify-year-archive FILE`` checks one.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed, fail, write_output
from admin.extensions import db
from core import authz, retention
from core.errors import DomainError


@click.group("retention")
def group() -> None:
    """How long records are kept (保存期間): the table, what is due for disposal, a closed year's archive."""


@group.command("table")
@with_appcontext
@acting(authz.OPERATOR)
def table_command(actor) -> None:
    """The retention table: each kind of record, how long it is kept and from when that counts."""
    try:
        authz.authorize(actor, "retention.read")
    except DomainError as error:
        fail(error)
    for kind in retention.KINDS:
        counts_ja, counts_en = retention.CountsFrom(kind.counts_from).label
        click.echo(f"{kind.label_ja}\t{kind.period_ja()}\t{counts_ja}\t{kind.basis_ja}")
        click.echo(f"  {kind.label_en}: {kind.period_en()}, from {counts_en}")


def _signer():
    from maintenance import signing

    return signing.signer(current_app.config)


@group.command("due")
@click.option("--export", "export", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the list, signed, to this file (audited).")
@with_appcontext
@acting(authz.OPERATOR)
def due_command(export: Path | None, actor) -> None:
    """What is past its retention now, by kind (listed for disposal, never deleted by this command)."""
    from maintenance import retention as due

    if export is not None:
        data = committed(lambda: due.export_due(db.session, actor, _signer()))
        write_output(data, export, private=True)
        click.echo(f"署名付きの一覧を {export} に書き出しました / signed list written to {export}", err=True)
    rows = committed(lambda: due.due_list(db.session, actor))
    for item in rows:
        click.echo(f"{item.label_ja}\t{item.count:,} 件\t{item.through_ja}\t{item.how_ja}")
        click.echo(f"  {item.label_en}: {item.count:,} past retention ({item.through_en}); {item.how_en}")


@group.command("dispose")
@click.argument("kind", type=click.Choice(["ledger", "allocation_runs", "letters_statements", "costs_invoices",
                                           "agreements", "council"]))
@click.option("--through-fiscal-year", "fiscal_year", type=int, required=True,
              help="The newest fiscal year disposed of (its records and older ones).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where the signed list of what is disposed of goes.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@acting(authz.OPERATOR)
def dispose_command(kind: str, fiscal_year: int, output: Path, yes: bool, actor) -> None:
    """Record the disposal of KIND's records of the fiscal year and before (past their retention)."""
    from maintenance import retention as due

    label = retention.kind(kind)
    if not yes:
        click.confirm(f"{label.label_ja}（{fiscal_year} 年度以前）を廃棄したことを記録します。元に戻せません。よろしいですか？ / "
                      f"Record that {label.label_en} of FY{fiscal_year} and before are disposed of? This cannot be undone.",
                      abort=True)
    data, item = committed(lambda: due.dispose(db.session, actor, kind, fiscal_year, _signer()))
    write_output(data, output, private=True)
    click.echo(f"{item.label_ja} {item.count:,} 件の廃棄を記録し、署名付きの一覧を {output} に書き出しました / "
               f"recorded the disposal of {item.count:,} {item.label_en} record(s); signed list in {output}")


@group.command("year-archive")
@click.argument("fiscal_year", type=int)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
@acting(authz.OPERATOR)
def year_archive_command(fiscal_year: int, output: Path, actor) -> None:
    """A closed fiscal year's records as one signed archive (tar) for the prefecture's document management."""
    from maintenance import retention as due

    data = committed(lambda: due.year_archive(db.session, actor, fiscal_year, _signer()))
    write_output(data, output, private=True)
    click.echo(f"{fiscal_year} 年度の記録を {output} に書き出しました / FY{fiscal_year}'s records written to {output}")


@group.command("verify-year-archive")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def verify_year_archive_command(file: Path) -> None:
    """Check a year archive: the manifest's signature (a trusted key), its SHA-256, and every file against it."""
    from maintenance import retention as due
    from maintenance import signing

    try:
        manifest = due.verify_year_archive(file.read_bytes(), signing.trusted_keys(current_app.config))
    except DomainError as error:
        fail(error)
    except (KeyError, ValueError, OSError) as error:  # not a year archive at all
        click.echo(f"エラー: 年度の記録のアーカイブではありません / Error: not a year archive ({error})", err=True)
        raise SystemExit(1) from None
    rows = sum(member["rows"] for member in manifest["members"].values())
    click.echo(f"{manifest['fiscal_year_ja']}の記録 {rows:,} 件：署名と SHA-256 を確認しました / "
               f"FY{manifest['fiscal_year']}: {rows:,} record(s), signature and SHA-256 intact")
