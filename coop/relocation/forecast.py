"""What a call to manufacturers starts from: the pooled demand of the last twelve months, the
campaigns' rhythm, and what buying the part in Asia costs landed at the hub.

The yearly demand counts the units the committed plans gave the shops (their needs'
allocations) in the campaigns ordered within the last 365 days, purchase orders cancelled
since left out.

The Asian landed cost is an approximation, documented in docs/manufacturer-calls.md: the
price of the tier the yearly volume reaches (whole packs, MOQ), plus the coop's origin
penalty for Asia on those goods, plus the supplier's shipping fee once per campaign of the
year (none when a campaign's share of the goods reaches its free-shipping threshold),
spread over the units needed. The relocation board's break-even price (coop.relocation.
breakeven) is the finer figure: `target_price_for` prefers it when the year has one.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from coop.extensions import db
from coop.i18n import day
from coop.money import UNIT_PRICE, quantize
from coop.orders.campaigns.models import DEFAULT_PENALTIES, Campaign, CampaignStatus, Need
from coop.orders.purchasing.models import Allocation, OrderLine, OrderStatus, PurchaseOrder
from coop.relocation.breakeven import breakeven_price
from coop.relocation.purchases import default_period
from coop.suppliers.comparison import terms_of
from coop.suppliers.models import Offer, Part, Supplier
from coop.suppliers.origin import Origin
from coop.suppliers.pricing import Terms, buy

YEAR = timedelta(days=365)
# Campaigns whose plan is committed: their allocations are what the shops got.
COMMITTED = frozenset(
    {
        CampaignStatus.POOLED,
        CampaignStatus.ORDERED,
        CampaignStatus.RECEIVED,
        CampaignStatus.INVOICED,
        CampaignStatus.ARCHIVED,
    }
)


def year_before(today: date) -> tuple[date, date]:
    """The window the forecast reads: the 365 days ending `today`, both ends included."""
    return today - YEAR + timedelta(days=1), today


def yearly_demand(today: date, *, part: Part | None = None, category: str | None = None) -> int:
    """Units of one part (or of one family) the committed plans of the last year allocated."""
    start, end = year_before(today)
    stmt = (
        select(func.coalesce(func.sum(Allocation.quantity), 0))
        .join(Allocation.need)
        .join(Need.campaign)
        .join(Allocation.line)
        .join(OrderLine.order)
        .where(
            Campaign.order_date.between(start, end),
            Campaign.status.in_(COMMITTED),
            PurchaseOrder.status != OrderStatus.CANCELLED,
        )
    )
    if part is not None:
        stmt = stmt.where(Need.part_id == part.id)
    else:
        stmt = stmt.join(Need.part).where(Part.category == category)
    return int(db.session.scalar(stmt))


def campaigns_of_year(today: date) -> list[Campaign]:
    """The campaigns committed in the last year, oldest first: the rhythm a maker delivers to."""
    start, end = year_before(today)
    return db.session.scalars(
        select(Campaign)
        .where(Campaign.order_date.between(start, end), Campaign.status.in_(COMMITTED))
        .order_by(Campaign.order_date, Campaign.id)
    ).all()


def delivery_rhythm(campaigns: Sequence[Campaign]) -> str:
    """The rhythm a call states, from the last year's campaigns: how many, and their dates."""
    if not campaigns:
        return "Une livraison par campagne d'achats groupés."
    dates = ", ".join(day(c.order_date) for c in campaigns)
    return (
        f"Une livraison par campagne d'achats groupés, soit environ {len(campaigns)} par an "
        f"(commandes des 12 derniers mois : {dates})."
    )


def asia_penalty_rate() -> Decimal:
    """The origin penalty for Asia the coop applies now: its latest campaign's, else the default."""
    rate = db.session.scalar(
        select(Campaign.penalty_asia).order_by(Campaign.order_date.desc(), Campaign.id.desc())
    )
    return DEFAULT_PENALTIES[Origin.ASIA] if rate is None else rate


@dataclass(frozen=True)
class LandedCost:
    """Buying `needed` units a year on one offer, as the coop would land them at the hub."""

    needed: int
    bought: int  # whole packs, at least the MOQ and the lowest tier
    unit_price: Decimal  # of the tier `bought` reaches
    goods: Decimal
    penalty: Decimal  # the origin penalty on the goods: used to choose, never paid
    shipping: Decimal  # the fees of the year's orders

    @property
    def per_unit(self) -> Decimal:
        """Goods, penalty and shipping over the units needed, to 1/100 of a cent."""
        return quantize((self.goods + self.penalty + self.shipping) / self.needed, UNIT_PRICE)


def landed_cost(
    needed: int,
    terms: Terms,
    *,
    penalty_rate: Decimal,
    shipping_fee: Decimal,
    free_shipping_over: Decimal | None,
    orders_a_year: int,
) -> LandedCost | None:
    """The landed cost of `needed` units a year on `terms` (pure); None without tiers."""
    purchase = buy(needed, terms)
    if purchase is None:
        return None
    orders = max(orders_a_year, 1)
    free = free_shipping_over is not None and purchase.amount / orders >= free_shipping_over
    return LandedCost(
        needed=needed,
        bought=purchase.bought,
        unit_price=purchase.unit_price,
        goods=purchase.amount,
        penalty=quantize(purchase.amount * penalty_rate),
        shipping=Decimal("0.00") if free else quantize(shipping_fee * orders),
    )


@dataclass(frozen=True)
class AsianCost:
    offer: Offer
    cost: LandedCost


def asian_offers(part: Part, today: date) -> list[Offer]:
    """The part's current Asian offers: an active supplier, valid today, with prices."""
    offers = db.session.scalars(
        select(Offer)
        .join(Offer.supplier)
        .where(Offer.part_id == part.id, Supplier.is_active.is_(True))
        .options(selectinload(Offer.supplier), selectinload(Offer.tiers))
    ).all()
    return [o for o in offers if o.origin is Origin.ASIA and o.is_valid_on(today) and o.tiers]


def cheapest_asian_landed_cost(part: Part, needed: int, today: date) -> AsianCost | None:
    """The Asian offer landing `needed` units a year cheapest, or None (no Asian offer)."""
    if needed < 1:
        return None
    rate, orders = asia_penalty_rate(), len(campaigns_of_year(today))
    costs = []
    for offer in asian_offers(part, today):
        cost = landed_cost(
            needed,
            terms_of(offer),
            penalty_rate=rate,
            shipping_fee=offer.supplier.shipping_fee,
            free_shipping_over=offer.supplier.free_shipping_over,
            orders_a_year=orders,
        )
        if cost is not None:
            costs.append(AsianCost(offer, cost))
    return min(costs, key=lambda c: (c.cost.per_unit, c.offer.id), default=None)


def target_price_for(part: Part, today: date) -> Decimal | None:
    """The unit price a local maker should reach for `part`: a call's target, prefilled.

    The relocation board's break-even local price over the last 12 months' campaigns;
    when no campaign of the year asked for the part, the cheapest current Asian offer's
    unit price at the tier the part's yearly volume reaches.
    """
    breakeven = breakeven_price(part, default_period(today), today)
    if breakeven is not None:
        return breakeven
    needed = yearly_demand(today, part=part)
    prices = [
        purchase.unit_price
        for offer in asian_offers(part, today)
        if (purchase := buy(max(needed, 1), terms_of(offer))) is not None
    ]
    return min(prices, default=None)
