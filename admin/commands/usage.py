"""`renkei usage ...`: import gateway logs, purge old raw events, reports, user seats, default plans."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from admin.commands.output import fail
from admin.extensions import db
from core.calendar import fiscal_year_of
from core import csvfile
from core.errors import DomainError, problem
from admin.commands.acting import acting
from core import authz

CHUNK = 10_000
HEADER_ALIASES = {
    "tenant": "tenant", "tenant_code": "tenant", "団体コード": "tenant",
    "metric": "metric", "指標": "metric",
    "quantity": "quantity", "数量": "quantity", "利用量": "quantity",
    "timestamp": "timestamp", "日時": "timestamp",
    "event_id": "event_id", "イベントID": "event_id",
}
# A gateway export may carry more columns than renkei reads: those are ignored.
COLUMNS = csvfile.Columns(
    HEADER_ALIASES,
    required=("tenant", "metric", "quantity", "timestamp", "event_id"),
    labels_ja={"tenant": "団体コード", "metric": "指標", "quantity": "数量", "timestamp": "日時", "event_id": "イベントID"},
    ignore_unknown=True,
)
_INTEGER = re.compile(r"^\s*-?\d+\s*$")


@click.group("usage")
def group() -> None:
    """Usage metering and quotas (利用実績・利用上限)."""


def _settings():
    from admin.api.usage import metering_settings

    return metering_settings()


def _rows(path: Path, fmt: str) -> Iterator[tuple[int, Any, dict | None]]:
    """(line number, event, problem) for each non-empty line of a CSV or JSON-lines export,
    read from the file as they are consumed (the file is never held whole)."""
    if fmt == "jsonl":
        for number, line in enumerate(csvfile.lines(path), start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), None
            except ValueError as error:
                yield number, None, problem(f"line {number}", f"not valid JSON: {error}", "JSON として読めません。")
        return
    for row in csvfile.stream_rows(path, COLUMNS):
        if row.problems:
            yield row.line, None, row.problems[0]
            continue
        event: dict[str, Any] = dict(row.values)
        if _INTEGER.match(event["quantity"]):
            event["quantity"] = int(event["quantity"])
        yield row.line, event, None


def _chunks(path: Path, fmt: str) -> Iterator[tuple[list[int], list[Any], list[dict]]]:
    lines: list[int] = []
    events: list[Any] = []
    broken: list[dict] = []
    for number, item, error in _rows(path, fmt):
        if error is not None:
            broken.append({**error, "index": number, "event_id": None})
            continue
        lines.append(number)
        events.append(item)
        if len(events) == CHUNK:
            yield lines, events, broken
            lines, events, broken = [], [], []
    yield lines, events, broken


def import_file(session, actor, path: Path, fmt: str) -> tuple[int, int, int]:
    """Validate every line, then record them all in one transaction; returns (lines, accepted, duplicates).

    The file is read twice as a stream, CHUNK events at a time (a checking pass, then a writing
    pass), so memory stays bounded whatever its size; the error report keeps the first problems
    and counts all of them.
    """
    from core import csvfile
    from catalogue.operations import provider_lookup
    from usage import metering

    settings = _settings()
    known = metering.tenant_codes(session)
    problems: list[dict] = []
    errors_total = invalid_lines = 0
    total = 0
    for lines, events, broken in _chunks(path, fmt):
        total += len(events) + len(broken)
        providers = provider_lookup(session, [e.get("dataset") for e in events if isinstance(e, dict)])
        _, _, found = metering.validate_events(events, known, settings=settings, where=lambda i, ls=lines: f"line {ls[i]}",
                                               provider_of=providers)
        found = broken + [{**p, "index": lines[p["index"]]} for p in found]
        errors_total += len(found)
        invalid_lines += len({p["index"] for p in found})
        problems += found[:max(0, csvfile.MAX_PROBLEMS_LISTED - len(problems))]
    if errors_total:
        problems.sort(key=lambda p: p["index"])
        raise metering._reject(problems, "file", "ファイル", invalid=invalid_lines, errors_total=errors_total)
    accepted = duplicates = 0
    for lines, events, _ in _chunks(path, fmt):
        if events:
            result = metering.ingest(session, actor, events, source="import", settings=settings, known_tenants=known,
                                     where=lambda i, ls=lines: f"line {ls[i]}")
            accepted += result.accepted
            duplicates += result.duplicates
    return total, accepted, duplicates


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="Default: from the file extension.")
@with_appcontext
@acting(authz.OPERATOR)
def usage_import(file: Path, fmt: str | None, actor) -> None:
    """Load a gateway log export (CSV or JSON lines; UTF-8 or CP932). All lines are checked first: all or nothing.

    CSV columns: tenant, metric, quantity, timestamp, event_id (or 団体コード, 指標, 数量, 日時, イベントID).
    Lines already imported (same event_id) count once.
    """
    fmt = fmt or ("csv" if file.suffix.lower() in {".csv", ".txt"} else "jsonl")
    try:
        lines, accepted, duplicates = import_file(db.session, actor, file, fmt)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        fail(error)
    click.echo(f"{lines} 行を読み込み、{accepted} 件を計上しました（重複 {duplicates} 件は計上済み） / "
               f"read {lines} line(s): {accepted} recorded, {duplicates} already recorded")


@group.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@with_appcontext
@acting(authz.OPERATOR)
def usage_purge(dry_run: bool, actor) -> None:
    """Delete raw usage events older than the retention period (default 13 months); aggregates stay."""
    from flask import current_app

    from maintenance.owner import owner_session
    from usage.metering import purge_events

    try:  # whole monthly partitions are dropped: as the schema owner (RENKEI_DATABASE_OWNER_URL)
        with owner_session(current_app.config, db.session) as session:
            result = purge_events(session, actor, settings=_settings(), dry_run=dry_run)
    except DomainError as error:
        fail(error)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{result.deleted} 件{'（削除対象）' if dry_run else 'を削除しました'} / {verb} {result.deleted} event(s) "
               f"before {result.cutoff.isoformat()}")


@group.command("report")
@click.option("--month", help="YYYY-MM (Japan time); default: the current month.")
@click.option("--tenant", help="One tenant's report; default: the whole platform.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "png"]), default="xlsx", show_default=True)
@click.option("--metric", default="api_calls", show_default=True, help="For --format png: the metric charted.")
@click.option("--english-headers", is_flag=True, help="CSV headers in English.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
@acting(authz.OPERATOR)
def usage_report(month: str | None, tenant: str | None, fmt: str, metric: str, english_headers: bool, output: Path,
                 actor) -> None:
    """Monthly usage report: Excel, CSV, or a PNG chart of the fiscal year per tenant."""
    from core.calendar import parse_month
    from usage import reports as usage_reports
    from usage.metering import UnknownMetric
    from usage.models import METRICS

    try:
        when = parse_month(month)
        codes = [tenant] if tenant else None
        if fmt == "png":
            if metric not in METRICS:
                raise UnknownMetric(metric)
            data = usage_reports.chart_png(db.session, actor, fiscal_year_of(when), metric, codes, last_month=when)
        else:
            report = usage_reports.build_report(db.session, actor, when, codes)
            if tenant and not report.tenants:
                from tenancy.errors import TenantNotFound

                raise TenantNotFound(tenant)
            data = usage_reports.report_xlsx(report) if fmt == "xlsx" else usage_reports.report_csv(report, not english_headers)
    except DomainError as error:
        fail(error)
    output.write_bytes(data)
    click.echo(f"{output} を作成しました / wrote {output}")


@group.command("count-seats")
@with_appcontext
@acting(authz.OPERATOR)
def usage_count_seats(actor) -> None:
    """Record each active tenant's user seats (members of its Keycloak group) as the user_seats gauge."""
    from admin.identity import identity_directory
    from core.errors import NotFound
    from usage.metering import record_user_seats
    from usage.quotas import active_tenant_codes

    directory = identity_directory()
    counts: dict[str, int] = {}
    for code in active_tenant_codes(db.session):
        try:
            counts[code] = directory.count_members(code)
        except NotFound:
            click.echo(f"{code}: 認証サーバーにグループがないため数えません / no Keycloak group, skipped", err=True)
        except DomainError as error:
            fail(error)
    if not counts:
        click.echo("利用中の団体がありません / no active tenant")
        return
    try:
        result = record_user_seats(db.session, actor, counts.__getitem__, list(counts))
    except DomainError as error:
        fail(error)
    db.session.commit()
    for code, seats in counts.items():
        click.echo(f"{code}\t{seats}")
    click.echo(f"{result.accepted} 団体の利用者数を記録しました / recorded user seats of {result.accepted} tenant(s)")


@group.command("load-plans")
@with_appcontext
@acting(authz.OPERATOR)
def usage_load_plans(actor) -> None:
    """Create the default quota plans by population band (small, medium, large) if missing."""
    from usage.quota_plans import load_default_plans

    try:
        created = load_default_plans(db.session, actor)
    except DomainError as error:
        fail(error)
    db.session.commit()
    click.echo(f"{len(created)} プランを作成しました / created {len(created)} plan(s)")
