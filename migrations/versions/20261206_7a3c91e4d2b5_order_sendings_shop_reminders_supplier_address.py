"""order sendings (send every purchase order as a job), shop reminders, suppliers' address

Revision ID: 7a3c91e4d2b5
Revises: 175fb74b25f3
Create Date: 2026-12-06 13:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "7a3c91e4d2b5"
down_revision = "175fb74b25f3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("postcode", sa.String(length=20), nullable=True))

    op.create_table(
        "order_sendings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_order_sendings_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_order_sendings_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_sendings")),
    )
    with op.batch_alter_table("order_sendings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_sendings_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "order_sending_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sending_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "sent",
                "skipped",
                "failed",
                name="sendoutcome",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_order_sending_items_order_id_purchase_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["sending_id"],
            ["order_sendings.id"],
            name=op.f("fk_order_sending_items_sending_id_order_sendings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_sending_items")),
    )
    with op.batch_alter_table("order_sending_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_sending_items_sending_id"), ["sending_id"], unique=False
        )

    op.create_table(
        "shop_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("reminded_on", sa.Date(), nullable=False),
        sa.Column("sent_to", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_shop_reminders_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_shop_reminders_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_shop_reminders_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_reminders")),
        sa.UniqueConstraint(
            "campaign_id",
            "member_id",
            "reminded_on",
            name=op.f("uq_shop_reminders_campaign_id"),
        ),
    )
    with op.batch_alter_table("shop_reminders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shop_reminders_campaign_id"), ["campaign_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("shop_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_reminders_campaign_id"))
    op.drop_table("shop_reminders")
    with op.batch_alter_table("order_sending_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_sending_items_sending_id"))
    op.drop_table("order_sending_items")
    with op.batch_alter_table("order_sendings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_sendings_campaign_id"))
    op.drop_table("order_sendings")
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_column("postcode")
        batch_op.drop_column("address")
