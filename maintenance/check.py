"""``renkei check``: the whole system's integrity, for after a restore and for a nightly job.

In order, each stopping at its first problem (the report names the first problem of all):

1. ``audit``: the audit chain verifies (:mod:`governance.audit`), against the newest signed
   checkpoint found in the checkpoint folder and the newest backup (:func:`check_audit`) and,
   with a manifest, against the backup's head; a checkpoint whose signature fails is a problem;
   ``consent``: the consent records' and the linkage records' chains verify
   (:mod:`governance.consent.linkage`), each against its newest signed checkpoint and the
   manifest's (:func:`check_consent`);
2. ``runs``, ``years``, ``accounts``: :mod:`billing.integrity`;
3. ``usage``: every day and month usage aggregate of the periods whose events are still kept
   equals its events summed again (:mod:`tenancy.usage.integrity`); each difference is named;
4. ``manifest`` (when one is given): the row count of every table and the ledger totals of every
   fiscal year equal the backup's. The audit log may have grown since (a restore records
   itself): its records up to the backup's head are counted instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from maintenance import archive
from billing import integrity as billing_integrity
from core import authz, chain, checkpoints
from core import signing as signing_keys
from core.actor import Actor
from governance import integrity as governance_integrity
from governance.consent import linkage as consent_linkage
from tenancy.usage import integrity as usage_integrity, metering
from tenancy.usage.metering import MeteringSettings

if TYPE_CHECKING:
    from maintenance import signing

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


def _check_usage(session: Session, report: SystemReport, settings: MeteringSettings | None) -> None:
    """Usage aggregates against the kept raw events: every difference named (the first
    :data:`usage_integrity.MAX_LISTED`, then how many more)."""
    settings = settings or MeteringSettings()  # the shell hands in the app's; else the default retention
    result = usage_integrity.check_aggregates(session, metering.retention_cutoff(settings=settings))
    report.checked[f"usage aggregates from {result.since.isoformat()}"] = result.periods
    for difference in result.differences:
        report.add("usage", *difference.describe())
    if result.total_differences > len(result.differences):
        more = result.total_differences - len(result.differences)
        report.add("usage", f"and {more:,} more usage aggregates that differ from their events",
                   f"ほかに {more:,} 件の利用実績集計がイベントと一致しません。")


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
    """The consent and linkage chains (:data:`governance.consent.linkage.CHAINS`), each against the
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


def write_consent_checkpoints(statuses: list[chain.ChainStatus], signer: signing_keys.Signer, folder: Path,
                              now: dt.datetime | None = None, *, database: str | None = None) -> list[tuple[str, int, Path]]:
    """A signed checkpoint (head and anchor) of every chain of ``statuses`` that exists and
    verified (:func:`check_consent`), into ``folder``: (chain, seq, file) of each written."""
    now = now or dt.datetime.now(dt.timezone.utc)
    written = []
    for status in statuses:
        if not status.exists or status.broken is not None:
            continue
        path = checkpoints.write(folder, checkpoints.document(status.name, status.last_seq, status.head_hash, now, signer,
                                                              anchor=(status.anchor_seq, status.anchor_hash),
                                                              database=database))
        written.append((status.name, status.last_seq, path))
    return written


def run_check(session: Session, actor: Actor, *, checkpoints_found: "signing.Found | None" = None,
              chain_checkpoints: "Mapping[str, signing.Found] | None" = None,
              manifest: dict[str, Any] | None = None, realm_counts: dict[str, int] | str | None = None,
              usage_settings: MeteringSettings | None = None) -> SystemReport:
    """``checkpoints_found``: the audit checkpoints read outside the database (:func:`check_audit`);
    ``chain_checkpoints``: those of the consent and linkage chains, by name (:func:`check_consent`).
    ``realm_counts``: the realm's counts now (:func:`tenancy.identity.realm_copy.summary`), or why
    they could not be read; compared with the manifest's when both are given. ``usage_settings``: the
    retention that says which usage periods still have all their events (default: the app's)."""
    authz.authorize(actor, "system.check")
    report = SystemReport()
    check_audit(session, actor, report, checkpoints_found, manifest)
    check_consent(session, report, chain_checkpoints, manifest)
    ledger = billing_integrity.check(session, actor)
    report.checked.update(ledger.checked)
    report.findings.extend(ledger.findings)
    _check_usage(session, report, usage_settings)
    if manifest is not None:
        _check_manifest(session, manifest, report, actor)
        if manifest.get("realm") and realm_counts is not None:
            _check_realm(manifest, realm_counts, report)
    return report
