"""`coop scheduler`: the periodic commands queued on time, once per moment however many
schedulers run (a claim in the real Redis, `SET NX EX`), in Lyon time."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from redis.exceptions import RedisError

from coop import scheduler
from coop.clock import now
from coop.orders.campaigns.models import CampaignStatus
from coop.scheduler import CATCH_UP, CLAIM_SECONDS, Scheduler, latest_moment
from tests.test_jobs import REDIS_URL, queue  # noqa: F401  (the fixture)

# 08:00:30 in Lyon on a winter Monday: the 5-minute close and the 08:00 reminders are due.
AT = datetime(2026, 12, 7, 7, 0, 30, tzinfo=UTC)


@pytest.fixture
def scheduling(app, queue, monkeypatch):  # noqa: F811
    """The app queuing on this test's own queue; the schedulers' claims removed afterwards."""
    monkeypatch.setitem(app.config, "COOP_REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "COOP_JOBS_QUEUE", queue.name)
    yield app
    for key in queue.connection.scan_iter(f"{queue.name}:scheduler:*"):
        queue.connection.delete(key)


def queued(queue) -> list[str]:  # noqa: F811
    return sorted(job.args[0] for job in queue.get_jobs())


def test_two_schedulers_at_the_same_moment_queue_each_task_once(scheduling, queue):  # noqa: F811
    barrier = threading.Barrier(2)
    results = []

    def tick(name):
        ticking = Scheduler(scheduling, queue.connection, name=name)
        barrier.wait(timeout=10)
        results.append(ticking.tick(AT))

    threads = [threading.Thread(target=tick, args=(name,)) for name in ("web-1", "web-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert queued(queue) == [
        "coop.scheduler.close_due_campaigns",
        "coop.scheduler.send_payment_reminders",
    ]
    assert sorted(len(r) for r in results) in ([0, 2], [1, 1])
    assert queue.get_jobs()[0].func_name == "coop.jobs.perform"


def test_a_moment_is_queued_once_across_ticks_and_restarts(scheduling, queue):  # noqa: F811
    first = Scheduler(scheduling, queue.connection, name="first")
    assert [t.name for t, _ in first.tick(AT)] == ["campaign-close-due", "reminders-send"]
    assert first.tick(AT + timedelta(seconds=20)) == []
    # A restart within the hour looks back an hour: the moments are claimed already.
    assert Scheduler(scheduling, queue.connection, name="restarted").tick(AT) == []
    # The next 5 minutes.
    [(task, moment)] = first.tick(AT + timedelta(minutes=5))
    assert task.name == "campaign-close-due"
    assert moment == datetime(2026, 12, 7, 7, 5, tzinfo=UTC)
    assert len(queue.get_jobs()) == 3


def test_a_moment_missed_by_more_than_an_hour_is_skipped(scheduling, queue):  # noqa: F811
    # 10:30 in Lyon: the 09:00 supplier reminders are 90 minutes past.
    late = Scheduler(scheduling, queue.connection).tick(datetime(2026, 12, 7, 9, 30, tzinfo=UTC))
    assert [t.name for t, _ in late] == ["campaign-close-due"]


def test_an_empty_schedule_turns_its_task_off(scheduling, queue, monkeypatch):  # noqa: F811
    monkeypatch.setitem(scheduling.config, "COOP_CRON_REMINDERS", "")
    ticked = Scheduler(scheduling, queue.connection).tick(AT)
    assert [t.name for t, _ in ticked] == ["campaign-close-due"]


def test_a_claim_outlives_the_catch_up_window_then_expires(scheduling, queue):  # noqa: F811
    Scheduler(scheduling, queue.connection).tick(AT)
    keys = list(queue.connection.scan_iter(f"{queue.name}:scheduler:*"))
    assert sorted(k.decode() for k in keys) == [
        f"{queue.name}:scheduler:campaign-close-due:20261207T0700",
        f"{queue.name}:scheduler:reminders-send:20261207T0700",
    ]
    for key in keys:
        assert CATCH_UP.total_seconds() < queue.connection.ttl(key) <= CLAIM_SECONDS


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        # Winter: Lyon is UTC+1; summer: UTC+2.
        (datetime(2026, 12, 7, 7, 0, tzinfo=UTC), datetime(2026, 12, 7, 7, 0, tzinfo=UTC)),
        (datetime(2026, 7, 1, 6, 10, tzinfo=UTC), datetime(2026, 7, 1, 6, 0, tzinfo=UTC)),
        (datetime(2026, 7, 1, 5, 59, tzinfo=UTC), None),
    ],
)
def test_schedules_are_in_lyon_time(until, expected):
    assert latest_moment("0 8 * * *", until - timedelta(hours=1), until) == expected


def test_the_close_due_job_closes_campaigns_past_their_cutoff(make):
    past = make.campaign(closes_at=now() - timedelta(minutes=1), at=now() - timedelta(days=1))
    running = make.campaign()
    scheduler.close_due_campaigns()
    assert (past.status, running.status) == (CampaignStatus.CLOSED, CampaignStatus.OPEN)


def test_the_reminder_jobs_run_with_nothing_due(make):
    scheduler.send_payment_reminders()
    scheduler.remind_rfq_suppliers()


def test_the_loop_ticks_until_stopped_and_outlives_redis_failures(app, monkeypatch, caplog):
    stop = threading.Event()
    ticks = []

    def tick(self, at):
        ticks.append(at)
        if len(ticks) == 1:
            raise RedisError("connection refused")
        stop.set()
        return []

    monkeypatch.setattr(Scheduler, "tick", tick)
    monkeypatch.setattr(scheduler, "TICK_SECONDS", 0)
    Scheduler(app, connection=None).run(stop)
    assert len(ticks) == 2
    assert "Redis unreachable" in caplog.text


def test_coop_scheduler_refuses_to_start_without_redis(runner):
    result = runner.invoke(args=["scheduler"])
    assert result.exit_code == 1
    assert "COOP_REDIS_URL is not set" in result.output
