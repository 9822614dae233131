"""The competition's contracts and delivery (competition_contract, its budget lines and its milestones and
deliverables; issue 41, item 6)

Revision ID: 0087
Revises: 0088
Create Date: 2026-11-25 20:45:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0087'
down_revision = '0088'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('competition_contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('declaration_id', sa.Integer(), nullable=False),
    sa.Column('representative', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('amount_yen', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('cost_item_id', sa.Integer(), nullable=True),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['competition_call.id'], name=op.f('fk_competition_contract_call_id_competition_call')),
    sa.ForeignKeyConstraint(['cost_item_id'], ['billing_cost_item.id'], name=op.f('fk_competition_contract_cost_item_id_billing_cost_item')),
    sa.ForeignKeyConstraint(['declaration_id'], ['competition_declaration.id'], name=op.f('fk_competition_contract_declaration_id_competition_declaration')),
    sa.ForeignKeyConstraint(['grant_id'], ['billing_grant.id'], name=op.f('fk_competition_contract_grant_id_billing_grant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_contract')),
    sa.UniqueConstraint('declaration_id', name=op.f('uq_competition_contract_declaration_id'))
    )
    with op.batch_alter_table('competition_contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_contract_call_id'), ['call_id'], unique=False)
    op.create_table('competition_contract_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('item', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('amount_yen', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['competition_contract.id'], name=op.f('fk_competition_contract_line_contract_id_competition_contract')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_contract_line'))
    )
    with op.batch_alter_table('competition_contract_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_contract_line_contract_id'), ['contract_id'], unique=False)
    op.create_table('competition_contract_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('milestone', 'report', 'dataset', name='itemkind', native_enum=False, length=12), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=True),
    sa.Column('delivered_on', sa.Date(), nullable=True),
    sa.Column('delivered_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['competition_contract.id'], name=op.f('fk_competition_contract_item_contract_id_competition_contract')),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_competition_contract_item_dataset_id_dataset')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_contract_item'))
    )
    with op.batch_alter_table('competition_contract_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_contract_item_contract_id'), ['contract_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('competition_contract_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_contract_item_contract_id'))
    op.drop_table('competition_contract_item')
    with op.batch_alter_table('competition_contract_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_contract_line_contract_id'))
    op.drop_table('competition_contract_line')
    with op.batch_alter_table('competition_contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_contract_call_id'))
    op.drop_table('competition_contract')
