"""Invoices and credit notes (spec/invoicing.md).

An issued invoice is a snapshot: parties, lines and totals are copied at issue
time and never change. The model refuses updates and deletes, and database
triggers (see the migration) refuse them too. Its PDF, rendered once after the
commit, lives in its own insert-only table with its SHA-256.
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
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.accounts.models import Member, User
from coop.clock import now
from coop.db import Base, Money, Rate, UnitPrice, UTCDateTime, checked_enum
from coop.errors import DomainError
from coop.i18n import N_
from coop.orders.campaigns.models import Campaign


class InvoiceKind(StrEnum):
    INVOICE = "invoice"  # type 380
    CREDIT_NOTE = "credit_note"  # type 381

    @property
    def label(self) -> str:
        """Its name on pages, in the reader's language."""
        return _(INVOICE_KIND_LABELS[self])


# The documents and the accounting exports print these French names as they are.
INVOICE_KIND_LABELS = {InvoiceKind.INVOICE: N_("Facture"), InvoiceKind.CREDIT_NOTE: N_("Avoir")}


class LineKind(StrEnum):
    GOODS = "goods"
    SHIPPING = "shipping"
    CHARGE = "charge"
    FEE = "fee"  # the coop's service fee


class Invoice(Base):
    """An invoice or a credit note, issued once and never changed."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    # FA-2026-000123, AV-2026-000007: at most 35 characters (spec/invoicing.md).
    number: Mapped[str] = mapped_column(String(35), unique=True)
    kind: Mapped[InvoiceKind] = mapped_column(checked_enum(InvoiceKind))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # A credit note cites the invoice it corrects.
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    issued_on: Mapped[date]
    due_on: Mapped[date]
    # Seller, buyer, addresses, references, payment terms and legal mentions, as issued.
    snapshot: Mapped[dict] = mapped_column(JSON)
    total_excl_vat: Mapped[Decimal] = mapped_column(Money)
    total_vat: Mapped[Decimal] = mapped_column(Money)
    total_incl_vat: Mapped[Decimal] = mapped_column(Money)
    # The structured reference a bank transfer carries (matched by the payments issue).
    payment_reference: Mapped[str] = mapped_column(String(35), unique=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    campaign: Mapped[Campaign] = relationship()
    member: Mapped[Member] = relationship()
    issued_by: Mapped[User | None] = relationship()
    credited_invoice: Mapped["Invoice | None"] = relationship(remote_side=[id])
    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position"
    )
    vat: Mapped[list["InvoiceVat"]] = relationship(
        back_populates="invoice", order_by="InvoiceVat.rate"
    )
    document: Mapped["InvoiceDocument | None"] = relationship(back_populates="invoice")

    __table_args__ = (
        CheckConstraint(
            "ROUND(total_incl_vat, 2) = ROUND(total_excl_vat + total_vat, 2)", name="totals_add_up"
        ),
        CheckConstraint(
            "(kind = 'credit_note') = (credited_invoice_id IS NOT NULL)",
            name="credit_note_cites_its_invoice",
        ),
        CheckConstraint("due_on >= issued_on", name="due_after_issue"),
    )

    def __repr__(self) -> str:
        return f"<Invoice {self.number}>"


class InvoiceLine(Base):
    """A line as issued: quantity x unit price = amount, rounded to the cent per line."""

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int]
    kind: Mapped[LineKind] = mapped_column(checked_enum(LineKind))
    description: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(60))  # part SKU, the shop's own ref
    quantity: Mapped[Decimal] = mapped_column(UnitPrice)  # units (goods) or 1 (shares)
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)
    vat_rate: Mapped[Decimal] = mapped_column(Rate)
    amount_excl_vat: Mapped[Decimal] = mapped_column(Money)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    __table_args__ = (UniqueConstraint("invoice_id", "position", name="uq_invoice_lines_position"),)


class InvoiceVat(Base):
    """VAT per rate, computed once per rate on the sum of its lines (BR-CO-17), half up."""

    __tablename__ = "invoice_vat"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    rate: Mapped[Decimal] = mapped_column(Rate)
    base: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)

    invoice: Mapped[Invoice] = relationship(back_populates="vat")

    __table_args__ = (UniqueConstraint("invoice_id", "rate", name="uq_invoice_vat_rate"),)


class InvoiceDocument(Base):
    """The PDF (PDF/A-3b with its Factur-X XML), rendered once and served byte-identical."""

    __tablename__ = "invoice_documents"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    rendered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    invoice: Mapped[Invoice] = relationship(back_populates="document")


IMMUTABLE = (Invoice, InvoiceLine, InvoiceVat, InvoiceDocument)


@event.listens_for(Invoice, "before_update")
@event.listens_for(InvoiceLine, "before_update")
@event.listens_for(InvoiceVat, "before_update")
@event.listens_for(InvoiceDocument, "before_update")
def _refuse_update(mapper, connection, target):
    raise DomainError("Une facture émise ne se modifie pas : émettez un avoir.")


@event.listens_for(Invoice, "before_delete")
@event.listens_for(InvoiceLine, "before_delete")
@event.listens_for(InvoiceVat, "before_delete")
@event.listens_for(InvoiceDocument, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise DomainError("Une facture émise ne se supprime pas : émettez un avoir.")


# The one line of a credit note by amount (crediting.credit_invoice).
FREE_AMOUNT_LABEL = "Remise / régularisation"


def fee_is_service(document: Invoice) -> bool:
    """Whether the coop fee was billed as a service (706) rather than as part of the goods'
    price (707), as the settings said when the invoice was issued; a credit note copies its
    invoice's. Invoices issued before the setting existed billed it as a service."""
    return (document.snapshot or {}).get("fee_treatment", "service") == "service"


def vat_on_receipts(document: Invoice) -> bool:
    """A fee billed as a service without the option for VAT on debits: its VAT is due when
    paid (CGI art. 269, 2, c), and waits on the pending VAT account until then."""
    seller = (document.snapshot or {}).get("seller") or {}
    return fee_is_service(document) and not seller.get("vat_on_debits")


def is_gesture(note: Invoice) -> bool:
    """A credit note by amount (a commercial gesture), not on returned or missing goods."""
    if note.kind is not InvoiceKind.CREDIT_NOTE:
        return False
    snapshot = note.snapshot or {}
    if "gesture" in snapshot:
        return bool(snapshot["gesture"])
    # Issued before the flag: one line of that label, citing no line of the original.
    return not snapshot.get("credited_lines") and all(
        line.description == FREE_AMOUNT_LABEL for line in note.lines
    )
