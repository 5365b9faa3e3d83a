"""What the home pages show about campaigns: a fixed number of queries each."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from coop.accounts.models import Member
from coop.extensions import db
from coop.orders.campaigns.models import Campaign, CampaignStatus, Need, PartRequest, RequestStatus
from coop.orders.purchasing.models import OrderStatus, PurchaseOrder

ACTIVE = (CampaignStatus.DRAFT, CampaignStatus.OPEN, CampaignStatus.CLOSED)
IN_PROGRESS = (
    CampaignStatus.CLOSED,
    CampaignStatus.POOLED,
    CampaignStatus.ORDERED,
    CampaignStatus.RECEIVED,
)


@dataclass(frozen=True)
class CampaignLine:
    campaign: Campaign
    needs: int
    shops: int = 0
    requests: int = 0


def _needs_per_campaign(member: Member) -> dict[int, int]:
    return dict(
        db.session.execute(
            select(Need.campaign_id, func.count())
            .where(Need.member_id == member.id)
            .group_by(Need.campaign_id)
        )
        .tuples()
        .all()
    )


def shop_open_campaigns(member: Member, at: datetime) -> list[CampaignLine]:
    """Campaigns the shop can still post needs to, with its needs count."""
    counts = _needs_per_campaign(member)
    campaigns = db.session.scalars(
        select(Campaign)
        .where(Campaign.status == CampaignStatus.OPEN)
        .order_by(Campaign.closes_at.is_(None), Campaign.closes_at)
    ).all()
    return [CampaignLine(c, counts.get(c.id, 0)) for c in campaigns if c.accepts_needs_at(at)]


def shop_coming_campaigns(member: Member) -> list[CampaignLine]:
    """Closed campaigns in which the shop has needs, on their way to delivery."""
    counts = _needs_per_campaign(member)
    campaigns = db.session.scalars(
        select(Campaign)
        .where(Campaign.status.in_(IN_PROGRESS), Campaign.id.in_(counts))
        .order_by(Campaign.order_date)
    ).all()
    return [CampaignLine(c, counts[c.id]) for c in campaigns]


@dataclass(frozen=True)
class ManagerDecisions:
    overdue: list[CampaignLine]  # still open after their cutoff: close them
    open: list[CampaignLine]
    to_pool: list[CampaignLine]  # closed, waiting for the pooling
    drafts: list[Campaign]
    to_send: list[tuple[Campaign, int]]  # pooled, with purchase orders still in draft


def manager_decisions(at: datetime) -> ManagerDecisions:
    active = db.session.scalars(
        select(Campaign)
        .where(Campaign.status.in_(ACTIVE))
        .order_by(Campaign.closes_at.is_(None), Campaign.closes_at, Campaign.code)
    ).all()
    ids = [c.id for c in active]
    needs = {
        row[0]: row[1:]
        for row in db.session.execute(
            select(Need.campaign_id, func.count(), func.count(func.distinct(Need.member_id)))
            .where(Need.campaign_id.in_(ids))
            .group_by(Need.campaign_id)
        )
    }
    requests = dict(
        db.session.execute(
            select(PartRequest.campaign_id, func.count())
            .where(PartRequest.campaign_id.in_(ids), PartRequest.status == RequestStatus.OPEN)
            .group_by(PartRequest.campaign_id)
        )
        .tuples()
        .all()
    )

    def line(c: Campaign) -> CampaignLine:
        count, shops = needs.get(c.id, (0, 0))
        return CampaignLine(c, count, shops, requests.get(c.id, 0))

    open_now = [c for c in active if c.status is CampaignStatus.OPEN]
    return ManagerDecisions(
        overdue=[line(c) for c in open_now if c.closes_at and c.closes_at <= at],
        open=[line(c) for c in open_now if not (c.closes_at and c.closes_at <= at)],
        to_pool=[line(c) for c in active if c.status is CampaignStatus.CLOSED],
        drafts=[c for c in active if c.status is CampaignStatus.DRAFT],
        to_send=db.session.execute(
            select(Campaign, func.count(PurchaseOrder.id))
            .join(PurchaseOrder, PurchaseOrder.campaign_id == Campaign.id)
            .where(PurchaseOrder.status == OrderStatus.DRAFT)
            .group_by(Campaign.id)
            .order_by(Campaign.order_date)
        )
        .tuples()
        .all(),
    )


def campaigns_to_invoice() -> list[Campaign]:
    """Received campaigns: the treasurer's next invoices."""
    return db.session.scalars(
        select(Campaign)
        .where(Campaign.status == CampaignStatus.RECEIVED)
        .order_by(Campaign.order_date)
    ).all()
