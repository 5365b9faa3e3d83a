"""A maker's private link to a call: the negotiation's private links (coop.negotiation.links),
with a salt and a path of their own, so a quote link opens no call and the other way round."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop.errors import DomainError
from coop.extensions import db
from coop.negotiation.links import LinkRefused, LinkState, PrivateLinks, link_state
from coop.relocation.models import CallAnswer, CallInvitation

# Where the maker's blueprint answers (coop.relocation.maker_views).
MAKER_LINKS = PrivateLinks(salt="coop.relocation.maker-link", prefix="/m")


def token_for(invitation: CallInvitation) -> str:
    if invitation.link_id is None:
        raise DomainError("Cet appel n'a pas encore été envoyé à ce fabricant.")
    return MAKER_LINKS.token(invitation.link_id)


def link_url(invitation: CallInvitation, lang: str | None = None) -> str:
    """The absolute address e-mailed to the maker."""
    token_for(invitation)
    return MAKER_LINKS.url(invitation.link_id, lang)


def state_of(invitation: CallInvitation, at: datetime) -> LinkState:
    return link_state(
        invitation.link_id,
        is_open=invitation.call.takes_answers,
        revoked_at=invitation.revoked_at,
        expires_at=invitation.expires_at,
        at=at,
    )


def open_link(token: str, at: datetime, *, lock: bool = False) -> CallInvitation:
    """The invitation a token opens, or LinkRefused saying why it does not."""
    link_id = MAKER_LINKS.link_id(token)
    stmt = (
        select(CallInvitation)
        .where(CallInvitation.link_id == link_id)
        .options(selectinload(CallInvitation.answers).selectinload(CallAnswer.tiers))
    )
    if lock:
        # Two tabs answering at once answer one after the other.
        stmt = stmt.with_for_update(of=CallInvitation)
    invitation = db.session.scalar(stmt)
    if invitation is None:
        raise LinkRefused(LinkState.INVALID)
    state = state_of(invitation, at)
    if state is not LinkState.OPEN:
        raise LinkRefused(state, invitation)
    return invitation
