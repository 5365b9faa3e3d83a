"""What coop/orders writes to the activity log: one entry per step that matters, by whom,
for which shop, with its before/after; the campaign and purchase-order pages show them."""

from datetime import timedelta
from decimal import Decimal as D

import lxml.html
import pytest
from sqlalchemy import select

from coop.accounts.models import Role
from coop.activity import reading
from coop.activity.models import Activity, ActorKind
from coop.clock import now, to_local, today
from coop.extensions import db
from coop.orders.campaigns import lifecycle, notifications
from coop.orders.campaigns.models import CampaignStatus, DeliveryMode
from coop.orders.campaigns.rules import SplitKey
from coop.orders.costs import charging
from coop.orders.pooling import pool_run
from coop.orders.pooling.models import PoolingRun
from coop.orders.purchasing import ordering, receiving
from coop.orders.purchasing.models import OrderStatus
from coop.suppliers.origin import Origin
from tests.orders.pooling.test_pooling_review import pooled_case  # noqa: F401 (a fixture)
from tests.orders.purchasing.test_dispatch import build_hub, confirm, local_input
from tests.orders.purchasing.test_purchase_orders import committed, plan  # noqa: F401
from tests.orders.purchasing.test_receiving import THREE_SHOPS, one_line_order, receive


def entries(action: str) -> list[Activity]:
    return list(
        db.session.scalars(select(Activity).where(Activity.action == action).order_by(Activity.id))
    )


def only(action: str) -> Activity:
    (entry,) = entries(action)
    return entry


def timeline_texts(html: str) -> list[str]:
    tree = lxml.html.fromstring(html)
    return [" ".join(li.text_content().split()) for li in tree.xpath('//*[@id="activity"]//li/div')]


def terms_of(campaign) -> dict:
    return {
        "title": campaign.title,
        "order_date": campaign.order_date,
        "opens_at": None,
        "closes_at": campaign.closes_at,
        "delivery_on": None,
        "delivery_mode": campaign.delivery_mode,
        "fee_rate": campaign.fee_rate,
        "shortage_rule": campaign.shortage_rule,
        "shipping_key": campaign.shipping_key,
    }


@pytest.fixture
def manager(client, make):
    user = make.user(Role.MANAGER, name="Camille Manager")
    client.login_as(user)
    return user


# --- campaigns ----------------------------------------------------------------------------------


def test_creating_a_campaign_records_its_terms_then_its_opening(db_session, make):
    campaign = make.campaign(code="2027-01", title="Janvier", closes_at=now() + timedelta(days=9))
    created = only("campaign.created")
    assert (created.object_type, created.object_id, created.object_label) == (
        "campaign",
        campaign.id,
        "2027-01",
    )
    assert created.actor_id is None and created.actor_kind is ActorKind.SYSTEM
    assert created.member_id is None
    assert created.details == {
        "title": "Janvier",
        "order_date": campaign.order_date.isoformat(),
        "opens_at": None,
        "closes_at": to_local(campaign.closes_at).strftime("%Y-%m-%d %H:%M"),
        "delivery_on": None,
        "delivery_mode": "hub",
        "fee_rate": "0",
        "shortage_rule": "pro_rata",
        "shipping_key": "value",
    } | {f"penalty_{o.value}": format(campaign.penalty(o).normalize(), "f") for o in Origin}
    opened = only("campaign.status_changed")
    assert opened.details == {"status": {"from": "draft", "to": "open"}}


def test_editing_a_campaign_records_only_the_fields_that_changed(db_session, make):
    campaign = make.campaign(title="Janvier")
    db.session.commit()
    lifecycle.update_campaign(
        campaign,
        **(terms_of(campaign) | {"title": "Janvier bis", "delivery_mode": DeliveryMode.SHOPS}),
        penalties={},
        at=now(),
    )
    updated = only("campaign.updated")
    assert updated.object_label == campaign.code
    assert updated.details == {
        "title": {"from": "Janvier", "to": "Janvier bis"},
        "delivery_mode": {"from": "hub", "to": "shops"},
    }


def test_saving_a_campaign_unchanged_records_nothing(db_session, make):
    campaign = make.campaign()
    lifecycle.update_campaign(campaign, **terms_of(campaign), penalties={}, at=now())
    assert entries("campaign.updated") == []


def test_closing_a_campaign_from_its_page_records_the_move_by_the_manager(client, make, manager):
    campaign = make.campaign()
    response = client.post(f"/campaigns/{campaign.id}/status/closed")
    assert response.status_code == 302
    moves = entries("campaign.status_changed")
    assert [m.details["status"] for m in moves] == [
        {"from": "draft", "to": "open"},
        {"from": "open", "to": "closed"},
    ]
    assert moves[-1].actor_id == manager.id and moves[-1].actor_kind is ActorKind.USER


def test_the_nightly_close_is_recorded_as_a_job(db_session, make):
    campaign = make.campaign(closes_at=now() + timedelta(hours=1))
    lifecycle.close_due(now() + timedelta(hours=2))
    closed = entries("campaign.status_changed")[-1]
    assert closed.object_id == campaign.id
    assert closed.details == {"status": {"from": "open", "to": "closed"}}
    assert closed.actor_id is None and closed.actor_kind is ActorKind.JOB


def test_reminding_silent_shops_records_whom_by_whom(db_session, make):
    campaign = make.campaign()
    make.member(name="Vélo Vaise", email="vaise@example.org")
    make.member(name="Atelier Brotteaux", email="brotteaux@example.org")
    by = make.user(Role.MANAGER)
    notifications.remind_silent_shops(campaign, at=now(), by=by)
    reminded = only("campaign.shops_reminded")
    assert reminded.actor_id == by.id and reminded.member_id is None
    assert "Vélo Vaise" in reminded.details["shops"]
    assert "Atelier Brotteaux" in reminded.details["shops"]
    assert reminded.details["shops"] == sorted(reminded.details["shops"])


def test_a_shop_changing_its_needs_before_the_cutoff_writes_nothing(db_session, make):
    campaign = make.campaign()
    make.need(campaign, quantity=3)
    assert [e.action for e in db.session.scalars(select(Activity))] == [
        "campaign.created",
        "campaign.status_changed",
    ]


# --- pooling ------------------------------------------------------------------------------------


def test_a_finished_run_records_its_status_total_and_gap_by_whoever_started_it(
    pooled_case,  # noqa: F811
    make,
):
    campaign, _, _ = pooled_case
    by = make.user(Role.MANAGER)
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10), user=by)
    db.session.commit()
    pool_run.execute_run(run.id)
    run = db.session.get(PoolingRun, run.id)
    finished = only("pooling.run")
    assert (finished.object_type, finished.object_id, finished.object_label) == (
        "pooling_run",
        run.id,
        "2026-12",
    )
    assert finished.actor_id == by.id
    assert finished.details == {
        "status": "done",
        "total": str(run.headline.total),
        "gap": str(round(D(str(run.headline.gap)), 4)),
    }


def test_a_failed_run_is_recorded_as_failed(pooled_case, monkeypatch):  # noqa: F811
    campaign, _, _ = pooled_case

    def broken(*args, **kwargs):
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(pool_run, "solve", broken)
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    db.session.commit()
    pool_run.execute_run(run.id)
    failed = only("pooling.run")
    assert (failed.object_id, failed.details) == (run.id, {"status": "failed"})
    assert failed.actor_kind is ActorKind.SYSTEM
    assert reading.describe(failed) == [("Statut", "échoué")]


def test_committing_a_run_records_its_orders_and_undoing_it_the_cancelled_ones(
    plan,  # noqa: F811
):
    orders = committed(plan)
    numbers = [order.number for order in orders]
    run = db.session.scalar(select(PoolingRun))
    done = only("pooling.committed")
    assert (done.object_type, done.object_id) == ("pooling_run", run.id)
    assert done.details == {"orders": numbers}
    campaign = orders[0].campaign
    ordering.undo_pooling(campaign, at=now())
    undone = only("pooling.undone")
    assert (undone.object_type, undone.object_id, undone.object_label) == (
        "campaign",
        campaign.id,
        campaign.code,
    )
    assert undone.details == {"cancelled": numbers}
    assert entries("campaign.status_changed")[-1].details == {
        "status": {"from": "pooled", "to": "closed"}
    }


# --- purchase orders ----------------------------------------------------------------------------


def test_each_move_of_an_order_is_recorded_with_its_number(plan, make):  # noqa: F811
    order = committed(plan)[0]
    by = make.user(Role.MANAGER)
    ordering.send_order(order, at=now(), by=by)
    ordering.change_order_status(order, OrderStatus.CONFIRMED, at=now())
    ordering.cancel_order(order, at=now())
    moves = [
        (e.action, e.object_label, e.details["status"])
        for e in db.session.scalars(
            select(Activity).where(Activity.object_type == "purchase_order").order_by(Activity.id)
        )
    ]
    assert entries("purchase_order.sent")[0].actor_id == by.id
    assert moves == [
        ("purchase_order.sent", order.number, {"from": "draft", "to": "sent"}),
        ("purchase_order.confirmed", order.number, {"from": "sent", "to": "confirmed"}),
        ("purchase_order.cancelled", order.number, {"from": "confirmed", "to": "cancelled"}),
    ]


def test_a_receipt_records_its_note_and_units_and_each_short_shop_its_share(db_session, make):
    order, needs = one_line_order(make, THREE_SHOPS)
    by = make.user(Role.MANAGER)
    receipt = receive(order, good=12, damaged=2, ref="BL-778", by=by)
    recorded = only("receipt.recorded")
    assert (recorded.object_type, recorded.object_id, recorded.object_label) == (
        "receipt",
        receipt.id,
        order.number,
    )
    assert recorded.actor_id == by.id and recorded.member_id is None
    assert recorded.details == {
        "delivery_note": "BL-778",
        "received_on": today().isoformat(),
        "good": 12,
        "damaged": 2,
    }
    assert only("purchase_order.partly_received").actor_id == by.id
    sku = order.lines[0].part.sku
    shares = {e.member_id: e for e in entries("shortage.reallocated")}
    assert set(shares) == {need.member_id for need in needs}
    for need in needs:
        entry = shares[need.member_id]
        assert (entry.object_type, entry.object_id) == ("purchase_order", order.id)
        assert entry.actor_id == by.id
        assert entry.details == {
            "units": {sku: {"from": None, "to": need.allocation.received}},
            "ordered": {sku: need.allocation.quantity},
        }


def test_a_line_received_in_full_records_no_shortage(db_session, make):
    order, _ = one_line_order(make, THREE_SHOPS)
    receive(order, good=20)
    assert entries("shortage.reallocated") == []
    assert only("purchase_order.received").details == {"status": {"from": "sent", "to": "received"}}


def test_a_later_receipt_records_each_shop_whose_share_moves(db_session, make):
    order, needs = one_line_order(make, THREE_SHOPS)
    receive(order, good=12)
    before = {need.member_id: need.allocation.received for need in needs}
    receive(order, good=8, ref="BL-2")
    later = entries("shortage.reallocated")[len(needs) :]
    sku = order.lines[0].part.sku
    assert {e.member_id: e.details["units"][sku] for e in later} == {
        need.member_id: {"from": before[need.member_id], "to": need.allocation.quantity}
        for need in needs
        if before[need.member_id] != need.allocation.quantity
    }


def test_closing_an_order_short_is_recorded(db_session, make):
    order, _ = one_line_order(make, THREE_SHOPS)
    receive(order, good=12)
    receiving.close_short(order, at=now())
    assert only("purchase_order.closed").details == {
        "status": {"from": "partly_received", "to": "closed"}
    }


# --- charges and hand-overs ---------------------------------------------------------------------


def test_charges_added_changed_and_removed_are_on_the_campaign(db_session, make):
    hub = build_hub(make)
    campaign = hub.campaign
    charge = charging.add_charge(
        campaign, charging.ChargeTerms("Coursier", D("25.00"), SplitKey.QUANTITY)
    )
    charging.update_charge(charge, charging.ChargeTerms("Coursier", D("30.00"), SplitKey.QUANTITY))
    charging.delete_charge(charge)
    added, changed, removed = (
        only("charge.added"),
        only("charge.changed"),
        only("charge.removed"),
    )
    assert {(e.object_type, e.object_id) for e in (added, changed, removed)} == {
        ("campaign", campaign.id)
    }
    assert added.details == {
        "label": "Coursier",
        "amount": "25.00",
        "key": "quantity",
        "supplier": None,
    }
    assert changed.details == {"label": "Coursier", "amount": {"from": "25.00", "to": "30.00"}}
    assert removed.details == {
        "label": "Coursier",
        "amount": "30.00",
        "key": "quantity",
        "supplier": None,
    }


def test_changing_the_shipping_key_is_a_campaign_edit(db_session, make):
    hub = build_hub(make)
    charging.set_shipping_key(hub.campaign, "quantity")
    assert only("campaign.updated").details == {"shipping_key": {"from": "value", "to": "quantity"}}


def test_a_hand_over_is_recorded_for_its_shop_and_its_correction_too(client, make, manager):
    hub = build_hub(make)
    handed = now() - timedelta(hours=1)
    assert confirm(client, hub, handed_at=local_input(handed)).status_code == 302
    given = only("campaign.handed_over")
    assert (given.object_type, given.object_id) == ("campaign", hub.campaign.id)
    assert given.member_id == hub.shops["croix"].id and given.actor_id == manager.id
    assert given.details == {
        "taken_by": "Léa Martin",
        "handed_at": to_local(handed).strftime("%Y-%m-%d %H:%M"),
        "comment": None,
    }
    confirm(client, hub, correct="1", taken_by="Paul Martin", handed_at=local_input(handed))
    corrected = only("campaign.handover_corrected")
    assert corrected.member_id == hub.shops["croix"].id
    assert corrected.details == {"taken_by": {"from": "Léa Martin", "to": "Paul Martin"}}


# --- the pages ----------------------------------------------------------------------------------


def test_the_campaign_page_shows_its_history_with_its_runs_and_orders(client, make, manager):
    hub = build_hub(make)
    order = ordering.campaign_orders(hub.campaign)[0]
    ordering.change_order_status(order, OrderStatus.SENT, at=now())
    db.session.commit()
    texts = timeline_texts(client.get(f"/campaigns/{hub.campaign.id}").text)
    assert texts[0].startswith(f"Commande envoyée · {order.number}")
    assert any(t.startswith(f"Mutualisation validée · {hub.campaign.code}") for t in texts)
    assert any("Statut : mutualisée → commandée" in t for t in texts)
    assert texts[-1].startswith(f"Campagne créée · {hub.campaign.code}")


def test_the_order_page_shows_its_moves_receipts_and_shares(client, make, manager):
    order, _ = one_line_order(make, THREE_SHOPS)
    receive(order, good=12, ref="BL-778")
    texts = timeline_texts(client.get(f"/purchase-orders/{order.number}").text)
    assert texts[-1] == (
        f"Commande envoyée · {order.number} par Système Statut : brouillon → envoyé"
    )
    assert any(t.startswith("Réception enregistrée") and "BL-778" in t for t in texts)
    assert sum(t.startswith("Manque réparti") for t in texts) == 3
    assert any("Statut : envoyé → reçu en partie" in t for t in texts)


def test_a_shop_sees_its_own_share_of_a_shortage_and_not_the_others(client, make):
    order, needs = one_line_order(make, THREE_SHOPS)
    receive(order, good=12)
    mine, other = needs[0].member, needs[1].member
    client.login_as(make.user(Role.MEMBER, member=mine))
    texts = timeline_texts(client.get("/shop").text)
    shares = [t for t in texts if t.startswith("Manque réparti")]
    assert len(shares) == 1
    assert f"{needs[0].allocation.received}" in shares[0]
    assert other.id in {e.member_id for e in entries("shortage.reallocated")}
    assert not any(other.name in t for t in texts)


def test_a_shop_cannot_open_the_staff_pages_that_show_a_history(client, make):
    order, needs = one_line_order(make, THREE_SHOPS)
    client.login_as(make.user(Role.MEMBER, member=needs[0].member))
    assert client.get(f"/purchase-orders/{order.number}").status_code == 403
    assert client.get(f"/campaigns/{order.campaign.id}").status_code == 403


def test_rates_read_as_percentages(db_session, make):
    make.campaign(fee_rate=D("0.02"))
    shown = dict(reading.describe(only("campaign.created")))
    assert (shown["Frais de service"], shown["Pénalité Asie"]) == ("2\u00a0%", "10\u00a0%")


def test_every_campaign_status_move_reads_in_words(db_session, make):
    campaign = make.campaign()
    lifecycle.change_status(campaign, CampaignStatus.CLOSED, at=now())
    assert reading.describe(entries("campaign.status_changed")[-1]) == [
        ("Statut", "ouverte → close")
    ]
