"""Sharing a short delivery among the shops a line serves (the delivery issue): pure.

Requested units are always served before tolerance units (a shop accepted
tolerance units only to fill a pack). Two rules, chosen per campaign:

- pro rata (default): each shop gets its share of what arrived, in proportion
  to its allocation, rounded to whole units by the largest remainder method;
- first posted, first served (Foodsoft's rule): in the order needs were posted.

Ties go to the need posted first, then to the lower id, so the result is
deterministic.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from coop.orders.campaigns.rules import ShortageRule


@dataclass(frozen=True)
class Claim:
    """One allocation on a line: its requested and tolerance units, and when it was posted."""

    id: int
    requested: int
    tolerance: int = 0
    rank: int = 0  # lower was posted earlier

    @property
    def allocated(self) -> int:
        return self.requested + self.tolerance


def share_received(claims: Sequence[Claim], received: int, rule: ShortageRule) -> dict[int, int]:
    """Units each claim gets when `received` units arrived; beyond the allocations, none.

    Units received beyond the line's allocations are not anyone's: they go to
    the coop's stock.
    """
    if received < 0:
        raise ValueError("received units cannot be negative")
    order = sorted(claims, key=lambda c: (c.rank, c.id))
    shares = dict.fromkeys((c.id for c in claims), 0)
    left = received
    for units_of in (lambda c: c.requested, lambda c: c.tolerance):
        wanted = {c.id: units_of(c) for c in order}
        if left >= sum(wanted.values()):
            for claim_id, units in wanted.items():
                shares[claim_id] += units
            left -= sum(wanted.values())
            continue
        given = _share(order, wanted, left, rule)
        for claim_id, units in given.items():
            shares[claim_id] += units
        return shares
    return shares


def _share(order: list[Claim], wanted: dict[int, int], units: int, rule: ShortageRule):
    """`units` (fewer than wanted in all) over the claims, by `rule`, each within its want."""
    if rule is ShortageRule.FIRST_POSTED:
        given = {}
        for claim in order:
            given[claim.id] = min(wanted[claim.id], units)
            units -= given[claim.id]
        return given
    total = sum(wanted.values())
    # Integer arithmetic keeps it exact: floor and remainder of units * want / total.
    floors = {c.id: units * wanted[c.id] // total for c in order}
    remainders = {c.id: units * wanted[c.id] % total for c in order}
    left = units - sum(floors.values())
    ranked = sorted(order, key=lambda c: -remainders[c.id])  # stable: posting order on ties
    for claim in ranked[:left]:
        floors[claim.id] += 1
    return floors
