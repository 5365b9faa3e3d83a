"""The part page's figures: every offer side by side at a few quantities."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from coop.suppliers.models import Offer
from coop.suppliers.origin import Origin
from coop.suppliers.pricing import Purchase, Terms, buy, premium_percent

QUANTITIES = (1, 10, 50, 100)
NEAR = frozenset({Origin.LOCAL, Origin.FRANCE, Origin.EUROPE})


@dataclass(frozen=True)
class Best:
    offer: Offer
    purchase: Purchase


@dataclass(frozen=True)
class QuantityRow:
    """Buying `quantity` units alone: each offer's price, the best overall, near and Asian."""

    quantity: int
    purchases: list[Purchase | None]  # aligned with Comparison.offers
    cheapest: Best | None
    cheapest_near: Best | None
    cheapest_asia: Best | None

    @property
    def near_premium_percent(self) -> Decimal | None:
        """How much more the cheapest local/French/European offer costs than the cheapest Asian."""
        if self.cheapest_near is None or self.cheapest_asia is None:
            return None
        return premium_percent(
            self.cheapest_near.purchase.cost_per_needed_unit,
            self.cheapest_asia.purchase.cost_per_needed_unit,
        )


@dataclass(frozen=True)
class Comparison:
    offers: list[Offer]  # usable offers first, nearest origin first
    usable: list[bool]
    rows: list[QuantityRow]

    @property
    def columns(self) -> list[tuple[int, Offer]]:
        """The usable offers with their position in each row's purchases."""
        return [(i, o) for i, o in enumerate(self.offers) if self.usable[i]]


def terms_of(offer: Offer) -> Terms:
    return Terms(
        pack_size=offer.pack_size,
        moq=offer.moq,
        tiers=tuple((t.min_qty, t.unit_price) for t in offer.tiers),
    )


def is_usable(offer: Offer, today: date) -> bool:
    """Whether the offer can be bought today: an active supplier, still valid, priced."""
    return offer.supplier.is_active and offer.is_valid_on(today) and bool(offer.tiers)


def compare(offers: Sequence[Offer], today: date, quantities=QUANTITIES) -> Comparison:
    """Compare on cost per needed unit: packs and minimums make small orders dearer."""
    order = list(Origin)
    offers = sorted(
        offers, key=lambda o: (not is_usable(o, today), order.index(o.origin), o.supplier.name)
    )
    flags = [is_usable(o, today) for o in offers]
    rows = []
    for quantity in quantities:
        purchases = [
            buy(quantity, terms_of(o)) if ok else None for o, ok in zip(offers, flags, strict=True)
        ]
        candidates = [Best(o, p) for o, p in zip(offers, purchases, strict=True) if p is not None]
        rows.append(
            QuantityRow(
                quantity=quantity,
                purchases=purchases,
                cheapest=_cheapest(candidates),
                cheapest_near=_cheapest([b for b in candidates if b.offer.origin in NEAR]),
                cheapest_asia=_cheapest([b for b in candidates if b.offer.origin is Origin.ASIA]),
            )
        )
    return Comparison(offers=offers, usable=flags, rows=rows)


def _cheapest(candidates: list[Best]) -> Best | None:
    if not candidates:
        return None
    return min(candidates, key=lambda b: b.purchase.cost_per_needed_unit)
