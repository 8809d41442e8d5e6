"""humans in the loop: review decisions, appeals, callbacks, harm reports; review items' kind and deadlines

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('review_items') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default='decision'))
        batch.add_column(sa.Column('appeal_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('review_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_item_id', sa.Integer(), nullable=False),
    sa.Column('prediction_id', sa.String(length=40), nullable=False),
    sa.Column('reviewer', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('decision', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['review_item_id'], ['review_items.id'], ),
    sa.ForeignKeyConstraint(['prediction_id'], ['predictions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prediction_id', sa.String(length=40), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('corrected_inputs', sa.JSON(), nullable=True),
    sa.Column('rescored_prediction_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome_reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('filed_by', sa.String(length=200), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['prediction_id'], ['predictions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('callbacks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prediction_id', sa.String(length=40), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['prediction_id'], ['predictions.id'], ),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_callbacks_due', 'callbacks', ['status', 'next_attempt_at'])
    op.create_table('harm_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prediction_id', sa.String(length=40), nullable=True),
    sa.Column('deployment', sa.String(length=200), nullable=True),
    sa.Column('what', sa.Text(), nullable=False),
    sa.Column('contact', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('address_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('harm_reports')
    op.drop_index('ix_callbacks_due', table_name='callbacks')
    op.drop_table('callbacks')
    op.drop_table('appeals')
    op.drop_table('review_decisions')
    with op.batch_alter_table('review_items') as batch:
        batch.drop_column('escalated_at')
        batch.drop_column('due_at')
        batch.drop_column('appeal_id')
        batch.drop_column('kind')
