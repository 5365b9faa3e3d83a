"""Where an offer's goods are made, as the classes of spec/pooling.md."""

from enum import StrEnum

import pycountry
from flask_babel import gettext as _

from coop.i18n import N_


class Origin(StrEnum):
    LOCAL = "local"
    FRANCE = "france"
    EUROPE = "europe"
    ASIA = "asia"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Its name for people, in their language (ORIGIN_LABELS holds the French)."""
        return _(ORIGIN_LABELS[self])


# The only place the origins are named: badges, filters, forms and CSV files read it.
ORIGIN_LABELS = {
    Origin.LOCAL: N_("Local"),
    Origin.FRANCE: N_("France"),
    Origin.EUROPE: N_("Europe"),
    Origin.ASIA: N_("Asie"),
    Origin.OTHER: N_("Autre"),
}


# Order in which origins are shown, nearest first.
ORIGINS_NEAR_FIRST = (Origin.LOCAL, Origin.FRANCE, Origin.EUROPE, Origin.ASIA, Origin.OTHER)

# EU member states, the rest of the EEA, Switzerland and the United Kingdom (spec/pooling.md).
EUROPE = frozenset(
    "AT BE BG HR CY CZ DK EE FI DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE "
    "IS LI NO CH GB".split()
)
ASIA = frozenset(
    "AF AM AZ BH BD BT BN KH CN GE HK IN ID IR IQ IL JP JO KZ KW KG LA LB MO MY MV MN "
    "MM NP KP OM PK PS PH QA SA SG KR LK SY TW TJ TH TL TM AE UZ VN YE".split()
)


# The EU's VAT area: a purchase from another member state is an intra-Community acquisition.
EU_MEMBER_STATES = frozenset(
    "AT BE BG HR CY CZ DK EE FI DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
# Monaco is inside the French VAT territory (CGI art. 256-0).
FRENCH_VAT_TERRITORY = frozenset({"FR", "MC"})


class VatRule(StrEnum):
    """Which VAT applies to goods bought from a supplier, by the supplier's country."""

    DOMESTIC = "domestic"
    INTRA_EU = "intra_eu"
    IMPORT = "import"


def vat_rule(country: str) -> VatRule:
    if country in FRENCH_VAT_TERRITORY:
        return VatRule.DOMESTIC
    if country in EU_MEMBER_STATES:
        return VatRule.INTRA_EU
    return VatRule.IMPORT


def classify(made_in: str, supplier_is_local: bool) -> Origin:
    """Local when made in France by a local supplier; else by the country of manufacture."""
    if made_in == "FR":
        return Origin.LOCAL if supplier_is_local else Origin.FRANCE
    if made_in in EUROPE:
        return Origin.EUROPE
    if made_in in ASIA:
        return Origin.ASIA
    return Origin.OTHER


def country_code(value: str) -> str:
    """An ISO 3166 alpha-2 country code, upper-cased; ValueError in French otherwise."""
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"code pays ISO inconnu : {value.strip()!r} (attendu : FR, IT, TW…)")
    return code
