"""A shop pays two invoices online through the local Stripe fake and sees them paid."""

import os
import re

import pytest
from playwright.sync_api import expect

from coop.accounts.auth import create_user
from coop.accounts.models import Role
from coop.extensions import db
from tests import factories
from tests.browser.test_member_flow import PASSWORD, log_in
from tests.invoicing import factories as invoices
from tests.payments.stripe_helpers import SECRET_KEY, WEBHOOK_SECRET, running_fake

pytestmark = pytest.mark.browser

EMAIL = "atelier@croix-rousse.example"


def euros(text: str):
    """`297,30 €` whatever the space Babel puts before the sign."""
    return re.compile(text.replace(" ", r"\s"))


@pytest.fixture
def shop_with_two_invoices(live_app):
    with live_app.app_context():
        shop = factories.member(name="Atelier Vélo Croix-Rousse")
        campaign = factories.campaign()
        pair = [invoices.invoice(shop, campaign), invoices.invoice(shop, campaign)]
        create_user(EMAIL, "Sam", Role.MEMBER, PASSWORD, member_code=shop.code)
        db.session.commit()
        return [invoice.number for invoice in pair]


@pytest.fixture
def stripe_fake(live_app):
    """The fake on loopback, its events signed to the live app's webhook as Stripe would."""
    base = live_app.config["LIVE_URL"]
    with running_fake(
        webhook_url=f"{base}/stripe/webhook", webhook_delay=0.5, sepa_delay=2
    ) as fake:
        live_app.config.update(
            COOP_BASE_URL=base,
            COOP_STRIPE_SECRET_KEY=SECRET_KEY,
            COOP_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            COOP_STRIPE_API_BASE=fake.public_url,
        )
        yield fake
        fake.wait_until_idle()


def choose_and_pay(page, base: str) -> None:
    log_in(page, base, EMAIL)
    page.goto(f"{base}/invoices")
    page.get_by_role("link", name="Payer en ligne").click()
    expect(page.get_by_role("heading", name="Payer en ligne")).to_be_visible()
    summary = page.locator("#pay-summary")
    expect(summary.locator(".stat")).to_have_text(euros("297,30 €"))
    # The total follows the boxes (htmx asks the server again, once the page's scripts run).
    page.wait_for_load_state("load")
    page.locator('input[name="invoice"]').first.uncheck()
    expect(summary.locator(".stat")).to_have_text(euros("148,65 €"))
    page.locator('input[name="invoice"]').first.check()
    expect(summary).to_contain_text("2 factures sélectionnées")
    _screenshot(page, "pay_choose_invoices")
    page.get_by_role("button", name="Payer en ligne").click()
    expect(page.get_by_role("heading", name="Paiement de test")).to_be_visible()
    _screenshot(page, "pay_fake_checkout")


def test_a_shop_pays_two_invoices_by_card_and_sees_them_paid(
    page, live_app, shop_with_two_invoices, stripe_fake
):
    base = live_app.config["LIVE_URL"]
    choose_and_pay(page, base)
    page.get_by_role("button", name="Payer par carte").click()
    expect(page.get_by_role("heading", name="Votre paiement")).to_be_visible()
    status = page.locator("#payment-status")
    expect(status).to_contain_text(
        euros("Merci : votre paiement de 297,30 € est reçu."), timeout=15_000
    )
    for number in shop_with_two_invoices:
        expect(status.get_by_role("row").filter(has_text=number)).to_contain_text("Payée")
    _screenshot(page, "pay_return_paid")
    page.get_by_role("link", name="Mes factures").first.click()
    rows = page.locator("#invoices tbody tr")
    for number in shop_with_two_invoices:
        expect(rows.filter(has_text=number)).to_contain_text("Payée")


def test_a_sepa_debit_shows_pending_then_paid(page, live_app, shop_with_two_invoices, stripe_fake):
    base = live_app.config["LIVE_URL"]
    choose_and_pay(page, base)
    page.get_by_role("button", name="Payer par prélèvement SEPA").click()
    status = page.locator("#payment-status")
    expect(status).to_contain_text(euros("Prélèvement SEPA de 297,30 € en cours."), timeout=15_000)
    _screenshot(page, "pay_return_sepa_pending")
    expect(status).to_contain_text("Merci", timeout=15_000)
    for number in shop_with_two_invoices:
        expect(status.get_by_role("row").filter(has_text=number)).to_contain_text("Payée")


def _screenshot(page, name: str) -> None:
    artifacts = os.environ.get("COOP_TEST_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        page.screenshot(path=os.path.join(artifacts, f"{name}.png"), full_page=True)
