from decimal import Decimal

import pytest

from coop.suppliers.origin import Origin, classify, country_code
from coop.suppliers.pricing import (
    Terms,
    buy,
    premium_percent,
    smallest_order,
    tier_for,
    validate_tiers,
)

D = Decimal
TIERS = ((10, D("21.90")), (50, D("19.50")), (100, D("18.40")))


@pytest.mark.parametrize(
    ("made_in", "local", "origin"),
    [
        ("FR", True, Origin.LOCAL),
        ("FR", False, Origin.FRANCE),
        ("ES", True, Origin.EUROPE),  # a local distributor selling Spanish goods
        ("CH", False, Origin.EUROPE),
        ("GB", False, Origin.EUROPE),
        ("TW", False, Origin.ASIA),
        ("CN", True, Origin.ASIA),
        ("US", False, Origin.OTHER),
    ],
)
def test_origin_classification(made_in, local, origin):
    assert classify(made_in, local) is origin


def test_country_codes_are_checked():
    assert country_code(" tw ") == "TW"
    with pytest.raises(ValueError, match="code pays ISO inconnu"):
        country_code("XX")
    with pytest.raises(ValueError):
        country_code("FRA")


def test_all_units_tiers_apply_the_tier_reached_to_every_unit():
    assert tier_for(9, TIERS) is None
    assert tier_for(10, TIERS) == (10, D("21.90"))
    assert tier_for(99, TIERS) == (50, D("19.50"))
    assert tier_for(500, TIERS) == (100, D("18.40"))


def test_smallest_order_rounds_up_to_packs_moq_and_first_tier():
    assert smallest_order(3, Terms(pack_size=1, moq=0, tiers=TIERS)) == 10
    assert smallest_order(23, Terms(pack_size=10, moq=0, tiers=TIERS)) == 30
    assert smallest_order(3, Terms(pack_size=4, moq=30, tiers=((1, D(1)),))) == 32
    assert smallest_order(100, Terms(pack_size=25, moq=0, tiers=TIERS)) == 100


def test_buying_alone_counts_the_surplus_in_the_cost_per_needed_unit():
    purchase = buy(12, Terms(pack_size=10, moq=0, tiers=TIERS))
    assert (purchase.bought, purchase.unit_price, purchase.amount) == (20, D("21.90"), D("438.00"))
    assert purchase.cost_per_needed_unit == D("36.5000")


def test_tier_validation_lists_every_problem():
    assert validate_tiers(TIERS) == []
    problems = validate_tiers(((10, D("2")), (10, D("1")), (5, D("0"))))
    assert len(problems) == 3
    assert "strictement croissantes" in problems[0]
    assert "strictement positif" in problems[2]
    assert validate_tiers(()) == ["au moins un palier de prix est nécessaire"]


def test_premium_percent_is_rounded_to_one_decimal():
    assert premium_percent(D("22.50"), D("18.40")) == D("22.3")
    assert premium_percent(D("18.40"), D("18.40")) == D("0.0")
