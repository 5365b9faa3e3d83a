"""pooling runs: a version of the stored plan, new whenever the plan is written

Revision ID: f2b8d4c6a1e9
Revises: e5a7c3d9b214
Create Date: 2026-12-07 14:30:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f2b8d4c6a1e9"
down_revision = "e5a7c3d9b214"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pooling_runs") as batch:
        batch.add_column(sa.Column("result_version", sa.String(length=32), nullable=True))
    runs = sa.table(
        "pooling_runs",
        sa.column("id", sa.Integer),
        sa.column("result", sa.JSON),
        sa.column("result_version", sa.String),
    )
    connection = op.get_bind()
    stored = sa.select(runs.c.id).where(runs.c.result.is_not(None))
    for (run_id,) in connection.execute(stored).all():
        connection.execute(
            runs.update().where(runs.c.id == run_id).values(result_version=secrets.token_hex(16))
        )


def downgrade():
    with op.batch_alter_table("pooling_runs") as batch:
        batch.drop_column("result_version")
