"""What the treasurer reads: the payments ledger and its totals, the bank queue, accounts."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, func, select, type_coerce
from sqlalchemy.orm import selectinload

from coop.accounts.models import Member
from coop.db import Money
from coop.extensions import db
from coop.i18n import sorted_by_name
from coop.invoicing.models import Invoice, InvoiceKind
from coop.payments import ledger
from coop.payments.models import (
    BankLine,
    BankLineStatus,
    Method,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Refund,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PaymentFilters:
    member_id: int | None = None
    method: Method | None = None
    status: PaymentStatus | None = None
    date_from: date | None = None
    date_to: date | None = None


def payments_query(filters: PaymentFilters) -> Select:
    """The payments matching `filters`, newest first, with what they settle loaded."""
    query = select(Payment).options(
        selectinload(Payment.member),
        selectinload(Payment.allocations).selectinload(PaymentAllocation.invoice),
        selectinload(Payment.refunds),
    )
    if filters.member_id:
        query = query.where(Payment.member_id == filters.member_id)
    if filters.method:
        query = query.where(Payment.method == filters.method)
    if filters.status:
        query = query.where(Payment.status == filters.status)
    if filters.date_from:
        query = query.where(Payment.received_on >= filters.date_from)
    if filters.date_to:
        query = query.where(Payment.received_on <= filters.date_to)
    return query.order_by(Payment.received_on.desc(), Payment.id.desc())


@dataclass(frozen=True)
class PaymentTotals:
    received: Decimal  # succeeded payments, gross
    fees: Decimal
    pending: Decimal  # initiated, not settled yet (SEPA)
    pending_count: int

    @property
    def net(self) -> Decimal:
        return self.received - self.fees


def _sum(column):
    # Read back through the Money type: Decimal cents on both databases.
    return type_coerce(func.coalesce(func.sum(column), 0), Money)


def payments_totals(query: Select) -> PaymentTotals:
    """Totals over every page of `query`: money received, fees kept by Stripe, net."""
    listed = query.order_by(None).subquery()
    rows = db.session.execute(
        select(listed.c.status, func.count(), _sum(listed.c.amount), _sum(listed.c.fees)).group_by(
            listed.c.status
        )
    ).all()
    by_status = {status: (n, amount, fees) for status, n, amount, fees in rows}
    done = by_status.get(PaymentStatus.SUCCEEDED.value, (0, ZERO, ZERO))
    pending = by_status.get(PaymentStatus.PENDING.value, (0, ZERO, ZERO))
    return PaymentTotals(
        received=done[1], fees=done[2], pending=pending[1], pending_count=pending[0]
    )


def queue_query(status: BankLineStatus | None) -> Select:
    """Bank lines under one status (all when None), the latest booked first."""
    query = select(BankLine).options(
        selectinload(BankLine.proposed_invoice).selectinload(Invoice.member),
        selectinload(BankLine.payment).selectinload(Payment.member),
        selectinload(BankLine.payment)
        .selectinload(Payment.allocations)
        .selectinload(PaymentAllocation.invoice),
        selectinload(BankLine.ignored_by),
        selectinload(BankLine.bank_import),
    )
    if status is not None:
        query = query.where(BankLine.status == status)
    return query.order_by(BankLine.booked_on.desc(), BankLine.id.desc())


def queue_counts() -> dict[str, int]:
    rows = db.session.execute(select(BankLine.status, func.count()).group_by(BankLine.status))
    counts = {status.value: 0 for status in BankLineStatus}
    counts.update({str(status): n for status, n in rows})
    return counts


def members_with_invoices_or_payments() -> list[Member]:
    """The shops the ledger's filter offers: those with an invoice or a payment."""
    return sorted_by_name(
        db.session.scalars(
            select(Member)
            .where(
                Member.id.in_(select(Invoice.member_id)) | Member.id.in_(select(Payment.member_id))
            )
            .order_by(Member.code)
        )
    )


@dataclass(frozen=True)
class Account:
    """A shop's account: what each invoice owes, the payments, the credit, refunds."""

    member: Member
    invoices: list[tuple[Invoice, ledger.Balance]]
    credit_notes: list[Invoice]
    payments: list[Payment]
    refunds: list[Refund]
    credit: Decimal

    @property
    def due(self) -> Decimal:
        return sum((b.due for _, b in self.invoices), ZERO)

    @property
    def invoiced(self) -> Decimal:
        return sum((i.total_incl_vat for i, _ in self.invoices), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((b.paid for _, b in self.invoices), ZERO)

    @property
    def credited(self) -> Decimal:
        return sum((b.credited for _, b in self.invoices), ZERO)


def account(member: Member) -> Account:
    documents = db.session.scalars(
        select(Invoice)
        .where(Invoice.member_id == member.id)
        .order_by(Invoice.issued_on.desc(), Invoice.number.desc())
    ).all()
    invoices = [d for d in documents if d.kind is InvoiceKind.INVOICE]
    owed = ledger.balances(invoices)
    payments = db.session.scalars(
        payments_query(PaymentFilters(member_id=member.id)).options(
            selectinload(Payment.refunds).selectinload(Refund.credit_note)
        )
    ).all()
    refunds = sorted(
        (r for p in payments for r in p.refunds), key=lambda r: (r.refunded_on, r.id), reverse=True
    )
    return Account(
        member=member,
        invoices=[(i, owed[i.id]) for i in invoices],
        credit_notes=[d for d in documents if d.kind is InvoiceKind.CREDIT_NOTE],
        payments=payments,
        refunds=refunds,
        credit=ledger.member_credit(member),
    )


def candidate_invoices(member_ids: set[int], amount: Decimal) -> list[tuple[Invoice, Decimal]]:
    """Open invoices a bank line may pay: the named shops' ones, and those owing `amount`."""
    outstanding = ledger.outstanding_column()
    return [
        (invoice, due)
        for invoice, due in db.session.execute(
            select(Invoice, outstanding)
            .where(Invoice.kind == InvoiceKind.INVOICE, outstanding > ZERO)
            .where(Invoice.member_id.in_(member_ids) | (outstanding == amount))
            .options(selectinload(Invoice.member))
            .order_by(Invoice.due_on, Invoice.number)
        ).all()
    ]
