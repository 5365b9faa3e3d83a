"""The impact report: its figures are the sums of its rows, CO2e by hand, the page and PDF."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from coop.accounts.models import Role
from coop.clock import today
from coop.csv_export import as_typed
from coop.extensions import db
from coop.orders.campaigns.models import Need
from coop.relocation import impact as impact_service
from coop.relocation.carbon import Mode
from coop.relocation.purchases import default_period
from coop.suppliers.models import AgreementStatus, FrameworkAgreement
from coop.suppliers.origin import Origin
from tests.relocation.board.worlds import catalogue, first_campaign, pooled

D = Decimal
URL = "/relocalisation/impact"


@pytest.fixture
def world(make):
    """Three campaigns: the first one (all from TAIWAN), 10 chains from FORGE, 30 tubes from
    MORAVIA (the tube has no weight)."""
    w = catalogue(make)
    first_campaign(make, w, today() - timedelta(days=90))
    pooled(make, w, [("C", w.chain, 10, 0)], today() - timedelta(days=30))
    pooled(make, w, [("A", w.tube, 20, 0), ("B", w.tube, 10, 0)], today() - timedelta(days=10))
    return w


def csv_rows(response) -> tuple[list[str], list[dict]]:
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    return rows[0], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def number(cell: str) -> Decimal:
    return D(cell.replace(",", ".")) if cell else D(0)


def test_co2e_by_hand_for_a_part_by_sea_and_a_part_by_road(world):
    report = impact_service.impact_report(default_period(today()))
    by_sku_units = {(r.bought.part.sku, r.bought.units): r for r in report.rows}
    # TAIWAN (TW): 100 km of road to the port, 15 000 km of sea, 320 km of road from Fos:
    # 420 × 0.0916 + 15 000 × 0.0052 = 116.472 kg CO2e a tonne.
    chains_a = by_sku_units[("CHN-8", 12)]  # 12 × 300 g = 0.0036 t: 0.4192992
    assert (chains_a.km(Mode.ROAD), chains_a.km(Mode.SEA)) == (420, 15000)
    assert chains_a.tonne_km == D("55.512") and chains_a.co2e == D("0.419")
    assert by_sku_units[("CHN-8", 18)].co2e == D("0.629")  # 0.0054 t: 0.6289488
    assert by_sku_units[("TYR-28", 12)].co2e == D("0.559")  # 0.0048 t: 0.5590656
    # FORGE in Saint-Étienne: 60 km of road. 10 × 300 g = 0.003 t × 60 × 0.0916 = 0.016488.
    local = by_sku_units[("CHN-8", 10)]
    assert (local.km(Mode.ROAD), local.km(Mode.SEA), local.co2e) == (60, 0, D("0.016"))
    carbon = report.carbon
    assert carbon.by_origin[Origin.ASIA] == D("1.607") and carbon.by_origin[Origin.LOCAL] == D(
        "0.016"
    )
    # The tubes have no weight: counted apart, not guessed.
    assert carbon.rows_without_weight == 2 and carbon.parts_without_weight == {"TUB-700"}
    assert carbon.by_origin[Origin.EUROPE] == 0 and carbon.total == D("1.623")


def test_the_factors_are_settings(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "COOP_CO2E_SEA_KG_PER_TKM", D("0.0100"))
    report = impact_service.impact_report(default_period(today()))
    chains_a = next(r for r in report.rows if r.bought.units == 12 and r.bought.part.sku == "CHN-8")
    # 0.0036 t × (420 × 0.0916 + 15 000 × 0.0100) = 0.6784992
    assert chains_a.co2e == D("0.678") and report.factors[Mode.SEA] == D("0.0100")


def test_savings_against_buying_alone_by_hand(world):
    report = impact_service.impact_report(default_period(today()))
    # First campaign, alone: A's 12 chains 108.00 + 15.00 and B's 18 chains 162.00 + 15.00 at
    # FORGE, A's tyres 120.00 + 120.00 at TAIWAN; pooled: 72.00 + 28.80, 108.00 + 43.20,
    # 120.00 + 48.00. FORGE's 10 chains: 90.00 + 15.00 alone as pooled. Tubes alone:
    # 80.00 + 30.00 and 40.00 + 30.00; pooled 80.00 and 40.00, free from 100.00.
    assert report.savings.on_goods == D("90.00")
    assert report.savings.on_shipping == D("30.00") + D("60.00")
    assert report.savings.total == D("180.00")


def test_the_reports_figures_add_up_to_its_rows(client, make, world):
    client.login_as(make.user(Role.MANAGER))
    page = client.get(URL).get_data(as_text=True)
    _, rows = csv_rows(client.get(f"{URL}/lignes.csv"))
    report = impact_service.impact_report(default_period(today()))
    spend = sum(number(r["Dépense HT"]) for r in rows)
    units = sum(int(r["Unités"]) for r in rows)
    co2e = sum(number(r["kg CO2e"]) for r in rows)
    saved = sum(number(r["Économie"]) for r in rows)
    assert len(rows) == 6 and set(r["Campagne"] for r in rows) == {
        c.code for c in report.purchases.campaigns
    }
    assert (spend, units, co2e, saved) == (D("645.00"), 82, D("1.623"), D("180.00"))
    assert (report.totals.total_spend, report.totals.total_units) == (spend, units)
    assert report.carbon.total == co2e and report.savings.total == saved
    for origin in Origin:
        of_origin = [r for r in rows if r["Origine"] == origin.label]
        assert sum(number(r["Dépense HT"]) for r in of_origin) == report.totals.spend[origin]
    # The page shows the same totals.
    assert "645,00\u00a0€" in page and "180,00\u00a0€" in page and "1,623" in page
    figures = page.split('id="figures"')[1]
    assert '<div class="stat">3</div>' in figures  # shops that posted needs
    assert '<div class="stat">82</div>' in figures


def test_relocation_local_suppliers_and_agreements_in_the_period(world):
    signed = {"committed_qty": 100, "shortfall_fee": D("1.00"), "campaigns_planned": 4}
    start = today() - timedelta(days=30)
    db.session.add_all(
        [
            FrameworkAgreement(
                code="ACC-1",
                offer=world.offers["forge_chain"],
                valid_from=start,
                valid_to=start + timedelta(days=365),
                status=AgreementStatus.ACTIVE,
                **signed,
            ),
            FrameworkAgreement(
                code="ACC-2",
                offer=world.offers["ouest_chain"],
                valid_from=start,
                valid_to=start + timedelta(days=365),
                **signed,
            ),  # still a draft
        ]
    )
    db.session.commit()
    report = impact_service.impact_report(default_period(today()))
    assert report.relocated_parts == [world.chain] and report.relocated_units == 10
    assert report.local_suppliers_added == [world.forge]
    assert report.agreements_signed == 1


def test_the_pdf_is_the_report_on_the_letterhead(client, make, world):
    client.login_as(make.user(Role.TREASURER))
    response = client.get(f"{URL}/rapport.pdf")
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Rapport d'impact" in text and "645,00" in text and "180,00" in text
    assert "CHN-8" in text  # the part relocated


def test_the_rows_spreadsheet_neutralises_formulas(client, make, world):
    row = db.session.scalar(select(Need).where(Need.member_id == world.shops["C"].id))
    row.ref = "=cmd|' /C calc'!A0"
    db.session.commit()
    client.login_as(make.user(Role.MANAGER))
    _, rows = csv_rows(client.get(f"{URL}/lignes.csv"))
    (cell,) = [r["Réf. atelier"] for r in rows if r["Atelier"] == "SHOPC"]
    assert cell == "'=cmd|' /C calc'!A0" and as_typed(cell) == row.ref


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
def test_the_report_is_refused_to_shops_and_the_admin(client, make, world, role):
    client.login_as(make.user(role))
    for path in (URL, f"{URL}/rapport.pdf", f"{URL}/lignes.csv"):
        assert client.get(path).status_code == 403


def test_a_bad_period_is_refused_on_every_format(client, make, world):
    client.login_as(make.user(Role.MANAGER))
    for path in (URL, f"{URL}/rapport.pdf", f"{URL}/lignes.csv"):
        response = client.get(f"{path}?date_from=31/12/2026&date_to=01/01/2026")
        assert response.status_code == 422
        assert "La date de fin doit suivre la date de début." in response.get_data(as_text=True)
