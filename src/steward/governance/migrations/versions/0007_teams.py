"""teams: teams and their members, a model's owning team, an audit's run context, acknowledged alerts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Plain ALTER TABLE for the added columns (see 0006): nullable, without defaults, so the rows stored
# before read as having no team, no recorded run context and no acknowledgement.


def upgrade() -> None:
    op.create_table(
        'teams',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(200), nullable=False, unique=True),
        sa.Column('contact', sa.String(300), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'team_members',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('team_id', sa.Integer(), sa.ForeignKey('teams.id'), nullable=False),
        sa.Column('principal_id', sa.Integer(), sa.ForeignKey('principals.id'), nullable=False),
        sa.Column('added_by', sa.String(200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('team_id', 'principal_id'),
    )
    op.add_column('models', sa.Column('team_id', sa.Integer(), nullable=True))
    op.add_column('audit_runs', sa.Column('context', sa.JSON(none_as_null=True), nullable=True))
    op.add_column('monitor_alerts', sa.Column('acknowledged_by', sa.String(200), nullable=True))
    op.add_column('monitor_alerts', sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('monitor_alerts', sa.Column('acknowledged_note', sa.Text(), nullable=True))


def downgrade() -> None:
    for column in ('acknowledged_note', 'acknowledged_at', 'acknowledged_by'):
        op.drop_column('monitor_alerts', column)
    op.drop_column('audit_runs', 'context')
    op.drop_column('models', 'team_id')
    op.drop_table('team_members')
    op.drop_table('teams')
