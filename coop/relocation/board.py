"""The relocation board: the period's pooled demand part by part and family by family, split
by the origin of what was bought, and the landed cost of the cheapest Asian offer against
the cheapest local and French ones (issue 19).

The landed cost of an offer is what one unit costs the coop at the volume a campaign of the
period pools on average (the part's units over the campaigns that bought it, rounded up):

- its unit price: the tier reached by the smallest line holding that volume (whole packs,
  the MOQ, the lowest tier);
- its share of shipping, an approximation: a supplier's fee is shared by every part it
  ships in a campaign, pro rata to value (the cost split's default key), so a supplier the
  coop bought from in the period adds the ratio of the fees it charged to the goods it
  sold over the period; one not bought from adds its whole fee on that line alone (what
  ordering this part from it would cost), nothing when the line reaches free shipping;
- the origin penalty the coop applies when it chooses (spec/pooling.md; the campaign's
  settings, those of the period's latest campaign), on the unit price.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from coop.csv_export import figure
from coop.extensions import db
from coop.money import UNIT_PRICE, quantize
from coop.orders.campaigns.models import DEFAULT_PENALTIES, Campaign
from coop.orders.pooling.cost_split import ZERO
from coop.orders.purchasing.models import OrderLine, OrderStatus, PurchaseOrder
from coop.relocation.breakeven import breakeven_prices, usable_offers
from coop.relocation.purchases import ByOrigin, Period, Purchases, committed_within, purchases
from coop.suppliers.comparison import terms_of
from coop.suppliers.models import AgreementStatus, FrameworkAgreement, Offer, Part
from coop.suppliers.origin import ORIGIN_LABELS, ORIGINS_NEAR_FIRST, Origin
from coop.suppliers.pricing import smallest_order, tier_for
from coop.suppliers.search import SearchQuery


@dataclass(frozen=True)
class Landed:
    """One unit of an offer bought at `quantity`, with its share of shipping and penalty."""

    offer: Offer
    quantity: int
    unit_price: Decimal
    shipping: Decimal
    penalty: Decimal

    @property
    def per_unit(self) -> Decimal:
        return self.unit_price + self.shipping + self.penalty


def landed_cost(
    offer: Offer, volume: int, shipping_ratio: Decimal | None, penalty_rate: Decimal
) -> Landed:
    """The offer's landed cost per unit at `volume` (see the module's docstring).

    `shipping_ratio`: the supplier's fees over its goods in the period, None if unused.
    """
    terms = terms_of(offer)
    quantity = smallest_order(volume, terms)
    _, price = tier_for(quantity, terms.tiers)
    if shipping_ratio is not None:
        shipping = price * shipping_ratio
    else:
        supplier = offer.supplier
        goods = quantize(price * quantity)
        waived = supplier.free_shipping_over is not None and goods >= supplier.free_shipping_over
        shipping = ZERO if waived else supplier.shipping_fee / quantity
    return Landed(
        offer,
        quantity,
        price,
        quantize(shipping, UNIT_PRICE),
        quantize(price * penalty_rate, UNIT_PRICE),
    )


@dataclass
class PartLine:
    part: Part
    bought: ByOrigin
    campaigns: set[int] = field(default_factory=set)  # ids of the campaigns that bought it
    asia: Landed | None = None  # the cheapest landed, by origin
    local: Landed | None = None
    france: Landed | None = None
    asia_only: bool = False  # no usable offer outside Asia
    breakeven: Decimal | None = None

    @property
    def units(self) -> int:
        return self.bought.total_units

    @property
    def spend(self) -> Decimal:
        return self.bought.total_spend

    @property
    def volume(self) -> int:
        """The units a campaign that bought the part pooled on average, rounded up."""
        return math.ceil(self.units / len(self.campaigns))


@dataclass
class FamilyLine:
    category: str | None
    bought: ByOrigin
    parts: int = 0


@dataclass
class Board:
    purchases: Purchases
    parts: list[PartLine]  # largest spend first
    families: list[FamilyLine]  # largest spend first
    totals: ByOrigin
    penalties: dict[Origin, Decimal]  # applied to landed costs

    @property
    def period(self) -> Period:
        return self.purchases.period

    @property
    def asia_only(self) -> list[PartLine]:
        """The parts bought that no one offers outside Asia, largest spend first."""
        return [line for line in self.parts if line.asia_only]


def build_board(period: Period, today: date) -> Board:
    """The relocation board of the period's campaigns, against the offers usable `today`."""
    bought = purchases(period)
    lines: dict[int, PartLine] = {}
    families: dict[str | None, FamilyLine] = {}
    totals = ByOrigin()
    fees: dict[int, Decimal] = defaultdict(lambda: ZERO)
    goods: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in bought.rows:
        line = lines.setdefault(row.part.id, PartLine(row.part, ByOrigin()))
        line.bought.add(row)
        line.campaigns.add(row.campaign.id)
        families.setdefault(row.part.category, FamilyLine(row.part.category, ByOrigin()))
        families[row.part.category].bought.add(row)
        totals.add(row)
        fees[row.supplier.id] += row.cost.shipping
        goods[row.supplier.id] += row.cost.goods
    for line in lines.values():
        families[line.part.category].parts += 1
    latest = bought.campaigns[-1] if bought.campaigns else None
    penalties = {o: latest.penalty(o) for o in Origin} if latest else dict(DEFAULT_PENALTIES)
    ratios = {s: fees[s] / goods[s] for s in goods if goods[s]}
    offers = usable_offers(lines, today)
    prices = breakeven_prices(bought.campaigns, lines, today)
    for part_id, line in lines.items():
        line.breakeven = prices[part_id]
        landed = [
            landed_cost(o, line.volume, ratios.get(o.supplier_id), penalties[o.origin])
            for o in offers[part_id]
        ]
        line.asia, line.local, line.france = (
            _cheapest(x for x in landed if x.offer.origin is origin)
            for origin in (Origin.ASIA, Origin.LOCAL, Origin.FRANCE)
        )
        line.asia_only = bool(landed) and all(x.offer.origin is Origin.ASIA for x in landed)
    by_spend = sorted(lines.values(), key=lambda line: (-line.spend, line.part.sku))
    return Board(
        purchases=bought,
        parts=by_spend,
        families=sorted(families.values(), key=lambda f: (-f.bought.total_spend, f.category or "")),
        totals=totals,
        penalties=penalties,
    )


def _cheapest(landed) -> Landed | None:
    return min(landed, key=lambda x: (x.per_unit, x.offer.id), default=None)


# --- the table: filter, sort ------------------------------------------------------------------

SORTS = {
    "spend": lambda line: line.spend,
    "units": lambda line: line.units,
    "sku": lambda line: line.part.sku,
    "asia_share": lambda line: line.bought.share(Origin.ASIA),
    "asia_landed": lambda line: line.asia.per_unit if line.asia else None,
    "breakeven": lambda line: line.breakeven,
}


def sorted_lines(lines: list[PartLine], key: str, descending: bool) -> list[PartLine]:
    """The lines by one of SORTS (the largest spend first otherwise); blanks always last."""
    value = SORTS.get(key, SORTS["spend"])
    known = [line for line in lines if value(line) is not None]
    blank = [line for line in lines if value(line) is None]
    known.sort(key=lambda line: line.part.sku)
    known.sort(key=value, reverse=descending)
    return known + blank


def filtered_lines(
    lines: list[PartLine], typed: str = "", category: str = "", asia_only: bool = False
) -> list[PartLine]:
    """The lines whose part matches the search (as the catalogue's), family and Asia filter."""
    query = SearchQuery.parse(typed)
    if query:
        found = set(
            db.session.scalars(
                select(Part.id).where(
                    Part.id.in_([line.part.id for line in lines]),
                    query.matches(Part.search_text),
                )
            )
        )
        lines = [line for line in lines if line.part.id in found]
    if category:
        lines = [line for line in lines if line.part.category == category]
    if asia_only:
        lines = [line for line in lines if line.asia_only]
    return lines


# --- the spreadsheet --------------------------------------------------------------------------

CSV_HEADER = [
    "SKU",
    "Désignation",
    "Famille",
    "Campagnes",
    "Unités",
    "Dépense HT",
    *(f"Unités {ORIGIN_LABELS[o]}" for o in ORIGINS_NEAR_FIRST),
    *(f"Dépense {ORIGIN_LABELS[o]}" for o in ORIGINS_NEAR_FIRST),
    "Volume par campagne",
    "Asie : fournisseur",
    "Asie : prix unitaire",
    "Asie : port par unité",
    "Asie : pénalité par unité",
    "Asie : coût rendu par unité",
    "Local : fournisseur",
    "Local : coût rendu par unité",
    "France : fournisseur",
    "France : coût rendu par unité",
    "Seulement en Asie",
    "Prix local d'équilibre",
]


def csv_rows(lines: list[PartLine]) -> list[list]:
    """The board's lines as spreadsheet rows, the header first (French: decimal commas)."""
    rows: list[list] = [CSV_HEADER]
    for line in lines:
        asia, local, france = line.asia, line.local, line.france
        rows.append(
            [
                line.part.sku,
                line.part.name,
                line.part.category or "",
                len(line.campaigns),
                line.units,
                figure(line.spend),
                *(line.bought.units[o] for o in ORIGINS_NEAR_FIRST),
                *(figure(line.bought.spend[o]) for o in ORIGINS_NEAR_FIRST),
                line.volume,
                asia.offer.supplier.code if asia else "",
                figure(asia.unit_price if asia else None, 4),
                figure(asia.shipping if asia else None, 4),
                figure(asia.penalty if asia else None, 4),
                figure(asia.per_unit if asia else None, 4),
                local.offer.supplier.code if local else "",
                figure(local.per_unit if local else None, 4),
                france.offer.supplier.code if france else "",
                figure(france.per_unit if france else None, 4),
                "oui" if line.asia_only else "non",
                figure(line.breakeven, 4),
            ]
        )
    return rows


# --- framework agreements ---------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementProgress:
    """An agreement in force: what its period's committed campaigns bought of its offer."""

    agreement: FrameworkAgreement
    bought: int
    campaigns_done: int

    @property
    def expected(self) -> int | None:
        """The units bought by the end at this pace: per campaign so far, times those planned."""
        if not self.campaigns_done:
            return None
        pace = Decimal(self.bought) * self.agreement.campaigns_planned / self.campaigns_done
        return int(quantize(pace, Decimal(1)))

    @property
    def expected_shortfall(self) -> int | None:
        expected = self.expected
        return None if expected is None else max(0, self.agreement.committed_qty - expected)

    @property
    def share_bought(self) -> Decimal:
        return quantize(Decimal(self.bought) / self.agreement.committed_qty, Decimal("0.001"))


def agreements_progress() -> list[AgreementProgress]:
    """Each agreement in force, with the units of its offer in the committed plans (purchase
    orders not cancelled) of the campaigns of its period (spec/pooling.md's bought_so_far)."""
    agreements = db.session.scalars(
        select(FrameworkAgreement)
        .where(FrameworkAgreement.status == AgreementStatus.ACTIVE)
        .options(
            selectinload(FrameworkAgreement.offer).options(
                selectinload(Offer.supplier), selectinload(Offer.part)
            )
        )
        .order_by(FrameworkAgreement.valid_from, FrameworkAgreement.code)
    ).all()
    progress = []
    for agreement in agreements:
        within = committed_within(Period(agreement.valid_from, agreement.valid_to))
        done = db.session.scalar(select(func.count()).select_from(Campaign).where(*within))
        bought = db.session.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .join(OrderLine.order)
            .join(PurchaseOrder.campaign)
            .where(
                OrderLine.offer_id == agreement.offer_id,
                PurchaseOrder.status != OrderStatus.CANCELLED,
                *within,
            )
        )
        progress.append(AgreementProgress(agreement, int(bought), done))
    return progress
