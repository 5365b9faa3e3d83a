"""forgotten-password requests are rate-limited by Flask-Limiter: drop request_throttles

Revision ID: a4c1f2e9b7d3
Revises: d164ea68280e
Create Date: 2026-12-07 09:00:00

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "a4c1f2e9b7d3"
down_revision = "d164ea68280e"
branch_labels = None
depends_on = None


def upgrade():
    # The counts were an hour's worth of throttling: nothing to carry over.
    op.drop_table("request_throttles")


def downgrade():
    op.create_table(
        "request_throttles",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=254), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_started_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_request_throttles")),
    )
