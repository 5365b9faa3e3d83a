"""Fixtures: every database test runs on SQLite and, when COOP_TEST_DATABASE_URL
is set, on PostgreSQL too; each test runs in a transaction rolled back at the end
(SAVEPOINT mode, so app code may commit)."""

import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import g
from flask.testing import FlaskClient

from coop import create_app
from coop.errors import DomainError
from coop.extensions import db
from tests import factories

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("COOP_TEST_DATABASE_URL") else [])


@contextmanager
def fresh_database(backend: str, tmp_path: Path):
    """A new, empty database on `backend`; dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'coop-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    server = sa.make_url(os.environ["COOP_TEST_DATABASE_URL"])
    name = f"coop_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def app_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        # Hashing strength is not under test; speed is.
        "COOP_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "COOP_DEMO": False,
        "COOP_MAIL_BACKEND": "memory",
        "COOP_BASE_URL": "http://coop.test",
        "COOP_JOBS_INLINE": True,
        # Rate limits would make tests depend on their order: on in their own tests only.
        "COOP_RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def app(backend, tmp_path_factory):
    with fresh_database(backend, tmp_path_factory.mktemp(backend)) as url:
        application = create_app(app_config(url))
        with application.app_context():
            flask_migrate.upgrade()
        yield application
        with application.app_context():
            db.engine.dispose()


@pytest.fixture
def committing_app(backend, tmp_path):
    """An app on its own database whose sessions really commit, for tests across threads.

    PostgreSQL only: the row locks under test mean nothing to SQLite, which serialises
    writers anyway.
    """
    if backend != "postgresql":
        pytest.skip("row locks need PostgreSQL: SQLite serialises writers")
    with fresh_database(backend, tmp_path) as url:
        application = create_app(app_config(url))
        with application.app_context():
            flask_migrate.upgrade()
        yield application
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def at_once(app, work, times: int = 2) -> tuple[list, list[str]]:
    """Run `work(start)` in `times` threads, each in its own app context and session.

    `work` reads what it needs, calls `start()` so that all threads go on together,
    then does the one thing under test and commits. Returns what each returned and
    the messages of the DomainErrors refused; any other error fails the test.
    """
    barrier = threading.Barrier(times)
    done, refused, failures = [], [], []

    def run():
        with app.app_context():
            try:
                done.append(work(lambda: barrier.wait(timeout=10)))
            except DomainError as error:
                refused.append(error.message)
            except Exception as error:
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    return done, refused


@contextmanager
def statements_run():
    """The statements the app's engine runs inside the block (a list, filled as they run),
    but the SAVEPOINTs by which the test's session keeps its own transaction."""
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        if not statement.startswith(("SAVEPOINT", "RELEASE")):
            seen.append(statement)

    engine = db.engines[None].engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


def queries_for(client, url: str) -> int:
    """The queries a page runs, every request starting cold, as in production."""
    db.session.expire_all()
    with statements_run() as seen:
        assert client.get(url).status_code == 200
    return len(seen)


class Client(FlaskClient):
    """A test client whose requests share the test's app context and transaction."""

    def open(self, *args, **kwargs):
        # Requests reuse the test's app context; clear `g` so that each one
        # starts fresh, as it does in production (Flask-Login caches the user there).
        g.__dict__.clear()
        return super().open(*args, **kwargs)

    def login_as(self, user) -> None:
        with self.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True


@pytest.fixture
def db_session(app):
    """The test's app context, bound to one connection in a transaction rolled back at the end."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        engines = db.engines
        engine = engines[None]
        engines[None] = connection
        factory = db.session.session_factory
        saved_options = dict(factory.kw)
        db.session.remove()
        factory.configure(join_transaction_mode="create_savepoint")
        try:
            yield db.session
        finally:
            db.session.remove()
            factory.kw.clear()
            factory.kw.update(saved_options)
            engines[None] = engine
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app, db_session) -> Client:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def runner(app, db_session):
    return app.test_cli_runner()


@pytest.fixture
def rate_limited(app):
    """The app's rate limits (coop.rate_limits) on for one test, counting from zero."""
    limiter = app.extensions["coop_limiter"]
    limiter.reset()
    limiter.enabled = True
    yield limiter
    limiter.enabled = False
    limiter.reset()


@pytest.fixture
def make(db_session):
    """The factory functions, bound to the test's session."""
    return factories


def pytest_itemcollected(item):
    """Browser tests run one at a time on one worker (`--dist loadgroup`), beside the
    other tests: two Chromiums and their servers at once on two cores starve axe-core.
    Marked as each is collected, so that the group is there when xdist reads it."""
    if item.get_closest_marker("browser"):
        item.add_marker(pytest.mark.xdist_group("browser"))
