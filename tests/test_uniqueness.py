"""Two requests writing the same unique key: the second gets the form's own error, never a 500."""

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from coop.accounts import auth, members
from coop.accounts.models import Member, Role, User
from coop.clock import now, today
from coop.errors import DomainError
from coop.extensions import db
from coop.imports import run_import
from coop.orders.campaigns.lifecycle import create_campaign
from coop.orders.campaigns.models import Campaign
from coop.suppliers import catalogue
from coop.suppliers.models import Offer, Part, PriceTier, Supplier
from coop.uniqueness import refusing_duplicates, violated_constraint
from tests import factories
from tests.conftest import at_once


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def supplier_form(code: str = "LYONPNEU") -> dict:
    return {"code": code, "name": "Lyon Pneu", "country": "FR", "shipping_fee": "0"}


def supplier_row(code: str = "LYONPNEU") -> dict:
    return {
        "code": code,
        "name": "Lyon Pneu",
        "country": "FR",
        "is_local": False,
        "shipping_fee": Decimal("0.00"),
        "is_active": True,
    }


@contextmanager
def a_rival_writes_first(model, **values):
    """Another transaction's row, committed after the service looked the key up, before its insert.

    The rival's row goes in just before the first flush that inserts a `model`: too late
    for the service's check to see it, as when the rival commits while the service runs.
    """

    waiting = [True]

    def insert(session, _context, _instances):
        if waiting and any(isinstance(row, model) for row in session.new):
            waiting.clear()
            session.connection().execute(sa.insert(model).values(**values))

    event.listen(db.session, "before_flush", insert)
    try:
        yield
    finally:
        event.remove(db.session, "before_flush", insert)


# --- the helper -----------------------------------------------------------------------------------


def test_the_violated_constraint_is_named_on_both_databases(db_session):
    factories.supplier(code="LYONPNEU")
    with pytest.raises(IntegrityError) as raised, db.session.begin_nested():
        db.session.add(Supplier(**supplier_row()))
    assert violated_constraint(raised.value) == "uq_suppliers_code"


def test_a_violated_composite_or_partial_key_is_named_too(db_session):
    offer = factories.offer(tiers=((1, "10.00"),))
    with pytest.raises(IntegrityError) as composite, db.session.begin_nested():
        db.session.add(Offer(supplier=offer.supplier, part=offer.part, made_in="FR"))
    with pytest.raises(IntegrityError) as partial, db.session.begin_nested():
        db.session.add(PriceTier(offer_id=offer.id, min_qty=1, unit_price=Decimal("9.00")))
    assert violated_constraint(composite.value) == "uq_offers_supplier_part"
    assert violated_constraint(partial.value) == "uq_price_tiers_current"


def test_a_named_duplicate_becomes_its_refusal_and_the_transaction_goes_on(db_session):
    factories.supplier(code="LYONPNEU")
    refusal = DomainError("Le code LYONPNEU est déjà pris.", field="code")
    with pytest.raises(DomainError) as raised, refusing_duplicates(uq_suppliers_code=refusal):
        db.session.add(Supplier(**supplier_row()))
    assert raised.value is refusal
    db.session.add(Supplier(**supplier_row("ANNECY")))
    db.session.flush()
    assert count(Supplier) == 2


def test_a_duplicate_on_another_key_is_raised_as_it_was(db_session):
    factories.part(sku="TYR-28")
    refusal = DomainError("Code pris.", field="code")
    with pytest.raises(IntegrityError), refusing_duplicates(uq_suppliers_code=refusal):
        db.session.add(Part(sku="TYR-28", name="Pneu", unit="piece"))


# --- every unique key the forms write, when a rival wrote it first --------------------------------


def test_a_supplier_code_taken_meanwhile_is_the_code_fields_error(client, make):
    client.login_as(make.user(Role.MANAGER))
    with a_rival_writes_first(Supplier, **supplier_row()):
        response = client.post("/suppliers/new", data=supplier_form("lyonpneu"))
    assert response.status_code == 200
    assert "Le code LYONPNEU est déjà pris." in response.text
    assert count(Supplier) == 0


@pytest.mark.parametrize(
    ("rival", "values", "field", "message"),
    [
        ({"sku": "TYR-28"}, {"sku": "TYR-28"}, "sku", "La référence TYR-28 existe déjà."),
        (
            {"sku": "OTHER", "ean": "4006381333931"},
            {"sku": "TYR-28", "ean": "4006381333931"},
            "ean",
            "Ce code EAN est déjà celui d'une autre pièce.",
        ),
    ],
)
def test_a_part_key_taken_meanwhile_is_its_fields_error(db_session, rival, values, field, message):
    defaults = {"name": "Pneu 28", "unit": "piece", "vat_rate": Decimal("0.2"), "is_active": True}
    with a_rival_writes_first(Part, **defaults | rival), pytest.raises(DomainError) as raised:
        catalogue.save_part(None, name="Pneu 28", **values)
    assert (raised.value.field, raised.value.message) == (field, message)


def test_an_offer_made_meanwhile_is_the_supplier_fields_error(db_session):
    supplier, part = factories.supplier(name="Lyon Pneu"), factories.part(sku="TYR-28")
    rival = {
        "supplier_id": supplier.id,
        "part_id": part.id,
        "made_in": "FR",
        "pack_size": 1,
        "moq": 0,
    }
    with a_rival_writes_first(Offer, **rival), pytest.raises(DomainError) as raised:
        catalogue.save_offer(None, supplier=supplier, part=part, tiers=[(1, Decimal("10"))])
    assert (raised.value.field, raised.value.message) == (
        "supplier",
        "Lyon Pneu a déjà une offre pour TYR-28 : modifiez-la.",
    )


def test_prices_changed_meanwhile_are_the_tiers_error(db_session):
    offer = factories.offer(tiers=((1, "10.00"),))
    # The rival replaced the prices too: its tier is current from the moment it commits.
    rival = {"offer_id": offer.id, "min_qty": 5, "unit_price": Decimal("8.00"), "valid_from": now()}
    with a_rival_writes_first(PriceTier, **rival), pytest.raises(DomainError) as raised:
        catalogue.save_offer(
            offer, supplier=offer.supplier, part=offer.part, tiers=[(5, Decimal("9.00"))]
        )
    assert raised.value.field == "tiers"
    assert raised.value.message.startswith("Les prix de cette offre viennent d'être modifiés")


@pytest.mark.parametrize(
    ("rival", "field", "message"),
    [
        (
            {"code": "VELO01", "siret": None},
            "code",
            "Le code VELO01 est déjà pris par un autre adhérent.",
        ),
        (
            {"code": "OTHER", "siret": "73282932000074"},
            "siret",
            "Ce SIRET est déjà celui d'un autre adhérent.",
        ),
    ],
)
def test_a_member_key_taken_meanwhile_is_its_fields_error(db_session, rival, field, message):
    rival = {"name": "Rival", "is_active": True, **rival}
    with a_rival_writes_first(Member, **rival), pytest.raises(DomainError) as raised:
        members.create_member(code="velo01", name="Atelier", siret="73282932000074")
    assert (raised.value.field, raised.value.message) == (field, message)


def test_an_email_taken_meanwhile_is_the_email_fields_error(db_session):
    rival = {
        "email": "atelier@example.org",
        "name": "Rival",
        "password_hash": "x",
        "is_active": True,
    }
    with a_rival_writes_first(User, **rival), pytest.raises(DomainError) as raised:
        auth.create_user("atelier@example.org", "Atelier", "manager", factories.PASSWORD)
    assert (raised.value.field, raised.value.message) == (
        "email",
        "Un compte existe déjà pour atelier@example.org.",
    )


def test_a_campaign_code_taken_meanwhile_is_the_code_fields_error(db_session):
    rival = {
        "code": "C2026-12",
        "title": "Rival",
        "status": "draft",
        "order_date": today(),
        "created_at": now(),
    }
    with a_rival_writes_first(Campaign, **rival), pytest.raises(DomainError) as raised:
        create_campaign("c2026-12", "Décembre", today() + timedelta(days=20), at=now(), draft=True)
    assert (raised.value.field, raised.value.message) == (
        "code",
        "La campagne C2026-12 existe déjà.",
    )


def test_an_import_racing_another_writer_is_refused_whole(client, make):
    client.login_as(make.user(Role.MANAGER))
    data = b"code;name;country\r\nLYONPNEU;Lyon Pneu;FR\r\nANNECY;Annecy Cycles;FR\r\n"
    with a_rival_writes_first(Supplier, **supplier_row()), pytest.raises(DomainError) as raised:
        run_import("suppliers", data)
    assert raised.value.field == "file"
    assert raised.value.message.startswith("Quelqu'un vient d'enregistrer une des lignes")
    assert count(Supplier) == 0


# --- at the same moment (PostgreSQL) --------------------------------------------------------------


def test_three_new_suppliers_with_one_code_at_once_make_one_and_two_form_errors(committing_app):
    with committing_app.app_context():
        manager_id = factories.user(Role.MANAGER).get_id()

    def create(start):
        client = committing_app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = manager_id
        start()
        response = client.post("/suppliers/new", data=supplier_form())
        return response.status_code, "Le code LYONPNEU est déjà pris." in response.text

    answers, refused = at_once(committing_app, create, times=3)
    assert refused == []
    assert sorted(answers) == [(200, True), (200, True), (302, False)]
    with committing_app.app_context():
        assert count(Supplier, Supplier.code == "LYONPNEU") == 1


def test_two_managers_creating_one_shop_at_once_make_one(committing_app):
    def create(start):
        start()
        member = members.create_member(code="VELO01", name="Atelier")
        db.session.commit()
        return member.code

    created, refused = at_once(committing_app, create)
    assert created == ["VELO01"]
    assert refused == ["Le code VELO01 est déjà pris par un autre adhérent."]
    with committing_app.app_context():
        assert count(Member) == 1
