"""Purchase orders, their lines and allocations, receipts, hand-overs and order sendings."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from coop.accounts.models import Member, User
from coop.activity.actions import label_values
from coop.clock import now
from coop.db import Base, Money, UnitPrice, UTCDateTime, checked_enum
from coop.i18n import N_
from coop.money import quantize
from coop.orders.campaigns.models import Campaign, DeliveryMode, Need
from coop.suppliers.models import Offer, Part, Supplier


class OrderStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    CONFIRMED = "confirmed"
    PARTLY_RECEIVED = "partly_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """Its name on pages, in the reader's language (ORDER_STATUS_LABELS holds the French)."""
        return _(ORDER_STATUS_LABELS[self])


# The only place the states are named ("Le bon de commande BC-… est soldé"): badges,
# filters, messages and exports read it.
ORDER_STATUS_LABELS = {
    OrderStatus.DRAFT: N_("brouillon"),
    OrderStatus.SENT: N_("envoyé"),
    OrderStatus.CONFIRMED: N_("confirmé"),
    OrderStatus.PARTLY_RECEIVED: N_("reçu en partie"),
    OrderStatus.RECEIVED: N_("reçu"),
    OrderStatus.CLOSED: N_("soldé"),
    OrderStatus.CANCELLED: N_("annulé"),
}
label_values("purchase_order", "status", ORDER_STATUS_LABELS)


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

    # Need.allocation is declared from here: campaigns sit below purchasing and never import it.
    need: Mapped[Need] = relationship(backref=backref("allocation", uselist=False))
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
