"""Invoice PDFs as stored: rendered once after issuing, served byte-identical."""

from flask import Blueprint, Response, abort
from flask_login import login_required
from sqlalchemy import select

from coop.accounts.access import ensure_can_access
from coop.extensions import db
from coop.invoicing.models import Invoice, InvoiceDocument

bp = Blueprint("invoice_documents", __name__)


@bp.route("/invoices/<number>.pdf")
@login_required
def download_invoice_pdf(number: str):
    invoice = db.session.scalar(select(Invoice).where(Invoice.number == number)) or abort(404)
    ensure_can_access(invoice.member)
    # Not rendered yet (the job runs just after issuing): a 404, never a fresh rendering.
    document = db.session.get(InvoiceDocument, invoice.id) or abort(404)
    response = Response(document.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    response.set_etag(document.sha256)
    return response
