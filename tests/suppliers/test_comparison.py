"""The part page's figures, on a hand-computed example."""

from datetime import date
from decimal import Decimal

from coop.suppliers.comparison import compare
from coop.suppliers.origin import Origin

D = Decimal
TODAY = date(2026, 11, 25)


def test_part_comparison_on_a_hand_computed_example(make):
    tyre = make.part(sku="TYR-700X28")
    lyon = make.supplier(code="LYONPNEU", country="FR", is_local=True)
    italy = make.supplier(code="VENETA", country="IT")
    taiwan = make.supplier(code="TAICHUNG", country="TW")
    make.offer(lyon, tyre, tiers=((1, "24.00"), (10, "22.00")))
    make.offer(italy, tyre, tiers=((1, "21.00"), (50, "19.00")), pack_size=5)
    make.offer(taiwan, tyre, tiers=((50, "16.00"), (100, "15.00")), pack_size=50)
    expired = make.supplier(code="OLD", country="CN")
    make.offer(expired, tyre, tiers=((1, "1.00"),), valid_until=date(2026, 1, 1))

    result = compare(tyre.offers, TODAY)

    assert [o.supplier.code for o in result.offers] == ["LYONPNEU", "VENETA", "TAICHUNG", "OLD"]
    assert result.usable == [True, True, True, False]
    one, ten, fifty, hundred = result.rows

    # 1 unit: Lyon 24.00; Italy buys a pack of 5 at 21.00 = 105.00 -> 105/1;
    # Taiwan buys 50 at 16.00 = 800.00 -> 800/1.
    assert [p.cost_per_needed_unit for p in one.purchases[:3]] == [D("24"), D("105"), D("800")]
    assert one.cheapest.offer.supplier.code == "LYONPNEU"
    # near = Lyon 24.00, Asia = 800.00: (24 - 800) / 800 = -97.0 %
    assert one.near_premium_percent == D("-97.0")

    # 10 units: Lyon 22.00; Italy 2 packs at 21.00; Taiwan 50 x 16.00 = 800 / 10 = 80.00
    assert [p.cost_per_needed_unit for p in ten.purchases[:3]] == [D("22"), D("21"), D("80")]
    assert ten.cheapest.offer.supplier.code == "VENETA"

    # 50 units: Lyon 22.00, Italy 19.00, Taiwan 16.00; Europe is (19 - 16) / 16 = +18.8 % dearer.
    assert fifty.cheapest.offer.supplier.code == "TAICHUNG"
    assert fifty.cheapest_near.offer.supplier.code == "VENETA"
    assert fifty.near_premium_percent == D("18.8")

    # 100 units: Taiwan reaches 15.00; Italy 19.00: (19 - 15) / 15 = +26.7 %.
    assert hundred.cheapest.purchase.unit_price == D("15.00")
    assert hundred.near_premium_percent == D("26.7")
    assert hundred.purchases[3] is None  # the expired offer is shown, never priced


def test_no_premium_without_both_a_near_and_an_asian_offer(make):
    part = make.part()
    make.offer(make.supplier(country="DE"), part)
    row = compare(part.offers, TODAY).rows[0]
    assert row.cheapest_asia is None
    assert row.near_premium_percent is None
    assert row.cheapest.offer.origin is Origin.EUROPE
