"""Gapless document numbers from a locked counter per series (purchase orders, invoices).

The counter row is updated in the caller's transaction: the number is taken only
if the document is committed, and two transactions wanting a number of the same
series wait for each other instead of colliding (PostgreSQL row lock; SQLite
serialises writers).
"""

from sqlalchemy import String, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from coop.db import Base
from coop.extensions import db


class Counter(Base):
    __tablename__ = "counters"

    series: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def next_value(series: str) -> int:
    """The next number of `series`, starting at 1."""
    while True:
        value = db.session.execute(
            update(Counter)
            .where(Counter.series == series)
            .values(value=Counter.value + 1)
            .returning(Counter.value)
        ).scalar_one_or_none()
        if value is not None:
            return value
        try:
            # The series' first number: another transaction may be creating it too.
            with db.session.begin_nested():
                db.session.add(Counter(series=series, value=1))
            return 1
        except IntegrityError:
            continue
