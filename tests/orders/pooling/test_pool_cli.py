"""`coop pool CODE --json` on a closed campaign (spec/pooling.md)."""

import json
from decimal import Decimal

from coop.extensions import db
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.models import CampaignStatus


def test_pool_json_reports_the_plan_exactly(runner, make):
    campaign = make.campaign(code="2026-12")
    lyon = make.supplier(
        code="LYONPNEU",
        is_local=True,
        shipping_fee=Decimal("12.00"),
        free_shipping_over=Decimal("100.00"),
    )
    tyre, chain = make.part(sku="TYR-700X28"), make.part(sku="CHN-11S")
    make.offer(lyon, tyre, tiers=((1, "24.00"), (10, "21.90")))
    make.offer(make.supplier(code="VILLEUR"), chain, tiers=((1, "18.20"),), pack_size=10)
    make.need(campaign, make.member(code="VELO01"), tyre, quantity=4, tolerance=1, ref="L12")
    make.need(campaign, make.member(code="VELO02"), tyre, quantity=6, ref="L3")
    make.need(campaign, make.member(code="VELO03"), chain, quantity=3, ref="7")
    change_status(campaign, CampaignStatus.CLOSED, at=campaign.opened_at)
    db.session.commit()

    result = runner.invoke(args=["pool", "2026-12", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)  # nothing but JSON on stdout
    assert {
        k: report[k]
        for k in (
            "campaign",
            "status",
            "unserved_units",
            "goods_eur",
            "shipping_eur",
            "total_cost_eur",
            "penalty_eur",
            "commitment_eur",
            "objective_eur",
            "agreements",
        )
    } == {
        "campaign": "2026-12",
        "status": "optimal",
        "unserved_units": 3,
        # 4 + 6 = 10 tyres reach the 10-unit tier: 10 x 21.90 = 219.00, shipping waived.
        "goods_eur": "219.00",
        "shipping_eur": "0.00",
        "total_cost_eur": "219.00",
        "penalty_eur": "0.00",
        # No framework agreement in force: no shortfall fee.
        "commitment_eur": "0.00",
        "objective_eur": "219.00",
        "agreements": [],
    }
    needs = {n["ref"]: n for n in report["needs"]}
    assert needs["L12"] == {
        "member": "VELO01",
        "ref": "L12",
        "sku": "TYR-700X28",
        "quantity": 4,
        "allocated": 4,
        "supplier": "LYONPNEU",
        "unit_price_eur": "21.9000",
    }
    assert needs["7"]["allocated"] == 0 and needs["7"]["supplier"] is None
    assert needs["7"]["reason"] == "pack of 10 is 7 units short"
    assert report["orders"] == [
        {
            "supplier": "LYONPNEU",
            "goods_eur": "219.00",
            "shipping_eur": "0.00",
            "lines": [
                {
                    "sku": "TYR-700X28",
                    "quantity": 10,
                    "unit_price_eur": "21.9000",
                    "tier_min_qty": 10,
                }
            ],
        }
    ]

    summary = runner.invoke(args=["pool", "2026-12"])
    assert "optimal" in summary.output and "219.00" in summary.output


def test_pool_refuses_an_open_campaign(runner, make):
    make.campaign(code="OPEN")
    result = runner.invoke(args=["pool", "OPEN", "--json"])
    assert result.exit_code == 1
    assert "doit être close" in result.output
