"""One-time form submissions: a form sent twice does its work once.

Every `CoopForm` carries a random token (`coop.forms`). A view whose form creates
something or moves money claims the token before the work and commits through
`commit()`, which records where the result is shown in the same transaction as the
work: a rollback forgets the token, so a refused submission can be corrected and sent
again. A second submission of the same token (a double click, the browser sending the
form again after "back") is answered with a redirect to the first one's result.

Two submissions at once: the claim is the transaction's first write, an insert of the
token as primary key, so the second waits on the first's row (PostgreSQL; SQLite
serialises writers), then fails on the key once the first commits and replays its
result; if the first rolls back, the second goes on and does the work itself.

A form sent without a token (a page rendered before this existed, a script) is not
deduplicated: the token guards the browser's double submissions, not the server; the
CSRF token already decides who may post. Tokens are kept a day.
"""

from datetime import datetime, timedelta

from flask import abort, flash, redirect, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ForeignKey, String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from coop.clock import now
from coop.db import Base, UTCDateTime
from coop.extensions import db
from coop.forms import CoopForm

KEPT = timedelta(days=1)
# Rows purged per write: a bounded cost, and a backlog still goes in a few writes.
PURGE_BATCH = 200


class FormSubmission(Base):
    """A form submission that did its work, and where its result is shown."""

    __tablename__ = "form_submissions"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    result_url: Mapped[str] = mapped_column(Text)


def claim(form: CoopForm, result: str | None = None) -> None:
    """Take the form's token for this transaction; a token already used replays its result.

    Call it after the form validated and before the work: it is the transaction's first
    write. Aborts the request with a redirect to the first submission's result. Give
    `result` when it is known before the work and the work commits on its own (a batch).
    """
    token = form.submission_token.data
    if token is None:
        return
    earlier = db.session.get(FormSubmission, token)
    if earlier is not None:
        _replay(earlier)
    submission = FormSubmission(token=token, user_id=_user_id(), result_url=result or request.path)
    try:
        with db.session.begin_nested():
            db.session.add(submission)
    except IntegrityError:
        # The same token sent at the same moment: the other request committed its work.
        _replay(db.session.get(FormSubmission, token, populate_existing=True))
    form.claimed = submission


def commit(form: CoopForm, result: str) -> None:
    """Commit the use case, recording `result` (a URL on this site) as the token's outcome."""
    submission = getattr(form, "claimed", None)
    if submission is not None:
        submission.result_url = result
        _purge_old()
    db.session.commit()


def _replay(earlier: FormSubmission | None):
    mine = earlier is not None and earlier.user_id == _user_id()
    result = earlier.result_url if mine else None
    db.session.rollback()
    if result is None:
        # Not this user's token (or purged between two reads): nothing to show.
        abort(400)
    flash(
        _("Ce formulaire a déjà été envoyé : voici ce qu'il a enregistré la première fois."), "info"
    )
    abort(redirect(result))


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _purge_old() -> None:
    # SKIP LOCKED: two writers purging at once each take other rows instead of waiting.
    stale = (
        select(FormSubmission.token)
        .where(FormSubmission.created_at < now() - KEPT)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    db.session.execute(
        delete(FormSubmission).where(FormSubmission.token.in_(stale)),
        execution_options={"synchronize_session": False},
    )
