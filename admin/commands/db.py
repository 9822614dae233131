"""`renkei db ...`: the database schema (Alembic migrations)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("db")
def group() -> None:
    """Database schema (Alembic migrations)."""


def alembic_config():
    from alembic.config import Config

    from maintenance.archive import migrations_dir
    from maintenance.owner import owner_url

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # migrations are the schema owner's (RENKEI_DATABASE_OWNER_URL, else RENKEI_DATABASE_URL)
    cfg.set_main_option("sqlalchemy.url", owner_url(current_app.config).replace("%", "%%"))
    return cfg


def upgrade_database(revision: str = "head") -> None:
    from alembic import command

    from maintenance.owner import owner_url

    url = owner_url(current_app.config)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(), revision)


@group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    upgrade_database(revision)
    click.echo(f"database at {revision}")


@group.command("grant")
@click.option("--app-role", required=True, help="The application's login role (it must exist).")
@click.option("--dry-run", is_flag=True, help="Print the statements without running them.")
@with_appcontext
def db_grant(app_role: str, dry_run: bool) -> None:
    """Give the application role exactly its rights (run as the schema owner, after upgrade).

    SELECT and INSERT on every table, and only the UPDATE and DELETE the operations need; no
    TRUNCATE, no DDL, no ownership. Re-running it is safe (it revokes first).
    """
    import sqlalchemy as sa

    from maintenance.db_roles import grant_app_role, grant_statements
    from admin.extensions import db
    from maintenance.owner import owner_engine

    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("データベースのロールは PostgreSQL だけにあります / database roles exist on PostgreSQL only")
    try:  # as the schema owner (RENKEI_DATABASE_OWNER_URL, else RENKEI_DATABASE_URL)
        with owner_engine(current_app.config, db.engine) as engine, engine.begin() as connection:
            if dry_run:
                statements = grant_statements(connection, app_role)
            else:
                statements = grant_app_role(connection, app_role)
    except (ValueError, sa.exc.DBAPIError) as error:
        raise click.ClickException(f"権限を付与できませんでした / could not grant: {error}") from error
    for statement in statements:
        click.echo(statement + ";")
    if not dry_run:
        click.echo(f"ロール {app_role} に権限を付与しました / granted the application's rights to {app_role}")
