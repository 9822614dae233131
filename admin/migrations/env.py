"""Alembic environment: the one SQLModel metadata, every table model imported."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from admin import _import_models
from core.db import metadata

_import_models()
config = context.config


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                         prefix="sqlalchemy.", poolclass=pool.NullPool)
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _not_a_partition(name, type_, parent_names) -> bool:
    """Monthly partitions of usage_event are made by the due jobs, not by migrations."""
    from usage.partitions import is_partition_name

    return not (type_ == "table" and is_partition_name(name))


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True,
                      include_name=_not_a_partition)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
