"""What the coop bought over a period: one row per need served, from the campaigns' cost split.

Every figure of the relocation board and of the impact report is a sum of these rows, so
each one can be traced to a campaign, a purchase order line and a shop's need. A row holds
the units the need got (received, or allocated while nothing of its line has arrived), its
goods, its share of the supplier's shipping fee and of the manager's other charges, exactly
as the shop's statement shows them (coop.orders.costs). The coop's service fee is left
aside, as on the campaign results page: it pays the coop, not the goods.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, select

from coop.errors import DomainError
from coop.extensions import db
from coop.money import quantize
from coop.orders.campaigns.models import Campaign, Need
from coop.orders.costs.splitting import POOLED_OR_LATER, Item, build_splits
from coop.orders.pooling.cost_split import ZERO, NeedCost
from coop.orders.purchasing.models import OrderLine
from coop.suppliers.models import Part, Supplier
from coop.suppliers.origin import ORIGINS_NEAR_FIRST, Origin

# The origins a part comes back to when it leaves Asia: made in France, locally or not.
RELOCATED = frozenset({Origin.LOCAL, Origin.FRANCE})


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included: the campaigns whose order date falls in it."""

    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def year_before(day: date) -> date:
    """The same date a year earlier (28 February for a 29th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def default_period(today: date) -> Period:
    """The last 12 months: from the day after the same date a year ago, to today."""
    return Period(year_before(today) + timedelta(days=1), today)


def committed_within(period: Period) -> tuple[ColumnElement[bool], ...]:
    """The campaigns counted in a period: pooled (or later), their order date in it."""
    return (
        Campaign.status.in_(POOLED_OR_LATER),
        Campaign.order_date >= period.start,
        Campaign.order_date <= period.end,
    )


def period_campaigns(period: Period) -> list[Campaign]:
    """The campaigns counted in the period, oldest first."""
    return list(
        db.session.scalars(
            select(Campaign)
            .where(*committed_within(period))
            .order_by(Campaign.order_date, Campaign.id)
        )
    )


@dataclass(frozen=True)
class Bought:
    """One need served in one campaign: what it got and what it cost."""

    campaign: Campaign
    item: Item
    cost: NeedCost

    @property
    def need(self) -> Need:
        return self.item.need

    @property
    def part(self) -> Part:
        return self.item.need.part

    @property
    def line(self) -> OrderLine:
        return self.item.line

    @property
    def supplier(self) -> Supplier:
        return self.item.supplier

    @property
    def origin(self) -> Origin:
        return self.item.origin

    @property
    def units(self) -> int:
        return self.item.units

    @property
    def spend(self) -> Decimal:
        """Goods, shipping share and other charges: what the need cost, the coop's fee aside."""
        return self.cost.total


@dataclass
class Purchases:
    period: Period
    campaigns: list[Campaign]  # counted, oldest first
    rows: list[Bought]  # by campaign, then as each campaign lists its needs
    # Campaigns whose split cannot be made (a weight key over parts without a weight), and why.
    left_out: list[tuple[Campaign, str]]


def purchases(period: Period) -> Purchases:
    """Every need served in the period's campaigns, with its cost split."""
    campaigns = period_campaigns(period)
    splits = build_splits(campaigns)
    counted, rows, left_out = [], [], []
    for campaign in campaigns:
        split = splits[campaign.id]
        if isinstance(split, DomainError):
            left_out.append((campaign, split.message))
            continue
        counted.append(campaign)
        for item in split.items:
            cost = split.cost(item.need.id)
            if cost is not None and item.units:
                rows.append(Bought(campaign, item, cost))
    return Purchases(period, counted, rows, left_out)


@dataclass
class ByOrigin:
    """Units and spend, in all and by origin."""

    units: dict[Origin, int] = field(default_factory=lambda: dict.fromkeys(ORIGINS_NEAR_FIRST, 0))
    spend: dict[Origin, Decimal] = field(
        default_factory=lambda: dict.fromkeys(ORIGINS_NEAR_FIRST, ZERO)
    )

    def add(self, row: Bought) -> None:
        self.units[row.origin] += row.units
        self.spend[row.origin] += row.spend

    @property
    def total_units(self) -> int:
        return sum(self.units.values())

    @property
    def total_spend(self) -> Decimal:
        return sum(self.spend.values(), ZERO)

    def share(self, origin: Origin) -> Decimal:
        """The origin's share of the spend, a fraction to 3 decimals."""
        total = self.total_spend
        return quantize(self.spend[origin] / total, Decimal("0.001")) if total else ZERO
