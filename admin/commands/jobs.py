"""`renkei jobs run-due`: every periodic job that is due, in one command (run it from a systemd timer
or cron, e.g. every hour; see docs/operations.md). Each job runs in its own transaction; its outcome
is printed (日本語 / English) and recorded in the audit log (``jobs.run``, target the job's name,
``after`` = its outcome), and the command exits 1 if any job failed (the others still ran).

Jobs, in order:

* ``outbox``: deliver queued notifications by SMTP (skipped when RENKEI_SMTP_HOST is not set).
* ``usage-report``: once a month, last month's platform usage report (CSV) queued to the
  prefecture's contacts (:mod:`tenancy.usage.monthly_mail`); delivered by the next ``outbox`` run.
* ``usage-partitions`` and ``usage-retention``: create the monthly partitions of raw usage events
  ahead (PostgreSQL), then drop raw events past ``RENKEI_USAGE_RETENTION_MONTHS`` (default 13: the
  current month and the 12 before it, so always at least a year is kept).
* ``request-log-retention``: delete request log files older than ``RENKEI_RETENTION_DAYS`` (365).
* ``audit-checkpoint``: verify the audit chain and write its head to
  ``RENKEI_AUDIT_CHECKPOINT_DIR`` (default ``<RENKEI_VAR_DIR>/audit-checkpoints``), when it moved.
* ``backup`` and ``check``: when ``RENKEI_BACKUP_DIR`` is set, once a day (no archive of today,
  UTC, in that folder yet), ``renkei backup`` then ``renkei check``; ``--no-backup`` leaves both
  out, ``--only check`` runs the check alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.extensions import db
from core import audit, authz
from core.actor import Actor
from core.errors import DomainError


@dataclasses.dataclass
class Outcome:
    status: str  # done, skipped, failed
    message_ja: str
    message_en: str
    details: dict = dataclasses.field(default_factory=dict)


@click.group("jobs")
def group() -> None:
    """Periodic jobs (定期処理)."""


def _outbox(actor: Actor) -> Outcome:
    from admin.commands.onboarding import smtp_sender
    from core.outbox import deliver_pending

    sender = smtp_sender()
    if sender is None:
        return Outcome("skipped", "SMTP が未設定のため通知は送信待ちのままです",
                       "RENKEI_SMTP_HOST is not set: messages stay queued")
    sent, failed = deliver_pending(db.session, sender)
    return Outcome("done" if not failed else "failed", f"通知 {sent} 件送信、{failed} 件失敗（再送対象）",
                   f"{sent} notification(s) sent, {failed} failed (retried next time)", {"sent": sent, "failed": failed})


def _usage_report(actor: Actor) -> Outcome:
    from tenancy.usage.monthly_mail import queue_last_month

    result = queue_last_month(db.session, actor)
    month = f"{result.month:%Y-%m}"
    if result.queued:
        return Outcome("done", f"{month} の利用実績報告を県の担当者宛てに送信待ちにしました",
                       f"usage report of {month} queued to the prefecture", {"month": month})
    reason_ja = {"already queued": "送付済み"}.get(result.reason, "県の団体に連絡先メールアドレスがありません")
    return Outcome("skipped", f"{month} の利用実績報告：{reason_ja}", f"usage report of {month}: {result.reason}",
                   {"month": month, "reason": result.reason})


def _as_owner():
    """A session as the schema owner (RENKEI_DATABASE_OWNER_URL, else the app's own), committed at the end."""
    from admin.maintenance.owner import owner_session

    return owner_session(current_app.config, db.session)


def _usage_partitions(actor: Actor) -> Outcome:
    from admin.api.usage import metering_settings
    from tenancy.usage.metering import prepare_partitions

    with _as_owner() as session:  # DDL: the schema owner's connection (admin.maintenance.owner)
        created = prepare_partitions(session, settings=metering_settings())
    return Outcome("done", f"利用実績のパーティションを {len(created)} 件作成しました",
                   f"created {len(created)} usage partition(s)" + (f": {', '.join(created)}" if created else ""),
                   {"created": created})


def _usage_retention(actor: Actor) -> Outcome:
    from admin.api.usage import metering_settings
    from tenancy.usage.metering import purge_events

    with _as_owner() as session:  # partitions are detached and dropped: the schema owner's connection
        purged = purge_events(session, actor, settings=metering_settings())
    return Outcome("done", f"保存期間を過ぎた利用実績 {purged.deleted} 件を削除しました（パーティション {len(purged.partitions_dropped)} 件）",
                   f"purged {purged.deleted} event(s) before {purged.cutoff.isoformat()} "
                   f"({len(purged.partitions_dropped)} partition(s) dropped)",
                   {"deleted": purged.deleted, "cutoff": purged.cutoff.isoformat(), "partitions": purged.partitions_dropped})


def _request_log_retention(actor: Actor) -> Outcome:
    from admin import request_log

    config = current_app.config
    destination = config.get("RENKEI_REQUEST_LOG", "stdout")
    if destination in ("", "off", "stdout"):
        return Outcome("skipped", "リクエストログはファイルに書いていません（標準出力側で保存期間を管理してください）",
                       f"the request log is not written to files ({destination or 'off'}): nothing to purge")
    days = int(config.get("RENKEI_RETENTION_DAYS", request_log.DEFAULT_RETENTION_DAYS))
    removed = request_log.purge(destination, days)
    return Outcome("done", f"{days} 日を過ぎたリクエストログ {len(removed)} ファイルを削除しました",
                   f"deleted {len(removed)} request log file(s) older than {days} days", {"removed": removed})


def _deny_list(actor: Actor) -> Outcome:
    from tenancy.identity import denylist

    removed = denylist.purge(db.session)
    return Outcome("done", f"有効期限を過ぎた拒否リストの登録 {removed} 件を削除しました",
                   f"purged {removed} deny-list row(s) whose tokens have all expired", {"removed": removed})


def _api_client_retire(actor: Actor) -> Outcome:
    from admin.identity import identity_directory
    from tenancy.identity import api_clients

    retired = api_clients.retire_due(db.session, actor, identity_directory())
    return Outcome("done", f"重複期間を過ぎた API クライアントの旧シークレット {retired} 件を無効にしました",
                   f"disabled {retired} rotated API client secret(s) whose overlap has ended", {"retired": retired})


def _dataset_reminders(actor: Actor) -> Outcome:
    from tenancy.datasets import operations

    queued = operations.remind_overdue(db.session, actor)
    return Outcome("done", f"更新期限を過ぎたデータセットの督促 {queued} 件を送信待ちにしました",
                   f"queued {queued} reminder(s) for overdue datasets", {"queued": queued})


def _audit_checkpoint(actor: Actor) -> Outcome:
    from admin.commands.check import default_checkpoint_dir
    from governance import audit as audit_log
    from governance.integrity import latest_checkpoint

    folder = default_checkpoint_dir()
    previous = latest_checkpoint(folder)
    result = audit_log.verification(db.session, actor, [(previous.seq, previous.hash)] if previous else [])
    if not result.intact:
        broken = result.broken
        return Outcome("failed", f"操作ログの連鎖が壊れています（#{broken.seq}）。チェックポイントは書き出しません",
                       f"the audit chain is broken at #{broken.seq}: {broken.reason}; no checkpoint written",
                       {"seq": broken.seq})
    if previous is not None and previous.seq == result.last_seq:
        return Outcome("skipped", f"操作ログは前回のチェックポイント（#{result.last_seq}）から増えていません",
                       f"no audit record since the last checkpoint (#{result.last_seq})")
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    path = folder / f"audit-checkpoint-{now:%Y%m%dT%H%M%SZ}.json"
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"seq": result.last_seq, "hash": result.head_hash, "at": now.isoformat()}) + "\n",
                       encoding="utf-8")
    partial.replace(path)
    return Outcome("done", f"操作ログのチェックポイント #{result.last_seq} を {path} に書き出しました",
                   f"audit checkpoint #{result.last_seq} written to {path}",
                   {"seq": result.last_seq, "hash": result.head_hash, "file": str(path)})


def _run_command(command: click.Command, actor: Actor, **params) -> int:
    """Run another ``renkei`` command for the same person; its exit code (0: success)."""
    try:
        click.get_current_context().invoke(command, as_user=actor.subject, roles=tuple(sorted(actor.roles)), **params)
    except SystemExit as stop:
        return int(stop.code or 0)
    except click.ClickException as error:
        click.echo(error.format_message(), err=True)
        return 1
    return 0


def _backup_folder() -> Path | None:
    configured = current_app.config.get("RENKEI_BACKUP_DIR") or os.environ.get("RENKEI_BACKUP_DIR")
    return Path(configured) if configured else None


def _backup(actor: Actor) -> Outcome:
    from admin.commands import backup

    folder = _backup_folder()
    if folder is None:
        return Outcome("skipped", "RENKEI_BACKUP_DIR が未設定のため夜間バックアップは行いません",
                       "RENKEI_BACKUP_DIR is not set: no nightly backup")
    now = dt.datetime.now(dt.timezone.utc)
    if any(folder.glob(f"renkei-backup-{now:%Y%m%d}T*.tar")):
        return Outcome("skipped", "本日のバックアップは作成済みです", "today's backup exists")
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / f"renkei-backup-{now:%Y%m%dT%H%M%SZ}.tar"
    code = _run_command(backup.group, actor, output=output, no_realm=False)
    if code:
        return Outcome("failed", f"バックアップに失敗しました（終了コード {code}）", f"renkei backup failed (exit {code})")
    return Outcome("done", f"バックアップを作成しました：{output}", f"backup written: {output}", {"file": str(output)})


def _check(actor: Actor) -> Outcome:
    from admin.commands import check

    code = _run_command(check.group, actor, manifest_file=None, checkpoint_dir=None)
    if code:
        return Outcome("failed", f"整合性検査で問題が見つかりました（終了コード {code}）", f"renkei check found a problem (exit {code})")
    return Outcome("done", "整合性検査に問題はありません", "renkei check: no problem found")


JOBS: list[tuple[str, Callable[[Actor], Outcome]]] = [
    ("dataset-reminders", _dataset_reminders),  # before the outbox, which then sends them
    ("outbox", _outbox),
    ("usage-report", _usage_report),
    ("usage-partitions", _usage_partitions),
    ("usage-retention", _usage_retention),
    ("request-log-retention", _request_log_retention),
    ("deny-list", _deny_list),
    ("api-client-retire", _api_client_retire),
    ("audit-checkpoint", _audit_checkpoint),
    ("backup", _backup),
    ("check", _check),
]


def _record(actor: Actor, name: str, outcome: Outcome) -> None:
    audit.record(db.session, actor, "jobs.run", "job", name,
                 after={"status": outcome.status, "message": outcome.message_en, **outcome.details})
    db.session.commit()


def run_jobs(actor: Actor, names: list[str]) -> list[tuple[str, Outcome]]:
    results = []
    for name, job in JOBS:
        if name not in names:
            continue
        if name == "check" and "backup" in names and dict(results).get("backup", Outcome("", "", "")).status != "done":
            continue  # the nightly check follows the nightly backup (`--only check` runs it alone)
        try:
            outcome = job(actor)
            if outcome.status == "failed":
                db.session.rollback()
            else:
                db.session.flush()
        except DomainError as error:
            db.session.rollback()
            outcome = Outcome("failed", error.message_ja, error.message_en)
        except Exception as error:  # one job's fault (disk, Keycloak, SMTP) must not stop the others
            db.session.rollback()
            outcome = Outcome("failed", f"予期しないエラー：{type(error).__name__}: {error}", f"{type(error).__name__}: {error}")
        _record(actor, name, outcome)
        mark = {"done": "OK  ", "skipped": "SKIP", "failed": "FAIL"}[outcome.status]
        click.echo(f"[{mark}] {name}: {outcome.message_ja} / {outcome.message_en}", err=outcome.status == "failed")
        results.append((name, outcome))
    return results


@group.command("run-due")
@click.option("--only", "only", multiple=True, type=click.Choice([name for name, _ in JOBS]),
              help="Run only this job (repeatable).")
@click.option("--no-backup", is_flag=True, help="Leave out the daily backup and check.")
@with_appcontext
@acting(authz.OPERATOR)
def jobs_run_due(only: tuple[str, ...], no_backup: bool, actor) -> None:
    """Run every due job: outbox, monthly usage report, usage partitions and retention, request log
    retention, audit checkpoint, daily backup and check."""
    names = list(only) or [name for name, _ in JOBS if not (no_backup and name in ("backup", "check"))]
    results = run_jobs(actor, names)
    if any(outcome.status == "failed" for _name, outcome in results):
        raise SystemExit(1)
