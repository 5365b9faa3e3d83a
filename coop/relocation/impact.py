"""The impact report for the Métropole: what pooling did over a period (issue 19).

Every figure is a sum of the period's rows (coop.relocation.purchases), which the report's
spreadsheet lists one by one with the weight, the route and the CO2e of each: the totals
on the page and in the PDF are the sums of the file's rows.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import func, select

from coop.accounts.identity import letterhead
from coop.clock import from_local, today
from coop.csv_export import day, figure
from coop.extensions import db
from coop.orders.campaigns.models import Need
from coop.orders.costs.statements import Savings
from coop.orders.pooling.cost_split import ZERO
from coop.pdf import render_pdf
from coop.relocation.carbon import Leg, Mode, emissions, factors, route, tonne_km
from coop.relocation.purchases import Bought, ByOrigin, Period, Purchases, purchases
from coop.relocation.trends import CampaignTrend, campaign_trends
from coop.suppliers.models import AgreementStatus, FrameworkAgreement, Part, Supplier
from coop.suppliers.origin import ORIGIN_LABELS, ORIGINS_NEAR_FIRST, Origin


@dataclass(frozen=True)
class ImpactRow:
    """One need served, with what carrying it to Lyon emitted (None when unknown)."""

    bought: Bought
    legs: tuple[Leg, ...] | None
    tonne_km: Decimal | None
    co2e: Decimal | None  # kg

    @property
    def weight_g(self) -> int | None:
        return self.bought.part.weight_g

    @property
    def savings(self) -> Decimal | None:
        """Against the shop buying alone (spec/pooling.md), for a need served in full."""
        item = self.bought.item
        if item.solo is None or item.is_short:
            return None
        return item.solo - (self.bought.cost.goods + self.bought.cost.shipping)

    def km(self, mode: Mode) -> int:
        return sum(leg.km for leg in self.legs or () if leg.mode is mode)


@dataclass
class Carbon:
    by_origin: dict[Origin, Decimal] = field(
        default_factory=lambda: dict.fromkeys(ORIGINS_NEAR_FIRST, ZERO)
    )
    rows_without_weight: int = 0
    parts_without_weight: set[str] = field(default_factory=set)  # SKUs
    rows_without_route: int = 0
    countries_without_route: set[str] = field(default_factory=set)

    @property
    def total(self) -> Decimal:
        return sum(self.by_origin.values(), ZERO)


@dataclass
class Impact:
    purchases: Purchases
    rows: list[ImpactRow]
    shops_active: int
    totals: ByOrigin
    savings: Savings
    trends: list[CampaignTrend]
    relocated_parts: list[Part]
    local_suppliers_added: list[Supplier]
    agreements_signed: int
    carbon: Carbon
    factors: dict[Mode, Decimal]

    @property
    def period(self) -> Period:
        return self.purchases.period

    @property
    def relocated_units(self) -> int:
        return sum(t.relocated for t in self.trends)


def impact_rows(bought: Purchases) -> list[ImpactRow]:
    factor = factors()
    rows = []
    for row in bought.rows:
        supplier = row.supplier
        legs = route(supplier.country, supplier.city, supplier.is_local)
        weight = row.part.weight_g
        known = legs is not None and weight is not None
        rows.append(
            ImpactRow(
                row,
                legs,
                tonne_km(weight, row.units, legs) if known else None,
                emissions(weight, row.units, legs, factor) if known else None,
            )
        )
    return rows


def impact_report(period: Period) -> Impact:
    """The report's figures for the period's campaigns."""
    bought = purchases(period)
    rows = impact_rows(bought)
    totals, savings, carbon = ByOrigin(), Savings(), Carbon()
    for row in rows:
        item, cost = row.bought.item, row.bought.cost
        totals.add(row.bought)
        if row.savings is not None:
            savings.add(item, cost.goods, cost.shipping)
        if row.co2e is not None:
            carbon.by_origin[row.bought.origin] += row.co2e
        elif row.weight_g is None:
            carbon.rows_without_weight += 1
            carbon.parts_without_weight.add(row.bought.part.sku)
        else:
            carbon.rows_without_route += 1
            carbon.countries_without_route.add(row.bought.supplier.country)
    trends = campaign_trends(bought)
    relocated = {part_id for t in trends for part_id in t.relocated_parts}
    parts = {row.bought.part.id: row.bought.part for row in rows}
    return Impact(
        purchases=bought,
        rows=rows,
        shops_active=_shops_active(bought),
        totals=totals,
        savings=savings,
        trends=trends,
        relocated_parts=sorted((parts[i] for i in relocated), key=lambda p: p.sku),
        local_suppliers_added=_local_suppliers_added(period),
        agreements_signed=_agreements_signed(period),
        carbon=carbon,
        factors=factors(),
    )


def _shops_active(bought: Purchases) -> int:
    """The shops that posted at least one need in the period's campaigns."""
    return db.session.scalar(
        select(func.count(func.distinct(Need.member_id))).where(
            Need.campaign_id.in_([c.id for c in bought.campaigns])
        )
    )


def _local_suppliers_added(period: Period) -> list[Supplier]:
    """Local suppliers entered into the directory during the period (Lyon's days)."""
    return list(
        db.session.scalars(
            select(Supplier)
            .where(
                Supplier.is_local.is_(True),
                Supplier.created_at >= from_local(period.start),
                Supplier.created_at < from_local(period.end + timedelta(days=1)),
            )
            .order_by(Supplier.created_at, Supplier.code)
        )
    )


def _agreements_signed(period: Period) -> int:
    """Framework agreements past their draft whose period starts within the report's."""
    return db.session.scalar(
        select(func.count())
        .select_from(FrameworkAgreement)
        .where(
            FrameworkAgreement.status != AgreementStatus.DRAFT,
            FrameworkAgreement.valid_from >= period.start,
            FrameworkAgreement.valid_from <= period.end,
        )
    )


# --- the files --------------------------------------------------------------------------------

CSV_HEADER = [
    "Campagne",
    "Date de commande",
    "Bon de commande",
    "Ligne",
    "Besoin",
    "Atelier",
    "Réf. atelier",
    "SKU",
    "Désignation",
    "Famille",
    "Fournisseur",
    "Pays",
    "Ville",
    "Origine",
    "Unités",
    "Marchandises HT",
    "Port HT",
    "Autres frais HT",
    "Dépense HT",
    "Seul HT",
    "Économie",
    "Poids unitaire (g)",
    "km route",
    "km mer",
    "km air",
    "t.km",
    "kg CO2e",
]


def csv_rows(impact: Impact) -> list[list]:
    """Every row behind the report, the header first: the figures' sums are the page's."""
    rows: list[list] = [CSV_HEADER]
    for row in impact.rows:
        b = row.bought
        rows.append(
            [
                b.campaign.code,
                day(b.campaign.order_date),
                b.line.order.number,
                b.line.id,
                b.need.id,
                b.need.member.code,
                b.need.ref,
                b.part.sku,
                b.part.name,
                b.part.category or "",
                b.supplier.code,
                b.supplier.country,
                b.supplier.city or "",
                ORIGIN_LABELS[b.origin],
                b.units,
                figure(b.cost.goods),
                figure(b.cost.shipping),
                figure(b.cost.other_charges),
                figure(b.spend),
                figure(b.item.solo if row.savings is not None else None),
                figure(row.savings),
                "" if row.weight_g is None else row.weight_g,
                *(row.km(mode) if row.legs else "" for mode in Mode),
                figure(row.tonne_km, 3),
                figure(row.co2e, 3),
            ]
        )
    return rows


def render_impact_pdf(impact: Impact) -> bytes:
    """The report on the coop's letterhead, in French whatever the reader's language."""
    with force_locale("fr"):
        html = render_template(
            "relocation/impact/impact_pdf.html",
            impact=impact,
            coop=letterhead(),
            issued_on=today(),
            origins=ORIGINS_NEAR_FIRST,
        )
    return render_pdf(html)
