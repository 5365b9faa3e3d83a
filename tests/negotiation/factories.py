"""Plain factory functions for RFQs, with keyword defaults."""

import re
from datetime import timedelta
from decimal import Decimal

from coop.clock import now, today
from coop.extensions import db
from coop.negotiation import quoting, rfqs
from coop.negotiation.models import Invitation, Rfq
from tests import factories


def rfq(
    parts=None,
    suppliers=None,
    quantities=None,
    *,
    deadline_on=None,
    campaign=None,
    by=None,
    title="Pneus et chambres",
) -> Rfq:
    """A draft RFQ asking every supplier (default: one with an e-mail) for every part."""
    parts = parts or [factories.part()]
    suppliers = suppliers or [factories.supplier(email="devis@fournisseur.example")]
    quantities = quantities or [100] * len(parts)
    lines = list(zip(parts, quantities, strict=True))
    deadline_on = deadline_on or today() + timedelta(days=10)
    row = rfqs.create_rfq(title, deadline_on, lines, at=now(), campaign=campaign, by=by)
    rfqs.set_suppliers(row, {line.id: {s.id for s in suppliers} for line in row.lines})
    db.session.commit()
    return row


def sent_rfq(parts=None, suppliers=None, quantities=None, **values) -> Rfq:
    row = rfq(parts, suppliers, quantities, **values)
    rfqs.send_rfq(row, at=now())
    db.session.commit()
    return row


def token_in(text: str) -> str:
    """The first supplier link's token in an e-mail or a page.

    Tokens carry the time they were signed: compare what they open, not their text.
    """
    return re.search(r"/q/([A-Za-z0-9_.\-]+)", text).group(1)


def invitation_of(row: Rfq, supplier) -> Invitation:
    return next(i for i in row.invitations if i.supplier_id == supplier.id)


def answer(invitation: Invitation, tiers=((1, "10.00"),), *, submit=True, **values):
    """The supplier answers every open line with the same terms."""
    inputs = [
        quoting.AnswerInput(quote_id=q.id, tiers=[(m, Decimal(p)) for m, p in tiers], **values)
        for q in invitation.quotes
        if q.is_open
    ]
    message = quoting.save_answers(invitation, inputs, at=now(), submit=submit)
    db.session.commit()
    return message
