"""E-mail: queued during a use case, sent only once its transaction has committed.

Backends (COOP_MAIL_BACKEND): `smtp` for production, `outbox` (default) writes
each message as an .eml file in COOP_MAIL_OUTBOX for development, `memory`
keeps them in a list for tests.
"""

import smtplib
from email.message import EmailMessage
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import event
from sqlalchemy.orm import Session

from coop.clock import now

_OUTBOX_KEY = "coop_outbox"


def queue(
    to: str,
    subject: str,
    template: str,
    *,
    attachments: list[tuple[str, bytes, str]] | None = None,
    **context,
) -> None:
    """Prepare a French e-mail (text and HTML parts, files attached) to send after the commit.

    `attachments` are (filename, content, mimetype) triples, such as a PDF purchase order.
    """
    message = EmailMessage()
    message["From"] = current_app.config["COOP_MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    # Shops read the coop in French, whatever language the sender's screen is in.
    with force_locale("fr"):
        message.set_content(render_template(f"mail/{template}.txt", **context))
        html = render_template(f"mail/{template}.html", **context)
    message.add_alternative(html, subtype="html")
    for filename, content, mimetype in attachments or ():
        maintype, _, subtype = mimetype.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    from coop.extensions import db

    db.session.info.setdefault(_OUTBOX_KEY, []).append(message)


def sent_messages() -> list[EmailMessage]:
    """What the memory backend has sent (tests)."""
    return current_app.extensions.setdefault("coop_sent_mail", [])


def _deliver(messages: list[EmailMessage]) -> None:
    config = current_app.config
    backend = config["COOP_MAIL_BACKEND"]
    if backend == "memory":
        sent_messages().extend(messages)
    elif backend == "outbox":
        folder = Path(config["COOP_MAIL_OUTBOX"])
        folder.mkdir(parents=True, exist_ok=True)
        stamp = now().strftime("%Y%m%dT%H%M%S%f")
        for i, message in enumerate(messages):
            (folder / f"{stamp}-{i:03d}.eml").write_bytes(bytes(message))
    else:
        with smtplib.SMTP(config["COOP_SMTP_HOST"], config["COOP_SMTP_PORT"], timeout=30) as smtp:
            if config["COOP_SMTP_STARTTLS"]:
                smtp.starttls()
            if config["COOP_SMTP_USER"]:
                smtp.login(config["COOP_SMTP_USER"], config["COOP_SMTP_PASSWORD"])
            for message in messages:
                smtp.send_message(message)


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    messages = session.info.pop(_OUTBOX_KEY, [])
    if messages:
        try:
            _deliver(messages)
        except OSError:
            # The data is committed; a mail server hiccup must not turn it into an error page.
            current_app.logger.exception("could not send %d e-mail(s)", len(messages))


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_OUTBOX_KEY, None)
