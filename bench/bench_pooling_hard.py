"""Pooling engine on realistic hard campaigns (issue 18): per seed, time per phase,
components, nodes, proven gap.

The family is what a manager builds from supplier price lists: 10 part families; every
part has 2 to 5 offers with 1 to 3 all-units tiers (a 10/20/25 tier and sometimes a
50/100 tier, 5 to 15 % cheaper each). Asian offers are 18 to 38 % cheaper, in packs of
10 to 50 with MOQs of 50 or 100 and 35 to 50 days of lead time; European and French ones
in packs of 1 to 10 with small or no MOQ; a local reseller sells some Asian-made parts.
Every supplier charges a fee, from 35 EUR (local) to 260 EUR (Asia), most with a
free-shipping threshold between 1,500 and 9,000 EUR, so shipping links the parts. Each
shop needs about a third of the parts, 1 to 20 units, a tolerance of 0 to 5 on half of
them, a minimum quantity on 30 %, a needed-by date on 40 %, a maximum unit price on 15 %.

Families: `40` (40 shops, 40 parts, 12 suppliers: about 540 needs), `95` (95 shops on
the same catalogue: about 1,270 needs) and `season` (95 shops, 150 parts, 30 suppliers:
about 4,750 needs). Each seed runs in a fresh process (its own peak memory), killed if it
outlives its time limit by more than `--grace` seconds.
Usage: .venv/bin/python bench/bench_pooling_hard.py 40 [95 season] [--seeds 0-9]
       [--time-limit 60] [--grace 60]
"""

import argparse
import multiprocessing
import random
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coop.orders.pooling.solver import NeedIn, OfferIn, Settings, SupplierIn, check_plan, solve
from coop.suppliers.origin import Origin

ORDER_DATE = date(2027, 3, 1)
PENALTIES = {
    Origin.LOCAL: Decimal(0),
    Origin.FRANCE: Decimal(0),
    Origin.EUROPE: Decimal("0.03"),
    Origin.ASIA: Decimal("0.10"),
    Origin.OTHER: Decimal("0.10"),
}
FAMILIES = {  # sku prefix: price range of a part (EUR excl. VAT)
    "TYR": (14, 45),
    "TUB": (4, 9),
    "CHN": (12, 48),
    "PAD": (6, 22),
    "CAB": (2, 9),
    "BRG": (3, 16),
    "CAS": (28, 95),
    "GRP": (8, 26),
    "LGT": (14, 55),
    "SAD": (22, 70),
}
# Suppliers by kind, per 12: fee range, threshold range (None: never free), lead times.
KINDS = {
    "local": ((35, 55), (1500, 3000), (2, 5)),
    "reseller": ((35, 45), (1500, 2500), (2, 4)),
    "france": ((45, 80), (2000, 4000), (4, 8)),
    "europe": ((60, 140), (2500, 6000), (7, 14)),
    "asia": ((180, 260), (5000, 9000), (35, 50)),
}
MIX_12 = ["local", "local", "reseller", "france", "france"] + ["europe"] * 4 + ["asia"] * 3
FAMILY_SIZES = {"40": (40, 40, 12), "95": (95, 40, 12), "season": (95, 150, 30)}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class HardSupplier:
    supplier: SupplierIn
    kind: str
    country: str  # where it is based: FR for local, reseller and france
    families: frozenset[str]


def suppliers_for(count: int, rng: random.Random) -> list[HardSupplier]:
    kinds = [MIX_12[i * 12 // count] for i in range(count)]
    result = []
    for i, kind in enumerate(kinds):
        (fee_low, fee_high), (over_low, over_high), _ = KINDS[kind]
        fee = Decimal(rng.randint(fee_low, fee_high))
        # Most have a free-shipping threshold; an Asian maker sometimes has none.
        none = kind == "asia" and rng.random() < 0.3
        over = None if none else Decimal(rng.randrange(over_low, over_high + 1, 100))
        country = {"europe": rng.choice(["DE", "IT", "ES", "CZ"]), "asia": "TW"}.get(kind, "FR")
        families = frozenset(rng.sample(sorted(FAMILIES), rng.randint(5, 8)))
        result.append(
            HardSupplier(
                SupplierIn(f"{kind[:3].upper()}{i:02d}", fee, over), kind, country, families
            )
        )
    return result


def _tiers(rng, price: Decimal, pack: int, floor: int) -> tuple[tuple[int, Decimal], ...]:
    """1 to 3 all-units tiers from the offer's first orderable quantity."""
    tiers = [(max(pack, floor, 1), price)]
    count = rng.choice([1, 2, 2, 3, 3])
    for thresholds in ([10, 20, 25], [50, 100])[: count - 1]:
        at = rng.choice(thresholds)
        at = -(-at // pack) * pack
        if at <= tiers[-1][0]:
            at = tiers[-1][0] * 2
        cheaper = (tiers[-1][1] * (1 - Decimal(rng.randint(5, 15)) / 100)).quantize(CENT)
        tiers.append((at, cheaper))
    return tuple(tiers)


def generate_hard(family: str, seed: int):
    """(needs, offers, suppliers, kinds) of one campaign: kinds maps a supplier code to its
    HardSupplier (for the review bench, which stores them)."""
    shops, part_count, supplier_count = FAMILY_SIZES[family]
    rng = random.Random(f"hard-{part_count}-{supplier_count}-{seed}")
    suppliers = suppliers_for(supplier_count, rng)
    offers, oid, base_of = [], 0, {}
    skus = [f"{fam}-{k:03d}" for k in range(part_count // len(FAMILIES)) for fam in FAMILIES]
    for sku in skus:
        low, high = FAMILIES[sku[:3]]
        base = Decimal(rng.randint(low * 100, high * 100)) / 100
        base_of[sku] = base
        able = [s for s in suppliers if sku[:3] in s.families] or suppliers
        chosen = rng.sample(able, min(len(able), rng.randint(2, 5)))
        asian = (base * (1 - Decimal(rng.randint(18, 38)) / 100)).quantize(CENT)
        for s in sorted(chosen, key=lambda s: s.supplier.code):
            lead = rng.randint(*KINDS[s.kind][2])
            if s.kind == "asia":
                pack, moq = rng.choice([10, 20, 25, 50]), rng.choice([50, 100])
                price = (asian * (1 + Decimal(rng.randint(-5, 5)) / 100)).quantize(CENT)
                origin = Origin.ASIA
            elif s.kind == "reseller" and rng.random() < 0.6:
                # A local reseller of Asian-made parts: dearer than the maker, small packs.
                pack, moq = rng.choice([1, 2, 5, 10]), rng.choice([0, 0, 10])
                price = (asian * (1 + Decimal(rng.randint(12, 25)) / 100)).quantize(CENT)
                origin = Origin.ASIA
            else:
                pack, moq = rng.choice([1, 1, 1, 2, 5, 10]), rng.choice([0, 0, 0, 5, 10, 20])
                markup = {"local": (5, 20), "reseller": (5, 20), "france": (0, 15)}.get(
                    s.kind, (-5, 12)
                )
                price = (base * (1 + Decimal(rng.randint(*markup)) / 100)).quantize(CENT)
                origin = {"local": Origin.LOCAL, "reseller": Origin.LOCAL}.get(
                    s.kind, Origin.FRANCE if s.kind == "france" else Origin.EUROPE
                )
            offers.append(
                OfferIn(
                    oid,
                    s.supplier.code,
                    sku,
                    _tiers(rng, price, pack, moq if s.kind == "asia" else 1),
                    origin,
                    pack_size=pack,
                    moq=moq,
                    lead_time_days=lead,
                )
            )
            oid += 1
    posted = []
    for shop in range(shops):
        line = 0
        for sku in skus:
            if rng.random() >= 1 / 3:
                continue
            line += 1
            qty = rng.choice([1, 1, 2, 2, 2, 3, 4, 4, 5, 6, 8, 10, 12, 15, 20])
            cap = None
            if rng.random() < 0.15:
                cap = (base_of[sku] * Decimal(rng.randint(75, 105)) / 100).quantize(Decimal("0.1"))
            posted.append(
                dict(
                    member=f"AT{shop:03d}",
                    ref=f"L{line}",
                    part=sku,
                    quantity=qty,
                    tolerance=rng.randint(0, 5) if rng.random() < 0.5 else 0,
                    min_quantity=(
                        rng.randint(1, qty - 1) if qty > 1 and rng.random() < 0.3 else None
                    ),
                    needed_by=(
                        ORDER_DATE + timedelta(days=rng.choice([14, 21, 30, 45, 60, 90]))
                        if rng.random() < 0.4
                        else None
                    ),
                    max_unit_price=cap,
                )
            )
    rng.shuffle(posted)  # the order the shops posted their lines in
    needs = [NeedIn(i, rank=i, **fields) for i, fields in enumerate(posted)]
    return needs, offers, [s.supplier for s in suppliers], {s.supplier.code: s for s in suppliers}


def run_seed(family: str, seed: int, time_limit: float, queue) -> None:
    needs, offers, suppliers, _ = generate_hard(family, seed)
    settings = Settings(ORDER_DATE, PENALTIES, time_limit=time_limit)
    start = time.perf_counter()
    cpu = time.process_time()
    plan = solve(needs, offers, suppliers, settings)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    problems = check_plan(plan, settings)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    queue.put(
        {
            "seed": seed,
            "needs": len(needs),
            "status": plan.status,
            "gap": plan.gap,
            "seconds": elapsed,
            "cpu": cpu,
            "phases": plan.stats.phases,
            "pieces": plan.stats.pieces,
            "nodes": plan.stats.nodes,
            "unserved": plan.unserved_units,
            "objective": plan.objective,
            "peak": peak,
            "checked": not problems,
        }
    )


def pieces_text(pieces) -> str:
    """The cost stage's pieces: how many, and the largest ones as parts/needs."""
    big = sorted(pieces, key=lambda p: -p[1])[:3]
    return f"{len(pieces)} [" + " ".join(f"{p}/{n}" for p, n in big) + "]"


def seeds_of(text: str) -> list[int]:
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("families", nargs="+", choices=list(FAMILY_SIZES))
    parser.add_argument("--seeds", default=None, help="0-9 (families), 0 (season)")
    parser.add_argument("--time-limit", type=float, default=60)
    parser.add_argument("--grace", type=float, default=60)
    args = parser.parse_args()
    spawn = multiprocessing.get_context("spawn")
    for family in args.families:
        seeds = seeds_of(args.seeds or ("0" if family == "season" else "0-9"))
        print(
            f"family {family}: seed, needs, status, gap, wall s (CPU s), presolve/units/floors/"
            "cost/plan s, pieces [largest parts/needs], nodes, unserved, objective, peak MiB"
        )
        rows = []
        for seed in seeds:
            queue = spawn.Queue()
            child = spawn.Process(target=run_seed, args=(family, seed, args.time_limit, queue))
            child.start()
            child.join(args.time_limit + args.grace)
            if child.is_alive():
                child.terminate()
                child.join()
                print(f"  {seed}: killed after {args.time_limit + args.grace:.0f} s")
                continue
            row = queue.get()
            rows.append(row)
            phases = "/".join(
                f"{row['phases'].get(k, 0):.1f}"
                for k in ("presolve", "units", "floors", "cost", "plan")
            )
            print(
                f"  {seed}: {row['needs']} needs, {row['status']}, gap {row['gap']:.2e}, "
                f"{row['seconds']:.1f} s ({row['cpu']:.1f}), {phases}, "
                f"{pieces_text(row['pieces'])}, {row['nodes']} nodes, "
                f"{row['unserved']} unserved, {row['objective']} EUR, {row['peak']:.0f} MiB"
                + ("" if row["checked"] else ", CHECKER FAILED")
            )
        if rows:
            times = [r["seconds"] for r in rows]
            optimal = sum(r["status"] == "optimal" for r in rows)
            print(
                f"  {family}: {optimal}/{len(rows)} optimal, "
                f"median {statistics.median(times):.1f} s, "
                f"max {max(times):.1f} s, worst gap {max(r['gap'] for r in rows):.2e}, "
                f"peak {max(r['peak'] for r in rows):.0f} MiB"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
