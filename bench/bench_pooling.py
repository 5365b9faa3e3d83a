"""Pooling engine on generated campaigns: time, status, proven gap, peak memory, and what
the greedy rule and buying alone would cost against the engine's plan.

Sizes from the pooling issue: S (40 shops, 600 needs), M (100 shops, 3,000 needs,
300 parts, 20 suppliers), L (1,000 shops, 30,000 needs, 3,000 parts, 100 suppliers).
Each size runs in a fresh process, so that its peak memory is its own.
`--linked` is the harder variant: every supplier charges a fee, most with a free-shipping
threshold, and every part has 2 or 3 offers, so no supplier is forced and the parts are
all linked through shipping (one component in M).
Usage: .venv/bin/python bench/bench_pooling.py S [M L] [--time-limit 120] [--linked]
"""

import argparse
import multiprocessing
import random
import resource
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coop.orders.pooling.solver import (
    NeedIn,
    OfferIn,
    Settings,
    SupplierIn,
    greedy,
    solo_cost,
    solve,
)
from coop.suppliers.origin import Origin

SIZES = {"S": (40, 600, 60, 8), "M": (100, 3000, 300, 20), "L": (1000, 30000, 3000, 100)}
ORIGINS = [Origin.LOCAL, Origin.FRANCE, Origin.EUROPE, Origin.EUROPE, Origin.ASIA, Origin.ASIA]
PENALTIES = {
    Origin.LOCAL: Decimal(0),
    Origin.FRANCE: Decimal(0),
    Origin.EUROPE: Decimal("0.03"),
    Origin.ASIA: Decimal("0.10"),
    Origin.OTHER: Decimal("0.10"),
}
ORDER_DATE = date(2026, 12, 7)


def generate(size: str, seed: int = 7, linked: bool = False):
    shops, lines, parts, supplier_count = SIZES[size]
    rng = random.Random(seed)
    suppliers = []
    for s in range(supplier_count):
        if linked:
            fee = Decimal(rng.choice([9, 15, 25, 60, 145]))
            threshold = Decimal(rng.choice([150, 300, 800])) if rng.random() < 0.8 else None
        else:
            fee = Decimal(rng.choice([0, 9, 15, 25, 60, 145]))
            threshold = Decimal(rng.choice([150, 300, 800])) if rng.random() < 0.6 else None
        suppliers.append((SupplierIn(f"S{s:03d}", fee, threshold), rng.choice(ORIGINS)))
    offers, oid = [], 0
    for p in range(parts):
        base = Decimal(rng.randint(150, 6000)) / 100
        for s_in, origin in rng.sample(suppliers, rng.randint(2 if linked else 1, 3)):
            factor = {Origin.ASIA: Decimal("0.8"), Origin.LOCAL: Decimal("1.15")}.get(origin, 1)
            pack = (
                rng.choice([1, 1, 2, 5, 10, 20, 50])
                if origin is Origin.ASIA
                else rng.choice([1, 1, 1, 2, 5])
            )
            tiers = [(pack, (base * factor).quantize(Decimal("0.01")))]
            for step in (5, 20):
                cheaper = (tiers[-1][1] * Decimal("0.93")).quantize(Decimal("0.01"))
                tiers.append((pack * step, cheaper))
            asian = origin is Origin.ASIA
            lead = rng.choice([30, 45, 60]) if asian else rng.choice([2, 5, 10])
            moq = rng.choice([0, 0, pack * 2])
            offers.append(
                OfferIn(
                    oid,
                    s_in.code,
                    f"P{p:04d}",
                    tuple(tiers),
                    origin,
                    pack_size=pack,
                    moq=moq,
                    lead_time_days=lead,
                )
            )
            oid += 1
    needs = []
    for i in range(lines):
        qty = rng.choice([1, 2, 2, 3, 4, 5, 6, 10, 12, 20])
        needs.append(
            NeedIn(
                i,
                f"M{rng.randrange(shops):04d}",
                str(i),
                f"P{rng.randrange(parts):04d}",
                qty,
                tolerance=rng.choice([0, 0, 1, 2, 5]),
                min_quantity=rng.choice([None, None, max(1, qty // 2)]),
                needed_by=(
                    ORDER_DATE + timedelta(days=rng.choice([20, 40, 90]))
                    if rng.random() < 0.3
                    else None
                ),
                rank=i,
            )
        )
    return needs, offers, [s for s, _ in suppliers]


def percent(value: Decimal, reference: Decimal) -> str:
    return f"{(value - reference) * 100 / reference:+.2f} %"


def run(size: str, time_limit: float, linked: bool) -> None:
    needs, offers, suppliers = generate(size, linked=linked)
    settings = Settings(ORDER_DATE, PENALTIES, time_limit=time_limit)
    start = time.perf_counter()
    plan = solve(needs, offers, suppliers, settings)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    name = f"{size} linked" if linked else size
    print(
        f"{name}: {len(needs)} needs, {len(offers)} offers -> {plan.status}, "
        f"gap {plan.gap:.2e}, {elapsed:.1f} s, peak {peak:.0f} MiB, "
        f"unserved {plan.unserved_units} units, cost {plan.total_cost} EUR, "
        f"objective {plan.objective} EUR (bound {plan.bound})"
    )
    rule = greedy(needs, offers, suppliers, settings)
    print(
        f"   greedy rule: unserved {rule.unserved_units} units, cost {rule.total_cost} EUR "
        f"({percent(rule.total_cost, plan.total_cost)}), objective {rule.objective} EUR "
        f"({percent(rule.objective, plan.objective)}), {rule.seconds:.1f} s"
    )
    offers_of = {}
    for o in offers:
        offers_of.setdefault(o.part, []).append(o)
    alone = [solo_cost(n, offers_of.get(n.part, []), suppliers, settings) for n in needs]
    solo = sum((cost for cost, _ in filter(None, alone)), Decimal(0))
    solo_units = sum(n.quantity for n, s in zip(needs, alone, strict=True) if s is not None)
    served = sum(n.quantity for n in needs) - plan.unserved_units
    print(
        f"   each shop alone: {solo_units} units for {solo} EUR "
        f"({percent(solo, plan.total_cost)} against the plan's {served} units)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="+", choices=list(SIZES))
    parser.add_argument("--time-limit", type=float, default=120)
    parser.add_argument("--linked", action="store_true", help="no forced supplier (see above)")
    args = parser.parse_args()
    spawn = multiprocessing.get_context("spawn")
    for size in args.sizes:
        child = spawn.Process(target=run, args=(size, args.time_limit, args.linked))
        child.start()
        child.join()


if __name__ == "__main__":
    main()
