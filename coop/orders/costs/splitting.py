"""A campaign's cost split read from the database: built, checked and stored.

The split is spec/pooling.md's "Splitting the cost onto members", computed by
coop.orders.pooling.cost_split on what each need actually got: the units it received
once anything of its order line has arrived, else the units allocated (an
estimate, flagged as such). Cancelled orders deliver and charge nothing.
"""

import json
import threading
from collections import defaultdict
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import Text, cast, delete, func, select
from sqlalchemy.orm import joinedload, selectinload

from coop.accounts.models import Member
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.campaigns.models import Campaign, CampaignStatus, Need
from coop.orders.campaigns.rules import SplitKey
from coop.orders.costs import versions
from coop.orders.costs.models import Charge, SplitAmount, SplitShare
from coop.orders.pooling.cost_split import (
    ZERO,
    ChargeIn,
    Delivered,
    MissingWeight,
    Split,
    split_costs,
)
from coop.orders.pooling.models import PoolingRun
from coop.orders.pooling.plan import decisions_of
from coop.orders.purchasing.models import Allocation, OrderLine, OrderStatus, PurchaseOrder
from coop.suppliers.models import Offer, Part, Supplier
from coop.suppliers.origin import Origin

POOLED_OR_LATER = (
    CampaignStatus.POOLED,
    CampaignStatus.ORDERED,
    CampaignStatus.RECEIVED,
    CampaignStatus.INVOICED,
    CampaignStatus.ARCHIVED,
)


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
    items: list[Item]  # every need of the campaign (or one shop's), oldest first
    split: Split
    shipping_fees: dict[str, Decimal]  # charged, by supplier code
    charges: list[Charge]

    @property
    def is_estimate(self) -> bool:
        return any(item.is_estimate for item in self.items if item.units)

    def cost(self, need_id: int):
        return self.split.needs.get(need_id)


Solo = tuple[Decimal | None, Decimal | None]  # a need's cost bought alone, its shipping part


# The solo costs of the latest committed plans, by run, with the version of the plan they were
# read from: a plan of 15,000 needs is 2 MB of JSON that takes 40 ms to decode (and the
# database 15 ms to send), for a shop's home that shows its own dozen. Per process, bounded;
# a plan stored anew has a new version (PoolingRun.result_version) and is read anew.
_SOLO: dict[int, tuple[str, dict[int, Solo]]] = {}
_SOLO_LOCK = threading.Lock()
SOLO_KEPT = 8


def _solo_by_need(campaign_ids: Sequence[int], needs: set[int] | None = None) -> dict[int, Solo]:
    """Each need's cost bought alone (only `needs`' when given), from its campaign's latest
    committed plan: one query, and one more for the plans not kept at their version."""
    latest = (
        select(PoolingRun.campaign_id, func.max(PoolingRun.committed_at).label("at"))
        .where(PoolingRun.campaign_id.in_(campaign_ids), PoolingRun.committed_at.is_not(None))
        .group_by(PoolingRun.campaign_id)
        .subquery()
    )
    runs = db.session.execute(
        select(PoolingRun.id, PoolingRun.result_version).join(
            latest,
            (PoolingRun.campaign_id == latest.c.campaign_id)
            & (PoolingRun.committed_at == latest.c.at),
        )
    ).all()
    versions = {run_id: version for run_id, version in runs if version is not None}
    with _SOLO_LOCK:
        kept = {run_id: _SOLO.get(run_id) for run_id in versions}
    stale = [
        run_id for run_id, version in versions.items() if (kept[run_id] or ("",))[0] != version
    ]
    if stale:
        for run_id, version, text in db.session.execute(
            select(PoolingRun.id, PoolingRun.result_version, cast(PoolingRun.result, Text)).where(
                PoolingRun.id.in_(stale)
            )
        ):
            plan = json.loads(text) if text is not None else None
            solo = {d.need: (d.solo, d.solo_shipping) for d in decisions_of(plan)} if plan else {}
            kept[run_id] = (version, solo)
            with _SOLO_LOCK:
                _SOLO.pop(run_id, None)
                if len(_SOLO) >= SOLO_KEPT:  # the oldest reading goes
                    _SOLO.pop(next(iter(_SOLO)))
                _SOLO[run_id] = (version, solo)
    found: dict[int, Solo] = {}
    for entry in kept.values():
        if entry is None:  # the run was deleted meanwhile
            continue
        solo = entry[1]
        if needs is None:
            found.update(solo)
        else:
            found.update((need, solo[need]) for need in needs if need in solo)
    return found


def _items_of(campaign_ids: Sequence[int], member: Member | None = None) -> dict[int, list[Item]]:
    """Every need of the campaigns (only `member`'s when given) and what it got, by campaign.

    Whole objects, for the pages that show them: a campaign of 1,000 shops is 15,000 needs,
    their parts, allocations, lines, orders and offers. The split itself reads plain rows
    (`_delivered_of`).
    """
    # A shop's dozen needs: one query, joined to the one part, allocation, line, order and
    # offer each has (a shop's home reads them on every view). Every need of a campaign: a
    # query per relation, so that rows do not repeat the same parts and suppliers 15,000 times.
    load = joinedload if member is not None else selectinload
    query = (
        select(Need)
        .where(Need.campaign_id.in_(campaign_ids))
        .options(
            load(Need.part),
            load(Need.member),
            load(Need.allocation).options(
                load(Allocation.line).options(
                    load(OrderLine.order).options(load(PurchaseOrder.supplier)),
                    load(OrderLine.offer).options(load(Offer.supplier)),
                )
            ),
        )
        .order_by(Need.created_at, Need.id)
    )
    if member is not None:
        query = query.where(Need.member_id == member.id)
    needs = db.session.scalars(query).all()
    solo = _solo_by_need(campaign_ids, {need.id for need in needs} if member else None)
    items: dict[int, list[Item]] = {campaign_id: [] for campaign_id in campaign_ids}
    for need in needs:
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


@dataclass(frozen=True, eq=False)
class Deliveries:
    """What every need of a campaign got, as the split reads it, and the parts to name.

    Compared and hashed by identity: one is kept for as long as its campaign's version does
    not change (`_delivered_of`), so the split computed from it is found again by it.
    """

    delivered: tuple[Delivered, ...]  # the needs that got units, oldest first
    sku: dict[int, str]  # by need


def _deliveries_query(campaign_ids: Sequence[int]):
    """Each need's campaign, member, supplier, units allocated and received, unit price and
    part, for the needs that have an allocation on an order not cancelled: oldest first."""
    return (
        select(
            Need.campaign_id,
            Need.id,
            Member.code,
            Supplier.code,
            Allocation.quantity,
            Allocation.received,
            OrderLine.unit_price,
            Part.weight_g,
            Part.sku,
        )
        .join(Need.member)
        .join(Need.part)
        .join(Need.allocation)
        .join(Allocation.line)
        .join(OrderLine.order)
        .join(PurchaseOrder.supplier)
        .where(Need.campaign_id.in_(campaign_ids), PurchaseOrder.status != OrderStatus.CANCELLED)
        .order_by(Need.created_at, Need.id)
    )


# The latest deliveries read, by campaign, with the campaign's version they were read at
# (coop.orders.costs.versions): a campaign of 1,000 shops has 15,000 of them, which the
# database takes some 35 ms to join; the split kept for the same deliveries
# (`_computed_split`) is found without hashing them. Per process, bounded.
_DELIVERIES: dict[int, tuple[str, Deliveries]] = {}
_DELIVERIES_LOCK = threading.Lock()  # a worker's threads share them
DELIVERIES_KEPT = 8


def _delivered_of(campaign_ids: Sequence[int]) -> dict[int, Deliveries]:
    """What each need of the campaigns got, by campaign.

    The units it received once anything of its line has arrived, else the units allocated;
    nothing from a cancelled order. Oldest need first, as the items. Kept at the campaign's
    version, except the campaigns this transaction changed, read from their rows until it
    ends.
    """
    session = db.session()
    if session.autoflush:  # as a query through the session would
        session.flush()
    changed = versions.touched(session)
    current = {} if versions.EVERY in changed else versions.versions(session, campaign_ids)
    found: dict[int, Deliveries] = {}
    with _DELIVERIES_LOCK:
        for campaign_id, version in current.items():
            kept = _DELIVERIES.get(campaign_id)
            if campaign_id not in changed and kept is not None and kept[0] == version:
                found[campaign_id] = kept[1]
    missing = [campaign_id for campaign_id in campaign_ids if campaign_id not in found]
    if missing:
        # Read after the versions: what is kept is never older than its version.
        made = _deliveries(missing)
        found.update(made)
        with _DELIVERIES_LOCK:
            for campaign_id in missing:
                if campaign_id in changed or campaign_id not in current:
                    continue
                _DELIVERIES.pop(campaign_id, None)
                if len(_DELIVERIES) >= DELIVERIES_KEPT:  # the oldest reading goes
                    _DELIVERIES.pop(next(iter(_DELIVERIES)))
                _DELIVERIES[campaign_id] = (current[campaign_id], made[campaign_id])
    return found


def _deliveries(campaign_ids: Sequence[int]) -> dict[int, Deliveries]:
    """The campaigns' deliveries made from their rows, typed (prices as Decimal)."""
    delivered: dict[int, list[Delivered]] = {campaign_id: [] for campaign_id in campaign_ids}
    sku: dict[int, dict[int, str]] = {campaign_id: {} for campaign_id in campaign_ids}
    for (
        campaign_id,
        need,
        member,
        supplier,
        allocated,
        received,
        price,
        weight,
        part,
    ) in db.session.execute(_deliveries_query(campaign_ids)):
        units = allocated if received is None else received
        if units:
            delivered[campaign_id].append(Delivered(need, member, supplier, units, price, weight))
            sku[campaign_id][need] = part
    return {i: Deliveries(tuple(delivered[i]), sku[i]) for i in campaign_ids}


def charges_in(charges: Sequence[Charge]) -> list[ChargeIn]:
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
    member: Member | None = None,
    charges: Sequence[ChargeIn] | None = None,
    shipping_key: SplitKey | None = None,
) -> CampaignSplit:
    """The campaign's cost split as the database has it (or with `charges`/`shipping_key` tried).

    Its items are every need's, or only `member`'s: a shop's statement needs the whole
    split (shipping shares depend on every need) but shows its own lines alone.
    Refused with the parts to fix when a weight key meets parts without a weight.
    """
    ids = [campaign.id]
    return _split(
        campaign,
        _items_of(ids, member)[campaign.id],
        _delivered_of(ids)[campaign.id],
        _fees_of(ids)[campaign.id],
        campaign_charges(campaign),
        charges,
        shipping_key,
    )


def build_splits(
    campaigns: Sequence[Campaign], *, member: Member | None = None
) -> dict[int, CampaignSplit | DomainError]:
    """Several campaigns' cost splits in a fixed number of queries, or why one cannot be made.

    Their items are every need's, or only `member`'s (see `build_split`).
    """
    ids = [c.id for c in campaigns]
    items, delivered = _items_of(ids, member), _delivered_of(ids)
    fees, rows = _fees_of(ids), _charges_of(ids)
    splits: dict[int, CampaignSplit | DomainError] = {}
    for c in campaigns:
        try:
            splits[c.id] = _split(c, items[c.id], delivered[c.id], fees[c.id], rows[c.id])
        except DomainError as error:
            splits[c.id] = error
    return splits


def _split(
    campaign: Campaign,
    items: list[Item],
    deliveries: Deliveries,
    fees: dict[str, Decimal],
    rows: list[Charge],
    charges: Sequence[ChargeIn] | None = None,
    shipping_key: SplitKey | None = None,
) -> CampaignSplit:
    inputs = SplitInputs(
        deliveries,
        tuple(sorted(fees.items())),
        tuple(charges_in(rows) if charges is None else charges),
        campaign.fee_rate,
        shipping_key or campaign.shipping_key,
    )
    try:
        split = _computed_split(inputs)
    except MissingWeight as error:
        parts = sorted({deliveries.sku[need] for need in error.args[0]})
        raise DomainError(
            "Répartition au poids impossible : le poids de ces pièces n'est pas renseigné "
            f"dans le catalogue : {', '.join(parts)}.",
            field="key",
        ) from None
    except ValueError as error:
        raise DomainError(_explain(str(error))) from None
    return CampaignSplit(campaign, items, split, fees, rows)


@dataclass(frozen=True)
class SplitInputs:
    """Everything a split is computed from, as plain values."""

    deliveries: Deliveries  # by identity: kept as long as its rows do not change
    fees: tuple[tuple[str, Decimal], ...]  # by supplier code
    charges: tuple[ChargeIn, ...]
    fee_rate: Decimal
    shipping_key: SplitKey


# The latest splits, by their very inputs: a campaign of 1,000 shops (15,000 needs, 0.3 s of
# CPU to split) is split once for every shop's home and statement that reads it, and any
# change to what it reads is another key. A split is shared, so never changed once built.
@lru_cache(maxsize=8)
def _computed_split(inputs: SplitInputs) -> Split:
    fees = dict(inputs.fees)
    split = split_costs(
        inputs.deliveries.delivered,
        fees,
        inputs.charges,
        fee_rate=inputs.fee_rate,
        shipping_key=inputs.shipping_key,
    )
    verify_split(split, inputs.deliveries.delivered, fees, inputs.charges)
    return split


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


def store_received_split(campaign: Campaign) -> None:
    """Store the split of a campaign its last receipt (or cancellation) just settled.

    Called after the purchasing service, in its transaction. A split that cannot be made yet
    (a weight key over parts without weight) is stored once the manager fixes it: receiving
    goods must not wait for it.
    """
    if campaign.status is CampaignStatus.RECEIVED:
        with suppress(DomainError):
            store_split(campaign)


def refresh_stored_split(campaign: Campaign) -> None:
    """Keep the stored split current while the campaign is received and not yet invoiced."""
    if campaign.status is CampaignStatus.RECEIVED:
        store_split(campaign)


# --- a shop's statement -------------------------------------------------------------------
