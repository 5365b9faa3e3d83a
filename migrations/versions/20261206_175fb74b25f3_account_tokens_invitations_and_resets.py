"""account tokens: invitations and forgotten passwords; throttles of the reset requests

Revision ID: 175fb74b25f3
Revises: 645fb019b710
Create Date: 2026-12-06 13:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "175fb74b25f3"
down_revision = "645fb019b710"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "invite",
                "reset",
                name="tokenpurpose",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "member",
                "manager",
                "treasurer",
                "admin",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "purpose <> 'invite' OR role IS NOT NULL",
            name=op.f("ck_account_tokens_invite_has_role"),
        ),
        sa.CheckConstraint(
            "purpose <> 'reset' OR user_id IS NOT NULL",
            name=op.f("ck_account_tokens_reset_has_user"),
        ),
        sa.CheckConstraint(
            "purpose <> 'invite' OR (role = 'member') = (member_id IS NOT NULL)",
            name=op.f("ck_account_tokens_shop_invite_has_shop"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_account_tokens_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_account_tokens_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_account_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_tokens_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_account_tokens_user_id"), ["user_id"], unique=False)
    op.create_table(
        "request_throttles",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=254), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_started_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_request_throttles")),
    )


def downgrade():
    op.drop_table("request_throttles")
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_account_tokens_member_id"))
    op.drop_table("account_tokens")
