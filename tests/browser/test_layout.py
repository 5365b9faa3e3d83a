"""Every page a shop uses fits a phone, staff menus fit one desktop line, statements print.

The site is the demo (coop.demo), loaded once for the module; each role logs in once per width.
A failing test leaves a screenshot of the page in test-artifacts/.
"""

import contextlib
import os
import re
import threading

import flask_migrate
import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from coop import create_app, demo
from coop.accounts.models import Member
from coop.clock import now
from coop.extensions import db
from coop.invoicing.documents import render_pending_documents
from coop.invoicing.models import Invoice
from coop.orders.campaigns.models import Campaign
from coop.orders.campaigns.needs import NeedTerms, post_need
from coop.suppliers.models import Part
from tests.browser.conftest import closing_early
from tests.conftest import app_config, fresh_database

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}
WIDTHS = [pytest.param(PHONE, id="390"), pytest.param(DESKTOP, id="1366")]
SHOP = "atelier@atelier-velo-croix-rousse.example"
STAFF = {
    "manager": "gerance@coop-velo-lyon.example",
    "treasurer": "tresorerie@coop-velo-lyon.example",
    "admin": "admin@coop-velo-lyon.example",
    "manager+treasurer": "bureau@coop-velo-lyon.example",
}
ARTIFACTS = "test-artifacts"

# (page, path with {ids}, the key figures that must be on screen)
SHOP_PAGES = [
    ("home", "/", "#money .stat"),
    ("needs", "/campaigns/{open}/needs", '#needs-table td[data-label="Votre quantité"]'),
    ("catalogue", "/parts/", "main table tbody tr:first-child td:first-child a"),
    ("part", "/parts/{part}", 'main table td[data-label="Paliers (prix unitaire HT)"]'),
    ("statement", "/campaigns/{invoiced}/statement", "#statement tfoot tr:last-child td.num"),
    ("invoices", "/invoices", '#invoices tfoot td[data-label="Reste dû"]'),
    ("invoice-status", "/invoices", '#invoices tbody td[data-label="État"] .badge'),
    ("invoice", "/invoices/{invoice}", "#lines tfoot tr:last-child td.num"),
    ("pay", "/payments/pay", "#payable tfoot td.num"),
    ("account", "/payments/accounts/{member}", '#invoices tfoot td[data-label="Reste dû"]'),
    ("my-campaigns", "/my/campaigns", '#campaigns td[data-label="Dépense HT"]'),
    ("my-shop", "/shop", "main h1"),
]


@pytest.fixture(scope="module")
def demo_site(backend, tmp_path_factory):
    """The demo served on loopback, with one need of the first demo shop in the open campaign."""
    with fresh_database(backend, tmp_path_factory.mktemp("layout")) as url:
        application = create_app(app_config(url, WTF_CSRF_ENABLED=True, COOP_JOBS_INLINE=False))
        with application.app_context():
            flask_migrate.upgrade()
            demo.seed()
            render_pending_documents()  # as `make run` does beside the server
            shop = db.session.scalar(select(Member).where(Member.code == "ROUSSE01"))
            open_campaign = db.session.scalar(select(Campaign).where(Campaign.status == "open"))
            invoiced = db.session.scalar(select(Campaign).where(Campaign.status == "invoiced"))
            part = db.session.scalar(select(Part).order_by(Part.sku))
            invoice = db.session.scalar(select(Invoice).where(Invoice.member_id == shop.id))
            post_need(open_campaign, shop, part, NeedTerms(quantity=4, tolerance=2), at=now())
            db.session.commit()
            ids = {
                "open": open_campaign.id,
                "invoiced": invoiced.id,
                "part": part.id,
                "member": shop.id,
                "invoice": invoice.number,
            }
        server = make_server("127.0.0.1", 0, closing_early(application), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", ids
        finally:
            server.shutdown()
            thread.join(timeout=5)
            with application.app_context():
                db.session.remove()
                db.engine.dispose()


@pytest.fixture(scope="module")
def signed_in(browser, demo_site):
    """signed_in(email, viewport): a page logged in as that user at that size, made once."""
    base, _ids = demo_site
    contexts, pages = [], {}

    def page_for(email, viewport):
        key = (email, viewport["width"])
        if key not in pages:
            context = browser.new_context(locale="fr-FR", viewport=viewport)
            contexts.append(context)
            page = context.new_page()
            page.set_default_timeout(10_000)
            page.goto(f"{base}/login")
            page.get_by_label("Adresse e-mail").fill(email)
            page.get_by_label("Mot de passe").fill(demo.DEMO_PASSWORD)
            page.get_by_role("button", name="Se connecter").click()
            expect(page.locator(".topbar .usermenu")).to_be_attached()
            pages[key] = page
        return pages[key]

    yield page_for
    for context in contexts:
        context.close()


@contextlib.contextmanager
def kept_on_failure(page, request):
    """Leave a full-page screenshot in test-artifacts/ when the block fails."""
    try:
        yield
    except BaseException:
        os.makedirs(ARTIFACTS, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=os.path.join(ARTIFACTS, f"{name}.png"), full_page=True)
        raise


def page_width(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def within_screen(locator) -> bool:
    """The element lies inside the viewport's width (not cut off, not in a sideways scroll)."""
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; }"
    )


SMALL_TARGETS = """() => [...document.querySelectorAll(
    'main .btn, main select, main input:not([type=hidden]):not([type=checkbox]):not([type=radio]),'
    + ' .navtoggle, .mainnav a, .mainnav summary, .pagination a')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .filter(e => e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80))"""


@pytest.mark.parametrize("viewport", WIDTHS)
@pytest.mark.parametrize(("name", "path", "key"), SHOP_PAGES, ids=[p[0] for p in SHOP_PAGES])
def test_every_shop_page_fits_the_screen_with_its_key_figures_on_it(
    signed_in, demo_site, request, viewport, name, path, key
):
    base, ids = demo_site
    page = signed_in(SHOP, viewport)
    page.goto(base + path.format(**ids))
    with kept_on_failure(page, request):
        scroll_width, inner_width = page_width(page)
        assert scroll_width <= inner_width
        figure = page.locator(key).first
        expect(figure).to_be_visible()
        assert within_screen(figure)
        if viewport is PHONE:
            assert page.evaluate(SMALL_TARGETS) == []


def test_the_phone_menu_opens_from_its_button_and_leads_to_a_page(signed_in, demo_site, request):
    base, _ids = demo_site
    page = signed_in(SHOP, PHONE)
    page.goto(f"{base}/")
    toggle = page.get_by_role("button", name="Menu")
    with kept_on_failure(page, request):
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(page.get_by_role("link", name="Mes factures")).to_be_hidden()
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        page.get_by_role("link", name="Mes factures").click()
        expect(page.get_by_role("heading", name="Mes factures")).to_be_visible()
        expect(page.get_by_role("link", name="Mes factures")).to_be_hidden()


def test_without_javascript_the_phone_menu_stays_open(browser, demo_site, request):
    base, _ids = demo_site
    context = browser.new_context(locale="fr-FR", viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{base}/login")
        page.get_by_label("Adresse e-mail").fill(SHOP)
        page.get_by_label("Mot de passe").fill(demo.DEMO_PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        with kept_on_failure(page, request):
            expect(page.get_by_role("button", name="Menu")).to_be_hidden()
            expect(page.get_by_role("link", name="Mes factures")).to_be_visible()
            assert page_width(page)[0] <= PHONE["width"]
    finally:
        context.close()


def test_the_desktop_shows_the_shop_menu_without_a_button(signed_in, demo_site, request):
    base, _ids = demo_site
    page = signed_in(SHOP, DESKTOP)
    page.goto(f"{base}/")
    with kept_on_failure(page, request):
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        expect(page.get_by_role("link", name="Mes factures")).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["1366", "768"])
@pytest.mark.parametrize("role", list(STAFF))
def test_each_staff_menu_fits_one_line_on_a_desktop_or_a_tablet(
    signed_in, demo_site, request, role, viewport
):
    base, _ids = demo_site
    page = signed_in(STAFF[role], viewport)
    page.goto(f"{base}/")
    with kept_on_failure(page, request):
        tops = page.evaluate(
            "[...document.querySelectorAll('.mainnav > a, .mainnav > details > summary')]"
            ".map(e => Math.round(e.getBoundingClientRect().top))"
        )
        assert len(tops) >= 3
        assert len(set(tops)) == 1
        assert page_width(page)[0] <= viewport["width"]


def test_a_manager_reaches_the_orders_through_the_purchasing_menu(signed_in, demo_site, request):
    base, _ids = demo_site
    page = signed_in(STAFF["manager"], DESKTOP)
    page.goto(f"{base}/")
    with kept_on_failure(page, request):
        expect(page.get_by_role("link", name="Commandes")).to_be_hidden()
        page.locator(".mainnav summary", has_text="Achats").click()
        page.get_by_role("link", name="Commandes").click()
        expect(page).to_have_url(re.compile(r"/purchase-orders$"))
        expect(page.locator(".mainnav summary", has_text="Achats")).to_have_class("here")


def test_someone_with_two_roles_finds_each_entry_of_both_menus_once(signed_in, demo_site, request):
    base, _ids = demo_site
    page = signed_in(STAFF["manager+treasurer"], DESKTOP)
    page.goto(f"{base}/")
    with kept_on_failure(page, request):
        labels = page.locator(".mainnav a").all_text_contents()
        assert sorted(labels) == sorted(set(labels))
        assert {
            "Campagnes",
            "Devis",
            "Commandes",
            "Factures",
            "Paiements",
            "Relances",
            "Exports",
            "Adhérents",
        } <= set(labels)


@pytest.mark.parametrize("role", list(STAFF))
def test_each_staff_home_fits_a_phone_behind_its_menu_button(signed_in, demo_site, request, role):
    base, _ids = demo_site
    page = signed_in(STAFF[role], PHONE)
    page.goto(f"{base}/")
    with kept_on_failure(page, request):
        assert page_width(page)[0] <= PHONE["width"]
        page.get_by_role("button", name="Menu").click()
        expect(page.locator(".mainnav")).to_be_visible()
        assert page_width(page)[0] <= PHONE["width"]


def test_a_statement_prints_without_the_menu_and_with_its_total(signed_in, demo_site, request):
    base, ids = demo_site
    page = signed_in(SHOP, DESKTOP)
    page.goto(f"{base}/campaigns/{ids['invoiced']}/statement")
    page.emulate_media(media="print")
    try:
        with kept_on_failure(page, request):
            expect(page.locator(".topbar")).to_be_hidden()
            expect(page.get_by_role("link", name="Télécharger (CSV)")).to_be_hidden()
            expect(page.locator("#statement tfoot tr:last-child td.num")).to_be_visible()
    finally:
        page.emulate_media(media="screen")


def test_a_picking_list_prints_without_the_menu_and_its_buttons(signed_in, demo_site, request):
    base, ids = demo_site
    page = signed_in(STAFF["manager"], DESKTOP)
    page.goto(f"{base}/campaigns/{ids['invoiced']}/dispatch/ROUSSE01")
    page.emulate_media(media="print")
    try:
        with kept_on_failure(page, request):
            expect(page.locator(".topbar")).to_be_hidden()
            expect(page.locator("main .btn").first).to_be_hidden()
            expect(page.locator("table.picking")).to_be_visible()
    finally:
        page.emulate_media(media="screen")
