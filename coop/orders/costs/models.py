"""Charges added after the fact and the stored split of a received campaign."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.clock import now
from coop.db import Base, Money, UTCDateTime, checked_enum
from coop.orders.campaigns.models import Campaign
from coop.orders.campaigns.rules import SplitKey
from coop.suppliers.models import FrameworkAgreement, Supplier


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
    # A framework agreement's shortfall fee, booked when the plan was committed: replaced,
    # not added again, when the campaign is pooled and committed anew.
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("framework_agreements.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    campaign: Mapped[Campaign] = relationship()
    supplier: Mapped[Supplier | None] = relationship()
    agreement: Mapped[FrameworkAgreement | None] = relationship()


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


class CampaignVersion(Base):
    """A random value that every transaction changing what a campaign's split reads renews.

    What a split reads of a campaign (its needs' allocations, lines, orders, their shops,
    suppliers and parts) is kept per process by this version (`coop.orders.costs.versions`),
    rather than read again to prove it unchanged. A row of its own, written as its
    transaction's last statement, so that writing it never waits while holding another
    lock: no foreign key, as a campaign's row would be locked out of order.
    """

    __tablename__ = "campaign_versions"

    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(32))
