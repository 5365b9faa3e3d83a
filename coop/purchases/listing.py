"""What the suppliers' invoices pages list: invoices by status and search, and the choices
their forms offer."""

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from coop.extensions import db
from coop.orders.purchasing.models import OrderStatus, PurchaseOrder
from coop.purchases.models import SupplierInvoice, SupplierInvoiceKind, SupplierInvoiceStatus
from coop.suppliers.models import Supplier
from coop.suppliers.search import search_key


def invoices_query(search: str = "", status: SupplierInvoiceStatus | None = None) -> Select:
    """Suppliers' invoices, latest first; each word searched in the number or the supplier's
    name or code."""
    query = (
        select(SupplierInvoice)
        .join(SupplierInvoice.supplier)
        .options(selectinload(SupplierInvoice.supplier))
    )
    if status is not None:
        query = query.where(SupplierInvoice.status == status)
    for word in search.split():
        found = [SupplierInvoice.number.icontains(word, autoescape=True)]
        if key := search_key(word):
            found.append(Supplier.search_text.contains(key, autoescape=True))
        query = query.where(or_(*found))
    return query.order_by(SupplierInvoice.issued_on.desc(), SupplierInvoice.id.desc())


def to_check_count() -> int:
    """Suppliers' invoices imported and not yet booked nor disputed: the manager's to-do."""
    return db.session.scalar(
        select(func.count())
        .select_from(SupplierInvoice)
        .where(SupplierInvoice.status == SupplierInvoiceStatus.TO_CHECK)
    )


def suppliers() -> list[Supplier]:
    return db.session.scalars(select(Supplier).order_by(Supplier.name)).all()


def orders(supplier_id: int | None = None) -> list[PurchaseOrder]:
    """Purchase orders an invoice may be linked to: sent ones, of `supplier_id` when given."""
    query = (
        select(PurchaseOrder)
        .where(PurchaseOrder.status.not_in([OrderStatus.DRAFT, OrderStatus.CANCELLED]))
        .options(selectinload(PurchaseOrder.supplier))
        .order_by(PurchaseOrder.number.desc())
    )
    if supplier_id is not None:
        query = query.where(PurchaseOrder.supplier_id == supplier_id)
    return db.session.scalars(query).all()


def invoices_of(supplier_id: int) -> list[SupplierInvoice]:
    """A supplier's invoices (not credit notes), which a credit note may credit."""
    return db.session.scalars(
        select(SupplierInvoice)
        .where(
            SupplierInvoice.supplier_id == supplier_id,
            SupplierInvoice.kind == SupplierInvoiceKind.INVOICE,
        )
        .order_by(SupplierInvoice.issued_on.desc())
    ).all()


def find_invoice(supplier_id: int, number: str) -> SupplierInvoice | None:
    return db.session.scalar(
        select(SupplierInvoice).where(
            SupplierInvoice.supplier_id == supplier_id,
            SupplierInvoice.kind == SupplierInvoiceKind.INVOICE,
            SupplierInvoice.number == number,
        )
    )
