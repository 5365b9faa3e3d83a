"""`coop scheduler`: queues the periodic commands on time, once, however many schedulers run.

Each task has a schedule in cron's notation, in Lyon time (COOP_CRON_* settings). Every
TICK_SECONDS the scheduler looks for the latest moment of each schedule since its last
look, claims that moment in Redis (`SET key NX EX`: the first scheduler to ask gets it,
the others are told no) and, if it got it, queues the task's job on the RQ queue that
`coop worker` serves. Two schedulers (two servers, or a restart overlapping the old
process) therefore queue each moment once. A moment missed by less than CATCH_UP (a
restart, a deploy) is still queued; older ones are skipped, as cron would.

The jobs are the commands' use cases, committed: the same services as `coop campaign
close-due`, `coop reminders send` and `coop rfq remind`, which cron may run instead.
"""

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter
from flask import Flask
from redis import Redis
from redis.exceptions import RedisError

from coop import jobs
from coop.clock import BUSINESS_TZ, now, today
from coop.extensions import db
from coop.negotiation import rfqs
from coop.orders.campaigns import lifecycle
from coop.payments import reminders

log = logging.getLogger(__name__)

TICK_SECONDS = 20
CATCH_UP = timedelta(hours=1)
# Longer than CATCH_UP: while any scheduler could still find a moment due, its claim holds.
CLAIM_SECONDS = 3 * 3600


# --- the jobs ----------------------------------------------------------------------------------


def close_due_campaigns() -> None:
    """`coop campaign close-due`: close campaigns past their cutoff, send the 48-hour reminders."""
    moment = now()
    closed = lifecycle.close_due(moment)
    reminded = lifecycle.send_due_reminders(moment)
    db.session.commit()
    log.info("closed %d campaigns, reminded %d", len(closed), len(reminded))


def send_payment_reminders() -> None:
    """`coop reminders send`: the payment reminders due today."""
    sent = reminders.send_due_reminders(today())
    db.session.commit()
    log.info("sent %d payment reminders", len(sent))


def remind_rfq_suppliers() -> None:
    """`coop rfq remind`: suppliers who have not answered, their link closing within 2 days."""
    reminded = rfqs.send_due_reminders(now())
    db.session.commit()
    log.info("reminded %d suppliers", len(reminded))


@dataclass(frozen=True)
class Task:
    name: str
    job: Callable[[], None]
    setting: str


TASKS = (
    Task("campaign-close-due", close_due_campaigns, "COOP_CRON_CLOSE_DUE"),
    Task("reminders-send", send_payment_reminders, "COOP_CRON_REMINDERS"),
    Task("rfq-remind", remind_rfq_suppliers, "COOP_CRON_RFQ_REMIND"),
)


# --- the schedule ------------------------------------------------------------------------------


def latest_moment(schedule: str, after: datetime, until: datetime) -> datetime | None:
    """The last moment of `schedule` (cron, Lyon time) in (after, until], in UTC; or None."""
    # croniter steps back from a start it excludes: one second past `until` includes it.
    moment = croniter(schedule, (until + timedelta(seconds=1)).astimezone(BUSINESS_TZ)).get_prev(
        datetime
    )
    return moment.astimezone(UTC) if moment > after else None


class Scheduler:
    """Queues `TASKS` on the app's RQ queue; `tick` once, or `run` until stopped."""

    def __init__(self, app: Flask, connection: Redis, name: str | None = None):
        self.app = app
        self.connection = connection
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.looked_until: datetime | None = None

    def claim(self, task: Task, moment: datetime) -> bool:
        """Whether this scheduler is the first to claim `task` at `moment`."""
        key = f"{self.app.config['COOP_JOBS_QUEUE']}:scheduler:{task.name}:{moment:%Y%m%dT%H%M}"
        return bool(self.connection.set(key, self.name, nx=True, ex=CLAIM_SECONDS))

    def tick(self, at: datetime) -> list[tuple[Task, datetime]]:
        """Queue each task whose moment came since the last tick and no one claimed; which."""
        after = max(self.looked_until or at - CATCH_UP, at - CATCH_UP)
        queued = []
        for task in TASKS:
            schedule = self.app.config[task.setting]
            moment = latest_moment(schedule, after, at) if schedule else None
            if moment is not None and self.claim(task, moment):
                job_id = jobs.enqueue(self.app, jobs.job_path(task.job), ())
                log.info(
                    "queued",
                    extra={"fields": {"task": task.name, "moment": moment, "job_id": job_id}},
                )
                queued.append((task, moment))
        self.looked_until = at
        return queued

    def run(self, stop: threading.Event) -> None:
        """Tick every TICK_SECONDS until `stop` is set; Redis down is logged and retried."""
        log.info("scheduler %s started", self.name)
        while not stop.is_set():
            try:
                self.tick(now())
            except RedisError:
                # Nothing was marked looked at: the next tick tries the same moments again.
                log.exception("Redis unreachable: the scheduler tries again")
            stop.wait(TICK_SECONDS)
        log.info("scheduler %s stopped", self.name)
