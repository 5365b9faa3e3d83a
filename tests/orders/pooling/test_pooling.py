"""The pooling engine on hand-computed cases, one per rule of spec/solver.md."""

import json
import math
from datetime import date, timedelta
from decimal import Decimal
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coop.orders.pooling import solver
from coop.orders.pooling.solver import (
    Allocation,
    NeedIn,
    OfferIn,
    Plan,
    Reason,
    Settings,
    SupplierIn,
    check_plan,
    eligible_tiers,
    greedy,
    solo_cost,
    solo_total,
)
from coop.suppliers.origin import Origin

D = Decimal
ORDER_DATE = date(2026, 12, 7)
PENALTIES = {
    Origin.LOCAL: D(0),
    Origin.FRANCE: D(0),
    Origin.EUROPE: D("0.03"),
    Origin.ASIA: D("0.10"),
    Origin.OTHER: D("0.10"),
}
# An exact optimum (no gap tolerance), so that brute force can be compared to the cent.
SETTINGS = Settings(order_date=ORDER_DATE, penalties=PENALTIES, time_limit=10, relative_gap=0.0)


def solve(needs, offers, suppliers, cfg, **kw):
    """The engine, with every plan it returns checked by the independent checker."""
    plan = solver.solve(needs, offers, suppliers, cfg, **kw)
    assert check_plan(plan, cfg) == []
    return plan


def controls(**kw):
    """SETTINGS with some of the manager's controls."""
    return Settings(
        order_date=ORDER_DATE, penalties=PENALTIES, time_limit=10, relative_gap=0.0, **kw
    )


def need(i, qty, part="P", **kw):
    return NeedIn(id=i, member=f"M{i}", ref=str(i), part=part, quantity=qty, rank=i, **kw)


def offer(i, supplier, tiers, part="P", origin=Origin.EUROPE, **kw):
    return OfferIn(
        id=i,
        supplier=supplier,
        part=part,
        origin=origin,
        tiers=tuple((q, D(p)) for q, p in tiers),
        **kw,
    )


def free(*codes):
    return [SupplierIn(code) for code in codes]


def by_need(plan):
    return {a.need.id: a for a in plan.allocations}


def test_a_tier_reached_only_by_pooling_two_shops():
    # Alone, 6 units each pay 10.00; together 12 reach the 10-unit tier at 8.00.
    plan = solve(
        [need(1, 6), need(2, 6)], [offer(1, "S", [(1, "10"), (10, "8")])], free("S"), SETTINGS
    )
    assert plan.status == "optimal"
    assert [(line.quantity, line.tier[1]) for line in plan.lines] == [(12, D("8"))]
    assert plan.goods == D("96.00")


def test_a_pack_filled_by_tolerance():
    plan = solve(
        [need(1, 7, tolerance=3)], [offer(1, "S", [(1, "2")], pack_size=10)], free("S"), SETTINGS
    )
    a = by_need(plan)[1]
    assert (a.allocated, a.served, a.reason) == (10, 7, None)
    assert plan.unserved_units == 0


def test_without_tolerance_the_pack_cannot_be_filled_and_the_reason_says_why():
    plan = solve([need(1, 3)], [offer(1, "S", [(1, "2")], pack_size=10)], free("S"), SETTINGS)
    a = by_need(plan)[1]
    assert a.allocated == 0
    assert a.reason == "pack of 10 is 7 units short"
    assert a.why == Reason("pack_short", {"pack": 10, "short": 7})
    assert plan.lines == []


def test_a_partial_fill_down_to_the_minimum_quantity():
    plan = solve(
        [need(1, 6, min_quantity=4)], [offer(1, "S", [(1, "2")], pack_size=4)], free("S"), SETTINGS
    )
    a = by_need(plan)[1]
    assert a.allocated == 4
    assert a.reason == "partly served: 4 of 6, pack of 4"
    assert plan.unserved_units == 2


def test_a_lead_time_excludes_the_cheap_asian_offer():
    needs = [need(1, 10, needed_by=date(2026, 12, 20))]
    offers = [
        offer(1, "ASIA", [(1, "1")], origin=Origin.ASIA, lead_time_days=45),
        offer(2, "LYON", [(1, "3")], origin=Origin.LOCAL, lead_time_days=3),
    ]
    plan = solve(needs, offers, free("ASIA", "LYON"), SETTINGS)
    assert by_need(plan)[1].offer.supplier == "LYON"
    only_asia = solve(needs, offers[:1], free("ASIA"), SETTINGS)
    assert by_need(only_asia)[1].reason == "no offer delivers before 2026-12-20"


def test_free_shipping_reached_by_pooling():
    # A: 5.00/unit + 30.00 shipping, free from 100.00; B: 5.50/unit, free shipping.
    offers = [offer(1, "A", [(1, "5")]), offer(2, "B", [(1, "5.5")])]
    suppliers = [SupplierIn("A", D("30"), D("100")), SupplierIn("B")]
    alone = solve([need(1, 10)], offers, suppliers, SETTINGS)
    assert by_need(alone)[1].offer.supplier == "B"  # 55.00 beats 50.00 + 30.00
    pooled = solve([need(1, 10), need(2, 10)], offers, suppliers, SETTINGS)
    assert {a.offer.supplier for a in pooled.allocations} == {"A"}  # 100.00, shipping waived
    assert (pooled.goods, pooled.shipping_total) == (D("100.00"), D("0.00"))


def test_an_origin_penalty_flips_the_choice_to_a_local_maker():
    offers = [
        offer(1, "ASIA", [(1, "10")], origin=Origin.ASIA),
        offer(2, "LYON", [(1, "10.50")], origin=Origin.LOCAL),
    ]
    plan = solve([need(1, 10)], offers, free("ASIA", "LYON"), SETTINGS)
    # 105.00 local against 100.00 + 10 % penalty = 110.00 from Asia.
    assert by_need(plan)[1].offer.supplier == "LYON"
    assert (plan.total_cost, plan.penalty_total, plan.objective) == (
        D("105.00"),
        D("0.00"),
        D("105.00"),
    )


def test_a_max_price_excludes_a_tier():
    offers = [offer(1, "S", [(1, "12.40"), (50, "10.00")])]
    plan = solve([need(1, 5, max_unit_price=D("11.00"))], offers, free("S"), SETTINGS)
    assert by_need(plan)[1].reason == "minimum order of 50 is 45 units short"
    capped = solve(
        [need(1, 5, max_unit_price=D("11.00"))],
        [offer(1, "S", [(1, "12.40")])],
        free("S"),
        SETTINGS,
    )
    assert by_need(capped)[1].reason == "cheapest tier 12.40 > your max 11.00"


def test_a_tier_is_reached_with_the_tolerance_of_a_shop_that_accepts_its_price():
    # 10.00 from 1 unit, 9.00 from 10. Shop 1 caps at 9.50: only the 9.00 tier, which its
    # 6 units reach with shop 2's 3 and its tolerance of 1, not with shop 2's 3 alone.
    offers = [offer(1, "S", [(1, "10"), (10, "9")])]
    capped = need(1, 6, max_unit_price=D("9.50"))
    plan = solve([capped, need(2, 3, tolerance=1)], offers, free("S"), SETTINGS)
    assert plan.status == "optimal" and plan.unserved_units == 0
    assert [(a.allocated, a.tier[1]) for a in plan.allocations] == [(6, D("9")), (4, D("9"))]
    assert plan.goods == D("90.00")
    short = solve([capped, need(2, 3)], offers, free("S"), SETTINGS)
    assert [(a.allocated, a.reason) for a in short.allocations] == [
        (0, "minimum order of 10 is 4 units short"),
        (3, None),
    ]
    assert short.goods == D("30.00")


def test_a_need_with_a_tolerance_is_served_wholly_or_not_at_all():
    # Shop 1 (1 unit, tolerance 1) can only take the Asian offer, sold from 100 units; shop
    # 2's 98 units (tolerance 1) fill it, though the local offer is cheaper for them alone.
    offers = [
        offer(1, "ASIA", [(100, "5")], origin=Origin.ASIA, pack_size=25, moq=100),
        offer(2, "LYON", [(1, "5.40")], part="P", origin=Origin.LOCAL),
    ]
    needs = [need(1, 1, tolerance=1, max_unit_price=D("5")), need(2, 98, tolerance=1)]
    plan = solve(needs, offers, free("ASIA", "LYON"), SETTINGS)
    assert plan.unserved_units == 0
    assert [(a.offer.supplier, a.allocated) for a in plan.allocations] in (
        [("ASIA", 1), ("ASIA", 99)],
        [("ASIA", 2), ("ASIA", 98)],
    )
    assert plan.objective == D("550.00")


def test_serving_more_units_beats_saving_money():
    # Serving the 3-unit need forces the dear small-pack offer for everyone.
    offers = [offer(1, "BULK", [(1, "1")], pack_size=10), offer(2, "SMALL", [(1, "9")])]
    plan = solve([need(1, 10), need(2, 3)], offers, free("BULK", "SMALL"), SETTINGS)
    assert plan.unserved_units == 0
    assert by_need(plan)[2].offer.supplier == "SMALL"


def test_at_equal_cost_the_need_posted_first_is_served():
    # Both shops cap the price at 2.00, so the 10-unit tier (2.50) is closed to them:
    # the line stays below 10 units and only one of the two 5-unit needs fits.
    offers = [offer(1, "S", [(5, "2.00"), (10, "2.50")], pack_size=5)]
    cap = D("2.00")
    first = solve(
        [
            NeedIn(1, "A", "1", "P", 5, max_unit_price=cap, rank=0),
            NeedIn(2, "B", "1", "P", 5, max_unit_price=cap, rank=1),
        ],
        offers,
        free("S"),
        SETTINGS,
    )
    assert [a.need.member for a in first.allocations if a.allocated] == ["A"]
    swapped = solve(
        [
            NeedIn(1, "A", "1", "P", 5, max_unit_price=cap, rank=1),
            NeedIn(2, "B", "1", "P", 5, max_unit_price=cap, rank=0),
        ],
        offers,
        free("S"),
        SETTINGS,
    )
    assert [a.need.member for a in swapped.allocations if a.allocated] == ["B"]


@pytest.mark.parametrize("first", ["A", "B"])
def test_at_equal_cost_the_need_posted_first_is_served_even_when_needs_differ(first):
    # B accepts one extra unit, so the two needs are not interchangeable: the tie-break
    # folded into the cost stage decides, not the reordering of alike needs.
    offers = [offer(1, "S", [(5, "2.00"), (10, "2.50")], pack_size=5)]
    cap = D("2.00")
    plan = solve(
        [
            NeedIn(1, "A", "1", "P", 5, max_unit_price=cap, rank=0 if first == "A" else 1),
            NeedIn(
                2, "B", "1", "P", 5, tolerance=1, max_unit_price=cap, rank=0 if first == "B" else 1
            ),
        ],
        offers,
        free("S"),
        SETTINGS,
    )
    assert [a.need.member for a in plan.allocations if a.allocated] == [first]


def test_no_offer_at_all_is_explained():
    plan = solve([need(1, 2, part="X")], [offer(1, "S", [(1, "2")])], free("S"), SETTINGS)
    assert by_need(plan)[1].reason == "no offer for this part"


# --- an independent check against brute force on small instances ---------------------


def brute_force(needs, offers, suppliers, cfg):
    """Enumerate every assignment and allocation; return the best (unserved, cost) key."""
    choices = []
    for n in needs:
        options = [(None, None, 0)]
        for o in offers:
            for j in eligible_tiers(n, o, cfg):
                for units in range(n.minimum, n.quantity + n.tolerance + 1):
                    options.append((o, j, units))
        choices.append(options)
    best = None
    suppliers_by_code = {s.code: s for s in suppliers}
    for combo in product(*choices):
        lines = {}
        for o, j, units in combo:
            if o is not None:
                lines.setdefault((o.id, j), [o, j, 0])[2] += units
        ok = True
        for o, j, units in lines.values():
            low = max(o.tiers[j][0], o.moq)
            high = o.tiers[j + 1][0] - 1 if j + 1 < len(o.tiers) else units
            if units % o.pack_size or units < low or units > high:
                ok = False
        if not ok or len({o.id for o, _, _ in lines.values()}) != len(lines):
            continue
        unserved = sum(
            n.quantity - min(u, n.quantity) for n, (_, _, u) in zip(needs, combo, strict=True)
        )
        goods = {}
        cost = D(0)
        for o, j, units in lines.values():
            amount = o.tiers[j][1] * units
            goods[o.supplier] = goods.get(o.supplier, D(0)) + amount
            cost += amount * (1 + cfg.penalties[o.origin])
        for code, subtotal in goods.items():
            s = suppliers_by_code[code]
            if not (s.free_shipping_over is not None and subtotal >= s.free_shipping_over):
                cost += s.shipping_fee
        key = (unserved, cost)
        if best is None or key < best:
            best = key
    return best


tiers = st.lists(
    st.tuples(st.integers(1, 6), st.decimals(min_value=1, max_value=9, places=1)),
    min_size=1,
    max_size=2,
    unique_by=lambda t: t[0],
).map(lambda ts: sorted(ts))


@settings(max_examples=40, deadline=None)
@given(
    quantities=st.lists(st.tuples(st.integers(1, 4), st.integers(0, 2)), min_size=1, max_size=3),
    offer_terms=st.lists(
        st.tuples(tiers, st.integers(1, 3), st.sampled_from(list(Origin)), st.integers(0, 5)),
        min_size=1,
        max_size=2,
    ),
)
def test_the_engine_matches_brute_force(quantities, offer_terms):
    needs = [need(i, q, tolerance=t) for i, (q, t) in enumerate(quantities)]
    offers = [
        offer(i, f"S{i}", [(q, str(p)) for q, p in ts], origin=origin, pack_size=pack)
        for i, (ts, pack, origin, _) in enumerate(offer_terms)
    ]
    suppliers = [SupplierIn(f"S{i}", D(fee)) for i, (_, _, _, fee) in enumerate(offer_terms)]
    plan = solve(needs, offers, suppliers, SETTINGS)
    assert plan.status == "optimal"
    unserved, cost = brute_force(needs, offers, suppliers, SETTINGS)
    assert plan.unserved_units == unserved
    assert abs(exact_objective(plan) - cost) < D("0.000001")


def exact_objective(plan):
    """Goods + shipping + penalties without rounding, as the solver weighs them."""
    return (
        sum(
            (
                line.tier[1] * line.quantity * (1 + PENALTIES[line.offer.origin])
                for line in plan.lines
            ),
            D(0),
        )
        + plan.shipping_total
    )


@settings(max_examples=40, deadline=None)
@given(
    quantities=st.lists(
        st.tuples(st.sampled_from("PQ"), st.integers(1, 4), st.integers(0, 2)),
        min_size=1,
        max_size=3,
    ),
    offer_terms=st.lists(
        st.tuples(st.sampled_from("PQ"), st.integers(0, 1), tiers, st.integers(1, 3)),
        min_size=1,
        max_size=3,
    ),
    fees=st.lists(
        st.tuples(st.integers(0, 9), st.none() | st.integers(2, 20)), min_size=2, max_size=2
    ),
)
def test_the_engine_matches_brute_force_across_parts(quantities, offer_terms, fees):
    # Two parts and two suppliers with fees and free-shipping thresholds: the parts are
    # linked through the suppliers, or not, as the engine's decomposition decides.
    needs = [need(i, q, part=part, tolerance=t) for i, (part, q, t) in enumerate(quantities)]
    offers = [
        offer(i, f"S{s}", [(q, str(p)) for q, p in ts], part=part, pack_size=pack)
        for i, (part, s, ts, pack) in enumerate(offer_terms)
    ]
    suppliers = [
        SupplierIn(f"S{i}", D(fee), None if over is None else D(over))
        for i, (fee, over) in enumerate(fees)
    ]
    plan = solve(needs, offers, suppliers, SETTINGS)
    assert plan.status == "optimal"
    unserved, cost = brute_force(needs, offers, suppliers, SETTINGS)
    assert plan.unserved_units == unserved
    assert abs(exact_objective(plan) - cost) < D("0.000001")


@pytest.mark.parametrize(
    ("units", "pack", "problem"),
    [(7, 5, "whole packs"), (12, 1, "outside [minimum, quantity + tolerance]")],
)
def test_the_checker_catches_broken_plans(units, pack, problem):
    o = offer(1, "S", [(1, "2")], pack_size=pack)
    n = need(1, 10)
    plan = Plan(
        "optimal", 0.0, [Allocation(n, o, o.tiers[0], units)], [solver.Line(o, o.tiers[0], units)]
    )
    assert any(problem in p for p in check_plan(plan, SETTINGS))


# --- pieces: parts linked through a supplier's fee, or not --------------------------------


@pytest.mark.parametrize(("fee", "chosen"), [("15", {"A"}), ("25", {"B", "C"})])
def test_a_shared_fee_links_two_parts(fee, chosen):
    # A sells both parts at 10.00 with a fee; B and C sell one each at 11.00, no fee.
    # All Europe (3 %): A for both is 206.00 + fee, B and C 226.60.
    offers = [
        offer(1, "A", [(1, "10")], part="P"),
        offer(2, "A", [(1, "10")], part="Q"),
        offer(3, "B", [(1, "11")], part="P"),
        offer(4, "C", [(1, "11")], part="Q"),
    ]
    suppliers = [SupplierIn("A", D(fee)), SupplierIn("B"), SupplierIn("C")]
    plan = solve([need(1, 10, part="P"), need(2, 10, part="Q")], offers, suppliers, SETTINGS)
    assert {a.offer.supplier for a in plan.allocations} == chosen
    # The gap is the tie-break's reward at most: a fraction of a cent.
    assert plan.status == "optimal" and plan.gap < 1e-4


def test_a_supplier_every_plan_uses_charges_its_fee_once():
    # Only A sells Q, so A's fee is paid anyway: P goes to A too, though B is cheaper
    # than A plus a fee.
    offers = [
        offer(1, "A", [(1, "10")], part="P"),
        offer(2, "A", [(1, "10")], part="Q"),
        offer(3, "B", [(1, "11")], part="P"),
    ]
    suppliers = [SupplierIn("A", D("25")), SupplierIn("B")]
    plan = solve([need(1, 10, part="P"), need(2, 10, part="Q")], offers, suppliers, SETTINGS)
    assert {a.offer.supplier for a in plan.allocations} == {"A"}
    assert plan.shipping == {"A": D("25.00")}
    assert plan.objective == D("231.00")
    assert plan.bound <= plan.objective


def test_a_fee_charging_supplier_a_part_cannot_do_without_links_the_parts():
    # A (fee 20) and B (fee 30) both sell P, but B only in packs of 20: P needs A, so A's
    # fee is paid and Q goes to A too (10.00 against C's 12.00). P's floor without A is
    # "impossible", which the piece's model must read as "A is used", not as infeasible.
    offers = [
        offer(1, "A", [(1, "10")], part="P"),
        offer(2, "A", [(1, "10")], part="Q"),
        offer(3, "B", [(20, "5")], part="P", pack_size=20),
        offer(4, "C", [(1, "12")], part="Q"),
    ]
    suppliers = [SupplierIn("A", D("20")), SupplierIn("B", D("30")), SupplierIn("C")]
    plan = solve([need(1, 10, part="P"), need(2, 10, part="Q")], offers, suppliers, SETTINGS)
    assert plan.status == "optimal"
    assert {a.offer.supplier for a in plan.allocations} == {"A"}
    assert plan.objective == D("226.00") and plan.bound <= plan.objective


def test_a_time_limit_still_leaves_a_checked_plan():
    needs, offers, suppliers = linked_campaign()
    cfg = Settings(order_date=ORDER_DATE, penalties=PENALTIES, time_limit=0.01)
    plan = solve(needs, offers, suppliers, cfg)
    assert plan.status in {"optimal", "feasible"}
    assert plan.unserved_units < sum(n.quantity for n in needs)
    assert plan.bound <= plan.objective


def test_progress_is_reported_in_french_from_0_to_1():
    calls = []
    offers = [offer(1, "S", [(1, "2")], pack_size=4)]
    plan = solve(
        [need(1, 6, min_quantity=4), need(2, 3, part="X")],
        offers,
        free("S"),
        SETTINGS,
        on_progress=lambda done, message: calls.append((done, message)),
    )
    assert calls[0] == (0.0, "Préparation") and calls[-1] == (1.0, "Terminé")
    dones = [done for done, _ in calls]
    assert dones == sorted(dones) and all(0 <= d <= 1 for d in dones)
    assert "Unités servies : pièce 1 sur 1" in [m for _, m in calls]
    assert "Coût : composante 1 sur 1" in [m for _, m in calls]
    assert plan.seconds > 0


# --- the greedy rule ---------------------------------------------------------------------


def test_the_greedy_rule_takes_the_cheapest_offer_at_the_pooled_quantity():
    # Pooled, 12 units reach A's 8.00 tier, cheaper than B's 8.50; the rule ignores A's fee,
    # the engine does not.
    offers = [offer(1, "A", [(1, "10"), (10, "8")]), offer(2, "B", [(1, "8.50")])]
    suppliers = [SupplierIn("A", D("30")), SupplierIn("B")]
    plan = greedy([need(1, 6), need(2, 6)], offers, suppliers, SETTINGS)
    assert check_plan(plan, SETTINGS) == []
    assert plan.status == "greedy" and math.isnan(plan.gap)
    assert [(line.offer.supplier, line.quantity, line.tier[1]) for line in plan.lines] == [
        ("A", 12, D("8"))
    ]
    assert (plan.goods, plan.shipping_total) == (D("96.00"), D("30.00"))
    best = solve([need(1, 6), need(2, 6)], offers, suppliers, SETTINGS)
    assert {a.offer.supplier for a in best.allocations} == {"B"}  # 105.06 against 128.88


def linked_campaign(count=120):
    """13 parts, 5 suppliers with fees (some waived from 100.00): one piece to solve."""
    needs = [need(i, 1 + i % 7, part=f"P{i % 13}", tolerance=i % 3) for i in range(count)]
    tiers = [(1, "3.10"), (12, "2.70"), (40, "2.55")]
    offers = [
        offer(
            i,
            f"S{i % 5}",
            tiers,
            part=f"P{i % 13}",
            pack_size=1 + i % 4,
            origin=list(Origin)[i % 5],
        )
        for i in range(39)
    ]
    suppliers = [SupplierIn(f"S{s}", D(20 + s), D(100) if s % 2 else None) for s in range(5)]
    return needs, offers, suppliers


# The engine's own bar (a relative gap of 1e-4): a linked campaign of 60 needs proves in
# under a second.
PROVEN = Settings(order_date=ORDER_DATE, penalties=PENALTIES, time_limit=120)


def test_progress_moves_while_a_piece_is_solved(monkeypatch):
    # The review page polls the run's message: inside a long solve it names the best plan
    # found so far and its proven gap, and the bar keeps moving forward (here at every
    # call from HiGHS, not four times a second at most).
    monkeypatch.setattr(solver, "PROGRESS_EVERY", 0.0)
    calls = []
    solve(*linked_campaign(60), PROVEN, on_progress=lambda d, m: calls.append((d, m)))
    inside = [(d, m) for d, m in calls if ", meilleur plan " in m]
    assert inside
    assert all(m.startswith("Coût : composante 1 sur 1, meilleur plan ") for _, m in inside)
    assert any(", écart prouvé " in m and m.endswith(" %") for _, m in inside)
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and dones[-1] == 1.0


def test_a_progress_report_that_fails_stops_the_solve_with_its_error():
    # HiGHS's callback would swallow it: a run whose progress cannot be written fails.
    def report(done, message):
        if ", meilleur plan " in message:
            raise RuntimeError("database gone")

    with pytest.raises(RuntimeError, match="database gone"):
        solver.solve(*linked_campaign(60), PROVEN, on_progress=report)


def test_the_same_campaign_gives_the_same_plan():
    # Proven optimal, the plan does not depend on how fast the machine was (a time limit
    # stopping the search, it may).
    needs, offers, suppliers = linked_campaign(60)
    plans = [solve(needs, offers, suppliers, PROVEN) for _ in range(2)]
    assert [plan.status for plan in plans] == ["optimal", "optimal"]
    first, second = (
        [(a.need.id, a.offer and a.offer.id, a.allocated) for a in plan.allocations]
        for plan in plans
    )
    assert first == second
    assert plans[0].objective == plans[1].objective


def test_the_greedy_rule_leaves_out_the_need_that_cannot_fit_a_pack():
    # 7 (+3) and 5 units cannot make whole packs of 10 together; without the 5 they can.
    plan = greedy(
        [need(1, 7, tolerance=3), need(2, 5)],
        [offer(1, "S", [(1, "2")], pack_size=10)],
        free("S"),
        SETTINGS,
    )
    assert check_plan(plan, SETTINGS) == []
    assert [(a.allocated, a.reason) for a in plan.allocations] == [
        (10, None),
        (0, "pack of 10 is 5 units short"),
    ]


prices = st.decimals(min_value=1, max_value=9, places=2)


@st.composite
def campaigns(draw, most_needs=7, most_units=8, most_offers=5):
    """Small campaigns with every rule in play: two parts, dates, caps, minimums, fees,
    thresholds, and the manager's controls."""
    needs = [
        NeedIn(
            i,
            f"M{i}",
            str(i),
            draw(st.sampled_from("PQ")),
            q := draw(st.integers(1, most_units)),
            tolerance=draw(st.integers(0, 3)),
            min_quantity=draw(st.none() | st.integers(1, q)),
            needed_by=draw(st.none() | st.sampled_from([ORDER_DATE + timedelta(days=10)])),
            max_unit_price=draw(st.none() | prices),
            rank=draw(st.integers(0, 20)),
        )
        for i in range(draw(st.integers(1, most_needs)))
    ]
    offers = [
        OfferIn(
            i,
            f"S{draw(st.integers(0, 2))}",
            draw(st.sampled_from("PQ")),
            tuple(
                sorted(
                    (q, draw(prices))
                    for q in draw(st.sets(st.integers(1, 12), min_size=1, max_size=3))
                )
            ),
            draw(st.sampled_from(list(Origin))),
            pack_size=draw(st.integers(1, 5)),
            moq=draw(st.integers(0, 8)),
            lead_time_days=draw(st.sampled_from([3, 30])),
            valid_until=draw(st.none() | st.sampled_from([ORDER_DATE - timedelta(days=1)])),
        )
        for i in range(draw(st.integers(1, most_offers)))
    ]
    thresholds = st.none() | prices.map(lambda p: p * 10)
    suppliers = [
        SupplierIn(f"S{s}", D(draw(st.integers(0, 30))), draw(thresholds)) for s in range(3)
    ]
    codes = st.sampled_from(["S0", "S1", "S2"])
    cfg = controls(
        excluded_suppliers=frozenset(draw(st.sets(codes, max_size=1))),
        pinned_needs=draw(st.dictionaries(st.integers(0, 6), codes, max_size=2)),
        pinned_parts=draw(st.dictionaries(st.sampled_from("PQ"), codes, max_size=1)),
    )
    return needs, offers, suppliers, cfg


@settings(max_examples=60, deadline=None)
@given(campaigns())
def test_the_greedy_rule_keeps_every_rule_and_the_engine_does_at_least_as_well(campaign):
    needs, offers, suppliers, cfg = campaign
    rule = greedy(needs, offers, suppliers, cfg)
    assert check_plan(rule, cfg) == []
    for a in rule.allocations:
        assert (a.why is None) == (a.allocated >= a.need.quantity)
        assert a.reason is None or a.reason == a.why.english()
    best = solve(needs, offers, suppliers, cfg)
    assert (best.unserved_units, exact_objective(best)) <= (
        rule.unserved_units,
        exact_objective(rule),
    )


@settings(max_examples=40, deadline=None)
@given(campaigns(most_needs=3, most_units=4, most_offers=3))
def test_the_engine_matches_brute_force_under_every_rule(campaign):
    needs, offers, suppliers, cfg = campaign
    plan = solve(needs, offers, suppliers, cfg)
    assert plan.status == "optimal"
    assert (plan.unserved_units, exact_objective(plan)) == pytest.approx(
        brute_force(needs, offers, suppliers, cfg), abs=D("0.000001")
    )


# --- buying alone --------------------------------------------------------------------------


def test_solo_cost_buys_whole_packs_up_to_a_tier_and_pays_the_fee():
    # A: 7 units -> 10 (two packs of 5) at 1.80 = 18.00, plus a 9.00 fee; B: 7 x 3.00 = 21.00.
    a = offer(1, "A", [(1, "2.00"), (10, "1.80")], pack_size=5)
    b = offer(2, "B", [(1, "3.00")])
    suppliers = [SupplierIn("A", D("9")), SupplierIn("B")]
    assert solo_cost(need(1, 7), [a, b], suppliers, SETTINGS) == (D("21.00"), b)
    waived = [SupplierIn("A", D("9"), D("15")), SupplierIn("B")]
    assert solo_cost(need(1, 7), [a, b], waived, SETTINGS) == (D("18.00"), a)


def test_solo_cost_reaches_the_moq_and_rounds_half_up():
    moq = offer(1, "A", [(1, "2.00"), (10, "1.80")], pack_size=5, moq=12)
    assert solo_cost(need(1, 7), [moq], free("A"), SETTINGS) == (D("27.00"), moq)  # 15 x 1.80
    cheap = offer(2, "A", [(1, "0.125")])
    assert solo_cost(need(1, 3), [cheap], free("A"), SETTINGS) == (D("0.38"), cheap)


def test_solo_cost_keeps_the_shop_s_rules():
    a = offer(1, "A", [(1, "2.00"), (10, "1.80")], pack_size=5, lead_time_days=30)
    assert solo_cost(need(1, 7, max_unit_price=D("1.70")), [a], free("A"), SETTINGS) is None
    assert solo_cost(need(1, 7, max_unit_price=D("1.80")), [a], free("A"), SETTINGS) == (
        D("18.00"),
        a,
    )
    late = need(1, 7, needed_by=date(2026, 12, 20))
    assert solo_cost(late, [a], free("A"), SETTINGS) is None
    assert solo_cost(need(1, 7), [a], free("A"), controls(excluded_suppliers={"A"})) is None


def test_solo_total_adds_up_the_needs_that_can_be_bought_alone():
    offers = [offer(1, "A", [(1, "3.00")]), offer(2, "A", [(1, "1.25")], part="Q")]
    needs = [need(1, 7), need(2, 2, part="Q"), need(3, 1, part="NONE")]
    assert solo_total(needs, offers, free("A"), SETTINGS) == D("23.50")


# --- the manager's controls ----------------------------------------------------------------

CHEAP_AND_DEAR = [offer(1, "CHEAP", [(1, "2")]), offer(2, "DEAR", [(1, "3")])]


def test_an_excluded_supplier_is_never_used():
    cfg = controls(excluded_suppliers=frozenset({"CHEAP"}))
    plan = solve([need(1, 5)], CHEAP_AND_DEAR, free("CHEAP", "DEAR"), cfg)
    assert by_need(plan)[1].offer.supplier == "DEAR"
    both = controls(excluded_suppliers=frozenset({"CHEAP", "DEAR"}))
    plan = solve([need(1, 5)], CHEAP_AND_DEAR, free("CHEAP", "DEAR"), both)
    assert by_need(plan)[1].why == Reason("excluded")
    assert by_need(plan)[1].reason == "excluded by the manager's choices"


def test_pins_on_a_need_and_on_a_part():
    needs, suppliers = [need(1, 5), need(2, 5)], free("CHEAP", "DEAR")
    plan = solve(needs, CHEAP_AND_DEAR, suppliers, controls(pinned_needs={1: "DEAR"}))
    assert [a.offer.supplier for a in plan.allocations] == ["DEAR", "CHEAP"]
    plan = solve(needs, CHEAP_AND_DEAR, suppliers, controls(pinned_parts={"P": "DEAR"}))
    assert [a.offer.supplier for a in plan.allocations] == ["DEAR", "DEAR"]
    # The need's pin wins over its part's.
    both = controls(pinned_parts={"P": "DEAR"}, pinned_needs={2: "CHEAP"})
    plan = solve(needs, CHEAP_AND_DEAR, suppliers, both)
    assert [a.offer.supplier for a in plan.allocations] == ["DEAR", "CHEAP"]
    nowhere = solve(needs, CHEAP_AND_DEAR, suppliers, controls(pinned_needs={1: "ELSEWHERE"}))
    assert by_need(nowhere)[1].why == Reason("excluded")
    greedy_plan = greedy(needs, CHEAP_AND_DEAR, suppliers, both)
    assert [a.offer.supplier for a in greedy_plan.allocations] == ["DEAR", "CHEAP"]


@pytest.mark.parametrize(
    ("cfg", "problem"),
    [
        (dict(excluded_suppliers=frozenset({"CHEAP"})), "supplier CHEAP is excluded"),
        (dict(pinned_needs={1: "DEAR"}), "pinned to DEAR, served by CHEAP"),
        (dict(pinned_parts={"P": "DEAR"}), "pinned to DEAR, served by CHEAP"),
    ],
)
def test_the_checker_catches_a_plan_that_ignores_the_manager(cfg, problem):
    plan = solve([need(1, 5)], CHEAP_AND_DEAR, free("CHEAP", "DEAR"), SETTINGS)
    assert problem in " ".join(check_plan(plan, controls(**cfg)))


# --- reasons -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "english"),
    [
        (
            Reason("partly_served", {"allocated": 4, "quantity": 6, "pack": 4}),
            "partly served: 4 of 6, pack of 4",
        ),
        (Reason("no_offer"), "no offer for this part"),
        (Reason("no_valid_offer", {"date": "2026-12-07"}), "no offer valid on 2026-12-07"),
        (Reason("too_late", {"date": "2026-12-20"}), "no offer delivers before 2026-12-20"),
        (
            Reason("over_max_price", {"cheapest": "12.40", "max": "11.00"}),
            "cheapest tier 12.40 > your max 11.00",
        ),
        (Reason("pack_short", {"pack": 10, "short": 7}), "pack of 10 is 7 units short"),
        (
            Reason("minimum_short", {"minimum": 50, "short": 45}),
            "minimum order of 50 is 45 units short",
        ),
        (Reason("costs_units_elsewhere"), "not served: serving it would cost more units elsewhere"),
        (Reason("excluded"), "excluded by the manager's choices"),
    ],
)
def test_reasons_speak_english_from_json_ready_params(reason, english):
    assert reason.english() == english
    assert json.loads(json.dumps(reason.params)) == reason.params


def test_reasons_carry_their_params():
    expired = offer(1, "S", [(1, "2")], valid_until=date(2026, 12, 1))
    plan = solve([need(1, 2)], [expired], free("S"), SETTINGS)
    assert by_need(plan)[1].why == Reason("no_valid_offer", {"date": "2026-12-07"})
    capped = solve(
        [need(1, 5, max_unit_price=D("11"))], [offer(1, "S", [(1, "12.4")])], free("S"), SETTINGS
    )
    assert by_need(capped)[1].why == Reason("over_max_price", {"cheapest": "12.40", "max": "11.00"})


def test_a_plan_solved_by_presolve_is_read_back_right():
    # HiGHS 1.16 returned the starting plan's values (3 x 1.10 = 3.30) with the optimum's
    # objective when presolve solved the model: 1 unit at 1.00 and 2 at 1.10 = 3.20.
    needs = [need(0, 1), need(1, 2, tolerance=1)]
    offers = [
        offer(0, "S0", [(1, "1.0"), (3, "1.2")], origin=Origin.LOCAL),
        offer(1, "S1", [(2, "1.1")], origin=Origin.LOCAL),
    ]
    plan = solve(needs, offers, free("S0", "S1"), SETTINGS)
    assert (plan.status, plan.total_cost) == ("optimal", D("3.20"))
