"""`coop rfq remind`: the daily reminder to suppliers who have not answered (for cron)."""

import click

from coop.clock import now
from coop.extensions import db
from coop.negotiation import rfqs


@click.group("rfq")
def rfq() -> None:
    """Requests for quotation."""


@rfq.command("remind")
def remind() -> None:
    """E-mail suppliers who have not answered, their link closing within 2 days (once each)."""
    reminded = rfqs.send_due_reminders(now())
    db.session.commit()
    for invitation in reminded:
        click.echo(f"Reminder sent to {invitation.supplier.code} for {invitation.rfq.number}.")
    if not reminded:
        click.echo("Nothing due.")
