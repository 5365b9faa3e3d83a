"""`coop supplier-invoices import FILE...`: suppliers' e-invoices received by e-mail."""

import sys
from pathlib import Path

import click

from coop.errors import DomainError
from coop.extensions import db
from coop.purchases import importing
from coop.purchases.booking import has_differences


@click.group("supplier-invoices")
def supplier_invoices() -> None:
    """Suppliers' invoices: Factur-X PDF, CII or UBL XML."""


@supplier_invoices.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def import_files(files: tuple[str, ...]) -> None:
    """Import each FILE on its own: one line per file; exit 1 if any was refused."""
    refused = 0
    for path in files:
        name = Path(path).name
        try:
            invoice = importing.import_invoice(Path(path).read_bytes(), name, by=None)
        except DomainError as error:
            db.session.rollback()
            refused += 1
            click.echo(f"refused: {error.message}", err=True)
            continue
        db.session.commit()
        match = "differences to check" if has_differences(invoice) else "matches its order"
        click.echo(
            f"imported: {name}: {invoice.kind.label} {invoice.number} from "
            f"{invoice.supplier.name} ({invoice.supplier.code}), "
            f"{invoice.total_incl_vat} EUR incl. VAT, {match}."
        )
    if refused:
        click.echo(
            f"{refused} of {len(files)} file(s) refused: nothing of them was imported.", err=True
        )
        sys.exit(1)
