from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from coop.db import Money, UnitPrice, UTCDateTime
from coop.extensions import db


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
