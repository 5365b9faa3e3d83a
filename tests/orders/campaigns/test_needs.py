"""Shops post, edit and withdraw needs until the cutoff; never another shop's."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop import clock
from coop.accounts.models import Role
from coop.clock import from_local, now
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.campaigns import needs as need_service
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.models import CampaignStatus, Need, PartRequest
from coop.orders.campaigns.needs import NeedTerms


def count_needs() -> int:
    return db.session.scalar(select(func.count()).select_from(Need))


def test_the_cutoff_is_lyon_time_across_the_autumn_dst_change(make):
    # Clocks go back on 25 October 2026 at 03:00 in Lyon: 18:00 that day is 17:00 UTC.
    cutoff = from_local(date(2026, 10, 25), 18, 0)
    assert cutoff == datetime(2026, 10, 25, 17, 0, tzinfo=UTC)
    campaign = make.campaign(
        closes_at=cutoff, order_date=date(2026, 10, 30), at=datetime(2026, 10, 1, tzinfo=UTC)
    )
    shop, part = make.member(), make.part()
    just_before = cutoff - timedelta(seconds=1)
    need_service.post_need(campaign, shop, part, NeedTerms(quantity=2), at=just_before)
    # With summer time's offset the cutoff would have been 16:00 UTC: still open at 16:30.
    need_service.post_need(
        campaign, shop, part, NeedTerms(quantity=1), at=datetime(2026, 10, 25, 16, 30, tzinfo=UTC)
    )
    with pytest.raises(DomainError, match="close depuis le 25/10/2026 18:00"):
        need_service.post_need(campaign, shop, part, NeedTerms(quantity=3), at=cutoff)
    assert count_needs() == 2


def test_edit_and_withdraw_are_refused_after_the_cutoff(make):
    campaign = make.campaign()
    need = make.need(campaign, quantity=4)
    after = campaign.closes_at + timedelta(minutes=1)
    with pytest.raises(DomainError, match="close depuis"):
        need_service.update_need(need, need.part, NeedTerms(quantity=9), at=after)
    with pytest.raises(DomainError, match="close depuis"):
        need_service.withdraw_need(need, at=after)
    assert need.quantity == 4


def test_a_change_that_waited_on_the_lock_across_the_cutoff_is_refused(
    make, monkeypatch, lock_granted_at
):
    campaign = make.campaign()
    need = make.need(campaign, quantity=4)
    cutoff = campaign.closes_at
    # Sent 20 ms before the cutoff, the lock granted 20 ms after it: judged then, refused.
    monkeypatch.setattr(clock, "now", lambda: cutoff - timedelta(milliseconds=20))
    lock_granted_at(cutoff + timedelta(milliseconds=20))
    with pytest.raises(DomainError, match="close depuis"):
        need_service.post_need(campaign, make.member(), make.part(), NeedTerms(quantity=1))
    with pytest.raises(DomainError, match="close depuis"):
        need_service.update_need(need, need.part, NeedTerms(quantity=9))
    with pytest.raises(DomainError, match="close depuis"):
        need_service.withdraw_need(need)
    assert count_needs() == 1 and need.quantity == 4


def test_a_change_accepted_is_stamped_with_the_moment_it_was_judged_at(make, lock_granted_at):
    campaign = make.campaign()
    shop, part = make.member(), make.part()
    posted_at = campaign.closes_at - timedelta(seconds=2)
    lock_granted_at(posted_at)
    need = need_service.post_need(campaign, shop, part, NeedTerms(quantity=1))
    edited_at = campaign.closes_at - timedelta(milliseconds=1)
    lock_granted_at(edited_at)
    need_service.update_need(need, part, NeedTerms(quantity=2))
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Need, need.id)
    # Written in the same locked transaction as the decision: never after the cutoff.
    assert (stored.created_at, stored.updated_at, stored.quantity) == (posted_at, edited_at, 2)


@pytest.mark.parametrize(
    ("terms", "field", "message"),
    [
        ({"quantity": 0}, "quantity", "au moins 1"),
        ({"quantity": 5, "tolerance": -1}, "tolerance", "négative"),
        ({"quantity": 5, "min_quantity": 6}, "min_quantity", "ne peut pas dépasser"),
        ({"quantity": 5, "min_quantity": 0}, "min_quantity", "au moins 1"),
        ({"quantity": 5, "max_unit_price": Decimal("0")}, "max_unit_price", "strictement positif"),
        (
            {"quantity": 5, "needed_by": date(2000, 1, 1)},
            "needed_by",
            "précède la date de commande",
        ),
    ],
)
def test_bad_terms_are_refused_field_by_field(make, terms, field, message):
    campaign = make.campaign()
    with pytest.raises(DomainError, match=message) as caught:
        need_service.post_need(
            campaign, make.member(), make.part(), NeedTerms(**terms), at=campaign.opened_at
        )
    assert caught.value.field == field
    assert count_needs() == 0


def test_refs_are_numbered_per_shop_and_unique(make):
    campaign = make.campaign()
    shop = make.member()
    assert [make.need(campaign, shop).ref for _ in range(3)] == ["1", "2", "3"]
    assert make.need(campaign, make.member()).ref == "1"
    with pytest.raises(DomainError, match="déjà un besoin de référence 2"):
        make.need(campaign, shop, ref="2")


@pytest.fixture
def shop_user(client, make):
    user = make.user(Role.MEMBER)
    client.login_as(user)
    return user


def test_a_shop_posts_a_need_by_sku_and_sees_it(client, make, shop_user):
    campaign = make.campaign()
    part = make.part(sku="TYR-28", name="Pneu 28")
    response = client.post(
        f"/campaigns/{campaign.id}/needs", data={"part": "tyr-28", "quantity": 3, "tolerance": 1}
    )
    assert response.status_code == 302
    need = db.session.scalar(select(Need))
    assert (need.part, need.quantity, need.tolerance, need.min_quantity) == (part, 3, 1, 3)
    assert need.member == shop_user.member
    assert "Pneu 28" in client.get(response.location).text


def test_the_part_picker_understands_names_and_refuses_unknown_parts(client, make, shop_user):
    campaign = make.campaign()
    make.part(sku="CHN-11", name="Chaîne 11 vitesses")
    ok = client.post(
        f"/campaigns/{campaign.id}/needs",
        data={"part": "Chaîne 11 vitesses (CHN-11)", "quantity": 1},
    )
    assert ok.status_code == 302
    bad = client.post(f"/campaigns/{campaign.id}/needs", data={"part": "Licorne", "quantity": 1})
    assert "Aucune pièce « Licorne » au catalogue" in bad.text
    assert 'value="Licorne"' in bad.text
    zero = client.post(f"/campaigns/{campaign.id}/needs", data={"part": "CHN-11", "quantity": 0})
    assert "Le nombre doit être au minimum 1." in zero.text
    assert count_needs() == 1


def test_the_part_picker_reads_words_without_accents_and_asks_when_several_match(
    client, make, shop_user
):
    campaign = make.campaign()
    make.part(sku="CHN-11", name="Chaîne 11 vitesses, attache rapide")
    make.part(sku="CHN-11-AC", name="Chaîne 11 vitesses, anticorrosion", ean="4710243321102")
    ok = client.post(
        f"/campaigns/{campaign.id}/needs", data={"part": "chaine 11v anticorrosion", "quantity": 2}
    )
    assert ok.status_code == 302
    assert db.session.scalar(select(Need)).part.sku == "CHN-11-AC"
    several = client.post(
        f"/campaigns/{campaign.id}/needs", data={"part": "CHAINE 11V", "quantity": 1}
    )
    assert (
        "Plusieurs pièces correspondent à « CHAINE 11V » : CHN-11, CHN-11-AC ; "
        "précisez la référence." in several.text
    )
    assert count_needs() == 1


def test_a_shop_edits_and_withdraws_its_need(client, make, shop_user):
    campaign = make.campaign()
    need = make.need(campaign, shop_user.member, quantity=2)
    response = client.post(
        f"/needs/{need.id}/edit", data={"part": need.part.sku, "quantity": 5, "ref": "A1"}
    )
    assert response.status_code == 302
    assert (need.quantity, need.ref) == (5, "A1")
    assert "Oui, retirer" in client.get(f"/needs/{need.id}/withdraw").text
    client.post(f"/needs/{need.id}/withdraw")
    assert count_needs() == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/needs/{id}/edit"),
        ("POST", "/needs/{id}/edit"),
        ("GET", "/needs/{id}/withdraw"),
        ("POST", "/needs/{id}/withdraw"),
    ],
)
def test_a_shop_cannot_touch_another_shops_need(client, make, shop_user, method, path):
    campaign = make.campaign()
    other = make.need(campaign, quantity=2)
    response = client.open(
        path.format(id=other.id), method=method, data={"part": other.part.sku, "quantity": 99}
    )
    assert response.status_code == 403
    assert other.quantity == 2
    assert count_needs() == 1


def test_a_shop_sees_only_its_own_needs_with_the_coops_totals(client, make, shop_user):
    campaign = make.campaign()
    part = make.part(name="Chambre 700")
    make.offer(part=part, tiers=((10, "3.00"),), pack_size=10)
    make.need(campaign, shop_user.member, part, quantity=4, ref="MINE")
    make.need(campaign, make.member(), part, quantity=3, ref="THEIRS")
    page = client.get(f"/campaigns/{campaign.id}/needs").text
    assert "MINE" in page and "THEIRS" not in page
    assert "colis en cours 7/10, manque 3" in page
    assert "2 ateliers" in page


def test_the_coops_totals_follow_every_new_need_and_the_language(client, make, shop_user):
    # The signal cells are rendered once per signal and language, then reused (views.py).
    campaign = make.campaign()
    part = make.part(name="Chambre 700")
    supplier = make.supplier(name="Pneus du Rhône")
    make.offer(part=part, supplier=supplier, tiers=((10, "3.00"),), pack_size=10)
    make.need(campaign, shop_user.member, part, quantity=4, ref="MINE")
    signals = f"/campaigns/{campaign.id}/needs/signals"
    assert "colis en cours 4/10, manque 6" in client.get(signals).text
    make.need(campaign, make.member(), part, quantity=3)
    page = client.get(signals).text
    assert "colis en cours 7/10, manque 3" in page and "2 ateliers" in page
    supplier.name = "Rhône Pneus"
    make.need(campaign, make.member(), part, quantity=3)
    page = client.get(signals).text
    assert "10 unités" not in page and "1 colis plein de 10" in page
    assert "Rhône Pneus" in page and "Pneus du Rhône" not in page
    english = client.get(signals + "?lang=en").text
    assert "1 full pack of 10" in english and "3,00 €" not in english


def test_a_shop_asks_for_a_part_the_catalogue_lacks_and_the_manager_converts_it(
    client, make, shop_user
):
    campaign = make.campaign()
    response = client.post(
        f"/campaigns/{campaign.id}/requests",
        data={"req-description": "Pneu 650B x 47 gravel", "req-request_quantity": 4},
    )
    assert response.status_code == 302
    request = db.session.scalar(select(PartRequest))
    assert request.member == shop_user.member
    part = make.part(sku="TYR-650B-47", name="Pneu 650B x 47")
    client.login_as(make.user(Role.MANAGER))
    assert "Pneu 650B x 47 gravel" in client.get(f"/campaigns/{campaign.id}/demand").text
    client.post(f"/requests/{request.id}/convert", data={"part": "TYR-650B-47"})
    need = db.session.scalar(select(Need))
    assert (need.member, need.part, need.quantity) == (shop_user.member, part, 4)
    assert request.status == "converted"


@pytest.mark.parametrize("page", ["/campaigns/{campaign}/needs", "/needs/{need}/edit"])
def test_the_need_form_shows_every_error_at_once(client, make, shop_user, page):
    campaign = make.campaign()
    need = make.need(campaign, shop_user.member, quantity=2)
    response = client.post(
        page.format(campaign=campaign.id, need=need.id),
        data={
            "part": "Licorne",
            "quantity": "0",
            "min_quantity": "0",
        },
    )
    assert "Aucune pièce « Licorne » au catalogue" in response.text
    assert response.text.count("Le nombre doit être au minimum 1.") == 2
    assert count_needs() == 1
    assert need.quantity == 2


@pytest.mark.parametrize("action", ["edit", "withdraw"])
def test_a_need_of_a_closed_campaign_offers_no_edit_nor_withdraw_form(
    client, make, shop_user, action
):
    campaign = make.campaign()
    need = make.need(campaign, shop_user.member, quantity=2)
    change_status(campaign, CampaignStatus.CLOSED, at=now())
    db.session.commit()
    needs_page = client.get(f"/campaigns/{campaign.id}/needs").text
    assert f"/needs/{need.id}/{action}" not in needs_page

    response = client.get(f"/needs/{need.id}/{action}")

    assert response.status_code == 302
    assert response.location == f"/campaigns/{campaign.id}/needs"
    assert (
        f"La campagne {campaign.code} n&#39;est pas ouverte aux besoins."
        in client.get(response.location).text
    )
