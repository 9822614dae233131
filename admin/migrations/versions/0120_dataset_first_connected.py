"""When a dataset was first connected by a route through the API gateway (issue 59 item 5): dataset.first_connected_at,
set once by the register's write path when a distribution of the dataset first names a route (catalogue/routes.py), so
that the data rule (competition/contracts.py, newly_connected) counts data first connected by route in a project's
period as well as data first published in it.

Backfill: a dataset whose distributions name a route today gets its registration time (created_at). The moment its
first route was saved is not kept anywhere (the distributions are written again at each edit and the audit's summary
named no route), only that it lies between its registration and now; the earliest bound is chosen so that no project
counts an existing route as new data (a dataset registered during a period with a route is still counted: its route
cannot be older than it). A dataset without a route stays NULL until its first route is saved.

Revision ID: 0120
Revises: 0119
Create Date: 2026-11-28 09:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0120'
down_revision = '0119'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_connected_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE dataset SET first_connected_at = created_at WHERE EXISTS (SELECT 1 FROM dataset_distribution d "
        "WHERE d.dataset_id = dataset.id AND (d.route_service <> '' OR d.route_path <> ''))")


def downgrade() -> None:
    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.drop_column('first_connected_at')
