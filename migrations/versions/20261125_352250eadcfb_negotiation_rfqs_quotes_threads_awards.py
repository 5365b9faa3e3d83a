"""negotiation: requests for quotation, quotes, threads, awards

Revision ID: 352250eadcfb
Revises: 7d2e4b1c9a05
Create Date: 2026-11-25 23:23:30.987488

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "352250eadcfb"
down_revision = "7d2e4b1c9a05"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rfqs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "sent",
                "partly_answered",
                "answered",
                "awarded",
                "closed",
                name="rfqstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("deadline_on", sa.Date(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_rfqs_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_rfqs_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfqs")),
        sa.UniqueConstraint("number", name=op.f("uq_rfqs_number")),
    )
    with op.batch_alter_table("rfqs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rfqs_campaign_id"), ["campaign_id"], unique=False)

    op.create_table(
        "rfq_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rfq_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.String(length=64), nullable=True),
        sa.Column("expires_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opened_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rfq_id"], ["rfqs.id"], name=op.f("fk_rfq_invitations_rfq_id_rfqs")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_rfq_invitations_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfq_invitations")),
        sa.UniqueConstraint("link_id", name=op.f("uq_rfq_invitations_link_id")),
        sa.UniqueConstraint("rfq_id", "supplier_id", name="uq_rfq_invitations_supplier"),
    )
    with op.batch_alter_table("rfq_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rfq_invitations_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "rfq_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rfq_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_rfq_lines_quantity_positive")),
        sa.ForeignKeyConstraint(["part_id"], ["parts.id"], name=op.f("fk_rfq_lines_part_id_parts")),
        sa.ForeignKeyConstraint(["rfq_id"], ["rfqs.id"], name=op.f("fk_rfq_lines_rfq_id_rfqs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfq_lines")),
        sa.UniqueConstraint("rfq_id", "part_id", name="uq_rfq_lines_rfq_part"),
    )
    with op.batch_alter_table("rfq_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rfq_lines_rfq_id"), ["rfq_id"], unique=False)

    op.create_table(
        "negotiation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "sent",
                "message",
                "counter_proposal",
                "answer",
                "award",
                "reminder",
                "revoked",
                "renewed",
                name="messagekind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("by_supplier", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("answer_by", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "NOT (by_supplier AND author_id IS NOT NULL)",
            name=op.f("ck_negotiation_messages_one_author"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_negotiation_messages_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["rfq_invitations.id"],
            name=op.f("fk_negotiation_messages_invitation_id_rfq_invitations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_negotiation_messages")),
    )
    with op.batch_alter_table("negotiation_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_negotiation_messages_invitation_id"), ["invitation_id"], unique=False
        )

    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("rfq_line_id", sa.Integer(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["rfq_invitations.id"],
            name=op.f("fk_quotes_invitation_id_rfq_invitations"),
        ),
        sa.ForeignKeyConstraint(
            ["rfq_line_id"], ["rfq_lines.id"], name=op.f("fk_quotes_rfq_line_id_rfq_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("invitation_id", "rfq_line_id", name="uq_quotes_line"),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotes_rfq_line_id"), ["rfq_line_id"], unique=False)

    op.create_table(
        "counter_proposal_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("unit_price", coop.db.UnitPrice(precision=12, scale=4), nullable=True),
        sa.CheckConstraint(
            "quantity >= 1", name=op.f("ck_counter_proposal_lines_quantity_positive")
        ),
        sa.CheckConstraint(
            "unit_price > 0", name=op.f("ck_counter_proposal_lines_unit_price_positive")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["negotiation_messages.id"],
            name=op.f("fk_counter_proposal_lines_message_id_negotiation_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_counter_proposal_lines_quote_id_quotes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_proposal_lines")),
    )
    with op.batch_alter_table("counter_proposal_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_counter_proposal_lines_message_id"), ["message_id"], unique=False
        )

    op.create_table(
        "quote_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_declined", sa.Boolean(), nullable=False),
        sa.Column("supplier_ref", sa.String(length=60), nullable=True),
        sa.Column("made_in", sa.String(length=2), nullable=True),
        sa.Column("pack_size", sa.Integer(), nullable=False),
        sa.Column("moq", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("alternative", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "lead_time_days >= 0", name=op.f("ck_quote_answers_lead_time_not_negative")
        ),
        sa.CheckConstraint("moq >= 0", name=op.f("ck_quote_answers_moq_not_negative")),
        sa.CheckConstraint("pack_size >= 1", name=op.f("ck_quote_answers_pack_size_positive")),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["negotiation_messages.id"],
            name=op.f("fk_quote_answers_message_id_negotiation_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_quote_answers_quote_id_quotes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_answers")),
    )
    with op.batch_alter_table("quote_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quote_answers_quote_id"), ["quote_id"], unique=False)
        batch_op.create_index(
            "uq_quote_answers_draft",
            ["quote_id"],
            unique=True,
            postgresql_where=sa.text("submitted_at IS NULL"),
            sqlite_where=sa.text("submitted_at IS NULL"),
        )

    op.create_table(
        "quote_tiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("min_qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", coop.db.UnitPrice(precision=12, scale=4), nullable=False),
        sa.CheckConstraint("min_qty >= 1", name=op.f("ck_quote_tiers_min_qty_positive")),
        sa.CheckConstraint("unit_price > 0", name=op.f("ck_quote_tiers_unit_price_positive")),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["quote_answers.id"], name=op.f("fk_quote_tiers_answer_id_quote_answers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_tiers")),
        sa.UniqueConstraint("answer_id", "min_qty", name="uq_quote_tiers_answer_min_qty"),
    )
    with op.batch_alter_table("quote_tiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quote_tiers_answer_id"), ["answer_id"], unique=False)

    op.create_table(
        "rfq_awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rfq_line_id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("awarded_by_id", sa.Integer(), nullable=True),
        sa.Column("awarded_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["quote_answers.id"], name=op.f("fk_rfq_awards_answer_id_quote_answers")
        ),
        sa.ForeignKeyConstraint(
            ["awarded_by_id"], ["users.id"], name=op.f("fk_rfq_awards_awarded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["rfq_line_id"], ["rfq_lines.id"], name=op.f("fk_rfq_awards_rfq_line_id_rfq_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfq_awards")),
        sa.UniqueConstraint("rfq_line_id", name=op.f("uq_rfq_awards_rfq_line_id")),
    )


def downgrade():
    op.drop_table("rfq_awards")
    with op.batch_alter_table("quote_tiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quote_tiers_answer_id"))

    op.drop_table("quote_tiers")
    with op.batch_alter_table("quote_answers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_quote_answers_draft",
            postgresql_where=sa.text("submitted_at IS NULL"),
            sqlite_where=sa.text("submitted_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_quote_answers_quote_id"))

    op.drop_table("quote_answers")
    with op.batch_alter_table("counter_proposal_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counter_proposal_lines_message_id"))

    op.drop_table("counter_proposal_lines")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotes_rfq_line_id"))

    op.drop_table("quotes")
    with op.batch_alter_table("negotiation_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_negotiation_messages_invitation_id"))

    op.drop_table("negotiation_messages")
    with op.batch_alter_table("rfq_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rfq_lines_rfq_id"))

    op.drop_table("rfq_lines")
    with op.batch_alter_table("rfq_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rfq_invitations_supplier_id"))

    op.drop_table("rfq_invitations")
    with op.batch_alter_table("rfqs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rfqs_campaign_id"))

    op.drop_table("rfqs")
