"""The pooling engine (spec/pooling.md): pure, on plain values, solved by HiGHS.

A mixed-integer program chooses, for each need, one offer and tier or none,
and how many units it gets; lines are whole packs, above the MOQ and the
tier's threshold; no unit is bought beyond the shops' tolerances. The
objective is lexicographic: first serve as many requested units as possible,
then minimise goods + shipping + origin penalties, then prefer the needs
posted earlier. Amounts are recomputed exactly with Decimal from the integer
solution; the solver's floating point only chooses.
"""

import os
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import highspy

from coop.money import quantize
from coop.suppliers.origin import Origin

ZERO = Decimal("0.00")


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
class Settings:
    order_date: date
    penalties: dict[Origin, Decimal]
    time_limit: float = 30.0
    # The cost gap below which a plan counts as proven optimal (the pooling issue's bar).
    relative_gap: float = 1e-4


@dataclass
class Allocation:
    need: NeedIn
    offer: OfferIn | None = None
    tier: tuple[int, Decimal] | None = None
    allocated: int = 0
    reason: str | None = None

    @property
    def served(self) -> int:
        return min(self.allocated, self.need.quantity)


@dataclass
class Line:
    offer: OfferIn
    tier: tuple[int, Decimal]
    quantity: int

    @property
    def amount(self) -> Decimal:
        return quantize(self.tier[1] * self.quantity)


@dataclass
class Plan:
    status: str  # optimal or feasible
    gap: float
    allocations: list[Allocation]
    lines: list[Line]
    shipping: dict[str, Decimal] = field(default_factory=dict)  # by supplier code
    penalties: dict[Origin, Decimal] = field(default_factory=dict)

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
    def objective(self) -> Decimal:
        return self.total_cost + self.penalty_total


# --- eligibility -------------------------------------------------------------------------


def offer_is_valid(offer: OfferIn, settings: Settings) -> bool:
    return bool(offer.tiers) and (
        offer.valid_until is None or settings.order_date <= offer.valid_until
    )


def delivers_in_time(need: NeedIn, offer: OfferIn, settings: Settings) -> bool:
    if need.needed_by is None or offer.lead_time_days is None:
        return True
    return settings.order_date + timedelta(days=offer.lead_time_days) <= need.needed_by


def eligible_tiers(need: NeedIn, offer: OfferIn, settings: Settings) -> list[int]:
    """Indexes of the offer's tiers this need may be bought at (spec/pooling.md)."""
    if offer.part != need.part or not offer_is_valid(offer, settings):
        return []
    if not delivers_in_time(need, offer, settings):
        return []
    return [
        j for j, (_, price) in enumerate(offer.tiers)
        if need.max_unit_price is None or price <= need.max_unit_price
    ]  # fmt: skip


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


def solve(
    needs: Sequence[NeedIn],
    offers: Sequence[OfferIn],
    suppliers: Sequence[SupplierIn],
    settings: Settings,
) -> Plan:
    """The optimal plan under spec/pooling.md, or the best found within the time limit."""
    suppliers_by_code = {s.code: s for s in suppliers}
    candidates = {
        n.id: [(o, j) for o in offers for j in eligible_tiers(n, o, settings)] for n in needs
    }
    # Presolve: needs nobody can serve never reach the solver.
    hard = [n for n in needs if candidates[n.id]]
    if not hard:
        return _plan_from({}, needs, offers, suppliers_by_code, settings, "optimal", 0.0)

    with _quiet():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    deadline = time.monotonic() + settings.time_limit

    def budget() -> float:
        # One time limit for the whole run, shared by the three lexicographic stages.
        return max(0.1, deadline - time.monotonic())

    h.setOptionValue("threads", 1)

    used_offers = {o.id: o for n in hard for o, _ in candidates[n.id]}
    capacity = defaultdict(int)  # most units an offer line could take: all tolerances
    for n in hard:
        for offer_id in {o.id for o, _ in candidates[n.id]}:
            capacity[offer_id] += n.quantity + n.tolerance

    y, k = {}, {}  # tier chosen; whole packs bought at it
    for offer in used_offers.values():
        cap = capacity[offer.id]
        for j, (min_qty, _) in enumerate(offer.tiers):
            low = max(min_qty, offer.moq, 1)
            high = cap if j + 1 == len(offer.tiers) else min(cap, offer.tiers[j + 1][0] - 1)
            high -= high % offer.pack_size
            if high < low:
                continue
            y[offer.id, j] = h.addBinary()
            k[offer.id, j] = h.addIntegral(lb=0, ub=high // offer.pack_size)
            h.addConstr(offer.pack_size * k[offer.id, j] >= low * y[offer.id, j])
            h.addConstr(offer.pack_size * k[offer.id, j] <= high * y[offer.id, j])
        tiers = [y[offer.id, j] for j in range(len(offer.tiers)) if (offer.id, j) in y]
        if len(tiers) > 1:
            h.addConstr(h.qsum(tiers) <= 1)

    # One allocation per need and offer (not per tier): the line's tier is the
    # offer's, and a shop capping the price may only join a line whose tier it accepts.
    z, a, w = {}, {}, {}
    allocations_of = defaultdict(list)
    for n in hard:
        top = n.quantity + n.tolerance
        tiers_of = defaultdict(list)
        for offer, j in candidates[n.id]:
            if (offer.id, j) in y:
                tiers_of[offer.id].append(j)
        chosen = []
        for offer_id, js in tiers_of.items():
            key = (n.id, offer_id)
            z[key] = h.addBinary()
            a[key] = h.addIntegral(lb=0, ub=top)
            h.addConstr(a[key] <= top * z[key])
            h.addConstr(a[key] >= n.minimum * z[key])
            h.addConstr(z[key] <= h.qsum(y[offer_id, j] for j in js))
            allocations_of[offer_id].append(a[key])
            chosen.append(key)
        w[n.id] = h.addVariable(lb=0, ub=n.quantity)
        if chosen:
            h.addConstr(h.qsum(z[key] for key in chosen) <= 1)
            h.addConstr(w[n.id] <= h.qsum(a[key] for key in chosen))
        else:
            h.addConstr(w[n.id] <= 0)

    for offer in used_offers.values():
        packs = [k[offer.id, j] for j in range(len(offer.tiers)) if (offer.id, j) in k]
        if not packs:
            continue
        if allocations_of[offer.id]:
            # No surplus beyond tolerances: the shops take every unit of the line.
            h.addConstr(h.qsum(allocations_of[offer.id]) == offer.pack_size * h.qsum(packs))
        else:
            for packs_at_tier in packs:
                h.addConstr(packs_at_tier <= 0)

    goods = {}
    for (offer_id, j), packs in k.items():
        offer = used_offers[offer_id]
        goods[offer_id, j] = float(offer.tiers[j][1] * offer.pack_size) * packs
    shipping_terms = []
    for code in {o.supplier for o in used_offers.values()}:
        supplier = suppliers_by_code[code]
        lines = [(key, expr) for key, expr in goods.items() if used_offers[key[0]].supplier == code]
        if not lines or supplier.shipping_fee <= 0:
            continue
        used = h.addBinary()
        for key, _ in lines:
            h.addConstr(y[key] <= used)
        charged = used
        if supplier.free_shipping_over is not None:
            free = h.addBinary()
            h.addConstr(free <= used)
            h.addConstr(
                h.qsum(expr for _, expr in lines) >= float(supplier.free_shipping_over) * free
            )
            charged = used - free
        shipping_terms.append(float(supplier.shipping_fee) * charged)

    penalty_terms = [
        float(settings.penalties.get(used_offers[key[0]].origin, ZERO)) * expr
        for key, expr in goods.items()
    ]

    # 1. Serve as many requested units as possible.
    served = h.qsum(w.values())
    # Half the budget at most, so that the cost stage always gets time too.
    h.setOptionValue("time_limit", min(budget(), settings.time_limit / 2))
    # Units are whole: a bound less than one unit away proves the count.
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.999)
    h.maximize(served)
    served_proven = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    best_served = round(h.getInfo().objective_function_value)
    start = h.getSolution()
    h.addConstr(served >= best_served)
    # 2. Then the cheapest, origin penalties included.
    cost = h.qsum(list(goods.values()) + shipping_terms + penalty_terms)
    h.setOptionValue("time_limit", budget())
    h.setOptionValue("mip_abs_gap", 1e-6)
    h.setOptionValue("mip_rel_gap", settings.relative_gap)
    # The first stage's plan serves as many units: a valid start for the second, so a
    # time limit always leaves a plan to report, with its proven gap.
    h.setSolution(start)
    h.minimize(cost)
    optimal = served_proven and h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    gap = 0.0 if optimal else float(h.getInfo().mip_gap)
    if optimal:
        # 3. Among plans as cheap, serve the needs posted first.
        best_cost = h.getInfo().objective_function_value
        h.addConstr(cost <= best_cost + 1e-4 + 1e-9 * abs(best_cost))  # well under a cent
        ranked = sorted(hard, key=lambda n: n.rank)
        weight = {n.id: len(ranked) - i for i, n in enumerate(ranked)}
        snapshot = _values(h, y, k, a)
        # The tie-break is a nicety: it may not eat more than a fifth of the budget.
        h.setOptionValue("time_limit", min(budget(), settings.time_limit / 5))
        h.maximize(h.qsum(weight[nid] * var for nid, var in w.items()))
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            chosen_values = snapshot
        else:
            chosen_values = _values(h, y, k, a)
    else:
        chosen_values = _values(h, y, k, a)
    return _plan_from(
        chosen_values, needs, offers, suppliers_by_code, settings,
        "optimal" if optimal else "feasible", gap,
    )  # fmt: skip


def _values(h, y, k, a) -> dict:
    """The integer solution, read once: allocations by (need, offer, tier)."""
    tier_of = {offer_id: j for (offer_id, j), var in y.items() if h.val(var) > 0.5}
    solution = {}
    for (need_id, offer_id), var in a.items():
        units = round(h.val(var))
        if units > 0:
            solution[need_id, offer_id, tier_of[offer_id]] = units
    return solution


def _plan_from(solution, needs, offers, suppliers, settings, status, gap) -> Plan:
    offers_by_id = {o.id: o for o in offers}
    allocations = {n.id: Allocation(need=n) for n in needs}
    line_units: dict[tuple[int, int], int] = defaultdict(int)
    for (need_id, offer_id, j), units in solution.items():
        offer = offers_by_id[offer_id]
        allocation = allocations[need_id]
        allocation.offer, allocation.tier, allocation.allocated = offer, offer.tiers[j], units
        line_units[offer_id, j] += units
    lines = [
        Line(offers_by_id[offer_id], offers_by_id[offer_id].tiers[j], units)
        for (offer_id, j), units in sorted(line_units.items())
    ]
    plan = Plan(status=status, gap=gap, allocations=list(allocations.values()), lines=lines,
                penalties=dict(settings.penalties))  # fmt: skip
    for code in sorted({line.offer.supplier for line in lines}):
        supplier = suppliers[code]
        subtotal = sum((line.amount for line in lines if line.offer.supplier == code), ZERO)
        free = supplier.free_shipping_over is not None and subtotal >= supplier.free_shipping_over
        plan.shipping[code] = ZERO if free else quantize(supplier.shipping_fee)
    for allocation in plan.allocations:
        allocation.reason = explain(allocation, offers, plan, settings)
    return plan


# --- reasons a person can act on -------------------------------------------------------------


def explain(allocation: Allocation, offers: Sequence[OfferIn], plan: Plan, settings: Settings):
    """Why a need is not (fully) served, in the words of spec/pooling.md; None if it is."""
    need = allocation.need
    if allocation.offer is not None:
        if allocation.allocated >= need.quantity:
            return None
        return (f"partly served: {allocation.allocated} of {need.quantity}, "
                f"pack of {allocation.offer.pack_size}")  # fmt: skip
    same_part = [o for o in offers if o.part == need.part]
    if not same_part:
        return "no offer for this part"
    valid = [o for o in same_part if offer_is_valid(o, settings)]
    if not valid:
        return f"no offer valid on {settings.order_date.isoformat()}"
    timely = [o for o in valid if delivers_in_time(need, o, settings)]
    if not timely:
        return f"no offer delivers before {need.needed_by.isoformat()}"
    priced = [o for o in timely if eligible_tiers(need, o, settings)]
    if not priced:
        cheapest = min(min(p for _, p in o.tiers) for o in timely)
        return f"cheapest tier {cheapest:.2f} > your max {need.max_unit_price:.2f}"
    # Reachable in principle: the pack, MOQ or first tier is out of reach with what is left.
    pending = defaultdict(int)
    for other in plan.allocations:
        if other.offer is None and other.need.part == need.part:
            pending[other.need.part] += other.need.quantity + other.need.tolerance
    best = None
    for offer in priced:
        first = min(offer.tiers[j][0] for j in eligible_tiers(need, offer, settings))
        floor = max(offer.pack_size, offer.moq, first)
        floor += (-floor) % offer.pack_size
        short = floor - pending[need.part]
        if best is None or short < best[0]:
            best = (short, offer, floor)
    short, offer, floor = best
    if short <= 0:
        return "not served: serving it would cost more units elsewhere"
    if floor == offer.pack_size:
        return f"pack of {offer.pack_size} is {short} units short"
    return f"minimum order of {floor} is {short} units short"


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
    return problems
