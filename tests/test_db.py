import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import flask_migrate
import pytest
import sqlalchemy as sa

from coop import create_app
from coop.accounts.models import Member, Role
from coop.db import Money, UnitPrice, UTCDateTime, reading_only
from coop.extensions import db
from coop.invoicing import documents
from coop.invoicing.models import Invoice, InvoiceDocument
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.models import Campaign, CampaignStatus
from coop.orders.pooling import pool_run
from coop.orders.pooling.models import PoolingRun, RunStatus
from coop.orders.purchasing.models import PurchaseOrder
from tests import factories
from tests.conftest import Client, app_config, fresh_database, statements_run
from tests.invoicing import factories as invoice_factories


@pytest.fixture
def scratch(db_session):
    table = sa.Table(
        "scratch_types",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("amount", Money),
        sa.Column("unit_price", UnitPrice),
        sa.Column("at", UTCDateTime),
    )
    table.create(db_session.connection())
    return table


def test_money_and_unit_prices_come_back_exact(scratch):
    db.session.execute(
        scratch.insert().values(id=1, amount=Decimal("1234.565"), unit_price=Decimal("21.90004"))
    )
    row = db.session.execute(sa.select(scratch)).one()
    assert row.amount == Decimal("1234.57")
    assert str(row.amount) == "1234.57"
    assert row.unit_price == Decimal("21.9000")


def test_datetimes_are_stored_in_utc_and_come_back_aware(scratch):
    paris_winter = timezone(timedelta(hours=1))
    db.session.execute(
        scratch.insert().values(id=1, at=datetime(2026, 12, 7, 9, 30, tzinfo=paris_winter))
    )
    row = db.session.execute(sa.select(scratch)).one()
    assert row.at == datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    assert row.at.tzinfo is not None


def test_naive_datetimes_are_refused(scratch):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        db.session.execute(scratch.insert().values(id=1, at=datetime(2026, 12, 7, 9, 30)))  # noqa: DTZ001


@pytest.fixture
def sqlite_app(tmp_path):
    """An app on its own SQLite file whose sessions really commit: two connections at once."""
    with fresh_database("sqlite", tmp_path) as url:
        application = create_app(app_config(url))
        application.test_client_class = Client
        with application.app_context():
            flask_migrate.upgrade()
            yield application
            db.session.remove()
            db.engine.dispose()


def test_a_credit_note_is_issued_while_a_page_reads_invoices_on_sqlite(sqlite_app, monkeypatch):
    monkeypatch.setattr("coop.invoicing.views.run_in_background", lambda job, *args: None)
    invoice = invoice_factories.invoice(factories.member(), factories.campaign())
    client = sqlite_app.test_client()
    client.login_as(factories.user(Role.TREASURER))
    with sqlite_app.test_request_context("/invoices"), db.engine.connect() as page:
        # A page that reads the invoices while the credit note is issued: a read
        # transaction left open does not hold the writer back.
        page.execute(sa.select(Invoice.id)).all()
        response = client.post(
            f"/invoices/{invoice.number}/credit",
            data={"mode": "full", "reason": "Annulée", "confirm": "y"},
        )
        page.rollback()
    assert response.status_code == 302
    assert response.location.endswith("/invoices/AV-2026-000001")


def test_the_pdf_job_stores_every_pdf_when_a_request_commits_while_it_renders_on_sqlite(
    sqlite_app, monkeypatch
):
    shop, campaign = factories.member(), factories.campaign()
    pair = [invoice_factories.invoice(shop, campaign) for _ in range(2)]
    render = documents._factur_x_pdf

    def render_while_a_shop_logs_in(facts, renderer):
        # A request commits while the job renders: SQLite then refuses a write from a
        # transaction that read before that commit, whatever its busy timeout.
        with db.engine.begin() as request:
            request.execute(sa.update(Member).values(phone="04 78 00 00 00"))
        return render(facts, renderer)

    monkeypatch.setattr(documents, "_factur_x_pdf", render_while_a_shop_logs_in)
    assert documents.render_pending_documents() == 2
    stored = db.session.scalars(sa.select(InvoiceDocument.invoice_id)).all()
    assert sorted(stored) == sorted(invoice.id for invoice in pair)


def _first_statement() -> str:
    db.session.remove()
    with statements_run() as seen:
        db.session.execute(sa.select(Invoice.id)).all()
        db.session.rollback()
    return seen[0]


@pytest.mark.parametrize(
    ("path", "method", "begin"),
    [
        ("/invoices", "POST", "BEGIN IMMEDIATE"),
        ("/invoices", "GET", "BEGIN"),
        ("/invoices", "HEAD", "BEGIN"),
        # A GET that writes (it books the entries it exports) is marked as writing.
        ("/exports/fec", "GET", "BEGIN IMMEDIATE"),
        (None, None, "BEGIN IMMEDIATE"),  # a job or a command
    ],
)
def test_a_transaction_that_may_write_takes_sqlites_write_lock_as_it_begins(
    sqlite_app, path, method, begin
):
    if path is None:
        assert _first_statement() == begin
        with reading_only():  # a command that only reads, e.g. `coop pool` without --commit
            assert _first_statement() == "BEGIN"
        return
    with sqlite_app.test_request_context(path, method=method):
        assert _first_statement() == begin


def _set_phone(app, member_id: int, phone: str) -> None:
    with app.app_context():
        db.session.get(Member, member_id).phone = phone
        db.session.commit()
        db.session.remove()


def test_a_request_that_read_writes_though_a_job_commits_meanwhile_on_sqlite(sqlite_app):
    # In WAL mode a transaction that read cannot write once another connection committed
    # since (SQLITE_BUSY_SNAPSHOT: "database is locked" at once, whatever the busy timeout):
    # a logout failed so while the background job stored invoice PDFs. The request now
    # holds the write lock from its first statement, and the job waits its turn.
    shop = factories.member()
    db.session.commit()
    shop_id = shop.id
    db.session.remove()
    with sqlite_app.test_request_context("/account", method="POST"):
        assert db.session.get(Member, shop_id).phone != "04 78 11 11 11"  # reads first
        job = threading.Thread(target=_set_phone, args=(sqlite_app, shop_id, "04 78 22 22 22"))
        job.start()
        job.join(0.5)  # before the change, the job committed here
        db.session.get(Member, shop_id).email = "atelier@example.fr"
        db.session.commit()
        db.session.remove()
    job.join()
    stored = db.session.get(Member, shop_id, populate_existing=True)
    assert (stored.email, stored.phone) == ("atelier@example.fr", "04 78 22 22 22")


def _closed_campaign():
    campaign = factories.campaign()
    tyre = factories.part()
    factories.offer(factories.supplier(), tyre, tiers=((1, "10.00"), (10, "8.00")))
    factories.need(campaign, factories.member(), tyre, quantity=6)
    factories.need(campaign, factories.member(), tyre, quantity=6)
    change_status(campaign, CampaignStatus.CLOSED, at=campaign.opened_at)
    return campaign


def test_coop_pool_without_commit_holds_no_write_lock_while_it_solves_on_sqlite(sqlite_app):
    code = _closed_campaign().code
    db.session.commit()
    db.session.remove()
    with statements_run() as seen:
        result = sqlite_app.test_cli_runner().invoke(args=["pool", code, "--json"])
    assert result.exit_code == 0, result.output
    assert [statement for statement in seen if statement.startswith("BEGIN")] == ["BEGIN"]


def test_coop_pool_commit_lets_the_pages_write_while_it_solves_on_sqlite(sqlite_app, monkeypatch):
    # It read, solved and wrote in one transaction, begun IMMEDIATE: every page that wrote
    # during the solve waited, then failed once the busy timeout passed.
    campaign = _closed_campaign()
    shop_id = factories.member().id
    db.session.commit()
    code = campaign.code
    db.session.remove()
    real_solve = pool_run.solve

    def solve_while_a_shop_writes(*args, **kwargs):
        with db.engine.begin() as page:
            page.exec_driver_sql("PRAGMA busy_timeout = 500")  # fail fast if still locked
            page.execute(sa.update(Member).where(Member.id == shop_id).values(phone="04 78"))
        return real_solve(*args, **kwargs)

    monkeypatch.setattr(pool_run, "solve", solve_while_a_shop_writes)
    with statements_run() as seen:
        result = sqlite_app.test_cli_runner().invoke(args=["pool", code, "--commit"])
    assert result.exit_code == 0, result.output
    begins = [statement for statement in seen if statement.startswith("BEGIN")]
    # The read, the page's write, the run and its orders stored (then the receipt's read).
    assert begins[:3] == ["BEGIN", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]
    assert db.session.get(Member, shop_id).phone == "04 78"
    assert db.session.get(Campaign, campaign.id).status is CampaignStatus.POOLED
    assert db.session.scalar(sa.select(sa.func.count(PurchaseOrder.id))) == 1


def test_coop_pool_commit_refuses_a_plan_the_campaign_was_reopened_under_on_sqlite(
    sqlite_app, monkeypatch
):
    # Solved outside any transaction, the plan may be stale when it is stored: a campaign
    # reopened and closed again meanwhile may have other needs.
    campaign = _closed_campaign()
    db.session.commit()
    code, campaign_id = campaign.code, campaign.id
    db.session.remove()
    real_solve = pool_run.solve

    def solve_while_the_manager_reopens_and_closes(*args, **kwargs):
        with db.engine.begin() as page:
            page.execute(
                sa.update(Campaign)
                .where(Campaign.id == campaign_id)
                .values(closed_at=datetime.now(UTC))
            )
        return real_solve(*args, **kwargs)

    monkeypatch.setattr(pool_run, "solve", solve_while_the_manager_reopens_and_closes)
    result = sqlite_app.test_cli_runner().invoke(args=["pool", code, "--commit"])
    assert result.exit_code != 0
    assert "rouverte pendant le calcul" in result.output
    assert db.session.get(Campaign, campaign_id).status is CampaignStatus.CLOSED
    assert db.session.scalar(sa.select(sa.func.count(PoolingRun.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(PurchaseOrder.id))) == 0


def test_a_short_pooling_run_comes_back_finished_on_sqlite(sqlite_app, monkeypatch):
    # The page waits for its run's thread: were it to hold SQLite's write lock meanwhile,
    # the run could not write its progress, and would fail once the busy timeout passed.
    monkeypatch.setitem(sqlite_app.config, "COOP_JOBS_INLINE", False)
    monkeypatch.setattr("coop.orders.pooling.views.WAIT_SECONDS", 60)
    campaign = _closed_campaign()
    client = sqlite_app.test_client()
    client.login_as(factories.user(Role.MANAGER))
    db.session.commit()
    response = client.post(
        f"/campaigns/{campaign.id}/pooling/runs",
        data={"time_limit": "10"}
        | {f"penalty_{origin}": "0" for origin in ("local", "france", "europe", "asia", "other")},
    )
    assert response.status_code == 302
    run = db.session.scalar(sa.select(PoolingRun))
    assert (run.status, run.error) == (RunStatus.DONE, None)


# --- PostgreSQL: prepared statements outlive the transactions that only read --------------

PREPARED = sa.text("SELECT count(*) FROM pg_prepared_statements")
PLANS = sa.text("SELECT sum(generic_plans + custom_plans) FROM pg_prepared_statements")


def _read_in_turn(connection, times: int) -> None:
    """What a page does: a transaction that reads, ended by SQLAlchemy's ROLLBACK."""
    for _ in range(times):
        connection.execute(sa.select(Member.id).where(Member.code == "ATL01")).all()
        connection.rollback()


def test_pages_that_only_read_keep_their_statements_prepared_on_postgresql(committing_app):
    # psycopg prepares a statement run 5 times on a connection, but forgot them all at each
    # ROLLBACK: nothing stayed prepared, and PostgreSQL planned every query of every page.
    with committing_app.app_context(), db.engine.connect() as connection:
        _read_in_turn(connection, 6)
        assert connection.execute(PREPARED).scalar() == 1
        plans = connection.execute(PLANS).scalar()
        connection.rollback()
        _read_in_turn(connection, 3)  # run as prepared, not prepared anew
        assert connection.execute(PREPARED).scalar() == 1
        assert connection.execute(PLANS).scalar() == plans + 3


def test_a_transaction_that_wrote_still_rolls_back_on_postgresql(committing_app):
    with committing_app.app_context(), db.engine.connect() as connection:
        _read_in_turn(connection, 6)
        connection.execute(sa.insert(Member).values(code="ATL99", name="Atelier", is_active=True))
        connection.rollback()
        assert connection.execute(sa.select(sa.func.count(Member.id))).scalar() == 0
        # A setting changed by a transaction rolled back is undone with it.
        connection.exec_driver_sql("SET statement_timeout = 1234")
        connection.rollback()
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
        # A transaction a failed statement aborted rolls back, and the connection goes on.
        with pytest.raises(sa.exc.ProgrammingError):
            connection.exec_driver_sql("SELECT * FROM no_such_table")
        connection.rollback()
        assert connection.execute(sa.select(sa.func.count(Member.id))).scalar() == 0


def test_a_transaction_that_only_read_releases_its_row_locks_on_postgresql(committing_app):
    with committing_app.app_context():
        db.session.add(Member(code="ATL01", name="Atelier", is_active=True))
        db.session.commit()
        with db.engine.connect() as first, db.engine.connect() as second:
            first.execute(sa.select(Member.id).with_for_update()).all()
            first.rollback()  # ends as a COMMIT: the lock goes either way
            second.exec_driver_sql("SET lock_timeout = '2s'")
            second.execute(sa.update(Member).values(name="Atelier du Rhône"))
            second.commit()
        assert db.session.scalar(sa.select(Member.name)) == "Atelier du Rhône"
