import pytest
from sqlalchemy import func, select

from coop.accounts.models import Member, Role
from coop.extensions import db


@pytest.fixture
def manager(client, make):
    user = make.user(Role.MANAGER)
    client.login_as(user)
    return user


GOOD = {
    "code": "velo01",
    "name": "Atelier Vélo Croix-Rousse",
    "siret": "732 829 320 00074",
    "vat_number": "FR 44 732829320",
    "email": "contact@avcr.example",
    "address": "12 rue d'Austerlitz",
    "postcode": "69004",
    "city": "Lyon",
}


def test_manager_creates_a_member_and_finds_it_in_the_list(client, manager):
    response = client.post("/members/new", data=GOOD)
    assert response.status_code == 302
    member = db.session.scalar(select(Member).where(Member.code == "VELO01"))
    assert member.siret == "73282932000074"
    assert member.vat_number == "FR44732829320"
    listing = client.get("/members/?q=croix").text
    assert "Atelier Vélo Croix-Rousse" in listing


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("siret", "73282932000075", "clé de contrôle fausse"),
        ("siret", "1234", "14 chiffres"),
        ("vat_number", "FR00123456789", "TVA invalide"),
        ("vat_number", "XX123", "TVA"),
        ("email", "contact@", "Adresse e-mail invalide"),
        ("postcode", "6900", "code postal invalide"),
        ("code", "VÉLO 1", "Lettres, chiffres"),
        ("name", "", "Ce champ est requis"),
    ],
)
def test_bad_member_details_are_refused_next_to_the_field(client, manager, field, value, message):
    response = client.post("/members/new", data={**GOOD, field: value})
    assert response.status_code == 200
    assert message.lower() in response.text.lower()
    assert f'value="{value}"' in response.text or not value  # what was typed is kept
    assert db.session.scalar(select(func.count()).select_from(Member)) == 0


def test_code_and_siret_must_be_unique(client, manager, make):
    make.member(code="VELO01")
    assert "déjà pris" in client.post("/members/new", data=GOOD).text
    make.member(code="OTHER", siret="73282932000074")
    page = client.post("/members/new", data={**GOOD, "code": "NEW01"}).text
    assert "déjà celui de l&#39;adhérent OTHER" in page


def test_manager_edits_a_member(client, manager, make):
    member = make.member()
    data = {
        **GOOD,
        "code": member.code,
        "siret": member.siret,
        "city": "Villeurbanne",
        "postcode": "69100",
        "delivery_address": "Hangar 3, port Édouard Herriot",
        "delivery_postcode": "69007",
        "delivery_city": "Lyon",
    }
    assert client.post(f"/members/{member.id}/edit", data=data).status_code == 302
    assert member.city == "Villeurbanne"
    assert member.has_own_delivery_address
    assert "Hangar 3" in client.get(f"/members/{member.id}").text


def test_deactivation_asks_for_confirmation_then_deactivates(client, manager, make):
    member = make.member()
    page = client.get(f"/members/{member.id}/deactivate").text
    assert "Oui, désactiver" in page
    assert member.is_active
    client.post(f"/members/{member.id}/deactivate")
    assert not member.is_active
    assert f">{member.code}<" not in client.get("/members/").text
    assert f">{member.code}<" in client.get("/members/?status=inactive").text
    client.post(f"/members/{member.id}/reactivate")
    assert member.is_active


def test_member_list_paginates_and_searches(client, manager, make):
    for n in range(30):
        make.member(
            code=f"P{n:02d}", name=f"Cycles numéro {n:02d}", city="Bron" if n == 7 else "Lyon"
        )
    first = client.get("/members/").text
    assert "P00" in first and "P24" in first and "P25" not in first
    second = client.get("/members/?page=2").text
    assert "P25" in second and "P29" in second
    assert "1–25 sur 30" in first
    found = client.get("/members/?q=bron").text
    assert "P07" in found and "P08" not in found


def test_a_shop_edits_its_contact_details_but_not_its_legal_identity(client, make):
    user = make.user(Role.MEMBER)
    shop = user.member
    client.login_as(user)
    siret, name = shop.siret, shop.name
    response = client.post(
        "/shop/edit",
        data={
            "email": "new@shop.example",
            "phone": "04 72 00 00 00",
            "name": "Changed",
            "siret": "73282932000074",
            "delivery_address": "",
            "delivery_postcode": "",
            "delivery_city": "",
        },
    )
    assert response.status_code == 302
    assert shop.email == "new@shop.example"
    assert (shop.siret, shop.name) == (siret, name)


def test_the_manager_home_lists_members_missing_billing_details(client, manager, make):
    make.member(code="FULL01")
    make.member(code="NOSIRET", siret=None)
    page = client.get("/").text
    assert "NOSIRET" in page
    assert "FULL01" not in page
