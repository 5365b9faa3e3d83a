"""payments ledger stripe bank reminders

Revision ID: 5bc636a824a4
Revises: f0a946306ddd
Create Date: 2026-11-25 23:15:07.763443

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "5bc636a824a4"
down_revision = "f0a946306ddd"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("received_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_table(
        "bank_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by_id"], ["users.id"], name=op.f("fk_bank_imports_imported_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_imports")),
        sa.UniqueConstraint("sha256", name=op.f("uq_bank_imports_sha256")),
    )
    op.create_table(
        "checkout_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_id", sa.String(length=255), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payment_status", sa.String(length=30), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount > 0", name=op.f("ck_checkout_sessions_checkout_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_checkout_sessions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_checkout_sessions_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_sessions")),
        sa.UniqueConstraint("stripe_id", name=op.f("uq_checkout_sessions_stripe_id")),
    )
    with op.batch_alter_table("checkout_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkout_sessions_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "reminder_pauses",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("paused_by_id", sa.Integer(), nullable=True),
        sa.Column("paused_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_reminder_pauses_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["paused_by_id"], ["users.id"], name=op.f("fk_reminder_pauses_paused_by_id_users")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_reminder_pauses")),
    )
    op.create_table(
        "bank_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_import_id", sa.Integer(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "unmatched",
                "matched",
                "ignored",
                name="banklinestatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("proposed_invoice_id", sa.Integer(), nullable=True),
        sa.Column("proposal_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_import_id"],
            ["bank_imports.id"],
            name=op.f("fk_bank_lines_bank_import_id_bank_imports"),
        ),
        sa.ForeignKeyConstraint(
            ["proposed_invoice_id"],
            ["invoices.id"],
            name=op.f("fk_bank_lines_proposed_invoice_id_invoices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_lines")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_bank_lines_fingerprint")),
    )
    with op.batch_alter_table("bank_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_lines_bank_import_id"), ["bank_import_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bank_lines_status"), ["status"], unique=False)

    op.create_table(
        "checkout_session_invoices",
        sa.Column("checkout_session_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkout_session_id"],
            ["checkout_sessions.id"],
            name=op.f("fk_checkout_session_invoices_checkout_session_id_checkout_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_checkout_session_invoices_invoice_id_invoices"),
        ),
        sa.PrimaryKeyConstraint(
            "checkout_session_id", "invoice_id", name=op.f("pk_checkout_session_invoices")
        ),
    )
    with op.batch_alter_table("checkout_session_invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkout_session_invoices_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "payment_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("step_days", sa.Integer(), nullable=False),
        sa.Column("sent_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payment_reminders_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_reminders")),
        sa.UniqueConstraint("invoice_id", "step_days", name="uq_reminder_step"),
    )
    with op.batch_alter_table("payment_reminders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_reminders_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "card",
                "sepa_debit",
                "transfer",
                "cheque",
                name="method",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "succeeded",
                "failed",
                name="paymentstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("fees", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("checkout_session_id", sa.Integer(), nullable=True),
        sa.Column("bank_line_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_payment_amount_positive")),
        sa.CheckConstraint(
            "fees >= 0 AND fees <= amount", name=op.f("ck_payments_payment_fees_within_amount")
        ),
        sa.ForeignKeyConstraint(
            ["bank_line_id"], ["bank_lines.id"], name=op.f("fk_payments_bank_line_id_bank_lines")
        ),
        sa.ForeignKeyConstraint(
            ["checkout_session_id"],
            ["checkout_sessions.id"],
            name=op.f("fk_payments_checkout_session_id_checkout_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_payments_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_payments_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("bank_line_id", name=op.f("uq_payments_bank_line_id")),
        sa.UniqueConstraint(
            "stripe_payment_intent_id", name=op.f("uq_payments_stripe_payment_intent_id")
        ),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_member_id"), ["member_id"], unique=False)

    op.create_table(
        "payment_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount > 0", name=op.f("ck_payment_allocations_allocation_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payment_allocations_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_allocations_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_allocations")),
    )
    with op.batch_alter_table("payment_allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_allocations_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_allocations_payment_id"), ["payment_id"], unique=False
        )

    op.create_table(
        "payment_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("stripe_dispute_id", sa.String(length=255), nullable=False),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_disputes_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_disputes")),
        sa.UniqueConstraint(
            "stripe_dispute_id", name=op.f("uq_payment_disputes_stripe_dispute_id")
        ),
    )
    with op.batch_alter_table("payment_disputes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_disputes_payment_id"), ["payment_id"], unique=False
        )

    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "succeeded",
                "failed",
                name="refundstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("refunded_on", sa.Date(), nullable=False),
        sa.Column("stripe_refund_id", sa.String(length=255), nullable=True),
        sa.Column("credit_note_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_refund_amount_positive")),
        sa.ForeignKeyConstraint(
            ["credit_note_id"], ["invoices.id"], name=op.f("fk_refunds_credit_note_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_refunds_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("stripe_refund_id", name=op.f("uq_refunds_stripe_refund_id")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_payment_id"), ["payment_id"], unique=False)

    with op.batch_alter_table("coop_identity", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reminder_days", sa.String(length=40), nullable=False, server_default="7,21,45"
            )
        )


def downgrade():
    with op.batch_alter_table("coop_identity", schema=None) as batch_op:
        batch_op.drop_column("reminder_days")

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_payment_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("payment_disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_disputes_payment_id"))

    op.drop_table("payment_disputes")
    with op.batch_alter_table("payment_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_allocations_payment_id"))
        batch_op.drop_index(batch_op.f("ix_payment_allocations_invoice_id"))

    op.drop_table("payment_allocations")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_member_id"))

    op.drop_table("payments")
    with op.batch_alter_table("payment_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_reminders_invoice_id"))

    op.drop_table("payment_reminders")
    with op.batch_alter_table("checkout_session_invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkout_session_invoices_invoice_id"))

    op.drop_table("checkout_session_invoices")
    with op.batch_alter_table("bank_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_lines_status"))
        batch_op.drop_index(batch_op.f("ix_bank_lines_bank_import_id"))

    op.drop_table("bank_lines")
    op.drop_table("reminder_pauses")
    with op.batch_alter_table("checkout_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkout_sessions_member_id"))

    op.drop_table("checkout_sessions")
    op.drop_table("bank_imports")
    op.drop_table("stripe_events")
