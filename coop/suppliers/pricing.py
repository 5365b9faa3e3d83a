"""What an offer costs for a quantity, under spec/pooling.md's rules: pure functions.

All-units tiers: the price of the highest tier whose min_qty is reached applies
to every unit. A line is bought in whole packs, at least the MOQ and the lowest
tier's min_qty.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from coop.money import UNIT_PRICE, quantize

Tier = tuple[int, Decimal]  # (min_qty, unit_price)


def price_rises(tiers: Sequence[Tier]) -> list[Tier]:
    """The tiers dearer than the tier below them: a price should fall as quantities grow."""
    ordered = sorted(tiers)
    return [tier for below, tier in pairwise(ordered) if tier[1] > below[1]]


@dataclass(frozen=True, slots=True)
class Terms:
    """The plain values of one offer that pricing needs."""

    pack_size: int
    moq: int
    tiers: tuple[Tier, ...]  # sorted by min_qty, strictly increasing


@dataclass(frozen=True)
class Purchase:
    """Buying `needed` units: `bought` units (whole packs) at `unit_price` each."""

    needed: int
    bought: int
    unit_price: Decimal
    amount: Decimal

    @property
    def cost_per_needed_unit(self) -> Decimal:
        """What each unit actually needed costs, surplus of the last pack included."""
        return quantize(self.amount / self.needed, UNIT_PRICE)


def validate_tiers(tiers: Sequence[Tier]) -> list[str]:
    """Problems with a tier list, in French; empty when it is usable."""
    problems = []
    if not tiers:
        problems.append("au moins un palier de prix est nécessaire")
    previous = 0
    for min_qty, price in tiers:
        if min_qty < 1:
            problems.append(f"quantité minimale {min_qty} : doit être au moins 1")
        elif min_qty <= previous:
            problems.append(
                f"les paliers doivent avoir des quantités strictement croissantes ({min_qty} "
                f"après {previous})"
            )
        if price <= 0:
            problems.append(f"prix {price} au palier {min_qty} : doit être strictement positif")
        previous = max(previous, min_qty)
    return problems


def tier_for(quantity: int, tiers: Sequence[Tier]) -> Tier | None:
    """The tier an order line of `quantity` units reaches, or None below the lowest."""
    reached = None
    for tier in tiers:
        if tier[0] <= quantity:
            reached = tier
    return reached


def smallest_order(needed: int, terms: Terms) -> int:
    """The fewest units one can order to get `needed`: whole packs, MOQ, lowest tier."""
    floor = max(needed, terms.moq, terms.tiers[0][0] if terms.tiers else 1)
    packs = -(-floor // terms.pack_size)
    return packs * terms.pack_size


def buy(needed: int, terms: Terms) -> Purchase | None:
    """Buying at least `needed` units alone on these terms; None without tiers."""
    if needed < 1 or not terms.tiers:
        return None
    bought = smallest_order(needed, terms)
    _, price = tier_for(bought, terms.tiers)
    return Purchase(needed=needed, bought=bought, unit_price=price, amount=quantize(price * bought))


def premium_percent(price: Decimal, reference: Decimal) -> Decimal:
    """How much dearer `price` is than `reference`, in percent, to one decimal."""
    return quantize((price - reference) * 100 / reference, Decimal("0.1"))


def typed_price(price: Decimal | None) -> str:
    """A stored unit price as a person would type it, in French: `16,80`, `2,4375`."""
    if price is None:
        return ""
    cents = price.quantize(Decimal("0.01"))
    shown = cents if cents == price else price.normalize()
    return f"{shown:f}".replace(".", ",")
