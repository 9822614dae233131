"""`renkei tenants ...`: import, export and list the tenant registry; load the Kumamoto sample."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import fail, write_output
from admin.extensions import db
from core import authz
from core.errors import DomainError


@click.group("tenants")
def group() -> None:
    """The tenant registry."""


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
@acting(authz.OPERATOR)
def tenants_import(file: Path, actor) -> None:
    """Import tenants from a CSV file (UTF-8 or CP932; Japanese or English headers). All or nothing."""
    from tenancy.registry.importing import import_csv

    try:
        result = import_csv(db.session, actor, file)  # read row by row
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        fail(error)
    click.echo(f"{len(result.created)} 件を登録しました / imported {len(result.created)} tenant(s)")


@group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--english-headers", is_flag=True, help="CSV headers in English instead of Japanese.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
@acting(authz.OPERATOR)
def tenants_export(fmt: str, english_headers: bool, output: Path | None, actor) -> None:
    """Export the registry as CSV (UTF-8 with BOM, for Excel) or JSON."""
    from tenancy.registry.importing import export_csv, export_json
    from tenancy.registry.operations import list_tenants

    try:
        tenants, _ = list_tenants(db.session, actor, per_page=1_000_000)
    except DomainError as error:
        fail(error)
    data = export_csv(tenants, japanese_headers=not english_headers) if fmt == "csv" else (export_json(tenants) + "\n").encode()
    write_output(data, output)


@group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--status")
@with_appcontext
@acting(authz.OPERATOR)
def tenants_list(as_json: bool, status: str | None, actor) -> None:
    """List registered tenants."""
    from tenancy.registry.models import TenantStatus
    from tenancy.registry.operations import list_tenants, summary

    try:
        tenants, _ = list_tenants(db.session, actor, status=TenantStatus(status) if status else None, per_page=1_000_000)
    except DomainError as error:
        fail(error)
    if as_json:
        click.echo(json.dumps([summary(t) for t in tenants], ensure_ascii=False, indent=2))
        return
    for t in tenants:
        click.echo(f"{t.code}  {t.name_ja}\t{t.kind.value}\t{t.population:>9,}\t{t.status.value}\t{t.wave_fiscal_year or ''}")


@group.command("load-sample")
@with_appcontext
@acting(authz.OPERATOR)
def tenants_load_sample(actor) -> None:
    """Load the Kumamoto sample tenants (prefecture, wave 1 active, wave 2 applied)."""
    from tenancy.registry.sample import load_kumamoto

    try:
        created = load_kumamoto(db.session, actor)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        fail(error)
    click.echo(f"{len(created)} sample tenant(s) registered")
