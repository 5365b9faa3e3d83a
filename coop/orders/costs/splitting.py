"""A campaign's cost split read from the database, each shop's statement and the results.

The split is spec/pooling.md's "Splitting the cost onto members", computed by
coop.orders.cost_split on what each need actually got: the units it received
once anything of its order line has arrived, else the units allocated (an
estimate, flagged as such). Cancelled orders deliver and charge nothing.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from coop.accounts.models import Member
from coop.csv_export import Figure
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.i18n import sorted_by_name
from coop.invoicing.models import Invoice
from coop.money import quantize
from coop.orders.cost_split import (
    ZERO,
    ChargeIn,
    Delivered,
    MissingWeight,
    Split,
    SplitKey,
    split_costs,
)
from coop.orders.models import (
    Allocation,
    Campaign,
    CampaignStatus,
    Charge,
    Need,
    OrderLine,
    OrderStatus,
    PoolingRun,
    PurchaseOrder,
    SplitAmount,
    SplitShare,
)
from coop.orders.needs import lock_campaign
from coop.suppliers.models import Offer, Part, Supplier
from coop.suppliers.origin import ORIGINS_NEAR_FIRST, Origin

POOLED_OR_LATER = (
    CampaignStatus.POOLED,
    CampaignStatus.ORDERED,
    CampaignStatus.RECEIVED,
    CampaignStatus.INVOICED,
    CampaignStatus.ARCHIVED,
)
# Charges and the shipping key change until the shops are invoiced: an invoice never changes.
CHARGEABLE = (CampaignStatus.POOLED, CampaignStatus.ORDERED, CampaignStatus.RECEIVED)
KEY_LABELS = {
    SplitKey.VALUE: "au prorata de la valeur des marchandises",
    SplitKey.QUANTITY: "au prorata des quantités",
    SplitKey.WEIGHT: "au prorata du poids",
}
HISTORY_CAMPAIGNS = 12
MAX_CHARGE = Decimal("1000000")


class UnbalancedSplit(RuntimeError):
    """Shares that do not add up to the amount they split: a bug, never a user error."""


# --- the split --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One need of the campaign and what it got (nothing when unserved)."""

    need: Need
    allocation: Allocation | None
    units: int  # received, or allocated while nothing of its line has arrived
    is_estimate: bool
    solo: Decimal | None  # the committed plan's cost of the need bought alone
    solo_shipping: Decimal | None = None  # the supplier's fee in it (unknown in older plans)

    @property
    def line(self) -> OrderLine | None:
        return self.allocation.line if self.allocation else None

    @property
    def is_cancelled(self) -> bool:
        return self.line is not None and self.line.order.status is OrderStatus.CANCELLED

    @property
    def supplier(self) -> Supplier | None:
        return self.line.order.supplier if self.line else None

    @property
    def origin(self) -> Origin | None:
        return self.line.offer.origin if self.line else None

    @property
    def is_short(self) -> bool:
        """Received fewer units than allocated."""
        return (
            self.allocation is not None
            and self.allocation.received is not None
            and self.allocation.received < self.allocation.quantity
        )


@dataclass
class CampaignSplit:
    campaign: Campaign
    items: list[Item]  # every need of the campaign, oldest first
    split: Split
    shipping_fees: dict[str, Decimal]  # charged, by supplier code
    charges: list[Charge]

    @property
    def is_estimate(self) -> bool:
        return any(item.is_estimate for item in self.items if item.units)

    def cost(self, need_id: int):
        return self.split.needs.get(need_id)


Solo = tuple[Decimal | None, Decimal | None]  # a need's cost bought alone, its shipping part


def _money_or_none(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _solo_by_need(campaign_ids: Sequence[int]) -> dict[int, Solo]:
    """Each need's cost bought alone, from its campaign's latest committed plan: one query."""
    latest = (
        select(PoolingRun.campaign_id, func.max(PoolingRun.committed_at).label("at"))
        .where(PoolingRun.campaign_id.in_(campaign_ids), PoolingRun.committed_at.is_not(None))
        .group_by(PoolingRun.campaign_id)
        .subquery()
    )
    runs = db.session.scalars(
        select(PoolingRun).join(
            latest,
            (PoolingRun.campaign_id == latest.c.campaign_id)
            & (PoolingRun.committed_at == latest.c.at),
        )
    )
    return {
        d["need"]: (_money_or_none(d.get("solo")), _money_or_none(d.get("solo_shipping")))
        for run in runs
        for d in run.result["allocations"]
    }


def _items_of(campaign_ids: Sequence[int], member: Member | None = None) -> dict[int, list[Item]]:
    """Every need of the campaigns (only `member`'s when given) and what it got, by campaign."""
    query = (
        select(Need)
        .where(Need.campaign_id.in_(campaign_ids))
        .options(
            selectinload(Need.part),
            selectinload(Need.member),
            selectinload(Need.allocation)
            .selectinload(Allocation.line)
            .options(
                selectinload(OrderLine.order).selectinload(PurchaseOrder.supplier),
                selectinload(OrderLine.offer).selectinload(Offer.supplier),
            ),
        )
        .order_by(Need.created_at, Need.id)
    )
    if member is not None:
        query = query.where(Need.member_id == member.id)
    solo = _solo_by_need(campaign_ids)
    items: dict[int, list[Item]] = {campaign_id: [] for campaign_id in campaign_ids}
    for need in db.session.scalars(query):
        allocation = need.allocation
        alone = solo.get(need.id, (None, None))
        if allocation is None or allocation.line.order.status is OrderStatus.CANCELLED:
            item = Item(need, allocation, 0, False, *alone)
        elif allocation.received is None:
            item = Item(need, allocation, allocation.quantity, True, *alone)
        else:
            item = Item(need, allocation, allocation.received, False, *alone)
        items[need.campaign_id].append(item)
    return items


def _items(campaign: Campaign, member: Member | None = None) -> list[Item]:
    return _items_of([campaign.id], member)[campaign.id]


def _delivered(items: Sequence[Item]) -> list[Delivered]:
    return [
        Delivered(
            need=item.need.id,
            member=item.need.member.code,
            supplier=item.supplier.code,
            units=item.units,
            unit_price=item.line.unit_price,
            weight_g=item.need.part.weight_g,
        )
        for item in items
        if item.units
    ]


def _charges_in(charges: Sequence[Charge]) -> list[ChargeIn]:
    return [
        ChargeIn(
            id=c.id, amount=c.amount, key=c.key, supplier=c.supplier.code if c.supplier else None
        )
        for c in charges
    ]


def _charges_of(campaign_ids: Sequence[int]) -> dict[int, list[Charge]]:
    found: dict[int, list[Charge]] = {campaign_id: [] for campaign_id in campaign_ids}
    for charge in db.session.scalars(
        select(Charge)
        .where(Charge.campaign_id.in_(campaign_ids))
        .options(selectinload(Charge.supplier))
        .order_by(Charge.created_at, Charge.id)
    ):
        found[charge.campaign_id].append(charge)
    return found


def campaign_charges(campaign: Campaign) -> list[Charge]:
    return _charges_of([campaign.id])[campaign.id]


def _fees_of(campaign_ids: Sequence[int]) -> dict[int, dict[str, Decimal]]:
    orders = db.session.scalars(
        select(PurchaseOrder)
        .where(
            PurchaseOrder.campaign_id.in_(campaign_ids),
            PurchaseOrder.status != OrderStatus.CANCELLED,
        )
        .options(selectinload(PurchaseOrder.supplier))
    )
    fees: dict[int, dict[str, Decimal]] = {campaign_id: {} for campaign_id in campaign_ids}
    for order in orders:
        by_supplier = fees[order.campaign_id]
        by_supplier[order.supplier.code] = by_supplier.get(order.supplier.code, ZERO) + (
            order.shipping_fee
        )
    return fees


def charged_fees(campaign: Campaign) -> dict[str, Decimal]:
    """Each supplier's shipping fee actually charged: cancelled orders charge nothing."""
    return _fees_of([campaign.id])[campaign.id]


def build_split(
    campaign: Campaign,
    *,
    charges: Sequence[ChargeIn] | None = None,
    shipping_key: SplitKey | None = None,
) -> CampaignSplit:
    """The campaign's cost split as the database has it (or with `charges`/`shipping_key` tried).

    Refused with the parts to fix when a weight key meets parts without a weight.
    """
    ids = [campaign.id]
    return _split(
        campaign,
        _items_of(ids)[campaign.id],
        _fees_of(ids)[campaign.id],
        campaign_charges(campaign),
        charges,
        shipping_key,
    )


def build_splits(campaigns: Sequence[Campaign]) -> dict[int, CampaignSplit | DomainError]:
    """Several campaigns' cost splits in a fixed number of queries, or why one cannot be made."""
    ids = [c.id for c in campaigns]
    items, fees, rows = _items_of(ids), _fees_of(ids), _charges_of(ids)
    splits: dict[int, CampaignSplit | DomainError] = {}
    for c in campaigns:
        try:
            splits[c.id] = _split(c, items[c.id], fees[c.id], rows[c.id])
        except DomainError as error:
            splits[c.id] = error
    return splits


def _split(
    campaign: Campaign,
    items: list[Item],
    fees: dict[str, Decimal],
    rows: list[Charge],
    charges: Sequence[ChargeIn] | None = None,
    shipping_key: SplitKey | None = None,
) -> CampaignSplit:
    delivered = _delivered(items)
    tried = _charges_in(rows) if charges is None else list(charges)
    try:
        split = split_costs(
            delivered,
            fees,
            tried,
            fee_rate=campaign.fee_rate,
            shipping_key=shipping_key or campaign.shipping_key,
        )
    except MissingWeight as error:
        needs = set(error.args[0])
        parts = sorted({i.need.part.sku for i in items if i.need.id in needs})
        raise DomainError(
            "Répartition au poids impossible : le poids de ces pièces n'est pas renseigné "
            f"dans le catalogue : {', '.join(parts)}.",
            field="key",
        ) from None
    except ValueError as error:
        raise DomainError(_explain(str(error))) from None
    verify_split(split, delivered, fees, tried)
    return CampaignSplit(campaign, items, split, fees, rows)


def _explain(problem: str) -> str:
    """cost_split's refusals, in words the manager can act on."""
    if problem.startswith("shipping fee of"):
        supplier = problem.split()[3]
        return (
            f"Des frais de port sont facturés par {supplier} mais rien n'a été reçu de ce "
            "fournisseur : corrigez la réception ou les frais du bon de commande."
        )
    return (
        "Un frais concerne un fournisseur dont rien n'a été reçu : rattachez-le à toute "
        "la campagne ou supprimez-le."
    )


def verify_split(
    split: Split,
    delivered: Sequence[Delivered],
    shipping_fees: dict[str, Decimal],
    charges: Sequence[ChargeIn],
) -> None:
    """Assert every fee and every charge is shared out to the cent, and goods are per line.

    Called on every split built: what shops are billed must add up to what the coop pays.
    """
    supplier_of = {item.need: item.supplier for item in delivered}
    for item in delivered:
        if item.units and split.needs[item.need].goods != item.goods:
            raise UnbalancedSplit(f"need {item.need}: goods differ from units × unit price")
    shipped: dict[str, Decimal] = defaultdict(lambda: ZERO)
    charged: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for need, cost in split.needs.items():
        shipped[supplier_of[need]] += cost.shipping
        for charge_id, share in cost.charges.items():
            charged[charge_id] += share
    for supplier in set(shipped) | set(shipping_fees):
        fee = shipping_fees.get(supplier, ZERO)
        if shipped[supplier] != fee:
            raise UnbalancedSplit(f"{supplier}: shipping shares {shipped[supplier]} != fee {fee}")
    for charge in charges:
        if charged[charge.id] != charge.amount:
            raise UnbalancedSplit(
                f"charge {charge.id}: shares {charged[charge.id]} != amount {charge.amount}"
            )


# --- the stored split, checked by the database -----------------------------------------------
# From the moment a campaign is received until it is invoiced, the stored split is rewritten
# whenever it can change (charges, the shipping key); the database refuses every fee and
# charge row whose shares do not add up to it to the cent (triggers, see the migration).


def store_split(campaign: Campaign) -> None:
    """Rewrite the campaign's stored split from its current data."""
    cs = build_split(campaign)
    # Amounts first: while one exists its shares may not move (database triggers).
    db.session.execute(delete(SplitAmount).where(SplitAmount.campaign_id == campaign.id))
    db.session.execute(delete(SplitShare).where(SplitShare.campaign_id == campaign.id))
    shares, amounts = [], []
    supplier_of = {item.need.id: item.supplier.code for item in cs.items if item.units}
    for supplier, fee in cs.shipping_fees.items():
        source = f"shipping:{supplier}"
        amounts.append({"campaign_id": campaign.id, "source": source, "amount": fee})
        shares += [
            {"campaign_id": campaign.id, "source": source, "need_id": need, "amount": cost.shipping}
            for need, cost in cs.split.needs.items()
            if supplier_of.get(need) == supplier
        ]
    for charge in cs.charges:
        source = f"charge:{charge.id}"
        amounts.append({"campaign_id": campaign.id, "source": source, "amount": charge.amount})
        shares += [
            {
                "campaign_id": campaign.id,
                "source": source,
                "need_id": need,
                "amount": cost.charges[charge.id],
            }
            for need, cost in cs.split.needs.items()
            if charge.id in cost.charges
        ]
    if shares:
        db.session.execute(SplitShare.__table__.insert(), shares)
    for amount in amounts:  # one by one: the trigger checks each against its shares
        db.session.execute(SplitAmount.__table__.insert(), [amount])


def refresh_stored_split(campaign: Campaign) -> None:
    """Keep the stored split current while the campaign is received and not yet invoiced."""
    if campaign.status is CampaignStatus.RECEIVED:
        store_split(campaign)


# --- a shop's statement -------------------------------------------------------------------


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
    return statement_of(build_split(campaign), member)


def statement_members(campaign: Campaign) -> list[Member]:
    """The shops with needs in the campaign, by name: the staff's selector."""
    return sorted_by_name(
        db.session.scalars(
            select(Member)
            .where(Member.id.in_(select(Need.member_id).where(Need.campaign_id == campaign.id)))
            .order_by(Member.code)
        )
    )


def find_member(code: str) -> Member:
    member = db.session.scalar(select(Member).where(Member.code == code.strip().upper()))
    if member is None:
        raise NotFound(f"Atelier {code} introuvable.")
    return member


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
ORIGIN_LABELS = {
    Origin.LOCAL: "Local",
    Origin.FRANCE: "France",
    Origin.EUROPE: "Europe",
    Origin.ASIA: "Asie",
    Origin.OTHER: "Autre",
}


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


def ensure_chargeable(campaign: Campaign) -> None:
    if campaign.status not in CHARGEABLE:
        if campaign.status in (CampaignStatus.INVOICED, CampaignStatus.ARCHIVED):
            raise DomainError(
                f"La campagne {campaign.code} est facturée : ses frais ne changent plus. "
                "Corrigez par un avoir."
            )
        raise DomainError(
            f"La campagne {campaign.code} n'est pas encore mutualisée : les frais "
            "s'ajoutent une fois les commandes groupées préparées."
        )
    if db.session.scalar(select(Invoice.id).where(Invoice.campaign_id == campaign.id).limit(1)):
        # Some shops hold invoices issued on the current split: it must not move under them.
        raise DomainError(
            f"La facturation de la campagne {campaign.code} a commencé : ses frais ne "
            "changent plus. Corrigez par un avoir."
        )


def campaign_suppliers(campaign: Campaign) -> list[Supplier]:
    """The suppliers of the campaign's orders still standing, by name."""
    return sorted_by_name(
        db.session.scalars(
            select(Supplier)
            .where(
                Supplier.id.in_(
                    select(PurchaseOrder.supplier_id).where(
                        PurchaseOrder.campaign_id == campaign.id,
                        PurchaseOrder.status != OrderStatus.CANCELLED,
                    )
                )
            )
            .order_by(Supplier.code)
        )
    )


def campaign_supplier(campaign: Campaign, supplier_id: str | None) -> Supplier | None:
    """The supplier a charge concerns, from the form's choice; None for the whole campaign."""
    if not supplier_id:
        return None
    found = {str(s.id): s for s in campaign_suppliers(campaign)}.get(str(supplier_id))
    if found is None:
        raise DomainError(
            "Ce fournisseur ne livre rien dans cette campagne : choisissez un de ses "
            "fournisseurs, ou toute la campagne.",
            field="supplier",
        )
    return found


@dataclass(frozen=True)
class ChargeTerms:
    label: str
    amount: Decimal
    key: SplitKey = SplitKey.VALUE
    supplier: Supplier | None = None


def _checked_terms(campaign: Campaign, terms: ChargeTerms) -> ChargeTerms:
    label = (terms.label or "").strip()
    if not label:
        raise DomainError("Donnez un libellé au frais (douane, coursier, palette…).", field="label")
    if len(label) > 200:
        raise DomainError("Libellé trop long : 200 caractères au plus.", field="label")
    amount = terms.amount
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise DomainError("Montant attendu, en euros.", field="amount")
    if quantize(amount) != amount:
        raise DomainError("Le montant se donne au centime près.", field="amount")
    if amount == 0:
        raise DomainError("Un frais de 0 € ne change rien : indiquez son montant.", field="amount")
    if abs(amount) >= MAX_CHARGE:
        raise DomainError("Montant hors de proportion : vérifiez-le.", field="amount")
    try:
        key = SplitKey(terms.key)
    except ValueError:
        raise DomainError("Clé de répartition inconnue.", field="key") from None
    supplier = terms.supplier
    if supplier is not None and supplier.id not in {s.id for s in campaign_suppliers(campaign)}:
        raise DomainError(
            f"{supplier.name} ne livre rien dans cette campagne : choisissez un de ses "
            "fournisseurs, ou toute la campagne.",
            field="supplier",
        )
    return ChargeTerms(label, quantize(amount), key, supplier)


def _try(campaign: Campaign, charges: list[ChargeIn]) -> None:
    """Refuse a change whose split cannot be made: nothing is written before this passes."""
    build_split(campaign, charges=charges)


def add_charge(campaign: Campaign, terms: ChargeTerms) -> Charge:
    """Add a charge to a pooled, not yet invoiced campaign, shared by its key."""
    lock_campaign(campaign)
    ensure_chargeable(campaign)
    terms = _checked_terms(campaign, terms)
    existing = _charges_in(campaign_charges(campaign))
    candidate = ChargeIn(
        id=0,
        amount=terms.amount,
        key=terms.key,
        supplier=terms.supplier.code if terms.supplier else None,
    )
    _try(campaign, [*existing, candidate])
    charge = Charge(
        campaign_id=campaign.id,
        label=terms.label,
        amount=terms.amount,
        key=terms.key,
        supplier=terms.supplier,
    )
    db.session.add(charge)
    db.session.flush()
    refresh_stored_split(campaign)
    return charge


def update_charge(charge: Charge, terms: ChargeTerms) -> None:
    """Change a charge's label, amount, key or supplier until the campaign is invoiced."""
    campaign = charge.campaign
    lock_campaign(campaign)
    ensure_chargeable(campaign)
    terms = _checked_terms(campaign, terms)
    tried = [
        c
        if c.id != charge.id
        else ChargeIn(
            id=c.id,
            amount=terms.amount,
            key=terms.key,
            supplier=terms.supplier.code if terms.supplier else None,
        )
        for c in _charges_in(campaign_charges(campaign))
    ]
    _try(campaign, tried)
    charge.label, charge.amount, charge.key = terms.label, terms.amount, terms.key
    charge.supplier = terms.supplier
    db.session.flush()
    refresh_stored_split(campaign)


def delete_charge(charge: Charge) -> None:
    """Remove a charge until the campaign is invoiced."""
    lock_campaign(charge.campaign)
    ensure_chargeable(charge.campaign)
    db.session.delete(charge)
    db.session.flush()
    refresh_stored_split(charge.campaign)


def set_shipping_key(campaign: Campaign, key: str) -> None:
    """Change how shipping fees are shared, from the pooling until the shops are invoiced."""
    lock_campaign(campaign)
    ensure_chargeable(campaign)
    try:
        key = SplitKey(key)
    except ValueError:
        raise DomainError("Clé de répartition inconnue.", field="key") from None
    build_split(campaign, shipping_key=key)
    campaign.shipping_key = key
    db.session.flush()
    refresh_stored_split(campaign)


def get_charge(campaign: Campaign, charge_id: int) -> Charge:
    charge = db.session.get(Charge, charge_id)
    if charge is None or charge.campaign_id != campaign.id:
        raise NotFound("Frais introuvable.")
    return charge


def charge_shares(cs: CampaignSplit) -> dict[int, list[tuple[Member, Decimal]]]:
    """Each charge's shares per shop (shops by name), for the charges page."""
    per: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    members: dict[int, Member] = {}
    for item in cs.items:
        cost = cs.cost(item.need.id)
        if cost is None:
            continue
        members[item.need.member_id] = item.need.member
        for charge_id, share in cost.charges.items():
            per[charge_id][item.need.member_id] += share
    return {
        charge_id: sorted(
            ((members[m], amount) for m, amount in shares.items()),
            key=lambda pair: (pair[0].name.casefold(), pair[0].code),
        )
        for charge_id, shares in per.items()
    }


def parts_without_weight(cs: CampaignSplit) -> list[Part]:
    """Parts delivered in the campaign whose weight is unknown (a weight key needs them)."""
    parts = {
        i.need.part.id: i.need.part for i in cs.items if i.units and i.need.part.weight_g is None
    }
    return sorted(parts.values(), key=lambda p: p.sku)
