"""A shop's needs from the catalogue, as CSV files, and what became of its part requests."""

import csv
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.clock import now
from coop.extensions import db
from coop.orders.campaigns import needs as need_service
from coop.orders.campaigns.models import CampaignStatus, Need, PartRequest, RequestStatus

HEADER = [
    "member_code",
    "sku",
    "quantity",
    "tolerance",
    "min_quantity",
    "needed_by",
    "max_unit_price_eur",
    "ref",
]


def rows_of(response) -> list[list[str]]:
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))


@pytest.fixture
def shop(make):
    return make.user(Role.MEMBER, member=make.member(code="VELO01"))


# --- Ajouter à mes besoins --------------------------------------------------------------------


def test_adding_a_catalogue_part_opens_the_need_form_of_the_open_campaign_filled_in(
    client, make, shop
):
    campaign = make.campaign()
    part = make.part(sku="PNEU-700", name="Pneu 700x32C")
    client.login_as(shop)
    assert f'href="/parts/{part.id}/add-to-needs"' in client.get(f"/parts/{part.id}").text
    assert f'href="/parts/{part.id}/add-to-needs"' in client.get("/parts/").text
    response = client.get(f"/parts/{part.id}/add-to-needs")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).text
    assert 'id="need-form"' in page
    assert 'value="Pneu 700x32C (PNEU-700)"' in page
    assert response.headers["Location"].startswith(f"/campaigns/{campaign.id}/needs?")


def test_the_needs_page_forms_show_their_own_state_each_time(client, make, shop):
    """The forms' fields are rendered once per state (coop.forms.kept_fields): a refused post
    shows what was typed and why, the next blank page shows neither, a prefilled one its part,
    and every rendering carries tokens of its own."""
    campaign = make.campaign()
    make.part(sku="PNEU-700", name="Pneu 700x32C")
    client.login_as(shop)
    blank = client.get(f"/campaigns/{campaign.id}/needs").text
    refused = client.post(
        f"/campaigns/{campaign.id}/needs",
        data={"part": "Pneu 700x32C", "quantity": "abc", "tolerance": "0", "ref": "ZX-81"},
    ).text
    assert 'value="ZX-81"' in refused and 'id="quantity-error"' in refused
    again = client.get(f"/campaigns/{campaign.id}/needs").text
    assert 'value="ZX-81"' not in again and 'id="quantity-error"' not in again
    prefilled = client.get(f"/campaigns/{campaign.id}/needs?part=Pneu+700x32C+%28PNEU-700%29")
    assert 'value="Pneu 700x32C (PNEU-700)"' in prefilled.text
    after = client.get(f"/campaigns/{campaign.id}/needs").text
    assert 'value="Pneu 700x32C (PNEU-700)"' not in after
    tokens = re.compile(r'name="(?:req-)?submission_token" type="hidden" value="([^"]+)"')
    assert len(set(tokens.findall(blank)) | set(tokens.findall(again))) == 4  # two forms each


def test_a_need_s_row_and_its_signal_show_each_change(client, make, shop):
    """Rows and signal cells are rendered once per state (coop.orders.campaigns.views): an
    edit, another shop's need and another language each show at once."""
    campaign = make.campaign()
    part = make.part(sku="PNEU-700", name="Pneu 700x32C")
    need = make.need(campaign, shop.member, part, quantity=4)
    client.login_as(shop)
    live = f"/campaigns/{campaign.id}/needs/signals"

    def row() -> str:
        table = client.get(live, headers={"HX-Request": "true"}).text
        return table.split("<tbody>", 1)[1].split("</tr>", 1)[0]

    assert "<strong>4</strong>" in row() and "1 atelier<" in row()
    need.quantity = 7
    db.session.commit()
    assert "<strong>7</strong>" in row() and "<strong>4</strong>" not in row()
    make.need(campaign, make.member(), part, quantity=2)
    assert ">9<br>" in row() and "2 ateliers" in row()
    assert 'data-label="Your quantity"' in client.get(live + "?lang=en").text


def test_adding_a_part_the_shop_already_needs_leads_to_editing_that_need(client, make, shop):
    campaign = make.campaign()
    need = make.need(campaign, shop.member, quantity=4)
    client.login_as(shop)
    response = client.get(f"/parts/{need.part.id}/add-to-needs", follow_redirects=True)
    assert response.request.path == f"/needs/{need.id}/edit"
    assert "Vous avez déjà un besoin pour" in response.text
    assert db.session.scalar(select(func.count()).select_from(Need)) == 1


def test_adding_a_part_with_no_open_campaign_says_so(client, make, shop):
    campaign = make.campaign()
    campaign.status = CampaignStatus.CLOSED
    db.session.commit()
    part = make.part()
    client.login_as(shop)
    response = client.get(f"/parts/{part.id}/add-to-needs", follow_redirects=True)
    assert response.request.path == f"/parts/{part.id}"
    assert "Aucune campagne d&#39;achats groupés n&#39;est ouverte en ce moment" in response.text


def test_another_shop_s_need_for_the_part_is_not_this_shop_s(client, make, shop):
    campaign = make.campaign()
    other = make.need(campaign, make.member(), quantity=4)
    client.login_as(shop)
    response = client.get(f"/parts/{other.part.id}/add-to-needs")
    assert response.headers["Location"].startswith(f"/campaigns/{campaign.id}/needs?")


def test_only_shops_add_parts_to_their_needs(client, make):
    part = make.part()
    client.login_as(make.user(Role.MANAGER))
    assert client.get(f"/parts/{part.id}/add-to-needs").status_code == 403
    assert "Ajouter à mes besoins" not in client.get(f"/parts/{part.id}").text


# --- the CSV files --------------------------------------------------------------------------


def test_the_needs_template_has_the_import_columns_and_one_example_row(client, make, shop):
    campaign = make.campaign()
    make.part(sku="CHN-11")
    client.login_as(shop)
    assert "/needs/template.csv" in client.get(f"/campaigns/{campaign.id}/import").text
    rows = rows_of(client.get(f"/campaigns/{campaign.id}/needs/template.csv"))
    assert rows == [HEADER, ["VELO01", "CHN-11", "10", "2", "8", "", "4,50", "L1"]]


def test_the_shop_s_needs_export_imports_back_unchanged_even_with_a_formula_ref(client, make, shop):
    campaign = make.campaign()
    tyre, chain = make.part(sku="TYR-28"), make.part(sku="CHN-11")
    make.need(
        campaign,
        shop.member,
        tyre,
        quantity=4,
        tolerance=1,
        ref="=1+1",
        max_unit_price=Decimal("22.5"),
        needed_by=campaign.order_date,
    )
    make.need(campaign, shop.member, chain, quantity=10, min_quantity=6, ref="L2")
    make.need(campaign, make.member(code="VELO02"), tyre, quantity=3, ref="L9")
    client.login_as(shop)
    response = client.get(f"/campaigns/{campaign.id}/needs.csv")
    assert 'filename="besoins-' in response.headers["Content-Disposition"]
    rows = rows_of(response)
    assert rows == [
        HEADER,
        ["VELO01", "TYR-28", "4", "1", "4", campaign.order_date.isoformat(), "22,5", "'=1+1"],
        ["VELO01", "CHN-11", "10", "0", "6", "", "", "L2"],
    ]
    response = client.post(
        f"/campaigns/{campaign.id}/import",
        data={"file": (io.BytesIO(response.data), "besoins.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    needs = db.session.scalars(
        select(Need).where(Need.member_id == shop.member.id).order_by(Need.id)
    ).all()
    assert [(n.ref, n.quantity, n.tolerance, n.min_quantity, n.max_unit_price) for n in needs] == [
        ("=1+1", 4, 1, 4, Decimal("22.5000")),
        ("L2", 10, 0, 6, None),
    ]
    assert db.session.scalar(select(func.count()).select_from(Need)) == 3


def test_a_shop_cannot_export_another_shop_s_needs(client, make, shop):
    campaign = make.campaign()
    make.need(campaign, make.member(code="VELO02"), quantity=3, ref="SECRET")
    client.login_as(shop)
    assert client.get(f"/campaigns/{campaign.id}/needs.csv?member=VELO02").status_code == 403
    own = client.get(f"/campaigns/{campaign.id}/needs.csv")
    assert rows_of(own) == [HEADER]


def test_the_manager_exports_a_named_shop_s_needs(client, make, shop):
    campaign = make.campaign()
    make.need(campaign, shop.member, quantity=3, ref="L1")
    client.login_as(make.user(Role.MANAGER))
    rows = rows_of(client.get(f"/campaigns/{campaign.id}/needs.csv?member=velo01"))
    assert [row[0] for row in rows[1:]] == ["VELO01"]
    assert client.get(f"/campaigns/{campaign.id}/needs.csv?member=NOPE").status_code == 404
    assert client.get(f"/campaigns/{campaign.id}/needs.csv").status_code == 403


# --- part requests ------------------------------------------------------------------------


def test_the_needs_page_shows_what_became_of_the_shop_s_part_requests(client, make, shop):
    campaign = make.campaign()
    at = now()
    waiting = need_service.request_part(campaign, shop.member, "Patins Kool-Stop", 4, None, at=at)
    found = need_service.request_part(campaign, shop.member, "Câble Jagwire", 6, None, at=at)
    refused = need_service.request_part(campaign, shop.member, "Moteur 250 W", 1, None, at=at)
    theirs = need_service.request_part(campaign, make.member(), "Selle Brooks", 1, None, at=at)
    cable = make.part(sku="CABLE-JW", name="Câble de frein Jagwire")
    need_service.convert_request(found, cable, at=at)
    refused.status = RequestStatus.DECLINED
    db.session.commit()
    client.login_as(shop)
    page = client.get(f"/campaigns/{campaign.id}/needs").text
    table = page[page.index('id="part-requests"') :]
    table = table[: table.index("</table>")]
    assert waiting.description in table and "En attente" in table
    assert "Devenue un besoin" in table and "CABLE-JW" in table
    assert f"réf. {found.need.ref}" in table
    assert refused.description in table and "Refusée" in table
    assert theirs.description not in page
    assert db.session.scalar(select(func.count()).select_from(PartRequest)) == 4


def test_the_needs_page_has_no_requests_table_without_requests(client, make, shop):
    campaign = make.campaign()
    client.login_as(shop)
    assert 'id="part-requests"' not in client.get(f"/campaigns/{campaign.id}/needs").text
