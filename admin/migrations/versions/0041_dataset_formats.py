"""Each dataset's distribution formats on its own row (dataset.formats), and the catalogue's index
holding the id on PostgreSQL

Revision ID: 0041
Revises: 0040
Create Date: 2026-11-24 12:00:00

CKAN's res_format filter reads dataset.formats (catalogue.search_index.formats_text, kept by
the one write path with the distributions) instead of every distribution of the format; the column
is filled from the stored distributions. ix_dataset_catalogue gains the id as an included column on
PostgreSQL, so that a page of the DCAT feed (status, access, name order) is read from the index alone;
SQLite's indexes hold the rowid already, so there it is left as it is.
"""
from alembic import op
import sqlalchemy as sa


revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from catalogue.search_index import index_formats

    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('formats', sa.Text(), server_default='', nullable=False))
    index_formats(op.get_bind())
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_dataset_catalogue', table_name='dataset')
        op.create_index('ix_dataset_catalogue', 'dataset', ['status', 'access', 'name'], unique=False,
                        postgresql_include=['id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_dataset_catalogue', table_name='dataset')
        op.create_index('ix_dataset_catalogue', 'dataset', ['status', 'access', 'name'], unique=False)
    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.drop_column('formats')
