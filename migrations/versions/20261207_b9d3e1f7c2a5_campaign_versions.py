"""campaign versions: renewed by every transaction that changes what a campaign's split reads

Revision ID: b9d3e1f7c2a5
Revises: f2b8d4c6a1e9
Create Date: 2026-12-07 14:00:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b9d3e1f7c2a5"
down_revision = "f2b8d4c6a1e9"
branch_labels = None
depends_on = None


def upgrade():
    versions = op.create_table(
        "campaign_versions",
        sa.Column("campaign_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_versions")),
    )
    campaigns = sa.table("campaigns", sa.column("id", sa.Integer))
    rows = [
        {"campaign_id": campaign_id, "version": secrets.token_hex(16)}
        for (campaign_id,) in op.get_bind().execute(sa.select(campaigns.c.id))
    ]
    if rows:
        op.bulk_insert(versions, rows)


def downgrade():
    op.drop_table("campaign_versions")
