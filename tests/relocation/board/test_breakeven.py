"""The break-even local price: hand-computed, and the approximation against the engine.

coop.relocation.breakeven approximates what the pooling engine decides. Here the engine
bisects the price of a hypothetical local offer (by the unit, no fee) on three small
campaigns, and the two agree within TOLERANCE: one where the Asian supplier ships another
part anyway (its fee is no saving), one where it would ship this part alone (its fee counts)
and a French offer wins, one where a European offer reaches free shipping with its penalty.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from coop.clock import today
from coop.money import UNIT_PRICE, quantize
from coop.orders.pooling.pool_run import Options, load_inputs
from coop.orders.pooling.solver import OfferIn, SupplierIn, solve
from coop.relocation.breakeven import breakeven_price, breakeven_prices
from coop.relocation.purchases import Period
from coop.suppliers.origin import Origin
from tests.relocation.board.worlds import catalogue, first_campaign, pooled

D = Decimal
TOLERANCE = D("0.01")  # € a unit: the bar the approximation is held to (docs/relocation.md)


@pytest.fixture
def world(make):
    return catalogue(make)


def engine_breakeven(campaign, part) -> Decimal:
    """The highest price at which the engine gives every need of `part` to a local offer by
    the unit without a fee, by bisection to 1/10 of a cent, on the campaign's own inputs."""
    low, high = D("0.01"), D("100")
    inputs = load_inputs(campaign, Options(time_limit=10))
    nearby = SupplierIn("PRES-D-ICI")

    def taken(price: Decimal) -> bool:
        offer = OfferIn(-1, nearby.code, part.sku, ((1, price),), Origin.LOCAL)
        plan = solve(
            inputs.needs, [*inputs.offers, offer], [*inputs.suppliers, nearby], inputs.settings
        )
        mine = [a for a in plan.allocations if a.need.part == part.sku]
        return all(a.offer is not None and a.offer.id == -1 for a in mine)

    assert taken(low) and not taken(high)
    while high - low > D("0.001"):
        middle = quantize((low + high) / 2, UNIT_PRICE)
        low, high = (middle, high) if taken(middle) else (low, middle)
    return low


def test_the_break_even_of_a_hand_computed_campaign(world, make):
    campaign = first_campaign(make, world, today() - timedelta(days=30))
    prices = breakeven_prices([campaign], [world.chain.id, world.tyre.id], today())
    # Chains: TAIWAN 30 × 6.00 = 180.00, + 10 % penalty = 198.00, no fee (it ships the tyres);
    # FORGE 30 × 8.40 = 252.00 (free shipping from 200.00); OUEST 255.00 + 25.00. 198.00 / 30.
    assert prices[world.chain.id] == D("6.6000")
    # Tyres: only TAIWAN, 12 × 10.00 × 1.10 = 132.00, its fee paid for the chains. 132.00 / 12.
    assert prices[world.tyre.id] == D("11.0000")


def test_the_period_takes_the_lowest_campaign(world, make):
    first_campaign(make, world, today() - timedelta(days=60))
    # Here TAIWAN would ship the chains alone: 198.00 + its fee 120.00 = 318.00, so FORGE's
    # 252.00 is the one to beat: 8.40 a unit. The period's break-even is the lower, 6.60.
    alone = pooled(
        make, world, [("A", world.chain, 10, 0), ("B", world.chain, 20, 0)], today() - timedelta(5)
    )
    assert breakeven_prices([alone], [world.chain.id], today())[world.chain.id] == D("8.4000")
    period = Period(today() - timedelta(days=90), today())
    assert breakeven_price(world.chain, period) == D("6.6000")
    # Outside the period, no campaign asked for it.
    assert (
        breakeven_price(
            world.chain, Period(today() - timedelta(days=400), today() - timedelta(days=200))
        )
        is None
    )


def test_the_approximation_matches_the_engine_when_the_asian_fee_is_paid_anyway(world, make):
    campaign = first_campaign(make, world, today() - timedelta(days=30))
    approximation = breakeven_prices([campaign], [world.chain.id], today())[world.chain.id]
    assert abs(engine_breakeven(campaign, world.chain) - approximation) <= TOLERANCE


def test_the_approximation_matches_the_engine_when_a_french_offer_wins(world, make):
    # Pedals, 18 asked (tolerances 5 and 2 fill TAIWAN's pack of 20): TAIWAN 240.00 + 24.00
    # penalty + its fee 120.00 (nothing else to ship) = 384.00; OUEST 270.00 + 25.00 = 295.00.
    campaign = pooled(make, world, [("A", world.pedals, 15, 5), ("B", world.pedals, 3, 2)], today())
    approximation = breakeven_prices([campaign], [world.pedals.id], today())[world.pedals.id]
    assert approximation == D("16.3889")  # 295.00 / 18
    assert abs(engine_breakeven(campaign, world.pedals) - approximation) <= TOLERANCE


def test_the_approximation_matches_the_engine_with_a_european_offer_shipped_free(world, make):
    # Tubes, 30 asked: MORAVIA 120.00, free shipping from 100.00, + 3 % = 123.60. (TAIWAN's
    # pack of 50 cannot be filled: the approximation prices it at 285.00, out of the race.)
    campaign = pooled(make, world, [("A", world.tube, 20, 0), ("B", world.tube, 10, 0)], today())
    approximation = breakeven_prices([campaign], [world.tube.id], today())[world.tube.id]
    assert approximation == D("4.1200")
    assert abs(engine_breakeven(campaign, world.tube) - approximation) <= TOLERANCE
