"""`renkei jobs run-due`: the periodic jobs that are due (run it from cron or a systemd timer, e.g. daily).

* usage: create the monthly partitions of raw usage events ahead (PostgreSQL), then apply the
  retention period (``RENKEI_USAGE_RETENTION_MONTHS``): whole partitions older than it are
  detached and dropped (SQLite: rows are deleted). Running it again changes nothing.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import fail
from admin.extensions import db
from core import authz
from core.errors import DomainError


@click.group("jobs")
def group() -> None:
    """Periodic jobs (定期処理)."""


@group.command("run-due")
@with_appcontext
@acting(authz.OPERATOR)
def jobs_run_due(actor) -> None:
    """Create next months' usage partitions and drop raw usage events past the retention period."""
    from admin.api.usage import metering_settings
    from tenancy.usage.metering import prepare_partitions, purge_events

    settings = metering_settings()
    try:
        created = prepare_partitions(db.session, settings=settings)
        purged = purge_events(db.session, actor, settings=settings)
    except DomainError as error:
        db.session.rollback()
        fail(error)
    db.session.commit()
    click.echo(f"利用実績のパーティションを {len(created)} 件作成しました / created {len(created)} usage partition(s)"
               + (f": {', '.join(created)}" if created else ""))
    click.echo(f"保存期間を過ぎた利用実績 {purged.deleted} 件を削除しました（パーティション {len(purged.partitions_dropped)} 件） / "
               f"purged {purged.deleted} event(s) before {purged.cutoff.isoformat()} "
               f"({len(purged.partitions_dropped)} partition(s) dropped)")
