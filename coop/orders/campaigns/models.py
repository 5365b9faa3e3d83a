"""Campaigns, the needs shops post in them, and requests for parts not yet in the catalogue."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.accounts.models import Member
from coop.activity.actions import label_values
from coop.clock import now
from coop.db import Base, Rate, UnitPrice, UTCDateTime, checked_enum
from coop.i18n import N_
from coop.orders.campaigns.rules import (
    SHORTAGE_RULE_LABELS,
    SPLIT_KEY_LABELS,
    ShortageRule,
    SplitKey,
)
from coop.suppliers.models import Part
from coop.suppliers.origin import Origin


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    POOLED = "pooled"
    ORDERED = "ordered"
    RECEIVED = "received"
    INVOICED = "invoiced"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        """Its name on pages, in the reader's language (CAMPAIGN_STATUS_LABELS holds the French)."""
        return _(CAMPAIGN_STATUS_LABELS[self])


# The only place the states are named ("La campagne 2026-12 est close"): badges, filters,
# messages and e-mails read it.
CAMPAIGN_STATUS_LABELS = {
    CampaignStatus.DRAFT: N_("brouillon"),
    CampaignStatus.OPEN: N_("ouverte"),
    CampaignStatus.CLOSED: N_("close"),
    CampaignStatus.POOLED: N_("mutualisée"),
    CampaignStatus.ORDERED: N_("commandée"),
    CampaignStatus.RECEIVED: N_("reçue"),
    CampaignStatus.INVOICED: N_("facturée"),
    CampaignStatus.ARCHIVED: N_("archivée"),
}


# The only moves a campaign can make; a closed campaign reopens until it is pooled.
TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.OPEN}),
    CampaignStatus.OPEN: frozenset({CampaignStatus.CLOSED}),
    CampaignStatus.CLOSED: frozenset({CampaignStatus.OPEN, CampaignStatus.POOLED}),
    # Back to closed only by undoing the pooling while every purchase order is a draft.
    CampaignStatus.POOLED: frozenset({CampaignStatus.ORDERED, CampaignStatus.CLOSED}),
    CampaignStatus.ORDERED: frozenset({CampaignStatus.RECEIVED}),
    CampaignStatus.RECEIVED: frozenset({CampaignStatus.INVOICED}),
    CampaignStatus.INVOICED: frozenset({CampaignStatus.ARCHIVED}),
    CampaignStatus.ARCHIVED: frozenset(),
}


class DeliveryMode(StrEnum):
    HUB = "hub"
    SHOPS = "shops"


# How the log shows a campaign's delivery mode (the campaign form's wording).
DELIVERY_MODE_LABELS = {
    DeliveryMode.HUB: N_("au lieu totem (plateforme)"),
    DeliveryMode.SHOPS: N_("dans chaque atelier"),
}

label_values("campaign", "status", CAMPAIGN_STATUS_LABELS)
label_values("campaign", "delivery_mode", DELIVERY_MODE_LABELS)
label_values("campaign", "shortage_rule", SHORTAGE_RULE_LABELS)
label_values("campaign", "shipping_key", SPLIT_KEY_LABELS)
label_values("campaign", "key", SPLIT_KEY_LABELS)  # a charge's key


# spec/pooling.md: origin penalties used only to choose, never billed.
DEFAULT_PENALTIES = {
    Origin.LOCAL: Decimal("0"),
    Origin.FRANCE: Decimal("0"),
    Origin.EUROPE: Decimal("0.03"),
    Origin.ASIA: Decimal("0.10"),
    Origin.OTHER: Decimal("0.10"),
}


class Campaign(Base):
    """A campagne d'achats groupés: open for needs until its cutoff, then pooled."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[CampaignStatus] = mapped_column(
        checked_enum(CampaignStatus), default=CampaignStatus.DRAFT
    )
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_date: Mapped[date]
    delivery_on: Mapped[date | None]
    delivery_mode: Mapped[DeliveryMode] = mapped_column(
        checked_enum(DeliveryMode), default=DeliveryMode.HUB
    )
    fee_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0"))
    penalty_local: Mapped[Decimal] = mapped_column(Rate, default=DEFAULT_PENALTIES[Origin.LOCAL])
    penalty_france: Mapped[Decimal] = mapped_column(Rate, default=DEFAULT_PENALTIES[Origin.FRANCE])
    penalty_europe: Mapped[Decimal] = mapped_column(Rate, default=DEFAULT_PENALTIES[Origin.EUROPE])
    penalty_asia: Mapped[Decimal] = mapped_column(Rate, default=DEFAULT_PENALTIES[Origin.ASIA])
    penalty_other: Mapped[Decimal] = mapped_column(Rate, default=DEFAULT_PENALTIES[Origin.OTHER])
    # How a short delivery is shared, and the key for each supplier's shipping fee.
    shortage_rule: Mapped[ShortageRule] = mapped_column(
        checked_enum(ShortageRule), default=ShortageRule.PRO_RATA
    )
    shipping_key: Mapped[SplitKey] = mapped_column(checked_enum(SplitKey), default=SplitKey.VALUE)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by invoicing with the first invoice: from then on the cost split never moves
    # (charges and the shipping key freeze), even before every shop is invoiced.
    invoicing_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    needs: Mapped[list["Need"]] = relationship(back_populates="campaign")

    __table_args__ = (
        CheckConstraint("fee_rate >= 0 AND fee_rate < 1", name="fee_rate_is_a_fraction"),
        CheckConstraint(
            "closes_at IS NULL OR opens_at IS NULL OR opens_at < closes_at",
            name="opens_before_closing",
        ),
    )

    def penalty(self, origin: Origin) -> Decimal:
        return getattr(self, f"penalty_{origin.value}")

    def can_become(self, status: CampaignStatus) -> bool:
        return status in TRANSITIONS[self.status]

    def accepts_needs_at(self, moment: datetime) -> bool:
        """Open, and before its cutoff when it has one."""
        return self.status is CampaignStatus.OPEN and (
            self.closes_at is None or moment < self.closes_at
        )

    def __repr__(self) -> str:
        return f"<Campaign {self.code} {self.status}>"


class Need(Base):
    """What one shop asks for in one campaign (spec/pooling.md, "Need")."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    quantity: Mapped[int]
    tolerance: Mapped[int] = mapped_column(default=0)
    min_quantity: Mapped[int]
    needed_by: Mapped[date | None]
    max_unit_price: Mapped[Decimal | None] = mapped_column(UnitPrice)
    ref: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    # Why the committed plan left it unserved or partly served: {"code": ..., "params": {...}}
    # (coop.orders.pooling.Reason), shown to the shop in its language.
    pooling_reason: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    campaign: Mapped[Campaign] = relationship(back_populates="needs")
    member: Mapped[Member] = relationship()
    part: Mapped[Part] = relationship()

    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id", "ref", name="uq_needs_member_ref"),
        # The demand views group and filter a campaign's needs by part.
        Index("ix_needs_campaign_part", "campaign_id", "part_id"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("tolerance >= 0", name="tolerance_not_negative"),
        CheckConstraint(
            "min_quantity >= 1 AND min_quantity <= quantity", name="min_quantity_within_quantity"
        ),
        CheckConstraint("max_unit_price > 0", name="max_unit_price_positive"),
    )

    def __repr__(self) -> str:
        return f"<Need {self.ref} x{self.quantity}>"


class RequestStatus(StrEnum):
    OPEN = "open"
    CONVERTED = "converted"
    DECLINED = "declined"


class PartRequest(Base):
    """A shop asks for something the catalogue does not have yet."""

    __tablename__ = "part_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[RequestStatus] = mapped_column(
        checked_enum(RequestStatus), default=RequestStatus.OPEN
    )
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    campaign: Mapped[Campaign] = relationship()
    member: Mapped[Member] = relationship()
    need: Mapped[Need | None] = relationship()

    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)


class ShopReminder(Base):
    """A shop reminded to post its needs in a campaign: once a day at most."""

    __tablename__ = "shop_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    # The business day (Europe/Paris) of the reminder.
    reminded_on: Mapped[date]
    sent_to: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    member: Mapped[Member] = relationship()

    __table_args__ = (UniqueConstraint("campaign_id", "member_id", "reminded_on"),)
