"""index needs by campaign and part

Revision ID: 37b949d3396c
Revises: f824c5cb5000
Create Date: 2026-11-25 19:37:10.421031

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "37b949d3396c"
down_revision = "f824c5cb5000"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.create_index("ix_needs_campaign_part", ["campaign_id", "part_id"], unique=False)


def downgrade():
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_index("ix_needs_campaign_part")
