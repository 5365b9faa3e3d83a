"""Small helpers every blueprint's views share: pagination and form errors."""

from flask import current_app, flash
from sqlalchemy import Select

from coop.errors import DomainError
from coop.extensions import db


def paginate(stmt: Select):
    """One page of `stmt`, numbered by the `page` query argument."""
    return db.paginate(stmt, per_page=current_app.config["COOP_PAGE_SIZE"], error_out=False)


def form_error(form, error: DomainError) -> None:
    """Show a service refusal next to its field, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")
