"""What a call starts from: the last year's pooled demand, and the Asian landed cost."""

from datetime import timedelta
from decimal import Decimal

from coop.clock import today
from coop.orders.purchasing.models import OrderStatus
from coop.relocation import forecast
from coop.suppliers.pricing import Terms
from tests.relocation import factories as rf


def test_the_yearly_demand_counts_allocated_units_of_the_last_365_days_committed_orders(make):
    day = today()
    chain = make.part(sku="CHN-11S", category="chaines")
    other_chain = make.part(sku="CHN-12S", category="chaines")
    tyre = make.part(sku="TYR-700", category="pneus")
    offer = make.offer(part=chain, tiers=((1, "12.00"),))
    rf.bought(offer, [7], order_date=day - timedelta(days=400))  # more than a year ago
    rf.bought(offer, [10, 5], order_date=day - timedelta(days=364))  # the window's first day
    rf.bought(offer, [20], order_date=day - timedelta(days=10))
    rf.bought(offer, [8], order_date=day - timedelta(days=5), status=OrderStatus.CANCELLED)
    rf.bought(make.offer(part=other_chain), [4], order_date=day - timedelta(days=30))
    rf.bought(make.offer(part=tyre), [50], order_date=day - timedelta(days=30))

    assert forecast.yearly_demand(day, part=chain) == 10 + 5 + 20
    assert forecast.yearly_demand(day, category="chaines") == 10 + 5 + 20 + 4
    assert forecast.yearly_demand(day, part=make.part()) == 0
    # Five committed campaigns in the window (the cancelled order's campaign still counts).
    assert len(forecast.campaigns_of_year(day)) == 5


def test_the_landed_cost_adds_the_penalty_and_a_fee_per_order_to_the_tier_reached():
    # 1 000 units a year, 4 orders: the 1 000 tier (5,00 €), packs of 12 -> 1 008 bought.
    terms = Terms(pack_size=12, moq=0, tiers=((1, Decimal("6.00")), (1000, Decimal("5.00"))))
    cost = forecast.landed_cost(
        1000,
        terms,
        penalty_rate=Decimal("0.10"),
        shipping_fee=Decimal("45.00"),
        free_shipping_over=None,
        orders_a_year=4,
    )
    assert (cost.bought, cost.unit_price, cost.goods) == (1008, Decimal("5.00"), Decimal("5040.00"))
    assert cost.penalty == Decimal("504.00")
    assert cost.shipping == Decimal("180.00")
    # (5 040 + 504 + 180) / 1 000
    assert cost.per_unit == Decimal("5.7240")


def test_no_fee_when_each_order_reaches_the_free_shipping_threshold():
    terms = Terms(pack_size=1, moq=0, tiers=((1, Decimal("2.00")),))
    cost = forecast.landed_cost(
        300,
        terms,
        penalty_rate=Decimal("0"),
        shipping_fee=Decimal("30.00"),
        free_shipping_over=Decimal("200.00"),
        orders_a_year=3,  # 200 € of goods an order: free
    )
    assert cost.shipping == Decimal("0.00")
    assert cost.per_unit == Decimal("2.0000")


def test_the_cheapest_asian_offer_landed_is_chosen_and_others_are_left_out(make):
    day = today()
    chain = make.part(sku="CHN-11S")
    shenzhen = make.supplier(country="CN", shipping_fee=Decimal("100.00"))
    taipei = make.supplier(country="TW", shipping_fee=Decimal("0.00"))
    make.offer(shenzhen, chain, tiers=((1, "5.00"),))
    make.offer(taipei, chain, tiers=((1, "5.20"),))
    make.offer(make.supplier(country="FR"), chain, tiers=((1, "4.00"),))  # not Asian
    rf.bought(chain.offers[0], [100], order_date=day - timedelta(days=20))  # one campaign
    # Shenzhen: (500 + 50 + 100) / 100 = 6,50 ; Taipei: (520 + 52 + 0) / 100 = 5,72.
    best = forecast.cheapest_asian_landed_cost(chain, 100, day)
    assert best.offer.supplier == taipei
    assert best.cost.per_unit == Decimal("5.7200")
    # The call's target: the board's break-even local price over the year, here what beats
    # the French offer (4,00) once the coop's penalty on French goods is added: 4,20.
    assert forecast.target_price_for(chain, day) == Decimal("4.2000")


def test_a_part_no_campaign_asked_for_has_the_cheapest_asian_price_as_its_target(make):
    day = today()
    chain = make.part(sku="CHN-11S")
    taipei = make.supplier(country="TW", shipping_fee=Decimal("0.00"))
    make.offer(taipei, chain, tiers=((1, "5.20"), (100, "5.00")))
    # No campaign of the year asked for it: no break-even; one unit reaches the 5,20 tier.
    assert forecast.target_price_for(chain, day) == Decimal("5.2000")
