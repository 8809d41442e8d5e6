"""privacy: a version's differential-privacy record (mechanism, epsilons tried, delta, the epsilon chosen)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# Plain ALTER TABLE, not batch mode: on SQLite a batch copies and drops the versions table, which the
# foreign keys of its audits, sign-offs and deployments refuse. SQLite adds and drops a plain column in place.


def upgrade() -> None:
    # Nullable, without a default: the versions registered before read as having no privacy record.
    op.add_column('versions', sa.Column('privacy', sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    op.drop_column('versions', 'privacy')
