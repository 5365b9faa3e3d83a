"""An estimate of the CO2e of bringing what the coop bought to Lyon (docs/relocation.md).

Tonnes (the part's `weight_g` times the units) times the kilometres of each leg of the
route from the supplier to Lyon, times the mode's emission factor (kg CO2e per tonne-km, a
setting: COOP_CO2E_*_KG_PER_TKM). The route is read from the supplier's country, and in
France from its city when this table knows it. A part without a weight, or a country
without a route here, counts no CO2e: the report counts those rows apart.

The distances are rounded estimates, not measures: road by the usual motorway route from
the country's main industrial area (or the French city) to Lyon, rounded to 10 km; sea
from the country's main container port to Fos-sur-Mer through Suez, rounded to 100 km
(port-distance tables such as sea-distances.org), with 100 km of road from the factory to
the port and 320 km from Fos to Lyon.
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from flask import current_app

from coop.i18n import N_
from coop.money import quantize
from coop.suppliers.search import SearchQuery


class Mode(StrEnum):
    ROAD = "road"
    SEA = "sea"
    AIR = "air"


MODE_LABELS = {Mode.ROAD: N_("route"), Mode.SEA: N_("mer"), Mode.AIR: N_("air")}

# The setting that holds each mode's factor (defaults and sources in coop.config).
FACTOR_SETTINGS = {
    Mode.ROAD: "COOP_CO2E_ROAD_KG_PER_TKM",
    Mode.SEA: "COOP_CO2E_SEA_KG_PER_TKM",
    Mode.AIR: "COOP_CO2E_AIR_KG_PER_TKM",
}

KG = Decimal("0.001")  # CO2e and tonne-km are kept to the gram, the rows add up exactly


@dataclass(frozen=True)
class Leg:
    mode: Mode
    km: int


def _by_road(km: int) -> tuple[Leg, ...]:
    return (Leg(Mode.ROAD, km),)


def _by_sea(km: int) -> tuple[Leg, ...]:
    """Factory to port, port to Fos-sur-Mer, Fos to Lyon."""
    return (Leg(Mode.ROAD, 100), Leg(Mode.SEA, km), Leg(Mode.ROAD, 320))


ROUTES: dict[str, tuple[Leg, ...]] = {
    # Europe, by road from the main industrial area.
    "CH": _by_road(150),  # Geneva
    "IT": _by_road(440),  # Milan
    "DE": _by_road(690),  # Frankfurt
    "BE": _by_road(700),  # Brussels
    "ES": _by_road(850),  # Navarre and the Basque Country
    "NL": _by_road(900),  # Amsterdam, Rotterdam
    "SI": _by_road(900),  # Ljubljana
    "CZ": _by_road(1000),  # Prague
    "GB": _by_road(1000),  # London, through the Channel Tunnel
    "AT": _by_road(1000),  # Salzburg to Vienna
    "SK": _by_road(1300),  # Bratislava
    "HU": _by_road(1350),  # Budapest
    "PL": _by_road(1500),  # Wrocław to Warsaw
    "PT": _by_road(1600),  # Porto to Lisbon
    # Asia, by sea through Suez from the main container port.
    "IN": _by_sea(8500),  # Nhava Sheva
    "MY": _by_sea(11100),  # Port Klang
    "ID": _by_sea(12000),  # Jakarta
    "VN": _by_sea(13000),  # Ho Chi Minh City
    "TH": _by_sea(13000),  # Laem Chabang
    "TW": _by_sea(15000),  # Kaohsiung, Taichung
    "CN": _by_sea(15800),  # Ningbo, Shanghai
    "KR": _by_sea(17200),  # Busan
    "JP": _by_sea(18300),  # Yokohama
}

# France: the suppliers' usual cities, by road to Lyon. Keys as a search compacts a name
# (coop.suppliers.search): no accents, case, spaces nor dashes.
FRENCH_CITIES = {
    "lyon": 10,
    "villeurbanne": 10,
    "venissieux": 15,
    "saintetienne": 60,
    "chambery": 100,
    "grenoble": 110,
    "annecy": 140,
    "clermontferrand": 165,
    "dijon": 195,
    "marseille": 315,
    "paris": 465,
    "strasbourg": 490,
    "toulouse": 540,
    "bordeaux": 555,
    "nantes": 690,
    "lille": 690,
}
LOCAL_KM = 50  # a local supplier (the metropolis and around) whose city is not listed
FRANCE_KM = 450  # elsewhere in France


def route(country: str, city: str | None, is_local: bool) -> tuple[Leg, ...] | None:
    """The legs from a supplier to Lyon; None for a country this table does not know."""
    if country == "FR":
        known = FRENCH_CITIES.get(SearchQuery.parse(city or "").compact)
        return _by_road(known or (LOCAL_KM if is_local else FRANCE_KM))
    return ROUTES.get(country)


def factors() -> dict[Mode, Decimal]:
    """Each mode's emission factor, kg CO2e per tonne-km, from the settings."""
    return {mode: Decimal(current_app.config[name]) for mode, name in FACTOR_SETTINGS.items()}


def tonne_km(weight_g: int, units: int, legs: tuple[Leg, ...]) -> Decimal:
    return quantize(Decimal(weight_g * units * sum(leg.km for leg in legs)) / 1_000_000, KG)


def emissions(
    weight_g: int, units: int, legs: tuple[Leg, ...], factor: dict[Mode, Decimal]
) -> Decimal:
    """kg CO2e of carrying `units` of `weight_g` along `legs`, to the gram."""
    tonnes = Decimal(weight_g * units) / 1_000_000
    return quantize(sum((tonnes * leg.km * factor[leg.mode] for leg in legs), Decimal(0)), KG)
