"""The French VAT the coop declares itself on a purchase from outside France.

A supplier in another EU state bills no VAT (an intra-Community supply): the coop
self-assesses the French VAT on the acquisition, due and deductible at once (CGI art.
256 bis, 4452 / 44566). Goods from outside the EU owe import VAT, self-assessed as well
since 2022 (CGI art. 1695, 445662). Either way the rate is the French rate of the goods:
the part's own (`Part.vat_rate`), else the standard rate for a line with no part (shipping,
a charge: accessory costs follow the standard rate here). VAT is computed once per rate on
the sum of its lines, half up, as on the coop's own invoices.
"""

from dataclasses import dataclass
from decimal import Decimal

from coop.money import quantize
from coop.purchases.models import SupplierInvoice, SupplierRegime, supplier_regime

STANDARD_RATE = Decimal("0.2000")


@dataclass(frozen=True)
class SelfAssessed:
    rate: Decimal  # a fraction: 0.2000
    base: Decimal
    vat: Decimal


def self_assessed_vat(invoice: SupplierInvoice) -> list[SelfAssessed]:
    """Per French rate, the base and the VAT the coop self-assesses; none from a French
    supplier (its VAT is on the invoice). Positive for a credit note too, like its amounts."""
    if supplier_regime(invoice.supplier) is SupplierRegime.FRANCE:
        return []
    bases: dict[Decimal, Decimal] = {}
    for line in invoice.lines:
        rate = line.part.vat_rate if line.part is not None else STANDARD_RATE
        bases[rate] = bases.get(rate, Decimal("0.00")) + line.amount_excl_vat
    return [
        SelfAssessed(rate, base, quantize(base * rate))
        for rate, base in sorted(bases.items(), reverse=True)
        if base
    ]
