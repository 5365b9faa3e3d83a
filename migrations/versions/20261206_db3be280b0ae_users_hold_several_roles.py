"""users hold several roles; a shop's account holds the member role alone

Revision ID: db3be280b0ae
Revises: 956748515270
Create Date: 2026-12-06 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "db3be280b0ae"
down_revision = "956748515270"
branch_labels = None
depends_on = None

ROLES = ("member", "manager", "treasurer", "admin")

# A shop's account (users.member_id set) holds the member role and no other; the member
# role belongs to shops' accounts only. The rule spans two tables, so triggers keep it:
# roles change before the shop does (coop.accounts.auth does it in that order).
SQLITE_TRIGGERS = [
    """CREATE TRIGGER user_role_fits_account_insert BEFORE INSERT ON user_roles
    WHEN (NEW.role = 'member') <> (SELECT member_id IS NOT NULL FROM users WHERE id = NEW.user_id)
    BEGIN SELECT RAISE(ABORT, 'a shop''s account holds the member role alone'); END""",
    """CREATE TRIGGER user_role_fits_account_update BEFORE UPDATE ON user_roles
    WHEN (NEW.role = 'member') <> (SELECT member_id IS NOT NULL FROM users WHERE id = NEW.user_id)
    BEGIN SELECT RAISE(ABORT, 'a shop''s account holds the member role alone'); END""",
    """CREATE TRIGGER user_shop_fits_roles BEFORE UPDATE OF member_id ON users
    WHEN EXISTS (SELECT 1 FROM user_roles WHERE user_id = NEW.id
                 AND (role = 'member') <> (NEW.member_id IS NOT NULL))
    BEGIN SELECT RAISE(ABORT, 'a shop''s account holds the member role alone'); END""",
]
POSTGRESQL_TRIGGERS = [
    # FOR SHARE: a role granted while another transaction moves the account to or from a
    # shop waits for it, then checks against what it committed.
    """CREATE FUNCTION user_role_check() RETURNS trigger AS $$
    BEGIN
      IF TG_TABLE_NAME = 'users' THEN
        IF EXISTS (SELECT 1 FROM user_roles WHERE user_id = NEW.id
                   AND (role = 'member') <> (NEW.member_id IS NOT NULL)) THEN
          RAISE EXCEPTION 'a shop''s account holds the member role alone';
        END IF;
      ELSIF (NEW.role = 'member') <> (SELECT member_id IS NOT NULL FROM users
                                      WHERE id = NEW.user_id FOR SHARE) THEN
        RAISE EXCEPTION 'a shop''s account holds the member role alone';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER user_role_fits_account BEFORE INSERT OR UPDATE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION user_role_check()""",
    """CREATE TRIGGER user_shop_fits_roles BEFORE UPDATE OF member_id ON users
    FOR EACH ROW EXECUTE FUNCTION user_role_check()""",
]


def upgrade():
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(*ROLES, name="role", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_roles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_user_roles")),
    )
    # Each user keeps the one role it had.
    op.execute("INSERT INTO user_roles (user_id, role) SELECT id, role FROM users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_member_role_has_member"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_users_role"), type_="check")
        batch_op.drop_column("role")
    # After the batch: rebuilding users on SQLite drops the triggers on it.
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRESQL_TRIGGERS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "user_role_fits_account_insert",
            "user_role_fits_account_update",
            "user_shop_fits_roles",
        ):
            op.execute(f"DROP TRIGGER {name}")
    else:
        op.execute("DROP TRIGGER user_role_fits_account ON user_roles")
        op.execute("DROP TRIGGER user_shop_fits_roles ON users")
        op.execute("DROP FUNCTION user_role_check()")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=20), nullable=True))
    # One role each again: a shop's the member role, staff the widest of theirs; an account
    # left without any role (none was granted) is disabled rather than given one.
    op.execute(
        "UPDATE users SET role = (SELECT role FROM user_roles WHERE user_id = users.id "
        "ORDER BY CASE role WHEN 'member' THEN 0 WHEN 'admin' THEN 1 WHEN 'manager' THEN 2 "
        "ELSE 3 END LIMIT 1)"
    )
    op.execute(
        "UPDATE users SET is_active = false, "
        "role = CASE WHEN member_id IS NULL THEN 'manager' ELSE 'member' END WHERE role IS NULL"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("role", existing_type=sa.String(length=20), nullable=False)
        batch_op.create_check_constraint(
            batch_op.f("ck_users_role"), "role IN ('member', 'manager', 'treasurer', 'admin')"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_users_member_role_has_member"),
            "(role = 'member') = (member_id IS NOT NULL)",
        )
    op.drop_table("user_roles")
