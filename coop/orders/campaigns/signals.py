"""Live pooling signals while a campaign is open: pure functions on plain values.

For one part, given what all shops ask for (requested units and the extra
units their tolerances accept) and each offer's terms, say how full the open
pack is, which price tier the pooled order reaches, and how many more units
would fill the pack or reach the next tier. Indicative only: the real plan is
the pooling engine's (spec/pooling.md).
"""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from coop.suppliers.pricing import Terms, Tier, tier_for


@dataclass(frozen=True, slots=True)
class OfferSignal:
    key: Hashable  # the caller's handle on the offer
    pack_size: int
    requested: int
    orderable: int  # whole packs within requested + tolerances, 0 below the minimum
    in_open_pack: int  # units of the last, incomplete pack
    missing_for_pack: int  # units that would complete it (0 when packs are full)
    missing_for_minimum: int  # units still needed to reach the MOQ / first tier
    tier: Tier | None  # the tier `orderable` reaches
    next_tier: Tier | None
    missing_for_next_tier: int | None  # more units (in whole packs) to reach it

    @property
    def unit_price(self) -> Decimal | None:
        return self.tier[1] if self.tier else None


@dataclass(frozen=True)
class PartSignal:
    requested: int
    tolerance: int
    offers: list[OfferSignal]

    @property
    def best(self) -> OfferSignal | None:
        """The reachable offer with the lowest unit price: the indicative pooled price."""
        reachable = [o for o in self.offers if o.tier is not None]
        return min(reachable, key=lambda o: o.tier[1]) if reachable else None

    @property
    def closest(self) -> OfferSignal | None:
        """When nothing is reachable yet: the offer needing the fewest extra units."""
        if not self.offers:
            return None
        return min(self.offers, key=lambda o: o.missing_for_minimum)


def _round_up(units: int, pack: int) -> int:
    return -(-units // pack) * pack


def offer_signal(key: Hashable, requested: int, tolerance: int, terms: Terms) -> OfferSignal:
    pack = terms.pack_size
    minimum = max(terms.moq, terms.tiers[0][0] if terms.tiers else 1, 1)
    minimum = _round_up(minimum, pack)
    within = ((requested + tolerance) // pack) * pack
    orderable = within if within >= minimum else 0
    in_open_pack = requested % pack
    tier = tier_for(orderable, terms.tiers) if orderable else None
    next_tier = next((t for t in terms.tiers if t[0] > max(orderable, requested)), None)
    missing_next = None
    if next_tier is not None:
        missing_next = _round_up(next_tier[0], pack) - requested
    return OfferSignal(
        key=key,
        pack_size=pack,
        requested=requested,
        orderable=orderable,
        in_open_pack=in_open_pack,
        missing_for_pack=(pack - in_open_pack) % pack,
        missing_for_minimum=max(0, minimum - requested),
        tier=tier,
        next_tier=next_tier,
        missing_for_next_tier=missing_next,
    )


def part_signal(
    requested: int, tolerance: int, offers: Sequence[tuple[Hashable, Terms]]
) -> PartSignal:
    return PartSignal(
        requested=requested,
        tolerance=tolerance,
        offers=[offer_signal(key, requested, tolerance, terms) for key, terms in offers],
    )
