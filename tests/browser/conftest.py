"""Browser tests: Playwright drives Debian's Chromium against a live server.

They run whenever /usr/bin/chromium exists and are skipped, with a clear reason,
when it does not; in CI (CI=true) a missing Chromium is a failure.

Every page of the app a browser test shows is checked by axe-core (the script that
axe-playwright-python ships: nothing is downloaded): a serious or critical violation, or
one of the rules named below, fails the test, listed with its rule, its element and the page.
"""

import json
import os
import shutil
import threading

import flask_migrate
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

from coop import create_app
from coop.extensions import db
from tests.conftest import app_config, fresh_database

CHROMIUM = os.environ.get("COOP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# axe-core's impacts that fail a test; "moderate" and "minor" ones are advice, but for the
# rules on landmarks, the skip link and table headers, which issue 15 asks for by name.
FAILING_IMPACTS = ["serious", "critical"]
FAILING_RULES = [
    "empty-table-header",
    "landmark-no-duplicate-banner",
    "landmark-no-duplicate-contentinfo",
    "landmark-one-main",
    "landmark-unique",
    "region",
    "skip-link",
]
# Longest wait for axe to read a page (well under a second on a quiet machine, several on
# a loaded one running two test workers): below an action's timeout (30 s, `page` below),
# since a click that navigates waits for it, so that a page axe could not read is reported
# as such.
AXE_WAIT_MS = 20_000
# Longest wait for a document the test leaves before it is parsed: the browser stops
# parsing a document when a navigation away from it begins, so it may never be.
PARSE_WAIT_MS = 1_000

# Runs in each document as it starts: once the app's page is parsed (its stylesheets
# applied and its deferred scripts run), axe reads it and hands back the violations that
# fail a test. The document announces itself first, then that it is parsed, so that
# Python knows a report is due before the browser may leave it.
AUDIT_SCRIPT = """
if (window === window.top && location.origin === %(origin)s) {
  const doc = crypto.randomUUID();
  window.__axeBegin(doc);
  %(axe)s
  window.addEventListener("DOMContentLoaded", () => {
    window.__axeParsed(doc);
    axe.run(document, {resultTypes: ["violations"]}).then(
      (results) => window.__axeReport(doc, location.href, results.violations
        .filter((rule) => %(impacts)s.includes(rule.impact) || %(rules)s.includes(rule.id))
        .flatMap((rule) => rule.nodes.map((node) =>
          `${rule.id} (${rule.impact}) at ${node.target.join(" ")}: ${rule.help}`))),
      (error) => window.__axeReport(doc, location.href, [`axe-core failed: ${error}`]));
  });
}
"""


class AccessibilityAudit:
    """axe-core on every page of the app the test's browser shows.

    A page is read once parsed, in the page itself; a navigation away from it waits
    in the route below until its report is in, so that no page escapes the check
    however fast the test moves on. One escapes all the same: a page the test leaves
    before the browser has parsed it, since the browser then stops parsing it (seen
    on a loaded machine); the same pages are read unhurried elsewhere in the suite.
    """

    def __init__(self, context, base_url: str):
        self.violations: list[str] = []
        self.reading = {}  # page -> [the document whose report is due, whether it is parsed]
        context.expose_binding("__axeBegin", self._begun)
        context.expose_binding("__axeParsed", self._parsed)
        context.expose_binding("__axeReport", self._reported)
        context.add_init_script(
            AUDIT_SCRIPT
            % {
                "origin": json.dumps(base_url),
                "impacts": json.dumps(FAILING_IMPACTS),
                "rules": json.dumps(FAILING_RULES),
                "axe": Axe().axe_script,
            }
        )
        context.route(lambda url: url.startswith(base_url), self._leaving)

    def _begun(self, source, doc: str) -> None:
        # A document replaced before it was parsed (two navigations racing) is gone unread.
        self.reading[source["page"]] = [doc, False]

    def _parsed(self, source, doc: str) -> None:
        due = self.reading.get(source["page"])
        if due is not None and due[0] == doc:
            due[1] = True

    def _reported(self, source, doc: str, url: str, violations: list[str]) -> None:
        due = self.reading.get(source["page"])
        if due is not None and due[0] == doc:
            del self.reading[source["page"]]
        self.violations.extend(f"{url}: {violation}" for violation in violations)

    def _leaving(self, route) -> None:
        if route.request.is_navigation_request():
            try:
                self.wait(route.request.frame.page)
            except PlaywrightError:  # the page was closed meanwhile
                return
        route.fallback()

    def wait(self, page) -> None:
        """Until the page's document has been read (or is found never to be parsed)."""
        waited = 0
        while page in self.reading and waited < AXE_WAIT_MS:
            if not self.reading[page][1] and waited >= PARSE_WAIT_MS:
                del self.reading[page]  # left before it was parsed: it never will be
                return
            page.wait_for_timeout(25)
            waited += 25
        if page in self.reading:
            del self.reading[page]
            self.violations.append(f"{page.url}: axe-core did not finish reading the page")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    audit = getattr(item, "accessibility_audit", None)
    if audit is not None:
        for page in list(audit.reading):
            audit.wait(page)
        if audit.violations:
            listed = "\n".join(audit.violations)
            pytest.fail(f"axe-core found accessibility violations:\n{listed}", pytrace=False)
    return result


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = (
            f"Chromium not found at {CHROMIUM}: browser tests skipped (apt-get install chromium)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def closing_early(app):
    """Read each response whole and close it before the server writes it.

    Werkzeug's development server closes a response only after draining the
    socket, and skips the close when the browser resets the connection while it
    drains (a page closed with its favicon in flight): the static file's handle
    then leaks and pytest reports it. Test infrastructure only.
    """

    def wsgi(environ, start_response):
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return wsgi


@pytest.fixture
def live_app(backend, tmp_path):
    """An app on its own empty database, committing for real, served on loopback."""
    with fresh_database(backend, tmp_path) as url:
        application = create_app(app_config(url, WTF_CSRF_ENABLED=True, COOP_JOBS_INLINE=False))
        with application.app_context():
            flask_migrate.upgrade()
        server = make_server("127.0.0.1", 0, closing_early(application), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        application.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
        try:
            yield application
        finally:
            server.shutdown()
            thread.join(timeout=5)
            with application.app_context():
                db.session.remove()
                db.engine.dispose()


@pytest.fixture
def page(browser, live_app, request):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    request.node.accessibility_audit = AccessibilityAudit(context, live_app.config["LIVE_URL"])
    yield page
    artifacts = os.environ.get("COOP_TEST_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        page.screenshot(path=os.path.join(artifacts, f"{request.node.name}.png"), full_page=True)
    context.close()
