"""campaigns.invoicing_started_at: the cost split freezes with a campaign's first invoice

Revision ID: 3f6d2a9c8b17
Revises: 7a3c91e4d2b5
Create Date: 2026-12-06 16:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "3f6d2a9c8b17"
down_revision = "7a3c91e4d2b5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invoicing_started_at", coop.db.UTCDateTime(), nullable=True))
    # Campaigns already (partly) invoiced: the moment of their first invoice.
    op.execute(
        "UPDATE campaigns SET invoicing_started_at = ("
        " SELECT MIN(invoices.created_at) FROM invoices"
        " WHERE invoices.campaign_id = campaigns.id AND invoices.kind = 'invoice')"
    )


def downgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("invoicing_started_at")
