"""Payment reminders (relances): overdue invoices, their aging, the e-mails at each step.

The steps are days after the due date (CoopIdentity.reminder_days, e.g. 7, 21, 45).
An overdue invoice that still owes something gets the reminder of the highest step
it has reached, once: one Reminder row per invoice and step, under a unique
constraint. When several steps were reached since the last run (the daily job did
not run for a while, steps changed), only the latest is sent and recorded: the
shop gets the one reminder that fits how late it is, not a burst of stale ones,
and a lower step is never sent after a higher one. A shop whose reminders are
paused gets none until the treasurer resumes them, nor does an invoice while a
payment of it is in progress (a SEPA debit not settled yet).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from coop import mail
from coop.accounts.identity import coop_identity, reminder_steps
from coop.accounts.models import Member, Role, User
from coop.clock import now
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.i18n import money, sorted_by_name
from coop.invoicing.models import Invoice, InvoiceKind
from coop.payments import ledger, stripe_client
from coop.payments.models import Reminder, ReminderPause
from coop.payments.receivables import AGING, due_column

MAX_NOTE = 500
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class OverdueInvoice:
    """An invoice past its due date with something still due, and where its reminders stand."""

    invoice: Invoice
    due: Decimal
    days_late: int
    last_step: int | None  # the highest step already sent
    last_sent_at: datetime | None
    due_step: int | None  # the step to send now: reached, higher than any sent
    next_step: int | None  # the next step not reached yet
    paused: bool  # the shop's reminders are paused
    pending: bool  # a payment of it is in progress (SEPA)

    @property
    def to_send(self) -> bool:
        return self.due_step is not None and not self.paused and not self.pending

    @property
    def next_on(self) -> date | None:
        if self.next_step is None:
            return None
        return self.invoice.due_on + timedelta(days=self.next_step)


@dataclass(frozen=True)
class ShopOverdue:
    member: Member
    invoices: list[OverdueInvoice]
    pause: ReminderPause | None

    @property
    def due(self) -> Decimal:
        return sum((row.due for row in self.invoices), ZERO)


def steps() -> list[int]:
    """The reminder steps, in days after the due date, from the coop's settings."""
    return reminder_steps(coop_identity().reminder_days)


def _standing(days_late: int, last_step: int | None, plan: list[int]):
    """(step to send now, next step): only the highest reached step, never a lower one again."""
    reached = [step for step in plan if step <= days_late]
    due_step = None
    if reached and (last_step is None or reached[-1] > last_step):
        due_step = reached[-1]
    later = [step for step in plan if step > days_late]
    return due_step, later[0] if later else None


def overdue_invoices(on: date, *, member: Member | None = None) -> list[OverdueInvoice]:
    """The invoices due before `on` that still owe something, by shop then due date (one query)."""
    last_step = (
        select(func.max(Reminder.step_days)).where(Reminder.invoice_id == Invoice.id)
    ).scalar_subquery()
    last_sent_at = (
        select(func.max(Reminder.sent_at)).where(Reminder.invoice_id == Invoice.id)
    ).scalar_subquery()
    paused = exists(select(ReminderPause.member_id).where(ReminderPause.member_id == Member.id))
    due = due_column()
    query = (
        select(Invoice, due, last_step, last_sent_at, paused, ledger.pending_column())
        .join(Member, Invoice.member_id == Member.id)
        .options(joinedload(Invoice.member))
        .where(Invoice.kind == InvoiceKind.INVOICE, Invoice.due_on < on, due > ZERO)
        .order_by(Member.name, Member.id, Invoice.due_on, Invoice.number)
    )
    if member is not None:
        query = query.where(Invoice.member_id == member.id)
    plan = steps()
    rows = []
    for invoice, owed, last, sent_at, is_paused, is_pending in db.session.execute(query):
        days_late = (on - invoice.due_on).days
        due_step, next_step = _standing(days_late, last, plan)
        rows.append(
            OverdueInvoice(
                invoice,
                owed,
                days_late,
                last,
                sent_at,
                due_step,
                next_step,
                bool(is_paused),
                bool(is_pending),
            )
        )
    return rows


def overdue_by_shop(on: date) -> list[ShopOverdue]:
    """The overdue invoices grouped by shop, with each shop's pause if any."""
    groups: dict[int, list[OverdueInvoice]] = defaultdict(list)
    for row in overdue_invoices(on):
        groups[row.invoice.member_id].append(row)
    found = {p.member_id: p for p in db.session.scalars(select(ReminderPause))}
    return [
        ShopOverdue(rows[0].invoice.member, rows, found.get(member_id))
        for member_id, rows in groups.items()
    ]


@dataclass(frozen=True)
class Overview:
    """The reminders page: shops with overdue invoices, what they owe, how late, what is due."""

    shops: list[ShopOverdue]
    aging: list[tuple[str, Decimal, int]]  # (label, still due, invoices) by days late

    @property
    def rows(self) -> list[OverdueInvoice]:
        return [row for shop in self.shops for row in shop.invoices]

    @property
    def due(self) -> Decimal:
        return sum((shop.due for shop in self.shops), ZERO)

    @property
    def to_send(self) -> int:
        return sum(1 for row in self.rows if row.to_send)


# The late buckets of the invoice list (receivables.AGING) in days late, bounds included.
LATE_DAYS = {"0-30": (1, 30), "31-60": (31, 60), "60+": (61, None)}


def overview(on: date) -> Overview:
    shops = overdue_by_shop(on)
    rows = [row for shop in shops for row in shop.invoices]
    aging = []
    for key, label in AGING:
        if key not in LATE_DAYS:
            continue
        low, high = LATE_DAYS[key]
        inside = [r for r in rows if r.days_late >= low and (high is None or r.days_late <= high)]
        aging.append((label, sum((r.due for r in inside), ZERO), len(inside)))
    return Overview(shops, aging)


def recipients(members: list[Member]) -> dict[int, list[str]]:
    """Where each shop's reminders go: its e-mail, else its active accounts' addresses."""
    found = {m.id: [m.email] for m in members if m.email}
    missing = [m.id for m in members if not m.email]
    if missing:
        rows = db.session.execute(
            select(User.member_id, User.email)
            .where(
                User.member_id.in_(missing),
                User.role_grants.any(role=Role.MEMBER),
                User.is_active.is_(True),
            )
            .order_by(User.email)
        )
        for member_id, email in rows:
            found.setdefault(member_id, []).append(email)
    return found


@dataclass(frozen=True)
class DueReminder:
    row: OverdueInvoice
    to: list[str]  # empty: the shop has no address, nothing can be sent

    @property
    def invoice(self) -> Invoice:
        return self.row.invoice


def due_reminders(on: date) -> list[DueReminder]:
    """The reminders to send on `on`: a step reached and not sent, nothing holding it back."""
    rows = [row for row in overdue_invoices(on) if row.to_send]
    addresses = recipients(list({row.invoice.member for row in rows}))
    return [DueReminder(row, addresses.get(row.invoice.member_id, [])) for row in rows]


def send_due_reminders(on: date) -> list[DueReminder]:
    """Record and queue the reminders due on `on`; the caller commits, the mail goes after.

    A reminder another run recorded first (two runs at once, a double click) is
    skipped: the unique (invoice, step) constraint decides, inside a savepoint.
    A shop without any e-mail address gets nothing recorded, so it is tried again.
    """
    plan = steps()
    sent = []
    for reminder in due_reminders(on):
        if not reminder.to:
            continue
        try:
            with db.session.begin_nested():
                step = reminder.row.due_step
                db.session.add(Reminder(invoice=reminder.invoice, step_days=step, sent_at=now()))
        except IntegrityError:
            continue
        sent.append(reminder)
    # Queued once every row is in: a skipped savepoint never drops a message already queued.
    for reminder in sent:
        _queue(reminder, plan)
    return sent


def _queue(reminder: DueReminder, plan: list[int]) -> None:
    row, invoice = reminder.row, reminder.invoice
    identity = coop_identity()
    mentions = invoice.snapshot.get("mentions", {})
    rank = plan.index(row.due_step) + 1
    link = f"{current_app.config['COOP_BASE_URL'].rstrip('/')}/invoices/{invoice.number}"
    with force_locale("fr"):
        subject = f"Relance n° {rank} : facture {invoice.number}, reste dû {money(row.due)}"
    mail.queue(
        ", ".join(reminder.to),
        subject,
        "payment_reminder",
        invoice=invoice,
        member=invoice.member,
        due=row.due,
        days_late=row.days_late,
        balance=ledger.balance(invoice),
        rank=rank,
        link=link,
        online=stripe_client.is_enabled(),
        iban=identity.iban,
        bic=identity.bic,
        late_payment=mentions.get("late_payment", ""),
        recovery_indemnity=mentions.get("recovery_indemnity", ""),
    )


# --- pausing a shop's reminders ----------------------------------------------------------------


def shop(member_code: str) -> Member:
    member = db.session.scalar(select(Member).where(Member.code == member_code))
    if member is None:
        raise NotFound(f"Aucun atelier {member_code}.")
    return member


def pause(member: Member, *, note: str | None, by: User | None) -> ReminderPause:
    """Stop the shop's reminders until resumed; pausing again updates the note."""
    note = " ".join((note or "").split()) or None
    if note and len(note) > MAX_NOTE:
        raise DomainError(f"La note tient en {MAX_NOTE} caractères au plus.", field="note")
    found = db.session.get(ReminderPause, member.id)
    if found is None:
        found = ReminderPause(member_id=member.id, note=note, paused_by_id=by.id if by else None)
        db.session.add(found)
    else:
        found.note = note
    db.session.flush()
    return found


def resume(member: Member) -> bool:
    """Send the shop's reminders again; False when they were not paused."""
    found = db.session.get(ReminderPause, member.id)
    if found is None:
        return False
    db.session.delete(found)
    db.session.flush()
    return True


def paused_shops() -> list[ReminderPause]:
    pauses = db.session.scalars(
        select(ReminderPause)
        .join(Member, ReminderPause.member_id == Member.id)
        .options(joinedload(ReminderPause.member))
        .order_by(Member.code)
    )
    return sorted_by_name(pauses, lambda p: p.member.name)
