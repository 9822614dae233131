"""The competition's selection and notices (competition_selection: each ranked group's place in a stage's
selection with its numbered notice letter; issue 41, item 5)

Revision ID: 0085
Revises: 0086
Create Date: 2026-11-25 17:40:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0085'
down_revision = '0086'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('competition_selection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Enum('first', 'second', name='stage', native_enum=False, length=8), nullable=False),
    sa.Column('declaration_id', sa.Integer(), nullable=False),
    sa.Column('selected', sa.Boolean(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('number_year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['competition_call.id'], name=op.f('fk_competition_selection_call_id_competition_call')),
    sa.ForeignKeyConstraint(['declaration_id'], ['competition_declaration.id'], name=op.f('fk_competition_selection_declaration_id_competition_declaration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_selection')),
    sa.UniqueConstraint('call_id', 'stage', 'declaration_id', name=op.f('uq_competition_selection_call_id')),
    sa.UniqueConstraint('number_year', 'sequence', name=op.f('uq_competition_selection_number_year'))
    )
    with op.batch_alter_table('competition_selection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_selection_call_id'), ['call_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('competition_selection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_selection_call_id'))
    op.drop_table('competition_selection')
