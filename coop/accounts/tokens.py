"""Single-use links e-mailed to people: an invitation, a forgotten password.

The link carries 256 random bits; the database keeps only their SHA-256. A random
value that long cannot be guessed, so it needs no signature; keeping only its hash
means a copy of the database (a backup) opens no account. The row decides, at each
use, whether the link still works: used, revoked and expired links are refused with
a page saying which.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import select

from coop.accounts.models import AccountToken, TokenPurpose
from coop.clock import now
from coop.errors import PageRefusal
from coop.extensions import db

LIFETIMES = {
    TokenPurpose.INVITE: timedelta(days=7),
    # A reset link reaches whoever reads the mailbox: short-lived.
    TokenPurpose.RESET: timedelta(hours=2),
}
# Where each link answers (coop.accounts.views): built by hand, like every e-mailed link.
PATHS = {TokenPurpose.INVITE: "/invitation", TokenPurpose.RESET: "/password/reset"}


class LinkState(StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"  # mistyped, cut, or another kind of link
    USED = "used"
    REVOKED = "revoked"  # replaced by a newer link, or withdrawn
    EXPIRED = "expired"


class LinkRefused(PageRefusal):
    """The link cannot be used; `state` says why, for the page its holder sees."""

    def __init__(self, state: LinkState):
        super().__init__(state.value)
        self.state = state


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue(token: AccountToken, at: datetime | None = None) -> str:
    """Give `token` a new random value and its expiry, add it; the raw value, for the link."""
    at = at or now()
    raw = secrets.token_urlsafe(32)
    token.token_hash = hash_token(raw)
    token.created_at = at
    token.expires_at = at + LIFETIMES[token.purpose]
    db.session.add(token)
    db.session.flush()
    return raw


def link(purpose: TokenPurpose, raw: str) -> str:
    """The absolute address e-mailed (COOP_BASE_URL, as in every e-mail)."""
    return f"{current_app.config['COOP_BASE_URL'].rstrip('/')}{PATHS[purpose]}/{raw}"


def state_of(token: AccountToken, at: datetime) -> LinkState:
    if token.used_at is not None:
        return LinkState.USED
    if token.revoked_at is not None:
        return LinkState.REVOKED
    if at >= token.expires_at:
        return LinkState.EXPIRED
    return LinkState.VALID


def open_token(purpose: TokenPurpose, raw: str, *, lock: bool = False) -> AccountToken:
    """The token a link carries, if it still works; LinkRefused saying why otherwise.

    `lock` when using it: two submissions of one link use it once.
    """
    if not raw or len(raw) > 100:
        raise LinkRefused(LinkState.UNKNOWN)
    stmt = select(AccountToken).where(
        AccountToken.token_hash == hash_token(raw), AccountToken.purpose == purpose
    )
    if lock:
        # Read again once the lock is ours: the row another request has just used.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    token = db.session.scalar(stmt)
    if token is None:
        raise LinkRefused(LinkState.UNKNOWN)
    state = state_of(token, now())
    if state is not LinkState.VALID:
        raise LinkRefused(state)
    return token
