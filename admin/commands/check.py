"""`renkei check`: the whole system's integrity (audit, consent and linkage chains against their newest
signed checkpoints, runs, ledger, accounts, usage totals, backup manifest).

In production it also names every audit record made as the maintenance identity of a signing key
the installation does not trust (RENKEI_TRUSTED_KEYS; a key put in the signing key's own folder is
not), and says when the newest audit checkpoint is older than its promised window (the checkpoint
timer's: ``renkei jobs checkpoint`` every minute, due at 5 minutes).

Exit codes: 0 everything checked is consistent, 1 a problem (the first is named), 2 bad input.
Prints a short summary of what was checked. Run it after a restore and nightly.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import fail
from admin.extensions import db
from core import authz, checkpoints
from core.errors import DomainError


def default_checkpoint_dir() -> Path:
    """Where exported audit checkpoints are: RENKEI_AUDIT_CHECKPOINT_DIR, else <RENKEI_VAR_DIR>/audit-checkpoints."""
    from maintenance.signing import checkpoint_dir

    return checkpoint_dir(current_app.config)


@click.command("check")
@click.option("--manifest", "manifest_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A backup archive or its manifest.json: row counts and ledger totals must match it.")
@click.option("--checkpoint-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the signed checkpoints of the audit, consent and linkage chains (default: RENKEI_AUDIT_CHECKPOINT_DIR or <RENKEI_VAR_DIR>/audit-checkpoints).")
@click.option("--no-realm", is_flag=True, help="With --manifest: do not compare the Keycloak realm's counts.")
@with_appcontext
@acting(authz.OPERATOR, maintenance=True)
def group(manifest_file: Path | None, checkpoint_dir: Path | None, no_realm: bool, actor) -> None:
    """Check the whole system; exit 1 naming the first problem."""
    from admin.resident_keys import keyring
    from residents.crypto import ResidentKeyError
    from maintenance import archive, check, realm, signing
    from residents.consent.linkage import CHAINS
    from usage.metering import MeteringSettings

    folder = checkpoint_dir or default_checkpoint_dir()
    try:
        trusted = signing.trusted_keys(current_app.config)
        production = current_app.config.get("RENKEI_ENV") == "production"
        try:
            maintenance_keys = signing.installed_trusted_keys(current_app.config)
            unset = None
        except signing.UntrustedInstallation as refused:
            maintenance_keys, unset = {}, refused
        try:
            resident_keys = keyring()
        except ResidentKeyError:  # none configured: sound while no resident's items are stored
            resident_keys = None
        manifest = archive.read_manifest(manifest_file, trusted) if manifest_file else None
        counts = realm.realm_counts(current_app.config, manifest["realm"]["name"]) if manifest and manifest.get("realm") and not no_realm else None
        found = signing.find_checkpoints(current_app.config, folder=folder, trusted=trusted)
        chains = {name: signing.find_checkpoints(current_app.config, name, folder=folder, trusted=trusted) for name in CHAINS}
        report = check.run_check(db.session, actor, checkpoints_found=found, chain_checkpoints=chains,
                                 manifest=manifest, realm_counts=counts,
                                 usage_settings=MeteringSettings.from_mapping(current_app.config),
                                 archive_dirs=signing.archive_dirs(current_app.config),
                                 checkpoint_copy=signing.checkpoint_copy_dir(current_app.config),
                                 checkpoint_copy_required=production, maintenance_keys=maintenance_keys,
                                 # production installs the checkpoint timer: its window, and a minute for the timer
                                 checkpoint_window_minutes=checkpoints.DUE_MINUTES + checkpoints.TIMER_MINUTES if production else None,
                                 resident_keys=resident_keys)
        if resident_keys is None:
            check.check_without_resident_keys(db.session, report)
        if unset is not None:
            report.add("maintenance identity", unset.message_en, unset.message_ja)
    except DomainError as error:
        db.session.rollback()
        fail(error)
    db.session.rollback()
    summary = ", ".join(f"{name}: {value}" for name, value in report.checked.items())
    click.echo(f"checked / 検査した項目: {summary}")
    if manifest is None:
        click.echo("manifest: not given (row counts not compared)")
    if report.checked.get("audit checkpoint") is None:
        click.echo(f"audit checkpoint: no signed checkpoint found in {' or '.join(found.places)}")
    _name_foreign([found, *chains.values()])
    if not report.ok:
        finding = report.first
        click.echo(f"問題があります / FAILED: {finding.check}: {finding.message_en}", err=True)
        click.echo(f"  {finding.message_ja}", err=True)
        if len(report.findings) > 1:
            click.echo(f"  ({len(report.findings) - 1} more problem(s) after this one)", err=True)
            for other in report.findings[1:]:  # each named (the checks bound how many they list)
                click.echo(f"  - {other.check}: {other.message_en} / {other.message_ja}", err=True)
        raise SystemExit(1)
    click.echo("整合性に問題はありません / OK: no problem found")


def _name_foreign(founds) -> None:
    """Checkpoints of another database (a restore drill's, or the live one's seen from a drill) are
    valid but not this database's: named as such, never compared and never taken for tampering."""
    foreign = sorted({item for found in founds for item in found.foreign})
    if foreign:
        source, database = foreign[0]
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        click.echo(f"別のデータベースのチェックポイント（照合しません） / checkpoints of another database, not compared: "
                   f"{source} ({database}){more}")
