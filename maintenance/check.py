"""``renkei check``: the whole system's integrity, for after a restore and for a nightly job.

In order, each stopping at its first problem (the report names the first problem of all):

1. ``audit``: the audit chain verifies (:mod:`governance.audit`), against the newest signed
   checkpoint found in the checkpoint folder and the newest backup (:func:`check_audit`) and,
   with a manifest, against the backup's head; a checkpoint whose signature fails is a problem;
   ``consent``: the consent records' and the linkage records' chains verify
   (:mod:`residents.consent.linkage`), each against its newest signed checkpoint and the
   manifest's (:func:`check_consent`); ``archives``: every archive a purge recorded is where it was
   written (or in its chain's archive folder) with the SHA-256 recorded then (:func:`check_archives`);
2. ``runs``, ``years``, ``payments``, ``closed years``, ``accounts``: :mod:`billing.integrity`;
3. ``usage``: every day and month usage aggregate, and every per-dataset month figure, of the
   periods whose events are still kept equals its events summed again
   (:mod:`usage.integrity`); each difference is named;
4. ``resident keys``: the residents' key ring reads every resident's items (:func:`check_resident_keys`);
5. ``manifest`` (when one is given): the row count of every table and the ledger totals of every
   fiscal year equal the backup's. The audit log may have grown since (a restore records
   itself): its records up to the backup's head are counted instead.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from maintenance import archive
from billing import integrity as billing_integrity
from core import authz, chain, chain_archive, checkpoints
from core import signing as signing_keys
from core.actor import Actor
from governance import integrity as governance_integrity
from residents.consent import linkage as consent_linkage
from usage import integrity as usage_integrity, metering
from usage.metering import MeteringSettings

if TYPE_CHECKING:
    from maintenance import signing
    from residents.crypto import Keyring

SystemReport = billing_integrity.Report  # the ledger's report, extended with the chain and the manifest


def _check_manifest(session: Session, manifest: dict[str, Any], report: SystemReport, actor: Actor) -> None:
    connection = session.connection()
    counts = archive.table_counts(connection)
    head_seq = int((manifest.get("audit_head") or {}).get("seq") or 0)
    wanted = manifest.get("tables") or {}
    report.checked["tables against the manifest"] = len(wanted)
    for table, expected in sorted(wanted.items()):
        actual = counts.get(table)
        if table == "audit_record" and actual is not None:
            actual = archive.audit_records_through(connection, head_seq)
        if actual is None:
            report.add("manifest", f"table {table} is missing (the backup had {expected} rows)",
                       f"テーブル {table} がありません（バックアップ時 {expected} 行）。")
            return
        if actual != expected:
            report.add("manifest", f"table {table} has {actual} rows; the backup had {expected}",
                       f"テーブル {table} は {actual} 行ですが、バックアップ時は {expected} 行でした。")
            return
    totals = billing_integrity.ledger_totals(session, actor)
    for year, expected in sorted((manifest.get("ledger_totals") or {}).items()):
        actual = totals.get(year)
        if actual != expected:
            report.add("manifest", f"FY{year} ledger totals are {actual}; the backup had {expected}",
                       f"{year}年度の帳簿合計 {actual} がバックアップ時 {expected} と一致しません。")
            return


REALM_COUNT_NAMES = {"users": ("users", "利用者"), "service_accounts": ("service accounts", "サービスアカウント"),
                     "groups": ("groups", "グループ"), "realm_roles": ("realm roles", "レルムロール"),
                     "clients": ("clients", "クライアント")}


def _check_realm(manifest: dict[str, Any], realm_counts: dict[str, int] | str, report: SystemReport) -> None:
    """The Keycloak realm's counts now (or why they could not be read) against the backup's."""
    realm = manifest["realm"]
    if isinstance(realm_counts, str):
        report.add("realm", f"the Keycloak realm {realm['name']} could not be compared with the backup: {realm_counts}",
                   f"Keycloak のレルム {realm['name']} をバックアップと照合できませんでした: {realm_counts}")
        return
    wanted = realm.get("counts") or {}
    report.checked["realm counts against the manifest"] = len(wanted)
    for key, expected in sorted(wanted.items()):
        actual = realm_counts.get(key)
        en, ja = REALM_COUNT_NAMES.get(key, (key, key))
        if actual != expected:
            report.add("realm", f"the Keycloak realm {realm['name']} has {actual} {en}; the backup had {expected}",
                       f"Keycloak のレルム {realm['name']} の{ja}は {actual} ですが、バックアップ時は {expected} でした。")
            return


def _report_usage(report: SystemReport, result: "usage_integrity.AggregateCheck", what: str, more_en: str,
                  more_ja: str) -> None:
    report.checked[f"{what} from {result.since.isoformat()}"] = result.periods
    for difference in result.differences:
        report.add("usage", *difference.describe())
    if result.total_differences > len(result.differences):
        more = result.total_differences - len(result.differences)
        report.add("usage", f"and {more:,} more {more_en} that differ from their events",
                   f"ほかに {more:,} 件の{more_ja}がイベントと一致しません。")


def _check_usage(session: Session, report: SystemReport, settings: MeteringSettings | None) -> None:
    """Usage aggregates and the per-dataset month figures against the kept raw events: every
    difference named (the first :data:`usage_integrity.MAX_LISTED` of each, then how many more)."""
    settings = settings or MeteringSettings()  # the shell hands in the app's; else the default retention
    cutoff = metering.retention_cutoff(settings=settings)
    _report_usage(report, usage_integrity.check_aggregates(session, cutoff), "usage aggregates",
                  "usage aggregates", "利用実績集計")
    _report_usage(report, usage_integrity.check_dataset_months(session, cutoff), "usage by dataset",
                  "usage figures by dataset", "データセット別利用実績")


def check_audit(session: Session, actor: Actor, report: SystemReport, found: "signing.Found | None",
                manifest: dict[str, Any] | None) -> None:
    """The audit chain against the newest signed checkpoint renkei can read (``found``:
    :func:`maintenance.signing.find_checkpoints`) and the manifest's head. A checkpoint file
    or backup whose signature fails is a problem in itself: someone wrote where renkei keeps them."""
    pairs = []
    for source, refused in (found.forged if found else []):
        report.add("audit", f"{source}: {refused.message_en}", f"{source}: {refused.message_ja}")
    if found is not None and found.newest is not None:
        pairs.append(found.newest)
        report.checked["audit checkpoint"] = found.newest.describe()
    if found is not None and found.unsigned:
        report.checked["unsigned checkpoint files ignored"] = len(found.unsigned)
    if manifest is not None and (manifest.get("audit_head") or {}).get("seq"):
        head = manifest["audit_head"]
        pairs.append(checkpoints.Checkpoint("audit", int(head["seq"]), head["hash"], dt.datetime.now(dt.timezone.utc),
                                            "backup manifest"))
    verification = governance_integrity.check_chain(session, actor, pairs)
    report.checked["audit records"] = verification.checked
    if verification.broken is not None:
        report.add("audit", f"the audit log is broken at {verification.broken.describe()}",
                   f"操作ログの改ざん・欠落を検出しました: {verification.broken.describe()}")
    moved = governance_integrity.anchor_moved(found.newest if found else None, verification.anchor_seq, verification.anchor_hash)
    if moved:
        report.add("audit", moved, f"操作ログの削除位置（アンカー）が最新のチェックポイントと一致しません: {moved}")


def check_consent(session: Session, report: SystemReport, found: "Mapping[str, signing.Found] | None",
                  manifest: dict[str, Any] | None = None) -> list[chain.ChainStatus]:
    """The consent and linkage chains (:data:`residents.consent.linkage.CHAINS`), each against the
    newest signed checkpoint of its name renkei can read (``found``, by chain name) and the
    manifest's signed checkpoint of it: the rule of :func:`core.chain.checkpoint_break`, as the
    audit log's. A checkpoint whose signature fails, a broken chain and a purge anchor that moved
    since the newest checkpoint are each a problem; the chains' states are returned."""
    found = found or {}
    pairs: dict[str, list[tuple[int, str]]] = {}
    for name in consent_linkage.CHAINS:
        _ja, en = consent_linkage.CHAIN_LABELS[name]
        chain_found = found.get(name)
        for source, refused in (chain_found.forged if chain_found else []):
            report.add("consent", f"{source}: {refused.message_en}", f"{source}: {refused.message_ja}")
        if chain_found is not None and chain_found.newest is not None:
            pairs.setdefault(name, []).append(chain_found.newest.pair())
            report.checked[f"{en} checkpoint"] = chain_found.newest.describe()
        for data in (manifest or {}).get("checkpoints") or []:  # the manifest's signature covers them
            if isinstance(data, dict) and data.get("chain") == name:
                pairs.setdefault(name, []).append((int(data["seq"]), str(data["hash"])))
    statuses = consent_linkage.verify_chains(session, pairs)
    for status in statuses:
        ja, en = consent_linkage.CHAIN_LABELS[status.name]
        report.checked[en] = status.checked
        if status.broken is not None:
            report.add("consent", f"the {en} are broken at {status.broken.describe()}",
                       f"{ja}の改ざん・欠落を検出しました: {status.broken.describe()}")
        chain_found = found.get(status.name)
        moved = checkpoints.anchor_moved(chain_found.newest if chain_found else None, status.anchor_seq,
                                         status.anchor_hash, purge="the linkage records' purge")
        if moved:
            report.add("consent", f"the {en}: {moved}", f"{ja}の削除位置（アンカー）が最新のチェックポイントと一致しません: {moved}")
    return statuses


def check_archives(session: Session, report: SystemReport, folders: Mapping[str, Path] | None) -> None:
    """Every archive the purges recorded (:func:`governance.integrity.purge_archives`) is still in the
    folder its purge recorded, or in its chain's archive folder (``folders``, by chain:
    :func:`maintenance.signing.archive_dirs`), with the SHA-256 recorded then
    (:func:`core.chain_archive.confirm_archive`); each one deleted or altered is named."""
    recorded = governance_integrity.purge_archives(session)
    report.checked["purge archives"] = len(recorded)
    for archive in recorded:
        places = [Path(archive.folder)] if archive.folder else []
        if folders and archive.chain in folders:
            places.append(folders[archive.chain])
        problem = chain_archive.confirm_archive(archive.name, archive.sha256, places)
        if problem is not None:
            en, ja = problem
            report.add("archives", f"{en} ({archive.source})", f"{ja}（{archive.source}）")


def write_consent_checkpoints(statuses: list[chain.ChainStatus], signer: signing_keys.Signer, folder: Path,
                              now: dt.datetime | None = None, *, copy: Path | None = None,
                              database: str | None = None) -> list[tuple[str, int, Path]]:
    """A signed checkpoint (head and anchor) of every chain of ``statuses`` that exists and
    verified (:func:`check_consent`), into ``folder`` and ``copy`` (the off-host copy, when
    configured): (chain, seq, file in ``folder``) of each written."""
    now = now or dt.datetime.now(dt.timezone.utc)
    written = []
    for status in statuses:
        if not status.exists or status.broken is not None:
            continue
        path = checkpoints.write(folder, checkpoints.document(status.name, status.last_seq, status.head_hash, now, signer,
                                                              anchor=(status.anchor_seq, status.anchor_hash),
                                                              database=database),
                                 copy=copy)
        written.append((status.name, status.last_seq, path))
    return written


MAINTENANCE_ISSUER = "urn:renkei:maintenance"  # maintenance.signing.MAINTENANCE_ISSUER (no import cycle)
MAX_NAMED = 5


def check_maintenance_records(session: Session, report: SystemReport, trusted: Mapping[str, Any] | None) -> None:
    """Every audit record made as the maintenance identity names its signing key; a key that is not
    among the installation's trusted keys (``trusted``: :func:`maintenance.signing.installed_trusted_keys`)
    and was never retired by a rotation renkei recorded (``system.signing_key``) made a record it
    could not have made through renkei: each such record is named (the first few, then how many)."""
    from core.audit import AuditRecord

    if trusted is None:
        return
    retired = set()
    for after_before in session.execute(sa.select(AuditRecord.before).where(AuditRecord.action == "system.signing_key")):
        try:
            retired.add(json.loads(after_before[0] or "{}").get("key_id"))
        except ValueError:
            continue
    rows = session.execute(sa.select(AuditRecord.seq, AuditRecord.action, AuditRecord.actor_subject)
                           .where(AuditRecord.actor_issuer == MAINTENANCE_ISSUER).order_by(AuditRecord.seq)).all()
    report.checked["maintenance identity records"] = len(rows)
    untrusted = [(seq, action, subject.removeprefix("signing-key:")) for seq, action, subject in rows
                 if subject.removeprefix("signing-key:") not in trusted and subject.removeprefix("signing-key:") not in retired]
    for seq, action, kid in untrusted[:MAX_NAMED]:
        report.add("maintenance identity",
                   f"audit record #{seq} ({action}) was made as the maintenance identity of signing key {kid}, which is "
                   "not among the installation's trusted keys (RENKEI_TRUSTED_KEYS) nor a key retired by a recorded rotation",
                   f"操作ログ #{seq}（{action}）は署名鍵 {kid} の保守用IDによる記録ですが、この鍵はインストール時の信頼する公開鍵"
                   "（RENKEI_TRUSTED_KEYS）になく、記録された鍵の切り替えで退役した鍵でもありません。")
    if len(untrusted) > MAX_NAMED:
        more = len(untrusted) - MAX_NAMED
        report.add("maintenance identity", f"and {more:,} more record(s) made by keys that are not trusted",
                   f"ほかに信頼していない鍵による記録が {more:,} 件あります。")


def audit_checkpoint_overdue(session: Session, found: "signing.Found | None", *, minutes: float,
                             now: dt.datetime | None = None) -> str | None:
    """Why the audit chain's newest checkpoint is older than its promised window (None: it is not):
    the oldest record after it was appended more than ``minutes`` ago (the checkpoint timer writes a
    checkpoint within that window of a record; a system nothing was recorded in is never overdue)."""
    from core.audit import AuditRecord

    now = now or dt.datetime.now(dt.timezone.utc)
    newest = found.newest if found is not None else None
    first = session.execute(sa.select(AuditRecord.seq, AuditRecord.occurred_at)
                            .where(AuditRecord.seq > (newest.seq if newest else 0))
                            .order_by(AuditRecord.seq).limit(1)).first()
    if first is None:
        return None
    occurred = first.occurred_at if first.occurred_at.tzinfo else first.occurred_at.replace(tzinfo=dt.timezone.utc)
    if now - occurred <= dt.timedelta(minutes=minutes):
        return None
    since = f"checkpoint {newest.describe()}" if newest else "no checkpoint"
    return (f"audit record #{first.seq} was appended at {occurred.isoformat(timespec='seconds')} and the newest signed "
            f"checkpoint is still {since}: older than the promised window of {minutes:g} minutes (is the checkpoint "
            "timer, `renkei jobs checkpoint` every minute, installed and running? docs/deployment.md)")


def check_checkpoint_window(session: Session, report: SystemReport, found: "signing.Found | None",
                            minutes: float | None) -> None:
    """The newest audit checkpoint within its promised window (:func:`audit_checkpoint_overdue`);
    ``minutes`` None: no window promised (no timer installed: development, tests)."""
    if minutes is None:
        return
    report.checked["checkpoint window (minutes)"] = minutes
    why = audit_checkpoint_overdue(session, found, minutes=minutes)
    if why:
        report.add("checkpoints", why, f"最新の署名付きチェックポイントが約束した間隔（{minutes:g} 分）より古くなっています。"
                                       "チェックポイントのタイマー（毎分の `renkei jobs checkpoint`）が動いているか確認してください: " + why)


COPY_SETTING = "RENKEI_CHECKPOINT_COPY_DIR"


def check_checkpoint_copy(report: SystemReport, copy: Path | None, required: bool, folder: Path | None = None) -> None:
    """Where the checkpoints' off-host copy is; none where one is ``required`` (production) is a
    problem, and so is a copy folder that is not there while the checkpoint ``folder`` holds
    checkpoints (the store not mounted: nothing is being copied)."""
    report.checked["checkpoint copy"] = str(copy) if copy is not None else "none"
    if copy is not None and not copy.is_dir() and folder is not None and folder.is_dir() \
            and any(folder.glob("*-checkpoint-*.json")):
        report.add("checkpoints", f"{COPY_SETTING} is {copy}, which is not there, but the checkpoint folder {folder} "
                                  "holds checkpoints: nothing is being copied off the host (is the store mounted?)",
                   f"{COPY_SETTING} の {copy} がありませんが、チェックポイントのフォルダ {folder} にはチェックポイントがあります。"
                   "写しが書き出されていません（保存先はマウントされていますか）。")
    if copy is None and required:
        report.add("checkpoints", f"{COPY_SETTING} is not set: the signed checkpoints have no copy off the database "
                                  "host, so records written since the newest checkpoint in the checkpoint folder can be "
                                  "cut or rewritten unseen by whoever can also rewrite that folder",
                   f"{COPY_SETTING} が設定されていません。署名付きチェックポイントの写しがデータベースのサーバーの外にないため、"
                   "チェックポイントのフォルダも書き換えられる者は、最新のチェックポイント以降の記録を気づかれずに削除・改変できます。")


def checkpoints_due(session: Session, found: "Mapping[str, signing.Found]", *, minutes: float, records: int,
                    now: dt.datetime | None = None) -> str | None:
    """Why the chains' checkpoints are due (None: not due): a chain (``found``: its newest
    checkpoints, by name) has records appended since its newest checkpoint and either has none yet,
    or ``records`` or more were appended, or that checkpoint is ``minutes`` old or older. A chain
    nothing was appended to is never due: an idle system writes no checkpoint (each writes records)."""
    from core.audit import AuditChainHead

    now = now or dt.datetime.now(dt.timezone.utc)
    heads = {row.name: int(row.last_seq) for row in session.scalars(sa.select(chain.ChainHead))}
    heads["audit"] = int(session.scalar(sa.select(AuditChainHead.last_seq).where(AuditChainHead.id == 1)) or 0)
    for name, chain_found in found.items():
        newest = chain_found.newest
        appended = heads.get(name, 0) - (newest.seq if newest else 0)
        if appended <= 0:
            continue
        if newest is None:
            return f"{name}: {appended} record(s) and no checkpoint yet"
        if appended >= records:
            return f"{name}: {appended} record(s) since checkpoint {newest.describe()}"
        if now - newest.at >= dt.timedelta(minutes=minutes):
            return f"{name}: {appended} record(s) since checkpoint {newest.describe()}, {minutes:g} minutes or more ago"
    return None


def check_resident_keys(session: Session, report: SystemReport, keys: "Keyring") -> None:
    """``resident keys``: the residents' key ring reads every resident's items (a key of theirs missing, or
    of the wrong material, is named by its id: :func:`residents.operations.unreadable_keys`)."""
    from residents.operations import unreadable_keys

    report.checked["resident keys"] = len(keys.keys)
    for unreadable in unreadable_keys(session, keys):
        report.add("resident keys", *unreadable.describe(keys))


def check_without_resident_keys(session: Session, report: SystemReport) -> None:
    """``resident keys`` where no key ring is configured: sound only while no resident's items are stored."""
    from residents.models import Resident

    report.checked["resident keys"] = 0
    held = session.scalar(sa.select(sa.func.count()).select_from(Resident).where(Resident.full_name != ""))
    if held:
        report.add("resident keys",
                   f"no residents' key ring is configured (RENKEI_RESIDENT_KEYS or RENKEI_RESIDENT_KEY_FILE), "
                   f"while {held} resident(s)' items are stored sealed",
                   f"住民情報の鍵が設定されていません（RENKEI_RESIDENT_KEYS または RENKEI_RESIDENT_KEY_FILE）。"
                   f"暗号化された住民情報が {held} 人分あります")


def run_check(session: Session, actor: Actor, *, checkpoints_found: "signing.Found | None" = None,
              chain_checkpoints: "Mapping[str, signing.Found] | None" = None,
              manifest: dict[str, Any] | None = None, realm_counts: dict[str, int] | str | None = None,
              usage_settings: MeteringSettings | None = None,
              archive_dirs: Mapping[str, Path] | None = None, checkpoint_copy: Path | None = None,
              checkpoint_copy_required: bool = False, maintenance_keys: Mapping[str, Any] | None = None,
              checkpoint_window_minutes: float | None = None, resident_keys: "Keyring | None" = None) -> SystemReport:
    """``checkpoints_found``: the audit checkpoints read outside the database (:func:`check_audit`);
    ``chain_checkpoints``: those of the consent and linkage chains, by name (:func:`check_consent`).
    ``realm_counts``: the realm's counts now (:func:`tenancy.identity.realm_copy.summary`), or why
    they could not be read; compared with the manifest's when both are given. ``usage_settings``: the
    retention that says which usage periods still have all their events (default: the app's).
    ``archive_dirs``: each purged chain's archive folder (:func:`check_archives`). ``checkpoint_copy``:
    the checkpoints' off-host copy (read into ``checkpoints_found`` already), which production
    requires (``checkpoint_copy_required``: :func:`check_checkpoint_copy`). ``maintenance_keys``: the
    installation's trusted keys, which every maintenance identity's record must name
    (:func:`check_maintenance_records`); ``checkpoint_window_minutes``: the promised window of the
    audit checkpoints (:func:`check_checkpoint_window`; None where no timer is installed). ``resident_keys``: the
    app's residents' key ring, which must read every resident's items (:func:`check_resident_keys`)."""
    authz.authorize(actor, "system.check")
    report = SystemReport()
    folder = Path(checkpoints_found.places[0]) if checkpoints_found is not None and checkpoints_found.places else None
    check_checkpoint_copy(report, checkpoint_copy, checkpoint_copy_required, folder)
    check_audit(session, actor, report, checkpoints_found, manifest)
    check_checkpoint_window(session, report, checkpoints_found, checkpoint_window_minutes)
    check_maintenance_records(session, report, maintenance_keys)
    check_consent(session, report, chain_checkpoints, manifest)
    check_archives(session, report, archive_dirs)
    ledger = billing_integrity.check(session, actor)
    report.checked.update(ledger.checked)
    report.findings.extend(ledger.findings)
    _check_usage(session, report, usage_settings)
    if resident_keys is not None:
        check_resident_keys(session, report, resident_keys)
    if manifest is not None:
        _check_manifest(session, manifest, report, actor)
        if manifest.get("realm") and realm_counts is not None:
            _check_realm(manifest, realm_counts, report)
    return report
