"""Splitting a pooled cost back onto the needs it served (spec/pooling.md): pure."""

from collections.abc import Mapping
from decimal import Decimal

from coop.money import allocate


def shipping_shares(goods: Mapping[int, Decimal], fee: Decimal) -> dict[int, Decimal]:
    """A supplier's charged fee over the needs it serves, pro rata to their goods.

    Whole cents by the largest remainder method, ties by need id: the shares add
    up to the fee exactly.
    """
    ids = sorted(goods)
    return dict(zip(ids, allocate(fee, [goods[i] for i in ids]), strict=True))
