"""A unique key two requests race for ends in the form's own error, never in a 500."""

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Index, PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.exc import IntegrityError

from coop.db import Base
from coop.errors import DomainError
from coop.extensions import db

SQLITE_UNIQUE = re.compile(
    r"UNIQUE constraint failed: (?:index '(?P<index>[^']+)'|(?P<columns>.+))"
)


@contextmanager
def refusing_duplicates(**refusals: DomainError) -> Iterator[None]:
    """Write the block's changes in a SAVEPOINT; a duplicate key named in `refusals` is refused.

    Services look a key up before writing it, which gives the common case its precise
    message. Two requests looking at the same moment both find the key free; the second's
    insert then waits for the first's row (PostgreSQL) and fails on the constraint once
    the first commits. This turns that failure into the same DomainError, keyed by the
    constraint's name (`uq_suppliers_code=DomainError(...)`), and undoes only the block:
    the caller's transaction goes on. Any other violation is raised as it was.
    """
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as error:
        refusal = refusals.get(violated_constraint(error) or "")
        if refusal is None:
            raise
        raise refusal from None


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the unique constraint or index `error` is about, on both databases."""
    diag = getattr(error.orig, "diag", None)
    if diag is not None:  # psycopg names it
        return diag.constraint_name
    # SQLite names the columns ("UNIQUE constraint failed: needs.campaign_id, needs.ref").
    match = SQLITE_UNIQUE.match(str(error.orig))
    if match is None:
        return None
    if match["index"]:
        return match["index"]
    qualified = [name.split(".", 1) for name in match["columns"].split(", ")]
    table = Base.metadata.tables.get(qualified[0][0])
    columns = {column for _table, column in qualified}
    for key in [*table.constraints, *table.indexes] if table is not None else []:
        unique = isinstance(key, UniqueConstraint | PrimaryKeyConstraint) or (
            isinstance(key, Index) and key.unique
        )
        if unique and {column.name for column in key.columns} == columns:
            return key.name
    return None
