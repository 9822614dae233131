"""The catalogue's search index: each dataset's character pairs (dataset_search_gram)

Revision ID: 0033
Revises: 0031
Create Date: 2026-11-23 19:40:00.000000

A catalogue search looks its words' pairs up here and checks only those datasets with the rule's
LIKE (catalogue.catalogue.search), instead of reading every dataset's text; the covering
index ix_dataset_search it replaces is dropped. The index is filled from the stored search texts.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from catalogue.search_index import index_search_texts

    op.create_table('dataset_search_gram',
    sa.Column('gram', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_dataset_search_gram_dataset_id_dataset')),
    sa.PrimaryKeyConstraint('gram', 'dataset_id', name=op.f('pk_dataset_search_gram'))
    )
    with op.batch_alter_table('dataset_search_gram', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_search_gram_dataset_id'), ['dataset_id'], unique=False)
    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.drop_index('ix_dataset_search')
    index_search_texts(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.create_index('ix_dataset_search', ['status', 'access', 'search_text'], unique=False)
    with op.batch_alter_table('dataset_search_gram', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataset_search_gram_dataset_id'))
    op.drop_table('dataset_search_gram')
