"""Calls to local manufacturers (appels à fabricants): the call, its files, the makers invited
through a private link, their answers and the thread with each.

A call asks makers who are not suppliers yet to produce one part, or parts of one family,
for the coop's pooled volume over some years. Each maker invited gets one invitation: a
private link (coop.relocation.links) like a supplier's quote link. A maker may answer
several times; the latest answer is the one that counts. Accepting an answer makes the
maker a supplier with an offer and a draft framework agreement (coop.relocation.accepting),
recorded once per part of the call (CallAcceptance).
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.accounts.models import User
from coop.activity.actions import label_values
from coop.clock import now
from coop.db import Base, UnitPrice, UTCDateTime, checked_enum
from coop.i18n import N_
from coop.negotiation.models import end_of_day
from coop.suppliers.models import FrameworkAgreement, Offer, Part, Supplier


class CallStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _(CALL_STATUS_LABELS[self])


CALL_STATUS_LABELS = {
    CallStatus.DRAFT: N_("brouillon"),
    CallStatus.OPEN: N_("publié"),
    CallStatus.CLOSED: N_("clos"),
}
label_values("manufacturer_call", "status", CALL_STATUS_LABELS)

# Publishing e-mails the makers their links; closing ends every link. A closed call stays so.
CALL_TRANSITIONS: dict[CallStatus, frozenset[CallStatus]] = {
    CallStatus.DRAFT: frozenset({CallStatus.OPEN, CallStatus.CLOSED}),
    CallStatus.OPEN: frozenset({CallStatus.CLOSED}),
    CallStatus.CLOSED: frozenset(),
}


class ManufacturerCall(Base):
    """An appel à fabricants: one part or one family, the volume, the price to beat, a deadline."""

    __tablename__ = "manufacturer_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # One part, or a family of parts (a catalogue category): exactly one of the two.
    part_id: Mapped[int | None] = mapped_column(ForeignKey("parts.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(40))
    specification: Mapped[str] = mapped_column(Text)
    # Units a year, prefilled from the pooled demand (coop.relocation.forecast).
    annual_volume: Mapped[int]
    # The unit price (€ excl. VAT) a maker should reach; None: not said.
    target_price: Mapped[Decimal | None] = mapped_column(UnitPrice)
    delivery_rhythm: Mapped[str | None] = mapped_column(Text)
    duration_months: Mapped[int]
    status: Mapped[CallStatus] = mapped_column(checked_enum(CallStatus), default=CallStatus.DRAFT)
    # Answers are expected by the end of this day, Lyon time: the links expire then.
    deadline_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    part: Mapped[Part | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    files: Mapped[list["CallFile"]] = relationship(
        back_populates="call", order_by="CallFile.id", cascade="all, delete-orphan"
    )
    invitations: Mapped[list["CallInvitation"]] = relationship(
        back_populates="call", order_by="CallInvitation.id", cascade="all, delete-orphan"
    )
    acceptances: Mapped[list["CallAcceptance"]] = relationship(
        back_populates="call", order_by="CallAcceptance.id"
    )

    __table_args__ = (
        CheckConstraint("(part_id IS NULL) <> (category IS NULL)", name="part_or_family"),
        CheckConstraint("annual_volume > 0", name="annual_volume_positive"),
        CheckConstraint("target_price > 0", name="target_price_positive"),
        CheckConstraint("duration_months > 0", name="duration_positive"),
    )

    @property
    def answer_by(self) -> datetime:
        """The end of the deadline day in Lyon: when the links sent with the call expire."""
        return end_of_day(self.deadline_on)

    @property
    def takes_answers(self) -> bool:
        return self.status is CallStatus.OPEN

    def can_become(self, status: CallStatus) -> bool:
        return status in CALL_TRANSITIONS[self.status]

    def __repr__(self) -> str:
        return f"<ManufacturerCall {self.code} {self.status}>"


class CallFile(Base):
    """A drawing or a document of the call (PDF, PNG, JPEG, DXF, STEP), kept in the database."""

    __tablename__ = "call_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(
        ForeignKey("manufacturer_calls.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    # Loaded only when the file is downloaded, not with every call page.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    call: Mapped[ManufacturerCall] = relationship(back_populates="files")

    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)


class CallInvitation(Base):
    """A maker invited to answer a call: who, and its private link (as coop.negotiation's).

    The link carries `link_id`, a random value signed with the app's secret key; expiry
    and revocation are read here, on the server, at every request.
    """

    __tablename__ = "call_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("manufacturer_calls.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    siret: Mapped[str] = mapped_column(String(14))
    link_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    call: Mapped[ManufacturerCall] = relationship(back_populates="invitations")
    answers: Mapped[list["CallAnswer"]] = relationship(
        back_populates="invitation", order_by="CallAnswer.id", cascade="all, delete-orphan"
    )
    messages: Mapped[list["CallMessage"]] = relationship(
        back_populates="invitation",
        order_by="(CallMessage.created_at, CallMessage.id)",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        UniqueConstraint("call_id", "email", name="uq_call_invitations_email"),
        UniqueConstraint("call_id", "siret", name="uq_call_invitations_siret"),
    )

    @property
    def latest(self) -> "CallAnswer | None":
        """The maker's last answer: the one the coop compares and may accept."""
        return self.answers[-1] if self.answers else None

    def __repr__(self) -> str:
        return f"<CallInvitation {self.call_id}/{self.email}>"


class CallAnswer(Base):
    """A maker's terms, as submitted: prices by volume, minimum, lead time, capacity, samples."""

    __tablename__ = "call_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("call_invitations.id"), index=True)
    pack_size: Mapped[int] = mapped_column(default=1)
    moq: Mapped[int] = mapped_column(default=0)
    lead_time_days: Mapped[int]
    yearly_capacity: Mapped[int]
    samples_on: Mapped[date | None]
    comment: Mapped[str | None] = mapped_column(Text)
    # Where it came from: the connection's address, as the server saw it (a bearer link).
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    invitation: Mapped[CallInvitation] = relationship(back_populates="answers")
    tiers: Mapped[list["CallAnswerTier"]] = relationship(
        back_populates="answer", order_by="CallAnswerTier.min_qty", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("pack_size >= 1", name="pack_size_positive"),
        CheckConstraint("moq >= 0", name="moq_not_negative"),
        CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
        CheckConstraint("yearly_capacity > 0", name="yearly_capacity_positive"),
    )

    @property
    def tier_values(self) -> list[tuple[int, Decimal]]:
        return [(t.min_qty, t.unit_price) for t in self.tiers]


class CallAnswerTier(Base):
    """An all-units price from `min_qty` up, as in the catalogue (spec/pooling.md)."""

    __tablename__ = "call_answer_tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("call_answers.id"), index=True)
    min_qty: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)

    answer: Mapped[CallAnswer] = relationship(back_populates="tiers")

    __table_args__ = (
        UniqueConstraint("answer_id", "min_qty", name="uq_call_answer_tiers_answer_min_qty"),
        CheckConstraint("min_qty >= 1", name="min_qty_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )


class CallMessageKind(StrEnum):
    SENT = "sent"  # the call e-mailed with the link
    MESSAGE = "message"
    ANSWER = "answer"  # the maker submitted terms
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    RENEWED = "renewed"  # a new link replaced the old one


class CallMessage(Base):
    """One entry of the thread between the coop and one maker on one call.

    Written by a coop user (`author`), or by the maker through its link (`by_maker`,
    with the address it came from).
    """

    __tablename__ = "call_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("call_invitations.id"), index=True)
    kind: Mapped[CallMessageKind] = mapped_column(checked_enum(CallMessageKind))
    by_maker: Mapped[bool] = mapped_column(default=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str | None] = mapped_column(Text)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    invitation: Mapped[CallInvitation] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint("NOT (by_maker AND author_id IS NOT NULL)", name="one_author"),
    )


class CallAcceptance(Base):
    """An answer accepted for one part of a call: the supplier, offer and agreement it made.

    One per part of a call, held by the database: a form sent twice, or two managers at
    once, accept once.
    """

    __tablename__ = "call_acceptances"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("manufacturer_calls.id"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    answer_id: Mapped[int] = mapped_column(ForeignKey("call_answers.id"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"))
    agreement_id: Mapped[int] = mapped_column(ForeignKey("framework_agreements.id"))
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    call: Mapped[ManufacturerCall] = relationship(back_populates="acceptances")
    part: Mapped[Part] = relationship()
    answer: Mapped[CallAnswer] = relationship()
    supplier: Mapped[Supplier] = relationship()
    offer: Mapped[Offer] = relationship()
    agreement: Mapped[FrameworkAgreement] = relationship()
    accepted_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("call_id", "part_id", name="uq_call_acceptances_part"),)
