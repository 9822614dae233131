"""`renkei backup` and `renkei restore`: one archive with the database, the Keycloak realm, the audit
chain head and a manifest (see :mod:`admin.maintenance.archive` and docs/operations.md).

Exit codes: 0 done, 1 refused (damaged or mismatched archive, database not empty, realm exists)
or a tool failed, 2 bad input.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import fail
from admin.extensions import db
from core import authz
from core.errors import DomainError


def _realm_admin():
    from tenancy.identity.keycloak import master_admin

    config = current_app.config
    return master_admin(config["RENKEI_KEYCLOAK_URL"], config["RENKEI_KEYCLOAK_ADMIN_USER"],
                        config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"], "master")


def default_output(now: dt.datetime | None = None) -> Path:
    now = now or dt.datetime.now(dt.timezone.utc)
    folder = Path(current_app.config.get("RENKEI_BACKUP_DIR") or Path(current_app.config["RENKEI_VAR_DIR"]) / "backups")
    return folder / f"renkei-backup-{now:%Y%m%dT%H%M%SZ}.tar"


@click.command("backup")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Archive to write (default: <RENKEI_BACKUP_DIR or RENKEI_VAR_DIR/backups>/renkei-backup-<UTC time>.tar).")
@click.option("--no-realm", is_flag=True, help="Leave the Keycloak realm out (database only).")
@with_appcontext
@acting(authz.OPERATOR)
def group(output: Path | None, no_realm: bool, actor) -> None:
    """Write one archive: database, Keycloak realm, audit chain head, manifest with checksums."""
    from admin.maintenance import archive

    from admin.maintenance.owner import owner_session

    output = output or default_output()
    if output.exists():
        raise click.BadParameter(f"{output} exists; choose another file", param_hint="--output")
    try:
        # pg_dump reads every table (the usage partitions too): as the schema owner
        with owner_session(current_app.config, db.session) as session:
            manifest = archive.write_backup(session, actor, output,
                                            realm_admin=None if no_realm else _realm_admin(),
                                            realm=current_app.config["RENKEI_KEYCLOAK_REALM"])
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
    click.echo(f"  realm: {realm['name']} {realm['counts']}" if realm else "  realm: not included (--no-realm)")
    click.echo(f"  fiscal years in the ledger: {', '.join(manifest['ledger_totals']) or 'none'}")


@click.command("restore")
@click.argument("archive_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-realm", is_flag=True, help="Restore the database only; leave Keycloak as it is.")
@click.option("--replace-realm", is_flag=True, help="Delete the realm if it exists and recreate it from the archive.")
@click.option("--app-role", metavar="ROLE", help="PostgreSQL: grant this application role its rights after the restore "
              "(as `renkei db grant --app-role` does; the archive carries no privileges). Default: the role of "
              "RENKEI_DATABASE_URL when RENKEI_DATABASE_OWNER_URL names another role.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@acting(authz.OPERATOR)
def restore_command(archive_file: Path, no_realm: bool, replace_realm: bool, app_role: str | None, yes: bool, actor) -> None:
    """Restore an archive into an EMPTY database and recreate the Keycloak realm, then check the result."""
    from admin.maintenance import archive, check, owner

    realm = current_app.config["RENKEI_KEYCLOAK_REALM"]
    app_role = app_role or owner.app_role(current_app.config)  # the owner restores, then grants the app's role
    if not yes:
        what = "the database" + ("" if no_realm else f" and the Keycloak realm {realm}")
        click.confirm(f"Restore {archive_file.name} into {what}?", abort=True)
    try:
        # the schema is created by the owner (RENKEI_DATABASE_OWNER_URL), as `renkei db upgrade` does
        with owner.owner_session(current_app.config, db.session) as session:
            manifest = archive.restore(session, actor, archive_file, realm_admin=None if no_realm else _realm_admin(),
                                       realm=realm, replace_realm=replace_realm, app_role=app_role)
    except DomainError as error:
        fail(error)
    except Exception as error:  # Keycloak refused the realm, or the database tool failed midway
        click.echo(f"エラー: 復元できませんでした（{error}）。データベースが空のままならレルムを確認し "
                   f"--replace-realm を付けて再実行してください。", err=True)
        click.echo(f"Error: restore failed: {error}. If the database is still empty, check the realm and run again "
                   "with --replace-realm (docs/operations.md).", err=True)
        raise SystemExit(1) from None
    click.echo(f"復元しました / restored: {archive_file.name} (made {manifest['created_at']} by {manifest['created_by']})")
    report = check.run_check(db.session, actor, manifest=manifest)
    db.session.rollback()
    if not report.ok:
        finding = report.first
        click.echo(f"検査で問題が見つかりました / check FAILED: {finding.check}: {finding.message_en}", err=True)
        click.echo(f"  {finding.message_ja}", err=True)
        raise SystemExit(1)
    click.echo("検査に合格しました / check passed (run `renkei check` again at any time)")
