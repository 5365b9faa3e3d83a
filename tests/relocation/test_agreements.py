"""Framework agreements' pages and rules: drafted, signed, ended; their progress."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.activity.models import Activity
from coop.clock import now, today
from coop.extensions import db
from coop.orders.purchasing.models import OrderStatus
from coop.relocation import agreements
from coop.suppliers.models import AgreementStatus, FrameworkAgreement
from tests.html import form_values
from tests.relocation import factories as rf

D = Decimal


def terms(offer, **values) -> agreements.AgreementTerms:
    fields = {
        "offer": offer,
        "committed_qty": 300,
        "shortfall_fee": D("0.80"),
        "valid_from": today() - timedelta(days=100),
        "valid_to": today() + timedelta(days=265),
        "campaigns_planned": 6,
    }
    fields.update(values)
    return agreements.AgreementTerms(**fields)


def draft(offer, **values) -> FrameworkAgreement:
    agreement = agreements.create_agreement(terms(offer, **values), at=now())
    db.session.commit()
    return agreement


@pytest.fixture
def manager(client, make):
    user = make.user(Role.MANAGER)
    client.login_as(user)
    return user


def test_an_agreement_created_from_its_form_is_a_numbered_draft_on_the_offer(client, make, manager):
    forge = make.supplier(code="FORGE", name="Forge du Gier", is_local=True)
    chain = make.part(sku="CHN-11S", name="Chaîne 11v")
    offer = make.offer(forge, chain, tiers=((1, "9.00"),))
    page = client.get(f"/agreements/new?offer={offer.id}")
    data = form_values(page.text) | {
        "committed_qty": "2400",
        "shortfall_fee": "0,90",
        "valid_from": "2027-01-01",
        "valid_to": "2028-12-31",
        "campaigns_planned": "12",
        "notes": "Signé au salon.",
    }
    assert data["part"] == "Chaîne 11v (CHN-11S)"
    response = client.post("/agreements/new", data=data)
    assert response.status_code == 302
    agreement = db.session.scalar(select(FrameworkAgreement))
    assert response.location == f"/agreements/{agreement.id}"
    assert agreement.code == f"ACC-{today().year}-01"
    assert (agreement.offer, agreement.committed_qty, agreement.shortfall_fee) == (
        offer,
        2400,
        D("0.9000"),
    )
    assert (agreement.valid_from, agreement.valid_to, agreement.campaigns_planned) == (
        date(2027, 1, 1),
        date(2028, 12, 31),
        12,
    )
    assert (agreement.status, agreement.notes, agreement.created_by_id) == (
        AgreementStatus.DRAFT,
        "Signé au salon.",
        manager.id,
    )
    entry = db.session.scalar(select(Activity))
    assert (entry.action, entry.object_label) == ("agreement.created", agreement.code)
    assert client.post("/agreements/new", data=data).status_code == 302  # the same form again
    assert db.session.scalar(select(func.count(FrameworkAgreement.id))) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"valid_to": "2026-01-01"}, "La fin de l&#39;accord ne peut pas précéder son début."),
        ({"committed_qty": "0"}, "Le nombre doit être au minimum 1."),
        ({"committed_qty": "99999999999999999999"}, "Au plus 10 000 000 unités."),
        ({"shortfall_fee": "-1"}, "La pénalité ne peut pas être négative."),
        ({"shortfall_fee": "1e308"}, "Au plus 10 000 €."),
        ({"shortfall_fee": "NaN"}, "Nombre attendu"),
        ({"campaigns_planned": "241"}, "Au plus 240 campagnes."),
        ({"notes": "x" * 4001}, "Le champ ne peut pas contenir plus de 4000 caractères."),
        ({"part": "PART-INCONNUE"}, "Aucune pièce"),
    ],
)
def test_a_refused_agreement_says_why_and_writes_nothing(client, make, manager, changes, message):
    offer = make.offer()
    data = form_values(client.get(f"/agreements/new?offer={offer.id}").text) | {
        "committed_qty": "100",
        "shortfall_fee": "1",
        "valid_from": "2027-01-01",
        "valid_to": "2027-12-31",
        "campaigns_planned": "6",
    }
    response = client.post("/agreements/new", data=data | changes)
    assert response.status_code == 200
    assert message in response.text
    assert db.session.scalar(select(func.count(FrameworkAgreement.id))) == 0


def test_a_supplier_without_an_offer_on_the_part_is_refused(client, make, manager):
    offer = make.offer()
    other = make.supplier(name="Atelier Sans Offre")
    data = form_values(client.get(f"/agreements/new?offer={offer.id}").text) | {
        "supplier_id": str(other.id),
        "committed_qty": "100",
        "shortfall_fee": "0",
        "valid_from": "2027-01-01",
        "valid_to": "2027-12-31",
        "campaigns_planned": "6",
    }
    response = client.post("/agreements/new", data=data)
    assert "Atelier Sans Offre n&#39;a pas d&#39;offre pour" in response.text
    assert db.session.scalar(select(func.count(FrameworkAgreement.id))) == 0


def test_a_draft_edited_keeps_all_but_its_change_and_logs_it(client, make, manager):
    agreement = draft(make.offer(), notes="=1+1")
    address = f"/agreements/{agreement.id}/edit"
    response = client.post(
        address, data=form_values(client.get(address).text) | {"committed_qty": "350"}
    )
    assert response.status_code == 302
    db.session.refresh(agreement)
    assert (agreement.committed_qty, agreement.shortfall_fee, agreement.notes) == (
        350,
        D("0.8000"),
        "=1+1",
    )
    entry = db.session.scalar(select(Activity).where(Activity.action == "agreement.updated"))
    assert entry.details == {"committed_qty": {"from": 300, "to": 350}}


def test_signing_then_ending_moves_the_status_with_a_confirmation_each(client, make, manager):
    agreement = draft(make.offer())
    for step, status in (("activate", AgreementStatus.ACTIVE), ("end", AgreementStatus.ENDED)):
        address = f"/agreements/{agreement.id}/{step}"
        page = client.get(address)
        assert page.status_code == 200 and "Annuler" in page.text
        assert client.post(address, data=form_values(page.text)).status_code == 302
        db.session.refresh(agreement)
        assert agreement.status is status
    actions = db.session.scalars(select(Activity.action).order_by(Activity.id)).all()
    assert actions[-2:] == ["agreement.activated", "agreement.ended"]
    # Neither its terms nor its status change any more.
    edit = client.post(f"/agreements/{agreement.id}/edit", data={"committed_qty": "1"})
    assert edit.status_code == 200
    assert agreement.committed_qty == 300


def test_an_offer_holds_one_agreement_in_force_at_a_time(make):
    offer = make.offer()
    draft(offer, valid_from=date(2027, 1, 1), valid_to=date(2027, 12, 31))
    agreements.activate(db.session.scalar(select(FrameworkAgreement)), today=today())
    overlapping = draft(offer, valid_from=date(2027, 12, 1), valid_to=date(2028, 6, 30))
    with pytest.raises(Exception, match="déjà en vigueur sur cette offre"):
        agreements.activate(overlapping, today=today())
    db.session.rollback()
    later = draft(offer, valid_from=date(2028, 1, 1), valid_to=date(2028, 12, 31))
    agreements.activate(later, today=today())
    assert later.status is AgreementStatus.ACTIVE


def test_an_agreement_with_an_inactive_supplier_or_a_past_period_is_not_signed(make):
    offer = make.offer()
    past = draft(offer, valid_from=date(2020, 1, 1), valid_to=date(2020, 12, 31))
    with pytest.raises(Exception, match="déjà passée"):
        agreements.activate(past, today=today())
    db.session.rollback()
    offer.supplier.is_active = False
    current = draft(offer)
    with pytest.raises(Exception, match="est désactivé"):
        agreements.activate(current, today=today())


def test_progress_counts_the_offers_units_in_the_periods_orders_not_cancelled(make):
    offer = make.offer(tiers=((1, "9.00"),))
    other = make.offer(part=offer.part)
    day = today()
    agreement = draft(
        offer, valid_from=day - timedelta(days=100), valid_to=day + timedelta(days=265)
    )
    before = rf.bought(offer, [40], order_date=day - timedelta(days=101))  # before the period
    first = rf.bought(offer, [30, 20], order_date=day - timedelta(days=100))
    rf.bought(offer, [15], order_date=day - timedelta(days=50), status=OrderStatus.CANCELLED)
    rf.bought(other, [60], order_date=day - timedelta(days=40))  # another offer
    second = rf.bought(offer, [25], order_date=day - timedelta(days=10))
    progress = agreements.progress(agreement)
    assert [(c, units) for c, units in progress.by_campaign] == [(first, 50), (second, 25)]
    assert (progress.bought, progress.remaining) == (75, 225)
    assert progress.shortfall_cost == D("180.00")  # 225 × 0,80
    assert agreements.units_bought([agreement]) == {agreement.id: 75}
    assert before not in [c for c, _ in progress.by_campaign]


def test_the_list_shows_progress_and_its_csv_quotes_formulas(client, make, manager):
    agreement = draft(make.offer(tiers=((1, "9.00"),)), notes='=HYPERLINK("http://x")')
    rf.bought(agreement.offer, [120], order_date=today() - timedelta(days=5))
    page = client.get("/agreements/")
    assert "120 / 300" in page.text
    response = client.get("/agreements/export.csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][0] == agreement.code
    assert rows[1][6:10] == ["300", "120", "180", "0,8000"]
    assert rows[1][-1] == '\'=HYPERLINK("http://x")'


def test_the_treasurer_reads_agreements_but_a_shop_does_not_and_neither_writes(client, make):
    agreement = draft(make.offer())
    client.login_as(make.user(Role.TREASURER))
    assert client.get("/agreements/").status_code == 200
    assert client.get(f"/agreements/{agreement.id}").status_code == 200
    assert client.get("/agreements/new").status_code == 403
    assert client.post(f"/agreements/{agreement.id}/activate").status_code == 403
    client.login_as(make.user(Role.MEMBER))
    assert client.get("/agreements/").status_code == 403
    assert client.get(f"/agreements/{agreement.id}").status_code == 403
    assert agreement.status is AgreementStatus.DRAFT
