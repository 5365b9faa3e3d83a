"""A received campaign's split is stored, and the database refuses it unbalanced or edited."""

from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import DatabaseError

from coop.accounts.models import Role
from coop.clock import now, today
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.models import CampaignStatus
from coop.orders.campaigns.rules import SplitKey
from coop.orders.costs import charging, splitting
from coop.orders.costs.models import SplitAmount, SplitShare
from coop.orders.purchasing.models import OrderStatus, PurchaseOrder
from coop.orders.purchasing.ordering import change_order_status
from tests.orders.costs.test_statements import build_world

D = Decimal


def received(make):
    w = build_world(make)
    for status in (CampaignStatus.ORDERED, CampaignStatus.RECEIVED):
        change_status(w.campaign, status, at=now())
    splitting.store_split(w.campaign)
    db.session.commit()
    return w


def stored(campaign) -> dict[str, tuple[Decimal, Decimal]]:
    """source -> (amount, sum of its shares)."""
    amounts = dict(
        db.session.execute(
            select(SplitAmount.source, SplitAmount.amount).where(
                SplitAmount.campaign_id == campaign.id
            )
        )
        .tuples()
        .all()
    )
    shares = dict(
        db.session.execute(
            select(SplitShare.source, func.sum(SplitShare.amount))
            .where(SplitShare.campaign_id == campaign.id)
            .group_by(SplitShare.source)
        )
        .tuples()
        .all()
    )
    return {s: (amounts[s], D(shares.get(s, 0)).quantize(D("0.01"))) for s in amounts}


def test_the_stored_split_holds_every_fee_and_charge_shared_to_the_cent(make):
    w = received(make)
    # LYON's shipping was waived; ASIA's 40.00 over three needs (14.60, 14.60, 10.80).
    assert stored(w.campaign) == {
        "shipping:LYON": (D("0.00"), D("0.00")),
        "shipping:ASIA": (D("40.00"), D("40.00")),
    }
    # A charge added after the goods arrived is stored at once, split by its key.
    charge = charging.add_charge(
        w.campaign, charging.ChargeTerms("Coursier", D("25.00"), SplitKey.QUANTITY)
    )
    db.session.commit()
    assert stored(w.campaign)[f"charge:{charge.id}"] == (D("25.00"), D("25.00"))
    charging.delete_charge(charge)
    db.session.commit()
    assert f"charge:{charge.id}" not in stored(w.campaign)


def test_the_database_refuses_an_amount_its_shares_do_not_add_up_to(make):
    w = received(make)
    need = w.needs["a_chain"]
    db.session.execute(
        insert(SplitShare),
        [
            {
                "campaign_id": w.campaign.id,
                "source": "charge:99",
                "need_id": need.id,
                "amount": D("10.00"),
            },
        ],
    )
    with pytest.raises(DatabaseError, match="do not add up"):
        db.session.execute(
            insert(SplitAmount),
            [
                {"campaign_id": w.campaign.id, "source": "charge:99", "amount": D("10.01")},
            ],
        )
    db.session.rollback()


@pytest.mark.parametrize("change", ["update share", "delete share", "update amount", "late share"])
def test_a_stored_split_cannot_be_edited_in_place(make, change):
    w = received(make)
    source = (SplitShare.campaign_id == w.campaign.id) & (SplitShare.source == "shipping:ASIA")
    statement = {
        "update share": update(SplitShare).where(source).values(amount=D("0.00")),
        "delete share": SplitShare.__table__.delete().where(source),
        "update amount": update(SplitAmount)
        .where(SplitAmount.campaign_id == w.campaign.id)
        .values(amount=D("1.00")),
        "late share": insert(SplitShare).values(
            campaign_id=w.campaign.id,
            source="shipping:ASIA",
            need_id=w.needs["b_tube"].id,
            amount=D("0.01"),
        ),
    }[change]
    with pytest.raises(DatabaseError):
        db.session.execute(statement)
    db.session.rollback()
    assert stored(w.campaign)["shipping:ASIA"] == (D("40.00"), D("40.00"))


def test_receiving_the_last_order_on_its_page_stores_the_split(client, make):
    w = build_world(make, receive=False)
    orders = db.session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.campaign_id == w.campaign.id)
    ).all()
    for order in orders:
        change_order_status(order, OrderStatus.SENT, at=now())
    db.session.commit()
    client.login_as(make.user(Role.MANAGER))
    for order in sorted(orders, key=lambda o: o.number):
        assert stored(w.campaign) == {}  # nothing until the campaign is received
        typed = {"received_on": today().isoformat()}
        typed |= {f"good_{line.id}": str(line.quantity) for line in order.lines}
        response = client.post(f"/purchase-orders/{order.number}/receive", data=typed)
        assert response.status_code == 302
    db.session.expire_all()
    assert w.campaign.status is CampaignStatus.RECEIVED
    assert stored(w.campaign) == {
        "shipping:LYON": (D("0.00"), D("0.00")),
        "shipping:ASIA": (D("40.00"), D("40.00")),
    }


def test_a_charge_freezes_with_the_campaigns_first_invoice_not_its_last(make):
    w = received(make)
    w.campaign.invoicing_started_at = now()
    db.session.commit()
    with pytest.raises(DomainError, match=r"La facturation de la campagne .* a commencé"):
        charging.add_charge(w.campaign, charging.ChargeTerms("Palette", D("12.00"), SplitKey.VALUE))
