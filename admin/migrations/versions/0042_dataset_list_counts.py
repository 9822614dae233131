"""The lists' pages count datasets by category and by licence from an index alone

Revision ID: 0042
Revises: 0041
Create Date: 2026-11-24 13:00:00

The operator's categories and licences pages show how many datasets (not withdrawn) use each entry
(catalogue.lists.datasets_using). At national size (52,230 datasets) SQLite read them through
ix_dataset_category_code and each row behind it (60 ms for the categories page's count, 20 ms for
the licences'); with (category_code, status) and (licence_code, status) the count is a scan of the
index alone (under 5 ms each). ix_dataset_category_code is the new index's first column and goes.
"""
from alembic import op


revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_dataset_category_code', table_name='dataset')
    op.create_index('ix_dataset_category_status', 'dataset', ['category_code', 'status'], unique=False)
    op.create_index('ix_dataset_licence_status', 'dataset', ['licence_code', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_dataset_licence_status', table_name='dataset')
    op.drop_index('ix_dataset_category_status', table_name='dataset')
    op.create_index('ix_dataset_category_code', 'dataset', ['category_code'], unique=False)
