"""The `coop` command: thin wrappers over the services (spec/formats.md)."""

import json
import os
import signal
import sys
import threading
from decimal import Decimal
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup
from gunicorn.app.base import Application

from coop import config, demo, gunicorn_conf, jobs, observability, scheduler
from coop.accounting import exports
from coop.accounts.auth import create_user as create_account
from coop.clock import now, parse_local
from coop.csv_import import fraction
from coop.db import reading_only
from coop.errors import ConfigurationError, DomainError, InvalidRows
from coop.extensions import db
from coop.imports import IMPORTERS, run_import
from coop.negotiation.cli import rfq
from coop.orders.campaigns import lifecycle
from coop.orders.campaigns.importing import import_needs
from coop.orders.campaigns.models import CampaignStatus
from coop.orders.costs import charging
from coop.orders.pooling.pool_run import (
    DEFAULT_TIME_LIMIT,
    Options,
    plan_as_json,
    plan_campaign,
    pool_inputs,
    pool_now,
)
from coop.orders.purchasing import ordering
from coop.purchases.cli import supplier_invoices
from coop.suppliers.origin import Origin


def _create_app() -> Flask:
    from coop import create_app  # the package imports this module while it loads

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """coop: the Lyon bike cooperative's marketplace."""


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(import_file)
    app.cli.add_command(user)
    app.cli.add_command(campaign)
    app.cli.add_command(pool)
    app.cli.add_command(export)
    app.cli.add_command(invoices)
    app.cli.add_command(rfq)
    app.cli.add_command(supplier_invoices)
    app.cli.add_command(reminders)
    app.cli.add_command(worker)
    app.cli.add_command(scheduler_command)


def counted(n: int, noun: str) -> str:
    """`1 invoice`, `2 invoices`: the CLI speaks English."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _fail(error: DomainError) -> None:
    db.session.rollback()
    raise click.ClickException(error.message)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has members.")
def seed_demo(if_empty: bool) -> None:
    """Fill the database with a realistic demo and print the demo logins."""

    if demo.has_data():
        if if_empty:
            click.echo("The database already has data: demo not loaded.")
            return
        raise click.ClickException("the database already has data; seed-demo needs an empty one")
    logins = demo.seed()
    db.session.commit()
    click.echo(f"Demo loaded: {demo.summary()}.")
    click.echo("Its invoices' PDFs are rendered by `coop invoices render`.")
    click.echo("Demo logins (e-mail / password):")
    for role, email, password in logins:
        click.echo(f"  {role:<18} {email:<46} {password}")


@click.command("import")
@click.argument("kind")
@click.argument("file", type=click.File("rb"))
@click.option("--campaign", "campaign_code", help="The campaign, for KIND needs.")
def import_file(kind: str, file, campaign_code: str | None) -> None:
    """Import a CSV file: KIND is members, suppliers, parts, offers or needs."""

    kinds = [*IMPORTERS, "needs"]
    if kind not in kinds:
        raise click.BadParameter(
            f"unknown kind {kind!r}; choose from {', '.join(kinds)}", param_hint="KIND"
        )
    if (kind == "needs") != bool(campaign_code):
        raise click.UsageError("--campaign CODE goes with `import needs`, and only with it")
    try:
        if kind == "needs":
            result = import_needs(lifecycle.get_campaign(campaign_code), file.read())
        else:
            result = run_import(kind, file.read())
    except InvalidRows as invalid:
        db.session.rollback()
        for error in invalid.errors:
            click.echo(str(error), err=True)
        click.echo(f"{counted(len(invalid.errors), 'error')}: nothing was imported.", err=True)
        sys.exit(1)
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"{kind}: {result.created} created, {result.updated} updated.")


@click.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.argument("email")
@click.option(
    "--role",
    "roles",
    required=True,
    multiple=True,
    type=click.Choice(["member", "manager", "treasurer", "admin"]),
    help="Repeat it for someone with two jobs: --role manager --role treasurer.",
)
@click.option("--member", "member_code", help="The shop's code, for a member account.")
@click.option("--name", default="", help="Full name shown in the app (default: the e-mail).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(
    email: str, roles: tuple[str, ...], member_code: str | None, name: str, password_stdin: bool
):
    """Create an account; the password is asked for, or read with --password-stdin."""

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        account = create_account(email, name, roles, password, member_code=member_code)
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"Created {'+'.join(sorted(account.roles))} account {account.email}.")


@click.group()
def campaign() -> None:
    """Campaigns: create, open, close."""


def _local_datetime(ctx, param, value):

    if value is None:
        return None
    try:
        return parse_local(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _fraction(ctx, param, value):

    if value is None:
        return None
    try:
        return fraction(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _penalties(ctx, param, values):

    penalties = {}
    for item in values:
        origin, _, rate = item.partition("=")
        try:
            penalties[Origin(origin.strip().lower())] = fraction(rate)
        except ValueError:
            raise click.BadParameter(
                f"{item!r}: expected CLASS=F with CLASS one of "
                f"{', '.join(o.value for o in Origin)} and F a fraction such as 0.05"
            ) from None
    return penalties


@campaign.command("create")
@click.argument("code")
@click.option("--title", required=True)
@click.option("--order-date", required=True, type=click.DateTime(["%Y-%m-%d", "%d/%m/%Y"]))
@click.option("--closes-at", callback=_local_datetime, help="Cutoff, Lyon time: 2026-12-07 18:00")
@click.option("--fee-rate", callback=_fraction, help="The coop's service fee, e.g. 0.02")
@click.option("--penalty", multiple=True, callback=_penalties, help="CLASS=F, e.g. asia=0.15")
@click.option("--draft", is_flag=True, help="Create it closed to needs; open it later.")
def create_campaign(code, title, order_date, closes_at, fee_rate, penalty, draft):
    """Create a campaign, open at once unless --draft."""

    try:
        created = lifecycle.create_campaign(
            code,
            title,
            order_date.date(),
            at=now(),
            closes_at=closes_at,
            fee_rate=fee_rate if fee_rate is not None else Decimal("0"),
            penalties=penalty,
            draft=draft,
        )
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"Campaign {created.code} created ({created.status}).")


@campaign.command("open")
@click.argument("code")
def open_campaign(code):
    """Open a draft campaign (or reopen a closed one not yet pooled)."""
    _move(code, "open")


@campaign.command("close")
@click.argument("code")
def close_campaign(code):
    """Close an open campaign: its needs are frozen."""
    _move(code, "closed")


@campaign.command("close-due")
def close_due():
    """Close campaigns past their cutoff and send the 48-hour reminders due (for cron)."""

    moment = now()
    closed = lifecycle.close_due(moment)
    reminded = lifecycle.send_due_reminders(moment)
    db.session.commit()
    for item in closed:
        click.echo(f"Closed {item.code}.")
    for item in reminded:
        click.echo(f"Reminder sent for {item.code}.")
    if not closed and not reminded:
        click.echo("Nothing due.")


def _move(code: str, status: str) -> None:

    try:
        moved = lifecycle.change_status(
            lifecycle.get_campaign(code, lock=True), CampaignStatus(status), at=now()
        )
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"Campaign {moved.code} is {moved.status}.")


@click.command("pool")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (spec/pooling.md).")
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_TIME_LIMIT,
    show_default=True,
    help="Seconds the solver may search before reporting its best plan and gap.",
)
@click.option("--commit", is_flag=True, help="Store the plan as draft purchase orders.")
def pool(code: str, as_json: bool, time_limit: float, commit: bool) -> None:
    """The pooled plan of a closed campaign; with --commit, its draft purchase orders."""
    options = Options(time_limit=time_limit)
    try:
        if commit:
            with reading_only():
                target = lifecycle.get_campaign(code)
                inputs = pool_inputs(target, options)
            # The read ends before the solve: on SQLite, the pages may write while it runs;
            # the run and its orders are then written in a transaction of their own.
            db.session.rollback()
            plan, run = pool_now(target, options, inputs=inputs)
            record = run.record
            orders = ordering.commit_run(run)
            charging.book_shortfall_fees(target, record)
        else:
            with reading_only():  # on SQLite, the pages may write while it solves
                target = lifecycle.get_campaign(code)
                plan, record = plan_campaign(target, options)
    except DomainError as error:
        db.session.rollback()
        _fail(error)
    if commit:
        db.session.commit()
    _print_plan(target, plan, record, as_json)
    if commit:
        # stdout carries only the plan with --json: the receipt goes to stderr then.
        click.echo(
            f"Committed: {len(orders)} draft purchase orders "
            f"({', '.join(o.number for o in orders) or 'none'}); "
            f"campaign {target.code} is {target.status}.",
            err=as_json,
        )


def _print_plan(target, plan, record, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(plan_as_json(target, plan, record), ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{target.code}: {plan.status}"
        + (f" (gap {plan.gap:.4%})" if plan.status != "optimal" else "")
    )
    click.echo(f"  unserved units  {plan.unserved_units}")
    for label, amount in (
        ("goods", plan.goods),
        ("shipping", plan.shipping_total),
        ("total cost", plan.total_cost),
        ("penalties", plan.penalty_total),
        ("shortfall fees", plan.commitment_total),
        ("objective", plan.objective),
    ):
        click.echo(f"  {label:<15} {amount:>12.2f} EUR")
    click.echo(f"  {'supplier':<14} {'lines':>5} {'goods EUR':>12} {'shipping EUR':>13}")
    for code_ in sorted({line.offer.supplier for line in plan.lines}):
        lines = [line for line in plan.lines if line.offer.supplier == code_]
        goods = sum(line.amount for line in lines)
        click.echo(f"  {code_:<14} {len(lines):>5} {goods:>12.2f} {plan.shipping[code_]:>13.2f}")


@click.group()
def export() -> None:
    """Exports to the accountant."""


@export.command("fec")
@click.option("--from", "date_from", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "date_to", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    help="File to write (default: SIRENFECAAAAMMJJ.txt in the current directory).",
)
def export_fec(date_from, date_to, out: str | None) -> None:
    """Write the FEC (sales and bank journals) of the period from --from to --to, inclusive."""
    try:
        filename, content = exports.fec(date_from.date(), date_to.date())
        db.session.commit()
    except DomainError as error:
        _fail(error)
    with open(out or filename, "wb") as file:
        file.write(content)
    click.echo(f"FEC written to {out or filename}.")


@click.group()
def invoices() -> None:
    """Issue invoices."""


@invoices.command("issue")
@click.argument("code")
def issue_invoices(code: str) -> None:
    """Issue the missing invoices of received campaign CODE, one transaction each."""
    from coop.invoicing import issuing
    from coop.invoicing.documents import render_pending_documents

    try:
        issued = issuing.issue_invoices(lifecycle.get_campaign(code), by=None, at=now())
    except DomainError as error:
        _fail(error)
    for invoice in issued:
        click.echo(f"{invoice.number}  {invoice.member.code:<12} {invoice.total_incl_vat:>12} EUR")
    rendered = render_pending_documents()
    click.echo(f"{counted(len(issued), 'invoice')} issued; {counted(rendered, 'PDF')} rendered.")


@invoices.command("render")
def render_documents() -> None:
    """Render and store the PDF of every invoice and credit note still without one."""
    from coop.invoicing.documents import render_pending_documents

    click.echo(f"{counted(render_pending_documents(), 'PDF')} rendered.")


@click.group()
def reminders() -> None:
    """Payment reminders (relances)."""


@reminders.command("send")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The day to send for (default: today, Lyon time).",
)
@click.option("--dry-run", is_flag=True, help="List what would go out; send and record nothing.")
def send_reminders(day, dry_run: bool) -> None:
    """Send the payment reminders due: once a day, from cron."""
    from coop.clock import today
    from coop.payments import reminders as service

    on = day.date() if day else today()
    due = service.due_reminders(on)
    if dry_run:
        db.session.rollback()
        sent = [r for r in due if r.to]
    else:
        sent = service.send_due_reminders(on)
        db.session.commit()
    for r in sent:
        late = f"{r.row.due:>10} EUR due, {r.row.days_late} days late"
        click.echo(
            f"{r.invoice.number}  {r.invoice.member.code:<12} J+{r.row.due_step:<4} "
            f"{late} -> {', '.join(r.to)}"
        )
    for r in (r for r in due if not r.to):
        click.echo(f"{r.invoice.number}  {r.invoice.member.code:<12} skipped: no e-mail address")
    verb = "would be sent (dry run)" if dry_run else "sent"
    click.echo(f"{counted(len(sent), 'reminder')} {verb} for {on:%Y-%m-%d}.")


# Closing a campaign of 95 shops e-mails them all: 8 s of a core, which under load halved the
# pages served for as long (bench/README.md). A job gets the CPU the pages leave.
WORKER_NICENESS = 10


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs already queued, then stop.")
@click.option(
    "--nice",
    "niceness",
    type=click.IntRange(0, 19),
    default=WORKER_NICENESS,
    show_default=True,
    help="How much the jobs yield the CPU to the web pages (0: not at all, 19: the most).",
)
def worker(burst: bool, niceness: int) -> None:
    """Run the background jobs (invoice batches, PDFs, pooling runs) queued on Redis."""
    app = current_app._get_current_object()
    if not app.config["COOP_REDIS_URL"]:
        raise click.ClickException(
            "COOP_REDIS_URL is not set: without it the web process runs its background jobs "
            "in threads and there is nothing to serve. Set it (e.g. redis://127.0.0.1:6379/0) "
            "for the web app and the worker alike."
        )
    observability.configure_logging()
    # A job is waited for in seconds, a page in tenths of one: on a busy machine the pages
    # go first (the job's work horses inherit it).
    os.nice(niceness)
    jobs.work(app, burst=burst)


# On the group itself, outside any app context: gunicorn's master process never makes the app
# (each worker makes its own, `GunicornServer.load`), so every worker it forks, at start or to
# replace one, starts from the same clean process.
@main.command("serve", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes (default: one per CPU, two at least; coop/gunicorn_conf.py).",
)
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the app with gunicorn (coop/gunicorn_conf.py), behind a proxy such as nginx."""
    # `coop serve` runs behind one proxy (deploy/nginx): trust its X-Forwarded-For, unless
    # the environment says otherwise (COOP_PROXY_COUNT=0 when clients come straight in).
    os.environ.setdefault("COOP_PROXY_COUNT", "1")
    # Each worker reads the settings; a mistake in them is said here, once, before any starts.
    try:
        config.load(Path(Flask("coop").instance_path))
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    if (warning := python_warning(sys.version_info)) is not None:
        click.echo(warning, err=True)
    options = {"bind": f"{host}:{port}"}
    if workers:
        options["workers"] = workers
    GunicornServer(options).run()


# Under load, gunicorn workers started to replace another died of segmentation faults in
# CPython 3.11.7 (17 of 119 in the load bench's runs), none of 46 in 3.12.1 (bench/README.md).
SERVE_ON = (3, 12)


def python_warning(version: tuple) -> str | None:
    """What `coop serve` says at start when this Python is known to crash under load."""
    if tuple(version[:2]) >= SERVE_ON:
        return None
    return (
        f"Warning: Python {version[0]}.{version[1]} here. Under load, its web workers have "
        "died of segmentation faults (bench/README.md); serve with Python 3.12 or later "
        "(README, Production)."
    )


class GunicornServer(Application):
    """gunicorn running `create_app()`: our settings module, then GUNICORN_CMD_ARGS, then the
    command's options."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__(prog="coop serve")

    def load_config(self) -> None:
        self.load_config_from_module_name_or_filename(f"python:{gunicorn_conf.__name__}")
        environment = self.cfg.parser().parse_args(self.cfg.get_cmd_args_from_env())
        for name, value in vars(environment).items():
            if value is not None and name != "args":
                self.cfg.set(name.lower(), value)
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        # Each worker process makes its own app: no connection is shared across a fork.
        return _create_app()


@click.command("scheduler")
def scheduler_command() -> None:
    """Queue the periodic commands on time (COOP_CRON_*), for `coop worker` to run."""
    from redis import Redis

    app = current_app._get_current_object()
    if not app.config["COOP_REDIS_URL"]:
        raise click.ClickException(
            "COOP_REDIS_URL is not set: the scheduler queues its jobs on Redis for `coop worker`. "
            "Without Redis, run the commands from cron instead (README, Production)."
        )
    observability.configure_logging()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with Redis.from_url(app.config["COOP_REDIS_URL"]) as connection:
        scheduler.Scheduler(app, connection).run(stop)
