"""What the manager reviews before committing a plan: per supplier, per shop, unserved needs.

Read from the plan stored on a run, joined with the needs and offers it names.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop.accounts.models import Member
from coop.extensions import db
from coop.i18n import day, money
from coop.money import quantize
from coop.orders.campaigns.models import Need
from coop.orders.pooling.models import PoolingRun
from coop.orders.pooling.plan import AgreementOutcome, reason_of
from coop.orders.pooling.solver import Reason
from coop.suppliers.models import Offer, Part, Supplier
from coop.suppliers.origin import Origin

ZERO = Decimal("0.00")


@dataclass
class ReviewLine:
    offer: Offer
    unit_price: Decimal
    tier_min_qty: int
    quantity: int = 0
    shops: int = 0

    @property
    def amount(self) -> Decimal:
        return quantize(self.unit_price * self.quantity)


@dataclass
class SupplierOrder:
    supplier: Supplier
    shipping: Decimal
    lines: list[ReviewLine] = field(default_factory=list)

    @property
    def goods(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.goods + self.shipping


@dataclass
class ShopSummary:
    code: str
    name: str
    requested: int = 0
    served: int = 0
    goods: Decimal = ZERO
    shipping: Decimal = ZERO
    solo: Decimal = ZERO  # what its served needs would cost bought alone
    pooled: Decimal = ZERO  # what the same needs cost in the plan

    @property
    def savings(self) -> Decimal:
        return self.solo - self.pooled


@dataclass(frozen=True)
class NeedRow:
    """The few columns of a need the review shows: thousands of rows, no whole objects."""

    id: int
    ref: str
    quantity: int
    member_code: str
    member_name: str
    sku: str
    part_name: str


@dataclass
class NeedDecision:
    need: NeedRow
    offer: Offer | None
    units: int
    unit_price: Decimal | None
    why: Reason | None


@dataclass
class Review:
    orders: list[SupplierOrder]
    shops: list[ShopSummary]
    decisions: list[NeedDecision]
    spend_by_origin: dict[Origin, Decimal]
    # Each framework agreement in force: target, units bought, shortfall and its fee.
    agreements: tuple[AgreementOutcome, ...] = ()

    @property
    def not_fully_served(self) -> list[NeedDecision]:
        return [d for d in self.decisions if d.why is not None]


def review(run: PoolingRun) -> Review:
    """The plan of a finished run, arranged for the review page."""
    record = run.record
    needs = {
        row.id: NeedRow(*row)
        for row in db.session.execute(
            select(Need.id, Need.ref, Need.quantity, Member.code, Member.name, Part.sku, Part.name)
            .join(Member, Need.member_id == Member.id)
            .join(Part, Need.part_id == Part.id)
            .where(Need.campaign_id == run.campaign_id)
        )
    }
    offers = {
        o.id: o
        for o in db.session.scalars(
            select(Offer)
            .where(Offer.id.in_({d.offer for d in record.served}))
            .options(selectinload(Offer.supplier), selectinload(Offer.part))
        )
    }
    orders: dict[str, SupplierOrder] = {}
    lines: dict[int, ReviewLine] = {}
    shops: dict[str, ShopSummary] = {}
    items = []
    for decision in record.decisions:
        need = needs[decision.need]
        offer = offers.get(decision.offer)
        shop = shops.setdefault(need.member_code, ShopSummary(need.member_code, need.member_name))
        shop.requested += need.quantity
        price = decision.unit_price if offer is not None else None
        items.append(NeedDecision(need, offer, decision.units, price, decision.why))
        if offer is None:
            continue
        shop.served += min(decision.units, need.quantity)
        shop.goods += decision.goods
        shop.shipping += decision.shipping_share
        if decision.solo is not None:
            shop.solo += decision.solo
            shop.pooled += decision.pooled
        code = offer.supplier.code
        order = orders.setdefault(code, SupplierOrder(offer.supplier, record.shipping_of(code)))
        line = lines.get(offer.id)
        if line is None:
            line = lines[offer.id] = ReviewLine(offer, price, decision.tier_min_qty)
            order.lines.append(line)
        line.quantity += decision.units
        line.shops += 1
    spend: dict[Origin, Decimal] = defaultdict(lambda: ZERO)
    for line in lines.values():
        spend[line.offer.origin] += line.amount
    for order in orders.values():
        order.lines.sort(key=lambda line: line.offer.part.sku)
    items.sort(key=lambda d: (d.need.member_code, d.need.ref))
    return Review(
        orders=sorted(orders.values(), key=lambda o: -o.total),
        shops=sorted(shops.values(), key=lambda s: s.code),
        decisions=items,
        spend_by_origin={o: spend[o] for o in Origin if spend[o]},
        agreements=record.agreements,
    )


@dataclass
class ChoiceCost:
    """What the manager's choices cost against a run without them."""

    reference_id: int
    objective: Decimal
    total: Decimal
    units: int  # more units served (negative: fewer)


def choice_cost(run: PoolingRun, reference: PoolingRun) -> ChoiceCost:
    mine, theirs = run.headline, reference.headline
    return ChoiceCost(
        reference_id=reference.id,
        objective=mine.objective - theirs.objective,
        total=mine.total - theirs.total,
        units=theirs.unserved_units - mine.unserved_units,
    )


REASONS = {
    "partly_served": lambda p: _(
        "servi en partie : %(allocated)s sur %(quantity)s, conditionnement par %(pack)s",
        **p,
    ),
    "no_offer": lambda p: _("aucune offre pour cette pièce"),
    "no_valid_offer": lambda p: _("aucune offre valable le %(date)s", date=_day(p["date"])),
    "too_late": lambda p: _("aucune offre livrée avant le %(date)s", date=_day(p["date"])),
    "over_max_price": lambda p: _(
        "le palier le moins cher (%(cheapest)s) dépasse votre prix maximum (%(max)s)",
        cheapest=money(Decimal(p["cheapest"])),
        max=money(Decimal(p["max"])),
    ),
    "pack_short": lambda p: ngettext(
        "il manque %(num)d unité pour remplir un carton de %(pack)s",
        "il manque %(num)d unités pour remplir un carton de %(pack)s",
        int(p["short"]),
        pack=p["pack"],
    ),
    "minimum_short": lambda p: ngettext(
        "il manque %(num)d unité pour atteindre le minimum de commande de %(minimum)s",
        "il manque %(num)d unités pour atteindre le minimum de commande de %(minimum)s",
        int(p["short"]),
        minimum=p["minimum"],
    ),
    "costs_units_elsewhere": lambda p: _(
        "non servi : le servir priverait d'autres besoins de plus d'unités"
    ),
    "excluded": lambda p: _("exclu par les choix de la coopérative"),
}


def _day(iso: str) -> str:
    return day(date.fromisoformat(iso))


def describe_reason(why: Reason | Mapping | None) -> str:
    """A reason in the reader's language: a plan's, or one stored on a need (its JSON)."""
    if why is not None and not isinstance(why, Reason):
        why = reason_of(why)
    if not why:
        return ""
    describe = REASONS.get(why.code)
    return describe(why.params) if describe else why.code
