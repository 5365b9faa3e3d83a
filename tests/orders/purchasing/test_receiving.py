"""Receiving purchase orders: short lines shared by the campaign's rule, partial receipts,
over-deliveries to stock, refusals that write nothing, and statuses."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.clock import now, today
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.campaigns.models import CampaignStatus, DeliveryMode
from coop.orders.campaigns.rules import ShortageRule
from coop.orders.purchasing import ordering, receiving
from coop.orders.purchasing.models import (
    Allocation,
    OrderStatus,
    PurchaseOrder,
    Receipt,
    ReceiptLine,
)
from tests import factories
from tests.orders.purchasing.test_purchase_orders import (
    build_plan,
    close,
    committed,
    served,
    stored_run,
)

# Three shops on one line of 2 packs of 10, in posting order: (quantity, tolerance, allocated).
# Requested 7 + 5 + 4 = 16 units; tolerance 3 + 0 + 1 = 4 units fill the second pack.
THREE_SHOPS = [(7, 3, 10), (5, 0, 5), (4, 1, 5)]


def one_line_order(
    make, wants, *, rule=ShortageRule.PRO_RATA, mode=DeliveryMode.HUB, pack_size=10, send=True
):
    """A sent order of one line serving one need per shop, the needs posted in `wants` order."""
    supplier = make.supplier(email="ventes@fournisseur.example")
    offer = make.offer(supplier, pack_size=pack_size, tiers=((1, "2.5000"),))
    campaign = make.campaign(delivery_mode=mode, shortage_rule=rule)
    needs = [
        make.need(campaign, make.member(), offer.part, quantity=q, tolerance=t) for q, t, _ in wants
    ]
    closed_at = close(campaign, at=now() - timedelta(hours=1))
    decisions = [
        served(n, offer, units, "2.5000", 1)
        | {"goods": str(Decimal("2.50") * units), "shipping_share": "0.00", "solo": None}
        for n, (_, _, units) in zip(needs, wants, strict=True)
    ]
    run = stored_run(
        campaign, decisions, {supplier.code: "0.00"}, at=closed_at + timedelta(seconds=1)
    )
    (order,) = ordering.commit_run(run, at=run.created_at + timedelta(minutes=1))
    if send:
        ordering.change_order_status(order, OrderStatus.SENT, at=now())
    db.session.commit()
    return order, needs


def receive(order, units: dict | None = None, *, good=None, damaged=0, on=None, **options):
    """Record a receipt; `good`/`damaged` for a one-line order, `units` {line: (good, damaged)}."""
    if units is None:
        units = {order.lines[0].id: (good, damaged)}
    receipt = receiving.record_receipt(
        order,
        received_on=on or today(),
        delivery_note_ref=options.pop("ref", "BL-1"),
        quantities=units,
        at=now(),
        **options,
    )
    db.session.commit()
    return receipt


def shares(needs) -> list:
    for need in needs:
        db.session.refresh(need.allocation)
    return [need.allocation.received for need in needs]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- sharing a short line -----------------------------------------------------------------------


def test_a_line_one_pack_short_is_shared_pro_rata_to_requested_units(make):
    order, needs = one_line_order(make, THREE_SHOPS)
    receive(order, good=10)
    # 10 of 16 requested: 10×7/16 = 4.375, 10×5/16 = 3.125, 10×4/16 = 2.5 -> floors 4, 3, 2;
    # the last unit goes to the largest remainder (0.5, the third shop). No tolerance unit.
    assert shares(needs) == [4, 3, 3]
    assert [n.allocation.short_units for n in needs] == [6, 2, 2]
    assert order.status is OrderStatus.PARTLY_RECEIVED


def test_a_line_one_pack_short_goes_first_to_the_needs_posted_first(make):
    order, needs = one_line_order(make, THREE_SHOPS, rule=ShortageRule.FIRST_POSTED)
    receive(order, good=10)
    assert shares(needs) == [7, 3, 0]


def test_requested_units_are_served_before_tolerance_units_pro_rata(make):
    order, needs = one_line_order(make, THREE_SHOPS)
    receive(order, good=19)
    # 16 requested units in full; 3 tolerance units over 3 and 1: 3×3/4 = 2.25, 3×1/4 = 0.75
    # -> floors 2 and 0, the last unit to the larger remainder (0.75).
    assert shares(needs) == [9, 5, 5]


def test_requested_units_are_served_before_tolerance_units_first_posted(make):
    order, needs = one_line_order(make, THREE_SHOPS, rule=ShortageRule.FIRST_POSTED)
    receive(order, good=19)
    assert shares(needs) == [10, 5, 4]


def test_damaged_units_are_recorded_but_shared_to_nobody(make):
    order, needs = one_line_order(make, THREE_SHOPS)
    receive(order, good=10, damaged=10)
    line = order.lines[0]
    assert (line.received_units, line.damaged_units, line.missing_units) == (10, 10, 10)
    assert shares(needs) == [4, 3, 3]


def test_receipts_over_several_days_add_up_and_are_shared_again_each_time(make):
    order, needs = one_line_order(make, THREE_SHOPS)
    order.sent_at -= timedelta(days=3)  # sent a few days ago, delivered in several goes
    first_day = today() - timedelta(days=2)
    receive(order, good=12, damaged=2, on=first_day, ref="BL-101")
    # 12 of 16: 5.25, 3.75, 3 -> floors 5, 3, 3 and the last unit to the 0.75.
    assert shares(needs) == [5, 4, 3]
    receive(order, good=6, on=first_day + timedelta(days=1), ref="BL-102")
    # 18: the 16 requested, then 2 tolerance units over 3 and 1: 1.5, 0.5 -> 1, 0, and the
    # tie on the remainders goes to the need posted first.
    assert shares(needs) == [9, 5, 4]
    line = order.lines[0]
    assert (line.received_units, line.damaged_units, line.missing_units) == (18, 2, 2)
    assert order.status is OrderStatus.PARTLY_RECEIVED
    receive(order, good=2, ref="BL-103")
    assert shares(needs) == [10, 5, 5]
    assert order.status is OrderStatus.RECEIVED
    assert [r.delivery_note_ref for r in receiving.order_receipts(order)] == [
        "BL-103",
        "BL-102",
        "BL-101",
    ]


def test_an_over_delivery_goes_to_the_coop_stock_and_nobody_gets_more(make):
    order, needs = one_line_order(make, THREE_SHOPS)
    receive(order, good=23)
    assert shares(needs) == [10, 5, 5]
    line = order.lines[0]
    assert (line.missing_units, line.surplus_units) == (0, 3)
    assert [n.allocation.amount for n in needs] == [
        n.allocation.quantity * line.unit_price for n in needs
    ]
    assert order.status is OrderStatus.RECEIVED


def test_a_parcel_delivered_to_a_shop_is_that_shops(make):
    order, needs = one_line_order(
        make, [(6, 0, 6), (4, 0, 4)], mode=DeliveryMode.SHOPS, pack_size=1
    )
    second_shop = needs[1].member
    receive(order, good=3, member=second_shop)
    # The first shop's parcel has not come yet: it has nothing, whatever the rule.
    assert shares(needs) == [0, 3]
    receive(order, good=6, member=needs[0].member)
    assert shares(needs) == [6, 3]
    assert order.status is OrderStatus.PARTLY_RECEIVED
    receive(order, good=1, member=second_shop)
    assert shares(needs) == [6, 4]
    assert order.status is OrderStatus.RECEIVED


# --- refusals write nothing ---------------------------------------------------------------------


def refused(order, message, **kwargs):
    with pytest.raises(DomainError, match=message) as caught:
        receive(order, **kwargs)
    db.session.rollback()
    assert count(Receipt) == 0 and count(ReceiptLine) == 0
    assert all(a.received is None for line in order.lines for a in line.allocations)
    return caught.value


def test_a_draft_order_cannot_be_received(make):
    order, _ = one_line_order(make, THREE_SHOPS, send=False)
    refused(order, "est brouillon : seul un bon de commande envoyé", good=5)
    assert order.status is OrderStatus.DRAFT


def test_negative_or_unknown_or_empty_quantities_are_refused(make):
    order, _ = one_line_order(make, THREE_SHOPS)
    line_id = order.lines[0].id
    error = refused(order, "doit être un entier positif ou nul", good=-1)
    assert error.field == f"good_{line_id}"
    refused(order, "doit être un entier positif ou nul", units={line_id: (2, -3)})
    refused(order, "n'appartient pas à ce bon de commande", units={line_id + 999: (2, 0)})
    refused(order, "au moins une unité", good=0)
    assert order.status is OrderStatus.SENT


def test_a_date_in_the_future_is_refused(make):
    order, _ = one_line_order(make, THREE_SHOPS)
    error = refused(order, "dans le futur", good=5, on=today() + timedelta(days=1))
    assert error.field == "received_on"


def test_nothing_can_be_received_once_the_campaign_is_invoiced(make):
    order, _ = one_line_order(make, THREE_SHOPS)
    order.campaign.status = CampaignStatus.INVOICED
    db.session.commit()
    refused(order, "la répartition est figée", good=5)
    assert not receiving.can_receive(order)


def test_a_shop_cannot_be_named_on_a_delivery_to_the_hub(make):
    order, needs = one_line_order(make, THREE_SHOPS)
    error = refused(order, "livré au lieu totem", good=5, member=needs[0].member)
    assert error.field == "member"


def test_a_direct_delivery_names_a_shop_the_order_serves(make):
    order, _ = one_line_order(make, THREE_SHOPS, mode=DeliveryMode.SHOPS)
    refused(order, "n'est servi par aucune ligne", good=5, member=make.member())


# --- statuses -----------------------------------------------------------------------------------


def test_the_campaign_is_received_when_every_order_is_received_or_cancelled(make):
    plan = build_plan(make)
    lyonpneu_order, eurochain_order = committed(plan)
    for order in (lyonpneu_order, eurochain_order):
        ordering.change_order_status(order, OrderStatus.SENT, at=now())
    ordering.change_order_status(lyonpneu_order, OrderStatus.CONFIRMED, at=now())
    db.session.commit()
    tyres, tubes = lyonpneu_order.lines
    receive(lyonpneu_order, {tyres.id: (10, 0), tubes.id: (10, 1)})
    assert lyonpneu_order.status is OrderStatus.RECEIVED
    assert plan.campaign.status is CampaignStatus.ORDERED  # the chains have not come
    ordering.cancel_order(eurochain_order, at=now())
    db.session.commit()
    assert plan.campaign.status is CampaignStatus.RECEIVED
    assert not receiving.can_receive(eurochain_order)


def test_the_last_order_received_moves_the_campaign_to_received(make):
    plan = build_plan(make)
    lyonpneu_order, eurochain_order = committed(plan)
    for order in (lyonpneu_order, eurochain_order):
        ordering.change_order_status(order, OrderStatus.SENT, at=now())
    db.session.commit()
    ordering.cancel_order(lyonpneu_order, at=now())
    db.session.commit()
    receive(eurochain_order, good=3)
    assert eurochain_order.status is OrderStatus.RECEIVED
    assert plan.campaign.status is CampaignStatus.RECEIVED
    assert plan.needs["guill_chain"].allocation.received == 3


def test_closing_short_makes_the_shares_final_and_receives_the_campaign(make):
    plan = build_plan(make)
    lyonpneu_order, eurochain_order = committed(plan)
    for order in (lyonpneu_order, eurochain_order):
        ordering.change_order_status(order, OrderStatus.SENT, at=now())
    db.session.commit()
    receive(eurochain_order, good=3)
    tyres, tubes = lyonpneu_order.lines
    receive(lyonpneu_order, {tyres.id: (7, 1)})
    with pytest.raises(DomainError, match="seul un bon de commande reçu en partie"):
        receiving.close_short(eurochain_order, at=now())
    db.session.rollback()
    receiving.close_short(lyonpneu_order, at=now())
    db.session.commit()
    assert lyonpneu_order.status is OrderStatus.CLOSED
    # 7 of 10 tyres pro rata to 6 and 4: 4.2, 2.8 -> 4, 2, the last to the 0.8.
    assert plan.needs["croix_tyre"].allocation.received == 4
    assert plan.needs["guill_tyre"].allocation.received == 3
    # Nothing of the tubes ever came: nothing, for good.
    assert plan.needs["croix_tube"].allocation.received == 0
    assert plan.campaign.status is CampaignStatus.RECEIVED
    with pytest.raises(DomainError, match="est soldé"):
        receive(lyonpneu_order, {tubes.id: (10, 0)})


# --- two receipts at once -----------------------------------------------------------------------


def test_two_receipts_on_the_same_line_at_once_both_count(committing_app):
    with committing_app.app_context():
        order, needs = one_line_order(factories, THREE_SHOPS)
        order_id, line_id = order.id, order.lines[0].id
        need_ids = [n.id for n in needs]
    start = threading.Barrier(2)
    failures = []

    def record(good: int, ref: str):
        with committing_app.app_context():
            try:
                order = db.session.get(PurchaseOrder, order_id)
                start.wait(timeout=10)
                receiving.record_receipt(
                    order,
                    received_on=today(),
                    delivery_note_ref=ref,
                    quantities={line_id: (good, 0)},
                    at=now(),
                )
                db.session.commit()
            except Exception as error:
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=record, args=(units, f"BL-{units}")) for units in (6, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    with committing_app.app_context():
        order = db.session.get(PurchaseOrder, order_id)
        assert order.lines[0].received_units == 10
        assert order.status is OrderStatus.PARTLY_RECEIVED
        received = {a.need_id: a.received for a in db.session.scalars(select(Allocation))}
        assert [received[i] for i in need_ids] == [4, 3, 3]


# --- the pages ----------------------------------------------------------------------------------


def test_the_manager_receives_a_line_short_from_the_screens(client, make):
    order, needs = one_line_order(make, THREE_SHOPS)
    client.login_as(make.user(Role.MANAGER))
    detail = client.get(f"/purchase-orders/{order.number}").text
    assert "Réceptionner" in detail and "partagée au prorata des quantités" in detail
    form = client.get(f"/purchase-orders/{order.number}/receive").text
    assert f'name="good_{order.lines[0].id}"' in form
    assert f'value="{today().isoformat()}"' in form
    response = client.post(
        f"/purchase-orders/{order.number}/receive",
        data={
            "received_on": today().isoformat(),
            "delivery_note_ref": "BL-7781",
            f"good_{order.lines[0].id}": "10",
            f"damaged_{order.lines[0].id}": "1",
        },
        follow_redirects=True,
    )
    assert "Réception enregistrée" in response.text
    assert "BL-7781" in response.text and "1 abîmée" in response.text
    shops_table = response.text.split('id="shares"')[1].split("</table>")[0]
    assert f"{needs[0].member.name}</a></td>" in shops_table
    assert '<td class="num">4</td>' in shops_table
    assert '<strong class="short">6</strong>' in shops_table
    assert shares(needs) == [4, 3, 3]
    assert "Solder : le reste ne viendra pas" in response.text
    confirm = client.get(f"/purchase-orders/{order.number}/close-short").text
    assert "10 unités manquantes" in confirm
    client.post(f"/purchase-orders/{order.number}/close-short")
    assert order.status is OrderStatus.CLOSED


def test_all_received_as_ordered_fills_each_line_with_what_remains_to_receive(client, make):
    order, needs = one_line_order(make, THREE_SHOPS)
    line_id = order.lines[0].id
    receive(order, good=6)
    client.login_as(make.user(Role.MANAGER))
    empty = client.get(f"/purchase-orders/{order.number}/receive").text
    assert f'href="/purchase-orders/{order.number}/receive?as_ordered=1"' in empty
    assert f'name="good_{line_id}" value=""' in empty
    filled = client.get(f"/purchase-orders/{order.number}/receive?as_ordered=1").text
    assert f'name="good_{line_id}" value="14"' in filled
    assert f'name="damaged_{line_id}" value=""' in filled
    assert "corrigez seulement les lignes livrées en moins" in filled
    typed = {"received_on": today().isoformat(), f"good_{line_id}": "14"}
    client.post(f"/purchase-orders/{order.number}/receive", data=typed)
    assert order.status is OrderStatus.RECEIVED
    assert shares(needs) == [10, 5, 5]


def test_a_bad_receipt_form_says_why_and_keeps_what_was_typed(client, make):
    order, _ = one_line_order(make, THREE_SHOPS)
    line_id = order.lines[0].id
    client.login_as(make.user(Role.MANAGER))
    response = client.post(
        f"/purchase-orders/{order.number}/receive",
        data={
            "received_on": today().isoformat(),
            "delivery_note_ref": "BL-9",
            f"good_{line_id}": "douze",
            f"damaged_{line_id}": "2",
        },
    )
    assert response.status_code == 200
    assert "Nombre entier attendu." in response.text
    assert 'value="douze"' in response.text and 'value="BL-9"' in response.text
    response = client.post(
        f"/purchase-orders/{order.number}/receive",
        data={
            "received_on": (today() + timedelta(days=3)).isoformat(),
            f"good_{line_id}": "5",
        },
    )
    assert "ne peut pas être dans le futur" in response.text
    response = client.post(
        f"/purchase-orders/{order.number}/receive",
        data={
            "received_on": today().isoformat(),
            f"good_{line_id}": "-2",
        },
    )
    assert "entier positif ou nul" in response.text
    assert count(Receipt) == 0


def test_the_shop_sees_what_it_got_and_what_it_lost(client, make):
    order, needs = one_line_order(make, THREE_SHOPS)
    receive(order, good=10)
    client.login_as(make.user(Role.MEMBER, member=needs[0].member))
    page = client.get(f"/campaigns/{order.campaign_id}/needs").text
    assert "pour l’instant : 6 unités en moins (partagée au prorata des quantités)" in page
    receiving.close_short(order, at=now())
    db.session.commit()
    page = client.get(f"/campaigns/{order.campaign_id}/needs").text
    assert (
        "Livraison incomplète du fournisseur : 6 unités en moins "
        "(partagée au prorata des quantités)." in page
    )


def test_the_treasurer_reads_receipts_but_does_not_receive_and_members_see_nothing(client, make):
    order, needs = one_line_order(make, THREE_SHOPS)
    receive(order, good=10)
    client.login_as(make.user(Role.TREASURER))
    detail = client.get(f"/purchase-orders/{order.number}").text
    assert "BL-1" in detail and "Réceptionner" not in detail
    for method in ("get", "post"):
        for path in ("receive", "close-short"):
            url = f"/purchase-orders/{order.number}/{path}"
            assert getattr(client, method)(url).status_code == 403
    client.login_as(make.user(Role.MEMBER, member=needs[0].member))
    for path in ("", "/receive", "/close-short"):
        assert client.get(f"/purchase-orders/{order.number}{path}").status_code == 403
    assert count(Receipt) == 1


def test_an_invoiced_campaigns_order_cannot_be_closed_short_from_its_page(client, make):
    order, _ = one_line_order(make, THREE_SHOPS)
    receive(order, good=6)
    client.login_as(make.user(Role.MANAGER))
    assert "Solder : le reste ne viendra pas" in client.get(f"/purchase-orders/{order.number}").text
    order.campaign.status = CampaignStatus.INVOICED  # as invoicing leaves it
    db.session.commit()
    detail = client.get(f"/purchase-orders/{order.number}").text
    assert "Solder : le reste ne viendra pas" not in detail
    refused = client.get(f"/purchase-orders/{order.number}/close-short", follow_redirects=True)
    assert "la répartition est figée depuis la facturation" in refused.text
    client.post(f"/purchase-orders/{order.number}/close-short")
    assert order.status is OrderStatus.PARTLY_RECEIVED
