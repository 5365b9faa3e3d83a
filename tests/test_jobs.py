"""Background jobs: queued on Redis (RQ) when COOP_REDIS_URL is set, a thread otherwise.

These tests use the real Redis at 127.0.0.1:6379 (COOP_TEST_REDIS_URL to change it),
each on a queue of its own, deleted afterwards. Without Redis they fail: CI has one.
"""

import logging
import os
import signal
import uuid
from datetime import datetime

import flask_migrate
import pytest
from flask import g
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.results import Result
from sqlalchemy import func, select

from coop import config, create_app, jobs
from coop.accounts.models import Role
from coop.clock import now
from coop.extensions import db
from coop.invoicing import issuing
from coop.invoicing.documents import render_pending_documents
from coop.invoicing.models import Invoice, InvoiceDocument
from coop.jobs import run_in_background
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.models import Campaign, CampaignStatus
from coop.orders.pooling import pool_run
from coop.orders.pooling.models import PoolingRun, RunStatus
from tests import factories
from tests.conftest import app_config, fresh_database
from tests.invoicing.test_issuing import received, year

REDIS_URL = os.environ.get("COOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def queue():
    """An RQ queue of this test's own on the real Redis (and its bulk queue); their jobs and
    keys removed afterwards."""
    connection = Redis.from_url(REDIS_URL)
    connection.ping()  # no Redis is a failure, not a skip
    queue = Queue(f"coop-test-{uuid.uuid4().hex}", connection=connection)
    yield queue
    for each in (queue, Queue(jobs.bulk_queue_name(queue.name), connection=connection)):
        registries = (
            each.started_job_registry,
            each.finished_job_registry,
            each.failed_job_registry,
            each.deferred_job_registry,
            each.scheduled_job_registry,
            each.canceled_job_registry,
        )
        ids = set(each.get_job_ids()).union(*(r.get_job_ids() for r in registries))
        for job in Job.fetch_many(sorted(ids), connection=connection):
            if job is not None:
                Result.delete_all(job)
                job.delete()
        each.delete(delete_jobs=True)
    for key in connection.scan_iter(f"rq:*{queue.name}*"):
        connection.delete(key)
    # What is left is the burst workers' records, which expire within a minute.
    connection.close()


@pytest.fixture
def site(backend, tmp_path, queue, monkeypatch):
    """A web app queuing on `queue`, and the environment its worker reads, on one database
    that really commits (a SQLite file or PostgreSQL)."""
    signals = {name: signal.getsignal(name) for name in (signal.SIGINT, signal.SIGTERM)}
    with fresh_database(backend, tmp_path) as url:
        web = create_app(
            app_config(
                url, COOP_JOBS_INLINE=False, COOP_REDIS_URL=REDIS_URL, COOP_JOBS_QUEUE=queue.name
            )
        )
        with web.app_context():
            flask_migrate.upgrade()
        # The worker makes its own app from the environment, as it does in production.
        environment = {
            "COOP_DATABASE_URL": url,
            "COOP_SECRET_KEY": "test-secret-key",
            "COOP_MAIL_BACKEND": "memory",
            "COOP_REDIS_URL": REDIS_URL,
            "COOP_JOBS_QUEUE": queue.name,
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(jobs, "_app", None)
        monkeypatch.setattr(jobs, "_app_pid", None)
        try:
            yield web
        finally:
            for app in {web, jobs._app} - {None}:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
            # An RQ worker takes over SIGINT and SIGTERM; give them back to pytest.
            for name, handler in signals.items():
                signal.signal(name, handler)


def bulk(queue) -> Queue:
    return Queue(jobs.bulk_queue_name(queue.name), connection=queue.connection)


def work(queue) -> bool:
    """Run what `queue` and its bulk queue hold in this process, as a worker would, then stop."""
    return SimpleWorker([queue, bulk(queue)], connection=queue.connection).work(burst=True)


def run_job(mode: str, app, queue, job, *args) -> None:
    """Hand `job` over as a request would, with or without Redis, and wait for its end."""
    if mode == "thread":
        app.config["COOP_REDIS_URL"] = None
    with app.app_context():
        thread = run_in_background(job, *args)
    if mode == "thread":
        thread.join(timeout=120)
        assert not thread.is_alive()
    else:
        assert thread is None
        work(queue)


def received_campaign(app) -> int:
    with app.app_context():
        campaign_id = received(factories).campaign.id
        db.session.remove()
    return campaign_id


def invoicing_state(app, campaign_id: int) -> dict:
    """What the treasurer's pages read: the invoices, their PDFs, the campaign, the progress."""
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        state = {
            "numbers": db.session.scalars(select(Invoice.number).order_by(Invoice.number)).all(),
            "pdfs": db.session.scalar(select(func.count()).select_from(InvoiceDocument)),
            "status": campaign.status,
            "progress": issuing.issuing_progress(campaign),
        }
        db.session.remove()
    return state


# --- handing a job over ----------------------------------------------------------------------


def test_a_large_batch_is_queued_and_the_request_returns_without_running_it(
    client, app, make, queue, monkeypatch
):
    monkeypatch.setitem(app.config, "COOP_JOBS_INLINE", False)
    monkeypatch.setitem(app.config, "COOP_REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "COOP_JOBS_QUEUE", queue.name)
    monkeypatch.setattr("coop.invoicing.views.INLINE_BATCH", 0)
    campaign = received(make).campaign
    treasurer = make.user(Role.TREASURER)
    client.login_as(treasurer)
    response = client.post(f"/campaigns/{campaign.id}/invoices/issue")
    progress = f"/campaigns/{campaign.id}/invoices/progress"
    assert response.status_code == 302 and response.location.endswith(progress)
    [job] = queue.get_jobs()
    assert job.func_name == "coop.jobs.perform"
    path, campaign_id, user_id, at = job.args
    assert (path, campaign_id, user_id) == (
        "coop.invoicing.issuing.issue_job",
        campaign.id,
        treasurer.id,
    )
    assert isinstance(at, datetime) and at.tzinfo is not None
    assert (job.timeout, job.result_ttl, job.failure_ttl) == (3600, 3600, 7 * 24 * 3600)
    assert job.description.startswith(f"coop.invoicing.issuing.issue_job({campaign.id}, ")
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0
    assert "0 facture émise sur 3." in client.get(progress).text


def test_a_job_takes_ids_and_plain_values_never_objects_or_closures(make):
    campaign = make.campaign()
    with pytest.raises(TypeError, match="pass ids and plain values"):
        run_in_background(issuing.issue_job, campaign, None, now())
    with pytest.raises(TypeError, match="not a module-level function"):
        run_in_background(lambda: None)
    assert jobs.job_path(render_pending_documents) == (
        "coop.invoicing.documents.render_pending_documents"
    )


def test_without_redis_a_job_runs_in_a_thread_of_the_web_process(site, queue):
    campaign_id = received_campaign(site)
    run_job("thread", site, queue, issuing.issue_job, campaign_id, None, now())
    assert queue.count == 0
    y = year()
    assert invoicing_state(site, campaign_id) == {
        "numbers": [f"FA-{y}-{n:06d}" for n in (1, 2, 3)],
        "pdfs": 3,
        "status": CampaignStatus.INVOICED,
        "progress": (3, 3),
    }


def test_with_redis_down_the_job_still_runs_in_a_thread(site, queue, caplog):
    campaign_id = received_campaign(site)
    site.config["COOP_REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    with site.app_context():
        thread = run_in_background(issuing.issue_job, campaign_id, None, now())
    thread.join(timeout=120)
    assert "Redis unreachable" in caplog.text
    assert invoicing_state(site, campaign_id)["pdfs"] == 3


# --- the worker ------------------------------------------------------------------------------


def test_a_worker_issues_the_queued_invoices_then_renders_their_pdfs(site, queue, monkeypatch):
    made = []

    def create_app_spy(*args):
        made.append(create_app(*args))
        return made[-1]

    monkeypatch.setattr("coop.create_app", create_app_spy)
    monkeypatch.setattr(issuing, "PDF_CHUNK", 2)
    campaign_id = received_campaign(site)
    with site.app_context():
        assert run_in_background(issuing.issue_job, campaign_id, None, now()) is None
        assert run_in_background(render_pending_documents) is None
    # Queued, not run: nothing is issued until a worker takes the job.
    assert queue.count == 2
    assert invoicing_state(site, campaign_id)["progress"] == (0, 3)
    assert work(queue)
    # The batch's job queued its PDFs on the bulk queue in pieces (of 2 here: 3 invoices, two
    # pieces), which the worker served once the main queue was empty.
    assert queue.finished_job_registry.count == 2
    pieces = Job.fetch_many(bulk(queue).finished_job_registry.get_job_ids(), queue.connection)
    with site.app_context():
        ids = db.session.scalars(select(Invoice.id).order_by(Invoice.id)).all()
    assert sorted(piece.args[1:] for piece in pieces) == [(ids[0], ids[1]), (ids[2], ids[2])]
    assert {piece.args[0] for piece in pieces} == {
        "coop.invoicing.documents.render_pending_documents"
    }
    assert bulk(queue).count == 0 and bulk(queue).failed_job_registry.count == 0
    assert queue.count == 0 and queue.failed_job_registry.count == 0
    y = year()
    assert invoicing_state(site, campaign_id) == {
        "numbers": [f"FA-{y}-{n:06d}" for n in (1, 2, 3)],
        "pdfs": 3,
        "status": CampaignStatus.INVOICED,
        "progress": (3, 3),
    }
    with site.app_context():
        pdfs = db.session.scalars(select(InvoiceDocument.pdf)).all()
        assert all(pdf.startswith(b"%PDF-") for pdf in pdfs)
    # One app per worker process, from the environment: the web app's database, its own engine.
    assert made == [jobs._app] and jobs._app is not site
    worker_config = jobs._app.config
    assert worker_config["SQLALCHEMY_DATABASE_URI"] == site.config["SQLALCHEMY_DATABASE_URI"]
    assert worker_config["COOP_REDIS_URL"] == REDIS_URL
    assert worker_config["COOP_JOBS_QUEUE"] == queue.name
    assert not worker_config["TESTING"]


# --- a job that fails: the same outcome with or without Redis --------------------------------


@pytest.mark.parametrize("mode", ["thread", "rq"])
def test_a_batch_failing_midway_keeps_what_was_issued_and_a_rerun_completes_it(
    site, queue, mode, monkeypatch, caplog
):
    campaign_id = received_campaign(site)
    reference = issuing.payment_reference
    calls = []

    def fails_the_second_time(number):
        calls.append(number)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return reference(number)

    monkeypatch.setattr(issuing, "payment_reference", fails_the_second_time)
    run_job(mode, site, queue, issuing.issue_job, campaign_id, None, now())
    y = year()
    # The first invoice stays whole; the failed one took no number; no PDF was rendered;
    # the progress page shows 1 of 3 and tells to relaunch from the preview.
    assert invoicing_state(site, campaign_id) == {
        "numbers": [f"FA-{y}-000001"],
        "pdfs": 0,
        "status": CampaignStatus.RECEIVED,
        "progress": (1, 3),
    }
    assert "background job coop.invoicing.issuing.issue_job(" in caplog.text
    assert "RuntimeError: disk full" in caplog.text
    if mode == "rq":
        assert queue.failed_job_registry.count == 1
        [failed] = Job.fetch_many(queue.failed_job_registry.get_job_ids(), queue.connection)
        assert "RuntimeError: disk full" in failed.latest_result().exc_string

    monkeypatch.setattr(issuing, "payment_reference", reference)
    run_job(mode, site, queue, issuing.issue_job, campaign_id, None, now())
    assert invoicing_state(site, campaign_id) == {
        "numbers": [f"FA-{y}-{n:06d}" for n in (1, 2, 3)],
        "pdfs": 3,
        "status": CampaignStatus.INVOICED,
        "progress": (3, 3),
    }


@pytest.mark.parametrize("mode", ["thread", "rq"])
def test_a_pooling_run_whose_solver_fails_is_marked_failed(site, queue, mode, monkeypatch):
    with site.app_context():
        campaign = factories.campaign()
        part = factories.part()
        factories.offer(factories.supplier(), part)
        factories.need(campaign, factories.member(), part, quantity=2)
        change_status(campaign, CampaignStatus.CLOSED, at=campaign.opened_at)
        run_id = pool_run.start_run(campaign, pool_run.Options(time_limit=5)).id
        db.session.commit()
        db.session.remove()

    def broken_solver(*args, **kwargs):
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(pool_run, "solve", broken_solver)
    run_job(mode, site, queue, pool_run.execute_run, run_id)
    with site.app_context():
        run = db.session.get(PoolingRun, run_id)
        assert run.status is RunStatus.FAILED and run.finished_at is not None
        assert run.error == "Le calcul a échoué : l'équipe technique a été prévenue."
    if mode == "rq":
        # The job handled its failure itself: for RQ it ended normally.
        assert queue.finished_job_registry.count == 1


def test_without_coop_redis_url_the_queue_is_off(tmp_path, monkeypatch):
    monkeypatch.delenv("COOP_REDIS_URL", raising=False)
    monkeypatch.delenv("COOP_JOBS_QUEUE", raising=False)
    monkeypatch.setenv("COOP_DEMO", "1")
    settings = config.load(tmp_path)
    assert (settings["COOP_REDIS_URL"], settings["COOP_JOBS_QUEUE"]) == (None, "coop")


def piece_done(first: int, last: int) -> None:
    DONE.append((first, last))


DONE: list[tuple[int, int]] = []


def test_pieces_are_queued_in_a_worker_and_done_here_elsewhere_or_when_redis_fails(
    app, queue, monkeypatch, caplog
):
    DONE.clear()
    monkeypatch.setitem(app.config, "COOP_REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "COOP_JOBS_QUEUE", queue.name)
    with app.app_context():
        jobs.in_chunks(piece_done, [(1, 5), (6, 9)])  # no worker: done here, in turn
        assert DONE == [(1, 5), (6, 9)] and bulk(queue).count == 0
        DONE.clear()
        monkeypatch.setattr(jobs, "get_current_job", lambda: object())  # in a worker
        jobs.in_chunks(piece_done, [(1, 5), (6, 9)])
        assert DONE == [] and queue.count == 0
        assert [job.args for job in bulk(queue).get_jobs()] == [
            ("tests.test_jobs.piece_done", 1, 5),
            ("tests.test_jobs.piece_done", 6, 9),
        ]

        def redis_down(*args, **kwargs):
            raise RedisError("connection refused")

        monkeypatch.setattr(jobs, "enqueue", redis_down)
        jobs.in_chunks(piece_done, [(1, 5), (6, 9)])
    assert DONE == [(1, 5), (6, 9)]
    assert "Redis unreachable: tests.test_jobs.piece_done(1, 5) runs in this job" in caplog.text


def failing_job() -> None:
    raise RuntimeError("printer on fire")


def test_each_job_a_worker_runs_writes_one_json_line(site, queue, caplog):
    caplog.set_level(logging.INFO, logger="coop.jobs.runs")
    with site.test_request_context():
        g.request_id = "req-queued-it"
        run_in_background(render_pending_documents)
        run_in_background(failing_job)
    finished, failed = queue.get_jobs()
    work(queue)
    lines = [r.fields for r in caplog.records if r.name == "coop.jobs.runs"]
    for line in lines:
        assert isinstance(line.pop("duration_ms"), float)
    assert lines == [
        {
            "job_id": finished.id,
            "function": "coop.invoicing.documents.render_pending_documents",
            "status": "finished",
            "request_id": "req-queued-it",
        },
        {
            "job_id": failed.id,
            "function": "tests.test_jobs.failing_job",
            "status": "failed",
            "request_id": "req-queued-it",
        },
    ]


# --- `coop worker` ---------------------------------------------------------------------------


def test_coop_worker_refuses_to_start_without_redis(runner):
    result = runner.invoke(args=["worker"])
    assert result.exit_code == 1
    assert "COOP_REDIS_URL is not set" in result.output


@pytest.mark.parametrize("value", ["20", "-1", "1e308", "dix"])
def test_coop_worker_refuses_a_niceness_out_of_range(runner, value, monkeypatch):
    niceness = []
    monkeypatch.setattr(os, "nice", niceness.append)
    result = runner.invoke(args=["worker", "--nice", value])
    assert result.exit_code == 2
    assert "--nice" in result.output and niceness == []


def test_coop_worker_runs_each_queued_job_in_a_forked_work_horse(site, queue, monkeypatch):
    # A hung horse is killed a minute past its timeout: keep that short here.
    monkeypatch.setattr(jobs, "JOB_TIMEOUT", 60)
    niceness = []  # the test's process keeps its own: the call is recorded, not made
    monkeypatch.setattr(os, "nice", niceness.append)
    campaign_id = received_campaign(site)
    with site.app_context():
        run_in_background(issuing.issue_job, campaign_id, None, now())
        result = site.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert niceness == [10]  # the jobs yield the CPU to the web pages
    # The batch, then the piece of its PDFs it queued on the bulk queue.
    assert queue.count == 0 and queue.finished_job_registry.count == 1
    assert bulk(queue).count == 0 and bulk(queue).finished_job_registry.count == 1
    assert invoicing_state(site, campaign_id)["pdfs"] == 3
    # The horse made its own connections; the worker process still has its app.
    assert jobs._app is site and jobs._app_pid == os.getpid()
