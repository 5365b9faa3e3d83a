"""activity log: one append-only table of who did what, when

Revision ID: 1c93cbc756b1
Revises: 3f6d2a9c8b17
Create Date: 2026-12-06 15:41:01.193923

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "1c93cbc756b1"
down_revision = "3f6d2a9c8b17"
branch_labels = None
depends_on = None


# An entry of the log is a record of the past: the database refuses to change or delete one,
# whatever the application does (as for issued invoices).
REFUSAL = "the activity log is append-only: an entry is never changed or deleted"
POSTGRESQL_FUNCTION = f"""CREATE FUNCTION activity_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '{REFUSAL}';
END $$ LANGUAGE plpgsql"""


def upgrade():
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column(
            "actor_kind",
            sa.Enum(
                "user",
                "system",
                "job",
                "webhook",
                "supplier",
                name="actorkind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("object_label", sa.String(length=200), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_activity_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_activity_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_activity_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index("ix_activity_member_at", ["member_id", "at"], unique=False)
        batch_op.create_index("ix_activity_object", ["object_type", "object_id"], unique=False)
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute(POSTGRESQL_FUNCTION)
    for action in ("UPDATE", "DELETE"):
        name = f"activity_no_{action.lower()}"
        if sqlite:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON activity "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON activity "
                "FOR EACH ROW EXECUTE FUNCTION activity_append_only()"
            )


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER activity_no_{action}" + ("" if sqlite else " ON activity"))
    if not sqlite:
        op.execute("DROP FUNCTION activity_append_only()")
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_object")
        batch_op.drop_index("ix_activity_member_at")
        batch_op.drop_index(batch_op.f("ix_activity_actor_id"))
        batch_op.drop_index(batch_op.f("ix_activity_action"))
    op.drop_table("activity")
