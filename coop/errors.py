"""Domain errors and the HTTP error pages."""

from dataclasses import dataclass

from flask import Flask, current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, IntegrityError

from coop.extensions import db


class ConfigurationError(RuntimeError):
    """The environment does not allow the app to start safely."""


class DomainError(Exception):
    """A use case refused: the message is for the user, in their language."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def refusals(self) -> list["DomainError"]:
        """What to show, each next to its field: this refusal, or the several it gathers."""
        return [self]


class PageRefusal(DomainError):
    """A refusal answered by a whole error page (a Flask error handler), never next to a form:
    coop.pages.refusal_shown lets it through to its handler."""


class NotFound(DomainError):
    """The object does not exist (or the user may not know it exists)."""


class NotAllowed(PageRefusal):
    """The user may not do this: a 403 page."""


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


ERROR_PAGES = {
    400: (_l("Requête invalide"), _l("La requête n'a pas pu être comprise.")),
    403: (_l("Accès refusé"), _l("Cette page n'est pas accessible avec votre compte.")),
    404: (_l("Page introuvable"), _l("Cette page n'existe pas ou plus.")),
    405: (_l("Action impossible"), _l("Cette action n'est pas possible sur cette page.")),
    409: (
        _l("Enregistrement impossible"),
        _l(
            "Ces données contredisent ce qui est déjà enregistré (un doublon, ou une valeur que "
            "les règles refusent). Rien n'a été enregistré : rechargez la page et recommencez."
        ),
    ),
    413: (_l("Fichier trop volumineux"), _l("Le fichier envoyé dépasse la taille autorisée.")),
    429: (
        _l("Trop de demandes"),
        _l(
            "Vous avez envoyé trop de demandes en peu de temps. Rien n'a été enregistré : "
            "attendez quelques minutes, puis réessayez."
        ),
    ),
    500: (
        _l("Erreur inattendue"),
        _l("Une erreur est survenue de notre côté. Rien n'a été enregistré ; réessayez."),
    ),
}
OUT_OF_BOUNDS_MESSAGE = _l(
    "Une valeur envoyée dépasse ce que l'application accepte (un nombre, une date ou un texte "
    "trop grand). Rien n'a été enregistré : corrigez-la et recommencez."
)
CSRF_MESSAGE = _l(
    "Le formulaire a expiré ou n'a pas été envoyé depuis cette page. "
    "Rechargez la page et recommencez."
)


def register_error_pages(app: Flask) -> None:
    """Friendly pages for HTTP errors: never a traceback."""

    def page(code: int, message=None):
        title, default_message = ERROR_PAGES[code]
        return render_template(
            "errors/error.html", title=title, message=message or default_message
        ), code

    def answer(error, code: int):
        # An error that brings its own answer keeps it (a rate limit's JSON for a machine).
        if getattr(error, "response", None) is not None:
            return error.response
        return page(code)

    for code in ERROR_PAGES:
        app.register_error_handler(code, lambda error, code=code: answer(error, code))

    # A service's "you may not": the 403 page says what was refused.
    @app.errorhandler(NotAllowed)
    def not_allowed(error):
        db.session.rollback()
        return page(403, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return page(400, CSRF_MESSAGE)

    # The forms and the imports bound every value (coop.bounds) and the services check the
    # rules; what still reaches the database's own checks (a column's size or CHECK, a unique
    # key, or a date past the calendar) is refused as bad input, never a 500. Each one is a
    # bound a form lacks: logged, to add it.
    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def out_of_bounds(error):
        db.session.rollback()
        current_app.logger.warning("value out of bounds: %s", error)
        return page(400, OUT_OF_BOUNDS_MESSAGE)

    @app.errorhandler(IntegrityError)
    def conflict(error):
        db.session.rollback()
        current_app.logger.warning("integrity error: %s", error)
        return page(409)
