from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import flask_migrate
import pytest
import sqlalchemy as sa

from coop import create_app
from coop.accounts.models import Member, Role
from coop.db import Money, UnitPrice, UTCDateTime
from coop.extensions import db
from coop.invoicing import documents
from coop.invoicing.models import Invoice, InvoiceDocument
from tests import factories
from tests.conftest import Client, app_config, fresh_database
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


def test_a_credit_note_is_issued_while_a_job_reads_invoices_on_sqlite(sqlite_app, monkeypatch):
    monkeypatch.setattr("coop.invoicing.views.run_in_background", lambda job, *args: None)
    invoice = invoice_factories.invoice(factories.member(), factories.campaign())
    client = sqlite_app.test_client()
    client.login_as(factories.user(Role.TREASURER))
    with db.engine.connect() as job:
        # The PDF job between two invoices of its batch: a read transaction left open.
        job.execute(sa.select(Invoice.id)).all()
        response = client.post(
            f"/invoices/{invoice.number}/credit",
            data={"mode": "full", "reason": "Annulée", "confirm": "y"},
        )
        job.rollback()
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
