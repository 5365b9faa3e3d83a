"""The coop's margin on a campaign: what it billed the shops against what its suppliers billed it.

All amounts excl. VAT, credit notes deducted, in exact Decimals. On the shops' side, the
campaign's invoices by line kind (goods, shipping and charges recovered, the coop's fee);
on the suppliers' side, the booked invoices of the campaign's purchase orders by line
kind (goods, shipping), less their booked credit notes. Invoices of the campaign's
suppliers still to check or disputed are counted apart: the margin is final once there
are none.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from coop.extensions import db
from coop.invoicing.models import Invoice, InvoiceKind, InvoiceLine, LineKind
from coop.orders.campaigns.models import Campaign
from coop.orders.purchasing.models import PurchaseOrder
from coop.purchases.models import (
    SupplierInvoice,
    SupplierInvoiceKind,
    SupplierInvoiceLine,
    SupplierInvoiceStatus,
    SupplierLineKind,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Margin:
    goods_billed: Decimal  # to the shops
    shipping_recovered: Decimal  # shipping and charges billed to the shops
    fees: Decimal  # the coop's service fee
    goods_bought: Decimal  # billed by the suppliers
    shipping_paid: Decimal  # shipping billed by the suppliers
    pending: int  # suppliers' invoices of the campaign not booked yet

    @property
    def goods_margin(self) -> Decimal:
        return self.goods_billed - self.goods_bought

    @property
    def shipping_margin(self) -> Decimal:
        return self.shipping_recovered - self.shipping_paid

    @property
    def total(self) -> Decimal:
        """What the campaign leaves the coop: its fee, and what goods and shipping leave."""
        return self.fees + self.goods_margin + self.shipping_margin


def _shops_billed(campaign: Campaign) -> dict[LineKind, Decimal]:
    rows = db.session.execute(
        select(Invoice.kind, InvoiceLine.kind, func.sum(InvoiceLine.amount_excl_vat))
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(Invoice.campaign_id == campaign.id)
        .group_by(Invoice.kind, InvoiceLine.kind)
    ).all()
    totals = dict.fromkeys(LineKind, ZERO)
    for invoice_kind, line_kind, amount in rows:
        sign = -1 if invoice_kind is InvoiceKind.CREDIT_NOTE else 1
        totals[line_kind] += sign * amount
    return totals


def _orders(campaign: Campaign):
    return select(PurchaseOrder.id).where(PurchaseOrder.campaign_id == campaign.id)


def _suppliers_billed(campaign: Campaign) -> dict[SupplierLineKind, Decimal]:
    """Booked invoices of the campaign's orders, less booked credit notes on them (or on
    the orders themselves)."""
    credited = SupplierInvoice.__table__.alias("credited")
    rows = db.session.execute(
        select(SupplierInvoice.kind, SupplierInvoiceLine.kind, SupplierInvoiceLine.amount_excl_vat)
        .join(SupplierInvoiceLine, SupplierInvoiceLine.invoice_id == SupplierInvoice.id)
        .outerjoin(credited, credited.c.id == SupplierInvoice.credited_invoice_id)
        .where(
            SupplierInvoice.status == SupplierInvoiceStatus.BOOKED,
            SupplierInvoice.purchase_order_id.in_(_orders(campaign))
            | credited.c.purchase_order_id.in_(_orders(campaign)),
        )
    ).all()
    totals = dict.fromkeys(SupplierLineKind, ZERO)
    for invoice_kind, line_kind, amount in rows:
        sign = -1 if invoice_kind is SupplierInvoiceKind.CREDIT_NOTE else 1
        totals[line_kind] += sign * amount
    return totals


def campaign_margin(campaign: Campaign) -> Margin:
    """The campaign's margin as the books stand."""
    shops = _shops_billed(campaign)
    suppliers = _suppliers_billed(campaign)
    pending = db.session.scalar(
        select(func.count())
        .select_from(SupplierInvoice)
        .where(
            SupplierInvoice.status != SupplierInvoiceStatus.BOOKED,
            SupplierInvoice.purchase_order_id.in_(_orders(campaign)),
        )
    )
    return Margin(
        goods_billed=shops[LineKind.GOODS],
        shipping_recovered=shops[LineKind.SHIPPING] + shops[LineKind.CHARGE],
        fees=shops[LineKind.FEE],
        goods_bought=suppliers[SupplierLineKind.GOODS],
        shipping_paid=suppliers[SupplierLineKind.SHIPPING],
        pending=pending,
    )
