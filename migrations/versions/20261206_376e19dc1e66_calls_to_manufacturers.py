"""calls to manufacturers: calls, files, makers invited, answers, threads, acceptances

Revision ID: 376e19dc1e66
Revises: a4c1f2e9b7d3
Create Date: 2026-12-06 19:41:12

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "376e19dc1e66"
down_revision = "a4c1f2e9b7d3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "manufacturer_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("specification", sa.Text(), nullable=False),
        sa.Column("annual_volume", sa.Integer(), nullable=False),
        sa.Column("target_price", coop.db.UnitPrice(precision=12, scale=4), nullable=True),
        sa.Column("delivery_rhythm", sa.Text(), nullable=True),
        sa.Column("duration_months", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "open",
                "closed",
                name="callstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("deadline_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(part_id IS NULL) <> (category IS NULL)",
            name=op.f("ck_manufacturer_calls_part_or_family"),
        ),
        sa.CheckConstraint(
            "annual_volume > 0", name=op.f("ck_manufacturer_calls_annual_volume_positive")
        ),
        sa.CheckConstraint(
            "duration_months > 0", name=op.f("ck_manufacturer_calls_duration_positive")
        ),
        sa.CheckConstraint(
            "target_price > 0", name=op.f("ck_manufacturer_calls_target_price_positive")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_manufacturer_calls_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_manufacturer_calls_part_id_parts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manufacturer_calls")),
        sa.UniqueConstraint("code", name=op.f("uq_manufacturer_calls_code")),
    )
    with op.batch_alter_table("manufacturer_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manufacturer_calls_part_id"), ["part_id"], unique=False
        )

    op.create_table(
        "call_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_call_files_size_positive")),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["manufacturer_calls.id"],
            name=op.f("fk_call_files_call_id_manufacturer_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_files")),
    )
    with op.batch_alter_table("call_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_files_call_id"), ["call_id"], unique=False)

    op.create_table(
        "call_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("siret", sa.String(length=14), nullable=False),
        sa.Column("link_id", sa.String(length=64), nullable=True),
        sa.Column("expires_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opened_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["manufacturer_calls.id"],
            name=op.f("fk_call_invitations_call_id_manufacturer_calls"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_invitations")),
        sa.UniqueConstraint("call_id", "email", name="uq_call_invitations_email"),
        sa.UniqueConstraint("call_id", "siret", name="uq_call_invitations_siret"),
        sa.UniqueConstraint("link_id", name=op.f("uq_call_invitations_link_id")),
    )
    with op.batch_alter_table("call_invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_invitations_call_id"), ["call_id"], unique=False)

    op.create_table(
        "call_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("pack_size", sa.Integer(), nullable=False),
        sa.Column("moq", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("yearly_capacity", sa.Integer(), nullable=False),
        sa.Column("samples_on", sa.Date(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "lead_time_days >= 0", name=op.f("ck_call_answers_lead_time_not_negative")
        ),
        sa.CheckConstraint("moq >= 0", name=op.f("ck_call_answers_moq_not_negative")),
        sa.CheckConstraint("pack_size >= 1", name=op.f("ck_call_answers_pack_size_positive")),
        sa.CheckConstraint(
            "yearly_capacity > 0", name=op.f("ck_call_answers_yearly_capacity_positive")
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["call_invitations.id"],
            name=op.f("fk_call_answers_invitation_id_call_invitations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_answers")),
    )
    with op.batch_alter_table("call_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_answers_invitation_id"), ["invitation_id"], unique=False
        )

    op.create_table(
        "call_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "sent",
                "message",
                "answer",
                "accepted",
                "revoked",
                "renewed",
                name="callmessagekind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("by_maker", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "NOT (by_maker AND author_id IS NOT NULL)", name=op.f("ck_call_messages_one_author")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_call_messages_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["call_invitations.id"],
            name=op.f("fk_call_messages_invitation_id_call_invitations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_messages")),
    )
    with op.batch_alter_table("call_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_messages_invitation_id"), ["invitation_id"], unique=False
        )

    op.create_table(
        "call_acceptances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"], ["users.id"], name=op.f("fk_call_acceptances_accepted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["framework_agreements.id"],
            name=op.f("fk_call_acceptances_agreement_id_framework_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["call_answers.id"],
            name=op.f("fk_call_acceptances_answer_id_call_answers"),
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["manufacturer_calls.id"],
            name=op.f("fk_call_acceptances_call_id_manufacturer_calls"),
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_call_acceptances_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_call_acceptances_part_id_parts")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_call_acceptances_supplier_id_suppliers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_acceptances")),
        sa.UniqueConstraint("call_id", "part_id", name="uq_call_acceptances_part"),
    )
    op.create_table(
        "call_answer_tiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("min_qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", coop.db.UnitPrice(precision=12, scale=4), nullable=False),
        sa.CheckConstraint("min_qty >= 1", name=op.f("ck_call_answer_tiers_min_qty_positive")),
        sa.CheckConstraint("unit_price > 0", name=op.f("ck_call_answer_tiers_unit_price_positive")),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["call_answers.id"],
            name=op.f("fk_call_answer_tiers_answer_id_call_answers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_answer_tiers")),
        sa.UniqueConstraint("answer_id", "min_qty", name="uq_call_answer_tiers_answer_min_qty"),
    )
    with op.batch_alter_table("call_answer_tiers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_answer_tiers_answer_id"), ["answer_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("call_answer_tiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_answer_tiers_answer_id"))

    op.drop_table("call_answer_tiers")
    op.drop_table("call_acceptances")
    with op.batch_alter_table("call_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_messages_invitation_id"))

    op.drop_table("call_messages")
    with op.batch_alter_table("call_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_answers_invitation_id"))

    op.drop_table("call_answers")
    with op.batch_alter_table("call_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_invitations_call_id"))

    op.drop_table("call_invitations")
    with op.batch_alter_table("call_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_files_call_id"))

    op.drop_table("call_files")
    with op.batch_alter_table("manufacturer_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manufacturer_calls_part_id"))

    op.drop_table("manufacturer_calls")
