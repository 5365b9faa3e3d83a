"""The pooling engine on hand-computed cases, one per rule of spec/pooling.md."""

from datetime import date
from decimal import Decimal
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coop.orders import pooling
from coop.orders.pooling import (
    Allocation,
    NeedIn,
    OfferIn,
    Plan,
    Settings,
    SupplierIn,
    check_plan,
    eligible_tiers,
)
from coop.suppliers.origin import Origin

D = Decimal
ORDER_DATE = date(2026, 12, 7)
PENALTIES = {Origin.LOCAL: D(0), Origin.FRANCE: D(0), Origin.EUROPE: D("0.03"),
             Origin.ASIA: D("0.10"), Origin.OTHER: D("0.10")}  # fmt: skip
# An exact optimum (no gap tolerance), so that brute force can be compared to the cent.
SETTINGS = Settings(order_date=ORDER_DATE, penalties=PENALTIES, time_limit=10, relative_gap=0.0)


def solve(needs, offers, suppliers, cfg):
    """The engine, with every plan it returns checked by the independent checker."""
    plan = pooling.solve(needs, offers, suppliers, cfg)
    assert check_plan(plan, cfg) == []
    return plan


def need(i, qty, part="P", **kw):
    return NeedIn(id=i, member=f"M{i}", ref=str(i), part=part, quantity=qty, rank=i, **kw)


def offer(i, supplier, tiers, part="P", origin=Origin.EUROPE, **kw):
    return OfferIn(id=i, supplier=supplier, part=part, origin=origin,
                   tiers=tuple((q, D(p)) for q, p in tiers), **kw)  # fmt: skip


def free(*codes):
    return [SupplierIn(code) for code in codes]


def by_need(plan):
    return {a.need.id: a for a in plan.allocations}


def test_a_tier_reached_only_by_pooling_two_shops():
    # Alone, 6 units each pay 10.00; together 12 reach the 10-unit tier at 8.00.
    plan = solve([need(1, 6), need(2, 6)], [offer(1, "S", [(1, "10"), (10, "8")])], free("S"),
                 SETTINGS)  # fmt: skip
    assert plan.status == "optimal"
    assert [(line.quantity, line.tier[1]) for line in plan.lines] == [(12, D("8"))]
    assert plan.goods == D("96.00")


def test_a_pack_filled_by_tolerance():
    plan = solve([need(1, 7, tolerance=3)], [offer(1, "S", [(1, "2")], pack_size=10)],
                 free("S"), SETTINGS)  # fmt: skip
    a = by_need(plan)[1]
    assert (a.allocated, a.served, a.reason) == (10, 7, None)
    assert plan.unserved_units == 0


def test_without_tolerance_the_pack_cannot_be_filled_and_the_reason_says_why():
    plan = solve([need(1, 3)], [offer(1, "S", [(1, "2")], pack_size=10)], free("S"), SETTINGS)
    a = by_need(plan)[1]
    assert a.allocated == 0
    assert a.reason == "pack of 10 is 7 units short"
    assert plan.lines == []


def test_a_partial_fill_down_to_the_minimum_quantity():
    plan = solve([need(1, 6, min_quantity=4)], [offer(1, "S", [(1, "2")], pack_size=4)],
                 free("S"), SETTINGS)  # fmt: skip
    a = by_need(plan)[1]
    assert a.allocated == 4
    assert a.reason == "partly served: 4 of 6, pack of 4"
    assert plan.unserved_units == 2


def test_a_lead_time_excludes_the_cheap_asian_offer():
    needs = [need(1, 10, needed_by=date(2026, 12, 20))]
    offers = [offer(1, "ASIA", [(1, "1")], origin=Origin.ASIA, lead_time_days=45),
              offer(2, "LYON", [(1, "3")], origin=Origin.LOCAL, lead_time_days=3)]  # fmt: skip
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
    offers = [offer(1, "ASIA", [(1, "10")], origin=Origin.ASIA),
              offer(2, "LYON", [(1, "10.50")], origin=Origin.LOCAL)]  # fmt: skip
    plan = solve([need(1, 10)], offers, free("ASIA", "LYON"), SETTINGS)
    # 105.00 local against 100.00 + 10 % penalty = 110.00 from Asia.
    assert by_need(plan)[1].offer.supplier == "LYON"
    assert (plan.total_cost, plan.penalty_total, plan.objective) == (
        D("105.00"), D("0.00"), D("105.00"),
    )  # fmt: skip


def test_a_max_price_excludes_a_tier():
    offers = [offer(1, "S", [(1, "12.40"), (50, "10.00")])]
    plan = solve([need(1, 5, max_unit_price=D("11.00"))], offers, free("S"), SETTINGS)
    assert by_need(plan)[1].reason == "minimum order of 50 is 45 units short"
    capped = solve([need(1, 5, max_unit_price=D("11.00"))], [offer(1, "S", [(1, "12.40")])],
                   free("S"), SETTINGS)  # fmt: skip
    assert by_need(capped)[1].reason == "cheapest tier 12.40 > your max 11.00"


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
    first = solve([NeedIn(1, "A", "1", "P", 5, max_unit_price=cap, rank=0),
                   NeedIn(2, "B", "1", "P", 5, max_unit_price=cap, rank=1)],
                  offers, free("S"), SETTINGS)  # fmt: skip
    assert [a.need.member for a in first.allocations if a.allocated] == ["A"]
    swapped = solve([NeedIn(1, "A", "1", "P", 5, max_unit_price=cap, rank=1),
                     NeedIn(2, "B", "1", "P", 5, max_unit_price=cap, rank=0)],
                    offers, free("S"), SETTINGS)  # fmt: skip
    assert [a.need.member for a in swapped.allocations if a.allocated] == ["B"]


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
    min_size=1, max_size=2, unique_by=lambda t: t[0],
).map(lambda ts: sorted(ts))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    quantities=st.lists(st.tuples(st.integers(1, 4), st.integers(0, 2)), min_size=1, max_size=3),
    offer_terms=st.lists(
        st.tuples(tiers, st.integers(1, 3), st.sampled_from(list(Origin)), st.integers(0, 5)),
        min_size=1, max_size=2,
    ),
)  # fmt: skip
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
    engine_cost = (
        sum(
            (
                line.tier[1] * line.quantity * (1 + PENALTIES[line.offer.origin])
                for line in plan.lines
            ),
            D(0),
        )
        + plan.shipping_total
    )
    assert abs(engine_cost - cost) < D("0.000001")


@pytest.mark.parametrize(
    ("units", "pack", "problem"),
    [(7, 5, "whole packs"), (12, 1, "outside [minimum, quantity + tolerance]")],
)
def test_the_checker_catches_broken_plans(units, pack, problem):
    o = offer(1, "S", [(1, "2")], pack_size=pack)
    n = need(1, 10)
    plan = Plan("optimal", 0.0, [Allocation(n, o, o.tiers[0], units)],
                [pooling.Line(o, o.tiers[0], units)])  # fmt: skip
    assert any(problem in p for p in check_plan(plan, SETTINGS))
