"""The main menu, rendered once per roles, page and language rather than on every page.

It names some forty endpoints and translates their labels: a fifth of the CPU of a simple
page when each page built it anew. What it shows depends only on the user's roles, the
current page (marked `aria-current`) and the language: that is the key.
"""

from flask import Flask, get_template_attribute, request
from flask_login import current_user
from markupsafe import Markup

from coop.pages import RenderedOnce

# The roles' values (coop.accounts.models.Role), whose menu comes first.
MENU_ORDER = ("member", "manager", "treasurer", "admin")
_MENUS = RenderedOnce(2048)


def main_nav() -> Markup:
    """The signed-in user's main menu on this page."""
    roles = tuple(role for role in MENU_ORDER if current_user.has_role(role))
    here = request.endpoint or ""
    return _MENUS.get(
        (roles, here),
        lambda: get_template_attribute("_nav.html", "main_nav")(roles, here),
    )


def init_app(app: Flask) -> None:
    app.add_template_global(main_nav)
