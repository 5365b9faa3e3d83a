"""An issued invoice built by hand, as issuing would leave it (lines, VAT rows, snapshot)."""

import hashlib
import itertools
from datetime import date, timedelta
from decimal import Decimal

from coop.extensions import db
from coop.invoicing import issuing
from coop.invoicing.models import (
    Invoice,
    InvoiceDocument,
    InvoiceKind,
    InvoiceLine,
    InvoiceVat,
    LineKind,
)
from coop.money import quantize

_counter = itertools.count(1)

SELLER = {
    "name": "Coop Vélo Lyon",
    "legal_form": "SCIC SAS à capital variable",
    "siren": "732829320",
    "vat_number": "FR44732829320",
    "address": "12 rue Paul Bert",
    "postcode": "69003",
    "city": "Lyon",
    "country": "FR",
    "iban": "FR7630006000011234567890189",
    "bic": "AGRIFRPPXXX",
    "email": "tresorerie@coopvelo.example",
    "phone": "04 78 00 00 00",
}

LINES = (
    # kind, description, reference, quantity, unit price, VAT rate
    (LineKind.GOODS, "Pneu Schwalbe Marathon 700x35", "PNEU-700-35", "4", "21.9000", "0.2000"),
    (LineKind.GOODS, "Manuel de réparation vélo", "LIVRE-01", "2", "15.0000", "0.0550"),
    (LineKind.SHIPPING, "Frais de port (quote-part)", None, "1", "6.4000", "0.2000"),
    (LineKind.FEE, "Frais de service de la coopérative", None, "1", "3.5000", "0.2000"),
)


def invoice(
    member,
    campaign,
    *,
    kind=InvoiceKind.INVOICE,
    credited=None,
    lines=LINES,
    issued_on=date(2026, 12, 7),
    **snapshot_changes,
) -> Invoice:
    """A committed invoice for `member` with exact totals (VAT once per rate, half up)."""
    n = next(_counter)
    prefix = "AV" if kind == InvoiceKind.CREDIT_NOTE else "FA"
    rows = [
        (k, d, r, Decimal(q), Decimal(p), Decimal(v), quantize(Decimal(q) * Decimal(p)))
        for k, d, r, q, p, v in lines
    ]
    bases: dict[Decimal, Decimal] = {}
    for *_, rate, amount in rows:
        bases[rate] = bases.get(rate, Decimal("0.00")) + amount
    vat = {rate: quantize(base * rate) for rate, base in bases.items()}
    total_excl = sum(bases.values(), Decimal("0.00"))
    total_vat = sum(vat.values(), Decimal("0.00"))
    rate = "taux directeur de la BCE majoré de 10 points"
    # The shape coop.invoicing.issuing gives the snapshot.
    snapshot = {
        "seller": dict(SELLER, late_payment_rate=rate),
        "buyer": issuing.buyer_snapshot(member),
        "references": {
            "campaign_code": campaign.code,
            "campaign_title": campaign.title,
            "shop_references": sorted({r for _, _, r, *_ in lines if r}),
        },
        "delivered_on": None,
        "mentions": {
            "nature": "Facture de biens et de services",
            "payment_terms": "Paiement à 30 jours, par virement avec la référence indiquée.",
            "early_payment_discount": issuing.NO_DISCOUNT,
            "late_payment": issuing.late_payment_sentence(rate),
            "late_payment_rate": rate,
            "recovery_indemnity": issuing.RECOVERY_INDEMNITY,
        },
    }
    snapshot.update(snapshot_changes)
    row = Invoice(
        number=f"{prefix}-2026-{n:06d}",
        kind=kind,
        campaign=campaign,
        member=member,
        credited_invoice=credited,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=30),
        snapshot=snapshot,
        total_excl_vat=total_excl,
        total_vat=total_vat,
        total_incl_vat=total_excl + total_vat,
        payment_reference=f"RF{n:02d}COOP{n:06d}",
    )
    # Lines and VAT rows go in with the invoice: once flushed, an invoice is never updated.
    row.lines = [
        InvoiceLine(
            position=position,
            kind=k,
            description=d,
            reference=r,
            quantity=q,
            unit_price=p,
            vat_rate=v,
            amount_excl_vat=amount,
        )
        for position, (k, d, r, q, p, v, amount) in enumerate(rows, start=1)
    ]
    row.vat = [InvoiceVat(rate=rate, base=bases[rate], amount=vat[rate]) for rate in sorted(bases)]
    db.session.add(row)
    db.session.commit()
    return row


def document(invoice: Invoice, pdf: bytes = b"%PDF-1.7\n% stand-in, not rendered\n"):
    """A stored PDF for `invoice` without rendering one (fast, for access tests)."""
    row = InvoiceDocument(invoice_id=invoice.id, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest())
    db.session.add(row)
    db.session.commit()
    return row
