"""``renkei check``: the whole system's integrity, for after a restore and for a nightly job.

In order, each stopping at its first problem (the report names the first problem of all):

1. ``audit``: the audit chain verifies (:mod:`governance.audit`), against the newest exported
   checkpoint (:mod:`governance.integrity`) and, with a manifest, against the backup's head;
   ``consent``: the consent records' and the linkage records' chains verify
   (:mod:`governance.consent.linkage`);
2. ``runs``, ``years``, ``accounts``: :mod:`billing.integrity`;
3. ``manifest`` (when one is given): the row count of every table and the ledger totals of every
   fiscal year equal the backup's. The audit log may have grown since (a restore records
   itself): its records up to the backup's head are counted instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from admin.maintenance import archive
from billing import integrity as billing_integrity
from core import authz
from core.actor import Actor
from governance import integrity as governance_integrity
from governance.consent import linkage as consent_linkage

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


def run_check(session: Session, actor: Actor, *, checkpoint_dir: Path | None = None,
              manifest: dict[str, Any] | None = None, realm_counts: dict[str, int] | str | None = None) -> SystemReport:
    """``realm_counts``: the realm's counts now (:func:`tenancy.identity.realm_copy.summary`), or why
    they could not be read; compared with the manifest's when both are given."""
    authz.authorize(actor, "system.check")
    report = SystemReport()
    checkpoints = []
    latest = governance_integrity.latest_checkpoint(checkpoint_dir) if checkpoint_dir else None
    if latest is not None:
        checkpoints.append(latest)
        report.checked["audit checkpoint"] = f"#{latest.seq} ({latest.source})"
    if manifest is not None and (manifest.get("audit_head") or {}).get("seq"):
        head = manifest["audit_head"]
        checkpoints.append(governance_integrity.Checkpoint(int(head["seq"]), head["hash"], "backup manifest"))
    verification = governance_integrity.check_chain(session, actor, checkpoints)
    report.checked["audit records"] = verification.checked
    if verification.broken is not None:
        report.add("audit", f"the audit log is broken at {verification.broken.describe()}",
                   f"操作ログの改ざん・欠落を検出しました: {verification.broken.describe()}")
    for status in consent_linkage.verify_chains(session):
        ja, en = consent_linkage.CHAIN_LABELS[status.name]
        report.checked[en] = status.checked
        if status.broken is not None:
            report.add("consent", f"the {en} are broken at {status.broken.describe()}",
                       f"{ja}の改ざん・欠落を検出しました: {status.broken.describe()}")
    ledger = billing_integrity.check(session, actor)
    report.checked.update(ledger.checked)
    report.findings.extend(ledger.findings)
    if manifest is not None:
        _check_manifest(session, manifest, report, actor)
        if manifest.get("realm") and realm_counts is not None:
            _check_realm(manifest, realm_counts, report)
    return report
