"""The entries of the FEC as they were first exported: the accountant's record never changes.

An entry (écriture) is stored the first time a FEC covering its day is exported,
with its number (EcritureNum), journal, label and lines as they were then
written; a later export prints the stored entry, whatever changed since (a
shop's name, an account number in the settings, a payment's allocations). The
lettering code of its customers' line is set once, the day its set balances,
and never changes either. The model refuses other updates and deletes, and
database triggers (see the migration) refuse them too, as for invoices.
"""

from datetime import date, datetime

from sqlalchemy import JSON, Index, String, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column

from coop.clock import now
from coop.db import Base, UTCDateTime
from coop.errors import DomainError

# What an entry books, by the kind of its source.
SOURCE_INVOICE = "I"  # an invoice or a credit note (sales journal)
SOURCE_PAYMENT = "P"  # a payment received (bank journal)
SOURCE_REFUND = "R"  # a refund paid (bank journal)
SOURCE_PAYOUT = "O"  # a Stripe payout reaching the bank account (bank journal)
SOURCE_PURCHASE = "H"  # a supplier's invoice or credit note booked (purchases journal)
SOURCE_SUPPLIER_PAYMENT = "S"  # a supplier paid from the bank (bank journal)
SOURCE_VAT_DUE = "V"  # VAT on receipts becoming due once its invoice is settled (OD)
SOURCE_OPENING = "A"  # the opening balances of a fiscal year (AN), source id: the year


class FecEntry(Base):
    """One accounting entry as first exported; its lines are in `postings`."""

    __tablename__ = "fec_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    source_kind: Mapped[str] = mapped_column(String(1))
    source_id: Mapped[int]
    journal_code: Mapped[str] = mapped_column(String(8))
    journal_label: Mapped[str] = mapped_column(String(60))
    entry_date: Mapped[date] = mapped_column(index=True)
    piece_ref: Mapped[str] = mapped_column(String(60))
    piece_date: Mapped[date]
    label: Mapped[str] = mapped_column(String(255))
    # [{"role", "account", "account_label", "aux", "aux_label", "debit", "credit"}, ...]
    postings: Mapped[list] = mapped_column(JSON)
    # The third party's line, what lettering reads: the shop's code on the customers'
    # account (411), or "F/" and the supplier's code on the suppliers' account (401);
    # "" when the entry has none. Its signed amount (debit positive), as a string.
    member_code: Mapped[str] = mapped_column(String(40), default="")
    customers_amount: Mapped[str] = mapped_column(String(20), default="0.00")
    lettering: Mapped[str | None] = mapped_column(String(8))
    lettered_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (
        UniqueConstraint("source_kind", "source_id", name="fec_entry_source_once"),
        Index("ix_fec_entries_lettering", "lettering"),
    )

    def __repr__(self) -> str:
        return f"<FecEntry {self.number} {self.source_kind}{self.source_id} {self.lettering}>"


class FecExport(Base):
    """A FEC exported up to a day: entries dated up to then are closed. An entry recorded
    later for a closed day (a late bank line, a back-dated payment) is booked on the first
    open day, its piece keeping its own date, so an exported period never changes."""

    __tablename__ = "fec_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    closed_through: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


REFUSAL = "Une écriture exportée dans le FEC ne se modifie pas et ne se supprime pas."


@event.listens_for(FecEntry, "before_update")
def _refuse_update(mapper, connection, target):
    for attr in inspect(target).attrs:
        history = attr.history
        if not history.has_changes():
            continue
        lettering = attr.key in ("lettering", "lettered_on")
        if lettering and all(old is None for old in history.deleted):
            continue
        raise DomainError(REFUSAL)


@event.listens_for(FecEntry, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise DomainError(REFUSAL)
