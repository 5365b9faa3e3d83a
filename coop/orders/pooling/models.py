"""Pooling runs: one solve of a campaign's needs against the offers, and its plan."""

import secrets
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coop.accounts.models import User
from coop.activity.actions import label_values
from coop.clock import now
from coop.db import Base, Rate, UTCDateTime, checked_enum
from coop.i18n import N_
from coop.orders.campaigns.models import Campaign
from coop.orders.pooling.plan import Decision, Headline, PlanRecord, decisions_of


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# How the log shows a run's outcome.
RUN_STATUS_LABELS = {
    RunStatus.RUNNING: N_("en cours"),
    RunStatus.DONE: N_("terminé"),
    RunStatus.FAILED: N_("échoué"),
}
label_values("pooling_run", "status", RUN_STATUS_LABELS)


class PoolingRun(Base):
    """One run of the pooling engine on a closed campaign, with the manager's choices.

    The plan is kept as the manager saw it, so that committing it creates exactly
    the purchase orders that were reviewed, whatever the solver would find next time.
    """

    __tablename__ = "pooling_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    status: Mapped[RunStatus] = mapped_column(checked_enum(RunStatus), default=RunStatus.RUNNING)
    # Time limit, penalties, excluded suppliers, pinned needs and parts.
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    progress: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0"))
    message: Mapped[str | None] = mapped_column(String(200))
    # The plan, as PlanRecord's JSON: read and written through `record`, never by key.
    result: Mapped[dict | None] = mapped_column(JSON)
    # A new random value whenever `result` is written (`_new_result_version`), in the same
    # row: what a reader keeps the plan's decoded parts by, without reading 2 MB of text back.
    result_version: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def record(self) -> PlanRecord | None:
        """The stored plan, typed (None until the run is done)."""
        return PlanRecord.from_json(self.result) if self.result is not None else None

    @record.setter
    def record(self, record: PlanRecord | None) -> None:
        self.result = record.to_json() if record is not None else None

    def decisions(self, needs: set[int] | None = None) -> list[Decision]:
        """The stored plan's decisions (only `needs`' when given), without the rest of it."""
        return decisions_of(self.result, needs) if self.result is not None else []

    @property
    def headline(self) -> Headline | None:
        """The stored plan's figures, without parsing its decisions."""
        return Headline.from_json(self.result) if self.result is not None else None


@event.listens_for(PoolingRun.result, "set")
def _new_result_version(run: PoolingRun, value, old, initiator) -> None:
    run.result_version = secrets.token_hex(16) if value is not None else None
