"""A supplier's private link: a signed token carrying a random id kept in the database.

The signature (itsdangerous, the app's SECRET_KEY and a salt of its own) makes
a tampered token worthless; the random id makes a token unguessable even from
another supplier's; the database row decides, at every request, whether the
link is still open: revoked, expired and closed links are refused there.
"""

import secrets
from datetime import datetime
from enum import StrEnum

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop.errors import DomainError, PageRefusal
from coop.extensions import db
from coop.negotiation.models import Invitation, Quote, QuoteAnswer

SALT = "coop.negotiation.quote-link"
# Where the supplier blueprint answers (coop.negotiation.views).
LINK_PREFIX = "/q"
# An outer bound only: the invitation's own expiry, in the database, is what counts.
MAX_AGE_SECONDS = 400 * 24 * 3600


class LinkState(StrEnum):
    OPEN = "open"
    INVALID = "invalid"  # tampered, unknown, or replaced by a newer link
    REVOKED = "revoked"
    EXPIRED = "expired"
    CLOSED = "closed"  # the RFQ is closed (or was never sent)


class LinkRefused(PageRefusal):
    """The link cannot be used; `state` says why, for the page the supplier sees."""

    def __init__(self, state: LinkState, invitation: Invitation | None = None):
        super().__init__(state.value)
        self.state = state
        self.invitation = invitation


def new_link_id() -> str:
    """192 random bits: what a token carries, and what no one can guess."""
    return secrets.token_urlsafe(24)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(invitation: Invitation) -> str:
    if invitation.link_id is None:
        raise DomainError("Cette demande n'a pas encore été envoyée à ce fournisseur.")
    return _serializer().dumps(invitation.link_id)


def link_url(invitation: Invitation, lang: str | None = None) -> str:
    """The absolute address e-mailed to the supplier (COOP_BASE_URL, as in every e-mail).

    Built by hand, not with url_for: the reminders are sent by a CLI command, outside a request.
    """
    base = current_app.config["COOP_BASE_URL"].rstrip("/")
    return f"{base}{LINK_PREFIX}/{token_for(invitation)}" + (f"?lang={lang}" if lang else "")


def state_of(invitation: Invitation, at: datetime) -> LinkState:
    if invitation.link_id is None or not invitation.rfq.is_negotiable:
        return LinkState.CLOSED
    if invitation.revoked_at is not None:
        return LinkState.REVOKED
    if invitation.expires_at is None or at >= invitation.expires_at:
        return LinkState.EXPIRED
    return LinkState.OPEN


def open_link(token: str, at: datetime, *, lock: bool = False) -> Invitation:
    """The invitation a token opens, or LinkRefused saying why it does not."""
    try:
        link_id = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except SignatureExpired:
        raise LinkRefused(LinkState.EXPIRED) from None
    except BadSignature:
        raise LinkRefused(LinkState.INVALID) from None
    if not isinstance(link_id, str):
        raise LinkRefused(LinkState.INVALID)
    stmt = (
        select(Invitation)
        .where(Invitation.link_id == link_id)
        .options(
            selectinload(Invitation.quotes).selectinload(Quote.line),
            selectinload(Invitation.quotes)
            .selectinload(Quote.answers)
            .selectinload(QuoteAnswer.tiers),
        )
    )
    if lock:
        # Two tabs submitting at once answer one after the other.
        stmt = stmt.with_for_update(of=Invitation)
    invitation = db.session.scalar(stmt)
    if invitation is None:
        raise LinkRefused(LinkState.INVALID)
    state = state_of(invitation, at)
    if state is not LinkState.OPEN:
        raise LinkRefused(state, invitation)
    return invitation
