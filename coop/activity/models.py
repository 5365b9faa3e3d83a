"""One append-only table: each entry says who did what, when, to which object.

An entry is written by the service that makes the change, in the same transaction
(coop.activity.recording.record), and never changes afterwards: the model refuses
updates and deletes, and database triggers (see the migration) refuse them too,
as for invoices. The object's label is copied at the time ("FA-2026-000012"), so
the entry still reads right once the object is renamed.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.accounts.models import Member, User
from coop.clock import now
from coop.db import Base, UTCDateTime, checked_enum
from coop.errors import DomainError


class ActorKind(StrEnum):
    USER = "user"  # someone logged in (actor_id says who)
    SYSTEM = "system"  # the application itself, or the command line
    JOB = "job"  # a background job
    WEBHOOK = "webhook"  # Stripe telling us what happened
    SUPPLIER = "supplier"  # a supplier through its quote link


class Activity(Base):
    """One entry of the activity log: written once, never changed."""

    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_kind: Mapped[ActorKind] = mapped_column(checked_enum(ActorKind))
    # "invoice", "member", "user"... (coop.activity.actions.OBJECT_TYPES) and its id.
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    object_label: Mapped[str] = mapped_column(String(200))
    # The shop the entry concerns: a shop's users see its entries, and only them.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    # "invoice.issued" (coop.activity.actions.ACTIONS)
    action: Mapped[str] = mapped_column(String(60), index=True)
    # What matters of the change, before and after; amounts as strings ("12.50").
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()
    member: Mapped[Member | None] = relationship()

    __table_args__ = (
        Index("ix_activity_object", "object_type", "object_id"),
        Index("ix_activity_member_at", "member_id", "at"),
    )

    def __repr__(self) -> str:
        return f"<Activity {self.action} {self.object_type}:{self.object_id}>"


@event.listens_for(Activity, "before_update")
def _refuse_update(mapper, connection, target):
    raise DomainError("Le journal d'activité ne se modifie pas.")


@event.listens_for(Activity, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise DomainError("Le journal d'activité ne se supprime pas.")
