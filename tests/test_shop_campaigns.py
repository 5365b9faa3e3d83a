"""A shop's past campaigns and its money: Mes campagnes, its home, the savings it is shown."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from coop import shop_campaigns
from coop.accounts.models import Role
from coop.clock import now, today
from coop.extensions import db
from coop.orders.costs import splitting, statements
from coop.orders.pooling.models import PoolingRun
from coop.orders.purchasing import ordering
from coop.payments import ledger
from coop.payments.models import Method
from tests.conftest import queries_for
from tests.invoicing import factories as invoices
from tests.orders.costs.test_statements import build_world
from tests.orders.purchasing.test_purchase_orders import close, served, stored_run

D = Decimal
# Each need's solo cost, goods then the supplier's fee (LYON: 15.00 under 150.00; ASIA: 40.00).
SOLO_SHIPPING = {"a_tyre": "15.00", "b_tyre": "15.00", "a_chain": "40.00", "b_tube": "40.00"}


def eur(amount: str) -> str:
    return f"{amount}\xa0€"


@pytest.fixture
def world(make):
    """test_statements' hand-computed campaign, its plan keeping each solo cost's shipping."""
    w = build_world(make)
    run = db.session.scalar(select(PoolingRun).where(PoolingRun.campaign_id == w.campaign.id))
    by_need = {need.id: key for key, need in w.needs.items()}
    record = run.record
    run.record = replace(
        record,
        decisions=tuple(
            replace(d, solo_shipping=Decimal(shipping) if shipping is not None else None)
            for d in record.decisions
            for shipping in [SOLO_SHIPPING.get(by_need[d.need])]
        ),
    )
    db.session.commit()
    return w


def shop_user(make, w, key="A"):
    return make.user(Role.MEMBER, member=w.shops[key])


# --- the savings, goods and shipping apart -----------------------------------------------------

# Shop A: tyre alone 147.00 + 15.00, chain alone 56.70 + 40.00; pooled 131.40 + 0.00 and
# 49.37 + 14.60 (its share of ASIA's 40.00 by value).
LINE_A = (
    "Seul, vous auriez payé "
    + eur("203,70")
    + " de pièces et "
    + eur("55,00")
    + " de port ; ensemble : "
    + eur("180,77")
    + " et "
    + eur("14,60")
    + "."
)


def test_the_saving_splits_into_goods_and_shipping_to_the_cent(world):
    saved = statements.member_statement(world.campaign, world.shops["A"]).saved
    assert (saved.solo_goods, saved.solo_shipping) == (D("203.70"), D("55.00"))
    assert (saved.goods, saved.shipping) == (D("180.77"), D("14.60"))
    assert (saved.on_goods, saved.on_shipping, saved.total) == (D("22.93"), D("40.40"), D("63.33"))
    entry = shop_campaigns.campaign_entries(world.shops["B"], [world.campaign], on=today())[0]
    # B: tyre alone 98.00 + 15.00, tube alone 42.00 + 40.00; pooled 87.60 + 0.00, 36.50 + 10.80.
    assert (entry.saved.on_goods, entry.saved.on_shipping) == (D("15.90"), D("44.20"))
    assert (entry.requested, entry.received) == (14, 14)


def test_the_statement_shows_goods_and_shipping_saved_apart_and_explains_them(client, make, world):
    client.login_as(shop_user(make, world))
    page = client.get(f"/campaigns/{world.campaign.id}/statement").text
    assert eur("63,33") in page
    assert f"{eur('22,93')} sur les pièces, {eur('40,40')} sur le port" in page
    assert LINE_A in page


def test_the_pooled_needs_page_shows_the_same_savings_apart(client, make, world):
    client.login_as(shop_user(make, world))
    page = client.get(f"/campaigns/{world.campaign.id}/needs").text
    assert f"{eur('22,93')} sur les pièces, {eur('40,40')} sur le port" in page
    assert LINE_A in page


def test_a_plan_older_than_the_split_shows_the_solo_total_only(client, make):
    w = build_world(make)
    client.login_as(shop_user(make, w))
    page = client.get(f"/campaigns/{w.campaign.id}/statement").text
    assert (
        "Seul, vous auriez payé "
        + eur("258,70")
        + ", port compris ; ensemble : "
        + eur("195,37")
        + "."
    ) in page
    assert "sur les pièces" not in page


def test_the_home_shows_the_savings_of_a_campaign_on_its_way_apart(client, make, world):
    client.login_as(shop_user(make, world))
    page = client.get("/").text
    assert (
        f"{eur('63,33')} économisés ({eur('22,93')} sur les pièces, {eur('40,40')} sur le port)"
    ) in page


# --- Mes campagnes ---------------------------------------------------------------------------


def test_my_campaigns_lists_every_campaign_of_the_shop_newest_first_with_its_figures(
    client, make, world
):
    older = make.campaign(
        title="Campagne d'automne",
        order_date=today() + timedelta(days=15),
        closes_at=now() + timedelta(days=5),
    )
    make.need(older, world.shops["A"], world.needs["a_tyre"].part, quantity=2)
    make.campaign(title="Campagne sans moi")
    invoice = invoices.invoice(
        world.shops["A"], world.campaign, issued_on=today() - timedelta(days=40)
    )
    ledger.record_payment(
        world.shops["A"],
        D("48.65"),
        method=Method.TRANSFER,
        received_on=today(),
        invoices=[invoice],
    )
    db.session.commit()
    client.login_as(shop_user(make, world))
    page = client.get("/my/campaigns").text
    assert "Campagne sans moi" not in page
    assert page.index(world.campaign.title) < page.index("Campagne d&#39;automne")
    row = page[
        page.index(f'id="campaign-{world.campaign.id}"') : page.index(f'id="campaign-{older.id}"')
    ]
    assert "9 / 9" in row  # 6 tyres and 3 chains received, of 9 asked
    # Statement A: goods 180.77, shipping 14.60, fee 2 % of goods 3.62 (half up).
    assert eur("198,99") in row
    assert eur("63,33") in row and eur("22,93") in row and eur("40,40") in row
    assert invoice.number in row and "En retard" in row and eur("100,00") in row
    assert f'/campaigns/{world.campaign.id}/statement"' in row
    assert f'/invoices/{invoice.number}"' in row
    old_row = page[page.index(f'id="campaign-{older.id}"') :]
    assert "—</span> / 2</td>" in old_row and "pas encore facturée" in old_row
    assert f"/campaigns/{older.id}/statement" not in old_row


def test_my_campaigns_shows_nothing_of_another_shop(client, make, world):
    other = make.campaign(title="Campagne de B seul")
    make.need(other, world.shops["B"], world.needs["b_tyre"].part, quantity=1)
    invoices.invoice(world.shops["B"], world.campaign)
    client.login_as(shop_user(make, world, "C"))
    page = client.get("/my/campaigns").text
    assert "Campagne de B seul" not in page
    assert "FA-" not in page  # B's invoice on the shared campaign
    assert eur("60,10") not in page  # B's savings


def test_my_campaigns_is_for_shops_only(client, make):
    client.login_as(make.user(Role.MANAGER))
    assert client.get("/my/campaigns").status_code == 403


def test_my_campaigns_is_in_the_shop_s_menu(client, make, world):
    client.login_as(shop_user(make, world))
    assert 'href="/my/campaigns"' in client.get("/").text


def test_my_campaigns_runs_the_same_queries_for_one_campaign_or_many(client, make, world):
    user = shop_user(make, world)
    client.login_as(user)

    def count(*, kept: bool) -> int:
        """The page's queries, with the splits' readings kept from the last request or not."""
        if kept:
            assert client.get("/my/campaigns").status_code == 200
        else:
            splitting._DELIVERIES.clear()
            splitting._SOLO.clear()
        return queries_for(client, "/my/campaigns")

    few, few_kept = count(kept=False), count(kept=True)
    # Not kept: the deliveries made again from their rows, and the plan read back (its costs
    # alone): two queries more.
    assert few_kept == few - 2
    tyre = world.needs["a_tyre"].allocation.line.offer
    for _ in range(3):
        pooled_campaign(make, world.shops["A"], tyre)
        make.need(make.campaign(), world.shops["A"], tyre.part, quantity=1)
    assert count(kept=False) == few
    assert count(kept=True) == few_kept


def test_the_home_runs_the_same_queries_for_one_campaign_or_many(client, make, world):
    user = shop_user(make, world)
    client.login_as(user)

    def count() -> int:
        assert client.get("/").status_code == 200  # the splits' readings kept, as in use
        return queries_for(client, "/")

    few = count()
    tyre = world.needs["a_tyre"].allocation.line.offer
    for _ in range(3):
        pooled_campaign(make, world.shops["A"], tyre)
        make.need(make.campaign(), world.shops["A"], tyre.part, quantity=1)
    assert count() == few


def pooled_campaign(make, shop, offer):
    """A campaign with one need of `shop`, pooled on `offer` and ordered."""
    campaign = make.campaign()
    need = make.need(campaign, shop, offer.part, quantity=2)
    closed_at = close(campaign, at=now() - timedelta(hours=1))
    decision = served(need, offer, 2, "24.5000", 1) | {"solo": "64.00", "solo_shipping": "15.00"}
    run = stored_run(
        campaign, [decision], {offer.supplier.code: "15.00"}, at=closed_at + timedelta(seconds=1)
    )
    ordering.commit_run(run, at=closed_at + timedelta(minutes=5))
    db.session.commit()
    return campaign


# --- the home: what the shop owes ----------------------------------------------------------


def test_the_home_shows_what_is_due_overdue_in_red_with_a_way_to_pay_and_the_credit(
    client, make, app, monkeypatch
):
    monkeypatch.setitem(app.config, "COOP_STRIPE_SECRET_KEY", "sk_test_fake")
    user = make.user(Role.MEMBER)
    shop, campaign = user.member, make.campaign()
    late = invoices.invoice(shop, campaign, issued_on=today() - timedelta(days=45))
    current = invoices.invoice(shop, campaign, issued_on=today() - timedelta(days=5))
    ledger.record_payment(
        shop, D("48.65"), method=Method.TRANSFER, received_on=today(), invoices=[late]
    )
    db.session.commit()
    client.login_as(user)
    page = client.get("/").text
    money = page[page.index('id="money"') :]
    assert eur("248,65") in money  # 100.00 left on the late one, 148.65 on the other
    assert f"Dont {eur('100,00')} en retard" in money
    assert (
        late.number in money
        and current.number not in money.split("Mon compte")[0].split('id="overdue"')[1]
    )
    assert f'href="/payments/pay?invoice={late.id}"' in money and "Payer en ligne" in money
    assert 'class="error" id="overdue"' in money


def test_the_home_shows_the_credit_a_shop_holds(client, make):
    user = make.user(Role.MEMBER)
    ledger.record_payment(user.member, D("30.00"), method=Method.TRANSFER, received_on=today())
    db.session.commit()
    client.login_as(user)
    page = client.get("/").text
    assert f"<strong>{eur('30,00')}</strong>" in page and "de crédit" in page
    assert "en retard" not in page
