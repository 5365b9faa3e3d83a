"""The pooling engine (spec/pooling.md): pure, on plain values, solved by HiGHS.

A mixed-integer program chooses, for each need, one offer and tier or none,
and how many units it gets; lines are whole packs, above the MOQ and the
tier's threshold; no unit is bought beyond the shops' tolerances. The
objective is lexicographic: first serve as many requested units as possible,
then minimise goods + shipping + origin penalties + the framework agreements'
shortfall fees, then prefer the needs posted earlier. Amounts are recomputed
exactly with Decimal from the integer solution; the solver's floating point
only chooses.

The campaign is cut into independent pieces before anything is solved:

- units served depend on nothing but the part (shipping never changes what
  can be served), so the first stage is solved part by part, most parts by
  the greedy rule alone when it serves every requested unit;
- parts are linked to each other only through a supplier whose shipping
  charge depends on the plan. A supplier without a fee, or one that every plan
  must use (it alone offers a part that has to be served) and that either has
  no free-shipping threshold or is sure to reach it, charges the same in every
  plan: it links nothing. The second stage is solved per connected component
  of what remains, usually a single part. A component of several parts gets
  each part's proven cost floors (alone, and without each fee-charging
  supplier): without them its relaxation cannot prove what a fee is worth.
"""

import math
import os
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

import highspy
from babel.numbers import format_decimal, format_percent

from coop.money import CENT, quantize
from coop.suppliers.origin import Origin
from coop.suppliers.pricing import Terms, smallest_order, tier_for

ZERO = Decimal("0.00")
INF = highspy.kHighsInf
# HiGHS's cut pool: small for the many small solves (their root nodes get faster: -25 % on
# size L); HiGHS's default for a piece of linked parts (-26 % of CPU time on 3 seeds of
# bench_pooling_hard.py's 40-shop family).
SMALL_CUT_POOL = 100
LINKED_CUT_POOL = 10000
PROGRESS_EVERY = 0.25  # seconds between two progress reports from inside a solve


@dataclass(frozen=True)
class NeedIn:
    id: int
    member: str
    ref: str
    part: str
    quantity: int
    tolerance: int = 0
    min_quantity: int | None = None
    needed_by: date | None = None
    max_unit_price: Decimal | None = None
    rank: int = 0  # order of posting: lower was posted earlier

    @property
    def minimum(self) -> int:
        return self.min_quantity or self.quantity

    @property
    def top(self) -> int:
        """The most units the shop takes: its quantity plus its tolerance."""
        return self.quantity + self.tolerance


@dataclass(frozen=True)
class OfferIn:
    id: int
    supplier: str
    part: str
    tiers: tuple[tuple[int, Decimal], ...]
    origin: Origin
    pack_size: int = 1
    moq: int = 0
    lead_time_days: int | None = None
    valid_until: date | None = None


@dataclass(frozen=True)
class SupplierIn:
    code: str
    shipping_fee: Decimal = ZERO
    free_shipping_over: Decimal | None = None


@dataclass(frozen=True)
class AgreementIn:
    """A framework agreement in force (take-or-pay): its offer, the campaign's target
    `T(g)` (whole packs, computed from the committed volume left) and the fee per unit
    short (spec/pooling.md, "Framework agreements")."""

    code: str
    offer: int  # the offer's id
    target: int
    fee: Decimal


@dataclass(frozen=True)
class Settings:
    order_date: date
    penalties: dict[Origin, Decimal]
    time_limit: float = 30.0
    # The cost gap below which a plan counts as proven optimal (the pooling issue's bar).
    relative_gap: float = 1e-4
    # The manager's controls: suppliers never used; a need, or every need of a part,
    # served only by one supplier (the need's pin wins over its part's).
    excluded_suppliers: frozenset[str] = frozenset()
    pinned_needs: Mapping[int, str] = field(default_factory=dict)
    pinned_parts: Mapping[str, str] = field(default_factory=dict)
    agreements: tuple[AgreementIn, ...] = ()

    def pin(self, need: "NeedIn") -> str | None:
        """The supplier the manager requires for this need, if any."""
        return self.pinned_needs.get(need.id) or self.pinned_parts.get(need.part)


@dataclass(frozen=True)
class Reason:
    """Why a need is not (fully) served: a code and JSON-ready params, for any language.

    The JSON report speaks English (spec/pooling.md's wording, `english()`); the web
    UI translates from the code and params.
    """

    code: str
    params: dict = field(default_factory=dict)

    def english(self) -> str:
        p = self.params
        match self.code:
            case "partly_served":
                return f"partly served: {p['allocated']} of {p['quantity']}, pack of {p['pack']}"
            case "no_offer":
                return "no offer for this part"
            case "no_valid_offer":
                return f"no offer valid on {p['date']}"
            case "too_late":
                return f"no offer delivers before {p['date']}"
            case "over_max_price":
                return f"cheapest tier {p['cheapest']} > your max {p['max']}"
            case "pack_short":
                return f"pack of {p['pack']} is {p['short']} units short"
            case "minimum_short":
                return f"minimum order of {p['minimum']} is {p['short']} units short"
            case "costs_units_elsewhere":
                return "not served: serving it would cost more units elsewhere"
            case "excluded":
                return "excluded by the manager's choices"
        raise ValueError(f"unknown reason code {self.code!r}")


@dataclass
class Allocation:
    need: NeedIn
    offer: OfferIn | None = None
    tier: tuple[int, Decimal] | None = None
    allocated: int = 0
    why: Reason | None = None

    @property
    def served(self) -> int:
        return min(self.allocated, self.need.quantity)

    @property
    def reason(self) -> str | None:
        return self.why.english() if self.why else None


@dataclass
class Line:
    offer: OfferIn
    tier: tuple[int, Decimal]
    quantity: int

    @property
    def amount(self) -> Decimal:
        return quantize(self.tier[1] * self.quantity)


@dataclass(frozen=True)
class Commitment:
    """What a plan does with an agreement: the units its offer gets, the shortfall, its fee."""

    agreement: AgreementIn
    offer: OfferIn
    bought: int

    @property
    def shortfall(self) -> int:
        return max(0, self.agreement.target - self.bought)

    @property
    def fee(self) -> Decimal:
        return quantize(self.agreement.fee * self.shortfall)


@dataclass
class SolveStats:
    """Where a solve's time went (bench/bench_pooling_hard.py): seconds per phase, the cost
    stage's pieces as (parts, needs), HiGHS's branch-and-bound nodes."""

    phases: dict[str, float] = field(default_factory=dict)
    pieces: list[tuple[int, int]] = field(default_factory=list)
    nodes: int = 0


@dataclass
class Plan:
    # optimal: units and cost proven (cost to the settings' relative gap); feasible: a time
    # limit stopped the solver, `gap` is the proven relative gap on the objective for the
    # units served (see `units_proven`); greedy: the greedy rule, gap nan.
    status: str
    gap: float
    allocations: list[Allocation]
    lines: list[Line]
    shipping: dict[str, Decimal] = field(default_factory=dict)  # by supplier code
    penalties: dict[Origin, Decimal] = field(default_factory=dict)
    commitments: list[Commitment] = field(default_factory=list)  # one per agreement
    seconds: float = 0.0  # wall time of the solve
    bound: Decimal | None = None  # proven lower bound on `objective`, rounded down
    units_proven: bool = True  # False when a time limit left the served units unproven
    stats: SolveStats = field(default_factory=SolveStats)

    @property
    def unserved_units(self) -> int:
        return sum(a.need.quantity - a.served for a in self.allocations)

    @property
    def goods(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def shipping_total(self) -> Decimal:
        return sum(self.shipping.values(), ZERO)

    @property
    def total_cost(self) -> Decimal:
        return self.goods + self.shipping_total

    @property
    def penalty_total(self) -> Decimal:
        return quantize(
            sum((self.penalty_rate(line.offer) * line.amount for line in self.lines), ZERO)
        )

    def penalty_rate(self, offer: OfferIn) -> Decimal:
        return self.penalties.get(offer.origin, ZERO)

    @property
    def commitment_total(self) -> Decimal:
        """The agreements' shortfall fees: owed to their suppliers, not goods nor shipping."""
        return sum((c.fee for c in self.commitments), ZERO)

    @property
    def objective(self) -> Decimal:
        return self.total_cost + self.penalty_total + self.commitment_total


# --- eligibility -------------------------------------------------------------------------


def offer_is_valid(offer: OfferIn, settings: Settings) -> bool:
    return bool(offer.tiers) and (
        offer.valid_until is None or settings.order_date <= offer.valid_until
    )


def delivers_in_time(need: NeedIn, offer: OfferIn, settings: Settings) -> bool:
    if need.needed_by is None or offer.lead_time_days is None:
        return True
    return settings.order_date + timedelta(days=offer.lead_time_days) <= need.needed_by


def allowed(need: NeedIn, offer: OfferIn, settings: Settings) -> bool:
    """The manager's controls: no excluded supplier, and the pinned one when there is a pin."""
    if offer.supplier in settings.excluded_suppliers:
        return False
    pin = settings.pin(need)
    return pin is None or offer.supplier == pin


def eligible_tiers(need: NeedIn, offer: OfferIn, settings: Settings) -> list[int]:
    """Indexes of the offer's tiers this need may be bought at (spec/pooling.md)."""
    if offer.part != need.part or not offer_is_valid(offer, settings):
        return []
    if not delivers_in_time(need, offer, settings) or not allowed(need, offer, settings):
        return []
    return [
        j
        for j, (_, price) in enumerate(offer.tiers)
        if need.max_unit_price is None or price <= need.max_unit_price
    ]


Candidates = dict[int, dict[int, list[int]]]  # need id -> offer id -> eligible tier indexes


def by_part(items) -> dict[str, list]:
    """Needs or offers by part sku."""
    grouped = defaultdict(list)
    for item in items:
        grouped[item.part].append(item)
    return grouped


def candidates(
    needs: Sequence[NeedIn], offers: Sequence[OfferIn], settings: Settings
) -> Candidates:
    """Every need's eligible offers and tiers (offers looked up by part, not all scanned)."""
    offers_of = by_part(offers)
    result: Candidates = {}
    for n in needs:
        result[n.id] = {}
        for o in offers_of.get(n.part, ()):
            tiers = eligible_tiers(n, o, settings)
            if tiers:
                result[n.id][o.id] = tiers
    return result


# --- the greedy rule -------------------------------------------------------------------------


def greedy(
    needs: Sequence[NeedIn],
    offers: Sequence[OfferIn],
    suppliers: Sequence[SupplierIn],
    settings: Settings,
) -> Plan:
    """The plan of the rule "cheapest offer at the pooled quantity, part by part".

    What a careful buyer would do by hand, and the yardstick the optimiser is measured
    against. For each part, every offer is priced at the quantity all the needs it may
    serve would pool on it (whole packs, MOQ and tiers, within the tolerances); the offer
    serving the most units, then the cheapest with its origin penalty, takes them; the
    needs left over try the remaining offers. Shipping is ignored. Its plan has status
    "greedy" and gap nan: nothing is proven about it.
    """
    start = time.monotonic()
    eligible = candidates(needs, offers, settings)
    offers_by_id = {o.id: o for o in offers}
    solution = {}
    for part_needs in by_part(needs).values():
        solution.update(_greedy_part(part_needs, offers_by_id, eligible, settings))
    suppliers_by_code = {s.code: s for s in suppliers}
    plan = _plan_from(solution, needs, offers, suppliers_by_code, settings, "greedy", math.nan)
    plan.seconds = time.monotonic() - start
    return plan


def _greedy_part(needs, offers_by_id, eligible, settings) -> dict[int, tuple[int, int, int]]:
    """The greedy rule on one part: need id -> (offer id, tier index, units)."""
    remaining = sorted((n for n in needs if eligible[n.id]), key=lambda n: n.rank)
    open_offers = sorted({oid for n in remaining for oid in eligible[n.id]})
    result = {}
    while remaining and open_offers:
        best = None
        for offer_id in open_offers:
            offer = offers_by_id[offer_id]
            members = [n for n in remaining if offer_id in eligible[n.id]]
            line = _greedy_line(offer, members, eligible)
            if line is None:
                continue
            j, units = line
            served = sum(min(u, n.quantity) for n, u in units.items())
            price = offer.tiers[j][1] * (1 + settings.penalties.get(offer.origin, ZERO))
            key = (-served, price, offer_id)
            if best is None or key < best[0]:
                best = (key, offer_id, j, units)
        if best is None:
            break
        _, offer_id, j, units = best
        for n, u in units.items():
            result[n.id] = (offer_id, j, u)
        remaining = [n for n in remaining if n not in units]
        open_offers.remove(offer_id)
    return result


def _greedy_line(offer: OfferIn, members: list[NeedIn], eligible) -> tuple | None:
    """One line of `offer` for some of `members` (by rank): (tier index, {need: units}).

    Needs that keep the line from being whole packs are dropped, the one whose removal
    serves the most first; needs whose price cap the reached tier breaks leave the line.
    """
    while members:
        quantity = _fit(offer, members)
        if quantity is None:
            options = []
            for i, n in enumerate(members):
                rest = members[:i] + members[i + 1 :]
                fitted = _fit(offer, rest)
                if fitted is not None:
                    served = min(fitted, sum(m.quantity for m in rest))
                    options.append((served, n.rank, n))
            if options:
                members = [m for m in members if m is not max(options, key=lambda t: t[:2])[2]]
            else:
                members = members[:-1]
            continue
        j = max(i for i, (min_qty, _) in enumerate(offer.tiers) if min_qty <= quantity)
        capped = [n for n in members if j not in eligible[n.id][offer.id]]
        if capped:
            members = [n for n in members if n not in capped]
            continue
        return j, _share(quantity, members)
    return None


def _fit(offer: OfferIn, members: list[NeedIn]) -> int | None:
    """The line's quantity for these needs: every requested unit if whole packs allow it
    (the cheapest such quantity, perhaps reaching a better tier with the tolerances), else
    as many as possible down to the needs' minimums; None when nothing fits."""
    pack = offer.pack_size
    floor = max(offer.moq, offer.tiers[0][0], 1)
    wanted = sum(n.quantity for n in members)
    top = sum(n.top for n in members)
    least = max(sum(n.minimum for n in members), floor)
    full = -(-max(wanted, floor) // pack) * pack
    if full <= top:
        options = [full] + [
            -(-min_qty // pack) * pack for min_qty, _ in offer.tiers if full < min_qty <= top
        ]
        options = [x for x in options if x <= top]
        return min(options, key=lambda x: (tier_for(x, offer.tiers)[1] * x, x))
    partial = top - top % pack
    return partial if partial >= least else None


def _share(quantity: int, members: list[NeedIn]) -> dict[NeedIn, int]:
    """Split a line among its needs: extra units to the earliest needs' tolerances, a
    shortfall taken from the latest needs down to their minimums."""
    units = {n: n.quantity for n in members}
    extra = quantity - sum(units.values())
    order = members if extra > 0 else reversed(members)
    for n in order:
        step = min(extra, n.tolerance) if extra > 0 else -min(-extra, n.quantity - n.minimum)
        units[n] += step
        extra -= step
    return units


# --- buying alone ------------------------------------------------------------------------


@dataclass(frozen=True)
class SoloPurchase:
    """A need bought alone: the goods and the supplier's fee it would pay on its own."""

    goods: Decimal
    shipping: Decimal
    offer: OfferIn

    @property
    def cost(self) -> Decimal:
        return self.goods + self.shipping


def solo_purchase(
    need: NeedIn, offers: Sequence[OfferIn], suppliers: Sequence[SupplierIn], settings: Settings
) -> SoloPurchase | None:
    """What `need` would cost bought alone (spec/pooling.md, "Savings vs buying alone").

    The cheapest offer it could use under the same rules (validity, lead time, its price
    cap, the manager's controls), buying the smallest quantity >= its quantity that is whole
    packs and reaches the MOQ and the lowest tier, plus the supplier's full fee unless the
    goods alone reach free shipping. None if no offer can serve it alone.
    """
    fees = {s.code: s for s in suppliers}
    best = None
    for offer in sorted(offers, key=lambda o: o.id):
        if offer.part != need.part or not offer_is_valid(offer, settings):
            continue
        if not delivers_in_time(need, offer, settings) or not allowed(need, offer, settings):
            continue
        bought = smallest_order(need.quantity, Terms(offer.pack_size, offer.moq, offer.tiers))
        _, price = tier_for(bought, offer.tiers)
        if need.max_unit_price is not None and price > need.max_unit_price:
            continue
        goods = quantize(price * bought)
        supplier = fees[offer.supplier]
        waived = supplier.free_shipping_over is not None and goods >= supplier.free_shipping_over
        solo = SoloPurchase(goods, ZERO if waived else quantize(supplier.shipping_fee), offer)
        if best is None or solo.cost < best.cost:
            best = solo
    return best


def solo_cost(
    need: NeedIn, offers: Sequence[OfferIn], suppliers: Sequence[SupplierIn], settings: Settings
) -> tuple[Decimal, OfferIn] | None:
    """What `need` would cost bought alone, and the offer: solo_purchase's total."""
    solo = solo_purchase(need, offers, suppliers, settings)
    return (solo.cost, solo.offer) if solo else None


def solo_total(
    needs: Sequence[NeedIn],
    offers: Sequence[OfferIn],
    suppliers: Sequence[SupplierIn],
    settings: Settings,
) -> Decimal:
    """The sum of the solo costs of the needs that can be bought alone."""
    offers_of = by_part(offers)
    total = ZERO
    for n in needs:
        solo = solo_cost(n, offers_of.get(n.part, ()), suppliers, settings)
        if solo is not None:
            total += solo[0]
    return total


# --- the model -----------------------------------------------------------------------------


@contextmanager
def _quiet():
    """HiGHS prints a banner on stdout from C code; `coop pool --json` must print only JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


Assignment = dict[int, tuple[int, int, int]]  # need id -> (offer id, tier index, units)


class _Mip:
    """A MIP written down as plain lists and passed to HiGHS at once (fast: no per-variable
    calls into highspy)."""

    def __init__(self):
        self.lower, self.upper, self.cost = [], [], []
        self.row_lower, self.row_upper = [], []
        self.starts, self.index, self.value = [0], [], []
        self.continuous = set()

    def var(self, lower, upper, cost=0.0, integer=True) -> int:
        self.lower.append(lower)
        self.upper.append(upper)
        self.cost.append(cost)
        if not integer:
            self.continuous.add(len(self.lower) - 1)
        return len(self.lower) - 1

    def row(self, terms: dict[int, float], lower: float, upper: float) -> None:
        self.index.extend(terms)
        self.value.extend(terms.values())
        self.starts.append(len(self.index))
        self.row_lower.append(lower)
        self.row_upper.append(upper)

    def load(self, h: highspy.Highs, cost: Sequence[float] | None = None) -> None:
        """Pass the model to `h`, to minimise `cost` (by default each column's own)."""
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(self.lower), len(self.row_lower)
        self.loaded_cost = self.cost if cost is None else list(cost)
        lp.col_cost_ = self.loaded_cost
        lp.col_lower_, lp.col_upper_ = self.lower, self.upper
        lp.row_lower_, lp.row_upper_ = self.row_lower, self.row_upper
        matrix = lp.a_matrix_
        matrix.format_ = highspy.MatrixFormat.kRowwise
        matrix.num_col_, matrix.num_row_ = lp.num_col_, lp.num_row_
        matrix.start_, matrix.index_, matrix.value_ = self.starts, self.index, self.value
        integer, continuous = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
        lp.integrality_ = [
            continuous if c in self.continuous else integer for c in range(lp.num_col_)
        ]
        h.passModel(lp)


class _Model(_Mip):
    """The MIP of some parts (a piece of the campaign, or one part).

    - per offer and tier: a binary "this tier is the line's" and an integer number of
      packs, bounded below by the tier threshold and the MOQ and above by the next tier's
      threshold (all-units pricing, exactly) and by what the shops accepting its price
      could take;
    - per need and offer: a binary "served here" and an integer allocation between the
      shop's minimum and quantity + tolerance, allowed only if the line's tier is one the
      shop accepts; at most one offer per need; served units per need, at most its
      quantity times its "served here" binaries;
      (Per need, offer *and tier* relaxes tighter but solved 1.6x slower on size L.);
    - each line's allocations add up to its packs exactly: no surplus;
    - per part, a row "units served >= target" (the first stage's result in the second);
    - per linking supplier: a binary "used", set by every need served there, and a binary
      "free shipping", only when the goods subtotal reaches the threshold; a part that
      must be served by linking suppliers only uses at least one of them;
    - per agreement (cost stage only): a continuous shortfall, at least the target less
      the units of its offer's line and at least 0, costing the fee per unit;
    - per part with `floors`, proven lower bounds on its cost (`_floors`): at least its
      bound with every supplier, and at least its bound without the suppliers `codes`
      unless one of them is used (none of them can be used at all when that bound is INF).
      The relaxation of a part alone is weak (all-units tiers, packs), and these rows give
      it the part's integer optimum: what it takes to prove a linked piece.
    """

    def __init__(
        self,
        needs,
        offers_by_id,
        eligible,
        linking,
        targets,
        settings,
        tiebreak,
        floors=None,
        agreements=(),
    ):
        super().__init__()
        self.needs, self.eligible = needs, eligible
        self.y, self.k, self.z, self.a, self.w = {}, {}, {}, {}, {}
        self.used, self.free = {}, {}
        self.short = {}  # agreement -> its shortfall column
        self.thresholds = {}  # free-shipping threshold by linking supplier
        self.offers = {}
        # Most units a line could take at a tier: the tolerances of the needs that accept
        # its price (a tier chosen, every need on the line accepts it).
        capacity = defaultdict(int)
        for n in needs:
            for offer_id, js in eligible[n.id].items():
                for j in js:
                    capacity[offer_id, j] += n.top
                self.offers[offer_id] = offers_by_id[offer_id]
        for offer in self.offers.values():
            rate = 1 + settings.penalties.get(offer.origin, ZERO)
            for j, (min_qty, price) in enumerate(offer.tiers):
                cap = capacity[offer.id, j]
                low = max(min_qty, offer.moq, 1)
                high = cap if j + 1 == len(offer.tiers) else min(cap, offer.tiers[j + 1][0] - 1)
                high -= high % offer.pack_size
                if high < low:
                    continue
                y = self.y[offer.id, j] = self.var(0, 1)
                cost = float(price * offer.pack_size * rate)
                k = self.k[offer.id, j] = self.var(0, high // offer.pack_size, cost)
                self.row({k: offer.pack_size, y: -low}, 0, INF)
                self.row({k: offer.pack_size, y: -high}, -INF, 0)
            tiers = [
                self.y[offer.id, j] for j in range(len(offer.tiers)) if (offer.id, j) in self.y
            ]
            if len(tiers) > 1:
                self.row(dict.fromkeys(tiers, 1), -INF, 1)
        line_terms = defaultdict(dict)
        part_terms = defaultdict(dict)
        for n in needs:
            chosen = {}
            for offer_id, js in eligible[n.id].items():
                tiers = [self.y[offer_id, j] for j in js if (offer_id, j) in self.y]
                if not tiers:
                    continue
                z = self.z[n.id, offer_id] = self.var(0, 1)
                a = self.a[n.id, offer_id] = self.var(0, n.top)
                self.row({a: 1, z: -n.top}, -INF, 0)
                self.row({a: 1, z: -n.minimum}, 0, INF)
                self.row({z: 1} | dict.fromkeys(tiers, -1), -INF, 0)
                line_terms[offer_id][a] = 1
                chosen[z] = a
            # Served units; the tie-break's tiny reward goes to the needs posted first.
            w = self.w[n.id] = self.var(0, n.quantity, -tiebreak.get(n.id, 0.0), integer=False)
            part_terms[n.part][w] = 1
            if chosen:
                self.row(dict.fromkeys(chosen, 1), -INF, 1)
                self.row({w: 1} | dict.fromkeys(chosen.values(), -1), -INF, 0)
                # Served units need the need served somewhere, wholly: without this row the
                # relaxation serves a need with a tolerance in full on half an offer.
                self.row({w: 1} | dict.fromkeys(chosen, -n.quantity), -INF, 0)
            else:
                self.upper[w] = 0
        for offer in self.offers.values():
            packs = [
                self.k[offer.id, j] for j in range(len(offer.tiers)) if (offer.id, j) in self.k
            ]
            # No surplus beyond tolerances: the shops take every unit of the line.
            self.row(line_terms[offer.id] | dict.fromkeys(packs, -offer.pack_size), 0, 0)
        for part, terms in part_terms.items():
            self.row(terms, targets.get(part, 0), INF)
        # Take-or-pay: short >= T - X(o), short >= 0 (its bounds), at the fee per unit.
        for g in agreements:
            offer = offers_by_id[g.offer]
            packs = {
                self.k[offer.id, j]: offer.pack_size
                for j in range(len(offer.tiers))
                if (offer.id, j) in self.k
            }
            short = self.short[g] = self.var(0, g.target, float(g.fee), integer=False)
            self.row({short: 1} | packs, g.target, INF)
        for supplier in linking:
            lines = [
                (key, k)
                for key, k in self.k.items()
                if self.offers[key[0]].supplier == supplier.code
            ]
            if not lines:
                continue
            used = self.used[supplier.code] = self.var(0, 1, float(supplier.shipping_fee))
            # Per need rather than per line: a need served there means the supplier is used,
            # which the relaxation cannot dodge with a sliver of a tier.
            for (_, offer_id), z in self.z.items():
                if self.offers[offer_id].supplier == supplier.code:
                    self.row({z: 1, used: -1}, -INF, 0)
            if supplier.free_shipping_over is not None:
                free = self.free[supplier.code] = self.var(0, 1, -float(supplier.shipping_fee))
                self.thresholds[supplier.code] = float(supplier.free_shipping_over)
                self.row({free: 1, used: -1}, -INF, 0)
                goods = {
                    k: float(self.offers[o].tiers[j][1] * self.offers[o].pack_size)
                    for (o, j), k in lines
                }
                self.row(goods | {free: -self.thresholds[supplier.code]}, 0, INF)
        # A part that must be served uses one of its suppliers: when all of them link, at
        # least one is "used" (a cover the relaxation would otherwise spread thin).
        suppliers_of = defaultdict(set)
        for n in needs:
            for offer_id in eligible[n.id]:
                suppliers_of[n.part].add(self.offers[offer_id].supplier)
        for part, codes in suppliers_of.items():
            if targets.get(part, 0) > 0 and codes <= self.used.keys():
                self.row({self.used[c]: 1 for c in codes}, 1, INF)
        part_cost = defaultdict(dict)  # the part's share of the objective, column by column
        for (offer_id, _), k in self.k.items():
            part_cost[self.offers[offer_id].part][k] = self.cost[k]
        for n in needs:
            part_cost[n.part][self.w[n.id]] = self.cost[self.w[n.id]]
        for g, short in self.short.items():
            part_cost[offers_by_id[g.offer].part][short] = self.cost[short]
        for part, bounds in (floors or {}).items():
            anyhow = bounds.get(frozenset(), -INF)
            for codes, bound in bounds.items():
                used = {self.used[c]: 1 for c in codes if c in self.used}
                if bound == INF:
                    self.row(used, 1, INF)
                elif not codes:
                    self.row(part_cost[part], bound, INF)
                elif bound > anyhow:
                    slack = dict.fromkeys(used, bound - anyhow)
                    self.row(part_cost[part] | slack, bound, INF)

    def load_units(self, h: highspy.Highs) -> None:
        """The first stage: maximise served units (minimise their opposite)."""
        served = set(self.w.values())
        self.load(h, [-1.0 if c in served else 0.0 for c in range(len(self.lower))])

    def start_from(self, h: highspy.Highs, assignment: Assignment) -> None:
        """Hand HiGHS a plan as a starting solution (every column set)."""
        values = [0.0] * len(self.lower)
        line = defaultdict(int)
        for n in self.needs:
            if n.id not in assignment:
                continue
            offer_id, j, units = assignment[n.id]
            values[self.z[n.id, offer_id]] = 1
            values[self.a[n.id, offer_id]] = units
            values[self.w[n.id]] = min(units, n.quantity)
            line[offer_id, j] += units
        goods = defaultdict(float)
        for (offer_id, j), units in line.items():
            offer = self.offers[offer_id]
            values[self.y[offer_id, j]] = 1
            values[self.k[offer_id, j]] = units // offer.pack_size
            goods[offer.supplier] += float(offer.tiers[j][1] * offer.pack_size) * (
                units // offer.pack_size
            )
            if offer.supplier in self.used:
                values[self.used[offer.supplier]] = 1
        for code, free in self.free.items():
            # Summed with the model's own float coefficients, so HiGHS agrees it is reached.
            values[free] = float(
                goods[code] >= self.thresholds[code] and bool(values[self.used[code]])
            )
        bought = defaultdict(int)
        for (offer_id, _), units in line.items():
            bought[offer_id] += units
        for g, short in self.short.items():
            values[short] = max(0, g.target - bought[g.offer])
        solution = highspy.HighsSolution()
        solution.col_value = values
        solution.value_valid = True
        h.setSolution(solution)

    def assignment(self, values: Sequence[float]) -> Assignment:
        """The integer solution, read once: need id -> (offer id, tier index, units)."""
        tier_of = {offer_id: j for (offer_id, j), col in self.y.items() if values[col] > 0.5}
        result = {}
        for (need_id, offer_id), col in self.a.items():
            units = round(values[col])
            if units > 0:
                result[need_id] = (offer_id, tier_of[offer_id], units)
        return result


# --- solving -------------------------------------------------------------------------------


def solve(
    needs: Sequence[NeedIn],
    offers: Sequence[OfferIn],
    suppliers: Sequence[SupplierIn],
    settings: Settings,
    on_progress: Callable[[float, str], None] | None = None,
) -> Plan:
    """The optimal plan under spec/pooling.md, or the best found within the time limit.

    `on_progress(done, message)` (done in [0, 1], message in French) is called at the start
    and end of every stage and every solved piece, for a progress bar, and a few times a
    second while a piece is solved, with its best plan's cost and proven gap so far.
    """
    started = time.monotonic()
    deadline = started + settings.time_limit
    report = on_progress or (lambda done, message: None)
    report(0.0, "Préparation")
    offers_by_id = {o.id: o for o in offers}
    suppliers_by_code = {s.code: s for s in suppliers}
    eligible = candidates(needs, offers, settings)
    # Presolve: needs nobody can serve never reach the solver.
    parts = by_part(n for n in needs if eligible[n.id])
    best = {part: _greedy_part(ns, offers_by_id, eligible, settings) for part, ns in parts.items()}
    targets = {part: _served(best[part], ns) for part, ns in parts.items()}
    # Where the greedy rule serves every requested unit, the first stage is proven already.
    open_parts = [p for p, ns in parts.items() if targets[p] < sum(n.quantity for n in ns)]
    work = sum(len(parts[p]) for p in open_parts) + sum(len(ns) for ns in parts.values())
    done = 0

    stats = SolveStats()
    lap = [started]

    def phase(name: str) -> None:
        now = time.monotonic()
        stats.phases[name] = stats.phases.get(name, 0.0) + now - lap[0]
        lap[0] = now

    phase("presolve")
    with _quiet():
        h = _Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_pool_soft_limit", SMALL_CUT_POOL)

    # 1. Serve as many requested units as possible, part by part (nothing else links them).
    # Half the budget at most, so that the cost stage always gets time too.
    units_deadline = started + settings.time_limit / 2
    units_proven = True
    left = sum(len(parts[p]) for p in open_parts)
    for i, part in enumerate(open_parts, 1):
        size = len(parts[part])
        report(done / work, f"Unités servies : pièce {i} sur {len(open_parts)}")
        model = _Model(parts[part], offers_by_id, eligible, [], {}, settings, {})
        model.load_units(h)
        # Units are whole: a bound less than one unit away proves the count.
        _run_from(
            h,
            model,
            best[part],
            (units_deadline - time.monotonic()) * size / left,
            relative_gap=0.0,
            absolute_gap=0.999,
        )
        found = _found(h, model)
        if found is not None and _served(found, parts[part]) > targets[part]:
            best[part], targets[part] = found, _served(found, parts[part])
        units_proven &= h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        left -= size
        done += size
        report(done / work, f"Unités servies : pièce {i} sur {len(open_parts)}")

    phase("units")

    # 2. Then the cheapest, origin penalties included, per independent piece.
    linking, fixed_shipping = _linking_suppliers(parts, targets, eligible, offers_by_id, suppliers)
    pieces = _components(parts, targets, eligible, offers_by_id, linking)
    tiebreak = _tiebreak(needs, offers, suppliers, settings)
    agreements = [g for g in settings.agreements if g.target > 0]
    # An agreement on a part no piece serves buys nothing: its whole target is short.
    in_pieces = {p for piece in pieces for p in piece}
    fixed_commitment = sum(
        (g.fee * g.target for g in agreements if offers_by_id[g.offer].part not in in_pieces),
        ZERO,
    )

    def model_of(piece_parts, with_shipping, without=frozenset()):
        piece_needs = [n for p in piece_parts for n in parts[p]]
        codes = {offers_by_id[o].supplier for n in piece_needs for o in eligible[n.id]}
        shipping = [suppliers_by_code[c] for c in sorted(codes & linking)] if with_shipping else []
        usable = {
            n.id: {
                o: js for o, js in eligible[n.id].items() if offers_by_id[o].supplier not in without
            }
            for n in piece_needs
        }
        # The floors only bound a piece's cost with its fees (their rows use "used").
        piece_floors = {p: floors[p] for p in piece_parts if with_shipping and p in floors}
        return _Model(
            piece_needs,
            offers_by_id,
            usable,
            shipping,
            {p: targets[p] for p in piece_parts},
            settings,
            tiebreak,
            piece_floors,
            [g for g in agreements if offers_by_id[g.offer].part in piece_parts],
        )

    # A piece of several parts is first solved part by part without its linking fees: a
    # relaxation (fees are never negative), whose bounds add up to a bound on the piece far
    # better than its LP, and whose plans make a good start for it. Each such part is also
    # solved without the fee-charging suppliers it could do without (`_floors`).
    charging = {c for c in linking if suppliers_by_code[c].free_shipping_over is None}
    part_jobs = []  # (part, suppliers left out)
    for piece in pieces:
        if len(piece) > 1:
            for p in piece:
                codes = {offers_by_id[o].supplier for n in parts[p] for o in eligible[n.id]}
                part_jobs += [(p, without) for without in _floors(codes & charging)]
    relaxed = {}  # (part, suppliers left out) -> (assignment, proven)
    floors = defaultdict(dict)  # part -> suppliers left out -> lower bound on its cost, or INF
    results = {}  # piece index -> (assignment, proven, bound)

    def solve_part(key, seconds) -> None:
        part, without = key
        model = model_of([part], with_shipping=False, without=without)
        if key in relaxed:
            start = relaxed[key][0]
        elif without:
            start = _greedy_part(parts[part], offers_by_id, model.eligible, settings)
        else:
            start = best[part]
        found, proven, bound = _solve_model(h, model, start, seconds, settings)
        infeasible = h.getModelStatus() == highspy.HighsModelStatus.kInfeasible
        relaxed[key] = (found, proven or infeasible)
        floors[part][without] = INF if infeasible else max(bound, floors[part].get(without, 0.0))

    def solve_piece(i, seconds) -> None:
        piece = pieces[i]
        model = model_of(piece, with_shipping=True)
        # The first stage's plans serve as many units: a valid start, so a time limit
        # always leaves a plan to report, with its proven gap.
        if i in results:
            start = results[i][0]
        else:
            start = {}
            for p in piece:
                start.update(relaxed[p, frozenset()][0] if (p, frozenset()) in relaxed else best[p])
        # A piece of linked parts searches long: HiGHS's own cut pool proves it sooner.
        h.setOptionValue(
            "mip_pool_soft_limit", LINKED_CUT_POOL if len(piece) > 1 else SMALL_CUT_POOL
        )
        found, proven, bound = _solve_model(h, model, start, seconds, settings)
        h.setOptionValue("mip_pool_soft_limit", SMALL_CUT_POOL)
        if len(piece) > 1 and i not in results:
            cover = _cheapest_cover(
                h, piece, parts, eligible, offers_by_id, suppliers_by_code, linking, deadline
            )
            bound = max(bound, sum(floors[p][frozenset()] for p in piece) + cover)
        bound = max(bound, results[i][2] if i in results else 0.0)
        results[i] = (found, proven, bound)

    # The parts' solves get their share of the time (by needs) and the pieces the rest; in
    # each, what a time share left unproven gets a second go with what the others left over.
    part_size = sum(len(parts[p]) for p, _ in part_jobs)
    piece_size = sum(len(parts[p]) for piece in pieces for p in piece)
    share = piece_size / max(1, part_size + piece_size)
    parts_until = deadline - (deadline - time.monotonic()) * share
    stages = (
        (
            part_jobs,
            solve_part,
            lambda key: relaxed[key][1],
            lambda key: len(parts[key[0]]),
            parts_until,
        ),
        (
            list(range(len(pieces))),
            solve_piece,
            lambda i: results[i][1],
            lambda i: sum(len(parts[p]) for p in pieces[i]),
            deadline,
        ),
    )
    stats.pieces = [(len(piece), sum(len(parts[p]) for p in piece)) for piece in pieces]
    # The bar goes on from where the first stage left it, by the needs of each solve.
    begun, done, work = done / max(1, work), 0, max(1, part_size + piece_size)

    def bar(solved: int) -> float:
        return min(begun + (1 - begun) * solved / work, 0.99)

    for jobs, solve_one, proven, size_of, until in stages:
        for attempt in (1, 2):
            if attempt == 2:
                jobs = [job for job in jobs if not proven(job)]
                if time.monotonic() >= until:
                    break
            left = sum(size_of(job) for job in jobs)
            for count, job in enumerate(jobs, 1):
                size = size_of(job)
                label = f"Coût : composante {count} sur {len(jobs)}"
                report(bar(done), label + (" (reprise)" if attempt == 2 else ""))
                seconds = (until - time.monotonic()) * size / left
                if solve_one is solve_piece and len(pieces[job]) > 1:
                    # A piece of linked parts may take most of the time: its progress moves
                    # as HiGHS goes.
                    moves = bar(done + size) - bar(done) if attempt == 1 else 0.0
                    h.follow(_watcher(report, label, bar(done), moves, seconds))
                solve_one(job, seconds)
                h.follow(None)
                left -= size
                if attempt == 1:
                    done += size
                report(bar(done), label)
        phase("floors" if solve_one is solve_part else "cost")
    solution: Assignment = {}
    for assignment, _, _ in results.values():
        solution.update(assignment)
    optimal = units_proven and all(proven for _, proven, _ in results.values())
    bound = float(fixed_shipping + fixed_commitment) + sum(b for _, _, b in results.values())

    _earliest_first(solution, needs, settings)
    plan = _plan_from(
        solution,
        needs,
        offers,
        suppliers_by_code,
        settings,
        "optimal" if optimal else "feasible",
        0.0,
    )
    plan.units_proven = units_proven
    objective = float(plan.objective)
    plan.gap = max(0.0, (objective - bound) / objective) if objective > 0 else 0.0
    plan.bound = min(Decimal(bound), plan.objective).quantize(CENT, rounding=ROUND_FLOOR)
    phase("plan")
    stats.nodes = h.nodes
    plan.stats = stats
    plan.seconds = time.monotonic() - started
    report(1.0, "Terminé")
    return plan


def _watcher(report, label: str, done: float, share: float, seconds: float):
    """What a long MIP reports a few times a second: the share of its time used (the bar
    moves from `done` by up to `share`), its best plan's cost and its proven gap."""
    begun = time.monotonic()
    last = -math.inf

    def watch(best: float, bound: float) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_EVERY:
            return
        last = now
        text = label
        if math.isfinite(best) and best > 0:
            text += f", meilleur plan {format_decimal(best, '#,##0.00', locale='fr_FR')} €"
            if math.isfinite(bound) and bound > 0:
                gap = max(0.0, (best - bound) / best)
                text += f", écart prouvé {format_percent(gap, '#,##0.00 %', locale='fr_FR')}"
        used = min(1.0, (now - begun) / seconds) if seconds > 0 else 1.0
        report(min(done + share * used, 0.99), text)

    return watch


def _floors(codes: set[str]) -> list[frozenset[str]]:
    """The supplier sets a part of a linked piece is solved without, for its cost floors:
    none (its bound with every supplier), then each fee-charging supplier it may use
    alone, and all of them at once. The floor "unless one of them is used" is what tells
    the relaxation that avoiding a supplier's fee costs more elsewhere."""
    sets = [frozenset()] + [frozenset([c]) for c in sorted(codes)]
    if len(codes) > 1:
        sets.append(frozenset(codes))
    return sets


def _cheapest_cover(h, piece, parts, eligible, offers_by_id, suppliers_by_code, linking, deadline):
    """A lower bound on a piece's shipping: the cheapest set of linking suppliers without a
    free-shipping threshold that includes one supplier of every part served only by such
    suppliers (the others may ship for free, as far as this bound knows)."""
    charging = {c for c in linking if suppliers_by_code[c].free_shipping_over is None}
    model = _Mip()
    used = {}
    for part in piece:
        codes = {offers_by_id[o].supplier for n in parts[part] for o in eligible[n.id]}
        if codes <= charging:
            for c in codes - used.keys():
                used[c] = model.var(0, 1, float(suppliers_by_code[c].shipping_fee))
            model.row({used[c]: 1 for c in codes}, 1, INF)
    if not used:
        return 0.0
    model.load(h)
    _run(h, min(1.0, deadline - time.monotonic()), relative_gap=0.0, absolute_gap=1e-6)
    return _bound(h)


def _solve_model(h, model: _Model, start: Assignment, seconds: float, settings: Settings):
    """Minimise the cost of `model` from `start`: (best plan, proven, lower bound)."""
    model.load(h)
    _run_from(h, model, start, seconds, relative_gap=settings.relative_gap, absolute_gap=1e-6)
    found = _found(h, model)
    proven = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return start if found is None else found, proven, _bound(h)


def _bound(h: highspy.Highs) -> float:
    """The solver's proven lower bound; costs are never negative, so 0 is one too."""
    bound = h.getInfo().mip_dual_bound
    return max(0.0, bound) if math.isfinite(bound) else 0.0


def _run_from(
    h: highspy.Highs,
    model: _Mip,
    start: Assignment,
    seconds: float,
    relative_gap: float,
    absolute_gap: float,
) -> None:
    """Solve the loaded `model` from the plan `start`.

    HiGHS (1.16) can report the optimum's objective yet hand back the start's values,
    when presolve solves the model outright. A solution whose own cost disagrees with
    the reported objective is not trusted: the model is solved again without the start.
    """
    started = time.monotonic()
    model.start_from(h, start)
    _run(h, seconds, relative_gap, absolute_gap)
    info = h.getInfo()
    if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        return
    value = math.fsum(
        c * x for c, x in zip(model.loaded_cost, h.getSolution().col_value, strict=True)
    )
    if abs(value - info.objective_function_value) > 1e-6 * max(1.0, abs(value)):
        model.load(h, model.loaded_cost)
        _run(h, seconds - (time.monotonic() - started), relative_gap, absolute_gap)


class _Highs(highspy.Highs):
    """HiGHS, counting the branch-and-bound nodes of all its runs, and telling a watcher
    (`follow`) the best plan's cost and the proven bound as a MIP goes."""

    def __init__(self):
        super().__init__()
        self.nodes = 0
        self.watch: Callable[[float, float], None] | None = None
        self.thread = threading.get_ident()
        self.failure: Exception | None = None  # the watcher's, raised once HiGHS returns

    def follow(self, watch: Callable[[float, float], None] | None) -> None:
        """Call `watch(best, bound)` as the next MIPs go; None stops. HiGHS calls back often:
        only long solves are worth it."""
        if watch is not None and self.watch is None:
            self.cbMipInterrupt.subscribe(self._tick)
        elif watch is None and self.watch is not None:
            self.cbMipInterrupt.unsubscribe(self._tick)
        self.watch = watch

    def _tick(self, event) -> None:
        # Only from the thread that runs the solve: the watcher may write to the database.
        if self.watch is None or self.failure or threading.get_ident() != self.thread:
            return
        try:
            self.watch(event.data_out.mip_primal_bound, event.data_out.mip_dual_bound)
        except Exception as error:  # highspy would swallow it: stop, and raise it after
            self.failure = error
            event.interrupt()

    def run(self):
        status = super().run()
        self.nodes += max(0, self.getInfo().mip_node_count)
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        return status


def _run(h: highspy.Highs, seconds: float, relative_gap: float, absolute_gap: float) -> None:
    h.setOptionValue("time_limit", max(0.05, seconds))
    h.setOptionValue("mip_rel_gap", relative_gap)
    h.setOptionValue("mip_abs_gap", absolute_gap)
    h.run()


def _found(h: highspy.Highs, model: _Model) -> Assignment | None:
    """The solver's best plan, or None if it has none (then the start stands)."""
    if h.getInfo().primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        return None
    return model.assignment(h.getSolution().col_value)


def _served(assignment: Assignment, needs: Sequence[NeedIn]) -> int:
    return sum(min(assignment[n.id][2], n.quantity) for n in needs if n.id in assignment)


def _linking_suppliers(parts, targets, eligible, offers_by_id, suppliers):
    """The suppliers whose shipping charge depends on the plan, and what the others charge.

    A supplier charges the same in every plan serving the first stage's units when it has
    no fee, or when it alone can serve a part that must be served (so it is always used)
    and it either has no free-shipping threshold (always charged) or those forced parts'
    goods alone, at their cheapest tier, reach it (never charged).
    """
    forced_goods = defaultdict(Decimal)
    for part, part_needs in parts.items():
        offer_tiers = [
            (offers_by_id[o], js) for n in part_needs for o, js in eligible[n.id].items()
        ]
        codes = {offer.supplier for offer, _ in offer_tiers}
        if targets[part] > 0 and len(codes) == 1:
            cheapest = min(offer.tiers[j][1] for offer, js in offer_tiers for j in js)
            forced_goods[codes.pop()] += targets[part] * cheapest
    linking, fixed = set(), ZERO
    for s in suppliers:
        if s.shipping_fee <= 0:
            continue
        if s.code in forced_goods:
            if s.free_shipping_over is None:
                fixed += quantize(s.shipping_fee)
                continue
            if forced_goods[s.code] >= s.free_shipping_over:
                continue
        linking.add(s.code)
    return linking, fixed


def _components(parts, targets, eligible, offers_by_id, linking) -> list[list[str]]:
    """Parts to serve, grouped by the linking suppliers they may share; smallest first,
    so that time the small ones leave over goes to the big ones."""
    parent = {p: p for p in parts if targets[p] > 0}

    def root(p):
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    first_part = {}
    for part in parent:
        for n in parts[part]:
            for offer_id in eligible[n.id]:
                code = offers_by_id[offer_id].supplier
                if code in linking:
                    other = first_part.setdefault(code, part)
                    parent[root(part)] = root(other)
    pieces = defaultdict(list)
    for part in parent:
        pieces[root(part)].append(part)
    return sorted(pieces.values(), key=lambda ps: (sum(len(parts[p]) for p in ps), ps[0]))


def _tiebreak(needs, offers, suppliers, settings) -> dict[int, float]:
    """A reward per served unit, larger for needs posted earlier, folded into the cost stage.

    Every plan's objective is a whole multiple of g (prices x (1 + penalty rate), shipping
    fees and shortfall fees have so many decimals), and the rewards add up to at most
    g / 4: they choose among plans of equal cost and never trade a cost difference for them.
    """

    def places(x: Decimal) -> int:
        return max(0, -x.normalize().as_tuple().exponent)

    price = max((places(p) for o in offers for _, p in o.tiers), default=0)
    rate = max((places(r) for r in settings.penalties.values()), default=0)
    fee = max((places(s.shipping_fee) for s in suppliers), default=0)
    short = max((places(g.fee) for g in settings.agreements), default=0)
    grain = 10.0 ** -max(price + rate, fee, short)
    ranked = sorted(needs, key=lambda n: n.rank)
    per_unit = grain / 4 / max(1, sum(n.quantity for n in needs))
    return {n.id: per_unit * (len(ranked) - i) / len(ranked) for i, n in enumerate(ranked)}


def _earliest_first(solution: Assignment, needs: Sequence[NeedIn], settings: Settings) -> None:
    """Needs alike in all but their posting are interchangeable: give the better allocations
    to those posted earlier (an exact tie-break, whatever the solver's tolerances)."""
    alike = defaultdict(list)
    for n in needs:
        key = (n.part, n.quantity, n.tolerance, n.minimum, n.needed_by, n.max_unit_price)
        alike[(*key, settings.pin(n))].append(n)
    for group in alike.values():
        if len(group) < 2:
            continue
        taken = [solution.pop(n.id, None) for n in group]
        taken.sort(
            key=lambda s: (0, 0, 0) if s is None else (-min(s[2], group[0].quantity), s[2], s[0])
        )
        for n, choice in zip(sorted(group, key=lambda n: n.rank), taken, strict=True):
            if choice is not None:
                solution[n.id] = choice


def _plan_from(solution, needs, offers, suppliers, settings, status, gap) -> Plan:
    offers_by_id = {o.id: o for o in offers}
    allocations = {n.id: Allocation(need=n) for n in needs}
    line_units: dict[tuple[int, int], int] = defaultdict(int)
    for need_id, (offer_id, j, units) in solution.items():
        offer = offers_by_id[offer_id]
        allocation = allocations[need_id]
        allocation.offer, allocation.tier, allocation.allocated = offer, offer.tiers[j], units
        line_units[offer_id, j] += units
    lines = [
        Line(offers_by_id[offer_id], offers_by_id[offer_id].tiers[j], units)
        for (offer_id, j), units in sorted(line_units.items())
    ]
    plan = Plan(
        status=status,
        gap=gap,
        allocations=list(allocations.values()),
        lines=lines,
        penalties=dict(settings.penalties),
    )
    bought = defaultdict(int)
    for line in lines:
        bought[line.offer.id] += line.quantity
    for g in settings.agreements:
        if g.offer not in offers_by_id:
            raise ValueError(f"agreement {g.code} names offer {g.offer}, not among the offers")
        plan.commitments.append(Commitment(g, offers_by_id[g.offer], bought[g.offer]))
    subtotals = defaultdict(lambda: ZERO)
    for line in lines:
        subtotals[line.offer.supplier] += line.amount
    for code in sorted(subtotals):
        supplier = suppliers[code]
        threshold = supplier.free_shipping_over
        free = threshold is not None and subtotals[code] >= threshold
        plan.shipping[code] = ZERO if free else quantize(supplier.shipping_fee)
    offers_of = by_part(offers)
    pending = defaultdict(int)  # units still wanted per part: what a line could be filled with
    for allocation in plan.allocations:
        if allocation.offer is None:
            pending[allocation.need.part] += allocation.need.top
    for allocation in plan.allocations:
        part = allocation.need.part
        allocation.why = explain(allocation, offers_of.get(part, []), pending[part], settings)
    return plan


# --- reasons a person can act on -------------------------------------------------------------


def explain(
    allocation: Allocation, offers: Sequence[OfferIn], pending: int, settings: Settings
) -> Reason | None:
    """Why a need is not (fully) served, in the terms of spec/pooling.md; None if it is.

    `offers` are the offers for the need's part (others are ignored) and `pending` the
    units (quantity + tolerance) of the part's unserved needs, this one included.
    """
    need = allocation.need
    if allocation.offer is not None:
        if allocation.allocated >= need.quantity:
            return None
        return Reason(
            "partly_served",
            {
                "allocated": allocation.allocated,
                "quantity": need.quantity,
                "pack": allocation.offer.pack_size,
            },
        )
    same_part = [o for o in offers if o.part == need.part]
    if not same_part:
        return Reason("no_offer")
    valid = [o for o in same_part if offer_is_valid(o, settings)]
    if not valid:
        return Reason("no_valid_offer", {"date": settings.order_date.isoformat()})
    timely = [o for o in valid if delivers_in_time(need, o, settings)]
    if not timely:
        return Reason("too_late", {"date": need.needed_by.isoformat()})
    cap = need.max_unit_price
    priced = [o for o in timely if cap is None or min(p for _, p in o.tiers) <= cap]
    if not priced:
        cheapest = min(min(p for _, p in o.tiers) for o in timely)
        return Reason("over_max_price", {"cheapest": f"{cheapest:.2f}", "max": f"{cap:.2f}"})
    permitted = [o for o in priced if allowed(need, o, settings)]
    if not permitted:
        return Reason("excluded")
    # Reachable in principle: the pack, MOQ or first tier is out of reach with what is left.
    best = None
    for offer in permitted:
        first = min(offer.tiers[j][0] for j in eligible_tiers(need, offer, settings))
        floor = max(offer.pack_size, offer.moq, first)
        floor += (-floor) % offer.pack_size
        short = floor - pending
        if best is None or short < best[0]:
            best = (short, offer, floor)
    short, offer, floor = best
    if short <= 0:
        return Reason("costs_units_elsewhere")
    if floor == offer.pack_size:
        return Reason("pack_short", {"pack": offer.pack_size, "short": short})
    return Reason("minimum_short", {"minimum": floor, "short": short})


# --- an independent check of every rule -----------------------------------------------------


def check_plan(plan: Plan, settings: Settings) -> list[str]:
    """Every way `plan` breaks spec/pooling.md's rules; empty when it keeps them all.

    Written apart from the model, on the plan's plain values, so that a modelling
    mistake cannot hide behind the solver.
    """
    problems = []
    line_units: dict[int, int] = defaultdict(int)
    for allocation in plan.allocations:
        need, offer, units = allocation.need, allocation.offer, allocation.allocated
        label = f"need {need.member}/{need.ref}"
        if offer is None:
            if units:
                problems.append(f"{label}: units without an offer")
            continue
        if offer.part != need.part:
            problems.append(f"{label}: offer {offer.id} is for another part")
        if not offer_is_valid(offer, settings):
            problems.append(f"{label}: offer {offer.id} not valid on the order date")
        if not delivers_in_time(need, offer, settings):
            problems.append(f"{label}: offer {offer.id} delivers too late")
        if offer.supplier in settings.excluded_suppliers:
            problems.append(f"{label}: supplier {offer.supplier} is excluded")
        pin = settings.pinned_needs.get(need.id) or settings.pinned_parts.get(need.part)
        if pin is not None and offer.supplier != pin:
            problems.append(f"{label}: pinned to {pin}, served by {offer.supplier}")
        if not need.minimum <= units <= need.quantity + need.tolerance:
            problems.append(f"{label}: {units} units outside [minimum, quantity + tolerance]")
        if need.max_unit_price is not None and allocation.tier[1] > need.max_unit_price:
            problems.append(f"{label}: price {allocation.tier[1]} above the shop's maximum")
        line_units[offer.id] += units
    lines = {line.offer.id: line for line in plan.lines}
    for offer_id, units in line_units.items():
        line = lines.get(offer_id)
        if line is None or line.quantity != units:
            problems.append(f"offer {offer_id}: line does not match its allocations")
            continue
        offer, quantity = line.offer, line.quantity
        if quantity % offer.pack_size:
            problems.append(f"offer {offer_id}: {quantity} is not whole packs of {offer.pack_size}")
        if quantity < offer.moq:
            problems.append(f"offer {offer_id}: {quantity} below the MOQ {offer.moq}")
        reached = [t for t in offer.tiers if t[0] <= quantity]
        if not reached or reached[-1] != line.tier:
            problems.append(f"offer {offer_id}: tier {line.tier} is not the one {quantity} reaches")
    if len(lines) != len(line_units):
        problems.append("a line has no allocation")
    # Take-or-pay: each agreement's shortfall and fee, from the allocations alone.
    reported = {c.agreement.code: c for c in plan.commitments}
    if sorted(reported) != sorted(g.code for g in settings.agreements):
        problems.append("the plan's agreements are not the settings' agreements")
    total = ZERO
    for g in settings.agreements:
        short = max(0, g.target - line_units.get(g.offer, 0))
        fee = quantize(g.fee * short)
        total += fee
        c = reported.get(g.code)
        if c is not None and (c.shortfall, c.fee) != (short, fee):
            problems.append(
                f"agreement {g.code}: shortfall {c.shortfall} at {c.fee}, not {short} at {fee}"
            )
    if plan.commitment_total != total:
        problems.append(f"commitment {plan.commitment_total} is not the fees' sum {total}")
    return problems
