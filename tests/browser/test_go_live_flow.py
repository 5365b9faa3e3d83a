"""The first real week, clicked through: the admin invites the shops, a shop opens its account
and posts a need, the manager pools, orders and receives, the treasurer invoices, and the shop
finds its past campaign, its savings and its overdue invoice."""

import os
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from coop import clock, mail
from coop.accounts.auth import create_user
from coop.accounts.models import Member, Role
from coop.clock import now, today
from coop.extensions import db
from coop.invoicing.models import Invoice
from coop.orders.campaigns.lifecycle import create_campaign
from coop.orders.campaigns.needs import NeedTerms, post_need
from coop.orders.pooling import views as pooling_views
from coop.suppliers.catalogue import save_offer, save_part, save_supplier
from tests import factories
from tests.browser.test_member_flow import PASSWORD, log_in, log_out

pytestmark = pytest.mark.browser

NEW_SHOP = "contact@avcr.example"  # Atelier Vélo Croix-Rousse: no account yet
OLD_SHOP = "atelier@guillotiere.example"  # Cycles Guillotière: already has one
CHAIN = "Chaîne 11 vitesses 118 maillons, attache rapide"
TYRE = "Pneu 700x28 renforcé"


def euros(text: str) -> re.Pattern:
    """`1 234,56 €` whatever the spaces Babel puts in."""
    return re.compile(re.escape(text).replace(r"\ ", r"\s"))


def first_week(app) -> int:
    """Two shops, two suppliers with e-mails, staff, and an open campaign one shop has
    already posted in (the other has no account yet)."""
    with app.app_context():
        factories.member(code="VELO01", name="Atelier Vélo Croix-Rousse", email=NEW_SHOP)
        old = factories.member(code="VELO02", name="Cycles Guillotière", email=OLD_SHOP)
        create_user("admin@coop.example", "Alex", Role.ADMIN, PASSWORD)
        create_user("gerance@coop.example", "Camille", Role.MANAGER, PASSWORD)
        create_user("tresorerie@coop.example", "Dominique", Role.TREASURER, PASSWORD)
        create_user(OLD_SHOP, "Sam", Role.MEMBER, PASSWORD, member_code="VELO02")
        chains = save_supplier(
            None,
            code="LYONDIST",
            name="Lyon Cycles Distribution",
            country="FR",
            is_local=True,
            email="commandes@lyondist.example",
            shipping_fee=Decimal("12.00"),
        )
        tyres = save_supplier(
            None,
            code="PNEURHONE",
            name="Pneus du Rhône",
            country="FR",
            email="ventes@pneusdurhone.example",
            shipping_fee=Decimal("8.00"),
        )
        chain = save_part(None, sku="CHN-11S-118", name=CHAIN)
        tyre = save_part(None, sku="TYR-700-28R", name=TYRE)
        save_part(None, sku="CHN-10S-114", name="Chaîne 10 vitesses 114 maillons")
        save_offer(
            None, supplier=chains, part=chain, tiers=[(1, Decimal("20.00")), (10, Decimal("16.00"))]
        )
        save_offer(None, supplier=tyres, part=tyre, tiers=[(1, Decimal("11.00"))])
        campaign = create_campaign(
            "2026-12",
            "Décembre",
            today() + timedelta(days=20),
            at=now(),
            closes_at=now() + timedelta(days=7),
        )
        post_need(campaign, old, chain, NeedTerms(quantity=6), at=now())
        post_need(campaign, old, tyre, NeedTerms(quantity=4), at=now())
        db.session.commit()
        mail.sent_messages().clear()
        return campaign.id


def test_the_first_week_from_the_invitations_to_the_shops_overdue_invoice(
    page, live_app, monkeypatch
):
    base = live_app.config["LIVE_URL"]
    campaign_id = first_week(live_app)

    # 1. The admin invites every shop without an account.
    log_in(page, base, "admin@coop.example")
    page.goto(f"{base}/members/")
    rows = page.locator("table tbody tr")
    expect(rows.filter(has_text="VELO01")).to_contain_text("Sans compte")
    expect(rows.filter(has_text="VELO02")).to_contain_text("Compte actif")
    page.get_by_role("link", name="Inviter tous les ateliers sans compte").click()
    expect(page.get_by_text("1 atelier sera invité :")).to_be_visible()
    expect(page.locator(".confirm")).to_contain_text(f"Atelier Vélo Croix-Rousse ({NEW_SHOP})")
    shot(page, "invite_all_confirm")
    page.get_by_role("button", name="Envoyer 1 invitation").click()
    expect(page.get_by_text("1 atelier invité.")).to_be_visible()
    expect(rows.filter(has_text="VELO01")).to_contain_text("Invité")
    shot(page, "member_list", widths=(1366, 390))
    with live_app.app_context():
        (invitation,) = mail.sent_messages()
    assert invitation["To"] == NEW_SHOP
    link = re.search(r"http://coop\.test(/invitation/\S+)", text_of(invitation)).group(1)
    log_out(page)

    # 2. The shop opens its account, finds the chain in the catalogue and posts its need.
    page.goto(base + link)
    expect(page.get_by_text("pour l'atelier Atelier Vélo Croix-Rousse")).to_be_visible()
    page.get_by_label("Votre nom").fill("Léa Martin")
    page.locator("#password").fill(PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Ouvrir mon compte").click()
    expect(page.get_by_role("heading", name="Bonjour, Atelier Vélo Croix-Rousse")).to_be_visible()
    page.get_by_role("link", name="Catalogue").first.click()
    page.get_by_label("Rechercher").fill("chaine 11v")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url("**q=chaine**")
    found = page.locator("table tbody tr")
    # "11" also begins "114" of the 10-speed chain's name, which ranks below.
    expect(found).to_have_count(2)
    expect(found.first).to_contain_text(CHAIN)
    expect(found.last).to_contain_text("Chaîne 10 vitesses 114 maillons")
    found.first.get_by_role("link", name="Ajouter à mes besoins").click()
    form = page.locator("#need-form")
    expect(form.get_by_role("combobox", name="Pièce", exact=True)).to_have_value(
        f"{CHAIN} (CHN-11S-118)"
    )
    form.get_by_label("Quantité").fill("6")
    form.get_by_role("button", name="Ajouter", exact=True).click()
    expect(page.get_by_text(f"Besoin ajouté : 6 × {CHAIN}.")).to_be_visible()
    log_out(page)

    # 3. The manager renames and closes the campaign, pools, orders, and receives.
    log_in(page, base, "gerance@coop.example")
    page.goto(f"{base}/campaigns/{campaign_id}")
    page.get_by_role("link", name="Modifier").click()
    page.get_by_label("Titre").fill("Décembre : chaînes et pneus")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("heading", name="Décembre : chaînes et pneus")).to_be_visible()
    page.get_by_role("link", name="Clore maintenant").click()
    page.get_by_role("button", name="Clore la campagne 2026-12").click()
    expect(page.get_by_text("La campagne 2026-12 est close.")).to_be_visible()
    page.get_by_role("link", name="Mutualisation").click()
    monkeypatch.setattr(pooling_views, "WAIT_SECONDS", 0)
    page.get_by_role("button", name="Lancer le calcul").click()
    page.get_by_text("Optimal", exact=True).wait_for()
    monkeypatch.undo()
    page.get_by_role("link", name="Valider ce plan et créer les bons de commande").click()
    page.get_by_role("button", name="Valider le plan").click()
    expect(page.get_by_text("Plan validé : 2 bons de commande en brouillon.")).to_be_visible()

    page.goto(f"{base}/purchase-orders?campaign=2026-12")
    page.get_by_role("link", name="Envoyer tous les bons de commande (2)").click()
    expect(page.get_by_role("heading", name="Envoyer les 2 bons de commande ?")).to_be_visible()
    drafts = page.locator(".confirm tbody tr")
    # 12 chains at the 10+ tier (16.00) and 12.00 of shipping; 4 tyres at 11.00 and 8.00.
    expect(drafts.filter(has_text="Lyon Cycles Distribution")).to_contain_text(
        "commandes@lyondist.example"
    )
    expect(drafts.filter(has_text="Lyon Cycles Distribution")).to_contain_text(euros("204,00 €"))
    expect(drafts.filter(has_text="Pneus du Rhône")).to_contain_text(euros("52,00 €"))
    shot(page, "send_all_confirm", widths=(1366, 390))
    page.get_by_role("button", name="Envoyer aux fournisseurs").click()
    expect(page.get_by_text("2 bons traités sur 2 : 2 envoyés")).to_be_visible(timeout=20_000)
    page.get_by_role("link", name="Voir les bons de commande").click()
    numbers = {}
    for supplier in ("Lyon Cycles Distribution", "Pneus du Rhône"):
        row = page.locator("table tbody tr").filter(has_text=supplier)
        expect(row).to_contain_text("envoyé")
        numbers[supplier] = row.locator("td").first.inner_text().strip()

    # The chains came as ordered; the tyres one short.
    receive(page, base, numbers["Lyon Cycles Distribution"])
    expect(page.locator(".page-head .badge")).to_have_text("reçu")
    receive(page, base, numbers["Pneus du Rhône"], short={TYRE: "3"})
    expect(page.locator(".page-head .badge")).to_have_text("reçu en partie")
    page.get_by_role("link", name="Solder : le reste ne viendra pas").click()
    page.get_by_role("button", name="Oui, solder la commande").click()
    expect(page.locator(".page-head .badge")).to_have_text("soldé")
    log_out(page)

    # 4. The treasurer issues the invoices.
    log_in(page, base, "tresorerie@coop.example")
    page.goto(f"{base}/campaigns/{campaign_id}")
    page.get_by_role("link", name="Préparer les factures").click()
    page.get_by_role("link", name="Émettre les 2 factures").click()
    # VELO01: 6 chains 96.00 + half the shipping 6.00; VELO02: the same, and the 3 tyres
    # that came 33.00 + their shipping 8.00; VAT 20 %.
    expect(page.locator(".confirm")).to_contain_text(euros("Total TTC : 294,00 €"))
    page.get_by_role("button", name="Confirmer et émettre").click()
    expect(page.get_by_text("2 factures émises.")).to_be_visible()
    log_out(page)

    # 5. Weeks later, the shop finds its campaign, its savings and its overdue invoice.
    with live_app.app_context():
        invoice = db.session.scalar(
            select(Invoice).join(Invoice.member).where(Member.code == "VELO01")
        )
        number, due_on = invoice.number, invoice.due_on
    monkeypatch.setitem(live_app.config, "COOP_STRIPE_SECRET_KEY", "sk_test_fake")  # pay online
    later = now() + timedelta(days=45)
    monkeypatch.setattr(clock, "now", lambda: later)
    log_in(page, base, NEW_SHOP)
    money = page.locator("#money")
    expect(money.locator(".stat")).to_have_text(euros("122,40 €"))
    expect(money.locator("#overdue")).to_have_class("error")
    expect(money.locator("#overdue")).to_have_text(euros("Dont 122,40 € en retard :"))
    late = money.locator("li.error")
    expect(late).to_have_text(euros(f"{number} · 122,40 €, échue le {due_on:%d/%m/%Y}"))
    expect(money.get_by_role("link", name="Payer en ligne")).to_be_visible()
    shot(page, "shop_home", widths=(1366, 390))
    page.get_by_role("link", name="Mes campagnes").first.click()
    row = page.locator("#campaigns tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Décembre : chaînes et pneus")
    cells = row.locator("td")
    expect(cells.nth(1)).to_have_text("facturée")
    expect(cells.nth(2)).to_have_text("6 / 6")
    expect(cells.nth(3)).to_have_text(euros("102,00 €"))
    # Alone: 6 chains at 20.00 and all of the 12.00 shipping; pooled: 16.00 and half of it.
    expect(cells.nth(4).locator("strong")).to_have_text(euros("30,00 €"))
    expect(cells.nth(4).locator("span")).to_have_text(
        [euros("pièces : 24,00 €"), euros("port : 6,00 €")]
    )
    expect(cells.nth(5)).to_contain_text(number)
    expect(cells.nth(5).locator(".badge-late")).to_have_text("En retard")
    expect(cells.nth(5).locator(".error")).to_have_text(euros("reste 122,40 € TTC"))
    shot(page, "my_campaigns", widths=(1366, 390))


def receive(page, base: str, number: str, short: dict[str, str] | None = None) -> None:
    """Fill the receipt as ordered, correct the `short` lines, save."""
    page.goto(f"{base}/purchase-orders/{number}")
    page.get_by_role("link", name="Réceptionner").click()
    page.get_by_role("link", name="Tout reçu comme commandé").click()
    expect(
        page.get_by_text("Chaque ligne est remplie avec ce qui reste à recevoir")
    ).to_be_visible()
    for description, units in (short or {}).items():
        page.get_by_label(f"Bonnes : {description}").fill(units)
    page.get_by_role("button", name="Enregistrer la réception").click()
    expect(page.get_by_text(f"Réception enregistrée sur {number}")).to_be_visible()


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


SHOTS = os.environ.get("COOP_SHOTS")


def shot(page, name: str, widths: tuple[int, ...] = ()) -> None:
    """Screenshots at each width, when COOP_SHOTS names a folder (not part of the test)."""
    if not SHOTS:
        return
    os.makedirs(SHOTS, exist_ok=True)
    size = page.viewport_size
    for width in widths or (size["width"],):
        page.set_viewport_size({"width": width, "height": size["height"]})
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(size)
