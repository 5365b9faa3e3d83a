"""Users, their roles, and the member shops they belong to."""

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.clock import now
from coop.db import Base, UTCDateTime


class Role(StrEnum):
    MEMBER = "member"
    MANAGER = "manager"
    TREASURER = "treasurer"
    ADMIN = "admin"


# Who sees every shop's data (PRODUCT.md: only the manager and the treasurer).
STAFF_ROLES = frozenset({Role.MANAGER, Role.TREASURER, Role.ADMIN})
# Who runs the directory and the catalogue.
MANAGING_ROLES = frozenset({Role.MANAGER, Role.ADMIN})


class Member(Base):
    """A member shop (adhérent): the legal entity the coop invoices."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str | None] = mapped_column(String(14), unique=True)
    vat_number: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    # Empty delivery fields mean "deliver to the billing address".
    delivery_address: Mapped[str | None] = mapped_column(String(300))
    delivery_postcode: Mapped[str | None] = mapped_column(String(10))
    delivery_city: Mapped[str | None] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    users: Mapped[list["User"]] = relationship(back_populates="member")

    @property
    def has_own_delivery_address(self) -> bool:
        return bool(self.delivery_address)

    def __repr__(self) -> str:
        return f"<Member {self.code}>"


class User(UserMixin, Base):
    """Someone who logs in. A member user acts for exactly one shop."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role = 'member') = (member_id IS NOT NULL)", name="member_role_has_member"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            name="role",
            native_enum=False,
            create_constraint=True,
            length=20,
            values_callable=lambda roles: [r.value for r in roles],
        )
    )
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[Member | None] = relationship(back_populates="users")

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def can_access_member(self, member: Member) -> bool:
        """Staff see every shop; a member user sees only its own."""
        return self.is_staff or self.member_id == member.id

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginThrottle(Base):
    """Failed logins per e-mail address, known or not, to slow down guessing."""

    __tablename__ = "login_throttles"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
