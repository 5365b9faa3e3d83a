"""Campaigns, the needs shops post in them, and requests for parts not yet in the catalogue."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.accounts.models import Member, User
from coop.clock import now
from coop.db import Base, Money, Rate, UnitPrice, UTCDateTime, checked_enum
from coop.money import quantize
from coop.orders.cost_split import SplitKey
from coop.orders.shortage import ShortageRule
from coop.suppliers.models import Offer, Part, Supplier
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
    allocation: Mapped["Allocation | None"] = relationship(back_populates="need")

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


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PoolingRun(Base):
    """One run of the pooling engine on a closed campaign, with the manager's choices.

    The plan is kept as the manager saw it, so that committing it creates exactly
    the purchase orders that were reviewed, whatever the solver would find next time.
    """

    __tablename__ = "pooling_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    status: Mapped[RunStatus] = mapped_column(checked_enum(RunStatus), default=RunStatus.RUNNING)
    # Time limit, penalties, excluded suppliers, pinned needs and parts.
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    progress: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0"))
    message: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()
    created_by: Mapped[User | None] = relationship()


class OrderStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    CONFIRMED = "confirmed"
    PARTLY_RECEIVED = "partly_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"


# A purchase order can be cancelled until goods arrive; receiving moves it on
# (coop.orders.receiving), even when the supplier never confirmed it.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.DRAFT: frozenset({OrderStatus.SENT, OrderStatus.CANCELLED}),
    OrderStatus.SENT: frozenset(
        {
            OrderStatus.CONFIRMED,
            OrderStatus.PARTLY_RECEIVED,
            OrderStatus.RECEIVED,
            OrderStatus.CANCELLED,
        }
    ),
    OrderStatus.CONFIRMED: frozenset(
        {OrderStatus.PARTLY_RECEIVED, OrderStatus.RECEIVED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PARTLY_RECEIVED: frozenset({OrderStatus.RECEIVED, OrderStatus.CLOSED}),
    OrderStatus.RECEIVED: frozenset({OrderStatus.CLOSED}),
    OrderStatus.CLOSED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


class PurchaseOrder(Base):
    """A bon de commande: one per supplier and campaign, from the committed plan."""

    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(
        checked_enum(OrderStatus), default=OrderStatus.DRAFT
    )
    # The fee the plan charges: zero when the goods reach the free-shipping threshold.
    shipping_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    delivery_mode: Mapped[DeliveryMode] = mapped_column(checked_enum(DeliveryMode))
    requested_delivery_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()
    supplier: Mapped[Supplier] = relationship()
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )

    __table_args__ = (CheckConstraint("shipping_fee >= 0", name="shipping_fee_not_negative"),)

    @property
    def goods(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.goods + self.shipping_fee

    def can_become(self, status: OrderStatus) -> bool:
        return status in ORDER_TRANSITIONS[self.status]

    def __repr__(self) -> str:
        return f"<PurchaseOrder {self.number} {self.status}>"


class OrderLine(Base):
    """A line of a purchase order: one offer, at the tier its pooled quantity reaches."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    # Copied from the offer when the plan is committed: the order says what was agreed.
    supplier_ref: Mapped[str | None] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(200))
    pack_size: Mapped[int] = mapped_column(default=1)
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)
    tier_min_qty: Mapped[int]

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    receipts: Mapped[list["ReceiptLine"]] = relationship(back_populates="line")
    offer: Mapped[Offer] = relationship()
    part: Mapped[Part] = relationship()
    allocations: Mapped[list["Allocation"]] = relationship(back_populates="line")

    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("pack_size >= 1", name="pack_size_positive"),
    )

    @property
    def amount(self) -> Decimal:
        """The supplier's line, rounded once (spec/pooling.md)."""
        return quantize(self.unit_price * self.quantity)

    # What arrived so far, over all its receipts (coop.orders.receiving).
    @property
    def received_units(self) -> int:
        """Good units received: only these are shared among the shops."""
        return sum(r.received for r in self.receipts)

    @property
    def damaged_units(self) -> int:
        return sum(r.damaged for r in self.receipts)

    @property
    def missing_units(self) -> int:
        return max(0, self.quantity - self.received_units)

    @property
    def surplus_units(self) -> int:
        """Good units beyond the order: the coop's stock, billed to no shop."""
        return max(0, self.received_units - self.quantity)


class Allocation(Base):
    """What a need gets from an order line: its units at the line's unit price."""

    __tablename__ = "allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), unique=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int]
    # The units the shop gets of what arrived (coop.orders.shortage); None until
    # anything of its line is received.
    received: Mapped[int | None]

    need: Mapped[Need] = relationship(back_populates="allocation")
    line: Mapped[OrderLine] = relationship(back_populates="allocations")

    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint(
            "received >= 0 AND received <= quantity", name="received_within_allocation"
        ),
    )

    @property
    def amount(self) -> Decimal:
        """The shop's goods, rounded half-up per line (spec/pooling.md)."""
        return quantize(self.line.unit_price * self.quantity)

    @property
    def short_units(self) -> int:
        """Units of its allocation the shop has not got (0 until anything of its line arrives)."""
        return 0 if self.received is None else self.quantity - self.received


class Receipt(Base):
    """Goods arriving from a supplier: one delivery note, at the hub or at a shop."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    received_on: Mapped[date]
    delivery_note_ref: Mapped[str | None] = mapped_column(String(60))
    # Set when the supplier delivered straight to a shop rather than to the hub.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    order: Mapped[PurchaseOrder] = relationship()
    member: Mapped[Member | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()
    lines: Mapped[list["ReceiptLine"]] = relationship(
        back_populates="receipt", cascade="all, delete-orphan"
    )


class ReceiptLine(Base):
    """Units of one order line in a receipt: good ones, and damaged ones (not usable)."""

    __tablename__ = "receipt_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    received: Mapped[int] = mapped_column(default=0)
    damaged: Mapped[int] = mapped_column(default=0)

    receipt: Mapped[Receipt] = relationship(back_populates="lines")
    line: Mapped[OrderLine] = relationship(back_populates="receipts")

    __table_args__ = (
        CheckConstraint("received >= 0", name="received_not_negative"),
        CheckConstraint("damaged >= 0", name="damaged_not_negative"),
    )


class Charge(Base):
    """A cost the manager adds after the fact (customs, a courier, a pallet fee), split by a key."""

    __tablename__ = "charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    key: Mapped[SplitKey] = mapped_column(checked_enum(SplitKey), default=SplitKey.VALUE)
    # Only that supplier's needs share it; all the campaign's needs otherwise.
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    campaign: Mapped[Campaign] = relationship()
    supplier: Mapped[Supplier | None] = relationship()


class Handover(Base):
    """A shop took its goods from the hub (or was delivered): who, when."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    handed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_by: Mapped[str] = mapped_column(String(120))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship()
    member: Mapped[Member] = relationship()

    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id", name="uq_handovers_campaign_member"),
    )


class SplitAmount(Base):
    """An amount shared out onto needs once a campaign is received: a fee or a charge.

    Written after its shares; the database refuses it unless they add up to it to the
    cent (a trigger, see the migration), and neither moves afterwards: the stored split
    is rewritten whole, amounts first deleted.
    """

    __tablename__ = "split_amounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    source: Mapped[str] = mapped_column(String(40))  # "shipping:<supplier code>" or "charge:<id>"
    amount: Mapped[Decimal] = mapped_column(Money)

    __table_args__ = (
        UniqueConstraint("campaign_id", "source", name="uq_split_amounts_campaign_source"),
    )


class SplitShare(Base):
    """One need's share of a SplitAmount."""

    __tablename__ = "split_shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    source: Mapped[str] = mapped_column(String(40))
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"))
    amount: Mapped[Decimal] = mapped_column(Money)

    __table_args__ = (Index("ix_split_shares_campaign_source", "campaign_id", "source"),)


class SendOutcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


class OrderSending(Base):
    """One "send every purchase order" of a campaign, run as a job; its items are its progress."""

    __tablename__ = "order_sendings"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    campaign: Mapped[Campaign] = relationship()
    items: Mapped[list["OrderSendingItem"]] = relationship(
        back_populates="sending", order_by="OrderSendingItem.id", cascade="all, delete-orphan"
    )


class OrderSendingItem(Base):
    """One order of a sending: no outcome while it waits, then sent, skipped or failed (why)."""

    __tablename__ = "order_sending_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    sending_id: Mapped[int] = mapped_column(ForeignKey("order_sendings.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    outcome: Mapped[SendOutcome | None] = mapped_column(checked_enum(SendOutcome))
    message: Mapped[str | None] = mapped_column(Text)

    sending: Mapped[OrderSending] = relationship(back_populates="items")
    order: Mapped[PurchaseOrder] = relationship()


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
