"""Plain factory functions for calls to manufacturers and framework agreements."""

import re
from datetime import timedelta
from decimal import Decimal

from coop.clock import now, today
from coop.extensions import db
from coop.orders.campaigns.models import CampaignStatus, DeliveryMode
from coop.orders.purchasing.models import Allocation, OrderLine, OrderStatus, PurchaseOrder
from coop.relocation import answering, calls
from coop.relocation.models import CallInvitation, ManufacturerCall
from tests import factories

_orders = iter(range(1, 100_000))


def bought(offer, quantities, *, order_date, status=OrderStatus.SENT, campaign_status=None):
    """A committed campaign ordered on `order_date` in which shops got `quantities` (one need
    each) of the offer's part: its purchase order, line and allocations, as commit_run makes
    them."""
    campaign = factories.campaign(order_date=order_date, closes_at=None)
    needs = [factories.need(campaign, part=offer.part, quantity=q) for q in quantities]
    campaign.status = campaign_status or CampaignStatus.ORDERED
    order = PurchaseOrder(
        number=f"BC-T-{next(_orders):05d}",
        campaign=campaign,
        supplier=offer.supplier,
        status=status,
        delivery_mode=DeliveryMode.HUB,
    )
    line = OrderLine(
        offer=offer,
        part=offer.part,
        description=offer.part.name,
        pack_size=offer.pack_size,
        quantity=sum(quantities),
        unit_price=offer.tiers[0].unit_price,
        tier_min_qty=offer.tiers[0].min_qty,
    )
    order.lines.append(line)
    db.session.add(order)
    for need in needs:
        line.allocations.append(Allocation(need=need, quantity=need.quantity))
    db.session.commit()
    return campaign


def call(part=None, *, category=None, by=None, **values) -> ManufacturerCall:
    """A draft call on one part (default: a new one), due in 30 days."""
    if part is None and category is None:
        part = factories.part()
    fields = {
        "title": "Chaînes fabriquées à Saint-Étienne",
        "part": part,
        "category": category,
        "specification": "Chaîne 11 vitesses, acier traité, 116 maillons.",
        "annual_volume": 1200,
        "target_price": Decimal("9.5000"),
        "delivery_rhythm": "Une livraison par campagne.",
        "duration_months": 24,
        "deadline_on": today() + timedelta(days=30),
    }
    fields.update(values)
    row = calls.create_call(calls.CallTerms(**fields), at=now(), by=by)
    db.session.commit()
    return row


def invite(row: ManufacturerCall, name="Forge du Gier", email=None, siret=None, seed=None):
    n = seed if seed is not None else len(row.invitations) + 1
    email = email or f"contact{n}@fabricant{row.id}.example"
    siret = siret or factories.valid_siret(10_000 + 100 * row.id + n)
    invitation = calls.invite_maker(row, calls.Maker(name, email, siret), at=now())
    db.session.commit()
    return invitation


def published(part=None, makers=("Forge du Gier", "Mécanique Lyonnaise"), **values):
    row = call(part, **values)
    for n, name in enumerate(makers, start=1):
        invite(row, name, seed=n)
    calls.publish_call(row, at=now())
    db.session.commit()
    return row


def answer(invitation: CallInvitation, tiers=((1, "9.00"),), **values):
    fields = {
        "tiers": [(q, Decimal(p)) for q, p in tiers],
        "lead_time_days": 21,
        "yearly_capacity": 5000,
    }
    fields.update(values)
    row = answering.submit_answer(invitation, answering.AnswerTerms(**fields), at=now())
    db.session.commit()
    return row


def token_in(text: str) -> str:
    """The first maker link's token in an e-mail or a page."""
    return re.search(r"/m/([A-Za-z0-9_.\-]+)", text).group(1)
