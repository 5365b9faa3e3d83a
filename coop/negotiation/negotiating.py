"""The coop's side of the thread: messages and counter-proposals that reopen lines."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from coop.accounts.models import User
from coop.clock import to_local
from coop.errors import DomainError
from coop.extensions import db
from coop.negotiation import notifications
from coop.negotiation.models import (
    CounterProposalLine,
    Invitation,
    MessageKind,
    NegotiationMessage,
    end_of_day,
)
from coop.negotiation.rfqs import MAX_MESSAGE_LENGTH, lock_rfq, log_entry


@dataclass(frozen=True)
class Proposal:
    """On one of the supplier's lines: the quantity the coop can commit to, the price it asks."""

    quote_id: int
    quantity: int | None = None
    unit_price: Decimal | None = None


def post_message(
    invitation: Invitation, body: str, *, at: datetime, by: User | None
) -> NegotiationMessage:
    """A message to the supplier, e-mailed with its link."""
    body = _body(body, required=True)
    _check_open(invitation)
    message = log_entry(invitation, MessageKind.MESSAGE, at, by=by, body=body)
    db.session.flush()
    notifications.coop_wrote(message)
    return message


def counter_propose(
    invitation: Invitation,
    proposals: Sequence[Proposal],
    *,
    answer_by_on: date,
    at: datetime,
    by: User | None,
    body: str = "",
) -> NegotiationMessage:
    """Ask the supplier to revise some lines; they reopen on its link until `answer_by_on`."""
    _check_open(invitation)
    body = _body(body, required=False)
    if not proposals:
        raise DomainError("Choisissez au moins une ligne à renégocier.", field="lines")
    if answer_by_on is None or answer_by_on < to_local(at).date():
        raise DomainError("La date de réponse est passée.", field="answer_by_on")
    quotes = {q.id: q for q in invitation.quotes}
    for proposal in proposals:
        quote = quotes.get(proposal.quote_id)
        if quote is None:
            raise DomainError("Cette ligne n'a pas été demandée à ce fournisseur.", field="lines")
        sku = quote.line.part.sku
        if quote.line.award is not None:
            raise DomainError(f"La ligne {sku} est déjà attribuée.", field="lines")
        if proposal.quantity is not None and proposal.quantity < 1:
            raise DomainError(f"{sku} : la quantité doit être au moins 1.", field="lines")
        if proposal.unit_price is not None and proposal.unit_price <= 0:
            raise DomainError(f"{sku} : le prix doit être strictement positif.", field="lines")
    message = log_entry(invitation, MessageKind.COUNTER_PROPOSAL, at, by=by, body=body)
    message.answer_by = end_of_day(answer_by_on)
    for proposal in proposals:
        message.proposals.append(
            CounterProposalLine(
                quote=quotes[proposal.quote_id],
                quantity=proposal.quantity,
                unit_price=proposal.unit_price,
            )
        )
        quotes[proposal.quote_id].is_open = True
    invitation.expires_at = max(invitation.expires_at or message.answer_by, message.answer_by)
    db.session.flush()
    notifications.coop_wrote(message)
    return message


def latest_proposals(invitation: Invitation) -> dict[int, CounterProposalLine]:
    """By quote id: what the last counter-proposal asked on each line still open."""
    result = {}
    for message in invitation.messages:
        for line in message.proposals:
            if line.quote.is_open:
                result[line.quote_id] = line
    return result


def _check_open(invitation: Invitation) -> None:
    lock_rfq(invitation.rfq)
    rfq = invitation.rfq
    if invitation.link_id is None or not rfq.is_negotiable:
        raise DomainError(f"La demande {rfq.number} n'est pas en cours de négociation.")
    if invitation.revoked_at is not None:
        raise DomainError(
            "Le lien de ce fournisseur est révoqué : envoyez-lui d'abord un nouveau lien."
        )


def _body(body: str | None, *, required: bool) -> str | None:
    body = (body or "").strip()
    if required and not body:
        raise DomainError("Écrivez votre message.", field="body")
    if len(body) > MAX_MESSAGE_LENGTH:
        raise DomainError(f"{MAX_MESSAGE_LENGTH} caractères au plus.", field="body")
    return body or None
