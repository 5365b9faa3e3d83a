"""The coop's identity: the admin's settings page, its checks, and the documents that print it."""

import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.accounts.identity import (
    LOGO_MAX_BYTES,
    InvalidIdentity,
    coop_identity,
    letterhead,
    postal_address,
    save_identity,
)
from coop.accounts.models import CoopIdentity, Role
from coop.activity.models import Activity
from coop.extensions import db
from coop.orders.purchasing import ordering
from tests.orders.purchasing.test_purchase_orders import build_plan, committed, pdf_text

URL = "/settings/identity"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10"/></svg>'


def valid(**changes) -> dict:
    values = {
        "name": "Les Rayons Lyonnais",
        "legal_form": "SCIC SAS à capital variable",
        "siren": "812 345 676",
        "vat_number": "FR 19 812345676",
        "address": "8 quai Perrache\nBâtiment B",
        "postcode": "69002",
        "city": "Lyon",
        "country": "FR",
        "email": "Compta@Rayons-Lyonnais.example",
        "phone": "04 72 00 00 00",
        "iban": "fr76 3000 6000 0112 3456 7890 189",
        "bic": "agrifrpp",
        "payment_terms_days": "45",
        "late_payment_rate": "taux directeur de la BCE majoré de 10 points",
        "account_customers": "411",
        "account_goods": "707",
        "account_shipping": "7085",
        "account_fee": "706",
        "account_vat": "44571",
        "account_bank": "512",
        "account_bank_fees": "627",
        "reminder_days": "7, 21, 45",
    }
    values.update(changes)
    return values


def saved_count() -> int:
    return db.session.scalar(select(func.count()).select_from(CoopIdentity))


@pytest.fixture
def admin(client, make):
    user = make.user(Role.ADMIN)
    client.login_as(user)
    return user


# --- the service --------------------------------------------------------------------------------


def test_before_any_save_the_identity_comes_from_the_settings_and_is_not_stored(db_session):
    identity = coop_identity()
    assert identity.name == "Coopérative vélo Lyon"
    assert identity.siren == "812345676"
    assert identity.address == "12 rue Paul Bert"
    assert (identity.postcode, identity.city) == ("69003", "Lyon")
    assert identity.payment_terms_days == 30
    assert identity.account_customers == "411"
    assert saved_count() == 0


def test_saving_stores_one_row_with_normalised_values(db_session):
    identity = save_identity(valid())
    db.session.commit()
    assert saved_count() == 1
    assert identity.id == 1
    assert identity.siren == "812345676"
    assert identity.vat_number == "FR19812345676"
    assert identity.iban == "FR7630006000011234567890189"
    assert identity.bic == "AGRIFRPP"
    assert identity.email == "Compta@rayons-lyonnais.example"
    assert identity.payment_terms_days == 45
    assert postal_address(identity) == "8 quai Perrache\nBâtiment B\n69002 Lyon"
    save_identity(valid(name="Rayons Lyonnais SCIC"))
    db.session.commit()
    assert saved_count() == 1
    assert coop_identity().name == "Rayons Lyonnais SCIC"


def test_every_bad_field_is_reported_at_once(db_session):
    with pytest.raises(InvalidIdentity) as refused:
        save_identity(valid(siren="123", iban="FR00", account_vat="4457A"))
    assert {e.field for e in refused.value.errors} == {"siren", "iban", "account_vat"}
    assert saved_count() == 0


# --- the page -----------------------------------------------------------------------------------


def test_the_admin_sees_the_form_filled_from_the_settings(client, admin):
    page = client.get(URL).text
    assert "Identité légale" in page
    assert "Comptes comptables (FEC)" in page
    assert 'value="Coopérative vélo Lyon"' in page
    assert "Pas encore enregistrée" in page


def test_the_admin_saves_a_valid_identity(client, admin):
    response = client.post(URL, data=valid())
    assert response.status_code == 302
    assert response.location == URL
    page = client.get(URL).text
    assert "Identité de la coopérative enregistrée." in page
    assert "FR76 3000 6000 0112 3456 7890 189" in page  # shown grouped, stored compact
    identity = db.session.get(CoopIdentity, 1)
    assert identity.name == "Les Rayons Lyonnais"
    assert identity.iban == "FR7630006000011234567890189"
    # Left out: the fee is part of the goods' price, the purchase accounts the usual ones.
    assert identity.fee_treatment == "goods"
    assert (identity.account_suppliers, identity.account_vat_import) == ("401", "445662")


def test_the_admin_bills_the_fee_as_a_service_and_sets_the_purchase_accounts(client, admin):
    page = client.get(URL).text
    assert "Comptes des achats (FEC)" in page and "Prestation de services (706)" in page
    chosen = {
        "fee_treatment": "service",
        "account_vat_pending": "445740",
        "account_suppliers": "40100000",
        "account_purchases": "6070",
        "account_purchase_shipping": "6241",
        "account_vat_deductible": "445660",
        "account_vat_self_assessed": "445200",
        "account_vat_import": "4456620",
    }
    assert client.post(URL, data=valid(**chosen)).status_code == 302
    identity = db.session.get(CoopIdentity, 1)
    assert {name: getattr(identity, name) for name in chosen} == chosen


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "  ", "Ce champ est obligatoire."),
        ("siren", "81234567", "Le SIREN compte 9 chiffres, pas 8."),
        ("siren", "812345677", "Ce SIREN n&#39;existe pas (clé de contrôle fausse)."),
        ("vat_number", "FR00812345676", "Numéro de TVA invalide (clé de contrôle fausse)."),
        ("vat_number", "FR44732829320", "Ce numéro de TVA ne correspond pas au SIREN 812345676."),
        ("address", "", "Ce champ est obligatoire."),
        ("postcode", "6900", "Code postal invalide (5 chiffres)."),
        ("country", "ZZ", "Pays inconnu."),
        ("email", "compta@", "Adresse e-mail invalide"),
        ("phone", "appelez-nous", "Numéro de téléphone invalide"),
        ("iban", "FR7630006000011234567890188", "IBAN invalide (clé de contrôle fausse)."),
        ("iban", "30006000011234567890189", "IBAN invalide (attendu : FR76"),
        ("bic", "AGRI", "BIC invalide (8 ou 11 caractères"),
        ("payment_terms_days", "61", "Indiquez un nombre entier de jours, de 0 à 60."),
        ("payment_terms_days", "-5", "Indiquez un nombre entier de jours, de 0 à 60."),
        ("payment_terms_days", "trente", "Indiquez un nombre entier de jours, de 0 à 60."),
        ("late_payment_rate", "", "Ce champ est obligatoire."),
        ("account_customers", "411-A", "Un numéro de compte ne contient que des chiffres"),
        ("account_bank", "51", "Un numéro de compte ne contient que des chiffres"),
        ("account_vat", "", "Ce champ est obligatoire."),
        ("registry", "RCX", "Registre inconnu : RCS ou RM."),
        ("share_capital", "quinze mille", "Indiquez un montant en euros, comme 15 000"),
        ("share_capital", "-5", "Indiquez un montant en euros, comme 15 000"),
        ("share_capital", "10,555", "Le capital s&#39;écrit au centime près."),
        ("account_rebates", "7O9", "Un numéro de compte ne contient que des chiffres"),
        ("account_suppliers", "401A", "Un numéro de compte ne contient que des chiffres"),
        ("account_vat_import", "44", "Un numéro de compte ne contient que des chiffres"),
        ("fee_treatment", "gift", "Traitement inconnu : marchandises ou prestation de services."),
        ("reminder_days", "7 puis 21", "Indiquez des nombres de jours séparés par des virgules"),
        ("reminder_days", "7,,21", "Indiquez des nombres de jours séparés par des virgules"),
        ("reminder_days", "0,7", "Chaque relance part de 1 à 365 jours après l&#39;échéance."),
        ("reminder_days", "7,400", "Chaque relance part de 1 à 365 jours après l&#39;échéance."),
        ("reminder_days", "21,7", "Les jours vont en croissant, sans doublon."),
        ("reminder_days", "7,7", "Les jours vont en croissant, sans doublon."),
        ("reminder_days", "1,2,3,4,5,6,7", "6 relances au plus."),
    ],
)
def test_a_bad_field_is_refused_next_to_it_and_nothing_is_written(
    client, admin, field, value, message
):
    response = client.post(URL, data=valid(**{field: value}))
    assert response.status_code == 200
    assert message in response.text
    assert f'id="{field}-error"' in response.text
    assert "Rien n'a été enregistré" in response.text.replace("&#39;", "'")
    assert saved_count() == 0


def test_the_reminder_steps_are_stored_tidy_and_blank_means_the_usual_ones(db_session):
    assert save_identity(valid(reminder_days=" 5 ,15,30,60,90, 365")).reminder_days == (
        "5,15,30,60,90,365"
    )
    assert save_identity(valid(reminder_days="")).reminder_days == "7,21,45"
    assert coop_identity().reminder_days == "7,21,45"


def test_the_admin_sees_and_changes_the_reminder_steps(client, admin):
    assert 'value="7,21,45"' in client.get(URL).text
    assert client.post(URL, data=valid(reminder_days="10, 30")).status_code == 302
    assert db.session.get(CoopIdentity, 1).reminder_days == "10,30"


def test_what_was_typed_stays_in_the_form_after_an_error(client, admin):
    page = client.post(URL, data=valid(siren="812345677", name="Rayons & Cie")).text
    assert 'value="812345677"' in page
    assert 'value="Rayons &amp; Cie"' in page
    assert 'value="04 72 00 00 00"' in page


def test_a_refused_save_leaves_the_saved_identity_as_it_was(client, admin):
    client.post(URL, data=valid())
    client.post(URL, data=valid(name="Autre nom", bic="AGRI"))
    db.session.expire_all()
    assert db.session.get(CoopIdentity, 1).name == "Les Rayons Lyonnais"


# --- the logo -----------------------------------------------------------------------------------


def upload(data: bytes, filename: str):
    return (io.BytesIO(data), filename)


@pytest.mark.parametrize(("data", "filename"), [(PNG, "logo.png"), (SVG, "logo.svg")])
def test_a_png_or_svg_logo_is_kept_and_previewed(client, admin, data, filename):
    response = client.post(URL, data=valid(logo=upload(data, filename)))
    assert response.status_code == 302
    identity = db.session.get(CoopIdentity, 1)
    assert identity.logo == data
    assert identity.logo_type == ("image/png" if filename.endswith("png") else "image/svg+xml")
    page = client.get(URL).text
    assert f'src="data:{identity.logo_type};base64,' in page
    assert "Retirer le logo actuel" in page


def test_saving_without_a_file_keeps_the_logo_and_the_box_removes_it(client, admin):
    client.post(URL, data=valid(logo=upload(PNG, "logo.png")))
    client.post(URL, data=valid(name="Sans changement de logo"))
    assert db.session.get(CoopIdentity, 1).logo == PNG
    client.post(URL, data=valid(remove_logo="y"))
    identity = db.session.get(CoopIdentity, 1)
    assert identity.logo is None
    assert identity.logo_type is None


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"\xff\xd8\xff\xe0 a JPEG", "logo.png", "Le logo doit être une image PNG ou SVG."),
        (b"GIF89a", "logo.gif", "Le logo doit être une image PNG ou SVG."),
        (b"%PDF-1.7", "logo.svg", "Le logo doit être une image PNG ou SVG."),
        (PNG + b"\x00" * LOGO_MAX_BYTES, "logo.png", "Le logo dépasse 200 Ko"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            "Le logo SVG contient du script",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><rect onload="alert(1)"/></svg>',
            "logo.svg",
            "Le logo SVG contient du script",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            b'<image xlink:href="https://tracker.example/pixel.png"/></svg>',
            "logo.svg",
            "Le logo SVG appelle une ressource externe (https://tracker.example/pixel.png)",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><use href="file:///etc/passwd#x"/></svg>',
            "logo.svg",
            "Le logo SVG appelle une ressource externe (file:///etc/passwd#x)",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
            "logo.svg",
            "Le logo SVG déclare des entités XML",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>', "logo.svg", "XML mal formé"),
    ],
)
def test_a_bad_logo_is_refused_and_nothing_is_written(client, admin, data, filename, message):
    response = client.post(URL, data=valid(logo=upload(data, filename)))
    assert response.status_code == 200
    assert message in response.text.replace("&#39;", "'")
    assert 'id="logo-error"' in response.text
    assert saved_count() == 0


def test_an_svg_may_point_inside_itself_or_embed_data(db_session):
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<defs><linearGradient id="g"/></defs><rect fill="url(#g)" width="4" height="4"/>'
        b'<use xlink:href="#g"/><image href="data:image/png;base64,iVBORw0KGgo="/></svg>'
    )
    assert save_identity(valid(logo=svg)).logo_type == "image/svg+xml"


# --- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MANAGER, Role.TREASURER, Role.MEMBER])
def test_only_the_admin_reaches_the_page(client, make, role):
    client.login_as(make.user(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, data=valid()).status_code == 403
    assert saved_count() == 0


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.post(URL, data=valid())
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert saved_count() == 0


@pytest.mark.parametrize(
    ("given", "missing"),
    [({"registry": "RCS"}, "registry_city"), ({"registry_city": "Lyon"}, "registry")],
)
def test_a_registry_without_its_city_or_a_city_alone_is_refused(client, admin, given, missing):
    response = client.post(URL, data=valid(**given))
    assert response.status_code == 200
    assert "Indiquez le registre (RCS ou RM) et la ville de son greffe" in response.text
    assert f'id="{missing}-error"' in response.text
    assert saved_count() == 0


def test_the_registry_the_capital_and_the_vat_option_are_stored_and_logged(db_session):
    save_identity(valid(legal_form="SCIC SAS"))
    identity = save_identity(
        valid(
            legal_form="SCIC SAS",
            registry="rcs",
            registry_city=" Lyon ",
            share_capital="15 000,50 €",
            vat_on_debits="y",
        )
    )
    assert (identity.registry, identity.registry_city) == ("RCS", "Lyon")
    assert identity.share_capital == Decimal("15000.50")
    assert (identity.vat_on_debits, identity.variable_capital) == (True, False)
    assert identity.account_rebates == "709"  # left blank: the usual account
    assert letterhead()["legal_line"] == (
        "SCIC SAS au capital de 15\xa0000,50\xa0€ · RCS Lyon 812 345 676"
    )
    entry = db.session.scalars(
        select(Activity)
        .where(Activity.action == "settings.identity_changed")
        .order_by(Activity.id.desc())
    ).first()
    assert entry.details == {
        "registry": {"from": None, "to": "RCS"},
        "registry_city": {"from": None, "to": "Lyon"},
        "share_capital": {"from": None, "to": "15000.50"},
        "vat_on_debits": {"from": False, "to": True},
    }


def test_a_variable_capital_prints_so_and_the_form_keeps_the_boxes(client, admin):
    data = valid(legal_form="SCIC SAS", registry="RM", registry_city="Lyon")
    data.update(variable_capital="y", vat_on_debits="y")
    assert client.post(URL, data=data).status_code == 302
    identity = db.session.get(CoopIdentity, 1)
    assert (identity.variable_capital, identity.vat_on_debits) == (True, True)
    assert letterhead()["legal_line"] == "SCIC SAS à capital variable · RM Lyon 812 345 676"
    page = client.get(URL).text
    assert 'id="variable_capital" name="variable_capital" type="checkbox" value="y"' in page


def test_the_admin_finds_the_page_in_the_menu(client, admin):
    assert f'href="{URL}"' in client.get("/").text


# --- the documents ------------------------------------------------------------------------------


def test_the_purchase_order_pdf_prints_the_saved_identity(make):
    save_identity(valid(logo=PNG_LOGO))
    db.session.commit()
    order = committed(build_plan(make))[0]
    text = pdf_text(ordering.render_order_pdf(order))
    for expected in ("Les Rayons Lyonnais", "8 quai Perrache", "SIREN 812345676", "FR19812345676"):
        assert expected in text, expected
    assert "RCS" not in text  # none given
    assert "Coopérative vélo Lyon" not in text
    coop = letterhead()
    assert coop["logo"].startswith("data:image/png;base64,")
    assert coop["hub_address"].startswith("Lieu totem")


def test_the_purchase_order_pdf_prints_the_registry_and_capital(make):
    save_identity(valid(registry="RCS", registry_city="Lyon", share_capital="8000"))
    db.session.commit()
    order = committed(build_plan(make))[0]
    text = pdf_text(ordering.render_order_pdf(order))
    assert "SCIC SAS à capital variable · RCS Lyon 812 345 676" in text


# A real 1x1 PNG, so that WeasyPrint draws it in the PDF header.
PNG_LOGO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0000003010100c9fe92ef"
    "0000000049454e44ae426082"
)
