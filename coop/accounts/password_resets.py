"""Forgotten passwords: a single-use link (coop.accounts.tokens) mailed to the account.

Whoever asks gets the same answer whatever the address, known or not, and in about the
same time: the request hands the address to a job (coop.jobs) that looks the account up
and mails the link; the lookup, the token and the mail never run in the request, so its
timing says nothing about the address. How often one may ask (per address and per
client) is a rate limit (coop.rate_limits), counted alike for known and unknown
addresses.
"""

from sqlalchemy import select, update

from coop import mail
from coop.accounts import tokens
from coop.accounts.auth import set_password
from coop.accounts.models import AccountToken, TokenPurpose, User
from coop.clock import now
from coop.errors import DomainError
from coop.extensions import db


def send_reset_link(email: str) -> None:
    """The job: mail a reset link to the account of `email`, if there is one that may log
    in; earlier links of the address stop working. Commits."""
    key = email.strip().lower()
    # Two requests at once: the second waits for the first's link, then revokes it too. On
    # PostgreSQL the account's row is locked before any link is touched, so that requests at
    # once queue on it rather than deadlock on each other's links.
    user = db.session.scalar(select(User).where(User.email == key).with_for_update())
    if user and user.is_active and not (user.member and not user.member.is_active):
        _revoke_links(key)
        raw = tokens.issue(AccountToken(purpose=TokenPurpose.RESET, email=user.email, user=user))
        mail.queue(
            user.email,
            "Choisir un nouveau mot de passe",
            "password_reset",
            user=user,
            link=tokens.link(TokenPurpose.RESET, raw),
            hours=int(tokens.LIFETIMES[TokenPurpose.RESET].total_seconds() // 3600),
        )
    db.session.commit()


def _revoke_links(email: str) -> None:
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.purpose == TokenPurpose.RESET,
            AccountToken.email == email,
            AccountToken.used_at.is_(None),
            AccountToken.revoked_at.is_(None),
        )
        .values(revoked_at=now()),
        execution_options={"synchronize_session": False},
    )


def reset_password(raw: str, password: str) -> User:
    """Set the password a reset link was asked for; every session of the account ends."""
    token = tokens.open_token(TokenPurpose.RESET, raw, lock=True)
    user = token.user
    if not user.is_active or (user.member and not user.member.is_active):
        raise DomainError("Ce compte est désactivé. Contactez la coopérative.")
    set_password(user, password)
    token.used_at = now()
    db.session.flush()
    return user
