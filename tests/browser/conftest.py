"""Browser tests: Playwright drives Debian's Chromium against a live server.

They run whenever /usr/bin/chromium exists and are skipped, with a clear reason,
when it does not; in CI (CI=true) a missing Chromium is a failure.
"""

import os
import shutil
import threading

import flask_migrate
import pytest
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
    page.set_default_timeout(10_000)
    yield page
    artifacts = os.environ.get("COOP_TEST_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        page.screenshot(path=os.path.join(artifacts, f"{request.node.name}.png"), full_page=True)
    context.close()
