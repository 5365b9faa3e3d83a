"""The cost split and the sharing of short deliveries, on hand-computed cases and properties."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coop.money import allocate
from coop.orders.campaigns.rules import ShortageRule, SplitKey
from coop.orders.pooling.cost_split import (
    ChargeIn,
    Delivered,
    MissingWeight,
    split_amount,
    split_costs,
)
from coop.orders.purchasing.shortage import Claim, share_received

D = Decimal


# --- largest remainder ---------------------------------------------------------------------


@given(
    cents=st.integers(min_value=-(10**7), max_value=10**7),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30),
)
def test_shares_add_up_exactly_each_within_a_cent_and_deterministic(cents, weights):
    total = D(cents) / 100
    ws = [D(w) / 100 for w in weights]
    shares = allocate(total, ws)
    assert sum(shares, D(0)) == total
    weight_sum = sum(ws) or len(ws)
    for share, w in zip(shares, ws or [], strict=True):
        exact = total * (w if sum(ws) else 1) / weight_sum
        assert abs(share - exact) < D("0.01")
    assert allocate(total, ws) == shares


def test_ties_go_to_the_lower_need_id():
    items = [
        Delivered(need=n, member="M", supplier="S", units=1, unit_price=D("1")) for n in (3, 1, 2)
    ]
    # 0.10 over three equal goods: 0.04 to need 1, then 0.03 each.
    assert split_amount(D("0.10"), items, SplitKey.VALUE) == {
        1: D("0.04"),
        2: D("0.03"),
        3: D("0.03"),
    }


# --- the split ------------------------------------------------------------------------------


def test_goods_shipping_charges_and_fee_on_a_hand_computed_campaign():
    delivered = [
        # VELO01: 6 tyres at 8.00 (48.00) and 2 chains at 18.2050 (36.41).
        Delivered(1, "VELO01", "LYON", 6, D("8.0000"), weight_g=400),
        Delivered(2, "VELO01", "VILLE", 2, D("18.2050"), weight_g=300),
        # VELO02: 4 tyres at 8.00 (32.00).
        Delivered(3, "VELO02", "LYON", 4, D("8.0000"), weight_g=400),
        Delivered(4, "VELO02", "LYON", 0, D("8.0000"), weight_g=400),  # got nothing
    ]
    split = split_costs(
        delivered,
        {"LYON": D("10.00"), "VILLE": D("0.00")},
        charges=[
            ChargeIn(1, D("7.00"), SplitKey.QUANTITY),
            ChargeIn(2, D("5.00"), SplitKey.WEIGHT, supplier="LYON"),
        ],
        fee_rate=D("0.025"),
    )
    needs = split.needs
    assert set(needs) == {1, 2, 3}
    assert [needs[n].goods for n in (1, 2, 3)] == [D("48.00"), D("36.41"), D("32.00")]
    # LYON's 10.00 over 48.00 and 32.00 of goods: 6.00 and 4.00.
    assert [needs[n].shipping for n in (1, 2, 3)] == [D("6.00"), D("0.00"), D("4.00")]
    # 7.00 over 6 + 2 + 4 units: 3.50, 1.166..., 2.333... -> 3.50, 1.17, 2.33.
    assert [needs[n].charges[1] for n in (1, 2, 3)] == [D("3.50"), D("1.17"), D("2.33")]
    # 5.00 on LYON's needs by weight: 2,400 g and 1,600 g -> 3.00 and 2.00.
    assert (needs[1].charges[2], needs[3].charges[2]) == (D("3.00"), D("2.00"))
    assert 2 not in needs[2].charges
    # Fee: 2.5 % of 84.41 = 2.11025 -> 2.11; of 32.00 = 0.80.
    assert split.fees == {"VELO01": D("2.11"), "VELO02": D("0.80")}
    assert needs[1].total == D("48.00") + D("6.00") + D("3.50") + D("3.00")


def test_a_weight_key_needs_every_weight():
    delivered = [Delivered(1, "M", "S", 1, D("1")), Delivered(2, "M", "S", 1, D("1"), 100)]
    with pytest.raises(MissingWeight) as error:
        split_costs(delivered, {}, charges=[ChargeIn(1, D("1.00"), SplitKey.WEIGHT)])
    assert error.value.args[0] == [1]


def test_a_charge_on_a_supplier_nobody_received_from_is_refused():
    with pytest.raises(ValueError, match="charge 9"):
        split_costs(
            [Delivered(1, "M", "S", 1, D("1"))],
            {},
            charges=[ChargeIn(9, D("1.00"), supplier="OTHER")],
        )


@given(
    lines=st.lists(
        st.tuples(
            st.integers(0, 50),
            st.integers(1, 50_000),
            st.sampled_from("ABC"),
            st.sampled_from(["M1", "M2", "M3"]),
        ),
        min_size=1,
        max_size=25,
    ),
    fee=st.integers(0, 100_000),
    charge=st.integers(-5_000, 100_000),
    key=st.sampled_from(list(SplitKey)),
)
def test_every_amount_split_adds_up_to_the_cent(lines, fee, charge, key):
    delivered = [
        Delivered(i, member, supplier, units, D(price) / 10_000, weight_g=250)
        for i, (units, price, supplier, member) in enumerate(lines)
    ]
    served_by = {d.supplier for d in delivered if d.units}
    fees = {s: D(fee) / 100 for s in served_by}
    charges = [ChargeIn(1, D(charge) / 100, key)] if served_by else []
    split = split_costs(delivered, fees, charges, fee_rate=D("0.02"), shipping_key=key)
    for supplier in served_by:
        shares = [
            split.needs[d.need].shipping for d in delivered if d.units and d.supplier == supplier
        ]
        assert sum(shares, D(0)) == fees[supplier]
    if charges:
        assert sum((c.charges[1] for c in split.needs.values()), D(0)) == charges[0].amount
    assert all(c.goods == (c.goods.quantize(D("0.01"))) for c in split.needs.values())


# --- short deliveries -----------------------------------------------------------------------


def test_pro_rata_with_requested_units_before_tolerance_units():
    # 3 shops on a line of 20 (packs of 10): 8 + 2 tolerance, 6, 4; only 10 arrived.
    claims = [Claim(1, 8, 2, rank=0), Claim(2, 6, 0, rank=1), Claim(3, 4, 0, rank=2)]
    # Requested 18 > 10: pro rata to 8, 6, 4 -> 4.44, 3.33, 2.22 -> 4, 3, 2 + 1 by remainder.
    assert share_received(claims, 10, ShortageRule.PRO_RATA) == {1: 5, 2: 3, 3: 2}
    # 19 arrived: everyone's requested 18, then 1 of the 2 tolerance units.
    assert share_received(claims, 19, ShortageRule.PRO_RATA) == {1: 9, 2: 6, 3: 4}
    # Over-delivery: allocations in full, the rest is the coop's stock.
    assert share_received(claims, 25, ShortageRule.PRO_RATA) == {1: 10, 2: 6, 3: 4}


def test_first_posted_first_served():
    claims = [Claim(1, 8, 2, rank=2), Claim(2, 6, 0, rank=0), Claim(3, 4, 0, rank=1)]
    assert share_received(claims, 10, ShortageRule.FIRST_POSTED) == {1: 0, 2: 6, 3: 4}
    assert share_received(claims, 15, ShortageRule.FIRST_POSTED) == {1: 5, 2: 6, 3: 4}


def test_remainder_ties_go_to_the_need_posted_first():
    claims = [Claim(7, 1, rank=1), Claim(5, 1, rank=0), Claim(9, 1, rank=2)]
    assert share_received(claims, 2, ShortageRule.PRO_RATA) == {5: 1, 7: 1, 9: 0}


@given(
    claims=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 10)), min_size=1, max_size=12),
    received=st.integers(0, 400),
    rule=st.sampled_from(list(ShortageRule)),
)
def test_shares_never_exceed_allocations_and_use_what_arrived(claims, received, rule):
    items = [Claim(i, r, t, rank=i) for i, (r, t) in enumerate(claims)]
    shares = share_received(items, received, rule)
    allocated = sum(c.allocated for c in items)
    assert sum(shares.values()) == min(received, allocated)
    assert all(0 <= shares[c.id] <= c.allocated for c in items)
    requested = sum(c.requested for c in items)
    if received <= requested:  # no tolerance unit before every requested one
        assert all(shares[c.id] <= c.requested for c in items)
