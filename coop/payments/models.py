"""Payments: the ledger of money received from shops and paid back to them.

A payment (Stripe card or SEPA Direct Debit, bank transfer, cheque) belongs to
a shop and is allocated to one or more of its invoices. What is not allocated
is the shop's credit, used on its next invoice (see ledger.settle). Refunds
and disputes are recorded against the payment they concern, never lost; what
Stripe moved that does not fit (another currency, another amount) is kept as
an anomaly for the treasurer instead.

Stripe's side: each Checkout Session we create is kept with the invoices it
pays; each webhook event id is stored, under a unique key, in the transaction
that applies it, so a replayed event does nothing.

Bank transfers: each imported statement line is kept (an import is refused
twice, a line already imported is skipped) and waits in the queue until the
treasurer matches or ignores it.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.accounts.models import Member, User
from coop.activity.actions import label_values
from coop.clock import now
from coop.db import Base, Money, UTCDateTime, checked_enum
from coop.i18n import N_
from coop.invoicing.models import Invoice


class Method(StrEnum):
    CARD = "card"
    SEPA_DEBIT = "sepa_debit"
    TRANSFER = "transfer"
    CHEQUE = "cheque"


METHOD_LABELS = {
    Method.CARD: N_("Carte"),
    Method.SEPA_DEBIT: N_("Prélèvement SEPA"),
    Method.TRANSFER: N_("Virement"),
    Method.CHEQUE: N_("Chèque"),
}


class PaymentStatus(StrEnum):
    PENDING = "pending"  # SEPA Direct Debit: initiated, settles days later
    SUCCEEDED = "succeeded"
    FAILED = "failed"


PAYMENT_STATUS_LABELS = {
    PaymentStatus.PENDING: N_("En cours"),
    PaymentStatus.SUCCEEDED: N_("Reçu"),
    PaymentStatus.FAILED: N_("Échoué"),
}
label_values("payment", "method", METHOD_LABELS)
label_values("payment", "status", PAYMENT_STATUS_LABELS)


class CheckoutSession(Base):
    """A Stripe Checkout Session we created for a shop to pay some of its invoices."""

    __tablename__ = "checkout_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(255), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    url: Mapped[str] = mapped_column(Text)
    # Stripe's own words: status open / complete / expired; payment_status unpaid / paid.
    status: Mapped[str] = mapped_column(String(20), default="open")
    payment_status: Mapped[str] = mapped_column(String(30), default="unpaid")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    member: Mapped[Member] = relationship()
    invoices: Mapped[list[Invoice]] = relationship(
        secondary="checkout_session_invoices", order_by=Invoice.number
    )

    __table_args__ = (CheckConstraint("amount > 0", name="checkout_amount_positive"),)


checkout_session_invoices = Table(
    "checkout_session_invoices",
    Base.metadata,
    Column("checkout_session_id", ForeignKey("checkout_sessions.id"), primary_key=True),
    Column("invoice_id", ForeignKey("invoices.id"), primary_key=True, index=True),
)


class Payment(Base):
    """Money received from a shop; `amount` is gross, `fees` what Stripe kept."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    method: Mapped[Method] = mapped_column(checked_enum(Method))
    status: Mapped[PaymentStatus] = mapped_column(checked_enum(PaymentStatus))
    amount: Mapped[Decimal] = mapped_column(Money)
    fees: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    # The day the money arrived (or, while pending, the day it was initiated).
    received_on: Mapped[date]
    # The bank line's label, the cheque number, Stripe's PaymentIntent id...
    reference: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_session_id: Mapped[int | None] = mapped_column(ForeignKey("checkout_sessions.id"))
    bank_line_id: Mapped[int | None] = mapped_column(ForeignKey("bank_lines.id"), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    member: Mapped[Member] = relationship()
    checkout_session: Mapped[CheckoutSession | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()
    allocations: Mapped[list["PaymentAllocation"]] = relationship(
        back_populates="payment", order_by="PaymentAllocation.id"
    )
    refunds: Mapped[list["Refund"]] = relationship(back_populates="payment", order_by="Refund.id")
    disputes: Mapped[list["Dispute"]] = relationship(
        back_populates="payment", order_by="Dispute.id"
    )

    __table_args__ = (
        CheckConstraint("amount > 0", name="payment_amount_positive"),
        CheckConstraint("fees >= 0 AND fees <= amount", name="payment_fees_within_amount"),
    )

    def __repr__(self) -> str:
        return f"<Payment {self.id} {self.method} {self.amount} {self.status}>"


class PaymentAllocation(Base):
    """The part of a succeeded payment that settles one invoice."""

    __tablename__ = "payment_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    invoice: Mapped[Invoice] = relationship()

    __table_args__ = (CheckConstraint("amount > 0", name="allocation_amount_positive"),)


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


REFUND_STATUS_LABELS = {
    RefundStatus.PENDING: N_("En cours"),
    RefundStatus.SUCCEEDED: N_("Remboursé"),
    RefundStatus.FAILED: N_("Échoué"),
}
label_values("refund", "status", REFUND_STATUS_LABELS)


class Refund(Base):
    """Money paid back to a shop out of one payment (e.g. a credit note paid back)."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[RefundStatus] = mapped_column(checked_enum(RefundStatus))
    refunded_on: Mapped[date]
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    payment: Mapped[Payment] = relationship(back_populates="refunds")
    credit_note: Mapped[Invoice | None] = relationship()

    __table_args__ = (CheckConstraint("amount > 0", name="refund_amount_positive"),)


class Dispute(Base):
    """A card payment the shop's bank contests (Stripe `charge.dispute.created`)."""

    __tablename__ = "payment_disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    stripe_dispute_id: Mapped[str] = mapped_column(String(255), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    payment: Mapped[Payment] = relationship(back_populates="disputes")


class AnomalyKind(StrEnum):
    """What Stripe told us that the ledger must not take as it is."""

    PAYMENT_CURRENCY = "payment_currency"  # a session's payment in another currency than EUR
    PAYMENT_AMOUNT = "payment_amount"  # a payment of another amount than its session's
    REFUND_CURRENCY = "refund_currency"
    REFUND_TOO_LARGE = "refund_too_large"  # more than what the payment has left to pay back
    REFUND_UNRECORDED = "refund_unrecorded"  # of a payment we did not record (an anomaly)
    DISPUTE_CURRENCY = "dispute_currency"
    DISPUTE_UNRECORDED = "dispute_unrecorded"


class PaymentAnomaly(Base):
    """Money Stripe moved that we did not record, kept for the treasurer to sort out on Stripe.

    Once per Stripe object and kind: the same event again, or another event about the same
    payment, finds the anomaly already there.
    """

    __tablename__ = "payment_anomalies"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AnomalyKind] = mapped_column(checked_enum(AnomalyKind))
    # Stripe's id of the payment intent, refund or dispute: what the treasurer looks up.
    stripe_id: Mapped[str] = mapped_column(String(255))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    checkout_session_id: Mapped[int | None] = mapped_column(ForeignKey("checkout_sessions.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    # What Stripe says, in the smallest unit of its currency (cents for EUR and USD).
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    # What we expected, in euros: the session's amount, what the payment had left to refund.
    expected: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    member: Mapped[Member | None] = relationship()
    checkout_session: Mapped[CheckoutSession | None] = relationship()
    payment: Mapped[Payment | None] = relationship()

    __table_args__ = (UniqueConstraint("kind", "stripe_id", name="uq_payment_anomaly_object"),)


class StripeEvent(Base):
    """A webhook event applied: stored in the transaction of its effect, once."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class BankImport(Base):
    """One bank statement file imported; the same file is refused a second time."""

    __tablename__ = "bank_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    lines: Mapped[list["BankLine"]] = relationship(
        back_populates="bank_import", order_by="BankLine.id"
    )


class BankLineStatus(StrEnum):
    UNMATCHED = "unmatched"  # waiting in the treasurer's queue
    MATCHED = "matched"  # became a payment
    IGNORED = "ignored"  # not a shop's payment (bank fees, a supplier refund...)


BANK_LINE_STATUS_LABELS = {
    BankLineStatus.UNMATCHED: N_("À rapprocher"),
    BankLineStatus.MATCHED: N_("Rapprochée"),
    BankLineStatus.IGNORED: N_("Ignorée"),
}


class BankLine(Base):
    """A line of a bank statement: positive amounts are money received."""

    __tablename__ = "bank_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_import_id: Mapped[int] = mapped_column(ForeignKey("bank_imports.id"), index=True)
    booked_on: Mapped[date]
    label: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(Money)
    # Date, amount, label and rank among identical lines: the same line in two
    # overlapping statements is imported once.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[BankLineStatus] = mapped_column(checked_enum(BankLineStatus), index=True)
    # What the matcher proposes; the treasurer confirms or picks another.
    proposed_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    proposal_reason: Mapped[str | None] = mapped_column(String(40))
    # Who set the line aside, and when (empty for debits, ignored at import).
    ignored_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ignored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    bank_import: Mapped[BankImport] = relationship(back_populates="lines")
    proposed_invoice: Mapped[Invoice | None] = relationship()
    ignored_by: Mapped[User | None] = relationship()
    payment: Mapped[Payment | None] = relationship(
        primaryjoin="Payment.bank_line_id == BankLine.id", viewonly=True, uselist=False
    )


class StripePayout(Base):
    """Stripe paid the coop's balance out to its bank (`payout.paid`): money leaving the
    Stripe clearing account for the bank account once its bank statement line is found."""

    __tablename__ = "stripe_payouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(255), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    # The day Stripe says the money reaches the bank.
    arrival_on: Mapped[date]
    # The bank statement line it became (matched by amount and date).
    bank_line_id: Mapped[int | None] = mapped_column(ForeignKey("bank_lines.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    bank_line: Mapped[BankLine | None] = relationship()

    __table_args__ = (CheckConstraint("amount > 0", name="stripe_payout_amount_positive"),)


class Reminder(Base):
    """A reminder e-mail sent for an overdue invoice at one step (days after due)."""

    __tablename__ = "payment_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    step_days: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    invoice: Mapped[Invoice] = relationship()

    __table_args__ = (UniqueConstraint("invoice_id", "step_days", name="uq_reminder_step"),)


class ReminderPause(Base):
    """The treasurer paused reminders for a shop (e.g. a payment plan agreed)."""

    __tablename__ = "reminder_pauses"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    note: Mapped[str | None] = mapped_column(Text)
    paused_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    member: Mapped[Member] = relationship()
