"""Framework agreements in the pooling (take-or-pay, spec/pooling.md): hand-computed cases."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from coop.accounts.models import Role
from coop.clock import today
from coop.extensions import db
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.models import CampaignStatus
from coop.orders.costs.models import Charge
from coop.orders.pooling import pool_run
from coop.orders.pooling.models import PoolingRun
from coop.orders.pooling.solver import AgreementIn, Settings, SupplierIn, check_plan, solve
from coop.orders.purchasing import ordering
from coop.orders.purchasing.ordering import commit_run
from coop.suppliers.models import AgreementStatus, FrameworkAgreement
from coop.suppliers.origin import Origin
from tests.orders.pooling.test_pooling import ORDER_DATE, PENALTIES, by_need, need, offer

D = Decimal


def settings(*agreements):
    return Settings(
        order_date=ORDER_DATE,
        penalties=PENALTIES,
        time_limit=10,
        relative_gap=0.0,
        agreements=agreements,
    )


def solved(needs, offers, cfg):
    plan = solve(needs, offers, [SupplierIn("A"), SupplierIn("B")], cfg)
    assert plan.status == "optimal"
    assert check_plan(plan, cfg) == []
    return plan


# A shop needs 10 units and accepts 10 more. A sells at 10.00, B at 12.00 (both French, no
# penalty, no fee); the agreement binds the coop to 20 units of B's offer this campaign.
CHEAP = offer(1, "A", [(1, "10.00")], origin=Origin.FRANCE)
AGREED = offer(2, "B", [(1, "12.00")], origin=Origin.FRANCE)


def test_a_shortfall_cheaper_than_buying_is_paid():
    # A: 10 x 10.00 + 20 short x 1.00 = 120.00; B: 10 x 12.00 + 10 x 1.00 = 130.00;
    # B up to the target: 20 x 12.00 = 240.00.
    cfg = settings(AgreementIn("ACC-1", 2, 20, D("1.00")))
    plan = solved([need(1, 10, tolerance=10)], [CHEAP, AGREED], cfg)
    assert [(line.offer.supplier, line.quantity) for line in plan.lines] == [("A", 10)]
    (c,) = plan.commitments
    assert (c.bought, c.shortfall, c.fee) == (0, 20, D("20.00"))
    assert (plan.total_cost, plan.commitment_total, plan.objective) == (
        D("100.00"),
        D("20.00"),
        D("120.00"),
    )


def test_a_shortfall_dearer_than_buying_makes_the_engine_buy_up_to_the_target():
    # A: 100.00 + 20 x 13.00 = 360.00; B for 10: 120.00 + 130.00 = 250.00; B for 20 (the
    # shop's tolerance): 240.00, nothing short. B although A is cheaper per unit.
    cfg = settings(AgreementIn("ACC-1", 2, 20, D("13.00")))
    plan = solved([need(1, 10, tolerance=10)], [CHEAP, AGREED], cfg)
    assert [(line.offer.supplier, line.quantity) for line in plan.lines] == [("B", 20)]
    assert by_need(plan)[1].allocated == 20
    (c,) = plan.commitments
    assert (c.bought, c.shortfall, c.fee) == (20, 0, D("0.00"))
    assert plan.objective == D("240.00")


def test_an_agreement_whose_moq_is_out_of_reach_pays_the_whole_target():
    # B needs 50 units per line, the shop takes 20 at most: nothing from B, 20 short.
    agreed = offer(2, "B", [(1, "12.00")], origin=Origin.FRANCE, moq=50)
    cfg = settings(AgreementIn("ACC-1", 2, 20, D("13.00")))
    plan = solved([need(1, 10, tolerance=10)], [CHEAP, agreed], cfg)
    assert [(line.offer.supplier, line.quantity) for line in plan.lines] == [("A", 10)]
    (c,) = plan.commitments
    assert (c.bought, c.shortfall, c.fee) == (0, 20, D("260.00"))
    assert plan.objective == D("360.00")


def test_no_need_is_served_less_to_honour_an_agreement():
    # 7 wanted, 5 at least. B sells packs of 5: 5 units, 60.00, nothing short. A serves all
    # 7 for 70.00 and leaves the 5 short at 100.00 each: units come first.
    packs = offer(2, "B", [(1, "12.00")], origin=Origin.FRANCE, pack_size=5)
    cfg = settings(AgreementIn("ACC-1", 2, 5, D("100.00")))
    plan = solved([need(1, 7, min_quantity=5)], [CHEAP, packs], cfg)
    assert plan.unserved_units == 0
    assert [(line.offer.supplier, line.quantity) for line in plan.lines] == [("A", 7)]
    assert plan.commitment_total == D("500.00")


def test_an_agreement_on_a_part_nobody_needs_owes_its_target():
    other = offer(3, "B", [(1, "4.00")], part="Q", origin=Origin.FRANCE, pack_size=2)
    cfg = settings(AgreementIn("ACC-2", 3, 6, D("0.5")))
    plan = solved([need(1, 10)], [CHEAP, other], cfg)
    assert plan.objective == D("103.00")  # 100.00 of goods, 6 x 0.50 short
    # The proven bound counts the fixed fee too (less the tie-break's fraction of a cent).
    assert D("102.99") <= plan.bound <= plan.objective


def test_the_checker_catches_a_wrong_shortfall():
    cfg = settings(AgreementIn("ACC-1", 2, 20, D("1.00")))
    plan = solved([need(1, 10, tolerance=10)], [CHEAP, AGREED], cfg)
    lying = settings(AgreementIn("ACC-1", 2, 10, D("1.00")))
    assert "agreement ACC-1: shortfall 20 at 20.00, not 10 at 10.00" in check_plan(plan, lying)


# --- from the database -------------------------------------------------------------------


@pytest.fixture
def agreement_case(make):
    """A shop needs 10 units (10 more accepted) of a part: A at 10.00, B at 12.00 under an
    agreement of 20 units for this one campaign. No fee, no penalty (both French)."""
    campaign = make.campaign(code="2027-01")
    a = make.supplier(code="A", shipping_fee=D("0.00"))
    b = make.supplier(code="B", name="Stéphanoise", shipping_fee=D("0.00"))
    part = make.part(sku="CHN-11S")
    make.offer(a, part, tiers=((1, "10.00"),))
    agreed = make.offer(b, part, tiers=((1, "12.00"),))
    make.need(campaign, make.member(code="VELO01"), part, quantity=10, tolerance=10, ref="L1")
    change_status(campaign, CampaignStatus.CLOSED, at=campaign.opened_at)
    agreement = make_agreement(agreed, committed_qty=20, campaigns_planned=1)
    return campaign, agreement


def make_agreement(offer, code="ACC-2027-01", fee="1.00", **terms):
    agreement = FrameworkAgreement(
        code=code,
        offer=offer,
        shortfall_fee=D(fee),
        valid_from=today(),
        valid_to=today() + timedelta(days=365),
        status=AgreementStatus.ACTIVE,
        **terms,
    )
    db.session.add(agreement)
    db.session.commit()
    return agreement


def test_pool_json_reports_the_commitment_and_each_agreement(runner, agreement_case):
    result = runner.invoke(args=["pool", "2027-01", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["total_cost_eur"], report["commitment_eur"], report["objective_eur"]) == (
        "100.00",
        "20.00",
        "120.00",
    )
    assert report["agreements"] == [
        {
            "agreement": "ACC-2027-01",
            "supplier": "B",
            "sku": "CHN-11S",
            "target": 20,
            "bought": 0,
            "shortfall": 20,
            "fee_eur": "20.00",
        }
    ]


def test_a_draft_or_expired_agreement_binds_nothing(runner, agreement_case):
    _, agreement = agreement_case
    agreement.status = AgreementStatus.DRAFT
    db.session.commit()
    assert json.loads(runner.invoke(args=["pool", "2027-01", "--json"]).output)["agreements"] == []
    agreement.status = AgreementStatus.ACTIVE
    agreement.valid_to = today() + timedelta(days=1)  # the order date is later
    db.session.commit()
    assert json.loads(runner.invoke(args=["pool", "2027-01", "--json"]).output)["agreements"] == []


def test_the_target_spreads_what_is_left_over_the_campaigns_left_in_packs(make):
    # 100 units over 4 campaigns, packs of 6. An earlier committed campaign bought 24:
    # (100 - 24) / 3 = 25.3, rounded up to whole packs: 30. A later campaign counts not.
    supplier, part = make.supplier(shipping_fee=D("0.00")), make.part()
    agreed = make.offer(supplier, part, tiers=((1, "5.00"),), pack_size=6)
    agreement = make_agreement(agreed, committed_qty=100, campaigns_planned=4)
    earlier = make.campaign(order_date=today() + timedelta(days=20))
    current = make.campaign(
        order_date=today() + timedelta(days=40), closes_at=earlier.closes_at + timedelta(days=1)
    )
    later = make.campaign(order_date=today() + timedelta(days=60))
    for campaign in (earlier, later):
        make.need(campaign, make.member(), part, quantity=24)
        change_status(campaign, CampaignStatus.CLOSED, at=campaign.opened_at)
        _, run = pool_run.pool_now(campaign, pool_run.Options(time_limit=10))
        commit_run(run)
    db.session.commit()
    assert pool_run.agreements_in_force(current) == [(agreement, 30)]
    # With 80 committed: (80 - 24) / 3 = 18.7 -> 24; with 24 committed, nothing is left.
    agreement.committed_qty = 80
    assert pool_run.agreements_in_force(current) == [(agreement, 24)]
    agreement.committed_qty = 24
    assert pool_run.agreements_in_force(current) == [(agreement, 0)]


@pytest.mark.parametrize(
    ("fee", "bought", "short", "amount", "supplier"),
    [("1.00", 0, 20, "20.00", None), ("5.00", 10, 10, "50.00", "B")],
)
def test_the_review_shows_each_agreement_and_the_commit_books_its_fee(
    client, make, agreement_case, fee, bought, short, amount, supplier
):
    campaign, agreement = agreement_case
    agreement.shortfall_fee = D(fee)
    db.session.commit()
    client.login_as(make.user(Role.MANAGER))
    data = {"time_limit": "10"} | {f"penalty_{o.value}": "0" for o in Origin}
    response = client.post(f"/campaigns/{campaign.id}/pooling/runs", data=data)
    page = client.get(response.location).text
    assert "Accords-cadres" in page and "ACC-2027-01" in page
    run = db.session.scalar(select(PoolingRun).where(PoolingRun.campaign_id == campaign.id))
    (outcome,) = run.record.agreements
    assert (outcome.target, outcome.bought, outcome.shortfall, outcome.fee) == (
        20,
        bought,
        short,
        D(amount),
    )
    assert f'<td class="num">{short}</td><td class="num">{amount.replace(".", ",")}' in page

    client.post(f"/campaigns/{campaign.id}/pooling/runs/{run.id}/commit")
    assert campaign.status is CampaignStatus.POOLED
    (charge,) = db.session.scalars(select(Charge).where(Charge.campaign_id == campaign.id))
    assert charge.label == f"Accord-cadre ACC-2027-01 : {short} unités manquantes"
    assert charge.amount == D(amount)
    assert (charge.supplier.code if charge.supplier else None) == supplier


def test_no_shortfall_books_no_charge(runner, agreement_case):
    _, agreement = agreement_case
    agreement.shortfall_fee = D("13.00")  # B takes all 20 units: nothing short
    db.session.commit()
    result = runner.invoke(args=["pool", "2027-01", "--commit"])
    assert result.exit_code == 0, result.output
    assert db.session.scalars(select(Charge)).all() == []


def test_a_pooling_undone_and_committed_again_replaces_its_fee(runner, agreement_case):
    campaign, _ = agreement_case
    assert runner.invoke(args=["pool", "2027-01", "--commit"]).exit_code == 0
    ordering.undo_pooling(campaign)
    db.session.commit()
    result = runner.invoke(args=["pool", "2027-01", "--commit"])
    assert result.exit_code == 0, result.output
    charges = db.session.scalars(select(Charge).where(Charge.campaign_id == campaign.id)).all()
    (charge,) = charges
    assert (charge.amount, charge.agreement.code) == (D("20.00"), "ACC-2027-01")
