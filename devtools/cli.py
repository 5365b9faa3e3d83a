"""`coop-devtools` (or `python -m devtools`): development tools beside the app, never in it.

The coop package never imports devtools (an import-linter contract says so); these
commands load the app the way `coop` does, to read its configuration.
"""

import logging

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext

from devtools.stripe_fake import SENDABLE, StripeFake, StripeFakeError, ask_to_send


def _create_app() -> Flask:
    from coop import create_app

    return create_app()


# The app `coop` would load (its COOP_* settings); a test's runner passes its own.
@click.group(context_settings={"obj": ScriptInfo(create_app=_create_app)})
def main() -> None:
    """coop-devtools: local stand-ins for the services the coop talks to."""


@click.group("stripe-fake")
def stripe_fake() -> None:
    """The local Stripe fake, for development and demos: no real payment."""


@stripe_fake.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5010, show_default=True)
@click.option("--webhook-url", help="Where to send the signed events [default: the app's].")
@click.option(
    "--webhook-delay",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between a payment and its events.",
)
@click.option(
    "--sepa-delay",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds a SEPA debit stays processing before it settles or fails.",
)
@click.option(
    "--sepa-manual",
    is_flag=True,
    help="SEPA debits settle only when `coop-devtools stripe-fake send` says so.",
)
def stripe_fake_serve(host, port, webhook_url, webhook_delay, sepa_delay, sepa_manual) -> None:
    """Serve the fake Stripe API and payment page; events go, signed, to the app's webhook."""
    from werkzeug.serving import make_server

    config = current_app.config
    if not config["COOP_STRIPE_WEBHOOK_SECRET"]:
        raise click.ClickException(
            "COOP_STRIPE_WEBHOOK_SECRET is not set: the fake signs its events with it and the "
            "app checks them with it. Set it for both (COOP_DEMO=1 sets a demo one)."
        )
    url = f"http://{host}:{port}"
    webhook_url = webhook_url or (
        config["COOP_BASE_URL"].rstrip("/") + current_app.url_map.bind("").build("stripe.webhook")
    )
    fake = StripeFake(
        webhook_url=webhook_url,
        webhook_secret=config["COOP_STRIPE_WEBHOOK_SECRET"],
        public_url=url,
        webhook_delay=webhook_delay,
        sepa_delay=None if sepa_manual else sepa_delay,
    )
    try:
        server = make_server(host, port, fake, threaded=True)
    except OSError as error:
        raise click.ClickException(f"cannot serve on {url}: {error}") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    click.echo(f"Stripe fake on {url}; signed events to {webhook_url}.")
    if (config["COOP_STRIPE_API_BASE"] or "").rstrip("/") != url:
        click.echo(f"The app must reach it: set COOP_STRIPE_API_BASE={url}.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@stripe_fake.command("send")
@with_appcontext
@click.argument("event_type", metavar="EVENT_TYPE", type=click.Choice(SENDABLE))
@click.option("--session", "session_id", required=True, help="The Checkout Session: cs_test_...")
def stripe_fake_send(event_type: str, session_id: str) -> None:
    """Have the running fake apply EVENT_TYPE to a session and send it, signed, to the app."""
    config = current_app.config
    if not (config["COOP_STRIPE_API_BASE"] and config["COOP_STRIPE_SECRET_KEY"]):
        raise click.ClickException(
            "COOP_STRIPE_API_BASE and COOP_STRIPE_SECRET_KEY name the fake and its key: set them."
        )
    try:
        sent = ask_to_send(
            config["COOP_STRIPE_API_BASE"], config["COOP_STRIPE_SECRET_KEY"], session_id, event_type
        )
    except StripeFakeError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{sent['event']} {sent['type']} sent; the app answered {sent['delivery']}.")


main.add_command(stripe_fake)
