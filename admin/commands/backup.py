"""`renkei backup` and `renkei restore`: one archive with the database, the Keycloak realm, the audit
chain head and a manifest (see :mod:`maintenance.archive` and docs/operations.md).

Exit codes: 0 done, 1 refused (damaged or mismatched archive, database not empty, realm exists)
or a tool failed, 2 bad input.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import fail
from admin.extensions import db
from core import authz
from core.errors import DomainError


def _realm_export(export_file: Path | None, realm: str):
    """How to get Keycloak's full export of ``realm``, or None (the REST copy), and a line saying so.

    An export the operator made (``--keycloak-export``) wins; else a Keycloak that renkei's
    launcher runs on this machine at RENKEI_KEYCLOAK_URL is exported with ``kc.sh export``.
    """
    if export_file is not None:
        from tenancy.identity import realm_copy

        try:
            realm_copy.wrap_export(json.loads(export_file.read_text(encoding="utf-8")), realm)
        except (ValueError, OSError) as error:  # refused before anything is written or audited
            raise click.BadParameter(f"{export_file} cannot be used / 使えないファイルです: {error}",
                                     param_hint="--keycloak-export") from None
        return (lambda target: shutil.copyfile(export_file, target)), f"from {export_file}"
    from maintenance import keycloak_server

    config = current_app.config
    server, why_not = keycloak_server.launched_server(config["RENKEI_KEYCLOAK_URL"],
                                                      config.get("RENKEI_KEYCLOAK_STATE_DIR") or None)
    if server is None:
        return None, why_not

    def export(target: Path) -> None:
        seconds = keycloak_server.export_realm_file(server, realm, target)
        click.echo(f"  kc.sh export of realm {realm}: {seconds:.1f} s")

    return export, f"kc.sh export of the local Keycloak ({server.state_dir})"


def default_output(now: dt.datetime | None = None) -> Path:
    from maintenance.signing import backup_dir
    from core.signing import private_dir

    now = now or dt.datetime.now(dt.timezone.utc)
    return private_dir(backup_dir(current_app.config), tighten=True) / f"renkei-backup-{now:%Y%m%dT%H%M%SZ}.tar"


@click.command("backup")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Archive to write (default: <RENKEI_BACKUP_DIR or RENKEI_VAR_DIR/backups>/renkei-backup-<UTC time>.tar).")
@click.option("--no-realm", is_flag=True, help="Leave the Keycloak realm out (database only).")
@click.option("--keycloak-export", "keycloak_export", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Put this file, made by `kc.sh export --realm <realm> --file FILE` on the Keycloak host, in the "
                   "archive as the realm (credentials and keys included; see docs/operations.md).")
@with_appcontext
@acting(authz.OPERATOR, maintenance=True)
def group(output: Path | None, no_realm: bool, keycloak_export: Path | None, actor) -> None:
    """Write one archive: database, Keycloak realm, audit chain head, manifest with checksums.

    The realm is Keycloak's full export (credentials included) when RENKEI_KEYCLOAK_URL is a
    Keycloak `renkei keycloak start` runs on this machine or with --keycloak-export; otherwise a
    copy through the admin REST API (credentials not included).
    """
    from maintenance import archive, signing
    from maintenance import realm as realm_module

    from maintenance.owner import owner_session

    try:
        signer = signing.signer(current_app.config)  # no key, no archive: an unsigned one could not be restored
    except DomainError as error:
        fail(error)
    output = output or default_output()
    if output.exists():
        raise click.BadParameter(f"{output} exists; choose another file", param_hint="--output")
    if no_realm and keycloak_export is not None:
        raise click.BadParameter("--keycloak-export and --no-realm exclude each other", param_hint="--keycloak-export")
    realm_name = current_app.config["RENKEI_KEYCLOAK_REALM"]
    realm_export, how = (None, "") if no_realm else _realm_export(keycloak_export, realm_name)
    # the residents' realm (issue 42) beside it, when it is set up: Keycloak's export on this machine, else the REST copy
    residents_name = current_app.config.get("RENKEI_RESIDENTS_REALM") or None
    residents_export = None if no_realm or not residents_name else _realm_export(None, residents_name)[0]
    try:
        # pg_dump reads every table (the usage partitions too): as the schema owner
        with owner_session(current_app.config, db.session) as session:
            manifest = archive.write_backup(session, actor, output, signer=signer,
                                            realm_admin=None if no_realm else realm_module.realm_admin(current_app.config),
                                            realm=realm_name, realm_export=realm_export,
                                            residents_realm=residents_name, residents_export=residents_export)
    except DomainError as error:
        fail(error)
    except Exception as error:  # Keycloak or the file system: say what failed, leave no partial archive
        click.echo(f"エラー: バックアップを作成できませんでした / Error: backup failed: {error}", err=True)
        raise SystemExit(1) from None
    rows = sum(manifest["tables"].values())
    realm = manifest["realm"]
    click.echo(f"バックアップを作成しました / backup written: {output}")
    click.echo(f"  database: {manifest['database']}, {len(manifest['tables'])} tables, {rows} rows; "
               f"migration {manifest['versions']['migration_head']}")
    click.echo(f"  audit head: {manifest['audit_head']['seq']}:{manifest['audit_head']['hash']}")
    click.echo(f"  signed with key {signer.key_id}; file mode 0600")
    click.echo(f"  realm: {realm['name']} {realm['counts']}" if realm else "  realm: not included (--no-realm)")
    if realm:
        click.echo(f"  credentials: {credentials_line(realm, how)}")
    residents = manifest.get("residents_realm")
    if residents:
        click.echo(f"  residents' realm: {residents['name']} {residents['counts']}, identity providers "
                   f"{', '.join(residents['identity_providers']) or 'none'}; credentials: {credentials_line(residents)}")
        _providers_note(residents)
    elif realm:
        click.echo("  residents' realm: not set up (`renkei residents realm-setup`): not included")
    click.echo(f"  fiscal years in the ledger: {', '.join(manifest['ledger_totals']) or 'none'}")


def _providers_note(residents: dict) -> None:
    """The identity providers whose client secret a REST copy does not hold (Keycloak never gives it back)."""
    missing = residents.get("providers_without_secret") or []
    if missing:
        click.echo(f"  注意: 認証事業者 {', '.join(missing)} のクライアントシークレットは含まれません（復元後に "
                   "`renkei residents provider-add` で設定し直してください）。")
        click.echo(f"  note: the client secret of identity provider(s) {', '.join(missing)} is not included (the admin "
                   "API never returns it): after a restore, run `renkei residents provider-add` again with it")


def credentials_line(realm: dict, how: str = "") -> str:
    """What the manifest's realm says about passwords and keys, for the operator."""
    if realm.get("credentials"):
        return ("included / パスワード・署名鍵を含む (Keycloak export" + (f", {how}" if how else "") + ")")
    return ("not included / パスワード・署名鍵を含まない (REST copy: after a restore everyone resets their password"
            + (f"; full export not possible: {how}" if how else "") + ")")


@click.command("restore")
@click.argument("archive_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-realm", is_flag=True, help="Restore the database only; leave Keycloak as it is.")
@click.option("--replace-realm", is_flag=True, help="Delete the realm if it exists and recreate it from the archive.")
@click.option("--realm-only", is_flag=True, help="Recreate the Keycloak realm alone, into the database restored before "
              "(`--no-realm` while Keycloak was down): docs/operations.md.")
@click.option("--app-role", metavar="ROLE", help="PostgreSQL: grant this application role its rights after the restore "
              "(as `renkei db grant --app-role` does; the archive carries no privileges). Default: the role of "
              "RENKEI_DATABASE_URL when RENKEI_DATABASE_OWNER_URL names another role.")
@click.option("--accept-unsigned", is_flag=True,
              help="Restore an archive that carries no signature (one made before backups were signed): a "
                   "deliberate migration, recorded in the audit log. A wrong signature is refused even so.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@acting(authz.OPERATOR, maintenance=True)
def restore_command(archive_file: Path, no_realm: bool, replace_realm: bool, realm_only: bool, app_role: str | None,
                    accept_unsigned: bool, yes: bool, actor) -> None:
    """Restore an archive into an EMPTY database and recreate the Keycloak realm, then check the result."""
    from maintenance import archive, check, owner, signing
    from maintenance import realm as realm_module
    from usage.metering import MeteringSettings

    realm = current_app.config["RENKEI_KEYCLOAK_REALM"]
    app_role = app_role or owner.app_role(current_app.config)  # the owner restores, then grants the app's role
    if realm_only and no_realm:
        raise click.BadParameter("--realm-only and --no-realm exclude each other", param_hint="--realm-only")
    if not yes:
        what = f"the Keycloak realm {realm}" if realm_only else "the database" + ("" if no_realm else f" and the Keycloak realm {realm}")
        click.confirm(f"Restore {archive_file.name} into {what}?", abort=True)
    try:
        # the schema is created by the owner (RENKEI_DATABASE_OWNER_URL), as `renkei db upgrade` does
        with owner.owner_session(current_app.config, db.session) as session:
            manifest = archive.restore(session, actor, archive_file, trusted=signing.trusted_keys(current_app.config),
                                       accept_unsigned=accept_unsigned,
                                       realm_admin=None if no_realm else realm_module.realm_admin(current_app.config),
                                       realm=realm, replace_realm=replace_realm, app_role=app_role,
                                       database=not realm_only,
                                       residents_realm=current_app.config.get("RENKEI_RESIDENTS_REALM") or None)
    except DomainError as error:
        fail(error)
    except Exception as error:  # Keycloak refused the realm, or the database tool failed midway
        click.echo(f"エラー: 復元できませんでした（{error}）。データベースが空のままならレルムを確認し "
                   f"--replace-realm を付けて再実行してください。", err=True)
        click.echo(f"Error: restore failed: {error}. If the database is still empty, check the realm and run again "
                   "with --replace-realm (docs/operations.md).", err=True)
        raise SystemExit(1) from None
    click.echo(f"復元しました / restored: {archive_file.name} (made {manifest['created_at']} by {manifest['created_by']})")
    if manifest.get("realm") and not no_realm:
        click.echo(f"  realm {manifest['realm']['name']}: credentials {credentials_line(manifest['realm'])}")
        residents = manifest.get("residents_realm")
        if residents:
            click.echo(f"  residents' realm {current_app.config.get('RENKEI_RESIDENTS_REALM') or residents['name']}: "
                       f"identity providers {', '.join(residents['identity_providers']) or 'none'}")
            _providers_note(residents)
    if realm_only:  # the database was restored (and checked) before, and may have moved on since
        _compare_realm(manifest, realm_module.realm_counts(current_app.config, realm))
        return
    with_realm = bool(manifest.get("realm")) and not no_realm
    report = check.run_check(db.session, actor, manifest=manifest,
                             realm_counts=realm_module.realm_counts(current_app.config, realm) if with_realm else None,
                             usage_settings=MeteringSettings.from_mapping(current_app.config))
    db.session.rollback()
    if not report.ok:
        finding = report.first
        click.echo(f"検査で問題が見つかりました / check FAILED: {finding.check}: {finding.message_en}", err=True)
        click.echo(f"  {finding.message_ja}", err=True)
        raise SystemExit(1)
    click.echo("検査に合格しました / check passed (run `renkei check` again at any time)")
    _checkpoint_after_restore(actor)


def _compare_realm(manifest: dict, counts) -> None:
    """A realm restored alone: its counts against the archive's (`renkei check --manifest` does the same)."""
    if counts != manifest["realm"]["counts"]:
        click.echo(f"検査で問題が見つかりました / check FAILED: realm: {counts} but the archive recorded "
                   f"{manifest['realm']['counts']}", err=True)
        raise SystemExit(1)
    click.echo(f"  realm counts as the archive recorded: {counts}")


def _checkpoint_after_restore(actor) -> None:
    """A signed checkpoint of the restored chain: the checkpoints written after the backup describe
    history the restore replaced, and the newest checkpoint is the one `renkei check` compares with."""
    from maintenance import signing
    from core import checkpoints
    from governance import audit as audit_log

    signer = signing.signer_or_none(current_app.config)
    if signer is None:
        click.echo(f"注意: 署名鍵がないためチェックポイントを書き出していません。鍵を {signing.signing_key_path(current_app.config)} に戻して "
                   "`renkei jobs run-due --only audit-checkpoint` を実行してください。", err=True)
        click.echo(f"Note: no signing key at {signing.signing_key_path(current_app.config)}: no checkpoint written; put the key back and "
                   "run `renkei jobs run-due --only audit-checkpoint` (until then `renkei check` compares with "
                   "checkpoints older than this restore).", err=True)
        return
    folder, database = signing.restore_checkpoint_dir(current_app.config), signing.database_identity(current_app.config)
    if folder != signing.checkpoint_dir(current_app.config):
        click.echo(f"  復元訓練: {signing.checkpoint_dir(current_app.config)} は別のデータベースのチェックポイントの置き場所です。"
                   f"このデータベースの分は {folder} に書き出します（検査は `renkei check --checkpoint-dir {folder}`）。")
        click.echo(f"  restore drill: the checkpoint folder holds another database's checkpoints; this database's "
                   f"({database}) go to {folder} (check it with `renkei check --checkpoint-dir {folder}`)")
    # the live folder's checkpoints are copied off the host too; a drill's stay in its own folder
    copy = signing.checkpoint_copy_dir(current_app.config) if folder == signing.checkpoint_dir(current_app.config) else None
    result = audit_log.verification(db.session, actor)
    db.session.rollback()
    if result.intact:
        path = checkpoints.write(folder, checkpoints.document(
            "audit", result.last_seq, result.head_hash, dt.datetime.now(dt.timezone.utc), signer,
            anchor=(result.anchor_seq, result.anchor_hash), database=database), copy=copy)
        click.echo(f"  audit checkpoint #{result.last_seq} written: {path}")
    _consent_checkpoints_after_restore(signer, folder, database, copy)


def _consent_checkpoints_after_restore(signer, folder: Path, database: str, copy: Path | None) -> None:
    """The same for the consent and linkage chains (the checkpoints written after the backup name
    records the restore took away)."""
    from maintenance import check

    report = check.SystemReport()
    statuses = check.check_consent(db.session, report, None)
    db.session.rollback()
    for name, seq, path in check.write_consent_checkpoints(statuses, signer, folder, database=database, copy=copy):
        click.echo(f"  {name} checkpoint #{seq} written: {path}")
