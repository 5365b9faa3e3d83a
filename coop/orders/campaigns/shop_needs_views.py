"""A shop's needs beyond the needs page: from a catalogue part, and as CSV files."""

from flask import Blueprint, Response, abort, flash, redirect, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_login import current_user

from coop import clock
from coop.accounts.access import roles_required
from coop.accounts.members import find_member
from coop.accounts.models import PURCHASING_ROLES, Role
from coop.csv_export import french_csv
from coop.errors import NotFound
from coop.extensions import db
from coop.orders.campaigns import importing
from coop.orders.campaigns import needs as need_service
from coop.orders.campaigns.models import Campaign, CampaignStatus
from coop.suppliers.models import Part

bp = Blueprint("shop_needs", __name__)


@bp.route("/parts/<int:part_id>/add-to-needs")
@roles_required(Role.MEMBER)
def add_part(part_id: int):
    """*Ajouter à mes besoins*: the need form of the open campaign, with the part filled in."""
    part = db.get_or_404(Part, part_id)
    if not part.is_active:
        flash(
            _(
                "La pièce %(sku)s n'est plus au catalogue : elle ne peut plus être demandée.",
                sku=part.sku,
            ),
            "error",
        )
        return redirect(url("catalogue.show_part", part_id=part.id))
    found = need_service.need_for_part(current_user.member, part, at=clock.now())
    if found.campaign is None:
        message = _(
            "Aucune campagne d'achats groupés n'est ouverte en ce moment : vous "
            "pourrez ajouter cette pièce à vos besoins dès l'ouverture de la prochaine."
        )
        flash(message, "info")
        return redirect(url("catalogue.show_part", part_id=part.id))
    if found.need is not None:
        flash(
            _(
                "Vous avez déjà un besoin pour %(part)s dans %(campaign)s (%(qty)d) : "
                "modifiez-le ici.",
                part=part.name,
                campaign=found.campaign.title,
                qty=found.need.quantity,
            ),
            "info",
        )
        return redirect(url("campaigns.edit_need", need_id=found.need.id))
    return redirect(
        url("campaigns.needs", campaign_id=found.campaign.id, part=f"{part.name} ({part.sku})")
        + "#need-form"
    )


@bp.route("/campaigns/<int:campaign_id>/needs/template.csv")
@roles_required(Role.MEMBER, *PURCHASING_ROLES)
def needs_template(campaign_id: int):
    """The needs import's columns and one example row."""
    campaign = db.get_or_404(Campaign, campaign_id)
    member = current_user.member if current_user.has_role(Role.MEMBER) else None
    rows = importing.template_rows(member.code if member else "ATELIER01")
    return _csv(rows, f"besoins-{campaign.code}-modele.csv")


@bp.route("/campaigns/<int:campaign_id>/needs.csv")
@roles_required(Role.MEMBER, *PURCHASING_ROLES)
def needs_csv(campaign_id: int):
    """A shop's needs in the import's columns: edit the file and import it back."""
    campaign = db.get_or_404(Campaign, campaign_id)
    if campaign.status is CampaignStatus.DRAFT:
        abort(404)
    code = request.args.get("member", "").strip().upper()
    if current_user.has_role(*PURCHASING_ROLES) and code:
        try:
            member = find_member(code)
        except NotFound:
            abort(404)
    elif current_user.has_role(Role.MEMBER) and code in ("", current_user.member.code):
        member = current_user.member
    else:
        abort(403)
    needs = db.session.scalars(need_service.member_needs(campaign, member)).all()
    return _csv(importing.need_rows(needs), f"besoins-{campaign.code}-{member.code}.csv")


def _csv(rows: list[list], filename: str) -> Response:
    return Response(
        french_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
