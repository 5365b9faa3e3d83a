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
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from coop.accounts.importing import MEMBER_COLUMNS, import_members
from coop.accounts.models import DIRECTORY_ROLES, PURCHASING_ROLES, Role
from coop.csv_import import Column, ImportResult
from coop.errors import InvalidRows
from coop.extensions import db
from coop.suppliers import importing as catalogue_imports


@dataclass(frozen=True)
class Importer:
    kind: str
    title: str
    columns: tuple[Column, ...]
    run: Callable[[bytes], ImportResult]
    roles: frozenset[Role]
    back_endpoint: str


IMPORTERS: dict[str, Importer] = {
    "members": Importer(
        kind="members",
        title=_l("Adhérents"),
        columns=MEMBER_COLUMNS,
        run=import_members,
        roles=DIRECTORY_ROLES,
        back_endpoint="members.list_members",
    ),
    "suppliers": Importer(
        kind="suppliers",
        title=_l("Fournisseurs"),
        columns=catalogue_imports.SUPPLIER_COLUMNS,
        run=catalogue_imports.import_suppliers,
        roles=PURCHASING_ROLES,
        back_endpoint="catalogue.list_suppliers",
    ),
    "parts": Importer(
        kind="parts",
        title=_l("Pièces du catalogue"),
        columns=catalogue_imports.PART_COLUMNS,
        run=catalogue_imports.import_parts,
        roles=PURCHASING_ROLES,
        back_endpoint="catalogue.list_parts",
    ),
    "offers": Importer(
        kind="offers",
        title=_l("Offres et tarifs (liste de prix)"),
        columns=catalogue_imports.OFFER_COLUMNS,
        run=catalogue_imports.import_offers,
        roles=PURCHASING_ROLES,
        back_endpoint="catalogue.list_parts",
    ),
}


def run_import(kind: str, data: bytes) -> ImportResult:
    """Run one import; raises InvalidRows (nothing written) or returns the counts."""
    return IMPORTERS[kind].run(data)


class ImportForm(FlaskForm):
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
        try:
            result = run_import(kind, form.file.data.read())
        except InvalidRows as invalid:
            db.session.rollback()
            errors = invalid.errors
        else:
            db.session.commit()
            flash(
                _(
                    "Import réussi : %(created)d créé(s), %(updated)d mis à jour.",
                    created=result.created,
                    updated=result.updated,
                ),
                "success",
            )
            return redirect(url_for(importer.back_endpoint))
    status = 422 if errors or form.errors else 200
    return render_template(
        "imports/import_form.html", form=form, importer=importer, errors=errors
    ), status
