"""gunicorn's settings for `coop serve` (also `gunicorn -c python:coop.gunicorn_conf`).

Each name below is a gunicorn setting. `coop serve --workers/--host/--port` and the
GUNICORN_CMD_ARGS environment variable (any gunicorn option) override them, in that order.
"""

import gc
import os

from coop.observability import LOGGING


def default_workers(cpus: int | None = None) -> int:
    """One process per CPU (two at least, so that one restarting leaves another serving).

    Python runs one thread at a time per process, so a process uses one CPU at most, and the
    threads of each process cover its waits for PostgreSQL (see `threads`). More processes
    than CPUs only make them take turns on the CPUs with PostgreSQL: with the machine
    saturated by the load bench's mix (bench/bench_workers.py, three runs each), 3 processes
    on 2 CPUs cost 10.0 to 10.7 ms of CPU a request, 2 processes 9.0 to 9.8. gunicorn's
    usual 2 x CPU + 1 is for single-threaded workers."""
    return max(2, cpus or os.cpu_count() or 1)


bind = "127.0.0.1:8000"
workers = default_workers()
# Threads per process (gthread): while one waits for the database, Redis or Stripe's API,
# another renders a page. Each thread may hold a database connection: workers x threads
# must stay under PostgreSQL's max_connections (100 by default), beside the RQ workers.
worker_class = "gthread"
threads = 4
# A page must answer within this (long work goes to `coop worker`); a worker silent for
# longer is killed and replaced, its request answered 502 by nginx.
timeout = 60
graceful_timeout = 30
# No keep-alive: each connection is closed once answered (nginx opens another, on loopback).
# A gthread worker serves every connection it has accepted for as long as it stays open, and
# the first worker back after a restart (max_requests below, a crash) accepted every
# connection its peer had dropped: one process, so one CPU, served all, the other idled, and
# the p95 went from 70 ms to 1.1 s for the rest of the run (bench/README.md, ninth
# measurement). Closed after each answer, the next request goes to whichever worker accepts
# it first (a busy one is slower to), and a restart leaves nothing behind.
keepalive = 0
# A worker is replaced after this many requests, which bounds any slow memory growth. Not
# more often: a new worker imports the app (about 2 s of CPU) while the others serve, and at
# 100 requests a second 2,000 meant one every 20 s. The workers share the requests evenly, so
# a jitter of a tenth had them all replaced within seconds of each other (the load bench's
# two, 2 s apart): half the range keeps them apart.
max_requests = 20000
max_requests_jitter = 10000
# Our JSON line per request (coop.observability) replaces gunicorn's access log.
accesslog = None
errorlog = "-"
loglevel = "info"
logconfig_dict = LOGGING
# Which peers may tell gunicorn the request came over https (X-Forwarded-Proto): nginx on
# this host. The client's address is ProxyFix's job (COOP_PROXY_COUNT).
forwarded_allow_ips = os.environ.get("COOP_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "coop"
# systemd manages the service; no control socket in the service account's home.
control_socket_disable = True


# Python's collector runs a first pass every 700 allocations net of frees by default; see below.
COLLECTOR_THRESHOLDS = (10_000, 10, 10)


def post_worker_init(worker) -> None:
    """Once a worker has made the app: keep Python's garbage collector off what lives all along.

    The collector's full pass walks every object of the process, and a worker holds some
    250,000 from the moment it has made the app (modules, SQLAlchemy's mappers, Jinja's
    templates, the translations), which no request frees. With Python's default thresholds
    (700, 10, 10), a full pass came every 60 requests or so and took 0.1 to 0.2 s with the
    GIL held: a pause for every request of the process, and a fifth of the CPU of the load
    bench's pages (bench/README.md, ninth measurement). `gc.freeze()` sets those objects
    aside for good; a first collection is 10,000 allocations apart instead of 700, so that
    a request's short-lived objects are mostly freed by their counts before it looks."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
