"""The cost split from the database: statements, charges, results, on a hand-computed campaign."""

import copy
import csv
import io
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, func, select, update

from coop.accounts.models import Member, Role
from coop.clock import now
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.campaigns.models import Campaign, CampaignStatus, Need
from coop.orders.campaigns.rules import SplitKey
from coop.orders.costs import charging, reporting, splitting, statements, versions
from coop.orders.costs.models import Charge
from coop.orders.pooling.cost_split import ChargeIn, Delivered, split_costs
from coop.orders.pooling.models import PoolingRun
from coop.orders.purchasing import ordering
from coop.orders.purchasing.models import Allocation, OrderStatus, PurchaseOrder
from coop.suppliers.models import Supplier
from coop.suppliers.origin import Origin
from tests.orders.purchasing.test_purchase_orders import close, served, stored_run

D = Decimal


@dataclass
class World:
    campaign: Campaign
    lyon: Supplier
    asia: Supplier
    shops: dict[str, Member]
    needs: dict[str, Need]


def build_world(make, *, receive=True) -> World:
    """Three shops, two suppliers: LYON ships free (over its threshold), ASIA charges 40.00.

    Goods per need (units × unit price, rounded half-up):
      A tyre  6 × 21.9000 = 131.40 (LYON)    B tyre  4 × 21.9000 = 87.60 (LYON)
      A chain 3 × 16.4567 =  49.37 (ASIA)    C chain 5 allocated, 3 received: 49.37 (ASIA)
      B tube 10 ×  3.6500 =  36.50 (ASIA)
    """
    lyon = make.supplier(
        code="LYON",
        name="Lyon Pneus",
        is_local=True,
        shipping_fee=D("15.00"),
        free_shipping_over=D("150.00"),
    )
    asia = make.supplier(code="ASIA", name="Asia Parts", country="TW", shipping_fee=D("40.00"))
    tyre = make.offer(
        lyon,
        make.part(sku="PNEU-700", name="Pneu 700x32C", weight_g=400),
        tiers=((1, "24.5000"), (10, "21.9000")),
    )
    chain = make.offer(
        asia,
        make.part(sku="CHAINE-11V", name="Chaîne 11 vitesses", weight_g=300),
        tiers=((1, "16.4567"),),
    )
    tube = make.offer(
        asia,
        make.part(sku="CHAMBRE-700", name="Chambre à air", weight_g=100),
        tiers=((1, "3.6500"),),
    )
    shops = {k: make.member(code=f"SHOP{k}", name=f"Atelier {k}") for k in "ABC"}
    campaign = make.campaign(fee_rate=D("0.02"))
    needs = {
        "a_tyre": make.need(campaign, shops["A"], tyre.part, quantity=6, ref="L1"),
        "b_tyre": make.need(campaign, shops["B"], tyre.part, quantity=4, ref="L1"),
        "a_chain": make.need(campaign, shops["A"], chain.part, quantity=3, ref="C1"),
        "c_chain": make.need(campaign, shops["C"], chain.part, quantity=5, ref="C1"),
        "b_tube": make.need(campaign, shops["B"], tube.part, quantity=10, ref="T1"),
    }
    closed_at = close(campaign, at=now() - timedelta(hours=1))
    solo = {
        "a_tyre": "162.00",
        "b_tyre": "113.00",
        "a_chain": "96.70",
        "c_chain": None,
        "b_tube": "82.00",
    }
    plan = [
        served(needs["a_tyre"], tyre, 6, "21.9000", 10),
        served(needs["b_tyre"], tyre, 4, "21.9000", 10),
        served(needs["a_chain"], chain, 3, "16.4567", 1),
        served(needs["c_chain"], chain, 5, "16.4567", 1),
        served(needs["b_tube"], tube, 10, "3.6500", 1),
    ]
    for decision, key in zip(plan, needs, strict=True):
        decision["solo"] = solo[key]
    run = stored_run(
        campaign, plan, {"LYON": "0.00", "ASIA": "40.00"}, at=closed_at + timedelta(seconds=1)
    )
    ordering.commit_run(run, at=closed_at + timedelta(minutes=5))
    db.session.commit()
    if receive:
        for key, need in needs.items():
            need.allocation.received = 3 if key == "c_chain" else need.allocation.quantity
        db.session.commit()
    return World(campaign, lyon, asia, shops, needs)


@pytest.fixture
def world(make) -> World:
    return build_world(make)


def add_charges(w: World) -> list[Charge]:
    """Customs on ASIA by weight, a courier by quantity, a pallet by value."""
    terms = [
        charging.ChargeTerms("Douane", D("30.00"), SplitKey.WEIGHT, w.asia),
        charging.ChargeTerms("Coursier", D("25.00"), SplitKey.QUANTITY),
        charging.ChargeTerms("Palette", D("12.00"), SplitKey.VALUE),
    ]
    charges = [charging.add_charge(w.campaign, t) for t in terms]
    db.session.commit()
    return charges


def manager(make):
    return make.user(Role.MANAGER)


# --- the split, by hand ---------------------------------------------------------------------


def test_every_charge_is_split_by_its_own_key_to_the_cent(world):
    customs, courier, pallet = add_charges(world)
    cs = splitting.build_split(world.campaign)
    n = {k: cs.cost(v.id) for k, v in world.needs.items()}
    # Customs 30.00 on ASIA by weight: 3×300 g, 3×300 g, 10×100 g = 900, 900, 1000 of 2800:
    # 9.6428…, 9.6428…, 10.7142… -> 9.64, 9.64, 10.71 + the cent left to the largest remainder.
    assert [n[k].charges.get(customs.id) for k in n] == [
        None,
        None,
        D("9.64"),
        D("9.64"),
        D("10.72"),
    ]
    # Courier 25.00 by units 6, 4, 3, 3, 10 of 26: 5.769, 3.846, 2.884, 2.884, 9.615.
    assert [n[k].charges[courier.id] for k in n] == [
        D("5.77"),
        D("3.85"),
        D("2.88"),
        D("2.88"),
        D("9.62"),
    ]
    # Pallet 12.00 by goods 131.40, 87.60, 49.37, 49.37, 36.50 of 354.24:
    # 4.451, 2.967, 1.672, 1.672, 1.236 -> floors 4.45 2.96 1.67 1.67 1.23, two cents left.
    assert [n[k].charges[pallet.id] for k in n] == [
        D("4.45"),
        D("2.97"),
        D("1.67"),
        D("1.67"),
        D("1.24"),
    ]
    # ASIA's 40.00 by goods 49.37, 49.37, 36.50 of 135.24: 14.602, 14.602, 10.795; LYON free.
    assert [n[k].shipping for k in n] == [D("0.00"), D("0.00"), D("14.60"), D("14.60"), D("10.80")]
    assert cs.split.fees == {"SHOPA": D("3.62"), "SHOPB": D("2.48"), "SHOPC": D("0.99")}


def test_statement_of_a_shop_adds_up_on_the_hand_computed_campaign(world):
    add_charges(world)
    s = statements.member_statement(world.campaign, world.shops["A"])
    assert [line.need.ref for line in s.lines] == ["L1", "C1"]
    tyre, chain = s.lines
    assert (tyre.requested, tyre.allocated, tyre.received) == (6, 6, 6)
    assert tyre.unit_price == D("21.9000")
    assert (tyre.goods, tyre.shipping, tyre.charges, tyre.total) == (
        D("131.40"),
        D("0.00"),
        D("10.22"),
        D("141.62"),
    )
    assert (chain.goods, chain.shipping, chain.charges, chain.total) == (
        D("49.37"),
        D("14.60"),
        D("14.19"),
        D("78.16"),
    )
    assert (s.goods, s.shipping, s.charges, s.subtotal) == (
        D("180.77"),
        D("14.60"),
        D("24.41"),
        D("219.78"),
    )
    # 2 % of 180.77 = 3.6154 -> 3.62.
    assert (s.fee, s.total) == (D("3.62"), D("223.40"))
    assert [(o.origin, o.amount, o.share) for o in s.by_origin if o.amount] == [
        (Origin.LOCAL, D("141.62"), D("0.644")),
        (Origin.ASIA, D("78.16"), D("0.356")),
    ]
    assert not s.is_estimate
    assert [(c.label, share) for c, share in s.charge_shares] == [
        ("Douane", D("9.64")),
        ("Coursier", D("8.65")),
        ("Palette", D("6.12")),
    ]


def test_savings_against_buying_alone_on_a_hand_computed_example(world):
    add_charges(world)  # other charges are not part of the comparison (spec/pooling.md)
    a = statements.member_statement(world.campaign, world.shops["A"])
    # Tyres: 162.00 alone - 131.40 pooled (free shipping) = 30.60.
    # Chains: 96.70 alone - (49.37 + 14.60 shipping share) = 32.73.
    assert [line.savings for line in a.lines] == [D("30.60"), D("32.73")]
    assert (a.solo, a.pooled, a.savings) == (D("258.70"), D("195.37"), D("63.33"))
    b = statements.member_statement(world.campaign, world.shops["B"])
    # 113.00 - 87.60 = 25.40 and 82.00 - (36.50 + 10.80) = 34.70.
    assert b.savings == D("60.10")
    # C's chains came short (3 of 5): the cost alone of 5 is not compared with 3 delivered.
    c = statements.member_statement(world.campaign, world.shops["C"])
    assert c.lines[0].savings is None and c.savings == D("0.00")
    assert c.lines[0].item.is_short and c.has_short


def test_results_total_savings_origins_suppliers_and_shortages(world):
    add_charges(world)
    r = reporting.campaign_results(world.campaign)
    t = r.totals
    assert (t.goods, t.shipping, t.charges, t.fee, t.total) == (
        D("354.24"),
        D("40.00"),
        D("67.00"),
        D("7.09"),
        D("468.33"),
    )
    assert t.savings == D("123.43")
    assert [(s.member.code, s.total, s.savings) for s in r.shops] == [
        ("SHOPA", D("223.40"), D("63.33")),
        ("SHOPB", D("165.78"), D("60.10")),
        ("SHOPC", D("79.15"), D("0.00")),
    ]
    shares = {o.origin: o.amount for o in r.by_origin}
    assert shares[Origin.LOCAL] == D("236.04") and shares[Origin.ASIA] == D("225.20")
    assert [(s.supplier.code, s.goods, s.shipping, s.charges) for s in r.suppliers] == [
        ("LYON", D("219.00"), D("0.00"), D("0.00")),
        ("ASIA", D("135.24"), D("40.00"), D("30.00")),
    ]
    assert [(s.line.part.sku, s.allocated, s.received, s.lost) for s in r.shortages] == [
        ("CHAINE-11V", 8, 6, 2)
    ]
    assert r.rounding == D("0.00")
    assert [(p.campaign.code, p.total, p.savings) for p in r.history] == [
        (world.campaign.code, D("461.24"), D("123.43"))
    ]


def test_lines_not_received_yet_are_an_estimate_on_the_allocated_units(make):
    w = build_world(make, receive=False)
    s = statements.member_statement(w.campaign, w.shops["C"])
    assert s.is_estimate and s.lines[0].received is None
    assert s.goods == D("82.28")  # 5 × 16.4567 = 82.2835: the allocation, not yet received
    rows = statements.statement_rows(s)
    assert rows[1][7] == "" and rows[1][15] == "oui" and rows[-1][15] == "oui"


def test_a_cancelled_order_charges_nothing_and_serves_nothing(world):
    order = db.session.scalar(
        select(PurchaseOrder).where(PurchaseOrder.supplier_id == world.lyon.id)
    )
    order.status = OrderStatus.CANCELLED
    db.session.commit()
    s = statements.member_statement(world.campaign, world.shops["A"])
    assert s.lines[0].item.is_cancelled and s.lines[0].total == D("0.00")
    assert s.goods == D("49.37")


# --- the sum check --------------------------------------------------------------------------


def test_a_split_whose_shares_do_not_add_up_is_refused(world):
    add_charges(world)
    cs = splitting.build_split(world.campaign)  # verified on the way
    cs.split = copy.deepcopy(cs.split)  # the one built is shared: never changed
    delivered = splitting._delivered_of([world.campaign.id])[world.campaign.id].delivered
    charges = splitting.charges_in(cs.charges)
    splitting.verify_split(cs.split, delivered, cs.shipping_fees, charges)
    cs.split.needs[world.needs["b_tube"].id].shipping += D("0.01")
    with pytest.raises(splitting.UnbalancedSplit, match="ASIA"):
        splitting.verify_split(cs.split, delivered, cs.shipping_fees, charges)
    cs.split.needs[world.needs["b_tube"].id].shipping -= D("0.01")
    cs.split.needs[world.needs["a_tyre"].id].charges[charges[1].id] -= D("0.01")
    with pytest.raises(splitting.UnbalancedSplit, match="charge"):
        splitting.verify_split(cs.split, delivered, cs.shipping_fees, charges)


def test_a_split_is_made_again_as_soon_as_what_it_reads_changes(world):
    # Splits are kept by their inputs (splitting._computed_split): a change is a new split.
    first = splitting.build_split(world.campaign)
    assert splitting.build_split(world.campaign).split is first.split
    add_charges(world)
    charged = splitting.build_split(world.campaign)
    assert charged.split is not first.split and charged.charges
    assert all(cost.charges for cost in charged.split.needs.values())
    assert not any(cost.charges for cost in first.split.needs.values())
    world.campaign.fee_rate = D("0.05")
    assert splitting.build_split(world.campaign).split.fees != charged.split.fees


def test_what_a_split_reads_is_read_again_as_soon_as_it_changes(world):
    # The deliveries are kept by the rows they were made from, the plan's solo costs by the
    # plan's stored text (splitting._DELIVERIES, _SOLO): any change is read anew.
    a, tyre = world.shops["A"], world.needs["a_tyre"]
    first = statements.member_statement(world.campaign, a)
    assert (first.goods, first.solo) == (D("180.77"), D("258.70"))
    assert statements.member_statement(world.campaign, a).goods == D("180.77")
    run = db.session.scalar(select(PoolingRun).where(PoolingRun.campaign_id == world.campaign.id))
    record = run.record
    run.record = replace(
        record,
        decisions=tuple(
            replace(d, solo=D("100.00")) if d.need == tyre.id else d for d in record.decisions
        ),
    )
    db.session.commit()
    assert statements.member_statement(world.campaign, a).solo == D("196.70")  # 100.00 + 96.70
    tyre.allocation.received = 5  # not flushed yet: read as any query of the session reads
    assert statements.member_statement(world.campaign, a).goods == D("158.87")  # 109.50 + 49.37
    customs = add_charges(world)[0]
    assert splitting.build_split(world.campaign).cost(world.needs["a_chain"].id).charges[
        customs.id
    ] == D("9.64")
    # Customs by weight: the chain twice as heavy (3×600 g, 3×600 g, 10×100 g of 4,600 g).
    world.needs["a_chain"].part.weight_g = 600
    db.session.commit()
    cs = splitting.build_split(world.campaign)
    assert [
        cs.cost(world.needs[k].id).charges[customs.id] for k in ("a_chain", "c_chain", "b_tube")
    ] == [
        D("11.74"),
        D("11.74"),
        D("6.52"),
    ]


def test_a_kept_plan_is_not_read_back_until_it_is_written_again(world):
    # A shop's home reads its campaign's plan for the costs alone: 2 MB of JSON on a big
    # campaign. It is kept by the run's result_version, which every write of the plan renews.
    a = world.shops["A"]
    run = db.session.scalar(select(PoolingRun).where(PoolingRun.campaign_id == world.campaign.id))
    first_version = run.result_version
    assert first_version and len(first_version) == 32
    engine = db.engines[None].engine
    seen = []

    def listener(conn, cursor, statement, *args):
        seen.append(statement)

    def plan_readings() -> int:
        seen.clear()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            statements.member_statement(world.campaign, a)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return sum("pooling_runs.result," in s or "pooling_runs.result AS" in s for s in seen)

    splitting._SOLO.clear()
    assert plan_readings() == 1
    assert plan_readings() == 0  # kept: only the version is read
    record = run.record
    run.record = replace(record, decisions=record.decisions)  # the same plan, written again
    db.session.commit()
    assert run.result_version not in (None, first_version)
    assert plan_readings() == 1
    assert plan_readings() == 0
    run.record = None
    assert run.result_version is None


def deliveries_readings(campaign) -> int:
    """How many times building the campaign's split joins its deliveries' rows."""
    engine, seen = db.engines[None].engine, []

    def listener(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        splitting.build_split(campaign)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return sum("JOIN allocations ON needs.id = allocations.need_id" in s for s in seen)


def version_of(campaign) -> str | None:
    return versions.versions(db.session(), [campaign.id]).get(campaign.id)


def test_kept_deliveries_are_read_again_only_when_their_campaign_changes(world, make):
    splitting._DELIVERIES.clear()
    assert deliveries_readings(world.campaign) == 1
    assert deliveries_readings(world.campaign) == 0  # kept at the campaign's version
    other = make.campaign()
    other_need = make.need(other, world.shops["A"], world.needs["a_tyre"].part, quantity=1)
    db.session.commit()
    first, other_first = version_of(world.campaign), version_of(other)
    assert first and other_first
    # A receipt: the campaign's version is new, the other campaign's is not.
    world.needs["a_tyre"].allocation.received = 5
    db.session.commit()
    assert version_of(world.campaign) not in (None, first)
    assert version_of(other) == other_first
    assert deliveries_readings(world.campaign) == 1
    assert deliveries_readings(world.campaign) == 0
    # A change that no split reads renews nothing: a campaign's title, a need's quantity
    # (its allocation says what it got).
    second = version_of(world.campaign)
    other_need.quantity = 2
    world.campaign.title = "Autre titre"
    db.session.commit()
    assert version_of(world.campaign) == second
    assert version_of(other) == other_first
    db.session.delete(other_need)  # a need added or deleted does
    db.session.commit()
    assert version_of(other) != other_first
    # A part's weight is read by every campaign's split: every version is new.
    third, other_third = version_of(world.campaign), version_of(other)
    world.needs["a_chain"].part.weight_g = 650
    db.session.commit()
    assert version_of(world.campaign) != third and version_of(other) != other_third


def test_a_transaction_reads_the_deliveries_it_changed_and_keeps_none_of_them(world):
    splitting._DELIVERIES.clear()
    a, tyre = world.shops["A"], world.needs["a_tyre"]
    assert statements.member_statement(world.campaign, a).goods == D("180.77")
    version = version_of(world.campaign)
    tyre.allocation.received = 5
    db.session.flush()  # not committed: the version is the old one, the rows are new
    assert version_of(world.campaign) == version
    assert versions.touched(db.session()) == {world.campaign.id}
    assert statements.member_statement(world.campaign, a).goods == D("158.87")
    assert statements.member_statement(world.campaign, a).goods == D("158.87")
    assert splitting._DELIVERIES[world.campaign.id][0] == version  # the old reading, kept
    db.session.rollback()
    assert versions.touched(db.session()) == set()
    assert version_of(world.campaign) == version
    assert statements.member_statement(world.campaign, a).goods == D("180.77")


def test_a_flush_of_a_whole_campaign_notes_it_in_pieces(world, monkeypatch):
    # Committing a plan flushes every allocation of a campaign at once: their needs are
    # looked up CHUNK at a time (SQLite takes 32,766 parameters a statement at most).
    monkeypatch.setattr(versions, "CHUNK", 2)
    allocations = [n.allocation for n in world.needs.values() if n.allocation is not None]
    assert len(allocations) > 2
    for allocation in allocations:
        allocation.received = 1
    db.session.flush()
    assert versions.touched(db.session()) == {world.campaign.id}


def test_a_savepoint_leaves_the_version_to_the_outermost_commit(world):
    version = version_of(world.campaign)
    with db.session.begin_nested():
        world.needs["a_tyre"].allocation.received = 5
    assert version_of(world.campaign) == version
    assert world.campaign.id in versions.touched(db.session())
    db.session.commit()
    assert version_of(world.campaign) != version
    assert versions.touched(db.session()) == set()


def test_rows_written_around_the_orm_are_marked_by_their_writer(world):
    splitting._DELIVERIES.clear()
    assert deliveries_readings(world.campaign) == 1
    allocation = world.needs["a_tyre"].allocation
    db.session.execute(update(Allocation).where(Allocation.id == allocation.id).values(received=5))
    versions.mark(db.session(), [world.campaign.id])
    db.session.commit()
    assert deliveries_readings(world.campaign) == 1
    db.session.expire_all()
    cs = splitting.build_split(world.campaign)
    assert cs.cost(world.needs["a_tyre"].id).goods == D("109.50")


def test_a_shops_statement_from_its_own_lines_is_the_whole_splits(world):
    add_charges(world)
    whole = splitting.build_split(world.campaign)
    # What the split reads (plain rows) is what every need got, as the items say it.
    served = [item for item in whole.items if item.units]
    rows = splitting._delivered_of([world.campaign.id])[world.campaign.id].delivered
    assert [(d.need, d.member, d.supplier, d.units, d.unit_price) for d in rows] == [
        (i.need.id, i.need.member.code, i.supplier.code, i.units, i.line.unit_price) for i in served
    ]
    members = {item.need.member for item in whole.items}
    assert len(members) > 1
    for member in members:
        own = splitting.build_split(world.campaign, member=member)
        assert {item.need.member_id for item in own.items} == {member.id}
        assert own.split == whole.split
        alone, together = (
            statements.statement_of(own, member),
            statements.statement_of(whole, member),
        )
        assert [(line.item.need.id, line.total) for line in alone.lines] == [
            (line.item.need.id, line.total) for line in together.lines
        ]
        assert (alone.goods, alone.shipping, alone.charges, alone.fee, alone.solo) == (
            together.goods,
            together.shipping,
            together.charges,
            together.fee,
            together.solo,
        )


@given(
    units=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=12),
    prices=st.lists(st.integers(min_value=0, max_value=99999), min_size=12, max_size=12),
    fee=st.integers(min_value=0, max_value=50000),
    amounts=st.lists(st.integers(min_value=-50000, max_value=50000).filter(bool), max_size=4),
    key=st.sampled_from(list(SplitKey)),
)
def test_shares_always_add_up_whatever_the_rounding(units, prices, fee, amounts, key):
    delivered = [
        Delivered(i + 1, f"M{i % 3}", "S" if i % 2 else "T", u, D(prices[i]) / 10000, 250)
        for i, u in enumerate(units)
    ]
    suppliers = {d.supplier for d in delivered if d.units}
    fees = {s: D(fee) / 100 for s in suppliers}
    charges = [ChargeIn(i + 1, D(a) / 100, key) for i, a in enumerate(amounts)] if suppliers else []
    split = split_costs(delivered, fees, charges, D("0.02"), key)
    splitting.verify_split(split, delivered, fees, charges)


# --- charges: added, changed, deleted, refused ----------------------------------------------


def charge_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Charge))


def test_the_manager_adds_edits_and_deletes_a_charge(client, make, world):
    client.login_as(manager(make))
    url = f"/campaigns/{world.campaign.id}/charges"
    response = client.post(
        url,
        data={
            "label": "Douane",
            "amount": "30,00",
            "key": "weight",
            "supplier": str(world.asia.id),
        },
    )
    assert response.status_code == 302
    charge = db.session.scalar(select(Charge))
    assert (charge.amount, charge.key, charge.supplier_id) == (
        D("30.00"),
        SplitKey.WEIGHT,
        world.asia.id,
    )
    page = client.get(url).text
    assert "Douane" in page and "Atelier B" in page and "10,72" in page
    response = client.post(
        f"{url}/{charge.id}/edit",
        data={"label": "Transitaire", "amount": "-5", "key": "quantity", "supplier": ""},
    )
    assert response.status_code == 302
    assert (charge.label, charge.amount, charge.supplier_id) == ("Transitaire", D("-5.00"), None)
    assert "Supprimer le frais" in client.get(f"{url}/{charge.id}/delete").text
    assert client.post(f"{url}/{charge.id}/delete").status_code == 302
    assert charge_count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"label": "Douane", "amount": "abc"}, "Nombre attendu"),
        ({"label": "Douane", "amount": "0"}, "Un frais de 0"),
        ({"label": "Douane", "amount": "12,345"}, "au centime près"),
        ({"label": "", "amount": "12"}, "Donnez un libellé"),
        ({"label": "Douane", "amount": "12", "key": "volume"}, "pas un choix valide"),
        ({"label": "Douane", "amount": "12", "supplier": "999999"}, "ne livre rien"),
    ],
)
def test_a_bad_charge_is_refused_with_a_french_message_and_nothing_written(
    client, make, world, data, message
):
    client.login_as(manager(make))
    response = client.post(
        f"/campaigns/{world.campaign.id}/charges", data={"key": "value", "supplier": ""} | data
    )
    assert response.status_code == 200
    assert message in response.text
    assert charge_count() == 0


def test_a_weight_key_without_weights_is_refused_naming_the_parts(client, make, world):
    world.needs["b_tube"].part.weight_g = None
    db.session.commit()
    client.login_as(manager(make))
    response = client.post(
        f"/campaigns/{world.campaign.id}/charges",
        data={"label": "Douane", "amount": "30", "key": "weight", "supplier": ""},
    )
    assert "CHAMBRE-700" in response.text and "poids" in response.text
    assert charge_count() == 0
    # A charge on LYON alone does not need the tube's weight.
    response = client.post(
        f"/campaigns/{world.campaign.id}/charges",
        data={"label": "Coursier", "amount": "30", "key": "weight", "supplier": str(world.lyon.id)},
    )
    assert response.status_code == 302 and charge_count() == 1
    # Nor can the shipping key become the weight.
    response = client.post(
        f"/campaigns/{world.campaign.id}/shipping-key",
        data={"key": "weight"},
        follow_redirects=True,
    )
    assert "CHAMBRE-700" in response.text
    assert world.campaign.shipping_key is SplitKey.VALUE


def test_charges_are_refused_once_the_campaign_is_invoiced(client, make, world):
    world.campaign.status = CampaignStatus.INVOICED
    db.session.commit()
    client.login_as(manager(make))
    response = client.post(
        f"/campaigns/{world.campaign.id}/charges",
        data={"label": "Douane", "amount": "30", "key": "value", "supplier": ""},
    )
    assert "est facturée" in response.text
    assert charge_count() == 0
    with pytest.raises(DomainError, match="facturée"):
        charging.set_shipping_key(world.campaign, "quantity")


def test_charges_are_refused_before_the_pooling(make):
    campaign = make.campaign()
    with pytest.raises(DomainError, match="pas encore mutualisée"):
        charging.add_charge(campaign, charging.ChargeTerms("Douane", D("10.00")))


def test_the_manager_changes_the_shipping_key_after_pooling(client, make, world):
    client.login_as(manager(make))
    client.post(f"/campaigns/{world.campaign.id}/shipping-key", data={"key": "quantity"})
    assert world.campaign.shipping_key is SplitKey.QUANTITY
    cs = splitting.build_split(world.campaign)
    # 40.00 by units 3, 3, 10 of 16: 7.50, 7.50, 25.00.
    assert [cs.cost(world.needs[k].id).shipping for k in ("a_chain", "c_chain", "b_tube")] == [
        D("7.50"),
        D("7.50"),
        D("25.00"),
    ]


# --- pages: a shop sees only its own ------------------------------------------------------------


def test_a_shop_sees_its_own_statement_and_only_its_own(client, make, world):
    add_charges(world)
    user = make.user(Role.MEMBER, member=world.shops["A"])
    client.login_as(user)
    url = f"/campaigns/{world.campaign.id}/statement"
    page = client.get(url).text
    assert "Relevé d&#39;Atelier A" in page and "223,40" in page
    assert "Ce que vous coûte la campagne" in page
    assert "Atelier B" not in page and "CHAMBRE-700" not in page
    assert client.get(f"{url}?member=SHOPB").status_code == 403
    assert client.get(f"{url}.csv?member=SHOPB").status_code == 403
    assert client.get(f"{url}?member=shopa").status_code == 200
    own_csv = client.get(f"{url}.csv").data.decode("utf-8-sig")
    assert "CHAMBRE-700" not in own_csv and "PNEU-700" in own_csv


def test_staff_pick_any_shop_statement(client, make, world):
    client.login_as(make.user(Role.TREASURER))
    url = f"/campaigns/{world.campaign.id}/statement"
    page = client.get(f"{url}?member=SHOPB").text
    assert "Relevé d&#39;Atelier B" in page and "Atelier C" in page  # the selector lists them
    assert "Ce que la campagne coûte à Atelier B" in page and "vous coûte" not in page
    assert client.get(f"{url}?member=NOPE").status_code == 404


def test_the_statement_csv_is_french_excel_ready(client, make, world):
    add_charges(world)
    client.login_as(make.user(Role.MEMBER, member=world.shops["A"]))
    response = client.get(f"/campaigns/{world.campaign.id}/statement.csv")
    assert response.mimetype == "text/csv"
    assert "releve-" in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    blank = [""] * 8
    assert rows == [
        statements.CSV_HEADER,
        [
            "L1",
            "PNEU-700",
            "Pneu 700x32C",
            "Lyon Pneus",
            "Local",
            "6",
            "6",
            "6",
            "21,9000",
            "131,40",
            "0,00",
            "10,22",
            "141,62",
            "162,00",
            "30,60",
            "",
        ],
        [
            "C1",
            "CHAINE-11V",
            "Chaîne 11 vitesses",
            "Asia Parts",
            "Asie",
            "3",
            "3",
            "3",
            "16,4567",
            "49,37",
            "14,60",
            "14,19",
            "78,16",
            "96,70",
            "32,73",
            "",
        ],
        ["Sous-total", *blank, "180,77", "14,60", "24,41", "219,78", "258,70", "63,33", ""],
        ["Frais de service de la coop", *blank, "", "", "", "3,62", "", "", ""],
        ["Total HT", *blank, "", "", "", "223,40", "", "", ""],
    ]


def test_a_need_ref_a_spreadsheet_would_run_is_quoted_and_a_negative_saving_stays_a_number(
    client, make, world
):
    world.needs["a_tyre"].ref = "=cmd|' /C calc'!A0"
    run = db.session.scalar(select(PoolingRun).where(PoolingRun.campaign_id == world.campaign.id))
    record = run.record
    decisions = [
        # Cheaper alone than pooled: a negative saving.
        replace(d, solo=D("100.00")) if d.need == world.needs["a_tyre"].id else d
        for d in record.decisions
    ]
    run.record = replace(record, decisions=tuple(decisions))
    db.session.commit()
    shop, staff = make.user(Role.MEMBER, member=world.shops["A"]), manager(make)
    for user, query in ((shop, ""), (staff, "?member=SHOPA")):
        client.login_as(user)
        response = client.get(f"/campaigns/{world.campaign.id}/statement.csv{query}")
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
        assert rows[1][:3] == ["'=cmd|' /C calc'!A0", "PNEU-700", "Pneu 700x32C"]
        assert rows[1][8:15] == ["21,9000", "131,40", "0,00", "0,00", "131,40", "100,00", "-31,40"]


def test_the_results_page_shows_totals_and_charts(client, make, world):
    add_charges(world)
    client.login_as(manager(make))
    page = client.get(f"/campaigns/{world.campaign.id}/results").text
    assert "468,33" in page and "123,43" in page
    assert page.count("<svg") == 3  # this campaign's origins, savings, spend over campaigns
    assert "CHAINE-11V" in page  # the shortage


def test_statement_and_results_wait_for_the_pooling(client, make):
    campaign = make.campaign()
    client.login_as(manager(make))
    response = client.get(f"/campaigns/{campaign.id}/results")
    assert response.status_code == 302
    assert client.get(f"/campaigns/{campaign.id}/charges").status_code == 200
