"""The manager asks two suppliers for a quote; one answers on its page, the other with a CSV
file; the manager compares them and awards the line, which becomes the catalogue's offer."""

import csv
import io
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from coop import mail
from coop.accounts.auth import create_user
from coop.accounts.models import Role
from coop.clock import today
from coop.extensions import db
from tests import factories
from tests.browser.test_member_flow import PASSWORD, log_in

pytestmark = pytest.mark.browser


def link_in(live_app, email: str) -> str:
    """The supplier's link in the last e-mail it got, on the live server."""
    with live_app.app_context():
        message = [m for m in mail.sent_messages() if m["To"] == email][-1]
        body = message.get_body(("plain",)).get_content()
    link = re.search(r"http://coop\.test(/q/\S+)", body).group(1)
    return live_app.config["LIVE_URL"] + link


def test_suppliers_answer_through_their_links_and_the_manager_awards(
    page, browser, live_app, tmp_path
):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        create_user("gerance@coop.example", "Camille", Role.MANAGER, PASSWORD)
        tyre = factories.part(sku="TYR-700X28", name="Pneu route 700x28", category="pneus")
        lyon = factories.supplier(
            code="LYONPNEU", name="Lyon Pneu", is_local=True, email="devis@lyonpneu.example"
        )
        taipei = factories.supplier(
            code="TPETYRE", name="Taipei Tyres", country="TW", email="sales@taipei.example"
        )
        factories.offer(lyon, tyre, tiers=((1, "12.00"),))
        factories.offer(taipei, tyre, tiers=((1, "9.90"),), made_in="TW")
        db.session.commit()
        lyon_id = lyon.id
        mail.sent_messages().clear()

    # The manager prepares the request by hand and sends it.
    log_in(page, base, "gerance@coop.example")
    menu = page.get_by_role("navigation", name="Navigation principale")
    menu.locator("summary", has_text="Achats").click()
    menu.get_by_role("link", name="Devis").click()
    page.get_by_role("link", name="Nouvelle demande de devis").click()
    page.get_by_label("Titre").fill("Pneus route, hiver")
    page.get_by_label("Réponses attendues au plus tard le").fill(str(today() + timedelta(days=10)))
    page.get_by_label("Pièces et quantités").fill("TYR-700X28 ; 120")
    page.get_by_role("button", name="Préparer la demande").click()
    expect(page.get_by_text("vérifiez les fournisseurs interrogés")).to_be_visible()
    expect(page.get_by_role("checkbox", name=re.compile("Lyon Pneu"))).to_be_checked()
    expect(page.get_by_role("checkbox", name=re.compile("Taipei Tyres"))).to_be_checked()
    page.get_by_role("link", name="Envoyer aux fournisseurs").click()
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_text("envoyée à 2 fournisseurs.")).to_be_visible()
    expect(page.get_by_text("En attente de 2 fournisseurs")).to_be_visible()

    # Lyon Pneu answers on its page, without an account.
    supplier = browser.new_context(locale="fr-FR").new_page()
    supplier.goto(link_in(live_app, "devis@lyonpneu.example"))
    expect(supplier.get_by_role("heading", name=re.compile("Demande de devis DD-"))).to_be_visible()
    assert "Taipei" not in supplier.inner_text("main")
    supplier.get_by_label("Votre référence").fill("LP-28")
    supplier.get_by_label("Conditionnement (unités par colis)").fill("10")
    supplier.get_by_label("Palier 1 : à partir de (unités)").fill("1")
    supplier.get_by_label("Palier 1 : prix unitaire (€ HT)").fill("11,80")
    supplier.get_by_label("Palier 2 : à partir de (unités)").fill("100")
    supplier.get_by_label("Palier 2 : prix unitaire (€ HT)").fill("10,40")
    supplier.get_by_role("button", name="Envoyer ma réponse").click()
    expect(supplier.get_by_text("votre réponse est transmise")).to_be_visible()

    # Taipei Tyres answers with the CSV file, in English.
    other = browser.new_context(locale="en-GB").new_page()
    other.goto(link_in(live_app, "sales@taipei.example"))
    expect(other.get_by_role("button", name="Send my answer")).to_be_visible()
    with other.expect_download() as download:
        other.get_by_role("link", name="Download the request (CSV)").click()
    rows = list(
        csv.DictReader(
            io.StringIO(download.value.path().read_text(encoding="utf-8-sig")), delimiter=";"
        )
    )
    assert [(r["sku"], r["requested_qty"]) for r in rows] == [("TYR-700X28", "120")]
    rows[0].update(min_qty="100", unit_price_eur="9,20", made_in="TW", pack_size="20")
    answer = tmp_path / "taipei.csv"
    with answer.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    other.get_by_label("CSV file").set_input_files(answer)
    other.get_by_role("button", name="Read the file").click()
    expect(other.get_by_text("1 line filled in your draft")).to_be_visible()
    other.get_by_role("button", name="Send my answer").click()
    expect(other.get_by_text("your answer has been sent")).to_be_visible()

    # The manager compares: Taipei is cheapest at 120 units, Lyon the best local answer.
    page.reload()
    expect(page.get_by_text("Tous les fournisseurs interrogés ont répondu.")).to_be_visible()
    page.get_by_role("link", name="Comparer et attribuer").first.click()
    table = page.locator("table.matrix")
    expect(table.locator("td.best")).to_contain_text("9,20")
    expect(table).to_contain_text("10,40")
    # Lyon: 120 x 10.40 = 1 248,00; Taipei: 120 x 9.20 = 1 104,00; Lyon costs 144,00 more.
    expect(table).to_contain_text("+144,00")
    lyon_cell = table.locator("tbody td").filter(has_text="10,40")
    lyon_cell.get_by_label("Attribuer").check()
    page.get_by_role("button", name="Attribuer les lignes choisies").click()
    expect(
        page.get_by_role("heading", name="Mettre à jour les prix du catalogue ?")
    ).to_be_visible()
    page.get_by_role("button", name="Attribuer et mettre à jour les prix").click()
    expect(page.get_by_text("1 ligne attribuée :")).to_be_visible()
    expect(page.get_by_role("heading", name="Lignes attribuées")).to_be_visible()
    expect(page.get_by_text("12,00")).to_be_visible()  # Lyon's previous price, kept

    # The catalogue now offers Lyon's quoted tiers.
    page.get_by_role("link", name="TYR-700X28").last.click()
    expect(page.locator("main")).to_contain_text("Lyon Pneu")
    with live_app.app_context():
        from coop.suppliers.models import Offer

        offer = db.session.query(Offer).filter_by(supplier_id=lyon_id).one()
        assert [(t.min_qty, str(t.unit_price)) for t in offer.tiers] == [
            (1, "11.8000"),
            (100, "10.4000"),
        ]
        assert (offer.pack_size, offer.supplier_ref) == (10, "LP-28")
        sent_to = [m["To"] for m in mail.sent_messages()]
        assert "devis@lyonpneu.example" in sent_to and "gerance@coop.example" in sent_to
    supplier.context.close()
    other.context.close()
