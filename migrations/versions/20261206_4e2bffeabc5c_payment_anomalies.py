"""payment anomalies: what Stripe moved that the ledger did not record, for the treasurer

Revision ID: 4e2bffeabc5c
Revises: 5e55c0de7a11
Create Date: 2026-12-06 12:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "4e2bffeabc5c"
down_revision = "5e55c0de7a11"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payment_anomalies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "payment_currency",
                "payment_amount",
                "refund_currency",
                "refund_too_large",
                "refund_unrecorded",
                "dispute_currency",
                "dispute_unrecorded",
                name="anomalykind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("stripe_id", sa.String(length=255), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("checkout_session_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expected", coop.db.Money(precision=12, scale=2), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkout_session_id"],
            ["checkout_sessions.id"],
            name=op.f("fk_payment_anomalies_checkout_session_id_checkout_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_payment_anomalies_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_anomalies_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_anomalies")),
        sa.UniqueConstraint("kind", "stripe_id", name="uq_payment_anomaly_object"),
    )
    with op.batch_alter_table("payment_anomalies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_anomalies_member_id"), ["member_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("payment_anomalies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_anomalies_member_id"))

    op.drop_table("payment_anomalies")
