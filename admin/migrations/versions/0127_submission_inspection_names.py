"""A submitted version's inspection is stored as the enum's name, as every enum column is (core.db.enum_column: no
values_callable): 'none', 'approved', 'returned'. Migration 0123 wrote the check and the default with the value of
"not inspected" (''), so on a migrated database every new version (and the demo's sample minutes) was refused by
the check. The rows stored under '' (none can have been inserted through the app) become 'none'.

Revision ID: 0127
Revises: 0126
Create Date: 2026-11-29 07:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0127'
down_revision = '0126'
branch_labels = None
depends_on = None


def _check(values: tuple[str, ...]) -> sa.TextClause:
    return sa.text(f"inspection IN ({', '.join(repr(value) for value in values)})")


def upgrade() -> None:
    with op.batch_alter_table('submission_version', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_submission_version_inspection'), type_='check')
        batch_op.alter_column('inspection', existing_type=sa.String(length=16), server_default='none',
                              existing_nullable=False)
    op.execute("UPDATE submission_version SET inspection = 'none' WHERE inspection = ''")
    with op.batch_alter_table('submission_version', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_submission_version_inspection'), _check(('none', 'approved', 'returned')))


def downgrade() -> None:
    with op.batch_alter_table('submission_version', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_submission_version_inspection'), type_='check')
        batch_op.alter_column('inspection', existing_type=sa.String(length=16), server_default='',
                              existing_nullable=False)
    op.execute("UPDATE submission_version SET inspection = '' WHERE inspection = 'none'")
    with op.batch_alter_table('submission_version', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_submission_version_inspection'), _check(('', 'approved', 'returned')))
