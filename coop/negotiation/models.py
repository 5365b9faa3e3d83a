"""Requests for quotation, the suppliers' answers through a private link, and the thread.

An RFQ (demande de devis) asks some suppliers for prices on some parts at the
pooled quantities. Each supplier asked gets one invitation: a private link
(coop.negotiation.links) and the quotes it must answer, one per line it was
asked about. A quote's answers are revisions: the supplier's draft (not yet
submitted, never shown to the coop) and every answer it submitted, the last
one current. Nothing is overwritten, so the thread can show what changed.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.accounts.models import User
from coop.clock import from_local, now, to_local
from coop.db import Base, UnitPrice, UTCDateTime, checked_enum
from coop.orders.campaigns.models import Campaign
from coop.suppliers.models import Part, Supplier
from coop.suppliers.origin import Origin, classify


def end_of_day(day: date) -> datetime:
    """The instant `day` ends in Lyon: a deadline given as a date runs until then."""
    return from_local(day + timedelta(days=1))


def last_day(moment: datetime | None) -> date | None:
    """The Lyon day a deadline instant ends (end_of_day's inverse), as a person reads it."""
    if moment is None:
        return None
    return to_local(moment - timedelta(microseconds=1)).date()


class RfqStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PARTLY_ANSWERED = "partly_answered"
    ANSWERED = "answered"
    AWARDED = "awarded"
    CLOSED = "closed"


# Answers move an RFQ from sent to partly answered to answered; the first award
# makes it awarded (more lines may still be awarded); closing ends every link.
RFQ_TRANSITIONS: dict[RfqStatus, frozenset[RfqStatus]] = {
    RfqStatus.DRAFT: frozenset({RfqStatus.SENT, RfqStatus.CLOSED}),
    RfqStatus.SENT: frozenset({RfqStatus.PARTLY_ANSWERED, RfqStatus.ANSWERED, RfqStatus.CLOSED}),
    RfqStatus.PARTLY_ANSWERED: frozenset({RfqStatus.ANSWERED, RfqStatus.AWARDED, RfqStatus.CLOSED}),
    RfqStatus.ANSWERED: frozenset({RfqStatus.AWARDED, RfqStatus.CLOSED}),
    RfqStatus.AWARDED: frozenset({RfqStatus.CLOSED}),
    RfqStatus.CLOSED: frozenset(),
}
# Suppliers may answer, and the coop negotiate, while the RFQ is in one of these.
NEGOTIABLE = frozenset(
    {RfqStatus.SENT, RfqStatus.PARTLY_ANSWERED, RfqStatus.ANSWERED, RfqStatus.AWARDED}
)


class Rfq(Base):
    """A demande de devis: parts and pooled quantities, the suppliers asked, a deadline."""

    __tablename__ = "rfqs"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    status: Mapped[RfqStatus] = mapped_column(checked_enum(RfqStatus), default=RfqStatus.DRAFT)
    # Answers are expected by the end of this day, Lyon time.
    deadline_on: Mapped[date]
    message: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    lines: Mapped[list["RfqLine"]] = relationship(
        back_populates="rfq", order_by="RfqLine.id", cascade="all, delete-orphan"
    )
    invitations: Mapped[list["Invitation"]] = relationship(
        back_populates="rfq", order_by="Invitation.id", cascade="all, delete-orphan"
    )

    @property
    def answer_by(self) -> datetime:
        """The end of the deadline day in Lyon: when the links sent with the RFQ expire."""
        return end_of_day(self.deadline_on)

    @property
    def is_negotiable(self) -> bool:
        return self.status in NEGOTIABLE

    def can_become(self, status: RfqStatus) -> bool:
        return status in RFQ_TRANSITIONS[self.status]

    def __repr__(self) -> str:
        return f"<Rfq {self.number} {self.status}>"


class RfqLine(Base):
    """One part asked for, at the pooled quantity."""

    __tablename__ = "rfq_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(ForeignKey("rfqs.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[int]

    rfq: Mapped[Rfq] = relationship(back_populates="lines")
    part: Mapped[Part] = relationship()
    quotes: Mapped[list["Quote"]] = relationship(
        back_populates="line", cascade="all, delete-orphan"
    )
    award: Mapped["Award | None"] = relationship(back_populates="line")

    __table_args__ = (
        UniqueConstraint("rfq_id", "part_id", name="uq_rfq_lines_rfq_part"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )


class Invitation(Base):
    """One supplier asked in one RFQ: its private link and the lines it must answer.

    The link carries `link_id`, a random value signed with the app's secret key;
    expiry and revocation are read here, on the server, at every request.
    """

    __tablename__ = "rfq_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(ForeignKey("rfqs.id"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    link_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    rfq: Mapped[Rfq] = relationship(back_populates="invitations")
    supplier: Mapped[Supplier] = relationship()
    quotes: Mapped[list["Quote"]] = relationship(
        back_populates="invitation", order_by="Quote.rfq_line_id", cascade="all, delete-orphan"
    )
    messages: Mapped[list["NegotiationMessage"]] = relationship(
        back_populates="invitation",
        order_by="(NegotiationMessage.created_at, NegotiationMessage.id)",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        UniqueConstraint("rfq_id", "supplier_id", name="uq_rfq_invitations_supplier"),
    )

    @property
    def has_open_quotes(self) -> bool:
        return any(q.is_open for q in self.quotes)

    def __repr__(self) -> str:
        return f"<Invitation {self.rfq_id}/{self.supplier_id}>"


class Quote(Base):
    """A line asked of a supplier; open while the supplier may (re)answer it."""

    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("rfq_invitations.id"))
    rfq_line_id: Mapped[int] = mapped_column(ForeignKey("rfq_lines.id"), index=True)
    is_open: Mapped[bool] = mapped_column(default=True)

    invitation: Mapped[Invitation] = relationship(back_populates="quotes")
    line: Mapped[RfqLine] = relationship(back_populates="quotes")
    answers: Mapped[list["QuoteAnswer"]] = relationship(
        back_populates="quote", order_by="QuoteAnswer.id", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("invitation_id", "rfq_line_id", name="uq_quotes_line"),)

    @property
    def is_answerable(self) -> bool:
        """Open to the supplier's answer: not answered yet (or reopened), and not awarded."""
        return self.is_open and self.line.award is None

    @property
    def is_awarded_elsewhere(self) -> bool:
        award = self.line.award
        return award is not None and award.answer.quote.invitation_id != self.invitation_id

    @property
    def current(self) -> "QuoteAnswer | None":
        """The last answer the supplier submitted: what the coop compares and awards."""
        submitted = [a for a in self.answers if a.submitted_at is not None]
        return submitted[-1] if submitted else None

    @property
    def draft(self) -> "QuoteAnswer | None":
        """What the supplier saved without submitting; only the supplier sees it."""
        return next((a for a in self.answers if a.submitted_at is None), None)


class QuoteAnswer(Base):
    """A supplier's terms for one quote (or its refusal): a draft, or a submitted revision."""

    __tablename__ = "quote_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)
    # The thread entry it was submitted with; None while it is the supplier's draft.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("negotiation_messages.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_declined: Mapped[bool] = mapped_column(default=False)
    supplier_ref: Mapped[str | None] = mapped_column(String(60))
    made_in: Mapped[str | None] = mapped_column(String(2))
    pack_size: Mapped[int] = mapped_column(default=1)
    moq: Mapped[int] = mapped_column(default=0)
    lead_time_days: Mapped[int | None]
    valid_until: Mapped[date | None]
    # An equivalent the supplier proposes instead of the part asked (a local make, say).
    alternative: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    quote: Mapped[Quote] = relationship(back_populates="answers")
    message: Mapped["NegotiationMessage | None"] = relationship(back_populates="answers")
    tiers: Mapped[list["QuoteTier"]] = relationship(
        back_populates="answer", order_by="QuoteTier.min_qty", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("pack_size >= 1", name="pack_size_positive"),
        CheckConstraint("moq >= 0", name="moq_not_negative"),
        CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
        # At most one draft per quote.
        Index(
            "uq_quote_answers_draft",
            "quote_id",
            unique=True,
            postgresql_where=text("submitted_at IS NULL"),
            sqlite_where=text("submitted_at IS NULL"),
        ),
    )

    def origin(self, supplier: Supplier) -> Origin:
        return classify(self.made_in or supplier.country, supplier.is_local)

    @property
    def tier_values(self) -> list[tuple[int, Decimal]]:
        return [(t.min_qty, t.unit_price) for t in self.tiers]


class QuoteTier(Base):
    """An all-units price from `min_qty` up, as in the catalogue (spec/pooling.md)."""

    __tablename__ = "quote_tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("quote_answers.id"), index=True)
    min_qty: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)

    answer: Mapped[QuoteAnswer] = relationship(back_populates="tiers")

    __table_args__ = (
        UniqueConstraint("answer_id", "min_qty", name="uq_quote_tiers_answer_min_qty"),
        CheckConstraint("min_qty >= 1", name="min_qty_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )


class MessageKind(StrEnum):
    SENT = "sent"  # the RFQ e-mailed with its link
    MESSAGE = "message"
    COUNTER_PROPOSAL = "counter_proposal"
    ANSWER = "answer"  # the supplier submitted answers
    AWARD = "award"
    REMINDER = "reminder"
    REVOKED = "revoked"
    RENEWED = "renewed"  # a new link replaced the old one


class NegotiationMessage(Base):
    """One entry of the thread between the coop and one supplier on one RFQ.

    Written by a coop user (`author`), by the supplier through its link
    (`by_supplier`, with the address it came from), or by the app itself
    (reminders): neither.
    """

    __tablename__ = "negotiation_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("rfq_invitations.id"), index=True)
    kind: Mapped[MessageKind] = mapped_column(checked_enum(MessageKind))
    by_supplier: Mapped[bool] = mapped_column(default=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str | None] = mapped_column(Text)
    # Where an entry written through the supplier's link came from: the connection's
    # address, as the server saw it (no header the sender could write is trusted).
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    # A counter-proposal reopens the supplier's link until then.
    answer_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    invitation: Mapped[Invitation] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()
    answers: Mapped[list[QuoteAnswer]] = relationship(
        back_populates="message", order_by="QuoteAnswer.quote_id"
    )
    proposals: Mapped[list["CounterProposalLine"]] = relationship(
        back_populates="message", order_by="CounterProposalLine.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("NOT (by_supplier AND author_id IS NOT NULL)", name="one_author"),
    )


class CounterProposalLine(Base):
    """What the coop asks on one reopened line: "200 units if you reach 11.50 €"."""

    __tablename__ = "counter_proposal_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("negotiation_messages.id"), index=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"))
    quantity: Mapped[int | None]
    unit_price: Mapped[Decimal | None] = mapped_column(UnitPrice)

    message: Mapped[NegotiationMessage] = relationship(back_populates="proposals")
    quote: Mapped[Quote] = relationship()

    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )


class Award(Base):
    """A line given to one supplier's answer: that answer became the supplier's offer.

    The offer is the catalogue's (supplier, part) offer; its replaced price tiers
    stay in the catalogue's price history (coop.suppliers.catalogue.replace_tiers).
    """

    __tablename__ = "rfq_awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_line_id: Mapped[int] = mapped_column(ForeignKey("rfq_lines.id"), unique=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("quote_answers.id"))
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    line: Mapped[RfqLine] = relationship(back_populates="award")
    answer: Mapped[QuoteAnswer] = relationship()
    awarded_by: Mapped[User | None] = relationship()
