"""A resident moves between the platform's municipalities (転出・転入, issue 56 item 2): the status ``moved``, where to
(a municipality's code, or "" for outside the platform's area) and when; on the new municipality's row, where from.
A link carried over is made by the method ``moved`` (no constraint on that column: nothing to replace).

Revision ID: 0126
Revises: 0125
Create Date: 2026-11-29 01:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0126'
down_revision = '0125'
branch_labels = None
depends_on = None

_STATUSES = ("active", "review", "duplicate", "merged", "left")


def _status_check(values: tuple[str, ...]) -> sa.TextClause:
    return sa.text(f"status IN ({', '.join(repr(value) for value in values)})")


def upgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('moved_to', sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column('moved_from', sa.String(length=6), nullable=True))
        batch_op.drop_constraint(op.f('ck_resident_residentstatus'), type_='check')
        batch_op.create_check_constraint(op.f('ck_resident_residentstatus'), _status_check((*_STATUSES, "moved")))


def downgrade() -> None:
    # the older schema knows no move: a moved resident is kept as one who left (links ended, consents withdrawn)
    op.execute("UPDATE resident SET status = 'left' WHERE status = 'moved'")
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_resident_residentstatus'), type_='check')
        batch_op.create_check_constraint(op.f('ck_resident_residentstatus'), _status_check(_STATUSES))
        batch_op.drop_column('moved_from')
        batch_op.drop_column('moved_to')
        batch_op.drop_column('moved_at')
