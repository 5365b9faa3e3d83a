"""The coop's marketplace: create_app() reads as the table of contents."""

import hashlib
from functools import lru_cache
from pathlib import Path

import psycopg
from flask import Flask, Request, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from werkzeug.datastructures import FileStorage, ImmutableMultiDict
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter
from werkzeug.security import safe_join

from coop import bounds, config, forms, navigation, observability, rate_limits
from coop import extensions as ext
from coop.db import is_reading_only
from coop.errors import register_error_pages

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config.DEFAULTS)
    if test_config is None:
        app.config.from_mapping(config.load(Path(app.instance_path)))
    else:
        app.config.from_mapping(test_config)
    _init_proxy(app)
    observability.init_app(app)
    _init_input(app)
    _init_database(app)
    _init_security(app)
    _init_i18n(app)
    _version_static_urls(app)
    _register_blueprints(app)
    register_error_pages(app)
    rate_limits.init_app(app)
    _register_cli(app)
    return app


def _init_proxy(app: Flask) -> None:
    """Behind COOP_PROXY_COUNT proxies (nginx: 1), the client's address, scheme and host are
    the ones the proxies pass on: the rate limits count clients, not the proxy, and links
    say https. With no proxy, those headers come from the client and are ignored."""
    hops = app.config["COOP_PROXY_COUNT"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _version_static_urls(app: Flask) -> None:
    """`url_for('static', ...)` ends with `?v=<hash of the file>`: nginx serves /static/ with a
    year-long cache (deploy/nginx), and a changed file gets a new address.

    In debug (`coop run`) each link looks at the file, so an edit shows at once; in production
    the files change only with a deployment, which restarts the processes: each file is looked
    at once (a page links five of them)."""

    @app.url_defaults
    def _static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_version if current_app.debug else kept_static_version
            found = version(current_app.static_folder, values["filename"])
            if found:
                values["v"] = found


def static_version(folder: str, filename: str) -> str | None:
    """The version of a file of the static folder, None if there is no such file."""
    found = safe_join(folder, filename)
    if not (found and Path(found).is_file()):
        return None
    path = Path(found)
    return static_file_version(path, path.stat().st_mtime_ns)


kept_static_version = lru_cache(maxsize=256)(static_version)


@lru_cache(maxsize=256)
def static_file_version(path: Path, mtime_ns: int) -> str:
    """The first 12 hex digits of the file's SHA-256 (per modification time: edits show)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


class TextWithoutNul(ImmutableMultiDict):
    """Query and form values, and the names of files sent, with their NUL bytes dropped.

    No one types a NUL, no text column takes one (PostgreSQL refuses it), and it
    would break a search or a CSV export: dropped once here, for every view.
    """

    def __init__(self, mapping=None):
        super().__init__(mapping)
        for key, values in list(dict.items(self)):
            if any(isinstance(value, str) and "\x00" in value for value in values):
                cleaned = [v.replace("\x00", "") if isinstance(v, str) else v for v in values]
                dict.__setitem__(self, key, cleaned)
            for upload in values:
                if isinstance(upload, FileStorage) and "\x00" in (upload.filename or ""):
                    upload.filename = upload.filename.replace("\x00", "")


class CleanRequest(Request):
    parameter_storage_class = TextWithoutNul


class IdConverter(IntegerConverter):
    """`<int:…>` in a route: past any id (coop.bounds.MAX_ID), the page does not exist."""

    def __init__(self, map, fixed_digits=0, min=None, max=bounds.MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def _init_input(app: Flask) -> None:
    """What every request may carry, checked once before any view reads it."""
    app.request_class = CleanRequest
    app.url_map.converters["int"] = IdConverter


def _init_database(app: Flask) -> None:
    from coop import mail  # noqa: F401  (registers sending e-mail after each commit)
    from coop.payments import ledger  # noqa: F401  (settles a shop's account on each invoice)
    from coop.suppliers import (
        search,  # noqa: F401  (keeps search texts current on flush)
        versions,  # noqa: F401  (renews the catalogue's version on commit)
    )

    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(ROOT / "migrations"), render_as_batch=True)
    with app.app_context():
        if ext.db.engine.dialect.name == "sqlite":
            _make_sqlite_transactional(ext.db.engine)
        elif ext.db.engine.dialect.name == "postgresql":
            _keep_prepared_statements(ext.db.engine)


# How long a writer waits for another one before SQLite gives up ("database is locked").
SQLITE_BUSY_TIMEOUT_MS = 10_000
# The requests that only read (but a view marked `coop.db.writes`).
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _make_sqlite_transactional(engine) -> None:
    """Let SQLAlchemy, not pysqlite, own transactions and SAVEPOINTs; enforce foreign keys.

    See SQLAlchemy's "Serializable isolation / Savepoints / Transactional DDL"
    recipe for pysqlite: without it, SAVEPOINT and locking misbehave.

    The write-ahead log lets a request commit while a job (a PDF batch) still reads:
    with the default rollback journal, any open reader blocks every commit. A writer
    waits for another writer rather than failing at once. An in-memory database keeps
    its own journal ("memory"), so tests on one still work.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _may_write() else "BEGIN")


class _PostgresConnection(psycopg.Connection):
    """psycopg's connection, but a transaction that only read ends with COMMIT.

    psycopg prepares a statement on the server once a connection has run it 5 times, and
    PostgreSQL then stops planning it again; but psycopg forgets every prepared statement at
    each ROLLBACK (one might name an object the rollback removed). SQLAlchemy ends every
    transaction it does not commit with a ROLLBACK: every page that only reads. So nothing
    stayed prepared, and PostgreSQL planned each query of each page anew, half of its CPU
    on the load bench's pages. Ending a transaction that ran only SELECTs with COMMIT
    instead changes nothing in the database (nothing to keep; its locks are released
    either way) and keeps the statements prepared. Anything else (a write, a SAVEPOINT,
    a SET, a failed statement) still ends with a real ROLLBACK.
    """

    only_read = True  # no statement but SELECTs since the transaction began

    def commit(self) -> None:
        super().commit()
        self.only_read = True

    def rollback(self) -> None:
        if self.only_read and self.info.transaction_status is TransactionStatus.INTRANS:
            super().commit()
        else:
            super().rollback()
        self.only_read = True


def _keep_prepared_statements(engine) -> None:
    """Connections whose prepared statements outlive the transactions that only read."""

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):
        return _PostgresConnection.connect(*cargs, **cparams)

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(_connection, cursor, statement, _parameters, _context, _many):
        if not statement.lstrip()[:7].upper().startswith("SELECT"):
            cursor.connection.only_read = False


def _may_write() -> bool:
    """Whether a transaction beginning now may write: it then takes SQLite's write lock at once.

    In WAL mode a transaction that read cannot write once another connection has committed
    since its read: SQLite refuses at once (SQLITE_BUSY_SNAPSHOT, "database is locked"),
    whatever the busy timeout. A transaction that may write therefore begins IMMEDIATE and
    waits its turn instead: every request but those that only read, and every job and
    command (but inside `coop.db.reading_only`). A job keeps its transactions short, never
    open across a long computation (a solve, a PDF), so that the pages' writes wait at most
    a moment for it.
    """
    if is_reading_only():
        return False
    if not has_request_context():
        return True
    if request.method not in READING_METHODS:
        return True
    return getattr(current_app.view_functions.get(request.endpoint), "writes", False)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, but a background fetch never sends back a session it
    did not change.

    A signed-in session slides (12 hours from the last request): each response sends the
    cookie again. A fetch made by the page itself (htmx: the part suggestions, the needs'
    counters) may answer after a form's redirect, with the cookie as it was before the form:
    the form's message ("Besoin ajouté") was then lost. The pages the person opens still
    slide the session.
    """

    def should_set_cookie(self, app: Flask, session) -> bool:
        if request.headers.get("HX-Request") and not session.modified:
            return False
        return super().should_set_cookie(app, session)


def _init_security(app: Flask) -> None:
    from coop.accounts.auth import user_for_session

    app.session_interface = _SessionInterface()
    ext.csrf.init_app(app)
    ext.login_manager.init_app(app)
    ext.login_manager.user_loader(user_for_session)
    ext.login_manager.login_view = "auth.login"
    ext.login_manager.login_message = None
    app.after_request(_security_headers)


def _security_headers(response):
    if request.endpoint != "static":
        # Pages and documents show one shop's or the coop's data: no copy in a browser's
        # history or a proxy for the next person at a shared computer.
        response.headers["Cache-Control"] = "no-store"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        # Cookies only go over HTTPS (production, config.load): tell browsers to use it only.
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'",
    )
    return response


def _init_i18n(app: Flask) -> None:
    from coop import i18n

    ext.babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.register_filters(app)
    navigation.init_app(app)
    forms.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from coop import health_views as health
    from coop import home, imports
    from coop.accounting import export_views as invoice_exports
    from coop.accounts import identity_views as identity
    from coop.accounts import invitation_views as invitations
    from coop.accounts import views as accounts
    from coop.activity import views as activity
    from coop.invoicing import document_views as invoice_documents
    from coop.invoicing import views as invoicing
    from coop.negotiation import views as negotiation
    from coop.orders.campaigns import shop_needs_views as shop_needs
    from coop.orders.campaigns import views as campaigns
    from coop.orders.costs import views as statements
    from coop.orders.pooling import views as pooling
    from coop.orders.purchasing import dispatch_views as dispatch
    from coop.orders.purchasing import receiving_views as receiving
    from coop.orders.purchasing import views as purchase_orders
    from coop.payments import receivable_views as receivables
    from coop.payments import reminder_views as reminders
    from coop.payments import stripe_views as online_payments
    from coop.payments import views as payments
    from coop.purchases import views as supplier_invoices
    from coop.relocation import agreement_views as agreements
    from coop.relocation import board_views as relocation_board
    from coop.relocation import impact_views as relocation_impact
    from coop.relocation import maker_views as maker_calls
    from coop.relocation import views as manufacturer_calls
    from coop.suppliers import views as catalogue

    app.register_blueprint(health.bp)
    app.register_blueprint(accounts.auth)
    app.register_blueprint(home.bp)
    app.register_blueprint(accounts.shop)
    app.register_blueprint(accounts.members)
    app.register_blueprint(accounts.users)
    app.register_blueprint(invitations.bp)
    app.register_blueprint(identity.bp)
    app.register_blueprint(imports.bp)
    app.register_blueprint(catalogue.bp)
    app.register_blueprint(campaigns.bp)
    app.register_blueprint(shop_needs.bp)
    app.register_blueprint(pooling.bp)
    app.register_blueprint(purchase_orders.bp)
    app.register_blueprint(dispatch.bp)
    app.register_blueprint(receiving.bp)
    app.register_blueprint(statements.bp)
    app.register_blueprint(invoicing.bp)
    app.register_blueprint(receivables.bp)
    app.register_blueprint(invoice_documents.bp)
    app.register_blueprint(invoice_exports.bp)
    app.register_blueprint(payments.bp)
    app.register_blueprint(reminders.bp)
    app.register_blueprint(online_payments.bp)
    app.register_blueprint(supplier_invoices.bp)
    app.register_blueprint(negotiation.bp)
    app.register_blueprint(negotiation.supplier_bp)
    app.register_blueprint(manufacturer_calls.bp)
    app.register_blueprint(maker_calls.bp)
    app.register_blueprint(agreements.bp)
    app.register_blueprint(activity.bp)
    app.register_blueprint(relocation_board.bp)
    app.register_blueprint(relocation_impact.bp)


def _register_cli(app: Flask) -> None:
    from coop import cli

    cli.register(app)
