"""The largest values the coop accepts, by kind: forms and CSV imports read them here.

Past these a value is a typing slip (or a probe), never a real order, and it would
overflow its column (NUMERIC(12, 2) amounts, 32-bit integers) or the calendar. They
also keep products inside the columns: 100 000 units at 10 000 € is a line of 10^9 €,
well below NUMERIC(12, 2)'s 10^10. Each check returns the value or raises ValueError
with a French message in the user's words ("au plus 1 000 000 €"), as the cell
parsers of coop.csv_import do.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from coop.money import UNIT_PRICE as PRICE_STEP
from coop.money import quantize

# Money: a fee, a charge, a payment, a credit note, a shipping threshold (euros).
MAX_AMOUNT = Decimal("1000000")
# A line of a bank statement: what the bank wrote (a loan, a grant…), within its column.
MAX_BANK_AMOUNT = Decimal("1000000000")
# A unit price (euros excl. VAT), kept to 1/100 of a cent: the smallest one is that step.
MAX_UNIT_PRICE = Decimal("10000")
MIN_UNIT_PRICE = PRICE_STEP
# Units of a part: a need, a tolerance, a pack, a minimum order, a tier, a receipt.
MAX_QUANTITY = 100_000
# A rate typed in percent (the coop's fee, an origin penalty): from 0 to less than 100 %.
MAX_PERCENT = Decimal("100")
# A delivery lead time (days).
MAX_LEAD_TIME_DAYS = 365
# Units over several years: a framework agreement's committed volume, a maker's yearly
# capacity, a call's annual volume.
MAX_VOLUME = 10_000_000
# A framework agreement's or a call's length: ten years, in months or in campaigns.
MAX_MONTHS = 120
MAX_CAMPAIGNS = 240
# A part's weight (grams): one tonne.
MAX_WEIGHT_G = 1_000_000
# Dates the coop's documents may carry; date arithmetic (+1 day, +30 days) stays in range.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)
# A database id: PostgreSQL's `integer` (SQLite takes 64 bits, but ids never get there).
MAX_ID = 2**31 - 1
# A page of a list: far past the last page of any list, far below an offset's limit.
MAX_PAGE = 100_000
# A search typed in a list's box (characters): longer is no search a person types.
MAX_SEARCH = 100


def shown(number) -> str:
    """1000000 -> `1 000 000`, 0.0001 -> `0,0001`: as the messages show a bound."""
    whole, _, decimals = f"{Decimal(number):f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", " ")
    return f"{grouped},{decimals}" if decimals else grouped


@dataclass(frozen=True)
class Bound:
    """Values from `-high` to `high`, in `unit`; whether a negative one makes sense (a
    discount) or not (a quantity) is each field's own rule, checked before."""

    high: int | Decimal
    unit: str

    def __call__(self, value):
        if value > self.high:
            raise ValueError(f"au plus {shown(self.high)} {self.unit}")
        if value < -self.high:
            raise ValueError(f"au moins -{shown(self.high)} {self.unit}")
        return value


amount = Bound(MAX_AMOUNT, "€")
bank_amount = Bound(MAX_BANK_AMOUNT, "€")
quantity = Bound(MAX_QUANTITY, "unités")
lead_time_days = Bound(MAX_LEAD_TIME_DAYS, "jours")
volume = Bound(MAX_VOLUME, "unités")
months = Bound(MAX_MONTHS, "mois")
campaigns = Bound(MAX_CAMPAIGNS, "campagnes")
weight_g = Bound(MAX_WEIGHT_G, "g")


def percent(value: Decimal) -> Decimal:
    """A rate typed in percent: 2,5 for 2,5 %."""
    if not 0 <= value < MAX_PERCENT:
        raise ValueError("un pourcentage entre 0 et 100 est attendu")
    return value


def unit_price(value: Decimal) -> Decimal:
    """A strictly positive unit price that keeps a digit at 1/100 of a cent."""
    if value > MAX_UNIT_PRICE:
        raise ValueError(f"au plus {shown(MAX_UNIT_PRICE)} €")
    if value <= 0:
        raise ValueError("le prix doit être strictement positif")
    if quantize(value, PRICE_STEP) < MIN_UNIT_PRICE:
        raise ValueError(f"au moins {shown(MIN_UNIT_PRICE)} €")
    return value


def day(value: date) -> date:
    """A date (or a datetime: its date) within the coop's calendar."""
    on = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DAY <= on <= LATEST_DAY:
        raise ValueError(
            f"date trop lointaine : entre le {EARLIEST_DAY:%d/%m/%Y} et le {LATEST_DAY:%d/%m/%Y}"
        )
    return value


def record_id(value: int) -> int:
    """An id as a form or a link carries it; past any id, it is a forgery."""
    if not 1 <= value <= MAX_ID:
        raise ValueError("identifiant invalide")
    return value
