"""A shop's campaigns, past and present, and its money: what *Mes campagnes* and its home show.

Across the domains (needs, the cost split, invoices, the ledger), like the home pages, and
in a fixed number of queries for a page of campaigns, whatever its length.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, func, select

from coop.accounts.models import Member
from coop.errors import DomainError
from coop.extensions import db
from coop.invoicing.models import Invoice, InvoiceKind
from coop.orders.campaigns.models import Campaign, Need
from coop.orders.costs import splitting, statements
from coop.orders.costs.statements import Savings, Statement
from coop.payments import ledger
from coop.payments.ledger import Balance

ZERO = Decimal("0.00")


def campaigns_query(member: Member) -> Select:
    """Every campaign the shop posted at least one need to, newest first."""
    return (
        select(Campaign)
        .where(Campaign.id.in_(select(Need.campaign_id).where(Need.member_id == member.id)))
        .order_by(Campaign.order_date.desc(), Campaign.id.desc())
    )


@dataclass(frozen=True)
class InvoiceState:
    invoice: Invoice
    balance: Balance
    is_overdue: bool


@dataclass(frozen=True)
class CampaignEntry:
    campaign: Campaign
    requested: int  # units the shop asked for
    statement: Statement | None  # once pooled, if its split can be made
    problem: str | None  # why the split cannot be made yet
    invoices: list[InvoiceState]

    @property
    def received(self) -> int | None:
        """Units received so far; None while nothing has been received (or before pooling)."""
        if self.statement is None:
            return None
        known = [line.received for line in self.statement.lines if line.received is not None]
        return sum(known) if known else None

    @property
    def saved(self) -> Savings | None:
        if self.statement is None or not self.statement.saved.solo:
            return None
        return self.statement.saved


def campaign_entries(member: Member, campaigns: list[Campaign], *, on: date) -> list[CampaignEntry]:
    """What the shop asked, got, spent, saved and owes in each of `campaigns`."""
    ids = [c.id for c in campaigns]
    requested = dict(
        db.session.execute(
            select(Need.campaign_id, func.sum(Need.quantity))
            .where(Need.member_id == member.id, Need.campaign_id.in_(ids))
            .group_by(Need.campaign_id)
        )
        .tuples()
        .all()
    )
    pooled = [c for c in campaigns if c.status in splitting.POOLED_OR_LATER]
    splits = splitting.build_splits(pooled, member=member) if pooled else {}
    invoices = db.session.scalars(
        select(Invoice)
        .where(
            Invoice.member_id == member.id,
            Invoice.campaign_id.in_(ids),
            Invoice.kind == InvoiceKind.INVOICE,
        )
        .order_by(Invoice.issued_on, Invoice.number)
    ).all()
    owed = ledger.balances(list(invoices))
    by_campaign: dict[int, list[InvoiceState]] = {i: [] for i in ids}
    for invoice in invoices:
        b = owed[invoice.id]
        by_campaign[invoice.campaign_id].append(
            InvoiceState(invoice, b, b.due > ZERO and invoice.due_on < on)
        )
    entries = []
    for campaign in campaigns:
        split = splits.get(campaign.id)
        statement = problem = None
        if isinstance(split, DomainError):
            problem = split.message
        elif split is not None:
            statement = statements.statement_of(split, member)
        requested_units = int(requested.get(campaign.id) or 0)
        entries.append(
            CampaignEntry(campaign, requested_units, statement, problem, by_campaign[campaign.id])
        )
    return entries


@dataclass(frozen=True)
class Owed:
    """The shop's money on its home: what it owes, what is late, the credit it holds."""

    due: Decimal
    overdue: list[InvoiceState]
    credit: Decimal

    @property
    def overdue_total(self) -> Decimal:
        return sum((state.balance.due for state in self.overdue), ZERO)


def owed(member: Member, *, on: date) -> Owed:
    """What the shop still owes on its invoices, the overdue ones oldest first, its credit."""
    invoices = db.session.scalars(
        select(Invoice)
        .where(Invoice.member_id == member.id, Invoice.kind == InvoiceKind.INVOICE)
        .order_by(Invoice.due_on, Invoice.number)
    ).all()
    balances = ledger.balances(list(invoices))
    overdue = [
        InvoiceState(i, balances[i.id], True)
        for i in invoices
        if balances[i.id].due > ZERO and i.due_on < on
    ]
    return Owed(
        due=sum((b.due for b in balances.values()), ZERO),
        overdue=overdue,
        credit=ledger.member_credit(member),
    )
