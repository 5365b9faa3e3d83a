"""The manager runs a campaign from the screens."""

import csv
import io
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from coop import mail
from coop.accounts.models import Role
from coop.clock import now, today
from coop.extensions import db
from coop.i18n import moment
from coop.orders.campaigns.models import Campaign, CampaignStatus
from coop.suppliers.origin import Origin
from tests.html import form_values


def test_manager_creates_opens_edits_and_closes_a_campaign(client, make):
    make.user(Role.MEMBER, email="shop@example.org", member=make.member(email=None))
    client.login_as(make.user(Role.MANAGER))
    order_on, closes_on = today() + timedelta(days=20), today() + timedelta(days=10)
    response = client.post(
        "/campaigns/new",
        data={
            "code": "2027-01",
            "title": "Janvier",
            "closes_on": closes_on.isoformat(),
            "closes_time": "17:30",
            "order_date": order_on.isoformat(),
            "delivery_mode": "hub",
            "fee_percent": "2,5",
            "penalty_local": "0",
            "penalty_france": "0",
            "penalty_europe": "3",
            "penalty_asia": "15",
            "penalty_other": "10",
            "shortage_rule": "first_posted",
            "shipping_key": "quantity",
        },
    )
    assert response.status_code == 302
    campaign = db.session.scalar(select(Campaign))
    assert (campaign.shortage_rule, campaign.shipping_key) == ("first_posted", "quantity")
    assert (campaign.status, str(campaign.fee_rate), str(campaign.penalty_asia)) == (
        CampaignStatus.DRAFT,
        "0.0250",
        "0.1500",
    )
    local_close = campaign.closes_at.astimezone(UTC)
    assert local_close.minute == 30

    sent = mail.sent_messages()
    sent.clear()
    assert "1 sur 1 recevront un e-mail" in client.get(f"/campaigns/{campaign.id}/status/open").text
    client.post(f"/campaigns/{campaign.id}/status/open")
    assert campaign.status is CampaignStatus.OPEN
    assert [m["To"] for m in sent] == ["shop@example.org"]

    page = client.get(f"/campaigns/{campaign.id}/edit").text
    assert 'value="2,5"' in page and 'value="15"' in page
    client.post(f"/campaigns/{campaign.id}/status/closed")
    assert campaign.status is CampaignStatus.CLOSED
    assert "Rouvrir" in client.get(f"/campaigns/{campaign.id}").text


def test_bad_campaign_forms_say_what_is_wrong_and_write_nothing(client, make):
    client.login_as(make.user(Role.MANAGER))
    response = client.post(
        "/campaigns/new",
        data={
            "code": "X",
            "title": "X",
            "order_date": (today() - timedelta(days=1)).isoformat(),
            "closes_on": today().isoformat(),
            "delivery_mode": "hub",
            "fee_percent": "150",
        },
    )
    assert "Un pourcentage entre 0 et 100 est attendu." in response.text
    assert db.session.scalar(select(Campaign)) is None
    response = client.post(
        "/campaigns/new",
        data={
            "code": "X",
            "title": "X",
            "order_date": (today() + timedelta(days=1)).isoformat(),
            "closes_on": (today() + timedelta(days=5)).isoformat(),
            "delivery_mode": "hub",
        },
    )
    assert "La date de commande ne peut pas précéder la clôture." in response.text
    assert db.session.scalar(select(Campaign)) is None


def test_the_demand_view_exports_csv(client, make):
    campaign = make.campaign()
    part = make.part(sku="TUB-700")
    make.offer(part=part, tiers=((10, "3.00"),), pack_size=10)
    make.need(campaign, part=part, quantity=12)
    client.login_as(make.user(Role.TREASURER))
    response = client.get(f"/campaigns/{campaign.id}/demand.csv")
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("sku;name;shops;requested")
    assert lines[1].split(";")[:8] == [
        "TUB-700",
        part.name,
        "1",
        "12",
        "0",
        lines[1].split(";")[5],
        "10",
        "3,0000",
    ]


def test_the_demand_csv_quotes_a_part_name_a_spreadsheet_would_run_and_keeps_the_numbers(
    client, make
):
    campaign = make.campaign()
    part = make.part(sku="TUB-700", name="@SUM(1+1)*cmd|' /C calc'!A0")
    make.offer(make.supplier(code="-LYON"), part, tiers=((10, "3.00"),), pack_size=10)
    make.need(campaign, part=part, quantity=12)
    client.login_as(make.user(Role.MANAGER))
    response = client.get(f"/campaigns/{campaign.id}/demand.csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[1] == [
        "TUB-700",
        "'@SUM(1+1)*cmd|' /C calc'!A0",
        "1",
        "12",
        "0",
        "'-LYON",
        "10",
        "3,0000",
        "8",
    ]


def test_demand_per_supplier_counts_each_part_at_its_best_offer(client, make):
    campaign = make.campaign()
    lyon, taiwan = make.supplier(name="Lyon Pneu", is_local=True), make.supplier(country="TW")
    tube, tyre = make.part(), make.part()
    make.offer(taiwan, tube, tiers=((10, "3.00"),), pack_size=10)
    make.offer(lyon, tube, tiers=((1, "4.00"),))
    make.offer(lyon, tyre, tiers=((1, "20.00"),))
    make.need(campaign, part=tube, quantity=12)  # Taiwan: 10 at 3.00 beats Lyon at 4.00
    make.need(campaign, part=tyre, quantity=2)  # Lyon: 2 x 20.00
    client.login_as(make.user(Role.MANAGER))
    page = client.get(f"/campaigns/{campaign.id}/demand/suppliers").text
    assert "30,00\xa0€" in page and "40,00\xa0€" in page
    assert "70,00\xa0€" in page  # the total
    per_part = client.get(f"/campaigns/{campaign.id}/demand").text
    assert tube.sku in per_part and tyre.sku in per_part


@pytest.mark.parametrize(("role", "offered"), [(Role.MANAGER, True), (Role.TREASURER, False)])
def test_the_manager_asks_for_quotes_from_the_demand(client, make, role, offered):
    campaign = make.campaign()
    client.login_as(make.user(role))
    page = client.get(f"/campaigns/{campaign.id}/demand").text
    assert (f'href="/rfqs/new?campaign={campaign.id}"' in page) is offered


def test_the_demand_view_finds_requested_parts_without_accents_in_any_order(client, make):
    campaign = make.campaign()
    chain = make.part(sku="CHN-11", name="Chaîne 11 vitesses, attache rapide")
    tyre = make.part(sku="TYR-25", name="Pneu route 700x25C")
    make.part(sku="BRG-6902", name="Roulement 6902-2RS")  # in the catalogue, not requested
    for part in (chain, tyre):
        make.offer(part=part)
        make.need(campaign, part=part, quantity=2)
    client.login_as(make.user(Role.MANAGER))
    page = client.get(f"/campaigns/{campaign.id}/demand?q=CHAINE 11V").text
    assert "CHN-11" in page and "TYR-25" not in page
    page = client.get(f"/campaigns/{campaign.id}/demand?q=700x25 pneu").text
    assert "TYR-25" in page and "CHN-11" not in page
    page = client.get(f"/campaigns/{campaign.id}/demand?q=roulement").text
    assert "Aucune pièce demandée ne correspond." in page and "BRG-6902" not in page


def test_the_manager_saves_a_campaign_edited_and_keeps_its_opening(client, make):
    campaign = make.campaign(title="Décembre")
    opened = campaign.opens_at
    client.login_as(make.user(Role.MANAGER))
    data = {
        "title": "Décembre, pneus",
        "order_date": campaign.order_date.isoformat(),
        "delivery_mode": "hub",
        "fee_percent": "2",
        "shortage_rule": "pro_rata",
        "shipping_key": "value",
    }
    response = client.post(f"/campaigns/{campaign.id}/edit", data=data)
    assert response.status_code == 302
    assert (campaign.title, str(campaign.fee_rate)) == ("Décembre, pneus", "0.0200")
    assert campaign.opens_at == opened


@pytest.mark.parametrize("status", [CampaignStatus.DRAFT, CampaignStatus.OPEN])
def test_a_campaign_edited_from_its_page_keeps_every_term_but_the_new_title(client, make, status):
    closes_at = (now() + timedelta(days=10)).replace(second=0, microsecond=0)  # as the form has it
    campaign = make.campaign(
        draft=status is CampaignStatus.DRAFT,
        fee_rate=Decimal("0.025"),
        closes_at=closes_at,
        penalties={Origin.EUROPE: Decimal("0.03"), Origin.OTHER: Decimal("0.1")},
    )
    terms = (
        campaign.closes_at,
        campaign.order_date,
        campaign.fee_rate,
        campaign.penalty_europe,
        campaign.penalty_other,
        campaign.penalty_asia,
    )
    client.login_as(make.user(Role.MANAGER))
    edit = f"/campaigns/{campaign.id}/edit"
    data = form_values(client.get(edit).text) | {"title": "Titre corrigé"}

    response = client.post(edit, data=data)

    assert response.status_code == 302
    db.session.refresh(campaign)
    assert (campaign.title, campaign.status) == ("Titre corrigé", status)
    assert (
        campaign.closes_at,
        campaign.order_date,
        campaign.fee_rate,
        campaign.penalty_europe,
        campaign.penalty_other,
        campaign.penalty_asia,
    ) == terms


def test_percentages_come_back_as_typed_after_an_error_and_are_stored_as_typed(client, make):
    client.login_as(make.user(Role.MANAGER))
    closes_on = today() + timedelta(days=10)
    typed = {
        "fee_percent": "2,5",
        "penalty_local": "0",
        "penalty_france": "1,25",
        "penalty_europe": "3",
        "penalty_asia": "15",
        "penalty_other": "10",
    }
    response = client.post(
        "/campaigns/new",
        data={
            "code": "2027-02",
            "title": "Février",
            "closes_on": closes_on.isoformat(),
            "order_date": (closes_on - timedelta(days=1)).isoformat(),
            "delivery_mode": "hub",
            "shortage_rule": "pro_rata",
            "shipping_key": "value",
        }
        | typed,
    )
    assert "La date de commande ne peut pas précéder la clôture." in response.text
    data = form_values(response.text)
    assert {name: data[name] for name in typed} == typed

    data["order_date"] = (closes_on + timedelta(days=5)).isoformat()
    assert client.post("/campaigns/new", data=data).status_code == 302
    campaign = db.session.scalar(select(Campaign))
    assert (
        campaign.fee_rate,
        campaign.penalty_france,
        campaign.penalty_europe,
        campaign.penalty_asia,
        campaign.penalty_other,
    ) == (
        Decimal("0.025"),
        Decimal("0.0125"),
        Decimal("0.03"),
        Decimal("0.15"),
        Decimal("0.1"),
    )


@pytest.mark.parametrize("name", ["fee_percent", *(f"penalty_{o.value}" for o in Origin)])
def test_a_bad_percentage_comes_back_as_typed_with_its_error(client, make, name):
    client.login_as(make.user(Role.MANAGER))
    page = client.get("/campaigns/new").text
    data = form_values(page) | {
        "code": "X",
        "title": "X",
        name: "2,5,1",
        "order_date": (today() + timedelta(days=20)).isoformat(),
    }
    response = client.post("/campaigns/new", data=data)
    assert "Nombre attendu" in response.text
    assert form_values(response.text)[name] == "2,5,1"
    assert db.session.scalar(select(Campaign)) is None


def test_a_campaign_closed_early_shows_when_it_closed_and_the_cutoff_it_had(client, make):
    campaign = make.campaign()
    client.login_as(make.user(Role.MANAGER))
    client.post(f"/campaigns/{campaign.id}/status/closed")
    planned, closed = moment(campaign.closes_at), moment(campaign.closed_at)

    page = client.get(f"/campaigns/{campaign.id}").text

    assert f'<dd>close le {closed} <span class="muted">(clôture prévue le {planned})</span>' in page
    listing = client.get("/campaigns/").text
    assert f'<td class="num">{closed}</td>' in listing


def test_opening_a_campaign_mails_each_shops_logins_and_contact_once_and_says_who(client, make):
    make.user(Role.MEMBER, email="velo@example.org", member=make.member(email="Velo@Example.org"))
    make.member(email="contact@roue.example")
    make.member(email=None)
    make.member(email="ferme@example.org", is_active=False)
    campaign = make.campaign(draft=True)
    client.login_as(make.user(Role.MANAGER))
    sent = mail.sent_messages()
    sent.clear()

    page = client.get(f"/campaigns/{campaign.id}/status/open").text
    client.post(f"/campaigns/{campaign.id}/status/open")

    assert "2 sur 3 recevront un e-mail (à leurs comptes et à leur adresse de contact)." in page
    assert "1 atelier n&#39;a ni compte ni adresse e-mail : prévenez-le autrement." in page
    assert sorted(m["To"] for m in sent) == ["contact@roue.example", "velo@example.org"]
