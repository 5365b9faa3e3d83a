"""Forgotten passwords: a single-use link (coop.accounts.tokens) mailed to the account.

Whoever asks gets the same answer whatever the address, known or not, and in about the
same time: the request only counts itself (per address and per IP) and hands the address
to a job (coop.jobs) that looks the account up and mails the link; the lookup, the token
and the mail never run in the request, so its timing says nothing about the address.
"""

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import case, delete, literal, select, tuple_, update

from coop import mail
from coop.accounts import tokens
from coop.accounts.auth import dialect_insert, set_password
from coop.accounts.models import AccountToken, RequestThrottle, TokenPurpose, User
from coop.clock import now
from coop.db import UTCDateTime
from coop.errors import DomainError
from coop.extensions import db

# Requests that mail a link, per hour: an address is not flooded with mail, and one
# client does not mail every address it tries.
PER_ADDRESS = 3
PER_IP = 20
WINDOW = timedelta(hours=1)
PURGE_BATCH = 200


def count_request(email: str, ip: str | None) -> bool:
    """Count one request per address and per IP; whether both are within their limit.

    Call it first in the transaction (the upserts are its first writes), then commit.
    """
    moment = now()
    key = email.strip().lower()[:254]
    within_ip = _count("reset-ip", (ip or "unknown")[:254], moment) <= PER_IP
    within_address = _count("reset-email", key, moment) <= PER_ADDRESS
    _purge_old(moment)
    return within_ip and within_address


def send_reset_link(email: str) -> None:
    """The job: mail a reset link to the account of `email`, if there is one that may log
    in; earlier links of the address stop working. Commits."""
    key = email.strip().lower()
    # The first statement writes: on SQLite a write after a read fails at once when another
    # request holds the database, instead of waiting its turn (coop.accounts.auth).
    _revoke_links(key)
    # Two requests at once: the second waits for the first's link, then revokes it too.
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


def _purge_old(moment: datetime) -> None:
    """Forget windows long over, a batch at a time: made-up addresses do not pile up."""
    # SKIP LOCKED: two requests purging at once each take other rows instead of waiting.
    stale = (
        select(RequestThrottle.kind, RequestThrottle.key)
        .where(RequestThrottle.window_started_at < moment - WINDOW)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    db.session.execute(
        delete(RequestThrottle).where(tuple_(RequestThrottle.kind, RequestThrottle.key).in_(stale)),
        execution_options={"synchronize_session": False},
    )


def _count(kind: str, key: str, moment: datetime) -> int:
    """One more request of `kind` for `key` in the current window, in one atomic upsert
    (as the login throttle does): however many arrive at once, each gets its own number."""
    row = RequestThrottle.__table__.c
    when = partial(literal, type_=UTCDateTime())
    starts_over = row.window_started_at <= when(moment - WINDOW)
    upsert = (
        dialect_insert()(RequestThrottle)
        .values(kind=kind, key=key, count=1, window_started_at=moment)
        .on_conflict_do_update(
            index_elements=[row.kind, row.key],
            set_={
                "count": case((starts_over, 1), else_=row.count + 1),
                "window_started_at": case((starts_over, when(moment)), else_=row.window_started_at),
            },
        )
    )
    return db.session.scalars(
        upsert.returning(RequestThrottle.count), execution_options={"populate_existing": True}
    ).one()
