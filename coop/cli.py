"""The `coop` command: thin wrappers over the services (spec/formats.md)."""

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from coop.errors import DomainError, InvalidRows
from coop.extensions import db


def _create_app() -> Flask:
    from coop import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """coop: the Lyon bike cooperative's marketplace."""


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(import_file)
    app.cli.add_command(user)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has members.")
def seed_demo(if_empty: bool) -> None:
    """Fill the database with a realistic demo and print the demo logins."""
    from coop import demo

    if demo.has_data():
        if if_empty:
            click.echo("The database already has data: demo not loaded.")
            return
        raise click.ClickException("the database already has data; seed-demo needs an empty one")
    logins = demo.seed()
    db.session.commit()
    click.echo(f"Demo loaded: {demo.summary()}.")
    click.echo("Demo logins (e-mail / password):")
    for role, email, password in logins:
        click.echo(f"  {role:<16} {email:<46} {password}")


@click.command("import")
@click.argument("kind")
@click.argument("file", type=click.File("rb"))
def import_file(kind: str, file) -> None:
    """Import a CSV file: KIND is members, suppliers, parts or offers."""
    from coop.imports import IMPORTERS, run_import

    if kind not in IMPORTERS:
        raise click.BadParameter(
            f"unknown kind {kind!r}; choose from {', '.join(IMPORTERS)}", param_hint="KIND"
        )
    try:
        result = run_import(kind, file.read())
    except InvalidRows as invalid:
        db.session.rollback()
        for error in invalid.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(invalid.errors)} error(s): nothing was imported.", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"{kind}: {result.created} created, {result.updated} updated.")


@click.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.argument("email")
@click.option(
    "--role", required=True, type=click.Choice(["member", "manager", "treasurer", "admin"])
)
@click.option("--member", "member_code", help="The shop's code, for a member account.")
@click.option("--name", default="", help="Full name shown in the app (default: the e-mail).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email: str, role: str, member_code: str | None, name: str, password_stdin: bool):
    """Create an account; the password is asked for, or read with --password-stdin."""
    from coop.accounts.auth import create_user as create

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        account = create(email, name, role, password, member_code=member_code)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"Created {account.role} account {account.email}.")
