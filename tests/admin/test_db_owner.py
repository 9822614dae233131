"""The schema owner's connection (RENKEI_DATABASE_OWNER_URL) for the maintenance that needs DDL,
and the application role for everything else."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from admin.config import from_environment
from maintenance import owner
from tests.conftest import TEST_DATABASE_OWNER_URL, TEST_DATABASE_URL

APP = "postgresql+psycopg://renkei_app:secret@db1/renkei"
OWNER = "postgresql+psycopg://renkei_owner:secret@db1/renkei"

two_roles = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql")
    or sa.make_url(TEST_DATABASE_URL).username == sa.make_url(TEST_DATABASE_OWNER_URL).username,
    reason="needs PostgreSQL with a separate application role (CI sets RENKEI_TEST_DATABASE_OWNER_URL)")


def test_a_one_role_install_uses_its_one_url_for_the_owners_steps():
    config = from_environment({"RENKEI_DATABASE_URL": APP})
    assert owner.owner_url(config) == APP
    assert not owner.is_separate(config)
    assert owner.app_role(config) is None  # nothing to grant after a restore


def test_the_owner_url_is_used_for_maintenance_and_names_the_role_to_grant():
    config = from_environment({"RENKEI_DATABASE_URL": APP, "RENKEI_DATABASE_OWNER_URL": OWNER})
    assert config["SQLALCHEMY_DATABASE_URI"] == APP  # the application keeps its own role
    assert owner.owner_url(config) == OWNER
    assert owner.app_role(config) == "renkei_app"


def test_sqlite_has_no_role_to_grant(tmp_path):
    config = from_environment({"RENKEI_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
                               "RENKEI_DATABASE_OWNER_URL": f"sqlite:///{tmp_path / 'a.db'}"})
    assert owner.app_role(config) is None


@two_roles
def test_db_grant_runs_as_the_owner_while_the_app_connects_as_its_role(app, db):
    app_role = sa.make_url(TEST_DATABASE_URL).username
    assert db.execute(sa.text("SELECT current_user")).scalar() == app_role
    result = app.test_cli_runner().invoke(args=["db", "grant", "--app-role", app_role])
    assert result.exit_code == 0, result.output
    assert f"granted the application's rights to {app_role}" in result.output
    # still no DDL for the application role
    with pytest.raises(sa.exc.ProgrammingError):
        db.execute(sa.text("CREATE TABLE not_allowed (id int)"))
    db.rollback()


@two_roles
def test_the_owners_session_is_the_owner_and_commits_at_the_end(app, db):
    owner_role = sa.make_url(TEST_DATABASE_OWNER_URL).username
    with owner.owner_session(app.config, db) as session:
        assert session.execute(sa.text("SELECT current_user")).scalar() == owner_role
    with pytest.raises(RuntimeError), owner.owner_session(app.config, db) as session:
        session.execute(sa.text("CREATE TABLE h_owner_rolled_back (id int)"))
        raise RuntimeError("a step failed")
    assert db.execute(sa.text("SELECT to_regclass('h_owner_rolled_back')")).scalar() is None
