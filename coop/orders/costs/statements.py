"""Each shop's statement of a campaign: its lines, savings, origins, and its CSV."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from coop.accounts.models import Member
from coop.csv_export import Figure
from coop.errors import DomainError
from coop.extensions import db
from coop.i18n import sorted_by_name
from coop.money import quantize
from coop.orders.campaigns.models import Campaign, Need
from coop.orders.costs.models import Charge
from coop.orders.costs.splitting import POOLED_OR_LATER, CampaignSplit, Item, build_split
from coop.orders.pooling.cost_split import ZERO
from coop.suppliers.origin import ORIGIN_LABELS, ORIGINS_NEAR_FIRST, Origin


@dataclass(frozen=True)
class StatementLine:
    item: Item
    goods: Decimal
    shipping: Decimal
    charges: Decimal

    @property
    def need(self) -> Need:
        return self.item.need

    @property
    def requested(self) -> int:
        return self.need.quantity

    @property
    def allocated(self) -> int:
        a = self.item.allocation
        return a.quantity if a and not self.item.is_cancelled else 0

    @property
    def received(self) -> int | None:
        a = self.item.allocation
        return a.received if a and not self.item.is_cancelled else None

    @property
    def unit_price(self) -> Decimal | None:
        return self.item.line.unit_price if self.item.units else None

    @property
    def total(self) -> Decimal:
        return self.goods + self.shipping + self.charges

    @property
    def savings(self) -> Decimal | None:
        """spec/pooling.md: solo cost − (goods + shipping share), for a need served in full.

        A short delivery is not compared: the cost alone is for the whole quantity.
        """
        if not self.item.units or self.item.solo is None or self.item.is_short:
            return None
        return self.item.solo - (self.goods + self.shipping)


@dataclass
class Savings:
    """Needs bought alone against the same needs pooled (spec/pooling.md), goods and
    shipping apart: alone, a shop pays its supplier's whole fee, which is most of the saving
    on a small order."""

    solo_goods: Decimal = ZERO
    solo_shipping: Decimal = ZERO
    goods: Decimal = ZERO  # pooled
    shipping: Decimal = ZERO  # pooled: the share of the fee
    is_split: bool = True  # False when a plan older than the split kept only the solo total

    def add(self, item: Item, goods: Decimal, shipping: Decimal) -> None:
        if item.solo_shipping is None:
            self.is_split = False
            self.solo_goods += item.solo
        else:
            self.solo_goods += item.solo - item.solo_shipping
            self.solo_shipping += item.solo_shipping
        self.goods += goods
        self.shipping += shipping

    def __iadd__(self, other: "Savings") -> "Savings":
        self.solo_goods += other.solo_goods
        self.solo_shipping += other.solo_shipping
        self.goods += other.goods
        self.shipping += other.shipping
        self.is_split = self.is_split and other.is_split
        return self

    @property
    def solo(self) -> Decimal:
        return self.solo_goods + self.solo_shipping

    @property
    def pooled(self) -> Decimal:
        return self.goods + self.shipping

    @property
    def total(self) -> Decimal:
        return self.solo - self.pooled

    @property
    def on_goods(self) -> Decimal:
        return self.solo_goods - self.goods

    @property
    def on_shipping(self) -> Decimal:
        return self.solo_shipping - self.shipping


@dataclass(frozen=True)
class OriginShare:
    origin: Origin
    amount: Decimal
    share: Decimal  # a fraction of the total, 3 decimals


def origin_shares(amounts: dict[Origin, Decimal]) -> list[OriginShare]:
    """Spend per origin class, nearest first, with its share of the whole."""
    total = sum(amounts.values(), ZERO)
    return [
        OriginShare(
            o,
            amounts.get(o, ZERO),
            quantize(amounts.get(o, ZERO) / total, Decimal("0.001")) if total else ZERO,
        )
        for o in ORIGINS_NEAR_FIRST
    ]


@dataclass
class Statement:
    campaign: Campaign
    member: Member
    lines: list[StatementLine]
    fee: Decimal
    charge_shares: list[tuple[Charge, Decimal]]  # this shop's share of each charge
    goods: Decimal = ZERO
    shipping: Decimal = ZERO
    charges: Decimal = ZERO
    solo: Decimal = ZERO  # the needs compared, each bought alone
    pooled: Decimal = ZERO  # the same needs: goods + shipping share
    by_origin: list[OriginShare] = field(default_factory=list)
    saved: Savings = field(default_factory=Savings)  # solo against pooled, goods and shipping

    @property
    def subtotal(self) -> Decimal:
        return self.goods + self.shipping + self.charges

    @property
    def requested_units(self) -> int:
        return sum(line.requested for line in self.lines)

    @property
    def served_units(self) -> int:
        """Requested units served: received once known, allocated until then."""
        return sum(
            min(line.allocated if line.received is None else line.received, line.requested)
            for line in self.lines
        )

    @property
    def total(self) -> Decimal:
        """Excl. VAT: goods, shipping, other charges and the coop's fee."""
        return self.subtotal + self.fee

    @property
    def savings(self) -> Decimal:
        return self.solo - self.pooled

    @property
    def is_estimate(self) -> bool:
        return any(line.item.is_estimate for line in self.lines if line.item.units)

    @property
    def has_short(self) -> bool:
        return any(line.item.is_short for line in self.lines)


def statement_of(cs: CampaignSplit, member: Member) -> Statement:
    """A shop's statement from the campaign's split: its lines, fee, savings and origins."""
    lines, by_origin = [], defaultdict(lambda: ZERO)
    per_charge: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for item in cs.items:
        if item.need.member_id != member.id:
            continue
        cost = cs.cost(item.need.id)
        line = (
            StatementLine(item, cost.goods, cost.shipping, cost.other_charges)
            if cost
            else (StatementLine(item, ZERO, ZERO, ZERO))
        )
        lines.append(line)
        if cost:
            by_origin[item.origin] += line.total
            for charge_id, share in cost.charges.items():
                per_charge[charge_id] += share
    statement = Statement(
        cs.campaign,
        member,
        lines,
        cs.split.fees.get(member.code, ZERO),
        [(c, per_charge[c.id]) for c in cs.charges if c.id in per_charge],
    )
    for line in lines:
        statement.goods += line.goods
        statement.shipping += line.shipping
        statement.charges += line.charges
        if line.savings is not None:
            statement.solo += line.item.solo
            statement.pooled += line.goods + line.shipping
            statement.saved.add(line.item, line.goods, line.shipping)
    statement.by_origin = origin_shares(by_origin)
    return statement


def member_statement(campaign: Campaign, member: Member) -> Statement:
    """A shop's statement for a pooled (or later) campaign."""
    ensure_pooled(campaign)
    return statement_of(build_split(campaign, member=member), member)


def statement_members(campaign: Campaign) -> list[Member]:
    """The shops with needs in the campaign, by name: the staff's selector."""
    return sorted_by_name(
        db.session.scalars(
            select(Member)
            .where(Member.id.in_(select(Need.member_id).where(Need.campaign_id == campaign.id)))
            .order_by(Member.code)
        )
    )


def ensure_pooled(campaign: Campaign) -> None:
    if campaign.status not in POOLED_OR_LATER:
        raise DomainError(
            f"La campagne {campaign.code} n'est pas encore mutualisée : le relevé et les "
            "résultats existent une fois les commandes groupées préparées."
        )


CSV_HEADER = [
    "Référence",
    "SKU",
    "Désignation",
    "Fournisseur",
    "Origine",
    "Demandé",
    "Attribué",
    "Reçu",
    "Prix unitaire HT",
    "Marchandises HT",
    "Part du port HT",
    "Autres frais HT",
    "Total HT",
    "Seul HT",
    "Économie",
    "Estimation",
]


def _fr(value: Decimal | None) -> str:
    """A decimal with a comma, no thousands separator: what French Excel reads as a number."""
    return "" if value is None else Figure(f"{value:f}".replace(".", ","))


def statement_rows(statement: Statement) -> list[list]:
    """The statement as CSV rows (French: decimal comma), the header first, totals last."""
    rows = [CSV_HEADER]
    for line in statement.lines:
        item, served = line.item, bool(line.item.units)
        rows.append(
            [
                line.need.ref,
                line.need.part.sku,
                line.need.part.name,
                item.supplier.name if served else "",
                ORIGIN_LABELS[item.origin] if served else "",
                line.requested,
                line.allocated,
                "" if line.received is None else line.received,
                _fr(line.unit_price),
                _fr(line.goods),
                _fr(line.shipping),
                _fr(line.charges),
                _fr(line.total),
                _fr(item.solo if line.savings is not None else None),
                _fr(line.savings),
                "oui" if item.is_estimate and served else "",
            ]
        )
    blank = [""] * 9
    rows.append(
        [
            "Sous-total",
            *blank[:8],
            _fr(statement.goods),
            _fr(statement.shipping),
            _fr(statement.charges),
            _fr(statement.subtotal),
            _fr(statement.solo),
            _fr(statement.savings),
            "",
        ]
    )
    rows.append(
        ["Frais de service de la coop", *blank[:8], "", "", "", _fr(statement.fee), "", "", ""]
    )
    rows.append(
        [
            "Total HT",
            *blank[:8],
            "",
            "",
            "",
            _fr(statement.total),
            "",
            "",
            "oui" if statement.is_estimate else "",
        ]
    )
    return rows


# --- the campaign's results -----------------------------------------------------------------
