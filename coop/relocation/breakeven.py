"""The break-even local price of a part: the highest unit price at which a local offer would
have been chosen in the plans of a period's campaigns (issue 19).

A landed-cost approximation of the pooling engine's choice, not the engine itself: the
engine needs some 25 solves per campaign and part to bisect a price (minutes on a campaign
of the coop's size, for every part of the board), this a few queries. Tests bisect with
the engine on hand-made campaigns and hold the two within 0,01 € a unit
(tests/relocation/board/test_breakeven.py); docs/relocation.md says where they part.

For each campaign c of the period in which shops asked for Q units of the part, take a
local offer sold by the unit (pack of 1, no minimum, one price P, no shipping fee). It
serves all Q units, and the engine takes it when P × Q × (1 + penalty_c(local)) is below
what the other offers would cost it for those units, the cheapest of today's usable
offers o:

    goods_o × (1 + penalty_c(origin of o)) + fee_o

goods_o being the tier reached by the smallest line holding Q (whole packs, the MOQ, the
lowest tier) times that line, and fee_o the supplier's shipping fee when this part is all
that c's committed plan buys from it (nothing when the line reaches free shipping), zero
when the plan buys other parts from it: its fee is paid anyway. The campaign's break-even
is that cost over Q × (1 + penalty_c(local)); the period's is the lowest of its
campaigns': the price at which a local maker would have taken every campaign's demand.

Where the engine may differ: it may leave units unserved rather than fill a pack the
shops' tolerances cannot fill (then any price under the shops' caps wins); lead times and
the shops' price caps are not looked at; a free-shipping threshold that the part's goods
alone reached for the supplier's other parts is not seen.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from coop import clock
from coop.extensions import db
from coop.money import UNIT_PRICE, quantize
from coop.orders.campaigns.models import Campaign, Need
from coop.orders.pooling.cost_split import ZERO
from coop.orders.purchasing.models import OrderLine, OrderStatus, PurchaseOrder
from coop.relocation.purchases import Period, period_campaigns
from coop.suppliers.comparison import is_usable, terms_of
from coop.suppliers.models import Offer, Part
from coop.suppliers.origin import Origin
from coop.suppliers.pricing import smallest_order, tier_for


def usable_offers(part_ids: Iterable[int], today: date) -> dict[int, list[Offer]]:
    """The offers of each part that can be bought today, by part id."""
    offers = db.session.scalars(
        select(Offer)
        .where(Offer.part_id.in_(set(part_ids)))
        .options(selectinload(Offer.tiers), selectinload(Offer.supplier))
        .order_by(Offer.id)
    )
    by_part: dict[int, list[Offer]] = defaultdict(list)
    for offer in offers:
        if is_usable(offer, today):
            by_part[offer.part_id].append(offer)
    return by_part


def alternative_cost(
    offer: Offer, units: int, penalties: dict[Origin, Decimal], ships_other_parts: bool
) -> Decimal:
    """What the engine would pay to serve `units` with `offer`, its origin penalty included."""
    terms = terms_of(offer)
    line = smallest_order(units, terms)
    _, price = tier_for(line, terms.tiers)
    goods = quantize(price * line)
    supplier = offer.supplier
    waived = supplier.free_shipping_over is not None and goods >= supplier.free_shipping_over
    fee = ZERO if ships_other_parts or waived else supplier.shipping_fee
    return goods * (1 + penalties[offer.origin]) + fee


def campaign_breakeven(
    units: int,
    offers: Sequence[Offer],
    penalties: dict[Origin, Decimal],
    carried: dict[int, set[int]],
    part_id: int,
) -> Decimal | None:
    """One campaign's break-even unit price for `units` of a part; None without an offer.

    `carried` is the campaign's committed plan: supplier id -> the parts bought from it.
    """
    costs = [
        alternative_cost(o, units, penalties, bool(carried.get(o.supplier_id, set()) - {part_id}))
        for o in offers
    ]
    if not costs:
        return None
    return quantize(min(costs) / (units * (1 + penalties[Origin.LOCAL])), UNIT_PRICE)


def breakeven_prices(
    campaigns: Sequence[Campaign], part_ids: Iterable[int], today: date
) -> dict[int, Decimal | None]:
    """Each part's break-even local price over the campaigns: the lowest campaign's."""
    part_ids = set(part_ids)
    ids = [c.id for c in campaigns]
    requested = db.session.execute(
        select(Need.campaign_id, Need.part_id, func.sum(Need.quantity))
        .where(Need.campaign_id.in_(ids), Need.part_id.in_(part_ids))
        .group_by(Need.campaign_id, Need.part_id)
    ).all()
    carried: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for campaign_id, supplier_id, part_id in db.session.execute(
        select(PurchaseOrder.campaign_id, PurchaseOrder.supplier_id, OrderLine.part_id)
        .join(OrderLine.order)
        .where(PurchaseOrder.campaign_id.in_(ids), PurchaseOrder.status != OrderStatus.CANCELLED)
        .distinct()
    ):
        carried[campaign_id][supplier_id].add(part_id)
    offers = usable_offers(part_ids, today)
    penalties = {c.id: {o: c.penalty(o) for o in Origin} for c in campaigns}
    prices: dict[int, Decimal | None] = dict.fromkeys(part_ids)
    for campaign_id, part_id, units in requested:
        price = campaign_breakeven(
            int(units), offers[part_id], penalties[campaign_id], carried[campaign_id], part_id
        )
        if price is not None and (prices[part_id] is None or price < prices[part_id]):
            prices[part_id] = price
    return prices


def breakeven_price(part: Part, period: Period, today: date | None = None) -> Decimal | None:
    """The highest unit price at which a local offer would have been chosen for `part` in
    every campaign of the period, against the offers usable `today` (the clock's by
    default); None when no campaign asked for it or nothing else offers it."""
    return breakeven_prices(period_campaigns(period), [part.id], today or clock.today())[part.id]
