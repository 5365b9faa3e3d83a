"""Small helpers every blueprint's views share: the query string, pagination, form errors and
service refusals, safe redirects, parts of pages rendered once."""

import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Response, current_app, flash, request
from flask_sqlalchemy.pagination import Pagination, SelectPagination
from markupsafe import Markup
from sqlalchemy import Select

from coop import bounds
from coop.csv_export import french_csv
from coop.errors import DomainError, FieldError, InvalidRows, PageRefusal
from coop.extensions import db
from coop.i18n import current_locale


def page_arg() -> int:
    """The `page` query argument, from 1 to bounds.MAX_PAGE: past the last page is an empty one."""
    page = request.args.get("page", 1, type=int)
    return min(max(page, 1), bounds.MAX_PAGE)


def is_id(text: str | None) -> bool:
    """Whether `text` could be an id: ASCII digits, from 1 to bounds.MAX_ID."""
    return bool(text) and text.isascii() and text.isdigit() and 1 <= int(text) <= bounds.MAX_ID


def _as_id(text: str) -> int:
    if not is_id(text):
        raise ValueError("not an id")
    return int(text)


def id_arg(name: str, values=None) -> int | None:
    """An id from the query string (or `values`, e.g. request.form); None unless one could be."""
    return (request.args if values is None else values).get(name, type=_as_id)


def id_list(name: str, values=None) -> list[int]:
    """Every id under `name`; what could be no id is left out."""
    return (request.args if values is None else values).getlist(name, type=_as_id)


def search_arg(name: str = "q") -> str:
    """What was typed in a list's search box, stripped and cut to bounds.MAX_SEARCH characters."""
    return request.args.get(name, "").strip()[: bounds.MAX_SEARCH].strip()


def csv_download(filename: str, rows: Iterable[Sequence]) -> Response:
    """`rows` as a French spreadsheet file (coop.csv_export) the browser saves as `filename`."""
    return file_download(filename, french_csv(rows).encode("utf-8"), "text/csv")


def file_download(filename: str, content: bytes, mimetype: str) -> Response:
    """`content` as a file the browser saves as `filename` (a safe name), never shows inline."""
    return Response(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class _SelectPage(SelectPagination):
    """Flask-SQLAlchemy's page of a select, counted without a query when the page says it.

    A page with room left over is the last one: what came before it and what it holds is
    the total. Most lists fit on their first page (a shop's needs, a campaign's orders), and
    their count was a second query of every such page.
    """

    def _query_count(self) -> int:
        if len(self.items) < self.per_page and (self.items or self.page == 1):
            return self._query_offset + len(self.items)
        return super()._query_count()


def paginate(stmt: Select, per_page: int | None = None) -> Pagination:
    """One page of `stmt`, numbered by the `page` query argument.

    `stmt` gives one row per item: filter on a one-to-many with EXISTS, never a join (its
    LIMIT would count repeated rows, and a short page would end the list).
    """
    per_page = per_page or current_app.config["COOP_PAGE_SIZE"]
    return _SelectPage(
        select=stmt,
        session=db.session(),
        page=page_arg(),
        per_page=per_page,
        max_per_page=None,
        error_out=False,
    )


class ListPagination(Pagination):
    """Flask-SQLAlchemy's pagination over a list already in memory (computed rows)."""

    def _query_items(self) -> list:
        rows = self._query_args["rows"]
        return rows[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["rows"])


def paginate_list(rows: list, per_page: int | None = None) -> ListPagination:
    per_page = per_page or current_app.config["COOP_PAGE_SIZE"]
    return ListPagination(page=page_arg(), per_page=per_page, error_out=False, rows=rows)


def form_error(form, error: DomainError, default_field: str | None = None) -> None:
    """Show a service refusal next to its field (else `default_field`), or at the top of the
    form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is None and default_field:
        field = getattr(form, default_field)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


@dataclass
class Outcome:
    """What became of the work in a `refusal_shown` block."""

    error: DomainError | None = None
    # The bad lines of a refused file (InvalidRows), for the page's table of problems.
    rows: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


@contextmanager
def refusal_shown(
    form=None,
    *,
    default_field: str | None = None,
    show: Callable[[DomainError], None] | None = None,
) -> Iterator[Outcome]:
    """Run a use case; on a DomainError, roll the transaction back and show the refusal.

        with refusal_shown(form) as outcome:
            member = members.create_member(**values)
        if outcome.ok:
            submissions.commit(form, result)  # the caller commits, as ever
            ...

    The refusal goes next to its form field (`default_field` when it names none the form has),
    at the top of the page as a flash without a form, or to `show` when given; a refusal that
    gathers several (InvalidIdentity) shows each. A refused file's bad lines (InvalidRows) are
    left in `outcome.rows` for the page's table. A PageRefusal (NotAllowed, an expired link)
    passes through to its error page. The rollback comes first, always: nothing the use case
    flushed before refusing (nor the form's claimed token) may be committed later.
    """
    outcome = Outcome()
    try:
        yield outcome
    except PageRefusal:
        db.session.rollback()
        raise
    except DomainError as error:
        db.session.rollback()
        outcome.error = error
        if isinstance(error, InvalidRows):
            outcome.rows = error.errors
        elif show is not None:
            show(error)
        elif form is not None:
            for refusal in error.refusals:
                form_error(form, refusal, default_field)
        else:
            flash(error.message, "error")


def safe_next(target: str | None, fallback: str) -> str:
    """`target` as a path if it is a page of this site (a `next` argument, a Referer), else
    `fallback`: never a redirect to another site.

    Browsers read `//host`, `/\\host` and paths with tabs or line breaks in them (which they
    drop) as another site's address, so anything but a plain path starting with one `/` is
    refused. A full address on this very host (a Referer) is cut down to its path.
    """
    if not target or "\\" in target or any(c.isspace() or not c.isprintable() for c in target):
        return fallback
    parts = urlsplit(target)
    is_address = parts.scheme or parts.netloc or target.startswith("//")
    on_this_host = parts.scheme in ("http", "https") and parts.netloc == request.host
    if is_address and not on_this_host:
        return fallback
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return fallback
    return parts.path + (f"?{parts.query}" if parts.query else "")


class RenderedOnce:
    """Parts of pages rendered once per key and language: the key holds everything the part
    shows, so anything changed is another key.

    For the parts every page or every row repeats (the menu, a form's blank fields, a need's
    row): Jinja costs tens of microseconds an element, and the pages shops open most repeat
    the same ones all day. Per process, shared by its threads, bounded (cleared when full);
    in debug (`coop run`) rendered each time, as templates reload.
    """

    def __init__(self, size: int):
        self.size = size
        self._kept: dict[Hashable, Markup] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, render: Callable[[], Markup]) -> Markup:
        if current_app.debug:
            return render()
        key = (str(current_locale()), key)
        found = self._kept.get(key)
        if found is None:
            found = render()
            with self._lock:
                if len(self._kept) >= self.size:
                    self._kept.clear()
                self._kept[key] = found
        return found
