"""`renkei jobs run-due`: every periodic job that is due, in one command (run it from a systemd timer
or cron, e.g. every hour; see docs/operations.md). Each job runs in its own transaction; its outcome
is printed (日本語 / English) and recorded in the audit log (``jobs.run``, target the job's name,
``after`` = its outcome), and the command exits 1 if any job failed (the others still ran).

Jobs, in order:

* ``service-retention``: remove the service probe results older than a year (:mod:`service.monitor`;
  the up and down intervals stay).
* ``resident-retention``: erase the key material (encrypted items, hashes, providers' identifiers) of the
  residents who left the portal more than ``RENKEI_RESIDENT_LEFT_RETENTION_DAYS`` (365) days ago
  (:func:`residents.portal_records.erase_left`); the row stays with its common ID.
* ``service-probe``, only when named (``--only service-probe``): probe every component of the
  platform once and record its up and down intervals. Probing is every minute, from its own timer
  running ``renkei service probe`` (docs/service.md), not from this hourly run.
* ``breach-reminders``: a reminder to the municipality's contacts of each personal-data breach whose 速報 or 確報
  deadline is two days away or passed and not recorded as submitted, once each (:func:`service.breaches.remind_due`).
* ``outbox``: deliver queued notifications by SMTP (skipped when RENKEI_SMTP_HOST is not set).
* ``usage-report``: once a month, last month's platform usage report (CSV) queued to the
  prefecture's contacts (:mod:`usage.monthly_mail`); delivered by the next ``outbox`` run.
* ``sign-in-events``: Keycloak's LOGIN events of the platform realm since the newest kept, kept in
  ``sign_in_event`` (:mod:`service.sign_ins`) for the monthly report's sign-ins (skipped when
  ``RENKEI_SIGN_INS_FROM_KEYCLOAK`` is off: the test app, whose other jobs run without Keycloak).
* ``monthly-report``: once a month, last month's report to the prefecture (月次運用報告: availability,
  incidents, maintenance, page views, searches, registrations, sign-ins, API calls, consent checks,
  inquiries; :mod:`service.monthly_report`) written and kept as xlsx and PDF, for the operator to
  review and send (``renkei service monthly-report send``).
* ``usage-partitions`` and ``usage-retention``: create the monthly partitions of raw usage events
  ahead (PostgreSQL), then drop raw events past ``RENKEI_USAGE_RETENTION_MONTHS`` (default 13: the
  current month and the 12 before it, so always at least a year is kept).
* ``request-log-retention``: delete request log files older than ``RENKEI_RETENTION_DAYS`` (365).
* ``linkage-retention``: archive the consent broker's linkage records older than
  ``RENKEI_LINKAGE_RETENTION_DAYS`` (365, at least 365) to ``RENKEI_LINKAGE_ARCHIVE_DIR`` (default
  ``<RENKEI_VAR_DIR>/linkage-archive``), then remove them (:func:`residents.consent.linkage.purge_linkages`).
* ``consent-expiry``: write an expiry record for each consent past its expiry that nothing ended
  (:func:`residents.consent.operations.expire_consents`; a consent reads 期限切れ from its expiry on
  before that too).
* ``people-reindex``: the people index (:mod:`tenancy.identity.people_index`) rebuilt from Keycloak
  once its last rebuild is ``RENKEI_PEOPLE_REINDEX_HOURS`` (24) old; skipped while it was never built
  (``renkei keycloak people-reindex`` builds it first).
* ``backup`` and ``check``: when ``RENKEI_BACKUP_DIR`` is set, once a day (no archive of today,
  UTC, in that folder yet), ``renkei backup`` then ``renkei check``; ``--no-backup`` leaves both
  out, ``--only check`` runs the check alone.
* ``consent-checkpoints``, after every run (also with ``--only``): verify the consent and linkage
  chains against their newest signed checkpoints (:func:`maintenance.check.check_consent`,
  the audit log's rule), then write a signed checkpoint of each chain's head and anchor into the
  same folder (``consent_record-checkpoint-….json``, ``linkage_record-checkpoint-….json``); a chain
  never written has none. A broken chain or a moved anchor fails the job and writes nothing.
* ``audit-checkpoint``, last, after every run (also with ``--only``): verify the audit chain
  against the newest signed checkpoint, record the job, then write a checkpoint of the head (that
  record included), signed with RENKEI_SIGNING_KEY, to ``RENKEI_AUDIT_CHECKPOINT_DIR`` (default
  ``<RENKEI_VAR_DIR>/audit-checkpoints``; file 0600, folder 0700). No signing key: the job fails
  naming ``renkei signing-key generate``.

Every checkpoint is also written to ``RENKEI_CHECKPOINT_COPY_DIR`` when set (the copy off the
database host that ``renkei check`` reads too). ``renkei jobs checkpoint``, run every minute by a
timer, writes the two checkpoint jobs' checkpoints only when due: records were appended since the
newest checkpoint and it is 5 minutes old or 1,000 records back (``--minutes``, ``--records``),
whichever comes first (:func:`maintenance.check.checkpoints_due`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.extensions import db
from core import audit, authz, checkpoints, request_context
from core.actor import Actor
from core.db import utcnow
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
    from maintenance import signing
    from usage.monthly_mail import queue_last_month

    from residents.consent.linkage import CHAINS

    def text(checkpoint) -> str:
        return json.dumps(checkpoint.data, ensure_ascii=False, sort_keys=True)

    newest = signing.find_checkpoints(current_app.config, with_backups=False).newest  # verified by the run that wrote it
    chains = [signing.find_checkpoints(current_app.config, name, with_backups=False).newest for name in CHAINS]
    result = queue_last_month(db.session, actor, checkpoint=text(newest) if newest else None,
                              chain_checkpoints=[text(found) for found in chains if found is not None])
    month = f"{result.month:%Y-%m}"
    if result.queued:
        return Outcome("done", f"{month} の利用実績報告を県の担当者宛てに送信待ちにしました",
                       f"usage report of {month} queued to the prefecture", {"month": month})
    reason_ja = {"already queued": "送付済み"}.get(result.reason, "県の団体に連絡先メールアドレスがありません")
    return Outcome("skipped", f"{month} の利用実績報告：{reason_ja}", f"usage report of {month}: {result.reason}",
                   {"month": month, "reason": result.reason})


def _sign_in_events(actor: Actor) -> Outcome:
    """Keycloak's LOGIN events kept in renkei's table (service.sign_ins), for the monthly report."""
    from admin.identity import identity_directory
    from service import sign_ins

    if not current_app.config.get("RENKEI_SIGN_INS_FROM_KEYCLOAK", True):
        return Outcome("skipped", "認証サーバーのサインインの記録は読まない設定です（RENKEI_SIGN_INS_FROM_KEYCLOAK）",
                       "sign-in events are not read from Keycloak (RENKEI_SIGN_INS_FROM_KEYCLOAK is off)")
    added = sign_ins.collect(db.session, identity_directory())
    return Outcome("done", f"認証サーバーのサインインの記録 {added} 件を取り込みました",
                   f"kept {added} new sign-in event(s) from Keycloak", {"added": added})


def _monthly_report(actor: Actor) -> Outcome:
    from admin.request_log import destination
    from service import monthly_report

    written = monthly_report.write_last_month(db.session, actor, destination(current_app.config))
    if written is None:
        return Outcome("skipped", "先月の月次運用報告は作成済みです", "last month's monthly report was written already")
    month = f"{written.month:%Y-%m}"
    return Outcome("done", f"{month} の月次運用報告を作成しました（送付は運営者が確認してから）",
                   f"monthly report of {month} written (the operator reviews and sends it)",
                   {"month": month, "report": written.id})


def _as_owner():
    """A session as the schema owner (RENKEI_DATABASE_OWNER_URL, else the app's own), committed at the end."""
    from maintenance.owner import owner_session

    return owner_session(current_app.config, db.session)


def _usage_partitions(actor: Actor) -> Outcome:
    from admin.api.usage import metering_settings
    from usage.metering import prepare_partitions

    with _as_owner() as session:  # DDL: the schema owner's connection (maintenance.owner)
        created = prepare_partitions(session, settings=metering_settings())
    return Outcome("done", f"利用実績のパーティションを {len(created)} 件作成しました",
                   f"created {len(created)} usage partition(s)" + (f": {', '.join(created)}" if created else ""),
                   {"created": created})


def _usage_retention(actor: Actor) -> Outcome:
    from admin.api.usage import metering_settings
    from usage.metering import purge_events

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


def _linkage_retention(actor: Actor) -> Outcome:
    from admin.commands.consent import archive_dir, purge_linkages_checkpointed

    days = int(current_app.config["RENKEI_LINKAGE_RETENTION_DAYS"])
    result = purge_linkages_checkpointed(actor, archive_dir(), days)
    if not result.purged:
        return Outcome("skipped", f"{days} 日を過ぎた連携記録はありません", f"no linkage record is older than {days} days",
                       {"retention_days": days})
    return Outcome("done", f"{days} 日を過ぎた連携記録 {result.purged} 件を {result.archive} に保存して削除しました",
                   f"archived {result.purged} linkage record(s) through #{result.through_seq} to {result.archive}, "
                   "then removed them",
                   {"purged": result.purged, "through_seq": result.through_seq, "archive": str(result.archive)})


def _consent_expiry(actor: Actor) -> Outcome:
    from residents.consent import operations as consent

    written = consent.expire_consents(db.session, actor)
    db.session.commit()
    if not written:
        return Outcome("skipped", "有効期限を過ぎた同意はありません", "no consent is past its expiry")
    return Outcome("done", f"有効期限を過ぎた同意 {len(written)} 件の期限切れを同意記録に書きました",
                   f"recorded the expiry of {len(written)} consent(s)", {"expired": len(written)})


def _deny_list(actor: Actor) -> Outcome:
    from tenancy.identity import denylist

    removed = denylist.purge(db.session)
    return Outcome("done", f"有効期限を過ぎた拒否リストの登録 {removed} 件を削除しました",
                   f"purged {removed} deny-list row(s) whose tokens have all expired", {"removed": removed})


def _people_reindex(actor: Actor) -> Outcome:
    """The people index rebuilt from Keycloak when its last rebuild is ``RENKEI_PEOPLE_REINDEX_HOURS``
    (24) old: whatever the admin events missed (a process down, events purged) is put right."""
    from tenancy.identity import people_index

    hours = float(current_app.config.get("RENKEI_PEOPLE_REINDEX_HOURS", 24))
    rebuilt = people_index.rebuilt_at(db.session)
    if rebuilt is None:
        return Outcome("skipped", "利用者の検索索引はまだ作られていません（`renkei keycloak people-reindex` で作成します。"
                                  "それまでは認証サーバーを直接検索します）",
                       "the people index was never built (`renkei keycloak people-reindex` builds it; until then "
                       "the search asks Keycloak)")
    if rebuilt > utcnow() - dt.timedelta(hours=hours):
        return Outcome("skipped", f"利用者の検索索引は {hours:g} 時間以内に再構築済みです",
                       f"the people index was rebuilt less than {hours:g} hour(s) ago")
    return reindex_people(actor)


def reindex_people(actor: Actor) -> Outcome:
    """Rebuild the people index from Keycloak now (the job, and `renkei keycloak people-reindex`)."""
    from admin.identity import identity_directory
    from tenancy.identity import people_index

    count = people_index.rebuild(db.session, identity_directory())
    audit.record(db.session, actor, "people.reindex", "people_index", "realm", after={"people": count})
    db.session.commit()
    return Outcome("done", f"利用者の検索索引を認証サーバーから再構築しました（{count} 人）",
                   f"rebuilt the people index from Keycloak ({count} people)", {"people": count})


def _api_client_retire(actor: Actor) -> Outcome:
    from admin.identity import identity_directory
    from tenancy.identity import api_clients

    retired = api_clients.retire_due(db.session, actor, identity_directory())
    return Outcome("done", f"重複期間を過ぎた API クライアントの旧シークレット {retired} 件を無効にしました",
                   f"disabled {retired} rotated API client secret(s) whose overlap has ended", {"retired": retired})


def _dataset_reminders(actor: Actor) -> Outcome:
    from catalogue import coverage

    queued = coverage.remind_overdue(db.session, actor)
    return Outcome("done", f"更新期限を過ぎたデータセットの督促 {queued} 件を送信待ちにしました",
                   f"queued {queued} reminder(s) for overdue datasets", {"queued": queued})


def _breach_reminders(actor: Actor) -> Outcome:
    from service import breaches

    queued = breaches.remind_due(db.session, actor)
    return Outcome("done", f"個人情報の漏えい等の報告期限の通知 {queued} 件を送信待ちにしました",
                   f"queued {queued} reminder(s) of breach report deadlines", {"queued": queued})


def _dataset_gauge(actor: Actor) -> Outcome:
    from catalogue import operations
    from usage import metering
    from usage.quotas import active_tenant_codes

    codes = list(active_tenant_codes(db.session))
    if not codes:
        return Outcome("done", "利用中の団体がありません", "no active tenant", {"tenants": 0})
    counts = operations.dataset_counts(db.session, codes)
    result = metering.record_registered_datasets(db.session, actor, counts, codes)
    return Outcome("done", f"{result.accepted} 団体のデータセット数を台帳から記録しました",
                   f"recorded the datasets gauge of {result.accepted} tenant(s) from the register",
                   {"tenants": result.accepted, "datasets": sum(counts.values())})


def _api_client_reconcile(actor: Actor) -> Outcome:
    from admin.identity import identity_directory
    from tenancy.identity import api_clients

    missing = api_clients.mark_missing(db.session, identity_directory())
    return Outcome("done", f"Keycloak に存在しない API クライアントの資格情報 {len(missing)} 件を利用不可にしました",
                   f"marked {len(missing)} API client credential(s) missing in Keycloak", {"missing": len(missing)})


def _audit_checkpoint(actor: Actor) -> Outcome:
    """Verify the chain against the newest signed checkpoint; the new checkpoint is written after this
    job's own record (:func:`write_audit_checkpoint`), so it covers the whole run."""
    from maintenance import signing
    from core.signing import private_dir
    from governance import audit as audit_log
    from governance.integrity import anchor_moved

    signing.signer(current_app.config)  # no key: fail now, naming the command that makes it
    private_dir(signing.checkpoint_dir(current_app.config), tighten=True)  # a folder that cannot be made: fail now
    found = signing.find_checkpoints(current_app.config, with_backups=False)
    if found.forged:
        source, refused = found.forged[0]
        return Outcome("failed", f"チェックポイント {source} の署名が一致しません: {refused.message_ja}",
                       f"checkpoint {source}: {refused.message_en}", {"forged": source})
    previous = found.newest
    result = audit_log.verification(db.session, actor, [previous.pair()] if previous else [])
    moved = anchor_moved(previous, result.anchor_seq, result.anchor_hash)
    if moved:
        return Outcome("failed", f"操作ログの削除位置が最新のチェックポイントと一致しません。チェックポイントは書き出しません: {moved}",
                       f"{moved}; no checkpoint written", {"anchor_seq": result.anchor_seq})
    if not result.intact:
        broken = result.broken
        return Outcome("failed", f"操作ログの連鎖が壊れています（#{broken.seq}）。チェックポイントは書き出しません",
                       f"the audit chain is broken at #{broken.seq}: {broken.reason}; no checkpoint written",
                       {"seq": broken.seq})
    return Outcome("done", f"操作ログを #{result.last_seq} まで検証しました。この記録の後にチェックポイントを書き出します",
                   f"audit chain verified through #{result.last_seq}; the checkpoint follows this record",
                   {"verified_seq": result.last_seq, "verified_hash": result.head_hash,
                    "previous_checkpoint": previous.seq if previous else None})


def _consent_checkpoints(actor: Actor) -> Outcome:
    """Verify the consent and linkage chains against their newest checkpoints, then checkpoint them."""
    from maintenance import check, signing
    from core.signing import private_dir
    from residents.consent.linkage import CHAINS

    authz.authorize(actor, "system.check")
    signer = signing.signer(current_app.config)  # no key: fail now, naming the command that makes it
    folder = private_dir(signing.checkpoint_dir(current_app.config), tighten=True)  # a folder that cannot be made: fail now
    found = {name: signing.find_checkpoints(current_app.config, name, with_backups=False) for name in CHAINS}
    report = check.SystemReport()
    statuses = check.check_consent(db.session, report, found)
    db.session.rollback()
    if not report.ok:
        return Outcome("failed", f"{report.first.message_ja}。チェックポイントは書き出しません",
                       f"{report.first.message_en}; no checkpoint written")
    written = check.write_consent_checkpoints(statuses, signer, folder, copy=signing.checkpoint_copy_dir(current_app.config),
                                              database=signing.database_identity(current_app.config))
    if not written:
        return Outcome("skipped", "同意記録・連携記録はまだありません（チェックポイントなし）",
                       "no consent or linkage record yet: no checkpoint")
    listing = ", ".join(f"{name} #{seq}" for name, seq, _path in written)
    return Outcome("done", f"同意記録・連携記録を検証し、署名付きチェックポイントを書き出しました：{listing}",
                   f"consent and linkage chains verified; signed checkpoints written: {listing}",
                   {name: {"seq": seq, "file": str(path)} for name, seq, path in written})


def write_audit_checkpoint(actor: Actor, verified: tuple[int, str] | None = None, *, signer=None) -> tuple[int, str, Path]:
    """Verify the records after ``verified`` (seq, hash; everything when None) and write a signed
    checkpoint of the head and the purge anchor; (seq, hash, file). Refuses (:class:`ChainBroken`)
    a chain that does not verify."""
    from maintenance import signing
    from core import checkpoints
    from governance import audit as audit_log
    from governance.errors import ChainBroken

    signer = signer or signing.signer(current_app.config)
    result = audit_log.verification_since(db.session, actor, verified) if verified else audit_log.verification(db.session, actor)
    db.session.rollback()
    if not result.intact:
        raise ChainBroken(f"the audit chain is broken at {result.broken.describe()}: no checkpoint written",
                          f"操作ログの連鎖が壊れています（{result.broken.describe()}）。チェックポイントは書き出しません")
    path = signing.write_checkpoint(current_app.config, checkpoints.document(
        "audit", result.last_seq, result.head_hash, dt.datetime.now(dt.timezone.utc), signer,
        anchor=(result.anchor_seq, result.anchor_hash), database=signing.database_identity(current_app.config)))
    return result.last_seq, result.head_hash, path


def _run_command(command: click.Command, actor: Actor, **params) -> int:
    """Run another ``renkei`` command for the same person; its exit code (0: success)."""
    from maintenance.signing import is_maintenance

    who = ({"as_user": None, "roles": (), "maintenance_identity": True} if is_maintenance(actor)
           else {"as_user": actor.subject, "roles": tuple(sorted(actor.roles))})
    try:
        click.get_current_context().invoke(command, **who, **params)
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
    from core.signing import private_dir

    folder = _backup_folder()
    if folder is None:
        return Outcome("skipped", "RENKEI_BACKUP_DIR が未設定のため夜間バックアップは行いません",
                       "RENKEI_BACKUP_DIR is not set: no nightly backup")
    now = dt.datetime.now(dt.timezone.utc)
    if any(not name.stem.endswith(DATABASE_ONLY) for name in folder.glob(f"renkei-backup-{now:%Y%m%d}T*.tar")):
        return Outcome("skipped", "本日のバックアップは作成済みです", "today's backup exists")
    private_dir(folder, tighten=True)
    output = folder / f"renkei-backup-{now:%Y%m%dT%H%M%SZ}.tar"
    code = _run_command(backup.group, actor, output=output, no_realm=False)
    if code:
        return _database_only(actor, output.with_name(f"{output.stem}{DATABASE_ONLY}.tar"), code)
    return Outcome("done", f"バックアップを作成しました：{output}", f"backup written: {output}", {"file": str(output)})


DATABASE_ONLY = "-database-only"


def _database_only(actor: Actor, output: Path, code: int) -> Outcome:
    """The whole backup failed (most often Keycloak unreachable: the realm could not be read): the
    database is still archived, without the realm, so a night with Keycloak down is not a night
    without a backup. The job stays failed, and the next run tries the whole backup again (an
    archive named ``…-database-only`` does not count as today's)."""
    from admin.commands import backup

    if _run_command(backup.group, actor, output=output, no_realm=True):
        return Outcome("failed", f"バックアップに失敗しました（終了コード {code}）。データベースのみのバックアップも作成できませんでした",
                       f"renkei backup failed (exit {code}), and so did the database-only backup")
    return Outcome("failed",
                   f"Keycloak のレルムを含むバックアップは作成できませんでした（終了コード {code}）。データベースのみのバックアップを"
                   f"作成しました：{output}。次回の実行で、レルムを含むバックアップをもう一度作成します",
                   f"the backup with the Keycloak realm failed (exit {code}); a database-only backup was written: {output}. "
                   "The next run tries the whole backup again", {"file": str(output)})


def _check(actor: Actor) -> Outcome:
    from admin.commands import check

    code = _run_command(check.group, actor, manifest_file=None, checkpoint_dir=None)
    if code:
        return Outcome("failed", f"整合性検査で問題が見つかりました（終了コード {code}）", f"renkei check found a problem (exit {code})")
    return Outcome("done", "整合性検査に問題はありません", "renkei check: no problem found")


def _service_probe(actor: Actor) -> Outcome:
    from admin.service.checks import probe_round

    outcome = probe_round()
    down = sorted(key for key, state in outcome["states"].items() if state == "down")
    return Outcome("done", f"稼働監視：{len(outcome['states'])} 件を計測（停止中 {len(down)} 件）、1 年を過ぎた計測結果 "
                   f"{outcome['purged']} 件を削除しました",
                   f"probed {len(outcome['states'])} component(s) ({len(down)} down); purged {outcome['purged']} "
                   "probe result(s) older than a year", {"down": down, "purged": outcome["purged"]})


def _service_retention(actor: Actor) -> Outcome:
    from service import sign_ins
    from service.monitor import purge_probes

    purged = purge_probes(db.session)
    sign_ins_purged = sign_ins.purge(db.session)
    return Outcome("done", f"1 年を過ぎた稼働監視の計測結果 {purged} 件とサインインの記録 {sign_ins_purged} 件を削除しました",
                   f"purged {purged} service probe result(s) and {sign_ins_purged} sign-in(s) older than a year",
                   {"purged": purged, "sign_ins_purged": sign_ins_purged})


def _realm_accounts_deleter(actor: Actor):
    """The residents' realm accounts of residents due for erasure deleted first, when this host may act as
    Keycloak's master administrator (RENKEI_KEYCLOAK_ADMIN_PASSWORD set) and the residents' realm is set up;
    else None (`renkei residents delete-left-accounts` does it where the password is)."""
    config = current_app.config
    if not config.get("RENKEI_KEYCLOAK_ADMIN_PASSWORD") or not config.get("RENKEI_RESIDENTS_REALM"):
        return None

    def delete(due) -> None:
        from admin.portal.door import realm_settings
        from maintenance.realm import realm_admin
        from residents import signin
        from residents.models import ResidentProvider

        if db.session.scalar(sa.select(ResidentProvider.id).limit(1)) is None:
            return
        signin.delete_realm_accounts(db.session, actor, realm_admin(config), realm_settings(), due)

    return delete


def _resident_retention(actor: Actor) -> Outcome:
    from residents.portal_records import DEFAULT_RETENTION_DAYS, erase_left

    days = int(current_app.config.get("RENKEI_RESIDENT_LEFT_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
    deleter = _realm_accounts_deleter(actor)
    erased = erase_left(db.session, actor, days=days, delete_accounts=deleter)
    if not erased:
        return Outcome("skipped", f"退会から {days} 日を過ぎた住民はいません", f"no resident left over {days} days ago",
                       {"erased": 0, "retention_days": days})
    # without the master password the realm's accounts stay: said, for the operator's delete-left-accounts
    note_ja, note_en = ("", "") if deleter is not None else (
        "（住民用レルムのアカウントは削除していません: RENKEI_KEYCLOAK_ADMIN_PASSWORD がありません）",
        " (their residents' realm accounts not deleted: no RENKEI_KEYCLOAK_ADMIN_PASSWORD here)")
    return Outcome("done", f"退会から {days} 日を過ぎた住民 {erased} 人の個人情報と鍵情報を消去しました{note_ja}",
                   f"erased the items and key material of {erased} resident(s) who left over {days} days ago{note_en}",
                   {"erased": erased, "retention_days": days, "realm_accounts_deleted": deleter is not None})


# run only when named (--only): probing is every minute, from its own timer (renkei service probe)
ONLY_WHEN_NAMED = ("service-probe",)


def _event_reminders(actor: Actor) -> Outcome:
    from secretariat import events

    queued = events.queue_reminders(db.session, actor)
    return Outcome("done", f"イベントの開催案内 {queued} 件を送信待ちにしました",
                   f"queued {queued} event reminder(s)", {"queued": queued})


def _inquiry_retention(actor: Actor) -> Outcome:
    from admin.commands.inquiries import purge_due

    removed = purge_due(actor)
    days = int(current_app.config.get("RENKEI_INQUIRY_RETENTION_DAYS", 1095))
    return Outcome("done", f"完了から {days} 日を過ぎた問合せ {removed} 件の個人情報を削除しました",
                   f"removed the personal data of {removed} inquiry(ies) closed over {days} days ago",
                   {"removed": removed, "retention_days": days})


JOBS: list[tuple[str, Callable[[Actor], Outcome]]] = [
    ("service-probe", _service_probe),  # only with --only (ONLY_WHEN_NAMED)
    ("service-retention", _service_retention),
    ("resident-retention", _resident_retention),
    ("dataset-reminders", _dataset_reminders),  # before the outbox, which then sends them
    ("event-reminders", _event_reminders),  # before the outbox, which then sends them
    ("breach-reminders", _breach_reminders),  # before the outbox, which then sends them
    ("inquiry-retention", _inquiry_retention),
    ("dataset-gauge", _dataset_gauge),  # the datasets gauge from the register, before the usage report
    ("outbox", _outbox),
    ("usage-report", _usage_report),
    ("sign-in-events", _sign_in_events),  # before the monthly report, which counts them
    ("monthly-report", _monthly_report),
    ("usage-partitions", _usage_partitions),
    ("usage-retention", _usage_retention),
    ("request-log-retention", _request_log_retention),
    ("linkage-retention", _linkage_retention),
    ("consent-expiry", _consent_expiry),  # before consent-checkpoints, whose checkpoint then covers it
    ("deny-list", _deny_list),
    ("people-reindex", _people_reindex),
    ("api-client-retire", _api_client_retire),
    ("api-client-reconcile", _api_client_reconcile),
    ("backup", _backup),
    ("check", _check),
    ("consent-checkpoints", _consent_checkpoints),  # after every run, as the audit checkpoint
    ("audit-checkpoint", _audit_checkpoint),  # last: its checkpoint covers every record of the run
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
        run_id = request_context.new_id("job")  # the run's request id: its audit record and its log lines carry it
        with request_context.bound(run_id):
            outcome = _run_one(job, dataclasses.replace(actor, request_id=run_id))
            _record(dataclasses.replace(actor, request_id=run_id), name, outcome)
        if name == "audit-checkpoint" and outcome.status == "done":
            outcome = _write_checkpoint(actor, outcome)
        mark = {"done": "OK  ", "skipped": "SKIP", "failed": "FAIL"}[outcome.status]
        click.echo(f"[{mark}] {name}: {outcome.message_ja} / {outcome.message_en}", err=outcome.status == "failed")
        results.append((name, outcome))
    return results


def _run_one(job: Callable[[Actor], Outcome], actor: Actor) -> Outcome:
    """One job in its own transaction: its outcome, a failure of its own never stopping the others."""
    try:
        outcome = job(actor)
    except DomainError as error:
        db.session.rollback()
        return Outcome("failed", error.message_ja, error.message_en)
    except Exception as error:  # one job's fault (disk, Keycloak, SMTP) must not stop the others
        db.session.rollback()
        return Outcome("failed", f"予期しないエラー：{type(error).__name__}: {error}", f"{type(error).__name__}: {error}")
    if outcome.status == "failed":
        db.session.rollback()
    else:
        db.session.flush()
    return outcome


def _write_checkpoint(actor: Actor, verified: Outcome) -> Outcome:
    """The checkpoint after the run's last record (the audit-checkpoint job's own): a failure here
    is printed and makes the command exit 1 (the job's record already says what was verified)."""
    try:
        seq, _digest, path = write_audit_checkpoint(actor, (verified.details["verified_seq"], verified.details["verified_hash"]))
    except (DomainError, OSError) as error:
        failed = Outcome("failed", getattr(error, "message_ja", f"チェックポイントを書き出せません：{error}"),
                         getattr(error, "message_en", f"cannot write the checkpoint: {error}"))
        db.session.rollback()
        _record(actor, "audit-checkpoint", failed)  # no checkpoint: the log says so
        return failed
    return Outcome("done", f"操作ログのチェックポイント #{seq} を {path} に書き出しました（署名付き）",
                   f"signed audit checkpoint #{seq} written to {path}", {"seq": seq, "file": str(path)})


CHECKPOINT_MINUTES = checkpoints.DUE_MINUTES  # the owner's window: what is written after the newest checkpoint is unproven
CHECKPOINT_RECORDS = checkpoints.DUE_RECORDS


@group.command("checkpoint")
@click.option("--minutes", type=click.IntRange(1, 24 * 60), default=CHECKPOINT_MINUTES, show_default=True,
              help="Due when the newest checkpoint is this many minutes old and records were appended since.")
@click.option("--records", type=click.IntRange(1, 10**9), default=CHECKPOINT_RECORDS, show_default=True,
              help="Due when a chain has this many records after its newest checkpoint.")
@with_appcontext
@acting(authz.OPERATOR)
def jobs_checkpoint(minutes: int, records: int, actor) -> None:
    """Write the audit, consent and linkage chains' signed checkpoints (and their copies) when due:
    records appended since the newest and it is MINUTES old or RECORDS back, whichever first. Run it
    every minute (docs/operations.md); when not due it writes and records nothing."""
    from maintenance import check, signing
    from residents.consent.linkage import CHAINS

    authz.authorize(actor, "system.check")
    found = {name: signing.find_checkpoints(current_app.config, name, with_backups=False)
             for name in (signing.AUDIT_CHAIN, *CHAINS)}
    why = check.checkpoints_due(db.session, found, minutes=minutes, records=records)
    db.session.rollback()
    if why is None:
        click.echo("チェックポイントは不要です（新しい記録がないか、期限前）/ checkpoints not due")
        return
    click.echo(f"チェックポイントを書き出します / checkpoints due: {why}")
    results = run_jobs(actor, ["consent-checkpoints", "audit-checkpoint"])
    if any(outcome.status == "failed" for _name, outcome in results):
        raise SystemExit(1)


@group.command("run-due")
@click.option("--only", "only", multiple=True, type=click.Choice([name for name, _ in JOBS]),
              help="Run only this job (repeatable).")
@click.option("--no-backup", is_flag=True, help="Leave out the daily backup and check.")
@with_appcontext
@acting(authz.OPERATOR, maintenance=True)
def jobs_run_due(only: tuple[str, ...], no_backup: bool, actor) -> None:
    """Run every due job: outbox, monthly usage report, usage partitions and retention, request log
    retention, consent and audit checkpoints, daily backup and check."""
    names = list(only) or [name for name, _ in JOBS if not (no_backup and name in ("backup", "check"))
                           and name not in ONLY_WHEN_NAMED]
    # after every run, whatever ran: signed checkpoints of the chains outside the database
    names += ["consent-checkpoints", "audit-checkpoint"]
    results = run_jobs(actor, names)
    if any(outcome.status == "failed" for _name, outcome in results):
        raise SystemExit(1)
