"""The schema owner's connection, for the maintenance that needs more than the application role.

On PostgreSQL the application connects as a role that may read, insert and make only the updates
and deletes its operations need (:mod:`maintenance.db_roles`). A few maintenance commands need more:

* ``renkei db upgrade`` and ``renkei db grant`` (DDL, GRANT);
* the ``usage-partitions`` and ``usage-retention`` steps of ``renkei jobs run-due`` (CREATE,
  ATTACH, DETACH and DROP of ``usage_event``'s monthly partitions);
* ``renkei backup`` (``pg_dump`` reads every table, the partitions included, directly) and
  ``renkei restore`` (creates the schema, then grants the application role again).

They connect with ``RENKEI_DATABASE_OWNER_URL``; when it is not set they use
``RENKEI_DATABASE_URL``, so an install with one role (SQLite, development) keeps working.
Everything else, the web application included, uses ``RENKEI_DATABASE_URL`` only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool


def owner_url(config: Mapping[str, Any]) -> str:
    """The owner's database URL: RENKEI_DATABASE_OWNER_URL, else the application's own URL."""
    return config.get("RENKEI_DATABASE_OWNER_URL") or config["SQLALCHEMY_DATABASE_URI"]


def is_separate(config: Mapping[str, Any]) -> bool:
    """Whether the owner connects otherwise than the application (another URL)."""
    return owner_url(config) != config["SQLALCHEMY_DATABASE_URI"]


def app_role(config: Mapping[str, Any]) -> str | None:
    """PostgreSQL: the application's role when the owner is another role (to grant after a restore)."""
    app, owner = sa.make_url(config["SQLALCHEMY_DATABASE_URI"]), sa.make_url(owner_url(config))
    if app.get_backend_name() != "postgresql" or not app.username or app.username == owner.username:
        return None
    return app.username


@contextlib.contextmanager
def owner_engine(config: Mapping[str, Any], app_engine: sa.Engine) -> Iterator[sa.Engine]:
    """An engine connecting as the owner (the application's own engine for a one-role install)."""
    if not is_separate(config):
        yield app_engine
        return
    engine = sa.create_engine(owner_url(config), poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


@contextlib.contextmanager
def owner_session(config: Mapping[str, Any], app_session: Session) -> Iterator[Session]:
    """A session as the owner, committed when the block ends and rolled back if it raises.

    For a one-role install it is ``app_session`` itself (committed likewise)."""
    if not is_separate(config):
        try:
            yield app_session
            app_session.commit()
        except BaseException:
            app_session.rollback()
            raise
        return
    with owner_engine(config, app_session.get_bind()) as engine, Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
