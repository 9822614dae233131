"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import os
import re
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from admin import create_app
from admin.commands.db import upgrade_database
from core.db import metadata
from usage import partitions

TEST_DATABASE_URL = os.environ.get("RENKEI_TEST_DATABASE_URL", "")
# migrating is the schema owner's (the app's role in CI has no DDL rights)
OWNER_URL = os.environ.get("RENKEI_TEST_DATABASE_OWNER_URL") or TEST_DATABASE_URL


def _not_a_partition(name, type_, parent_names) -> bool:
    return not (type_ == "table" and partitions.is_partition_name(name))


def _diff(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": _not_a_partition})
    return compare_metadata(context, metadata)


def triggers(connection) -> set[str]:
    if connection.dialect.name == "sqlite":
        rows = connection.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    else:
        rows = connection.execute(sa.text(
            "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND n.nspname = current_schema()"))
    return {row[0] for row in rows}


LITERAL = re.compile(r"'((?:[^']|'')*)'")


def check_constraints(connection) -> dict[tuple[str, str], frozenset[str]]:
    """(table, name) of every CHECK constraint, with the string literals it names (compare_metadata compares
    neither): an enum's check lists the names the app writes, and a migration that lists other words refuses
    every row the app then writes (migration 0123 checked '' where the model writes 'none')."""
    inspector = sa.inspect(connection)
    return {(table, check["name"]): frozenset(LITERAL.findall(check["sqltext"]))
            for table in inspector.get_table_names() if not partitions.is_partition_name(table)
            for check in inspector.get_check_constraints(table)}


def enum_defaults(connection) -> dict[tuple[str, str], str]:
    """Each enum column's server default in the database, where it has one, as the bare string."""
    inspector = sa.inspect(connection)
    defaults = {}
    for table in metadata.tables.values():
        enums = {column.name for column in table.columns if isinstance(column.type, sa.Enum)}
        if not enums:
            continue
        for column in inspector.get_columns(table.name):
            if column["name"] in enums and column.get("default") is not None:
                found = LITERAL.search(column["default"])
                defaults[(table.name, column["name"])] = found.group(1) if found else column["default"]
    return defaults


def not_enum_names(defaults: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """The defaults that are no name of their column's enum (the app stores an enum's names)."""
    return {(table, column): value for (table, column), value in defaults.items()
            if value not in metadata.tables[table].columns[column].type.enums}


def declared_checks() -> set[tuple[str, str]]:
    """What the models declare: their named CHECK constraints and the checked enums' (statuses)."""
    return {(table.name, constraint.name) for table in metadata.tables.values()
            for constraint in table.constraints if isinstance(constraint, sa.CheckConstraint)}


def storage_options(connection) -> dict[str, list[str]]:
    """PostgreSQL: each table's storage parameters (e.g. fillfactor), as the catalogue holds them."""
    rows = connection.execute(sa.text(
        "SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND c.reloptions IS NOT NULL AND n.nspname = current_schema()"))
    return {name: sorted(options) for name, options in rows}


def _migrate(url, tmp_path):
    app = create_app({"RENKEI_ENV": "testing", "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": url,
                      "RENKEI_VAR_DIR": str(tmp_path)})
    with app.app_context():
        upgrade_database()
        from admin.extensions import db

        engine = db.engine
        with engine.connect() as connection:
            differences = _diff(connection)
            tables = set(sa.inspect(connection).get_table_names())
            migrated_triggers = triggers(connection)
            migrated_checks = check_constraints(connection)
            assert not_enum_names(enum_defaults(connection)) == {}
        engine.dispose()
    return differences, tables, migrated_triggers, migrated_checks


def _created_checks(tmp_path) -> dict[tuple[str, str], frozenset[str]]:
    """The CHECK constraints of a SQLite database the models create (create_all)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'created.db'}")
    try:
        metadata.create_all(engine)
        with engine.connect() as connection:
            return check_constraints(connection)
    finally:
        engine.dispose()


def test_sqlite_migrations_match_the_models(app, db, tmp_path):
    differences, tables, migrated_triggers, migrated_checks = _migrate(f"sqlite:///{tmp_path / 'migrated.db'}", tmp_path)
    assert differences == []
    assert set(migrated_checks) == declared_checks()
    assert migrated_checks == _created_checks(tmp_path)  # each check allows the very words the models' allows
    # a status is an enum in the database, checked against the names the app writes
    assert migrated_checks[("api_client", "ck_api_client_clientstatus")] == {
        "pending", "active", "disabled", "revoked", "rejected"}
    assert migrated_checks[("submission_version", "ck_submission_version_inspection")] == {
        "none", "approved", "returned"}
    assert set(metadata.tables) <= tables
    if db.get_bind().dialect.name == "sqlite":  # the test database was built by create_all
        with db.get_bind().connect() as connection:
            assert migrated_triggers == triggers(connection)
    assert {"billing_posting_undeletable", "audit_record_no_update"} <= migrated_triggers


@pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgresql"), reason="the PostgreSQL run checks this (CI runs both)")
def test_postgresql_migrations_match_the_models(app, tmp_path):
    schema = f"migrations_{uuid.uuid4().hex[:8]}"
    admin_engine = sa.create_engine(OWNER_URL)
    with admin_engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        url = sa.make_url(OWNER_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        differences, tables, migrated_triggers, migrated_checks = _migrate(url.render_as_string(hide_password=False), tmp_path)
        assert differences == []
        assert set(migrated_checks) == declared_checks()
        assert set(metadata.tables) <= tables
        migrated_engine = sa.create_engine(url)
        with migrated_engine.connect() as connection:
            migrated_months = partitions.existing_months(connection)
            migrated_options = storage_options(connection)
        migrated_engine.dispose()
        with admin_engine.connect() as connection:  # the test database (public schema), built by create_all
            assert migrated_triggers == triggers(connection)
            assert migrated_checks == check_constraints(connection)  # each allows the words the models' allows
            # compare_metadata does not see storage parameters: room for in-place updates of the aggregates
            assert migrated_options == storage_options(connection)
            assert migrated_options["usage_aggregate"] == ["fillfactor=70"]
            # usage_event is partitioned by month in both, with the same months ready
            assert migrated_months == partitions.existing_months(connection)
            assert len(migrated_months) >= 13
    finally:
        with admin_engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin_engine.dispose()


def test_status_checks_keep_the_rows_and_refuse_other_values(app, tmp_path):
    """The revision that makes lifecycle statuses enums in the database keeps every row (SQLite
    rebuilds the tables) and from then on refuses a status outside the enum."""
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    migrating = create_app({"RENKEI_ENV": "testing", "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": url,
                            "RENKEI_VAR_DIR": str(tmp_path)})
    row = ("INSERT INTO api_client (tenant_code, name, purpose, scopes, allowlist, allow_any, expires_on, status, "
           "created_at, created_by) VALUES ('012041', :name, 'p', '', '', 0, '2030-01-01', :status, "
           "'2026-11-23 00:00:00', 'someone')")
    with migrating.app_context():
        upgrade_database("0031")
        from admin.extensions import db as migrated

        with migrated.engine.begin() as connection:
            connection.execute(sa.text(row), {"name": "kept", "status": "disabled"})
        upgrade_database()
        with migrated.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT name, status FROM api_client")).all() == [("kept", "disabled")]
        with pytest.raises(sa.exc.IntegrityError, match="ck_api_client_clientstatus|CHECK constraint"):
            with migrated.engine.begin() as connection:
                connection.execute(sa.text(row), {"name": "odd", "status": "paused"})
        migrated.engine.dispose()
