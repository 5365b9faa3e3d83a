"""Suppliers, catalogue parts, offers with their price tiers, and the framework agreements
that commit the coop to an offer (spec/pooling.md)."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.activity.actions import label_values
from coop.clock import now
from coop.db import Base, Money, Rate, UnitPrice, UTCDateTime, checked_enum
from coop.i18n import N_
from coop.suppliers.origin import Origin, classify


class Supplier(Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    # The street address and postcode, printed on purchase orders.
    address: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    # Based in the metropolitan area or the region: its French-made goods count as local.
    is_local: Mapped[bool] = mapped_column(default=False)
    siret: Mapped[str | None] = mapped_column(String(14))
    vat_number: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    shipping_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    free_shipping_over: Mapped[Decimal | None] = mapped_column(Money)
    default_lead_time_days: Mapped[int | None]
    notes: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Code, name and city as searched; written on flush by coop.suppliers.search.
    search_text: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    offers: Mapped[list["Offer"]] = relationship(back_populates="supplier")

    __table_args__ = (
        CheckConstraint("shipping_fee >= 0", name="shipping_fee_not_negative"),
        CheckConstraint("default_lead_time_days >= 0", name="lead_time_not_negative"),
    )

    @property
    def origin(self) -> Origin:
        """Where the supplier is: its country, local when flagged so."""
        return classify(self.country, self.is_local)

    def __repr__(self) -> str:
        return f"<Supplier {self.code}>"


class Part(Base):
    """A catalogue part, known by the coop's SKU."""

    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(40), index=True)
    unit: Mapped[str] = mapped_column(String(20), default="piece")
    weight_g: Mapped[int | None]
    vat_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0.2000"))
    ean: Mapped[str | None] = mapped_column(String(13), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Name, SKU, EAN, suppliers' references and names as searched; written on flush
    # by coop.suppliers.search.
    search_text: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    offers: Mapped[list["Offer"]] = relationship(back_populates="part")

    __table_args__ = (
        CheckConstraint("vat_rate >= 0 AND vat_rate < 1", name="vat_rate_is_a_fraction"),
        CheckConstraint("weight_g >= 0", name="weight_not_negative"),
    )

    def __repr__(self) -> str:
        return f"<Part {self.sku}>"


class Offer(Base):
    """A supplier's terms for one part: packs, minimum, lead time and price tiers."""

    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    supplier_ref: Mapped[str | None] = mapped_column(String(60))
    made_in: Mapped[str] = mapped_column(String(2))
    pack_size: Mapped[int] = mapped_column(default=1)
    moq: Mapped[int] = mapped_column(default=0)
    # None: the supplier's default lead time applies.
    lead_time_days: Mapped[int | None]
    valid_until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    supplier: Mapped[Supplier] = relationship(back_populates="offers")
    part: Mapped[Part] = relationship(back_populates="offers")
    tiers: Mapped[list["PriceTier"]] = relationship(
        primaryjoin="and_(PriceTier.offer_id == Offer.id, PriceTier.valid_to.is_(None))",
        order_by="PriceTier.min_qty",
        viewonly=True,
    )
    tier_history: Mapped[list["PriceTier"]] = relationship(
        back_populates="offer", order_by="(PriceTier.valid_from.desc(), PriceTier.min_qty)"
    )

    __table_args__ = (
        UniqueConstraint("supplier_id", "part_id", name="uq_offers_supplier_part"),
        CheckConstraint("pack_size >= 1", name="pack_size_positive"),
        CheckConstraint("moq >= 0", name="moq_not_negative"),
        CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
    )

    @property
    def origin(self) -> Origin:
        return classify(self.made_in, self.supplier.is_local)

    @property
    def effective_lead_time_days(self) -> int | None:
        if self.lead_time_days is not None:
            return self.lead_time_days
        return self.supplier.default_lead_time_days

    def is_valid_on(self, day: date) -> bool:
        return self.valid_until is None or day <= self.valid_until

    def __repr__(self) -> str:
        return f"<Offer {self.supplier_id}/{self.part_id}>"


class PriceTier(Base):
    """All-units price from `min_qty` up; history is kept by closing tiers, never deleting."""

    __tablename__ = "price_tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    min_qty: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)

    offer: Mapped[Offer] = relationship(back_populates="tier_history")

    __table_args__ = (
        CheckConstraint("min_qty >= 1", name="min_qty_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
        # One current price per quantity threshold.
        Index(
            "uq_price_tiers_current",
            "offer_id",
            "min_qty",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
            sqlite_where=text("valid_to IS NULL"),
        ),
    )


class CatalogueVersion(Base):
    """A random value that every transaction changing the usable offers renews.

    The offers of the parts a page shows (their supplier, pack, MOQ and current tiers) are
    kept per process by this version (`coop.suppliers.versions`), rather than read again
    on every page shops open. One row; written as its transaction's last statement, so that
    writing it never waits while holding another lock.
    """

    __tablename__ = "catalogue_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(32))


class AgreementStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return _(AGREEMENT_STATUS_LABELS[self])


AGREEMENT_STATUS_LABELS = {
    AgreementStatus.DRAFT: N_("brouillon"),
    AgreementStatus.ACTIVE: N_("en vigueur"),
    AgreementStatus.ENDED: N_("terminé"),
}
label_values("agreement", "status", AGREEMENT_STATUS_LABELS)

# A draft is signed (active) or dropped (ended); an agreement in force only ends.
AGREEMENT_TRANSITIONS: dict[AgreementStatus, frozenset[AgreementStatus]] = {
    AgreementStatus.DRAFT: frozenset({AgreementStatus.ACTIVE, AgreementStatus.ENDED}),
    AgreementStatus.ACTIVE: frozenset({AgreementStatus.ENDED}),
    AgreementStatus.ENDED: frozenset(),
}


class FrameworkAgreement(Base):
    """An accord-cadre (take-or-pay): the coop commits to buy `committed_qty` units of one
    offer between two dates, over `campaigns_planned` campaigns, or pays `shortfall_fee`
    per unit short (spec/pooling.md, "Framework agreements").

    The agreed price is the offer's tiers: the agreement adds the commitment, not a price.
    """

    __tablename__ = "framework_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    committed_qty: Mapped[int]
    shortfall_fee: Mapped[Decimal] = mapped_column(UnitPrice)
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    # The campaigns the period spans: campaigns_left = campaigns_planned - the period's
    # committed campaigns before the one being pooled.
    campaigns_planned: Mapped[int]
    status: Mapped[AgreementStatus] = mapped_column(
        checked_enum(AgreementStatus), default=AgreementStatus.DRAFT
    )
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    offer: Mapped[Offer] = relationship()

    __table_args__ = (
        CheckConstraint("committed_qty > 0", name="committed_qty_positive"),
        CheckConstraint("shortfall_fee >= 0", name="shortfall_fee_not_negative"),
        CheckConstraint("valid_to >= valid_from", name="period_in_order"),
        CheckConstraint("campaigns_planned > 0", name="campaigns_planned_positive"),
    )

    def can_become(self, status: AgreementStatus) -> bool:
        return status in AGREEMENT_TRANSITIONS[self.status]

    def covers(self, day: date) -> bool:
        """Whether `day` falls within the agreement's period."""
        return self.valid_from <= day <= self.valid_to

    def __repr__(self) -> str:
        return f"<FrameworkAgreement {self.code} {self.status}>"
