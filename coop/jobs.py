"""Work that may outlast a request: an RQ queue on Redis, or a thread of the web process.

With COOP_REDIS_URL set, a job goes to the RQ queue COOP_JOBS_QUEUE, which
`coop worker` serves; without it, to a daemon thread of the web process, so the
local demo needs no Redis. Tests and the CLI run jobs inline (COOP_JOBS_INLINE)
so that they share the caller's transaction handling and see its data.

Either way a job is a module-level function, named by its import path, called
with plain values (ids, datetimes), never ORM objects: it reads what it needs in
a session of its own, so the caller commits before handing the job over. A job
reports its progress and its failures in the database (a pooling run's status,
the invoices issued so far), which every web process can read.
"""

import contextlib
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker, get_current_job

from coop import observability
from coop.extensions import db

log = logging.getLogger(__name__)

# Issuing and rendering a hundred invoices takes minutes: an hour is far past any healthy job.
JOB_TIMEOUT = 3600
# A job's record stays in Redis for `rq info`: an hour once done, a week with its traceback
# once failed.
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600
PLAIN_TYPES = (str, int, float, Decimal, date, type(None))  # datetime is a date


def run_in_background(job: Callable[..., object], *args) -> threading.Thread | None:
    """Run `job(*args)` after the request: inline, queued on Redis, or in a thread.

    Call it after the commit. Returns the thread when one was started (the caller
    may wait a moment for it), otherwise None.
    """
    path = job_path(job)
    for arg in args:
        if not isinstance(arg, PLAIN_TYPES):
            raise TypeError(f"{path}: pass ids and plain values to a job, not {arg!r}")
    app = current_app._get_current_object()
    if app.config["COOP_JOBS_INLINE"]:
        job(*args)
        return None
    if app.config["COOP_REDIS_URL"]:
        try:
            enqueue(app, path, args)
            return None
        except RedisError:
            # The work must still get done: this process does it, and ops hear of it.
            log.exception("Redis unreachable: %s runs in a thread of this process", path)
    thread = threading.Thread(
        target=_run_in_thread, args=(app, path, args), name=f"coop-job-{job.__name__}", daemon=True
    )
    thread.start()
    return thread


def in_chunks(job: Callable[[int, int], object], ranges: list[tuple[int, int]]) -> None:
    """Run `job(first, last)` for each range of ids of some long work (a batch's PDFs).

    In a worker (`coop worker`), each range is a job of the bulk queue, which every worker
    serves after the main one: the workers share the work, and a job of the main queue
    (closing a campaign at its cutoff, an e-mail) waits for one range at most, never for
    the whole work. Anywhere else, or when Redis fails, the ranges are done here.
    """
    path = job_path(job)
    app = current_app._get_current_object()
    left = ranges
    if get_current_job() is not None:
        left = []
        for first, last in ranges:
            try:
                enqueue(app, path, (first, last), bulk=True)
            except RedisError:
                log.exception("Redis unreachable: %s(%s, %s) runs in this job", path, first, last)
                left.append((first, last))
    for first, last in left:
        job(first, last)


def job_path(job: Callable[..., object]) -> str:
    """`job`'s import path; refused unless a worker can import it back (no lambda, no closure)."""
    path = f"{job.__module__}.{job.__qualname__}"
    try:
        found = _resolve(path)
    except (ImportError, AttributeError):
        found = None
    if found is not job:
        raise TypeError(f"{path} is not a module-level function: a worker could not import it")
    return path


def _resolve(path: str) -> Callable[..., object]:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _describe(path: str, args: tuple) -> str:
    return f"{path}({', '.join(map(repr, args))})"


def _perform(app: Flask, path: str, args: tuple) -> None:
    """Run one job in an app context and a session of its own; a failure is logged and raised."""
    with app.app_context():
        try:
            _resolve(path)(*args)
        except Exception:
            log.exception("background job %s failed", _describe(path, args))
            raise
        finally:
            db.session.remove()


def _run_in_thread(app: Flask, path: str, args: tuple) -> None:
    # _perform logged the failure; above a thread there is no one else to tell.
    with contextlib.suppress(Exception):
        _perform(app, path, args)


# --- the queue -------------------------------------------------------------------------------


def bulk_queue_name(main: str) -> str:
    """The queue of long work in pieces (`in_chunks`), served after the main one."""
    return f"{main}-bulk"


def enqueue(app: Flask, path: str, args: tuple, *, bulk: bool = False) -> str:
    """Put `path(*args)` on the app's RQ queue (its bulk queue with `bulk`); its id."""
    name = app.config["COOP_JOBS_QUEUE"]
    with Redis.from_url(app.config["COOP_REDIS_URL"]) as connection:
        job = Queue(bulk_queue_name(name) if bulk else name, connection=connection).enqueue(
            perform,
            path,
            *args,
            job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=_describe(path, args),
            # The request that queued it, for its log line (coop.observability).
            meta={"request_id": observability.current_request_id()},
        )
    return job.id


def perform(path: str, *args) -> None:
    """What the queue holds: run `path(*args)` in this worker process's app; one log line."""
    job = get_current_job()
    started = time.perf_counter()
    status = "failed"
    try:
        _perform(worker_app(), path, args)
        status = "finished"
    finally:
        observability.log_job(
            job.id if job else None,
            path,
            status,
            started,
            request_id=job.meta.get("request_id") if job else None,
        )


# The worker process's app, and the process that made its connections.
_app: Flask | None = None
_app_pid: int | None = None


def use_app(app: Flask) -> None:
    """Run the jobs of this process in `app` (`coop worker` hands over the one it loaded)."""
    global _app, _app_pid
    _app, _app_pid = app, os.getpid()


def worker_app() -> Flask:
    """This worker process's app: made once from the environment, like the web's."""
    global _app_pid
    if _app is None:
        from coop import create_app

        use_app(create_app())
    elif _app_pid != os.getpid():
        # A work horse forked from the worker: the pooled connections are the parent's.
        with _app.app_context():
            db.engine.dispose(close=False)
        _app_pid = os.getpid()
    return _app


def work(app: Flask, *, burst: bool = False) -> bool:
    """Serve the app's queue until stopped (or, with `burst`, until it is empty).

    RQ forks a work horse per job: a job that leaks memory, crashes or overruns its
    timeout takes only its horse with it, and the job is marked failed.
    """
    use_app(app)
    name = app.config["COOP_JOBS_QUEUE"]
    with Redis.from_url(app.config["COOP_REDIS_URL"]) as connection:
        # The main queue first: a job there waits for no more than the bulk job in progress.
        queues = [Queue(n, connection=connection) for n in (name, bulk_queue_name(name))]
        return Worker(queues, connection=connection).work(burst=burst)
