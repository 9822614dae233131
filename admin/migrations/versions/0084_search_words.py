"""The catalogue's search words counted by day (search_word_count: word, day, count; no query, reader or
address) and the service setting of the least count the monthly report names (issue 39, item 5)

Revision ID: 0084
Revises: 0078
Create Date: 2026-11-25 17:30:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0084'
down_revision = '0078'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('search_word_count',
                    sa.Column('word', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('count', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('word', 'day', name=op.f('pk_search_word_count')))
    op.create_index(op.f('ix_search_word_count_day'), 'search_word_count', ['day'], unique=False)
    with op.batch_alter_table('service_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_words_minimum', sa.Integer(), server_default='5', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('service_settings', schema=None) as batch_op:
        batch_op.drop_column('search_words_minimum')
    op.drop_index(op.f('ix_search_word_count_day'), table_name='search_word_count')
    op.drop_table('search_word_count')
