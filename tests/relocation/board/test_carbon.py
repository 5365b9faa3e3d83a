"""Routes to Lyon and the CO2e of carrying goods along them: pure."""

from decimal import Decimal

from coop.relocation.carbon import LOCAL_KM, Leg, Mode, emissions, route, tonne_km

D = Decimal
FACTORS = {Mode.ROAD: D("0.0916"), Mode.SEA: D("0.0052"), Mode.AIR: D("0.669")}


def test_a_french_supplier_is_placed_by_its_city_whatever_its_spelling():
    assert route("FR", "SAINT ETIENNE", True) == route("FR", "Saint-Étienne", False)
    assert route("FR", "Saint-Étienne", True) == (Leg(Mode.ROAD, 60),)
    assert route("FR", "Oyonnax", True) == (Leg(Mode.ROAD, LOCAL_KM),)
    assert route("FR", None, False) == (Leg(Mode.ROAD, 450),)


def test_an_asian_supplier_ships_by_sea_and_an_unknown_country_has_no_route():
    assert [leg.mode for leg in route("CN", "Ningbo", False)] == [Mode.ROAD, Mode.SEA, Mode.ROAD]
    assert route("IT", None, False) == (Leg(Mode.ROAD, 440),)
    assert route("US", "Portland", False) is None


def test_emissions_add_each_legs_tonne_km_times_its_factor():
    # 40 lights of 200 g = 0.008 t flown 9 500 km and trucked 30: 0.008 × (9 500 × 0.669 +
    # 30 × 0.0916) = 50.865984 kg; 76.24 t.km.
    legs = (Leg(Mode.AIR, 9500), Leg(Mode.ROAD, 30))
    assert emissions(200, 40, legs, FACTORS) == D("50.866")
    assert tonne_km(200, 40, legs) == D("76.240")
