"""The CSV imports people can run, on the CLI and as an upload in the UI.

Each domain defines how to read and apply its file; this table lists them so
that `coop import KIND FILE` and the upload page offer the same imports.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired

from coop import submissions
from coop.accounts.importing import MEMBER_COLUMNS, import_members
from coop.accounts.models import DIRECTORY_ROLES, PURCHASING_ROLES, Role
from coop.csv_import import Column, ImportResult, import_outcome
from coop.errors import DomainError
from coop.forms import CoopForm
from coop.pages import refusal_shown
from coop.suppliers import importing as catalogue_imports
from coop.uniqueness import refusing_duplicates


@dataclass(frozen=True)
class Importer:
    kind: str
    title: str
    columns: tuple[Column, ...]
    run: Callable[[bytes], ImportResult]
    roles: frozenset[Role]
    back_endpoint: str
    # The unique keys it writes: another import (or form) may write one at the same moment.
    keys: tuple[str, ...]


IMPORTERS: dict[str, Importer] = {
    "members": Importer(
        kind="members",
        title=_l("Adhérents"),
        columns=MEMBER_COLUMNS,
        run=import_members,
        roles=DIRECTORY_ROLES,
        back_endpoint="members.list_members",
        keys=("uq_members_code", "uq_members_siret"),
    ),
    "suppliers": Importer(
        kind="suppliers",
        title=_l("Fournisseurs"),
        columns=catalogue_imports.SUPPLIER_COLUMNS,
        run=catalogue_imports.import_suppliers,
        roles=PURCHASING_ROLES,
        back_endpoint="catalogue.list_suppliers",
        keys=("uq_suppliers_code",),
    ),
    "parts": Importer(
        kind="parts",
        title=_l("Pièces du catalogue"),
        columns=catalogue_imports.PART_COLUMNS,
        run=catalogue_imports.import_parts,
        roles=PURCHASING_ROLES,
        back_endpoint="catalogue.list_parts",
        keys=("uq_parts_sku", "uq_parts_ean"),
    ),
    "offers": Importer(
        kind="offers",
        title=_l("Offres et tarifs (liste de prix)"),
        columns=catalogue_imports.OFFER_COLUMNS,
        run=catalogue_imports.import_offers,
        roles=PURCHASING_ROLES,
        back_endpoint="catalogue.list_parts",
        keys=("uq_offers_supplier_part", "uq_price_tiers_current"),
    ),
}


def run_import(kind: str, data: bytes) -> ImportResult:
    """Run one import; raises InvalidRows or DomainError (nothing written) or returns the counts."""
    importer = IMPORTERS[kind]
    raced = _(
        "Quelqu'un vient d'enregistrer une des lignes de ce fichier en même temps : rien n'a "
        "été importé. Importez le fichier à nouveau : les lignes déjà présentes seront mises à "
        "jour."
    )
    with refusing_duplicates(**{key: DomainError(raced, field="file") for key in importer.keys}):
        return importer.run(data)


class ImportForm(CoopForm):
    file = FileField(_l("Fichier CSV"), validators=[FileRequired(_l("Choisissez un fichier."))])


bp = Blueprint("imports", __name__, url_prefix="/import")


@bp.route("/<kind>", methods=["GET", "POST"])
@login_required
def upload(kind: str):
    importer = IMPORTERS.get(kind)
    if importer is None:
        abort(404)
    if not current_user.has_role(*importer.roles):
        abort(403)
    form = ImportForm()
    errors = []
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            result = run_import(kind, form.file.data.read())
        errors = outcome.rows
        if outcome.ok:
            submissions.commit(form, url_for(importer.back_endpoint))
            flash(import_outcome(result.created, result.updated), "success")
            return redirect(url_for(importer.back_endpoint))
    status = 422 if errors or form.errors else 200
    return render_template(
        "imports/import_form.html", form=form, importer=importer, errors=errors
    ), status
