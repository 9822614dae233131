"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from admin import create_app
from admin.cli import upgrade_database
from tenancy.base import metadata

TEST_DATABASE_URL = os.environ.get("RENKEI_TEST_DATABASE_URL", "")


def _diff(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


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
        engine.dispose()
    return differences, tables


def test_sqlite_migrations_match_the_models(tmp_path):
    differences, tables = _migrate(f"sqlite:///{tmp_path / 'migrated.db'}", tmp_path)
    assert differences == []
    assert set(metadata.tables) <= tables


@pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgresql"), reason="the PostgreSQL run checks this (CI runs both)")
def test_postgresql_migrations_match_the_models(tmp_path):
    schema = f"migrations_{uuid.uuid4().hex[:8]}"
    admin_engine = sa.create_engine(TEST_DATABASE_URL)
    with admin_engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        url = sa.make_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        differences, tables = _migrate(url.render_as_string(hide_password=False), tmp_path)
        assert differences == []
        assert set(metadata.tables) <= tables
    finally:
        with admin_engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin_engine.dispose()
