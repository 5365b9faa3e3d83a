"""Calls refuse bad input in French and write nothing; who may do what."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.clock import now, today
from coop.extensions import db
from coop.relocation import calls, files
from coop.relocation.links import token_for
from coop.relocation.models import (
    CallAnswer,
    CallFile,
    CallInvitation,
    CallStatus,
    ManufacturerCall,
)
from tests.html import form_values
from tests.relocation import factories as rf

OVERLONG = "a" * 100_000
TWENTY_DIGITS = "99999999999999999999"


@pytest.fixture
def manager(client, make):
    user = make.user(Role.MANAGER)
    client.login_as(user)
    return user


def call_form(client, make) -> dict:
    make.part(sku="CHN-11S", category="chaines")
    return form_values(client.get("/calls/new?part=CHN-11S").text) | {
        "specification": "Spec",
        "annual_volume": "100",
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": OVERLONG}, "Le champ ne peut pas contenir plus de 200 caractères."),
        ({"annual_volume": TWENTY_DIGITS}, "Au plus 10 000 000 unités."),
        ({"annual_volume": "1e308"}, "N&#39;est pas un entier valide."),
        ({"target_price": "1e308"}, "Au plus 10 000 €."),
        ({"target_price": "Infinity"}, "Nombre attendu"),
        ({"target_price": "0"}, "Le prix doit être strictement positif."),
        ({"duration_months": "121"}, "Au plus 120 mois."),
        ({"deadline_on": "9999-12-31"}, "Date trop lointaine"),
        ({"deadline_on": "2020-01-01"}, "La date limite de réponse est passée."),
        ({"part": "", "category": ""}, "mais pas les deux"),
        ({"part": "INTROUVABLE-42"}, "Aucune pièce"),
        ({"specification": "   "}, "Ce champ est requis."),
    ],
)
def test_a_refused_call_says_why_and_writes_nothing(client, make, manager, changes, message):
    response = client.post("/calls/new", data=call_form(client, make) | changes)
    assert response.status_code == 200
    assert message in response.text
    assert db.session.scalar(select(func.count(ManufacturerCall.id))) == 0


def test_nul_bytes_are_dropped_and_formulas_stored_as_typed(client, make, manager):
    data = call_form(client, make) | {"title": "Cha\x00îne", "specification": "=1+1"}
    assert client.post("/calls/new", data=data).status_code == 302
    call = db.session.scalar(select(ManufacturerCall))
    assert (call.title, call.specification) == ("Chaîne", "=1+1")


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"email": "pas-une-adresse"}, "Adresse e-mail invalide"),
        ({"siret": "12345678901234"}, "Ce SIRET n&#39;existe pas"),
        ({"siret": TWENTY_DIGITS}, "Le SIRET compte 14 chiffres, pas 20"),
        ({"name": OVERLONG}, "Le champ ne peut pas contenir plus de 200 caractères."),
        ({"name": ""}, "Ce champ est requis."),
    ],
)
def test_a_refused_maker_says_why_and_is_not_invited(client, make, manager, changes, field_message):
    call = rf.call()
    data = {"name": "Forge", "email": "forge@gier.example", "siret": make.valid_siret(7)}
    response = client.post(f"/calls/{call.id}/makers", data=data | changes)
    assert response.status_code == 422
    assert field_message in response.text
    assert db.session.scalar(select(func.count(CallInvitation.id))) == 0


def test_a_maker_invited_twice_is_refused(client, make, manager):
    call = rf.call()
    rf.invite(call, email="forge@gier.example")
    data = {"name": "Forge bis", "email": "FORGE@gier.example", "siret": make.valid_siret(8)}
    response = client.post(f"/calls/{call.id}/makers", data=data)
    assert "est déjà invité à cet appel" in response.text
    assert len(call.invitations) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tiers-0-unit_price": "1e308"}, "Au plus 10 000 €."),
        ({"tiers-0-unit_price": "NaN"}, "Nombre attendu"),
        ({"tiers-0-min_qty": TWENTY_DIGITS}, "Au plus 100 000 unités."),
        ({"tiers-0-min_qty": "", "tiers-0-unit_price": ""}, "Au moins un palier de prix"),
        (
            {"tiers-1-min_qty": "1", "tiers-1-unit_price": "8"},
            "Les paliers doivent avoir des quantités strictement croissantes",
        ),
        ({"yearly_capacity": TWENTY_DIGITS}, "Au plus 10 000 000 unités."),
        ({"yearly_capacity": ""}, "Ce champ est requis."),
        ({"lead_time_days": "366"}, "Au plus 365 jours."),
        ({"samples_on": "2020-01-01"}, "La date des échantillons est passée."),
        ({"comment": OVERLONG}, "Le champ ne peut pas contenir plus de 4000 caractères."),
    ],
)
def test_a_refused_answer_says_why_and_writes_nothing(client, make, changes, message):
    call = rf.published(makers=("Forge",))
    token = token_for(call.invitations[0])
    data = form_values(client.get(f"/m/{token}").text, f"/m/{token}") | {
        "tiers-0-min_qty": "1",
        "tiers-0-unit_price": "9,00",
        "lead_time_days": "20",
        "yearly_capacity": "1000",
    }
    response = client.post(f"/m/{token}", data=data | changes)
    assert response.status_code == 422
    assert message in response.text
    assert db.session.scalar(select(func.count(CallAnswer.id))) == 0


def test_a_file_past_the_upload_limit_is_refused(app, client, make, manager, monkeypatch):
    call = rf.call()
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    response = client.post(
        f"/calls/{call.id}/files",
        data={"file": (io.BytesIO(b"%PDF-" + b"0" * 8192), "plan.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "Traceback" not in response.text
    with pytest.raises(Exception, match="Fichier trop gros"):
        files.add_file(call, "plan.pdf", b"%PDF-" + b"0" * 8192)
    db.session.rollback()
    assert db.session.scalar(select(func.count(CallFile.id))) == 0


def test_the_comparison_csv_quotes_a_makers_formulas(client, make, manager):
    call = rf.published(makers=("=Forge",))
    rf.answer(call.invitations[0], tiers=((1, "9.00"), (1000, "8.50")), comment="@SUM(A1)")
    response = client.get(f"/calls/{call.id}/answers.csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][0] == "'=Forge"
    assert rows[1][4] == "1: 9,00 | 1000: 8,50"
    assert rows[1][5] == "8,5000"  # the 1 200 units a year reach the 1 000 tier
    assert rows[1][-1] == "'@SUM(A1)"


def test_a_published_call_only_changes_its_title_and_a_later_deadline(client, make, manager):
    call = rf.published(makers=("Forge",))
    forge = call.invitations[0]
    later = call.deadline_on + timedelta(days=10)
    address = f"/calls/{call.id}/edit"
    data = form_values(client.get(address).text) | {"deadline_on": later.isoformat()}
    assert client.post(address, data=data | {"annual_volume": "5"}).status_code == 302
    db.session.refresh(call)
    assert (call.deadline_on, call.annual_volume) == (later, 1200)
    assert forge.expires_at == call.answer_by
    earlier = data | {"deadline_on": (today() + timedelta(days=1)).isoformat()}
    assert "peut être repoussée, pas avancée" in client.post(address, data=earlier).text


def test_a_draft_edited_keeps_all_but_its_change(client, make, manager):
    call = rf.call(make.part(sku="CHN-11S"))
    address = f"/calls/{call.id}/edit"
    data = form_values(client.get(address).text) | {"annual_volume": "1500"}
    assert client.post(address, data=data).status_code == 302
    db.session.refresh(call)
    assert (call.annual_volume, call.part.sku, call.target_price, call.duration_months) == (
        1500,
        "CHN-11S",
        Decimal("9.5000"),
        24,
    )


def test_publishing_needs_a_maker_and_closing_ends_it(make):
    call = rf.call()
    with pytest.raises(Exception, match="Invitez au moins un fabricant"):
        calls.publish_call(call, at=now())
    db.session.rollback()
    calls.close_call(call, at=now())
    assert call.status is CallStatus.CLOSED
    with pytest.raises(Exception, match="déjà clos"):
        calls.close_call(call, at=now())


def test_a_shop_gets_403_and_the_treasurer_reads_without_writing(client, make):
    call = rf.published(makers=("Forge",))
    answer = rf.answer(call.invitations[0])
    client.login_as(make.user(Role.MEMBER))
    assert client.get("/calls/").status_code == 403
    assert client.get(f"/calls/{call.id}").status_code == 403
    client.login_as(make.user(Role.TREASURER))
    assert client.get(f"/calls/{call.id}").status_code == 200
    assert client.get(f"/calls/{call.id}/answers/{answer.id}/accept").status_code == 403
    assert client.post(f"/calls/{call.id}/close").status_code == 403
    assert client.post(f"/calls/{call.id}/makers", data={"name": "X"}).status_code == 403
    assert call.status is CallStatus.OPEN and len(call.invitations) == 1
