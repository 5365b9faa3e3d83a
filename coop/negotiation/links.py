"""Private links: a signed token carrying a random id kept in the database.

The signature (itsdangerous, the app's SECRET_KEY and a salt of its own) makes
a tampered token worthless; the random id makes a token unguessable even from
another supplier's; the database row decides, at every request, whether the
link is still open: revoked, expired and closed links are refused there.

A supplier's quote link is one kind (QUOTE_LINKS); a manufacturer's link to a call
(coop.relocation.links) another, built on the same pieces.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop.errors import DomainError, PageRefusal
from coop.extensions import db
from coop.negotiation.models import Invitation, Quote, QuoteAnswer

# An outer bound only: the invitation's own expiry, in the database, is what counts.
MAX_AGE_SECONDS = 400 * 24 * 3600


class LinkState(StrEnum):
    OPEN = "open"
    INVALID = "invalid"  # tampered, unknown, or replaced by a newer link
    REVOKED = "revoked"
    EXPIRED = "expired"
    CLOSED = "closed"  # the RFQ (or the call to manufacturers) is closed, or was never sent


class LinkRefused(PageRefusal):
    """The link cannot be used; `state` says why, for the page its holder sees."""

    def __init__(self, state: LinkState, invitation=None):
        super().__init__(state.value)
        self.state = state
        self.invitation = invitation


def new_link_id() -> str:
    """192 random bits: what a token carries, and what no one can guess."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class PrivateLinks:
    """One kind of private link: its own salt (a token of one kind opens nothing of another)
    and the path its pages answer under. Suppliers' quote links are one kind, manufacturers'
    links to a call (coop.relocation) another."""

    salt: str
    prefix: str

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=self.salt)

    def token(self, link_id: str) -> str:
        return self._serializer().dumps(link_id)

    def url(self, link_id: str, lang: str | None = None) -> str:
        """The absolute address e-mailed (COOP_BASE_URL, as in every e-mail).

        Built by hand, not with url_for: reminders are sent by a CLI command, outside a request.
        """
        base = current_app.config["COOP_BASE_URL"].rstrip("/")
        query = f"?lang={lang}" if lang else ""
        return f"{base}{self.prefix}/{self.token(link_id)}{query}"

    def link_id(self, token: str) -> str:
        """The random id a token carries, or LinkRefused (tampered, of another kind, too old)."""
        try:
            link_id = self._serializer().loads(token, max_age=MAX_AGE_SECONDS)
        except SignatureExpired:
            raise LinkRefused(LinkState.EXPIRED) from None
        except BadSignature:
            raise LinkRefused(LinkState.INVALID) from None
        if not isinstance(link_id, str):
            raise LinkRefused(LinkState.INVALID)
        return link_id


def link_state(
    link_id: str | None,
    *,
    is_open: bool,
    revoked_at: datetime | None,
    expires_at: datetime | None,
    at: datetime,
) -> LinkState:
    """Whether an invitation's link works at `at`; `is_open`: its RFQ or call takes answers."""
    if link_id is None or not is_open:
        return LinkState.CLOSED
    if revoked_at is not None:
        return LinkState.REVOKED
    if expires_at is None or at >= expires_at:
        return LinkState.EXPIRED
    return LinkState.OPEN


# Where the supplier blueprint answers (coop.negotiation.views).
QUOTE_LINKS = PrivateLinks(salt="coop.negotiation.quote-link", prefix="/q")


def token_for(invitation: Invitation) -> str:
    if invitation.link_id is None:
        raise DomainError("Cette demande n'a pas encore été envoyée à ce fournisseur.")
    return QUOTE_LINKS.token(invitation.link_id)


def link_url(invitation: Invitation, lang: str | None = None) -> str:
    """The absolute address e-mailed to the supplier."""
    token_for(invitation)
    return QUOTE_LINKS.url(invitation.link_id, lang)


def state_of(invitation: Invitation, at: datetime) -> LinkState:
    return link_state(
        invitation.link_id,
        is_open=invitation.rfq.is_negotiable,
        revoked_at=invitation.revoked_at,
        expires_at=invitation.expires_at,
        at=at,
    )


def open_link(token: str, at: datetime, *, lock: bool = False) -> Invitation:
    """The invitation a token opens, or LinkRefused saying why it does not."""
    link_id = QUOTE_LINKS.link_id(token)
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
