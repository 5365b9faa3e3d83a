"""The rules a campaign chooses for its cost split and short deliveries: plain enums.

They live apart from the models so the pure calculations (coop.orders.pooling.cost_split,
coop.orders.purchasing.shortage) read them without importing the database layer.
"""

from enum import StrEnum

from coop.i18n import N_


class SplitKey(StrEnum):
    """How a supplier's shipping fee or a charge is shared among the needs it served."""

    VALUE = "value"
    QUANTITY = "quantity"
    WEIGHT = "weight"


# The only place the keys are named ("Frais de port répartis au prorata du poids"): forms,
# pages and statements read it, and translate it where they show it.
SPLIT_KEY_LABELS = {
    SplitKey.VALUE: N_("au prorata de la valeur des marchandises"),
    SplitKey.QUANTITY: N_("au prorata des quantités"),
    SplitKey.WEIGHT: N_("au prorata du poids"),
}


class ShortageRule(StrEnum):
    """How a short delivery is shared among the shops a line serves."""

    PRO_RATA = "pro_rata"
    FIRST_POSTED = "first_posted"


# The only place the rules are named: the campaign form ("Livraison incomplète d'un
# fournisseur : …") and the receiving pages ("6 unités en moins (…)") read it.
SHORTAGE_RULE_LABELS = {
    ShortageRule.PRO_RATA: N_("partagée au prorata des quantités"),
    ShortageRule.FIRST_POSTED: N_("premier posté, premier servi"),
}
