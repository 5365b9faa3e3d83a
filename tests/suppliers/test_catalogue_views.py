"""The catalogue pages, as the manager and as a shop use them."""

from datetime import timedelta
from decimal import Decimal

import lxml.html
import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.clock import today
from coop.extensions import db
from coop.suppliers.catalogue import current_tiers
from coop.suppliers.models import Offer, Part, PriceTier, Supplier
from tests.conftest import queries_for

D = Decimal


@pytest.fixture
def manager(client, make):
    client.login_as(make.user(Role.MANAGER))


def tiers_form(*rows, size=6):
    data = {}
    for i in range(size):
        q, p = rows[i] if i < len(rows) else ("", "")
        data[f"tiers-{i}-min_qty"] = q
        data[f"tiers-{i}-unit_price"] = p
    return data


def edited_offer_form(offer, *tiers) -> dict:
    """The offer's form as sent with new tiers, its other fields as they are."""
    return {
        "supplier_id": offer.supplier_id,
        "pack_size": offer.pack_size,
        "moq": offer.moq,
        "made_in": offer.made_in,
        **tiers_form(*tiers),
    }


def test_manager_creates_a_supplier_and_sees_its_origin(client, manager):
    response = client.post(
        "/suppliers/new",
        data={
            "code": "lyonpneu",
            "name": "Lyon Pneu",
            "country": "FR",
            "is_local": "y",
            "shipping_fee": "12,50",
            "free_shipping_over": "300",
            "default_lead_time_days": 3,
        },
    )
    assert response.status_code == 302
    supplier = db.session.scalar(select(Supplier))
    assert (supplier.code, supplier.shipping_fee, supplier.free_shipping_over) == (
        "LYONPNEU",
        D("12.50"),
        D("300.00"),
    )
    page = client.get(response.location).text
    assert "origin-local" in page and "Local" in page
    assert "12,50\xa0€" in page


def test_bad_supplier_values_are_refused_next_to_the_field(client, manager):
    response = client.post(
        "/suppliers/new",
        data={"code": "X", "name": "X", "country": "FR", "shipping_fee": "-5", "siret": "123"},
    )
    assert "le montant ne peut pas être négatif" in response.text.lower()
    assert "Le SIRET compte 14 chiffres" in response.text
    assert db.session.scalar(select(func.count()).select_from(Supplier)) == 0


def test_manager_creates_a_part_and_an_offer_with_tiers(client, manager, make):
    supplier = make.supplier(country="IT")
    response = client.post(
        "/parts/new",
        data={
            "sku": "tyr-700x28",
            "name": "Pneu 700x28",
            "category": "pneus",
            "unit": "piece",
            "vat_rate": "0.2000",
            "ean": "4006633105026",
        },
    )
    assert response.status_code == 302
    part = db.session.scalar(select(Part))
    assert part.sku == "TYR-700X28"
    response = client.post(
        f"/parts/{part.id}/offers/new",
        data={
            "supplier_id": supplier.id,
            "pack_size": 5,
            "moq": 10,
            "made_in": "",
            **tiers_form(("1", "21,00"), ("50", "19.00")),
        },
    )
    assert response.status_code == 302
    offer = db.session.scalar(select(Offer))
    assert offer.made_in == "IT"
    assert current_tiers(offer) == [(1, D("21.0000")), (50, D("19.0000"))]
    page = client.get(f"/parts/{part.id}").text
    assert "21,00\xa0€" in page and "origin-europe" in page


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ((), "Indiquez au moins un palier de prix."),
        ((("10", "5"), ("10", "4")), "strictement croissantes"),
        ((("10", "abc"),), "Nombre attendu, pas &#39;abc&#39;."),
        ((("10", "0"),), "Le prix doit être strictement positif."),
        ((("", "4,50"),), "Indiquez la quantité"),
        ((("10", ""),), "Indiquez le prix de ce palier."),
    ],
)
def test_bad_tiers_are_refused_and_nothing_is_written(client, manager, make, rows, message):
    supplier, part = make.supplier(), make.part()
    response = client.post(
        f"/parts/{part.id}/offers/new",
        data={"supplier_id": supplier.id, "pack_size": 1, "moq": 0, **tiers_form(*rows)},
    )
    assert response.status_code == 200
    assert message in response.text
    assert db.session.scalar(select(func.count()).select_from(Offer)) == 0


def test_editing_an_offer_keeps_the_previous_prices(client, manager, make):
    offer = make.offer(tiers=((1, "10.00"),))
    response = client.post(
        f"/offers/{offer.id}/edit", data=edited_offer_form(offer, ("1", "11,00"))
    )
    assert response.status_code == 302
    assert current_tiers(offer) == [(1, D("11.0000"))]
    assert db.session.scalar(select(func.count()).select_from(PriceTier)) == 2
    page = client.get(f"/offers/{offer.id}/edit").text
    assert "Historique des prix" in page and "10,00\xa0€" in page


def test_a_second_offer_from_the_same_supplier_is_refused(client, manager, make):
    offer = make.offer()
    response = client.post(
        f"/parts/{offer.part_id}/offers/new",
        data={"supplier_id": offer.supplier_id, "pack_size": 1, **tiers_form(("1", "9"))},
    )
    assert "a déjà une offre" in response.text


def test_parts_are_searched_by_name_sku_ean_and_filtered_by_origin(client, manager, make):
    local = make.supplier(country="FR", is_local=True)
    asian = make.supplier(country="TW")
    tyre = make.part(sku="TYR-28", name="Pneu route 28", ean="4006633105026")
    chain = make.part(sku="CHN-11", name="Chaîne 11 vitesses")
    make.offer(local, tyre)
    make.offer(asian, chain)
    assert "TYR-28" in client.get("/parts/?q=route").text
    assert "TYR-28" in client.get("/parts/?q=4006633105026").text
    only_asia = client.get("/parts/?origin=asia").text
    assert "CHN-11" in only_asia and "TYR-28" not in only_asia
    assert "TYR-28" in client.get(f"/parts/?supplier={local.id}").text
    assert "CHN-11" not in client.get("/parts/?category=pneus&origin=local").text


def test_sourcing_lists_the_parts_only_asia_makes(client, manager, make):
    local, asian = make.supplier(country="FR", is_local=True), make.supplier(country="CN")
    both, only_asia = make.part(sku="BOTH-1"), make.part(sku="ASIA-1")
    make.offer(local, both)
    make.offer(asian, both)
    make.offer(asian, only_asia)
    page = client.get("/sourcing").text
    assert "ASIA-1" in page
    assert "BOTH-1" not in page
    assert "50\xa0% · 1 pièce<" in page or "50 % · 1 pièce<" in page


def test_a_shop_browses_the_catalogue_but_cannot_change_it(client, make):
    offer = make.offer()
    client.login_as(make.user(Role.MEMBER))
    page = client.get(f"/parts/{offer.part_id}").text
    assert offer.part.name in page
    assert "Ajouter une offre" not in page
    assert (
        client.post(f"/offers/{offer.id}/edit", data=tiers_form(("1", "0.01"))).status_code == 403
    )
    assert current_tiers(offer) == [(1, D("10.0000"))]
    assert client.get("/sourcing").status_code == 403


def test_deactivating_a_supplier_asks_first(client, manager, make):
    supplier = make.supplier()
    assert "Oui, désactiver" in client.get(f"/suppliers/{supplier.id}/deactivate").text
    client.post(f"/suppliers/{supplier.id}/deactivate")
    assert not supplier.is_active
    assert supplier.code not in client.get("/suppliers/").text


@pytest.mark.parametrize(
    ("role", "shown"),
    [(Role.MEMBER, False), (Role.MANAGER, True), (Role.TREASURER, True), (Role.ADMIN, True)],
)
def test_a_suppliers_internal_notes_are_for_the_staff_only(client, make, role, shown):
    note = "Négocier : marge de 15 % possible, contact perso 06 12 34 56 78"
    supplier = make.supplier(name="Lyon Pneu", notes=note)
    part = make.part()
    make.offer(supplier, part)
    client.login_as(make.user(role, member=make.member() if role is Role.MEMBER else None))
    pages = [
        client.get(f"/suppliers/{supplier.id}"),
        client.get(f"/parts/{part.id}"),
        client.get("/suppliers/"),
        client.get(f"/suppliers/?q={supplier.name}"),
    ]
    assert [page.status_code for page in pages] == [200] * 4
    assert "Lyon Pneu" in pages[0].text
    assert (note in pages[0].text) is shown
    assert all(note not in page.text for page in pages[1:])


@pytest.mark.parametrize("edit", [False, True])
def test_tiers_whose_price_rises_with_quantity_are_saved_with_a_warning(
    client, manager, make, edit
):
    part = make.part()
    offer = make.offer(part=part) if edit else None
    supplier = offer.supplier if edit else make.supplier()
    address = f"/offers/{offer.id}/edit" if edit else f"/parts/{part.id}/offers/new"
    response = client.post(
        address,
        data={
            "supplier_id": supplier.id,
            "pack_size": 1,
            "moq": 0,
            "made_in": "FR",
            **tiers_form(("1", "10,00"), ("10", "9,00"), ("50", "9,50")),
        },
    )
    assert response.status_code == 302
    saved = db.session.scalar(select(Offer).where(Offer.part_id == part.id))
    assert current_tiers(saved) == [(1, D("10.0000")), (10, D("9.0000")), (50, D("9.5000"))]
    page = client.get(response.location).text
    assert (
        "Attention : le prix monte avec la quantité (dès 50 unités : 9,50\xa0€, "
        "plus cher que le palier précédent). Vérifiez les paliers de cette offre."
    ) in page


def test_tiers_whose_price_falls_with_quantity_are_saved_without_warning(client, manager, make):
    part, supplier = make.part(), make.supplier()
    response = client.post(
        f"/parts/{part.id}/offers/new",
        data={
            "supplier_id": supplier.id,
            "pack_size": 1,
            "moq": 0,
            "made_in": "FR",
            **tiers_form(("1", "10,00"), ("10", "9,00")),
        },
    )
    assert "le prix monte" not in client.get(response.location).text


# --- the supplier's address, page and offers ---------------------------------------------------


def test_a_supplier_carries_a_street_address_and_a_checked_vat_number(client, manager):
    form = {
        "code": "CICLI",
        "name": "Cicli Milano",
        "country": "IT",
        "shipping_fee": "0",
        "address": "Via Torino 12",
        "postcode": "20123",
        "city": "Milano",
    }
    refused = client.post("/suppliers/new", data=form | {"vat_number": "IT00000000000"})
    assert refused.status_code == 200 and "N° de TVA" in refused.text
    assert db.session.scalar(select(func.count()).select_from(Supplier)) == 0
    response = client.post("/suppliers/new", data=form | {"vat_number": "it 00743110157"})
    supplier = db.session.scalar(select(Supplier))
    assert (supplier.address, supplier.postcode, supplier.vat_number) == (
        "Via Torino 12",
        "20123",
        "IT00743110157",
    )
    page = client.get(response.location).text
    assert "Via Torino 12<br>20123 Milano, Italie" in page
    edit = client.get(f"/suppliers/{supplier.id}/edit").text
    assert 'value="Via Torino 12"' in edit and 'value="20123"' in edit


def test_the_supplier_page_lists_its_offers_orders_and_quote_requests(client, manager, make):
    from tests.negotiation import factories as negotiation_factories
    from tests.orders.purchasing.test_purchase_orders import build_plan, committed

    plan = build_plan(make)
    lyonpneu_order, eurochain_order = committed(plan)
    rfq = negotiation_factories.sent_rfq(suppliers=[plan.lyonpneu])
    page = client.get(f"/suppliers/{plan.lyonpneu.id}").text
    assert "PNEU-700X32" in page and "CHAMBRE-700" in page
    assert f'href="/suppliers/{plan.lyonpneu.id}/offers/new">Ajouter une offre' in page
    assert 'href="/import/offers">Importer une liste de prix' in page
    assert f'hx-get="/suppliers/{plan.lyonpneu.id}/purchase-orders"' in page
    assert f'hx-get="/rfqs/suppliers/{plan.lyonpneu.id}"' in page
    orders = client.get(f"/suppliers/{plan.lyonpneu.id}/purchase-orders").text
    assert lyonpneu_order.number in orders and eurochain_order.number not in orders
    rfqs = client.get(f"/rfqs/suppliers/{plan.lyonpneu.id}", headers={"HX-Request": "true"}).text
    assert rfqs.startswith('<div id="supplier-rfqs"') and rfq.number in rfqs
    assert "Aucune demande de devis" in client.get(f"/rfqs/suppliers/{plan.eurochain.id}").text


def test_a_shop_sees_a_suppliers_offers_but_not_its_orders(client, make):
    supplier = make.supplier()
    client.login_as(make.user(Role.MEMBER, member=make.member()))
    page = client.get(f"/suppliers/{supplier.id}").text
    assert "Ajouter une offre" not in page and "purchase-orders" not in page
    assert client.get(f"/suppliers/{supplier.id}/purchase-orders").status_code == 403
    assert client.get(f"/rfqs/suppliers/{supplier.id}").status_code == 403


def test_an_offer_is_added_from_the_supplier_page(client, manager, make):
    supplier = make.supplier(code="CICLI", name="Cicli Milano", country="IT")
    part = make.part(sku="TYR-700X28", name="Pneu 700x28")
    form = client.get(f"/suppliers/{supplier.id}/offers/new").text
    assert "TYR-700X28 · Pneu 700x28" in form and "Cicli Milano" in form
    response = client.post(
        f"/suppliers/{supplier.id}/offers/new",
        data={"part_id": part.id, "pack_size": 1, **tiers_form(("1", "9,90"))},
    )
    assert response.location == f"/suppliers/{supplier.id}"
    offer = db.session.scalar(select(Offer))
    assert (offer.supplier, offer.part, offer.made_in) == (supplier, part, "IT")
    assert current_tiers(offer) == [(1, D("9.9000"))]
    again = client.post(
        f"/suppliers/{supplier.id}/offers/new",
        data={"part_id": part.id, "pack_size": 1, **tiers_form(("1", "8,00"))},
    )
    assert "Cicli Milano a déjà une offre pour TYR-700X28" in again.text
    assert db.session.scalar(select(func.count()).select_from(Offer)) == 1


def test_an_expired_offer_says_so_in_words_not_only_in_grey(client, manager, make):
    supplier = make.supplier()
    make.offer(supplier, make.part(sku="OLD-1"), valid_until=today() - timedelta(days=1))
    make.offer(supplier, make.part(sku="NEW-1"))
    page = lxml.html.fromstring(client.get(f"/suppliers/{supplier.id}").text)
    rows = {row.xpath("string(td[1])").split()[0]: row for row in page.xpath("//tbody/tr")}
    assert "expirée" in rows["OLD-1"].text_content()
    assert "expirée" not in rows["NEW-1"].text_content()


def test_a_part_picker_suggests_the_catalogues_best_matches_for_what_is_typed(client, make):
    from coop.suppliers.catalogue import PICKER_CHOICES

    make.part(sku="TYR-28", name="Pneu route 28", ean="4006633105026")
    make.part(sku="CHN-11", name="Chaîne 11 vitesses")
    make.part(sku="CHN-OLD", name="Chaîne 9 vitesses", is_active=False)
    for n in range(PICKER_CHOICES + 5):
        make.part(sku=f"CAB-{n:02d}", name=f"Câble de frein {n}")
    client.login_as(make.user(Role.MEMBER))

    def suggested(typed: str) -> list[str]:
        page = client.get("/parts/choices", query_string={"part": typed})
        assert page.status_code == 200
        return lxml.html.fragment_fromstring(page.text, create_parent="datalist").xpath(
            "//option/@value"
        )

    assert suggested("chaine") == ["Chaîne 11 vitesses (CHN-11)"]  # not the inactive one
    assert suggested("4006633105026") == ["Pneu route 28 (TYR-28)"]
    assert suggested("tyr-28") == ["Pneu route 28 (TYR-28)"]
    assert len(suggested("cable")) == PICKER_CHOICES
    assert suggested("") == suggested("   ") == []
    assert suggested("x" * 10_000) == suggested("=HYPERLINK(1)") == []
    assert suggested("cha\x00ine") == ["Chaîne 11 vitesses (CHN-11)"]  # NULs dropped on input


def test_a_part_picker_needs_a_login(client, make):
    make.part(sku="CHN-11", name="Chaîne 11 vitesses")
    response = client.get("/parts/choices?part=chaine")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_page_with_a_part_field_asks_for_suggestions_instead_of_listing_the_catalogue(
    client, make
):
    shop, campaign = make.member(), make.campaign()
    make.part(sku="CHN-11", name="Chaîne 11 vitesses")
    client.login_as(make.user(Role.MEMBER, member=shop))
    page = lxml.html.fromstring(client.get(f"/campaigns/{campaign.id}/needs").text)
    (field,) = page.xpath("//form[@id='need-form']//input[@name='part']")
    assert field.get("list") == "part-choices"
    assert field.get("hx-get") == "/parts/choices"
    assert field.get("hx-target") == "#part-choices"
    assert page.xpath("//datalist[@id='part-choices']/option") == []
    assert "CHN-11" not in lxml.html.tostring(page, encoding="unicode")


def test_a_part_page_reads_the_part_with_its_offers_suppliers_and_tiers_at_once(client, make):
    part = make.part()
    for price in ("10.00", "11.00"):
        make.offer(part=part, tiers=((1, price), (10, "9.00")))
    client.login_as(make.user(Role.MEMBER))
    page = f"/parts/{part.id}"
    # The signed-in user with its roles and shop; the part with its offers, their suppliers
    # and current tiers.
    assert queries_for(client, page) == 2
    make.offer(part=part, tiers=((1, "8.00"), (20, "7.00"), (50, "6.50")))
    assert queries_for(client, page) == 2
    shown = client.get(page).text
    assert all(price in shown for price in ("10,00", "11,00", "8,00", "6,50"))
