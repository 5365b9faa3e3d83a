"""The relocation board: demand by part and family and origin, landed costs, the page."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from coop.accounts.models import Role
from coop.clock import today
from coop.csv_export import as_typed
from coop.extensions import db
from coop.relocation import board
from coop.relocation.purchases import Period, default_period
from coop.suppliers.models import AgreementStatus, FrameworkAgreement
from coop.suppliers.origin import Origin
from tests.relocation.board.worlds import catalogue, first_campaign, pooled

D = Decimal
URL = "/relocalisation/tableau"


@pytest.fixture
def world(make):
    w = catalogue(make)
    first_campaign(make, w, today() - timedelta(days=30))
    return w


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))


def test_the_board_sums_the_campaigns_split_by_part_family_and_origin(world):
    b = board.build_board(default_period(today()), today())
    chain, tyre = b.parts  # largest spend first: chains 252.00, tyres 168.00
    assert (chain.part, chain.units, chain.spend) == (world.chain, 30, D("252.00"))
    assert chain.bought.units[Origin.ASIA] == 30 and chain.bought.share(Origin.ASIA) == 1
    assert (tyre.units, tyre.spend) == (12, D("168.00"))
    assert [(f.category, f.parts, f.bought.total_spend) for f in b.families] == [
        ("chaines", 1, D("252.00")),
        ("pneus", 1, D("168.00")),
    ]
    assert b.totals.total_spend == D("420.00") and b.totals.total_units == 42


def test_landed_costs_of_a_hand_computed_campaign(world):
    chain, tyre = board.build_board(default_period(today()), today()).parts
    # 30 chains in one campaign: TAIWAN's tier of 20, 6.00; its fees over its goods in the
    # period 120.00 / 300.00 = 40 %, 2.40 a unit; the 10 % Asian penalty, 0.60.
    asia = chain.asia
    assert (asia.offer.supplier.code, asia.quantity) == ("TAIWAN", 30)
    assert (asia.unit_price, asia.shipping, asia.penalty, asia.per_unit) == (
        D("6.0000"),
        D("2.4000"),
        D("0.6000"),
        D("9.0000"),
    )
    # FORGE was not bought from: 30 at 8.40 = 252.00 reach its free shipping (200.00).
    assert (chain.local.offer.supplier.code, chain.local.per_unit) == ("FORGE", D("8.4000"))
    # OUEST neither: 8.50 and its whole fee on the line, 25.00 / 30 = 0.8333.
    assert (chain.france.shipping, chain.france.per_unit) == (D("0.8333"), D("9.3333"))
    assert chain.breakeven == D("6.6000") and not chain.asia_only
    # Tyres: nobody but TAIWAN offers them.
    assert tyre.asia_only and tyre.local is None and tyre.france is None
    assert tyre.asia.per_unit == D("10.0000") + D("4.0000") + D("1.0000")


def test_a_period_without_the_campaign_shows_nothing(world):
    old = Period(date(2020, 1, 1), date(2020, 12, 31))
    assert board.build_board(old, today()).parts == []


def test_the_table_is_searched_filtered_and_sorted(world):
    lines = board.build_board(default_period(today()), today()).parts
    assert [x.part.sku for x in board.filtered_lines(lines, "pneu 700")] == ["TYR-28"]
    assert [x.part.sku for x in board.filtered_lines(lines, category="chaines")] == ["CHN-8"]
    assert [x.part.sku for x in board.filtered_lines(lines, asia_only=True)] == ["TYR-28"]
    assert [x.part.sku for x in board.sorted_lines(lines, "units", False)] == ["TYR-28", "CHN-8"]
    assert [x.part.sku for x in board.sorted_lines(lines, "breakeven", True)] == [
        "TYR-28",
        "CHN-8",
    ]


def test_an_agreement_shows_what_its_period_bought_and_the_pace(world, make):
    agreement = FrameworkAgreement(
        code="ACC-2026-01",
        offer=world.offers["taiwan_chain"],
        committed_qty=150,
        shortfall_fee=D("1.50"),
        valid_from=today() - timedelta(days=60),
        valid_to=today() + timedelta(days=300),
        campaigns_planned=4,
        status=AgreementStatus.ACTIVE,
    )
    db.session.add(agreement)
    db.session.commit()
    (progress,) = board.agreements_progress()
    # One campaign of four bought 30: 120 at this pace, 30 short of 150 (45.00 of fees).
    assert (progress.bought, progress.campaigns_done, progress.expected) == (30, 1, 120)
    assert progress.expected_shortfall == 30 and progress.share_bought == D("0.200")


def test_the_page_shows_the_board_to_the_manager_and_the_treasurer(client, make, world):
    for role in (Role.MANAGER, Role.TREASURER):
        client.login_as(make.user(role))
        page = client.get(URL).get_data(as_text=True)
        assert "CHN-8" in page and '<strong class="nowrap">9,00\u00a0€</strong>' in page
        assert "<strong>6,60\u00a0€</strong>" in page  # the chains' break-even
        assert "Part de la dépense par origine, campagne par campagne" in page  # the SVG's title


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
def test_the_board_is_refused_to_shops_and_the_admin(client, make, world, role):
    client.login_as(make.user(role))
    for path in (URL, f"{URL}/export.csv"):
        assert client.get(path).status_code == 403


def test_the_board_is_paginated(client, make, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "COOP_PAGE_SIZE", 1)
    client.login_as(make.user(Role.MANAGER))
    first = client.get(URL).get_data(as_text=True)
    second = client.get(f"{URL}?page=2&sort=spend&order=desc").get_data(as_text=True)
    assert 'href="/parts/' in first and "CHN-8" in first.split('id="part-table"')[1]
    assert "TYR-28" in second.split('id="part-table"')[1].split("</table>")[0]


def test_the_export_is_the_tables_lines_with_formulas_neutralised(client, make, world):
    world.tyre.name = '=HYPERLINK("http://x")'
    db.session.commit()
    client.login_as(make.user(Role.MANAGER))
    response = client.get(f"{URL}/export.csv?q=TYR-28")
    assert response.mimetype == "text/csv"
    header, row = rows_of(response)
    assert header[:6] == ["SKU", "Désignation", "Famille", "Campagnes", "Unités", "Dépense HT"]
    assert row[1] == '\'=HYPERLINK("http://x")' and as_typed(row[1]) == world.tyre.name
    assert row[:6] == ["TYR-28", row[1], "pneus", "1", "12", "168,00"]
    assert row[header.index("Seulement en Asie")] == "oui"
    assert row[header.index("Prix local d'équilibre")] == "11,0000"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=" + "1" * 100_000, "Date invalide : attendu JJ/MM/AAAA."),
        ("date_from=1999-12-31", "Date trop lointaine"),
        ("date_to=9999-12-31", "Date trop lointaine"),
        ("date_from=2026-06-01&date_to=2026-01-01", "La date de fin doit suivre la date de début."),
        ("date_from=2015-01-01&date_to=2026-01-01", "La période couvre 5 ans au plus."),
    ],
)
def test_a_bad_period_is_refused_with_a_french_message(client, make, world, query, message):
    client.login_as(make.user(Role.MANAGER))
    for path in (URL, f"{URL}/export.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)


def test_a_nul_byte_in_the_period_is_dropped(client, make, world):
    client.login_as(make.user(Role.MANAGER))
    response = client.get(f"{URL}?date_from={today() - timedelta(days=40):%Y-%m-%d}%00&q=CHN%00-8")
    assert response.status_code == 200 and "CHN-8" in response.get_data(as_text=True)


def test_a_period_chosen_shows_its_campaigns_only(client, make, world):
    later = pooled(make, world, [("C", world.tyre, 5, 0)], today())
    client.login_as(make.user(Role.MANAGER))
    page = client.get(f"{URL}?date_from={today():%Y-%m-%d}&date_to={today():%d/%m/%Y}").get_data(
        as_text=True
    )
    assert later.code in page and "CHN-8" not in page.split('id="part-table"')[1]
    assert "1 campagne mutualisée" in page
