"""Small helpers every blueprint's views share: pagination and form errors."""

from flask import current_app, flash
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from coop.errors import DomainError
from coop.extensions import db


def paginate(stmt: Select, per_page: int | None = None):
    """One page of `stmt`, numbered by the `page` query argument."""
    per_page = per_page or current_app.config["COOP_PAGE_SIZE"]
    return db.paginate(stmt, per_page=per_page, error_out=False)


class ListPagination(Pagination):
    """Flask-SQLAlchemy's pagination over a list already in memory (computed rows)."""

    def _query_items(self) -> list:
        rows = self._query_args["rows"]
        return rows[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["rows"])


def paginate_list(rows: list, per_page: int | None = None) -> ListPagination:
    per_page = per_page or current_app.config["COOP_PAGE_SIZE"]
    return ListPagination(per_page=per_page, error_out=False, rows=rows)


def form_error(form, error: DomainError) -> None:
    """Show a service refusal next to its field, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")
