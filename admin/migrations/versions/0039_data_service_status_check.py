"""Data services' status is an enum in the database too (a CHECK constraint, as migration 0035 gave
every other lifecycle's status); the rows are kept as they are

The values are written out here, for the reason 0035 gives.

Revision ID: 0039
Revises: 0035
Create Date: 2026-11-23 23:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0039'
down_revision = '0035'
branch_labels = None
depends_on = None

_VALUES = ("registered", "approved", "suspended", "ended")


def upgrade() -> None:
    with op.batch_alter_table("data_service", schema=None) as batch_op:  # SQLite: a rebuild (the table has no trigger)
        batch_op.create_check_constraint(
            op.f("ck_data_service_servicestatus"),
            sa.text(f"status IN ({', '.join(repr(value) for value in _VALUES)})"))


def downgrade() -> None:
    with op.batch_alter_table("data_service", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_data_service_servicestatus"), type_="check")
