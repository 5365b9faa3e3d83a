"""The negotiation's e-mails: to suppliers (with their private link), and to the manager.

Suppliers' e-mails are in French then English: a supplier may be in Taipei or
Milan. Every one is queued (coop.mail) and leaves only once the transaction commits.
"""

from flask import current_app

from coop import mail
from coop.accounts.identity import letterhead
from coop.negotiation.links import link_url
from coop.negotiation.models import Invitation, NegotiationMessage, RfqLine


def _to_supplier(invitation: Invitation, subject: str, template: str, **context) -> None:
    coop = letterhead()
    mail.queue(
        invitation.supplier.email,
        f"{subject} – {coop['name']}",
        template,
        rfq=invitation.rfq,
        invitation=invitation,
        supplier=invitation.supplier,
        link=link_url(invitation),
        link_en=link_url(invitation, lang="en"),
        coop=coop,
        **context,
    )


def rfq_sent(invitation: Invitation, *, renewed: bool = False) -> None:
    rfq = invitation.rfq
    subject = f"Demande de devis {rfq.number} / Request for quotation"
    _to_supplier(invitation, subject, "rfq_request", quotes=invitation.quotes, renewed=renewed)


def rfq_reminder(invitation: Invitation) -> None:
    subject = f"Rappel : demande de devis {invitation.rfq.number} / Reminder"
    _to_supplier(invitation, subject, "rfq_reminder")


def coop_wrote(message: NegotiationMessage) -> None:
    """A message or a counter-proposal from the coop, with the link to answer it."""
    invitation = message.invitation
    if message.proposals:
        subject = f"Contre-proposition sur la demande {invitation.rfq.number} / Counter-proposal"
    else:
        subject = f"Message sur la demande {invitation.rfq.number} / Message"
    _to_supplier(invitation, subject, "rfq_message", message=message)


def lines_awarded(invitation: Invitation, lines: list[RfqLine]) -> None:
    subject = f"Votre offre est retenue – demande {invitation.rfq.number} / Your quote is accepted"
    _to_supplier(invitation, subject, "rfq_awarded", lines=lines)


def supplier_wrote(message: NegotiationMessage) -> None:
    """Tell the manager who prepared the RFQ that a supplier answered or wrote."""
    invitation = message.invitation
    manager = invitation.rfq.created_by
    if manager is None or not manager.is_active:
        return
    link = current_app.config["COOP_BASE_URL"].rstrip("/") + (
        f"/rfqs/{invitation.rfq_id}/suppliers/{invitation.id}"
    )
    mail.queue(
        manager.email,
        f"{invitation.supplier.name} – demande de devis {invitation.rfq.number}",
        "rfq_supplier_news",
        rfq=invitation.rfq,
        supplier=invitation.supplier,
        message=message,
        link=link,
    )
