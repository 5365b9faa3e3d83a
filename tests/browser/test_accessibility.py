"""Each role's pages pass axe-core, and the app is used with the keyboard alone (issue 15).

axe-core itself runs on every page a browser test shows (tests/browser/conftest.py): here
each role opens one page of every kind it reaches by its links, on a world where every
kind of page has something to show, so that none escapes the check.
"""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from werkzeug.exceptions import HTTPException

from coop.accounts.models import Role
from coop.extensions import db
from tests import factories
from tests.test_fuzz import every_state

pytestmark = pytest.mark.browser

# Links that end the session, switch the language, or are files rather than pages.
NOT_PAGES = ("/logout", "/language", "/static/", "/stripe/")
FILES = (".pdf", ".csv", ".zip", "/fec", ".xml")


@pytest.fixture
def world(live_app):
    """The fuzz test's world (every state a page shows in), and one account per role."""
    with live_app.app_context():
        ids, users = every_state(factories)
        accounts = {"member": users["member"].email}
        for role in (Role.MANAGER, Role.TREASURER, Role.ADMIN):
            accounts[role.value] = factories.user(role).email
        db.session.commit()
        return ids, accounts


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Déconnexion")).to_be_visible()


def endpoint_of(app, path: str) -> str | None:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return None
    return endpoint


def visit_one_page_of_each_kind(page, app, start: str) -> list[str]:
    """From `start`, follow links to one page per endpoint; the endpoints opened."""
    base = app.config["LIVE_URL"]
    queue, opened = [start], {}
    while queue:
        path = queue.pop(0)
        endpoint = endpoint_of(app, urlsplit(path).path)
        if endpoint is None or endpoint in opened:
            continue
        response = page.goto(base + path)
        opened[endpoint] = response.status
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            if not href.startswith(base):
                continue
            link = href[len(base) :].split("#")[0]
            if link.startswith(NOT_PAGES) or urlsplit(link).path.endswith(FILES):
                continue
            queue.append(link)
    assert [e for e, status in opened.items() if status >= 400] == []
    return sorted(opened)


@pytest.mark.parametrize("role", ["member", "manager", "treasurer", "admin"])
def test_every_kind_of_page_a_role_reaches_passes_axe(page, live_app, world, role):
    _, accounts = world
    log_in(page, live_app.config["LIVE_URL"], accounts[role])
    opened = visit_one_page_of_each_kind(page, live_app, "/")
    assert len(opened) > 5  # it did reach the role's pages


def test_the_pages_behind_emailed_links_pass_axe(page, live_app, world):
    ids, _ = world
    base = live_app.config["LIVE_URL"]
    for path in (
        "/login",
        "/password/forgot",
        f"/invitation/{ids['invite_token'][0]}",
        f"/password/reset/{ids['reset_token'][0]}",
        f"/q/{ids['token'][0]}",
    ):
        assert page.goto(base + path).status == 200


def test_the_audit_reports_a_page_with_an_unlabelled_field(page, live_app, request):
    base = live_app.config["LIVE_URL"]
    broken = '<!doctype html><html lang="fr"><title>x</title><main><input id="q"></main></html>'
    page.route(f"{base}/broken", lambda route: route.fulfill(content_type="text/html", body=broken))
    audit = request.node.accessibility_audit
    page.goto(f"{base}/broken")
    audit.wait(page)
    assert audit.violations == [
        f"{base}/broken: label (critical) at #q: Form elements must have labels"
    ]
    audit.violations.clear()  # seen: the test's end has nothing left to fail on
