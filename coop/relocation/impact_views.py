"""The impact report for the Métropole: its page, its PDF and the rows behind it."""

from flask import Blueprint, Response, render_template, request

from coop.accounts.access import roles_required
from coop.accounts.models import PURCHASING_ROLES, TREASURY_ROLES
from coop.pages import csv_download
from coop.relocation import impact as impact_service
from coop.relocation.board_forms import PeriodForm
from coop.relocation.carbon import MODE_LABELS
from coop.suppliers.origin import ORIGINS_NEAR_FIRST

bp = Blueprint("relocation_impact", __name__, url_prefix="/relocalisation/impact")


@bp.route("")
@roles_required(*PURCHASING_ROLES, readers=TREASURY_ROLES)
def show():
    form = PeriodForm(request.args)
    if not form.validate():
        return _page_with_errors(form)
    return render_template(
        "relocation/impact/impact.html",
        form=form,
        impact=impact_service.impact_report(form.period()),
        origins=ORIGINS_NEAR_FIRST,
        modes=MODE_LABELS,
    )


@bp.route("/rapport.pdf")
@roles_required(*PURCHASING_ROLES, readers=TREASURY_ROLES)
def download_pdf():
    form = PeriodForm(request.args)
    if not form.validate():
        return _page_with_errors(form)
    period = form.period()
    return Response(
        impact_service.render_impact_pdf(impact_service.impact_report(period)),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_name(period)}.pdf"'},
    )


@bp.route("/lignes.csv")
@roles_required(*PURCHASING_ROLES, readers=TREASURY_ROLES)
def rows_csv():
    """Every need served in the period, with its route and CO2e: the report's figures' rows."""
    form = PeriodForm(request.args)
    if not form.validate():
        return _page_with_errors(form)
    period = form.period()
    impact = impact_service.impact_report(period)
    return csv_download(f"{_name(period)}-lignes.csv", impact_service.csv_rows(impact))


def _name(period) -> str:
    return f"impact-{period.start:%Y-%m-%d}-{period.end:%Y-%m-%d}"


def _page_with_errors(form: PeriodForm):
    return render_template("relocation/impact/impact.html", form=form, impact=None), 422
