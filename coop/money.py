"""Exact money arithmetic: one rounding rule, shares that add up to the cent."""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
UNIT_PRICE = Decimal("0.0001")
RATE = Decimal("0.0001")


def quantize(amount: Decimal, exponent: Decimal = CENT) -> Decimal:
    """Round half up to the cent (or to `exponent`): the coop's only rounding rule."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split `total` (in cents) pro rata to `weights` by the largest remainder method.

    The shares add up to `total` exactly. Ties on the remainder go to the
    earlier weight, so callers order weights by a stable key (e.g. need id).
    """
    total = quantize(total)
    if not weights:
        if total:
            raise ValueError("cannot allocate a non-zero amount over no weights")
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        # Nothing to weigh by: share equally.
        weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    cents = int(total / CENT)
    sign = -1 if cents < 0 else 1
    cents = abs(cents)
    exact = [Decimal(cents) * w / weight_sum for w in weights]
    floors = [int(x) for x in exact]
    left = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [sign * Decimal(c) * CENT for c in floors]


def parse_decimal(text: str) -> Decimal:
    """Read a number typed the French or the English way: `1 234,50`, `12.5`, `12,50 €`."""
    cleaned = text.strip().removesuffix("€").strip()
    for space in (" ", "\u00a0", "\u202f"):
        cleaned = cleaned.replace(space, "")
    if "," in cleaned and "." in cleaned:
        raise ValueError("nombre ambigu : utilisez soit la virgule, soit le point décimal")
    cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"nombre attendu, pas {text.strip()!r}") from exc
    if not value.is_finite():
        raise ValueError(f"nombre attendu, pas {text.strip()!r}")
    return value
