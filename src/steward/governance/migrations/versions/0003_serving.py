"""guarded serving: key scopes, training profiles, deployments, the prediction log, review items

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('key_scopes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('deployment', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['api_keys.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_id', 'deployment')
    )
    op.create_table('training_profiles',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], ),
    sa.PrimaryKeyConstraint('version_id')
    )
    op.create_table('deployments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('backup_version_id', sa.Integer(), nullable=True),
    sa.Column('benchmark_version_id', sa.Integer(), nullable=True),
    sa.Column('guard', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('killed', sa.Boolean(), nullable=False),
    sa.Column('kill_reason', sa.Text(), nullable=False),
    sa.Column('killed_by', sa.String(length=200), nullable=True),
    sa.Column('killed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], ),
    sa.ForeignKeyConstraint(['backup_version_id'], ['versions.id'], ),
    sa.ForeignKeyConstraint(['benchmark_version_id'], ['versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_deployments_name_status', 'deployments', ['name', 'status'])
    op.create_table('predictions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=200), nullable=True),
    sa.Column('inputs', sa.JSON(), nullable=True),
    sa.Column('inputs_sha256', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('decision', sa.Integer(), nullable=True),
    sa.Column('route', sa.String(length=20), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_predictions_deployment_time', 'predictions', ['deployment_id', 'created_at'])
    op.create_table('review_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prediction_id', sa.String(length=40), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('why', sa.JSON(), nullable=False),
    sa.Column('interim_decision', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['prediction_id'], ['predictions.id'], ),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_review_items_status', 'review_items', ['status', 'deployment_id'])


def downgrade() -> None:
    op.drop_index('ix_review_items_status', table_name='review_items')
    op.drop_table('review_items')
    op.drop_index('ix_predictions_deployment_time', table_name='predictions')
    op.drop_table('predictions')
    op.drop_index('ix_deployments_name_status', table_name='deployments')
    op.drop_table('deployments')
    op.drop_table('training_profiles')
    op.drop_table('key_scopes')
