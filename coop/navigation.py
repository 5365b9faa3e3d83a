"""The main menu, rendered once per roles, page and language rather than on every page.

It names some forty endpoints and translates their labels: a fifth of the CPU of a simple
page when each page built it anew. What it shows depends only on the user's roles, the
current page (marked `aria-current`) and the language, which make the key; the cache is
bounded (cleared when full) and per process.
"""

import threading

from flask import Flask, current_app, get_template_attribute, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

# The roles' values (coop.accounts.models.Role), whose menu comes first.
MENU_ORDER = ("member", "manager", "treasurer", "admin")
_KEPT: dict[tuple, Markup] = {}
_LOCK = threading.Lock()
KEPT = 2048


def main_nav() -> Markup:
    """The signed-in user's main menu on this page."""
    roles = tuple(role for role in MENU_ORDER if current_user.has_role(role))
    key = (roles, request.endpoint or "", str(get_locale()))
    menu = None if current_app.debug else _KEPT.get(key)  # debug: templates reload
    if menu is None:
        menu = get_template_attribute("_nav.html", "main_nav")(roles, key[1])
        with _LOCK:
            if len(_KEPT) >= KEPT:
                _KEPT.clear()
            _KEPT[key] = menu
    return menu


def init_app(app: Flask) -> None:
    app.add_template_global(main_nav)
