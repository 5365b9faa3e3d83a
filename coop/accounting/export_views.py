"""The treasurer's exports page: the FEC, the CSV of invoice lines, the ZIP of PDFs."""

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from coop.accounting import exports
from coop.accounting.export_forms import ExportForm
from coop.accounts.access import roles_required
from coop.accounts.models import TREASURY_ROLES
from coop.db import writes
from coop.extensions import db
from coop.orders.campaigns.models import Campaign
from coop.pages import is_id, refusal_shown

bp = Blueprint("invoice_exports", __name__, url_prefix="/exports")

MIMETYPES = {
    "txt": "text/plain; charset=iso-8859-15",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
}


@bp.route("")
@roles_required(*TREASURY_ROLES)
def index():
    return render_template("invoicing/exports.html", form=_form())


@bp.route("/fec")
@roles_required(*TREASURY_ROLES)
@writes
def download_fec():
    form = _form(request.args)
    if not form.validate():
        return _page_with_errors(form)
    # Exporting books the entries not exported yet: from then on they never change.
    filename, content = exports.fec(form.date_from.data, form.date_to.data)
    db.session.commit()
    return _download(filename, content)


@bp.route("/invoices.csv")
@roles_required(*TREASURY_ROLES)
def download_csv():
    return _export(exports.invoices_csv)


@bp.route("/invoices.zip")
@roles_required(*TREASURY_ROLES)
def download_zip():
    return _export(exports.invoices_zip)


def _export(build):
    form = _form(request.args)
    chosen = form.campaign.data or ""
    campaign = db.session.get(Campaign, int(chosen)) if is_id(chosen) else None
    form.period_required = campaign is None
    valid = form.validate()
    if chosen and campaign is None:
        form.campaign.errors = [_("Campagne inconnue.")]
        valid = False
    if not valid:
        return _page_with_errors(form)
    with refusal_shown(form) as outcome:
        selection = exports.Selection(form.date_from.data, form.date_to.data, campaign)
    if not outcome.ok:
        return _page_with_errors(form)
    return _download(*build(selection))


def _form(formdata=None) -> ExportForm:
    form = ExportForm(formdata)
    campaigns = db.session.scalars(
        db.select(Campaign).order_by(Campaign.order_date.desc(), Campaign.code)
    )
    form.campaign.choices = [("", _("Aucune : la période"))] + [
        (str(c.id), f"{c.code} · {c.title}") for c in campaigns
    ]
    return form


def _page_with_errors(form: ExportForm):
    return render_template("invoicing/exports.html", form=form), 422


def _download(filename: str, content: bytes) -> Response:
    return Response(
        content,
        mimetype=MIMETYPES[filename.rsplit(".", 1)[1]],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
