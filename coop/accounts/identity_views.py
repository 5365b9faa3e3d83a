"""The coop's own identity: a settings page for the admin."""

from flask import Blueprint, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from sqlalchemy import inspect
from stdnum import iban

from coop.accounts.access import roles_required
from coop.accounts.forms import IdentityForm
from coop.accounts.identity import (
    LOGO_MAX_BYTES,
    coop_identity,
    logo_data_url,
    save_identity,
)
from coop.accounts.models import Role
from coop.extensions import db
from coop.pages import refusal_shown

bp = Blueprint("identity", __name__, url_prefix="/settings")


@bp.route("/identity", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_identity():
    identity = coop_identity()
    form = IdentityForm(obj=identity)
    if request.method == "GET" and identity.iban:
        form.iban.data = iban.format(identity.iban)
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            save_identity(_identity_values(form))
        if outcome.ok:
            db.session.commit()
            flash(_("Identité de la coopérative enregistrée."), "success")
            return redirect(url("identity.edit_identity"))
    return render_template(
        "accounts/identity_form.html",
        form=form,
        identity=identity,
        logo_url=logo_data_url(identity),
        is_saved=inspect(identity).persistent,
    )


def _identity_values(form: IdentityForm) -> dict:
    values = {name: value for name, value in form.data.items() if name != "csrf_token"}
    upload = form.logo.data
    # One byte over the limit is enough for the service to refuse the file as too big.
    values["logo"] = upload.read(LOGO_MAX_BYTES + 1) if upload else None
    return values
