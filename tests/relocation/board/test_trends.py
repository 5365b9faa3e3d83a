"""Trends: spend by origin per campaign, and the units relocated from Asia."""

from datetime import timedelta
from decimal import Decimal

import pytest

from coop.clock import today
from coop.relocation.purchases import Period, default_period, purchases
from coop.relocation.trends import campaign_trends
from coop.suppliers.origin import Origin
from tests.relocation.board.worlds import catalogue, first_campaign, pooled

D = Decimal


@pytest.fixture
def world(make):
    return catalogue(make)


def ten_chains(make, world, days_ago: int):
    """10 chains: TAIWAN cannot (MOQ 20); FORGE 90.00 + 15.00 beats OUEST 85.00 + 25.00."""
    return pooled(make, world, [("C", world.chain, 10, 0)], today() - timedelta(days=days_ago))


def test_chains_bought_locally_after_asia_are_relocated(world, make):
    asia = first_campaign(make, world, today() - timedelta(days=200))
    local = ten_chains(make, world, 20)
    first, second = campaign_trends(purchases(default_period(today())))
    assert (first.campaign, first.relocated, second.campaign, second.relocated) == (
        asia,
        0,
        local,
        10,
    )
    assert second.relocated_parts == {world.chain.id}
    # The spend by origin per campaign: all Asian, then all local.
    assert first.bought.spend[Origin.ASIA] == D("420.00") and first.bought.share(Origin.ASIA) == 1
    assert second.bought.spend[Origin.LOCAL] == D("105.00")
    assert second.bought.share(Origin.ASIA) == 0


def test_the_year_before_reaches_past_the_periods_start(world, make):
    first_campaign(make, world, today() - timedelta(days=300))
    local = ten_chains(make, world, 20)
    (trend,) = campaign_trends(purchases(Period(today() - timedelta(days=60), today())))
    assert (trend.campaign, trend.relocated) == (local, 10)


def test_an_asian_purchase_older_than_a_year_relocates_nothing(world, make):
    first_campaign(make, world, today() - timedelta(days=500))
    ten_chains(make, world, 20)
    trends = campaign_trends(purchases(Period(today() - timedelta(days=800), today())))
    assert [t.relocated for t in trends] == [0, 0]


def test_a_period_without_campaigns_has_no_trend(world):
    assert campaign_trends(purchases(default_period(today()))) == []
