"""Each role's pages pass axe-core, and the app is used with the keyboard alone (issue 15).

axe-core itself runs on every page a browser test shows (tests/browser/conftest.py): here
each role opens one page of every kind it reaches by its links, on a world where every
kind of page has something to show, so that none escapes the check.
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from werkzeug.exceptions import HTTPException

from coop.accounts.models import Role
from coop.extensions import db
from tests import factories
from tests.browser import test_payment_flow as payment_flow
from tests.browser.test_member_flow import PASSWORD
from tests.test_fuzz import every_state

pytestmark = pytest.mark.browser

# Links that end the session, switch the language, or are files rather than pages.
NOT_PAGES = ("/logout", "/language", "/static/", "/stripe/")
FILES = (".pdf", ".csv", ".zip", "/fec", ".xml")

# A shop with two invoices to pay, and the local Stripe fake to pay them through.
shop_with_two_invoices = payment_flow.shop_with_two_invoices
stripe_fake = payment_flow.stripe_fake


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
        # A link marked `download` gives a file, not a page.
        hrefs = page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(a => a.href)"
        )
        for href in hrefs:
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


# Keyboard alone: Tab moves on, Enter follows a link or presses a button, Space ticks.
MOST_TABS = 60
FOCUS_SHOWN = """el => {
  const style = getComputedStyle(el);
  return (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2)
    || style.boxShadow !== "none";
}"""


def tab_to(page, target, ours: bool = True) -> None:
    """Press Tab until `target` has the focus; each element of ours on the way shows its focus."""
    target.wait_for()  # the page that holds it is there,
    page.wait_for_load_state()  # with its stylesheet
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate_handle("document.activeElement")
        if ours and focused.evaluate("el => el !== document.body"):
            outer = focused.evaluate("el => el.outerHTML.slice(0, 200)")
            assert focused.evaluate(FOCUS_SHOWN), f"no visible focus on {outer}"
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{MOST_TABS} presses of Tab did not reach {target}")


def log_in_by_keyboard(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")  # typed in the address bar
    expect(page.get_by_label("Adresse e-mail")).to_be_focused()
    page.keyboard.type(email)
    tab_to(page, page.get_by_label("Mot de passe"))
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Déconnexion")).to_be_visible()


def test_the_skip_link_comes_first_and_leads_past_the_menu(page, live_app):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        account = factories.user(Role.MANAGER)
        db.session.commit()
        email = account.email
    log_in_by_keyboard(page, base, email, factories.PASSWORD)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()  # where a screen reader goes on reading
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")


def test_a_shop_posts_a_need_with_the_keyboard_alone(page, live_app):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        shop = factories.member(name="Atelier Vélo Croix-Rousse")
        account = factories.user(member=shop)
        tube = factories.part(sku="TUB-700", name="Chambre à air 700x25")
        factories.offer(factories.supplier(), tube, pack_size=10)
        factories.campaign()
        db.session.commit()
        email = account.email
    log_in_by_keyboard(page, base, email, factories.PASSWORD)
    tab_to(page, page.get_by_role("link", name="Poster mes besoins"))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("combobox", name="Pièce", exact=True))
    page.keyboard.type("Chambre à air 700x25 (TUB-700)")
    tab_to(page, page.locator("#need-form").get_by_label("Quantité"))
    page.keyboard.type("7")
    tab_to(page, page.get_by_role("button", name="Ajouter", exact=True))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Besoin ajouté : 7 × Chambre à air 700x25.")).to_be_visible()
    expect(page.locator("#needs-table tbody tr").first).to_contain_text("colis en cours 7/10")


def test_a_shop_pays_an_invoice_online_with_the_keyboard_alone(
    page, live_app, shop_with_two_invoices, stripe_fake
):
    base = live_app.config["LIVE_URL"]
    log_in_by_keyboard(page, base, payment_flow.EMAIL, PASSWORD)
    tab_to(page, page.get_by_role("link", name="Mes factures"))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("link", name="Payer en ligne"))
    page.keyboard.press("Enter")
    first, second = shop_with_two_invoices
    tab_to(page, page.get_by_role("checkbox", name=f"Payer la facture {second}"))
    page.keyboard.press("Space")  # only the first invoice, this time
    expect(page.locator("#pay-summary")).to_contain_text("1 facture sélectionnée")
    tab_to(page, page.get_by_role("button", name="Payer en ligne"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Paiement de test")).to_be_visible()
    tab_to(page, page.get_by_role("button", name="Payer par carte"), ours=False)  # Stripe's
    page.keyboard.press("Enter")
    status = page.locator("#payment-status")
    paid = payment_flow.euros("Merci : votre paiement de 148,65 € est reçu.")
    expect(status).to_contain_text(paid, timeout=15_000)
    expect(status.get_by_role("row").filter(has_text=first)).to_contain_text("Payée")


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (Role.MANAGER, "/members/new"),
        (Role.MANAGER, "/campaigns/new"),
        (Role.MANAGER, "/suppliers/new"),
        (Role.MANAGER, "/parts/new"),
        (Role.ADMIN, "/users/new"),
        (Role.MEMBER, "/account/password"),
    ],
)
def test_a_form_sent_empty_passes_axe_with_each_error_tied_to_its_field(page, live_app, role, path):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        email = factories.user(role).email
        db.session.commit()
    log_in(page, base, email)
    page.goto(base + path)
    page.get_by_role("button", name="Enregistrer").click()
    invalid = page.locator("[aria-invalid=true]")
    expect(invalid.first).to_be_visible()
    for field in invalid.all():
        error = page.locator("#" + field.get_attribute("aria-describedby").split()[0])
        expect(error.locator(".error").first).to_be_visible()
        said = " ".join(error.inner_text().split())
        expect(field).to_have_accessible_description(re.compile("^" + re.escape(said)))


def test_a_table_wider_than_the_screen_scrolls_with_the_keyboard(page, live_app):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        email = factories.user(Role.MANAGER).email
        factories.campaign(title="Campagne de printemps")
        db.session.commit()
    log_in(page, base, email)
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{base}/campaigns/")
    frame = page.locator(".table-wrap").first
    tab_to(page, frame)
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "el => el.scrollLeft > 0", arg=frame.element_handle()
    )  # scrolls smoothly
