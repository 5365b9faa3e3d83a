"""Campaign after campaign: the spend by origin, and the units relocated.

A unit is relocated when it was bought made in France (from a local supplier or not) while
the coop had bought the same part in Asia within the year before the campaign's order date
(a campaign of that year whose committed plan ordered it from an Asian offer). The year
before reaches back past the period's start: a board of the last 12 months looks 24 back.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from coop.extensions import db
from coop.orders.campaigns.models import Campaign
from coop.orders.purchasing.models import OrderLine, OrderStatus, PurchaseOrder
from coop.relocation.purchases import (
    RELOCATED,
    Bought,
    ByOrigin,
    Period,
    Purchases,
    committed_within,
    year_before,
)
from coop.suppliers.models import Offer
from coop.suppliers.origin import ASIA


@dataclass
class CampaignTrend:
    campaign: Campaign
    bought: ByOrigin = field(default_factory=ByOrigin)
    relocated: int = 0  # units
    relocated_parts: set[int] = field(default_factory=set)  # ids


def asia_purchases(part_ids: Iterable[int], period: Period) -> dict[int, list[date]]:
    """The order dates of the period's campaigns that bought each part from an Asian offer."""
    dates: dict[int, list[date]] = defaultdict(list)
    for part_id, day in db.session.execute(
        select(OrderLine.part_id, Campaign.order_date)
        .join(OrderLine.order)
        .join(PurchaseOrder.campaign)
        .join(OrderLine.offer)
        .where(
            OrderLine.part_id.in_(set(part_ids)),
            Offer.made_in.in_(ASIA),
            PurchaseOrder.status != OrderStatus.CANCELLED,
            *committed_within(period),
        )
        .distinct()
    ):
        dates[part_id].append(day)
    return dates


def is_relocated(row: Bought, asia: dict[int, list[date]]) -> bool:
    """Made in France, of a part bought in Asia within the year before the row's campaign."""
    if row.origin not in RELOCATED:
        return False
    day = row.campaign.order_date
    return any(year_before(day) <= bought < day for bought in asia.get(row.part.id, ()))


def campaign_trends(bought: Purchases) -> list[CampaignTrend]:
    """Spend and units by origin, and the units relocated, per campaign of the period."""
    trends = {c.id: CampaignTrend(c) for c in bought.campaigns}
    if not trends:
        return []
    lookback = Period(year_before(bought.campaigns[0].order_date), bought.period.end)
    asia = asia_purchases({row.part.id for row in bought.rows}, lookback)
    for row in bought.rows:
        trend = trends[row.campaign.id]
        trend.bought.add(row)
        if is_relocated(row, asia):
            trend.relocated += row.units
            trend.relocated_parts.add(row.part.id)
    return list(trends.values())
