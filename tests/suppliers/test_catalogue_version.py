"""The catalogue's version (coop.suppliers.versions), by which each process keeps the offers
that the shops' campaign pages show: any change to an offer, a tier or a supplier shows at
once, in every process."""

from decimal import Decimal

from coop.accounts.models import Role
from coop.extensions import db
from coop.orders.campaigns import demand as demand_service
from coop.suppliers import versions
from coop.suppliers.catalogue import replace_tiers
from tests.conftest import statements_run
from tests.suppliers.test_catalogue_views import edited_offer_form


def version() -> str | None:
    return versions.current(db.session())


def test_the_version_is_renewed_by_each_commit_that_changes_an_offer_a_tier_or_a_supplier(make):
    offer = make.offer(tiers=((1, "10.00"),))
    seen = [version()]
    make.need(make.campaign(), make.member(), offer.part, quantity=3)  # not the catalogue
    assert version() == seen[-1]
    for change in (
        lambda: replace_tiers(offer, [(1, Decimal("9.00"))]),
        lambda: setattr(offer, "pack_size", 5),
        lambda: setattr(offer.supplier, "name", "Cycles Rhône"),
        lambda: setattr(offer.supplier, "is_active", False),
        lambda: make.offer(part=offer.part),  # another supplier's offer for the part
    ):
        change()
        db.session.commit()
        assert version() not in seen
        seen.append(version())
    offer.moq = 50
    db.session.rollback()
    assert version() == seen[-1]


def test_a_transaction_that_changed_an_offer_reads_it_before_it_commits(make):
    campaign, offer = make.campaign(), make.offer(tiers=((1, "10.00"),))
    make.need(campaign, make.member(), offer.part, quantity=3)

    def price() -> Decimal:
        (row,) = demand_service.demand(campaign, [offer.part_id])
        return row.signal.best.unit_price

    assert price() == Decimal("10.00")
    replace_tiers(offer, [(1, Decimal("8.50"))])  # flushed by the next query, not committed
    assert price() == Decimal("8.50")
    db.session.rollback()
    assert price() == Decimal("10.00")


def test_kept_offers_are_not_read_again_until_the_catalogue_changes(make):
    campaign, offer = make.campaign(), make.offer()
    make.need(campaign, make.member(), offer.part, quantity=3)
    demand_service.demand(campaign, [offer.part_id])
    with statements_run() as kept:
        demand_service.demand(campaign, [offer.part_id])
    assert not any("price_tiers" in statement for statement in kept)
    replace_tiers(offer, [(1, Decimal("7.00"))])
    db.session.commit()
    with statements_run() as renewed:
        (row,) = demand_service.demand(campaign, [offer.part_id])
    assert any("price_tiers" in statement for statement in renewed)
    assert row.signal.best.unit_price == Decimal("7.00")


def test_a_shop_s_counters_show_each_change_the_manager_makes_to_the_catalogue(client, make):
    campaign, shop = make.campaign(), make.user(Role.MEMBER)
    offer = make.offer(tiers=((1, "10.00"),), pack_size=1)
    make.need(campaign, shop.member, offer.part, quantity=4)
    manager = make.user(Role.MANAGER)
    live = f"/campaigns/{campaign.id}/needs/signals"

    def counters() -> str:
        client.login_as(shop)
        return client.get(live, headers={"HX-Request": "true"}).text

    assert "<strong>10,00\xa0€</strong>" in counters()
    client.login_as(manager)
    edited = client.post(f"/offers/{offer.id}/edit", data=edited_offer_form(offer, ("1", "8,40")))
    assert edited.status_code == 302
    assert "<strong>8,40\xa0€</strong>" in counters()
    client.login_as(manager)
    deactivated = client.post(f"/suppliers/{offer.supplier_id}/deactivate")
    assert deactivated.status_code == 302
    page = counters()
    assert "aucune offre" in page and "8,40" not in page
