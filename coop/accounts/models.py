"""Users, their roles, and the member shops they belong to."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.clock import now
from coop.db import Base, Money, UTCDateTime, checked_enum


class Role(StrEnum):
    MEMBER = "member"
    MANAGER = "manager"
    TREASURER = "treasurer"
    ADMIN = "admin"


# Who sees every shop's data (PRODUCT.md: only the manager and the treasurer).
STAFF_ROLES = frozenset({Role.MANAGER, Role.TREASURER, Role.ADMIN})
# Who keeps the member directory (adhérents).
DIRECTORY_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
# Who buys: campaigns, pooling, purchase orders, receiving, quotes, the catalogue, suppliers.
PURCHASING_ROLES = frozenset({Role.MANAGER})
# Who moves money: invoices, credit notes, payments, bank, refunds, reminders, exports.
TREASURY_ROLES = frozenset({Role.TREASURER})


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

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Part of every session's id: raising it ends all the user's sessions (coop.accounts.auth).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[Member | None] = relationship(back_populates="users")
    # Someone with two jobs holds two roles; a shop's account holds the member role alone.
    role_grants: Mapped[list["UserRole"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(grant.role for grant in self.role_grants)

    def has_role(self, *roles: Role | str) -> bool:
        """Holds at least one of `roles`."""
        return not self.roles.isdisjoint(roles)

    def get_id(self) -> str:
        """Flask-Login's id for the session: a session of an older version is refused."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_staff(self) -> bool:
        return self.has_role(*STAFF_ROLES)

    def can_access_member(self, member: Member) -> bool:
        """Staff see every shop; a member user sees only its own."""
        return self.is_staff or self.member_id == member.id

    def __repr__(self) -> str:
        return f"<User {self.email} {'+'.join(sorted(self.roles))}>"


class UserRole(Base):
    """One role a user holds. Triggers (see the migration) keep a shop's account to the
    member role alone, and the member role to accounts of a shop."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(checked_enum(Role), primary_key=True)


class LoginThrottle(Base):
    """Failed logins per e-mail address, known or not, to slow down guessing."""

    __tablename__ = "login_throttles"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CoopIdentity(Base):
    """The coop's own legal identity and invoicing terms: one row, edited by the admin."""

    __tablename__ = "coop_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_form: Mapped[str | None] = mapped_column(
        String(100)
    )  # e.g. "SCIC SAS à capital variable"
    siren: Mapped[str] = mapped_column(String(9))
    vat_number: Mapped[str | None] = mapped_column(String(20))
    # Code de commerce R123-237: the register (RCS, or RM for a craft business) and the
    # city of its registry; the registration number is the SIREN.
    registry: Mapped[str | None] = mapped_column(String(3))
    registry_city: Mapped[str | None] = mapped_column(String(100))
    # Optional: a variable-capital coop prints "à capital variable", with or without an amount.
    share_capital: Mapped[Decimal | None] = mapped_column(Money)
    variable_capital: Mapped[bool] = mapped_column(default=False)
    # CGI art. 269: the option for paying the VAT on services on debits (on the invoice date).
    vat_on_debits: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str] = mapped_column(String(300))
    postcode: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="FR")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    # Late-payment penalty (Code de commerce L441-10): ECB rate + 10 points by default.
    late_payment_rate: Mapped[str] = mapped_column(
        String(200), default="taux directeur de la BCE majoré de 10 points"
    )
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)  # PNG or SVG, small
    logo_type: Mapped[str | None] = mapped_column(String(40))
    # Accounts for the FEC export (spec/invoicing.md).
    account_customers: Mapped[str] = mapped_column(String(10), default="411")
    account_goods: Mapped[str] = mapped_column(String(10), default="707")
    account_shipping: Mapped[str] = mapped_column(String(10), default="7085")
    account_fee: Mapped[str] = mapped_column(String(10), default="706")
    account_vat: Mapped[str] = mapped_column(String(10), default="44571")
    account_bank: Mapped[str] = mapped_column(String(10), default="512")
    account_bank_fees: Mapped[str] = mapped_column(String(10), default="627")
    # A commercial gesture (a credit note by amount, nothing returned): rebates granted.
    account_rebates: Mapped[str] = mapped_column(String(10), default="709")
    # The coop fee: "goods" (part of the price of goods bought in the coop's own name
    # and resold, CGI art. 256 V: 707) or "service" (706); see docs/invoicing.md.
    fee_treatment: Mapped[str] = mapped_column(String(10), default="goods")
    # VAT on a service fee waits here until paid (no option for VAT on debits).
    account_vat_pending: Mapped[str] = mapped_column(String(10), default="44574")
    # The purchase side: suppliers, purchases, shipping billed on them, and VAT.
    account_suppliers: Mapped[str] = mapped_column(String(10), default="401")
    account_purchases: Mapped[str] = mapped_column(String(10), default="607")
    account_purchase_shipping: Mapped[str] = mapped_column(String(10), default="6087")
    account_vat_deductible: Mapped[str] = mapped_column(String(10), default="44566")
    account_vat_self_assessed: Mapped[str] = mapped_column(String(10), default="4452")
    account_vat_import: Mapped[str] = mapped_column(String(10), default="445662")
    # Payment reminders go out this many days after the due date (comma-separated).
    reminder_days: Mapped[str] = mapped_column(String(40), default="7,21,45")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("payment_terms_days >= 0", name="terms_not_negative"),
    )


class TokenPurpose(StrEnum):
    INVITE = "invite"  # a person invited to open an account sets its password
    RESET = "reset"  # a forgotten password


class AccountToken(Base):
    """A link e-mailed to someone, usable once before it expires (coop.accounts.tokens).

    Only a hash of the token is kept: a copy of the database opens no account.
    """

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[TokenPurpose] = mapped_column(checked_enum(TokenPurpose))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    # An invitation names the shop and the role the new account gets; a reset, its user.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    role: Mapped[Role | None] = mapped_column(checked_enum(Role))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[Member | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (
        CheckConstraint("purpose <> 'invite' OR role IS NOT NULL", name="invite_has_role"),
        CheckConstraint("purpose <> 'reset' OR user_id IS NOT NULL", name="reset_has_user"),
        CheckConstraint(
            "purpose <> 'invite' OR (role = 'member') = (member_id IS NOT NULL)",
            name="shop_invite_has_shop",
        ),
    )
