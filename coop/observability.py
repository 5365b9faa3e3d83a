"""What ops see: a request id, one JSON log line per request and per job, Sentry when set.

Every request gets an id: the proxy's `X-Request-ID` when it looks like one (nginx sends
its `$request_id`), a new one otherwise. It goes back in the response's `X-Request-ID`
header, on the error pages (a shop can quote it on the phone), into the request's log
line and into the jobs the request queues, so one id finds everything a click caused.
"""

import json
import logging
import logging.config
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

from coop.errors import ConfigurationError

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy's id may look like: anything else (too long, odd characters) is not trusted
# into our logs and headers, and a new id is made.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
# Polled every few seconds by the proxy and the monitor: their lines would drown the others.
QUIET_ENDPOINTS = frozenset({"health.healthz", "health.readyz"})

request_log = logging.getLogger("coop.requests")
job_log = logging.getLogger("coop.jobs.runs")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


# Every process of a deployment (gunicorn's, `coop worker`, `coop scheduler`) logs JSON lines
# to stderr (systemd's journal): gunicorn reads this as its `logconfig_dict`.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "coop.observability.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        # Our own request lines replace gunicorn's access log (config: accesslog = None).
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}


def configure_logging() -> None:
    """JSON lines on stderr for this process (`coop worker`, `coop scheduler`); like
    logging.basicConfig, nothing when logging is already set up (pytest's capture)."""
    if not logging.getLogger().handlers:
        logging.config.dictConfig(LOGGING)


def init_app(app: Flask) -> None:
    """Request ids and the request log; Sentry when COOP_SENTRY_DSN is set."""
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.context_processor(lambda: {"request_id": current_request_id()})
    if app.config.get("COOP_SENTRY_DSN"):
        init_sentry(app)


def current_request_id() -> str | None:
    """This request's id; None outside a request (a CLI command, the scheduler)."""
    return g.get("request_id") if has_request_context() else None


def _start_request() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response):
    # A request refused before our first hook (none today) would have no id: make one.
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    if request.endpoint in QUIET_ENDPOINTS:
        return response
    started = g.get("request_started")
    # Flask-Login keeps the user it loaded in g: read it there, so that logging never loads a
    # user a page did not need (a static file, a health check).
    user = g.get("_login_user")
    request_log.info(
        "request",
        extra={
            "fields": {
                "request_id": request_id,
                "method": request.method,
                # The route, not the path: ids and quote-link tokens stay out of the logs, and
                # lines group by page.
                "path": request.url_rule.rule if request.url_rule else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1)
                if started
                else None,
                "user_id": user.id if user is not None and user.is_authenticated else None,
            }
        },
    )
    return response


def log_job(job_id: str | None, function: str, status: str, started: float, **fields) -> None:
    """One line per job run by `coop worker`: which, how it ended, how long it took."""
    job_log.log(
        logging.INFO if status == "finished" else logging.ERROR,
        "job",
        extra={
            "fields": {
                "job_id": job_id,
                "function": function,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                **fields,
            }
        },
    )


def init_sentry(app: Flask) -> None:
    """Errors of the web app and of the jobs to Sentry (the optional `coop[sentry]` extra)."""
    try:
        import sentry_sdk
        from sentry_sdk.integrations.flask import FlaskIntegration
        from sentry_sdk.integrations.rq import RqIntegration
    except ImportError as exc:
        raise ConfigurationError(
            "COOP_SENTRY_DSN is set but sentry-sdk is not installed: "
            "pip install 'coop[sentry]', or unset COOP_SENTRY_DSN"
        ) from exc
    sentry_sdk.init(
        dsn=app.config["COOP_SENTRY_DSN"],
        integrations=[FlaskIntegration(), RqIntegration()],
        environment=app.config.get("COOP_SENTRY_ENVIRONMENT") or "production",
        traces_sample_rate=app.config.get("COOP_SENTRY_TRACES_SAMPLE_RATE", 0.0),
        # Shops' and people's data stay here: no cookies, form bodies or addresses sent.
        send_default_pii=False,
    )
