"""Search that finds parts: accents, case, word order and punctuation do not matter."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from coop.accounts.models import Role
from coop.demo import DEMO_DATA
from coop.errors import DomainError
from coop.extensions import db
from coop.suppliers import catalogue, importing
from coop.suppliers.models import Offer, Part, Supplier
from coop.suppliers.search import parts_matching, search_key, suppliers_matching

CHAINS = [
    "CHN-10S-114",
    "CHN-11S-118",
    "CHN-11S-118-AC",
    "CHN-12S-126",
    "CHN-12S-138-VAE",
    "CHN-1S-18-112",
    "CHN-1S-332-CG",
    "CHN-8S-116",
    "CHN-8S-136-LT",
    "CHN-9S-116",
    "DRV-TEND-SS",
    "TOL-DERCH-12",
    "TOL-FOUET",
]


@pytest.fixture
def demo_catalogue(db_session):
    """The demo catalogue, imported as a manager would: 12 suppliers, 150 parts, 330 offers."""
    importing.import_suppliers((DEMO_DATA / "suppliers.csv").read_bytes())
    importing.import_parts((DEMO_DATA / "parts.csv").read_bytes())
    importing.import_offers((DEMO_DATA / "offers.csv").read_bytes())
    db.session.commit()


def skus(query: str) -> list[str]:
    return db.session.scalars(parts_matching(query).with_only_columns(Part.sku)).all()


def supplier_codes(query: str) -> list[str]:
    return db.session.scalars(suppliers_matching(query).with_only_columns(Supplier.code)).all()


# --- the key ----------------------------------------------------------------------------------


def test_the_key_drops_accents_case_and_punctuation():
    assert search_key("Chaîne 11 vitesses, ÉCROU") == "chaine 11 vitesses ecrou"
    assert search_key("Cœur ŒUVRE Straße Łódź") == "coeur oeuvre strasse lodz"
    assert search_key("  ") == ""


def test_the_key_cuts_letters_from_digits_and_keeps_each_joined_form():
    assert search_key("Roulement 6902-2RS") == "roulement 6902 2 rs 69022rs"
    assert search_key("Pneu 700x25C") == "pneu 700 x 25 c 700x25c"
    assert search_key("11v") == "11 v 11v"


# --- parts ------------------------------------------------------------------------------------


def test_chaine_finds_the_chains_with_or_without_accent_in_any_case(demo_catalogue):
    assert sorted(skus("chaine")) == CHAINS
    assert skus("chaine") == skus("Chaîne") == skus("CHAÎNE")


def test_chaine_11v_finds_the_11_speed_chains_first(demo_catalogue):
    # "11" also begins 114, 112, 116...: those chains come after the ones that say 11.
    assert skus("CHAINE 11V") == [
        "CHN-11S-118",
        "CHN-11S-118-AC",
        "CHN-10S-114",
        "CHN-1S-18-112",
        "CHN-1S-332-CG",
        "CHN-8S-116",
        "CHN-9S-116",
    ]


def test_a_tyre_size_finds_the_tyre_before_the_tube_of_a_supplier_named_pneu(demo_catalogue):
    # The tube's suppliers include "Lyon Pneu Rechapage" and its references say 700X25.
    assert skus("pneu 700x25") == ["TYR-700X25-TR", "TUB-700X25-P60"]


@pytest.mark.parametrize("query", ["roulement 6902", "6902-2rs", "69022RS", "6902 2RS"])
def test_a_bearing_is_found_however_its_size_is_typed(demo_catalogue, query):
    assert skus(query) == ["BRG-6902-2RS", "BRG-6902-CER"]


def test_word_order_does_not_matter(demo_catalogue):
    assert skus("vitesses 11 chaine") == skus("chaine 11 vitesses") != []


def test_an_ean_finds_its_part_first(demo_catalogue):
    assert skus("8054202210370") == ["TYR-700X25-TR"]
    assert skus("4710243321102")[0] == "CHN-11S-118-AC"


@pytest.mark.parametrize("query", ["SCR-700X25TR20", "scr 700x25tr20", "ocv-700x25tr27"])
def test_a_suppliers_reference_finds_the_part(demo_catalogue, query):
    assert skus(query) == ["TYR-700X25-TR"]


def test_a_supplier_name_finds_its_parts(demo_catalogue):
    offered = db.session.scalars(
        select(Part.sku).join(Offer).join(Supplier).where(Supplier.code == "FORGESTET")
    ).all()
    assert sorted(skus("stephanois")) == sorted(offered) != []
    assert sorted(skus("forges et cycles stéphanois")) == sorted(offered)


def test_an_exact_sku_comes_first_then_sku_prefixes_then_names(make):
    make.part(sku="AAA-1", name="Selle Trek confort")
    make.part(sku="TREK-2", name="Guidoline noire")
    make.part(sku="TREK", name="Câble de frein")
    make.part(sku="AAB-3", name="Sacoche trekking")
    assert skus("trek") == ["TREK", "TREK-2", "AAA-1", "AAB-3"]


def test_a_whole_word_of_the_name_ranks_before_a_word_it_only_begins(make):
    make.part(sku="A-1", name="Pneu tringle souple 29")
    make.part(sku="B-2", name="Pneu 29 renforcé")
    assert skus("pneu 29") == ["A-1", "B-2"]
    make.part(sku="C-3", name="Pneu 290 mm")
    assert skus("pneu 29") == ["A-1", "B-2", "C-3"]
    assert skus("29 mm") == ["C-3"]


def test_no_word_lists_every_part_by_sku(make):
    make.part(sku="B-1", name="Chaîne")
    make.part(sku="A-1", name="Pneu")
    assert skus(" ,; ") == skus("") == ["A-1", "B-1"]


def test_a_search_cannot_inject_like_wildcards(make):
    make.part(sku="A-1", name="Pneu 100% caoutchouc")
    make.part(sku="B-1", name="Chaîne")
    assert skus("%") == ["A-1", "B-1"]  # no word: no filter
    assert skus("_ne") == []
    assert skus("100%") == ["A-1"]


# --- the search text follows the writes -------------------------------------------------------


def test_a_renamed_part_is_found_by_its_new_name_only(make):
    part = make.part(sku="CHN-1", name="Chaîne 9 vitesses")
    catalogue.save_part(part, sku="CHN-1", name="Câble de dérailleur inox")
    db.session.commit()
    assert skus("derailleur inox") == ["CHN-1"]
    assert skus("chaine") == []


def test_a_renamed_supplier_carries_its_parts_with_it(make):
    supplier = make.supplier(code="LP", name="Lyon Pneu", city="Lyon")
    tyre, tube = make.part(sku="TYR-1", name="Pneu"), make.part(sku="TUB-1", name="Chambre")
    make.offer(supplier, tyre)
    make.offer(supplier, tube)
    catalogue.save_supplier(supplier, code="LP", name="Rhône Gomme", country="FR", city="Lyon")
    db.session.commit()
    assert skus("rhone gomme") == ["TUB-1", "TYR-1"]
    assert skus("lyon chambre") == []
    assert supplier_codes("rhone") == ["LP"]


def test_an_offers_new_reference_replaces_the_old_one(make):
    supplier, part = make.supplier(), make.part(sku="TYR-1", name="Pneu")
    offer = make.offer(supplier, part, supplier_ref="OLD-REF-1")
    assert skus("old-ref-1") == ["TYR-1"]
    catalogue.save_offer(
        offer,
        supplier=supplier,
        part=part,
        tiers=[(1, Decimal("9.00"))],
        supplier_ref="NEW-REF-2",
        made_in="FR",
    )
    db.session.commit()
    assert (skus("new ref 2"), skus("old-ref-1")) == (["TYR-1"], [])


def test_a_new_offer_from_another_supplier_adds_its_name(make):
    part = make.part(sku="TYR-1", name="Pneu")
    make.offer(make.supplier(name="Lyon Pneu"), part)
    assert skus("velo") == []
    make.offer(make.supplier(name="Vélo Import"), part)
    assert skus("velo") == ["TYR-1"]


def test_an_unchanged_reimport_rewrites_no_part(demo_catalogue):
    before = dict(db.session.execute(select(Part.sku, Part.updated_at)).tuples().all())
    importing.import_offers((DEMO_DATA / "offers.csv").read_bytes())
    db.session.commit()
    after = dict(db.session.execute(select(Part.sku, Part.updated_at)).tuples().all())
    assert after == before


# --- finding the one part a person means ------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "sku"),
    [
        ("chaine 11v anticorrosion", "CHN-11S-118-AC"),
        ("Chaîne 11 vitesses 118 maillons attache rapide", "CHN-11S-118"),
        ("Chaîne 11 vitesses 118 maillons, attache rapide (CHN-11S-118)", "CHN-11S-118"),
        ("chn-11s-118", "CHN-11S-118"),
        ("8054202210370", "TYR-700X25-TR"),
        ("NVI-69022RS21", "BRG-6902-2RS"),
        ("pneu 700x25 souple", "TYR-700X25-TR"),
    ],
)
def test_the_part_picker_finds_the_one_part_meant(demo_catalogue, typed, sku):
    assert catalogue.find_part(typed).sku == sku


def test_the_part_picker_names_the_candidates_when_several_match(demo_catalogue):
    with pytest.raises(DomainError) as refused:
        catalogue.find_part("chaine 11v")
    assert refused.value.message == (
        "Plusieurs pièces correspondent à « chaine 11v » : CHN-11S-118, CHN-11S-118-AC ; "
        "précisez la référence."
    )


def test_the_part_picker_names_five_parts_and_says_there_are_more(demo_catalogue):
    with pytest.raises(DomainError) as refused:
        catalogue.find_part("chaine")
    assert refused.value.message == (
        "Plusieurs pièces correspondent à « chaine » : CHN-10S-114, CHN-11S-118, "
        "CHN-11S-118-AC, CHN-12S-126, CHN-12S-138-VAE … ; précisez la référence."
    )


def test_the_part_picker_ignores_inactive_parts(make):
    make.part(sku="CHN-1", name="Chaîne 9 vitesses", is_active=False)
    make.part(sku="CHN-2", name="Chaîne 10 vitesses")
    assert catalogue.find_part("chaine").sku == "CHN-2"


# --- suppliers --------------------------------------------------------------------------------


def test_suppliers_are_found_by_code_name_or_city_without_accents(demo_catalogue):
    assert supplier_codes("stephanois") == ["FORGESTET"]
    assert supplier_codes("saint etienne") == ["FORGESTET"]
    assert supplier_codes("koln") == ["RHEINRAD"]
    # "Cycle" is a whole word of the first two names, the start of a word of the others.
    assert supplier_codes("CYCLE") == [
        "SAIGONRUB",
        "TCPRECISION",
        "ALPDIST",
        "FORGESTET",
        "OUESTCYC",
    ]


def test_a_suppliers_exact_code_comes_first(make):
    make.supplier(code="AB", name="Vélo AB")
    make.supplier(code="ABC", name="Atelier Bordeaux")
    make.supplier(code="ZZ", name="AB Distribution")
    assert supplier_codes("ab") == ["AB", "ABC", "ZZ"]


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
def manager(client, make):
    client.login_as(make.user(Role.MANAGER))


def test_the_catalogue_page_finds_parts_without_accents(client, manager, demo_catalogue):
    page = client.get("/parts/?q=CHAINE 11V").text
    assert page.index("CHN-11S-118<") < page.index("CHN-11S-118-AC") < page.index("CHN-1S-18-112")
    assert "CHN-12S-126" not in page
    page = client.get("/parts/?q=roulement 6902&origin=asia").text
    assert "BRG-6902-2RS" in page and "BRG-6902-CER" not in page


def test_the_supplier_list_finds_suppliers_without_accents(client, manager, demo_catalogue):
    page = client.get("/suppliers/?q=stephanois").text
    assert "FORGESTET" in page and "LYONPNEU" not in page
