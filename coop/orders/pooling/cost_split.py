"""Splitting a pooled cost back onto the needs it served (spec/pooling.md): pure.

Goods are each need's units at the line's unit price, rounded half-up to the
cent per need. A supplier's charged shipping fee, and every extra charge the
manager adds, is split over the needs it concerns in proportion to a key
(goods value by default, or units, or weight), in whole cents by the largest
remainder method with ties to the lower need id: the shares add up to the
amount exactly. The coop's fee is its rate times each shop's goods subtotal,
rounded half-up.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from coop.money import allocate, quantize
from coop.orders.campaigns.rules import SplitKey

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Delivered:
    """What one need got: its units from one supplier at the line's unit price."""

    need: int
    member: str
    supplier: str
    units: int
    unit_price: Decimal
    weight_g: int | None = None  # per unit

    @property
    def goods(self) -> Decimal:
        return quantize(self.unit_price * self.units)


@dataclass(frozen=True)
class ChargeIn:
    """An extra charge (customs, a courier, a pallet fee), on one supplier's needs or all."""

    id: int
    amount: Decimal
    key: SplitKey = SplitKey.VALUE
    supplier: str | None = None


@dataclass
class NeedCost:
    goods: Decimal = ZERO
    shipping: Decimal = ZERO
    charges: dict[int, Decimal] = field(default_factory=dict)  # by charge id

    @property
    def other_charges(self) -> Decimal:
        return sum(self.charges.values(), ZERO)

    @property
    def total(self) -> Decimal:
        return self.goods + self.shipping + self.other_charges


@dataclass
class Split:
    """Shared once built (coop.orders.costs.splitting keeps the latest): never change one."""

    needs: dict[int, NeedCost]
    fees: dict[str, Decimal]  # the coop's fee, by member


class MissingWeight(ValueError):
    """A weight key over parts whose weight is unknown."""


def weights(items: Sequence[Delivered], key: SplitKey) -> list[Decimal]:
    if key is SplitKey.VALUE:
        return [item.goods for item in items]
    if key is SplitKey.QUANTITY:
        return [Decimal(item.units) for item in items]
    unknown = [item.need for item in items if item.weight_g is None]
    if unknown:
        raise MissingWeight(unknown)
    return [Decimal(item.units * item.weight_g) for item in items]


def split_amount(amount: Decimal, items: Sequence[Delivered], key: SplitKey) -> dict[int, Decimal]:
    """`amount` over `items` pro rata to `key`, whole cents, ties to the lower need id."""
    ordered = sorted(items, key=lambda item: item.need)
    return dict(
        zip((item.need for item in ordered), allocate(amount, weights(ordered, key)), strict=True)
    )


def split_costs(
    delivered: Sequence[Delivered],
    shipping_fees: Mapping[str, Decimal],
    charges: Sequence[ChargeIn] = (),
    fee_rate: Decimal = Decimal(0),
    shipping_key: SplitKey = SplitKey.VALUE,
) -> Split:
    """Every need's goods, shipping share and charge shares, and each shop's coop fee.

    `shipping_fees` are the fees actually charged, by supplier; needs that got
    nothing carry no share. A charge on a supplier nobody received from is refused.
    """
    served = [item for item in delivered if item.units > 0]
    costs = {item.need: NeedCost(goods=item.goods) for item in served}
    by_supplier: dict[str, list[Delivered]] = defaultdict(list)
    for item in served:
        by_supplier[item.supplier].append(item)
    for supplier, fee in shipping_fees.items():
        if fee and not by_supplier.get(supplier):
            raise ValueError(f"shipping fee of {supplier} but nothing received from it")
        for need, share in split_amount(fee, by_supplier.get(supplier, []), shipping_key).items():
            costs[need].shipping = share
    for charge in charges:
        concerned = by_supplier.get(charge.supplier, []) if charge.supplier else served
        if not concerned:
            raise ValueError(f"charge {charge.id}: no need received anything it concerns")
        for need, share in split_amount(charge.amount, concerned, charge.key).items():
            costs[need].charges[charge.id] = share
    goods_by_member: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for item in served:
        goods_by_member[item.member] += item.goods
    fees = {member: quantize(fee_rate * goods) for member, goods in goods_by_member.items()}
    return Split(needs=costs, fees=fees)
