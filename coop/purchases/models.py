"""Suppliers' invoices and credit notes as received, and what the coop paid them.

An invoice is imported from the supplier's own file (Factur-X PDF, CII or UBL XML) or
entered by hand with its PDF; the file is kept byte for byte. It is matched against its
purchase order and what was received, then booked (it goes to the purchases journal) or
disputed. A payment is a debit line of a bank statement, allocated to booked invoices of
one supplier; a credit note (381) is never allocated: it lowers what its invoice owes.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.accounts.models import User
from coop.activity.actions import label_values
from coop.clock import now
from coop.db import Base, Money, Rate, UnitPrice, UTCDateTime, checked_enum
from coop.i18n import N_
from coop.orders.purchasing.models import PurchaseOrder
from coop.payments.models import BankLine
from coop.suppliers.models import Part, Supplier
from coop.suppliers.origin import VatRule, vat_rule


class SupplierRegime(StrEnum):
    """The VAT regime of a purchase, by the supplier's country (CGI art. 256 bis, 291)."""

    FRANCE = "france"  # French VAT on the invoice, deductible (44566)
    EU = "eu"  # intra-Community acquisition: no VAT billed, self-assessed (4452 / 44566)
    OUTSIDE_EU = "outside_eu"  # import: import VAT self-assessed (445662) or customs

    @property
    def label(self) -> str:
        return _(SUPPLIER_REGIME_LABELS[self])


SUPPLIER_REGIME_LABELS = {
    SupplierRegime.FRANCE: N_("France"),
    SupplierRegime.EU: N_("Union européenne"),
    SupplierRegime.OUTSIDE_EU: N_("Hors Union européenne"),
}

REGIME_OF_VAT_RULE = {
    VatRule.DOMESTIC: SupplierRegime.FRANCE,
    VatRule.INTRA_EU: SupplierRegime.EU,
    VatRule.IMPORT: SupplierRegime.OUTSIDE_EU,
}


def supplier_regime(supplier: Supplier) -> SupplierRegime:
    """France (with Monaco), another EU member state, or outside the EU, by its country.

    An EU supplier without a VAT number stays EU: the match flags the missing number.
    """
    return REGIME_OF_VAT_RULE[vat_rule(supplier.country)]


class SupplierInvoiceKind(StrEnum):
    """The UNTDID 1001 type code of the document (BT-3)."""

    INVOICE = "380"
    CREDIT_NOTE = "381"

    @property
    def label(self) -> str:
        return _(SUPPLIER_INVOICE_KIND_LABELS[self])


SUPPLIER_INVOICE_KIND_LABELS = {
    SupplierInvoiceKind.INVOICE: N_("Facture"),
    SupplierInvoiceKind.CREDIT_NOTE: N_("Avoir"),
}
label_values("supplier_invoice", "kind", SUPPLIER_INVOICE_KIND_LABELS)


class SupplierInvoiceStatus(StrEnum):
    TO_CHECK = "to_check"
    DISPUTED = "disputed"
    BOOKED = "booked"

    @property
    def label(self) -> str:
        return _(SUPPLIER_INVOICE_STATUS_LABELS[self])


SUPPLIER_INVOICE_STATUS_LABELS = {
    SupplierInvoiceStatus.TO_CHECK: N_("À vérifier"),
    SupplierInvoiceStatus.DISPUTED: N_("Contestée"),
    SupplierInvoiceStatus.BOOKED: N_("Comptabilisée"),
}
label_values("supplier_invoice", "status", SUPPLIER_INVOICE_STATUS_LABELS)

# What a manager may do next: a disputed invoice may still be booked once the supplier
# explains (or sends a credit note); a booked one is in the journal and stays there.
SUPPLIER_INVOICE_TRANSITIONS = {
    SupplierInvoiceStatus.TO_CHECK: {SupplierInvoiceStatus.DISPUTED, SupplierInvoiceStatus.BOOKED},
    SupplierInvoiceStatus.DISPUTED: {SupplierInvoiceStatus.BOOKED},
    SupplierInvoiceStatus.BOOKED: set(),
}


class SourceFormat(StrEnum):
    FACTURX = "facturx"
    CII = "cii"
    UBL = "ubl"
    MANUAL = "manual"


SOURCE_FORMAT_LABELS = {
    SourceFormat.FACTURX: N_("Factur-X (PDF)"),
    SourceFormat.CII: N_("CII (XML)"),
    SourceFormat.UBL: N_("UBL (XML)"),
    SourceFormat.MANUAL: N_("Saisie manuelle"),
}


class SupplierLineKind(StrEnum):
    GOODS = "goods"
    SHIPPING = "shipping"


class SupplierInvoice(Base):
    """A supplier's invoice or credit note, its original file, and what the match found."""

    __tablename__ = "supplier_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    kind: Mapped[SupplierInvoiceKind] = mapped_column(checked_enum(SupplierInvoiceKind))
    # The supplier's own number (BT-1).
    number: Mapped[str] = mapped_column(String(60))
    issued_on: Mapped[date]
    due_on: Mapped[date | None]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # Our purchase order (BT-13 as the supplier cites it, or chosen by the manager).
    purchase_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchase_orders.id"), index=True
    )
    # A credit note cites the invoice it corrects (BT-25).
    credited_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("supplier_invoices.id"), index=True
    )
    total_excl_vat: Mapped[Decimal] = mapped_column(Money)
    total_vat: Mapped[Decimal] = mapped_column(Money)
    total_incl_vat: Mapped[Decimal] = mapped_column(Money)
    # [{"category": "S", "rate": "20.00", "base": "123.45", "amount": "24.69"}], as strings.
    vat_breakdown: Mapped[list] = mapped_column(JSON, default=list)
    source_format: Mapped[SourceFormat] = mapped_column(checked_enum(SourceFormat))
    # The file as received, never changed.
    file: Mapped[bytes] = mapped_column(LargeBinary)
    filename: Mapped[str] = mapped_column(String(255))
    file_type: Mapped[str] = mapped_column(String(60))
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[SupplierInvoiceStatus] = mapped_column(
        checked_enum(SupplierInvoiceStatus), default=SupplierInvoiceStatus.TO_CHECK, index=True
    )
    # [{"code", "label", "line"?, "expected", "billed"}], written by coop.purchases.matching.
    differences: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    dispute_message: Mapped[str | None] = mapped_column(Text)
    # The accounting date of its purchases journal entry.
    booked_on: Mapped[date | None]
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    supplier: Mapped[Supplier] = relationship()
    purchase_order: Mapped[PurchaseOrder | None] = relationship()
    credited_invoice: Mapped["SupplierInvoice | None"] = relationship(
        remote_side=[id], back_populates="credit_notes"
    )
    credit_notes: Mapped[list["SupplierInvoice"]] = relationship(
        back_populates="credited_invoice", order_by="SupplierInvoice.issued_on"
    )
    lines: Mapped[list["SupplierInvoiceLine"]] = relationship(
        back_populates="invoice",
        order_by="SupplierInvoiceLine.position",
        cascade="all, delete-orphan",
    )
    allocations: Mapped[list["SupplierPaymentAllocation"]] = relationship(
        back_populates="invoice", order_by="SupplierPaymentAllocation.id"
    )
    booked_by: Mapped[User | None] = relationship(foreign_keys=[booked_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (
        UniqueConstraint("supplier_id", "kind", "number", name="uq_supplier_invoices_number"),
        CheckConstraint(
            "ROUND(total_incl_vat, 2) = ROUND(total_excl_vat + total_vat, 2)", name="totals_add_up"
        ),
        CheckConstraint(
            "total_excl_vat >= 0 AND total_vat >= 0 AND total_incl_vat >= 0",
            name="totals_not_negative",
        ),
        CheckConstraint("kind = '381' OR credited_invoice_id IS NULL", name="only_notes_credit"),
        CheckConstraint(
            "(status = 'booked') = (booked_on IS NOT NULL)", name="booked_has_its_date"
        ),
    )

    @property
    def is_credit_note(self) -> bool:
        return self.kind is SupplierInvoiceKind.CREDIT_NOTE

    def __repr__(self) -> str:
        return f"<SupplierInvoice {self.supplier_id} {self.kind} {self.number}>"


class SupplierInvoiceLine(Base):
    """A line as the supplier billed it, with the catalogue part it was matched to."""

    __tablename__ = "supplier_invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("supplier_invoices.id"), index=True)
    position: Mapped[int]
    kind: Mapped[SupplierLineKind] = mapped_column(checked_enum(SupplierLineKind))
    supplier_ref: Mapped[str | None] = mapped_column(String(60))  # BT-155
    buyer_ref: Mapped[str | None] = mapped_column(String(60))  # BT-156
    name: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)
    amount_excl_vat: Mapped[Decimal] = mapped_column(Money)
    vat_rate: Mapped[Decimal] = mapped_column(Rate)
    vat_category: Mapped[str] = mapped_column(String(2))
    part_id: Mapped[int | None] = mapped_column(ForeignKey("parts.id"))

    invoice: Mapped[SupplierInvoice] = relationship(back_populates="lines")
    part: Mapped[Part | None] = relationship()

    __table_args__ = (
        UniqueConstraint("invoice_id", "position", name="uq_supplier_invoice_lines_position"),
    )


class SupplierPayment(Base):
    """Money paid to a supplier: one debit line of a bank statement."""

    __tablename__ = "supplier_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    bank_line_id: Mapped[int] = mapped_column(ForeignKey("bank_lines.id"), unique=True)
    # Positive, though the bank line's amount is negative.
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    supplier: Mapped[Supplier] = relationship()
    bank_line: Mapped[BankLine] = relationship()
    created_by: Mapped[User | None] = relationship()
    allocations: Mapped[list["SupplierPaymentAllocation"]] = relationship(
        back_populates="payment", order_by="SupplierPaymentAllocation.id"
    )

    __table_args__ = (CheckConstraint("amount > 0", name="supplier_payment_amount_positive"),)


class SupplierPaymentAllocation(Base):
    """The part of a supplier payment that settles one booked invoice."""

    __tablename__ = "supplier_payment_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("supplier_payments.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("supplier_invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)

    payment: Mapped[SupplierPayment] = relationship(back_populates="allocations")
    invoice: Mapped[SupplierInvoice] = relationship(back_populates="allocations")

    __table_args__ = (CheckConstraint("amount > 0", name="supplier_allocation_amount_positive"),)


def amount_owed(invoice: SupplierInvoice) -> Decimal:
    """What the coop still owes on an invoice: its total, less what was paid on it and the
    booked credit notes citing it (below zero, the supplier owes the coop). A credit note
    owes nothing itself."""
    if invoice.is_credit_note:
        return Decimal("0.00")
    paid = sum((a.amount for a in invoice.allocations), Decimal("0.00"))
    credited = sum(
        (
            note.total_incl_vat
            for note in invoice.credit_notes
            if note.status is SupplierInvoiceStatus.BOOKED
        ),
        Decimal("0.00"),
    )
    return invoice.total_incl_vat - paid - credited
