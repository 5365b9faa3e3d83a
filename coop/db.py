"""Declarative base, naming convention and the column types every domain uses."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import DateTime, Enum, MetaData, Numeric
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from coop.money import CENT, RATE, UNIT_PRICE, quantize

# Stable constraint names, so migrations can alter and drop them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def writes(view):
    """Mark a GET view that writes (the FEC export books its entries): on SQLite its
    transactions take the write lock as they begin, as a POST's do (coop._may_write)."""
    view.writes = True
    return view


_READING_ONLY: ContextVar[bool] = ContextVar("coop.db.reading_only", default=False)


@contextmanager
def reading_only() -> Iterator[None]:
    """Transactions begun inside only read: on SQLite they take no write lock
    (coop._may_write), so that a long read outside a request (`coop pool` solving a
    campaign) holds no page's write back."""
    token = _READING_ONLY.set(True)
    try:
        yield
    finally:
        _READING_ONLY.reset(token)


def is_reading_only() -> bool:
    return _READING_ONLY.get()


def dialect_insert(bind):
    """The INSERT that knows ON CONFLICT (upserts), for the database behind an engine or a
    connection: PostgreSQL's, or SQLite's (the two backends coop runs on)."""
    return postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime, whatever the backend stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (coop.clock.now())")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite keeps no offset; we only ever store UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _Quantized(TypeDecorator):
    impl = Numeric
    cache_ok = True
    exponent: Decimal

    def process_bind_param(self, value: Decimal | None, dialect):
        if value is None:
            return None
        return quantize(value, self.exponent)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        # A NUMERIC(p, s) value comes back as a Decimal at scale s on both backends
        # (PostgreSQL natively, SQLAlchemy's processor on SQLite): nothing to do.
        # Checking or re-quantizing each one cost tens of ms on the demand view.
        if isinstance(value, Decimal):
            return value
        return quantize(Decimal(str(value)), self.exponent)


class Money(_Quantized):
    """An amount in euros, to the cent."""

    impl = Numeric(12, 2)
    exponent = CENT
    cache_ok = True  # SQLAlchemy reads it per class, not from the base


class UnitPrice(_Quantized):
    """A unit price in euros, to 1/100 of a cent (spec/pooling.md)."""

    impl = Numeric(12, 4)
    exponent = UNIT_PRICE
    cache_ok = True


class Rate(_Quantized):
    """A fraction such as a VAT rate (0.2000) or a fee rate, to 4 decimals."""

    impl = Numeric(6, 4)
    exponent = RATE
    cache_ok = True


def checked_enum(enum: type[StrEnum]) -> Enum:
    """A status column: the enum's values as text, with a CHECK constraint on both databases."""
    return Enum(
        enum,
        name=enum.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )
