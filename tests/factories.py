"""Plain factory functions with keyword defaults."""

import hashlib
import itertools
import random
from datetime import timedelta
from decimal import Decimal

from coop.accounts.auth import hash_password
from coop.accounts.models import Member, Role, User, UserRole
from coop.clock import now, today
from coop.demo import fake_siret
from coop.extensions import db
from coop.orders.campaigns.lifecycle import create_campaign
from coop.orders.campaigns.models import Campaign, Need
from coop.orders.campaigns.needs import NeedTerms, post_need
from coop.orders.purchasing.models import (
    OrderLine,
    OrderStatus,
    PurchaseOrder,
    Receipt,
    ReceiptLine,
)
from coop.purchases.models import (
    SourceFormat,
    SupplierInvoice,
    SupplierInvoiceKind,
    SupplierInvoiceLine,
    SupplierInvoiceStatus,
)
from coop.suppliers.catalogue import save_offer
from coop.suppliers.models import Offer, Part, Supplier

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def valid_siret(seed: int) -> str:
    return fake_siret(random.Random(seed))


def member(**values) -> Member:
    n = next(_counter)
    fields = {
        "code": f"SHOP{n:03d}",
        "name": f"Atelier n°{n}",
        "siret": valid_siret(n),
        "email": f"shop{n}@example.org",
        "address": f"{n} rue de la République",
        "postcode": "69002",
        "city": "Lyon",
        "is_active": True,
    }
    fields.update(values)
    shop = Member(**fields)
    db.session.add(shop)
    # Committed, as data that exists before the request under test (a SAVEPOINT release).
    db.session.commit()
    return shop


def user(*roles: Role, member: Member | None = None, **values) -> User:
    """An account holding `roles` (the member role, for a new shop, when none is given)."""
    n = next(_counter)
    roles = roles or (Role.MEMBER,)
    if Role.MEMBER in roles and member is None:
        member = globals()["member"]()
    fields = {
        "email": f"user{n}@example.org",
        "name": f"User {n}",
        "role_grants": [UserRole(role=role) for role in roles],
        "member": member,
        "password_hash": hash_password(values.pop("password", PASSWORD)),
        "is_active": True,
    }
    fields.update(values)
    account = User(**fields)
    db.session.add(account)
    db.session.commit()
    return account


def supplier(**values) -> Supplier:
    n = next(_counter)
    fields = {
        "code": f"SUP{n:03d}",
        "name": f"Fournisseur {n}",
        "country": "FR",
        "is_local": False,
        "shipping_fee": Decimal("20.00"),
        "default_lead_time_days": 5,
        "is_active": True,
    }
    fields.update(values)
    row = Supplier(**fields)
    db.session.add(row)
    db.session.commit()
    return row


def part(**values) -> Part:
    n = next(_counter)
    fields = {"sku": f"PART-{n:04d}", "name": f"Pièce {n}", "category": "pneus", "is_active": True}
    fields.update(values)
    row = Part(**fields)
    db.session.add(row)
    db.session.commit()
    return row


def offer(supplier=None, part=None, tiers=((1, "10.00"),), **values) -> Offer:
    supplier = supplier or globals()["supplier"]()
    part = part or globals()["part"]()
    fields = {"made_in": supplier.country, "pack_size": 1, "moq": 0}
    fields.update(values)
    row = save_offer(
        None,
        supplier=supplier,
        part=part,
        tiers=[(q, Decimal(p)) for q, p in tiers],
        **fields,
    )
    db.session.commit()
    return row


def campaign(**values) -> Campaign:
    n = next(_counter)
    moment = now()
    fields = {
        "code": f"C{n:03d}",
        "title": f"Campagne {n}",
        "order_date": today() + timedelta(days=20),
        "closes_at": moment + timedelta(days=10),
        "at": moment,
    }
    fields.update(values)
    row = create_campaign(
        fields.pop("code"), fields.pop("title"), fields.pop("order_date"), **fields
    )
    db.session.commit()
    return row


def need(campaign, member=None, part=None, **terms) -> Need:
    member = member or globals()["member"]()
    part = part or globals()["part"]()
    terms.setdefault("quantity", 1)
    row = post_need(campaign, member, part, NeedTerms(**terms), at=now())
    db.session.commit()
    return row


def purchase_order(
    supplier, campaign=None, lines=(), *, shipping_fee="0.00", status=OrderStatus.SENT, **values
) -> PurchaseOrder:
    """A purchase order of `lines` (offer, quantity, unit price), as the plan leaves it."""
    n = next(_counter)
    campaign = campaign or globals()["campaign"]()
    fields = {
        "number": f"BC-2026-{n:05d}",
        "campaign": campaign,
        "supplier": supplier,
        "status": status,
        "shipping_fee": Decimal(shipping_fee),
        "delivery_mode": campaign.delivery_mode,
        "sent_at": now() if status is not OrderStatus.DRAFT else None,
    }
    fields.update(values)
    order = PurchaseOrder(**fields)
    order.lines = [
        OrderLine(
            offer=offer,
            part=offer.part,
            supplier_ref=offer.supplier_ref,
            description=offer.part.name,
            pack_size=offer.pack_size,
            quantity=quantity,
            unit_price=Decimal(price),
            tier_min_qty=1,
        )
        for offer, quantity, price in lines
    ]
    db.session.add(order)
    db.session.commit()
    return order


def receipt(order, received=None, *, on=None) -> Receipt:
    """Goods received at the hub: `received` {order line: good units}, else all ordered."""
    received = received if received is not None else {line: line.quantity for line in order.lines}
    row = Receipt(order=order, received_on=on or today(), delivery_note_ref=f"BL-{order.number}")
    row.lines = [ReceiptLine(line=line, received=units) for line, units in received.items()]
    db.session.add(row)
    db.session.commit()
    return row


def supplier_invoice(supplier, number, lines=(), vat="0.00", *, credited=None, **values):
    """A supplier's document entered by hand, booked unless told otherwise; `lines`:
    (kind, part or None, quantity, unit price), billed at 20 % when `vat` is not zero."""
    rows = [
        SupplierInvoiceLine(
            position=n,
            kind=kind,
            name=part.name if part else "Port",
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            amount_excl_vat=Decimal(quantity) * Decimal(price),
            vat_rate=Decimal("0.2000") if Decimal(vat) else Decimal("0"),
            vat_category="S" if Decimal(vat) else "K",
            part=part,
        )
        for n, (kind, part, quantity, price) in enumerate(lines, start=1)
    ]
    excl = sum((row.amount_excl_vat for row in rows), Decimal("0.00"))
    pdf = b"%PDF-1.7 supplier"
    fields = {
        "supplier": supplier,
        "kind": SupplierInvoiceKind.CREDIT_NOTE if credited else SupplierInvoiceKind.INVOICE,
        "number": number,
        "issued_on": today(),
        "credited_invoice": credited,
        "total_excl_vat": excl,
        "total_vat": Decimal(vat),
        "total_incl_vat": excl + Decimal(vat),
        "vat_breakdown": [],
        "source_format": SourceFormat.MANUAL,
        "file": pdf,
        "filename": f"{number}.pdf",
        "file_type": "application/pdf",
        "file_sha256": hashlib.sha256(pdf).hexdigest(),
        "status": SupplierInvoiceStatus.BOOKED,
        "booked_on": today(),
    }
    fields.update(values)
    invoice = SupplierInvoice(**fields, lines=rows)
    db.session.add(invoice)
    db.session.flush()
    return invoice
