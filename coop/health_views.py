"""`/healthz` and `/readyz`: for the proxy, systemd and a monitor; no login, no rate limit."""

from flask import Blueprint, Response, current_app, jsonify
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from coop.extensions import db

bp = Blueprint("health", __name__)

# A monitor asks every few seconds: a dependency that does not answer within this is down.
REDIS_TIMEOUT_SECONDS = 2


@bp.route("/healthz")
def healthz():
    """The process answers: nothing else is touched (a database outage must not get every
    worker restarted)."""
    return Response("ok", mimetype="text/plain")


@bp.route("/readyz")
def readyz():
    """The database answers, and Redis when the app queues its jobs there: 503 naming what
    failed, so the proxy and the monitor know this process cannot serve."""
    checks = {"database": _database_answers()}
    if current_app.config.get("COOP_REDIS_URL"):
        checks["redis"] = _redis_answers(current_app.config["COOP_REDIS_URL"])
    ready = all(checks.values())
    body = {"status": "ready" if ready else "unavailable"}
    body.update({name: "ok" if ok else "failed" for name, ok in checks.items()})
    return jsonify(body), 200 if ready else 503


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("readyz: the database does not answer")
        db.session.rollback()
        return False
    return True


def _redis_answers(url: str) -> bool:
    try:
        with Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        ) as connection:
            return bool(connection.ping())
    except RedisError:
        current_app.logger.exception("readyz: Redis does not answer")
        return False
