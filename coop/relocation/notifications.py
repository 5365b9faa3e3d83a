"""The calls' e-mails: to makers (with their private link), and to the manager.

Makers' e-mails are in French then English, as suppliers' are. Every one is queued
(coop.mail) and leaves only once the transaction commits.
"""

from flask import current_app

from coop import mail
from coop.accounts.identity import letterhead
from coop.relocation.links import link_url
from coop.relocation.models import CallAcceptance, CallInvitation, CallMessage


def _to_maker(invitation: CallInvitation, subject: str, template: str, **context) -> None:
    coop = letterhead()
    mail.queue(
        invitation.email,
        f"{subject} – {coop['name']}",
        template,
        call=invitation.call,
        invitation=invitation,
        link=link_url(invitation),
        link_en=link_url(invitation, lang="en"),
        coop=coop,
        **context,
    )


def call_sent(invitation: CallInvitation, *, renewed: bool = False) -> None:
    subject = f"Appel à fabricants {invitation.call.code} / Call for manufacturers"
    _to_maker(invitation, subject, "call_invitation", renewed=renewed)


def coop_wrote(message: CallMessage) -> None:
    subject = f"Message sur l'appel {message.invitation.call.code} / Message"
    _to_maker(message.invitation, subject, "call_message", message=message)


def answer_accepted(acceptance: CallAcceptance, invitation: CallInvitation) -> None:
    subject = f"Votre offre est retenue – appel {acceptance.call.code} / Your offer is accepted"
    _to_maker(invitation, subject, "call_accepted", acceptance=acceptance)


def maker_wrote(message: CallMessage) -> None:
    """Tell the manager who prepared the call that a maker answered or wrote."""
    invitation = message.invitation
    manager = invitation.call.created_by
    if manager is None or not manager.is_active:
        return
    link = current_app.config["COOP_BASE_URL"].rstrip("/") + (
        f"/calls/{invitation.call_id}/makers/{invitation.id}"
    )
    mail.queue(
        manager.email,
        f"{invitation.name} – appel à fabricants {invitation.call.code}",
        "call_maker_news",
        call=invitation.call,
        invitation=invitation,
        message=message,
        link=link,
    )
