"""A campaign's results for the manager, and the history of past campaigns."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from coop.accounts.models import Member
from coop.errors import DomainError
from coop.extensions import db
from coop.i18n import sorted_by_name
from coop.money import quantize
from coop.orders.campaigns.models import Campaign
from coop.orders.costs.splitting import POOLED_OR_LATER, CampaignSplit, build_split
from coop.orders.costs.statements import OriginShare, ensure_pooled, origin_shares
from coop.orders.pooling.cost_split import ZERO
from coop.orders.purchasing.models import OrderLine
from coop.suppliers.models import Supplier
from coop.suppliers.origin import Origin

HISTORY_CAMPAIGNS = 12


@dataclass
class Amounts:
    goods: Decimal = ZERO
    shipping: Decimal = ZERO
    charges: Decimal = ZERO
    fee: Decimal = ZERO
    solo: Decimal = ZERO
    pooled: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.goods + self.shipping + self.charges + self.fee

    @property
    def savings(self) -> Decimal:
        return self.solo - self.pooled


@dataclass
class ShopResult(Amounts):
    member: Member | None = None


@dataclass
class SupplierResult:
    supplier: Supplier
    origins: set[Origin] = field(default_factory=set)
    units: int = 0
    goods: Decimal = ZERO  # the supplier's lines, each rounded once
    shipping: Decimal = ZERO
    charges: Decimal = ZERO  # the charges on this supplier

    @property
    def total(self) -> Decimal:
        return self.goods + self.shipping + self.charges


@dataclass(frozen=True)
class Shortage:
    line: OrderLine
    allocated: int
    received: int

    @property
    def lost(self) -> int:
        return self.allocated - self.received


@dataclass(frozen=True)
class HistoryPoint:
    campaign: Campaign
    by_origin: dict[Origin, Decimal]
    total: Decimal  # goods, shipping and charges, the coop's fee aside
    savings: Decimal
    is_estimate: bool


@dataclass
class CampaignResults:
    campaign: Campaign
    is_estimate: bool
    totals: Amounts
    shops: list[ShopResult]
    by_origin: list[OriginShare]
    suppliers: list[SupplierResult]
    shortages: list[Shortage]
    rounding: Decimal  # the supplier's lines minus the shops' lines: the coop's cents
    history: list[HistoryPoint]
    units_requested: int = 0
    units_received: int = 0


def _point(cs: CampaignSplit) -> HistoryPoint:
    by_origin: dict[Origin, Decimal] = defaultdict(lambda: ZERO)
    savings = ZERO
    for item in cs.items:
        cost = cs.cost(item.need.id)
        if cost is None:
            continue
        by_origin[item.origin] += cost.total
        if item.solo is not None and not item.is_short:
            savings += item.solo - (cost.goods + cost.shipping)
    return HistoryPoint(
        cs.campaign, dict(by_origin), sum(by_origin.values(), ZERO), savings, cs.is_estimate
    )


def history(limit: int = HISTORY_CAMPAIGNS) -> list[HistoryPoint]:
    """Spend by origin and savings of the latest pooled-or-later campaigns, oldest first.

    A campaign whose split cannot be made (weights missing) is left out.
    """
    campaigns = db.session.scalars(
        select(Campaign)
        .where(Campaign.status.in_(POOLED_OR_LATER))
        .order_by(Campaign.order_date.desc(), Campaign.id.desc())
        .limit(limit)
    ).all()
    points = []
    for campaign in reversed(campaigns):
        try:
            points.append(_point(build_split(campaign)))
        except DomainError:
            continue
    return points


def campaign_results(campaign: Campaign) -> CampaignResults:
    """Totals, savings per shop, spend by origin, suppliers, shortages and the history."""
    ensure_pooled(campaign)
    cs = build_split(campaign)
    totals = Amounts()
    shops: dict[int, ShopResult] = {}
    by_origin: dict[Origin, Decimal] = defaultdict(lambda: ZERO)
    suppliers: dict[int, SupplierResult] = {}
    line_units: dict[int, int] = defaultdict(int)
    line_goods: dict[int, Decimal] = defaultdict(lambda: ZERO)
    requested = received = 0
    for item in cs.items:
        requested += item.need.quantity
        shop = shops.setdefault(item.need.member_id, ShopResult(member=item.need.member))
        cost = cs.cost(item.need.id)
        if cost is None:
            continue
        received += item.units
        by_origin[item.origin] += cost.total
        supplier = suppliers.setdefault(item.supplier.id, SupplierResult(item.supplier))
        supplier.origins.add(item.origin)
        supplier.units += item.units
        line_units[item.line.id] += item.units
        line_goods[item.line.id] += cost.goods
        for amounts in (shop, totals):
            amounts.goods += cost.goods
            amounts.shipping += cost.shipping
            amounts.charges += cost.other_charges
            if item.solo is not None and not item.is_short:
                amounts.solo += item.solo
                amounts.pooled += cost.goods + cost.shipping
    lines = {i.line.id: i.line for i in cs.items if i.line is not None}
    rounding = ZERO
    for line_id, units in line_units.items():
        amount = quantize(lines[line_id].unit_price * units)
        suppliers[lines[line_id].order.supplier_id].goods += amount
        rounding += amount - line_goods[line_id]
    for result in suppliers.values():
        result.shipping = cs.shipping_fees.get(result.supplier.code, ZERO)
    for charge in cs.charges:
        if charge.supplier_id in suppliers:
            suppliers[charge.supplier_id].charges += charge.amount
    for shop in shops.values():
        shop.fee = cs.split.fees.get(shop.member.code, ZERO)
        totals.fee += shop.fee
    return CampaignResults(
        campaign=campaign,
        is_estimate=cs.is_estimate,
        totals=totals,
        shops=sorted_by_name(
            sorted(shops.values(), key=lambda s: s.member.code), lambda s: s.member.name
        ),
        by_origin=origin_shares(by_origin),
        suppliers=sorted(suppliers.values(), key=lambda s: -s.total),
        shortages=_shortages(cs),
        rounding=rounding,
        history=history(),
        units_requested=requested,
        units_received=received,
    )


def _shortages(cs: CampaignSplit) -> list[Shortage]:
    """Order lines received short: the units allocated to shops that did not arrive."""
    allocated: dict[int, int] = defaultdict(int)
    got: dict[int, int] = defaultdict(int)
    lines: dict[int, OrderLine] = {}
    for item in cs.items:
        a = item.allocation
        if a is None or item.is_cancelled or a.received is None:
            continue
        lines[a.line_id] = a.line
        allocated[a.line_id] += a.quantity
        got[a.line_id] += a.received
    return [
        Shortage(lines[i], allocated[i], got[i])
        for i in sorted(lines, key=lambda i: (lines[i].order.number, i))
        if got[i] < allocated[i]
    ]


# --- charges and the shipping key -----------------------------------------------------------
