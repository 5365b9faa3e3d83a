"""Domain errors and the HTTP error pages."""

from dataclasses import dataclass

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError


class ConfigurationError(RuntimeError):
    """The environment does not allow the app to start safely."""


class DomainError(Exception):
    """A use case refused: the message is for the user, in their language."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The object does not exist (or the user may not know it exists)."""


class NotAllowed(DomainError):
    """The user may not do this."""


@dataclass(frozen=True)
class FieldError:
    """One problem in one field of one line of user input."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class InvalidRows(DomainError):
    """Input with one or more bad values; every problem is listed at once."""

    def __init__(self, errors: list[FieldError]):
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


def register_error_pages(app: Flask) -> None:
    """Friendly pages for HTTP errors: never a traceback."""

    def page(code: int):
        def handler(error):
            return render_template(f"errors/{code}.html", error=error), code

        return handler

    for code in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(code, page(code))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/400.html", error=error, csrf=True), 400
