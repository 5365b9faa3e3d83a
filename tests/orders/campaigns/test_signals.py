"""Live pooling signals on hand-computed examples."""

from decimal import Decimal

from coop.orders.campaigns.signals import offer_signal, part_signal
from coop.suppliers.pricing import Terms

D = Decimal
TIERS = ((10, D("21.90")), (50, D("19.50")))


def test_an_open_pack_shows_how_many_units_are_missing():
    s = offer_signal("o", requested=17, tolerance=2, terms=Terms(10, 0, TIERS))
    # 17 + 2 tolerated = 19: one whole pack of 10 can be ordered, the second holds 7.
    assert (s.orderable, s.in_open_pack, s.missing_for_pack) == (10, 7, 3)
    assert s.tier == (10, D("21.90"))
    # The 50-unit tier needs 50 - 17 = 33 more units across the coop.
    assert (s.next_tier, s.missing_for_next_tier) == ((50, D("19.50")), 33)


def test_tolerances_can_fill_the_pack():
    s = offer_signal("o", requested=17, tolerance=3, terms=Terms(10, 0, TIERS))
    assert s.orderable == 20
    assert s.missing_for_pack == 3  # still shown: requested units alone do not fill it


def test_below_the_minimum_nothing_is_orderable():
    s = offer_signal("o", requested=5, tolerance=1, terms=Terms(10, 0, TIERS))
    assert (s.orderable, s.tier, s.missing_for_minimum) == (0, None, 5)
    moq = offer_signal("o", requested=20, tolerance=0, terms=Terms(4, 30, ((1, D("2")),)))
    assert (moq.orderable, moq.missing_for_minimum) == (0, 12)  # MOQ 30 -> 8 packs of 4 = 32


def test_next_tier_is_counted_in_whole_packs():
    s = offer_signal("o", requested=12, tolerance=0, terms=Terms(25, 0, ((1, D(3)), (60, D(2)))))
    # The 60 tier means 3 packs of 25 = 75 units: 63 more than the 12 requested.
    assert (s.orderable, s.next_tier, s.missing_for_next_tier) == (0, (60, D(2)), 63)


def test_the_indicative_price_is_the_cheapest_reachable_offer():
    signal = part_signal(
        30,
        0,
        [("near", Terms(1, 0, ((1, D("5.00")),))), ("far", Terms(50, 0, ((50, D("3.00")),)))],
    )
    assert signal.best.key == "near"  # the far offer's 50-unit pack is not reachable
    assert signal.closest.key == "near"
    bigger = part_signal(
        60,
        0,
        [("near", Terms(1, 0, ((1, D("5.00")),))), ("far", Terms(50, 0, ((50, D("3.00")),)))],
    )
    assert bigger.best.key == "far" and bigger.best.unit_price == D("3.00")
