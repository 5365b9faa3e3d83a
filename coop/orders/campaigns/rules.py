"""The rules a campaign chooses for its cost split and short deliveries: plain enums.

They live apart from the models so the pure calculations (coop.orders.pooling.cost_split,
coop.orders.purchasing.shortage) read them without importing the database layer.
"""

from enum import StrEnum


class SplitKey(StrEnum):
    """How a supplier's shipping fee or a charge is shared among the needs it served."""

    VALUE = "value"
    QUANTITY = "quantity"
    WEIGHT = "weight"


class ShortageRule(StrEnum):
    """How a short delivery is shared among the shops a line serves."""

    PRO_RATA = "pro_rata"
    FIRST_POSTED = "first_posted"
