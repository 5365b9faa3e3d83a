"""Price-list imports: suppliers, parts and offers (spec/formats.md)."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.errors import InvalidRows
from coop.extensions import db
from coop.suppliers.catalogue import current_tiers, tiers_on
from coop.suppliers.importing import import_offers, import_parts, import_suppliers
from coop.suppliers.models import Offer, Part, PriceTier, Supplier

D = Decimal


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def errors_of(call, data) -> list[str]:
    with pytest.raises(InvalidRows) as caught:
        call(data)
    return [str(e) for e in caught.value.errors]


SUPPLIERS_FR = (
    "\ufeffcode;name;country;city;local;shipping_fee_eur;free_shipping_over_eur;"
    "default_lead_time_days\n"
    "lyonpneu;Lyon Pneu;fr;Lyon;oui;12,50;300;3\n"
    "TAICHUNG;Taichung Cycle;TW;Taichung;non;145;;45\n"
).encode()
SUPPLIERS_EN = (
    b"code,name,country,local,shipping_fee_eur\n"
    b"LYONPNEU,Lyon Pneu,FR,yes,12.50\n"
    b"TAICHUNG,Taichung Cycle,TW,no,145.00\n"
)


@pytest.mark.parametrize("data", [SUPPLIERS_FR, SUPPLIERS_EN], ids=["french", "english"])
def test_suppliers_import_in_both_dialects(db_session, data):
    result = import_suppliers(data)
    assert (result.created, result.updated) == (2, 0)
    lyon = db.session.scalar(select(Supplier).where(Supplier.code == "LYONPNEU"))
    assert (lyon.country, lyon.is_local, lyon.shipping_fee) == ("FR", True, D("12.50"))
    assert lyon.origin == "local"
    assert import_suppliers(data).updated == 2
    assert count(Supplier) == 2


def test_bad_suppliers_are_all_reported(db_session):
    data = b"code;name;country;local;shipping_fee_eur\nA;A;XX;maybe;-3\nB;B;FR;no;abc\n"
    assert errors_of(import_suppliers, data) == [
        "line 2, column country: code pays ISO inconnu : 'XX' (attendu : FR, IT, TW…)",
        "line 2, column local: oui ou non attendu, pas 'maybe'",
        "line 2, column shipping_fee_eur: doit être au moins 0",
        "line 3, column shipping_fee_eur: nombre attendu, pas 'abc'",
    ]
    assert count(Supplier) == 0


def test_parts_import_checks_ean_and_vat(db_session):
    good = (
        b"sku;name;category;weight_g;vat_rate;ean\n"
        b"TYR-700X28;Pneu 700x28;pneus;290;0,20;4006633105026\n"
        b"TUB-700;Chambre 700;chambres;;;\n"
    )
    assert import_parts(good).created == 2
    tube = db.session.scalar(select(Part).where(Part.sku == "TUB-700"))
    assert (tube.vat_rate, tube.unit, tube.ean) == (D("0.2000"), "piece", None)
    bad = b"sku;name;vat_rate;ean\nX1;X;20;4006633105028\nX2;Y;;4006633105026\n"
    assert errors_of(import_parts, bad) == [
        "line 2, column vat_rate: taux en fraction attendu (0,20 pour 20 %), pas '20'",
        "line 2, column ean: code EAN-13 invalide (clé de contrôle fausse)",
        "line 3, column ean: EAN déjà celui de la pièce TYR-700X28",
    ]


@pytest.fixture
def catalogue(make):
    make.supplier(code="LYONPNEU", country="FR", is_local=True, default_lead_time_days=3)
    make.supplier(code="TAICHUNG", country="TW", default_lead_time_days=45)
    make.part(sku="TYR-700X28")
    make.part(sku="CHN-11S")


OFFERS = (
    b"supplier_code;sku;min_qty;unit_price_eur;supplier_ref;made_in;pack_size;moq;valid_until\n"
    b"LYONPNEU;TYR-700X28;1;24,00;LP-28;;1;0;31/12/2026\n"
    b"LYONPNEU;TYR-700X28;10;21,90;LP-28;;1;0;31/12/2026\n"
    b"TAICHUNG;CHN-11S;100;9,80;TC-11;TW;50;100;\n"
    b"TAICHUNG;TYR-700X28;50;16,00;TC-28;;50;;\n"
)


def test_offers_import_one_row_per_tier(catalogue):
    result = import_offers(OFFERS)
    assert (result.created, result.updated) == (3, 0)
    lyon = db.session.scalar(select(Offer).join(Offer.supplier).where(Supplier.code == "LYONPNEU"))
    assert current_tiers(lyon) == [(1, D("24.0000")), (10, D("21.9000"))]
    assert (lyon.made_in, lyon.supplier_ref, lyon.valid_until.isoformat()) == (
        "FR",
        "LP-28",
        "2026-12-31",
    )
    assert lyon.lead_time_days is None and lyon.effective_lead_time_days == 3
    assert lyon.origin == "local"


def test_reimporting_the_same_price_list_changes_nothing(catalogue):
    import_offers(OFFERS)
    tiers_before = count(PriceTier)
    again = import_offers(OFFERS)
    assert (again.created, again.updated) == (0, 3)
    assert count(PriceTier) == tiers_before
    assert count(Offer) == 3


def test_a_reimported_offer_replaces_its_tiers_and_keeps_the_old_ones(catalogue):
    import_offers(OFFERS)
    offer = db.session.scalar(select(Offer).where(Offer.supplier_ref == "LP-28"))
    first_prices_at = db.session.scalar(
        select(PriceTier.valid_from).where(PriceTier.offer_id == offer.id)
    )
    new = b"supplier_code;sku;min_qty;unit_price_eur\nLYONPNEU;TYR-700X28;5;22.40\n"
    import_offers(new)
    db.session.expire_all()
    assert current_tiers(offer) == [(5, D("22.4000"))]
    assert tiers_on(offer, first_prices_at) == [(1, D("24.0000")), (10, D("21.9000"))]
    assert offer.supplier_ref == "LP-28"  # a column the file lacks is left alone


def test_bad_offers_are_all_reported_and_nothing_is_written(catalogue):
    data = (
        b"supplier_code;sku;min_qty;unit_price_eur;pack_size\n"
        b"NOPE;TYR-700X28;1;10;1\n"
        b"LYONPNEU;UNKNOWN;1;10;1\n"
        b"LYONPNEU;TYR-700X28;1;10;1\n"
        b"LYONPNEU;TYR-700X28;1;9;1\n"
        b"LYONPNEU;TYR-700X28;10;9;6\n"
        b"TAICHUNG;CHN-11S;0;-1;0\n"
    )
    assert errors_of(import_offers, data) == [
        "line 2, column supplier_code: fournisseur NOPE inconnu",
        "line 3, column sku: pièce UNKNOWN inconnue du catalogue",
        "line 5, column min_qty: palier 1 déjà donné ligne 4",
        "line 6, column pack_size: doit être identique à la ligne 4 de la même offre (1)",
        "line 7, column min_qty: doit être au moins 1",
        "line 7, column unit_price_eur: doit être strictement positif",
        "line 7, column pack_size: doit être au moins 1",
    ]
    assert count(Offer) == 0
    assert count(PriceTier) == 0


def test_suppliers_import_their_street_address_and_a_checked_vat_number(client, make):
    import io

    from coop.accounts.models import Role

    client.login_as(make.user(Role.MANAGER))
    header = "code;name;country;address;postcode;city;vat_number\n"

    def upload(row: str):
        data = {"file": (io.BytesIO((header + row).encode()), "suppliers.csv")}
        return client.post("/import/suppliers", data=data, content_type="multipart/form-data")

    refused = upload("CICLI;Cicli Milano;IT;Via Torino 12;20123;Milano;IT00000000000\n")
    assert refused.status_code == 422 and "vat_number" in refused.text
    assert count(Supplier) == 0
    assert (
        upload("CICLI;Cicli Milano;IT;Via Torino 12;20123;Milano;IT 00743110157\n").status_code
        == 302
    )
    supplier = db.session.scalar(select(Supplier))
    assert (supplier.address, supplier.postcode, supplier.city, supplier.vat_number) == (
        "Via Torino 12",
        "20123",
        "Milano",
        "IT00743110157",
    )
