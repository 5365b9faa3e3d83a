"""The catalogue pages: suppliers, parts, offers, sourcing overview."""

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop import clock, submissions
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import PURCHASING_ROLES, STAFF_ROLES
from coop.csv_export import figure
from coop.extensions import db
from coop.i18n import de, sorted_by_name, unit_price
from coop.pages import csv_download, id_arg, paginate, paginate_list, refusal_shown, search_arg
from coop.suppliers import catalogue
from coop.suppliers.comparison import compare
from coop.suppliers.forms import (
    TIER_ROWS,
    UNITS,
    OfferForm,
    PartForm,
    SupplierForm,
    SupplierOfferForm,
)
from coop.suppliers.models import Offer, Part, Supplier
from coop.suppliers.origin import Origin
from coop.suppliers.pricing import price_rises, typed_price

bp = Blueprint("catalogue", __name__)


@bp.app_template_filter("origin_label")
def origin_label(origin: str) -> str:
    return Origin(origin).label


# --- suppliers -------------------------------------------------------------------------


@bp.route("/suppliers/")
@login_required
def list_suppliers():
    q, origin = search_arg(), request.args.get("origin", "")
    status = _status_arg()
    suppliers = catalogue.search_suppliers(q, origin, status)
    # Best match first when searching; else by name in French order, which SQL cannot give
    # the same on SQLite and PostgreSQL: the coop has a few hundred suppliers at most.
    page = (
        paginate(suppliers) if q else paginate_list(sorted_by_name(db.session.scalars(suppliers)))
    )
    return render_template(
        "suppliers/supplier_list.html",
        page=page,
        q=q,
        origin=origin,
        status=status,
        origins=list(Origin),
    )


SUPPLIER_CSV_COLUMNS = (
    "code name country address postcode city local siret vat_number email phone "
    "shipping_fee_eur free_shipping_over_eur default_lead_time_days active"
).split()


@bp.route("/suppliers.csv")
@roles_required(*STAFF_ROLES)
def suppliers_csv():
    """The list's suppliers, with its filters, for a spreadsheet (the import's columns first)."""
    query = catalogue.search_suppliers(
        request.args.get("q", ""), request.args.get("origin", ""), _status_arg()
    )
    rows = [SUPPLIER_CSV_COLUMNS]
    for s in db.session.scalars(query):
        rows.append(
            [
                s.code,
                s.name,
                s.country,
                s.address,
                s.postcode,
                s.city,
                _("oui") if s.is_local else _("non"),
                s.siret,
                s.vat_number,
                s.email,
                s.phone,
                figure(s.shipping_fee),
                figure(s.free_shipping_over),
                s.default_lead_time_days,
                _("oui") if s.is_active else _("non"),
            ]
        )
    return csv_download("fournisseurs.csv", rows)


@bp.route("/suppliers/new", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def create_supplier():
    form = SupplierForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            supplier = catalogue.save_supplier(None, **_supplier_values(form))
        if outcome.ok:
            result = url("catalogue.show_supplier", supplier_id=supplier.id)
            submissions.commit(form, result)
            flash(_("Fournisseur %(code)s créé.", code=supplier.code), "success")
            return redirect(result)
    return render_template("suppliers/supplier_form.html", form=form, supplier=None)


@bp.route("/suppliers/<int:supplier_id>")
@login_required
def show_supplier(supplier_id: int):
    supplier = db.get_or_404(Supplier, supplier_id)
    offers = paginate(
        select(Offer)
        .join(Offer.part)
        .where(Offer.supplier_id == supplier.id)
        .order_by(Part.sku)
        .options(selectinload(Offer.tiers), selectinload(Offer.part))
    )
    return render_template(
        "suppliers/supplier_detail.html",
        supplier=supplier,
        offers=offers,
        form=ConfirmForm(),
        today=clock.today(),
        # The notes are the staff's own (terms being negotiated, contacts): never a shop's.
        notes=supplier.notes if current_user.is_staff else None,
    )


@bp.route("/suppliers/<int:supplier_id>/edit", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def edit_supplier(supplier_id: int):
    supplier = db.get_or_404(Supplier, supplier_id)
    form = SupplierForm(obj=supplier)
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            catalogue.save_supplier(supplier, **_supplier_values(form))
        if outcome.ok:
            db.session.commit()
            flash(_("Fournisseur %(code)s enregistré.", code=supplier.code), "success")
            return redirect(url("catalogue.show_supplier", supplier_id=supplier.id))
    return render_template("suppliers/supplier_form.html", form=form, supplier=supplier)


@bp.route("/suppliers/<int:supplier_id>/deactivate", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def deactivate_supplier(supplier_id: int):
    supplier = db.get_or_404(Supplier, supplier_id)
    form = ConfirmForm()
    back = url("catalogue.show_supplier", supplier_id=supplier.id)
    if form.validate_on_submit():
        catalogue.set_supplier_active(supplier, False)
        db.session.commit()
        flash(_("%(name)s est désactivé.", name=supplier.name), "success")
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Désactiver %(name)s ?", name=supplier.name),
        message=_(
            "Ses offres ne seront plus proposées dans les campagnes. Ses tarifs et "
            "son historique sont conservés ; vous pourrez le réactiver à tout moment."
        ),
        confirm_label=_("Oui, désactiver"),
        cancel_url=back,
    )


@bp.route("/suppliers/<int:supplier_id>/reactivate", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def reactivate_supplier(supplier_id: int):
    supplier = db.get_or_404(Supplier, supplier_id)
    if ConfirmForm().validate_on_submit():
        catalogue.set_supplier_active(supplier, True)
        db.session.commit()
        flash(_("%(name)s est de nouveau actif.", name=supplier.name), "success")
    return redirect(url("catalogue.show_supplier", supplier_id=supplier.id))


def _supplier_values(form: SupplierForm) -> dict:
    return {name: getattr(form, name).data for name in catalogue.SUPPLIER_FIELDS}


# --- parts -----------------------------------------------------------------------------


@bp.route("/parts/")
@login_required
def list_parts():
    q = search_arg()
    category = request.args.get("category", "")
    origin = request.args.get("origin", "")
    supplier_id = id_arg("supplier")
    status = _status_arg()
    page = paginate(
        catalogue.search_parts(q, category, origin, supplier_id, status).options(
            selectinload(Part.offers).joinedload(Offer.supplier)
        )
    )
    # The filter's choices: ids and names only (a shop opens this list all day).
    suppliers = sorted_by_name(
        db.session.execute(select(Supplier.id, Supplier.name).order_by(Supplier.code)).all()
    )
    return render_template(
        "suppliers/part_list.html",
        page=page,
        q=q,
        category=category,
        origin=origin,
        supplier_id=supplier_id,
        status=status,
        suppliers=suppliers,
        categories=catalogue.CATEGORIES,
        origins=list(Origin),
    )


@bp.route("/parts/new", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def create_part():
    form = PartForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            part = catalogue.save_part(None, **_part_values(form))
        if outcome.ok:
            result = url("catalogue.show_part", part_id=part.id)
            submissions.commit(form, result)
            flash(_("Pièce %(sku)s créée.", sku=part.sku), "success")
            return redirect(result)
    return render_template("suppliers/part_form.html", form=form, part=None)


@bp.app_template_global()
def part_search(choices: str) -> dict[str, str]:
    """The attributes that make a text input a part picker suggesting into datalist `choices`:
    as the user types, htmx asks `part_choices` and puts its options in the list."""
    return {
        "list": choices,
        "hx-get": url("catalogue.part_choices"),
        "hx-trigger": "input changed delay:150ms",
        "hx-target": f"#{choices}",
        "hx-sync": "this:replace",
    }


@bp.route("/parts/choices")
@login_required
def part_choices():
    """The suggestions of a part picker (`part_picker` in _macros.html) for what was typed."""
    return render_template(
        "suppliers/_part_choices.html", choices=catalogue.part_choices(search_arg("part"))
    )


@bp.route("/parts/<int:part_id>")
@login_required
def show_part(part_id: int):
    part = catalogue.get_part_with_offers(part_id)
    if part is None:
        abort(404)
    comparison = compare(part.offers, clock.today())
    return render_template(
        "suppliers/part_detail.html",
        part=part,
        comparison=comparison,
        categories=catalogue.CATEGORIES,
        units=UNITS,
    )


@bp.route("/parts/<int:part_id>/edit", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def edit_part(part_id: int):
    part = db.get_or_404(Part, part_id)
    form = PartForm(obj=part)
    if request.method == "GET":
        form.vat_rate.data = f"{part.vat_rate:.4f}"
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            catalogue.save_part(part, **_part_values(form))
        if outcome.ok:
            db.session.commit()
            flash(_("Pièce %(sku)s enregistrée.", sku=part.sku), "success")
            return redirect(url("catalogue.show_part", part_id=part.id))
    return render_template("suppliers/part_form.html", form=form, part=part)


def _part_values(form: PartForm) -> dict:
    values = {name: getattr(form, name).data for name in catalogue.PART_FIELDS}
    values["vat_rate"] = Decimal(values["vat_rate"])
    return values


# --- offers ----------------------------------------------------------------------------


@bp.route("/parts/<int:part_id>/offers/new", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def create_offer(part_id: int):
    part = db.get_or_404(Part, part_id)
    suppliers = sorted_by_name(
        db.session.scalars(
            select(Supplier).where(Supplier.is_active.is_(True)).order_by(Supplier.code)
        )
    )
    form = OfferForm(suppliers=suppliers)
    if form.validate_on_submit():
        submissions.claim(form)
        supplier = db.session.get(Supplier, form.supplier_id.data)
        with refusal_shown(form) as outcome:
            catalogue.save_offer(
                None, supplier=supplier, part=part, tiers=form.tier_values(), **_offer_values(form)
            )
        if outcome.ok:
            result = url("catalogue.show_part", part_id=part.id)
            submissions.commit(form, result)
            flash(_("Offre %(of_supplier)s ajoutée.", of_supplier=de(supplier.name)), "success")
            _warn_if_prices_rise(form.tier_values())
            return redirect(result)
    return render_template("suppliers/offer_form.html", form=form, part=part, offer=None)


@bp.route("/suppliers/<int:supplier_id>/offers/new", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def create_supplier_offer(supplier_id: int):
    supplier = db.get_or_404(Supplier, supplier_id)
    parts = db.session.scalars(
        select(Part).where(Part.is_active.is_(True)).order_by(Part.sku)
    ).all()
    form = SupplierOfferForm(supplier=supplier, parts=parts)
    back = url("catalogue.show_supplier", supplier_id=supplier.id)
    if form.validate_on_submit():
        submissions.claim(form)
        part = db.session.get(Part, form.part_id.data)
        with refusal_shown(form) as outcome:
            catalogue.save_offer(
                None, supplier=supplier, part=part, tiers=form.tier_values(), **_offer_values(form)
            )
        if outcome.ok:
            submissions.commit(form, back)
            message = _(
                "Offre %(of_supplier)s pour %(sku)s ajoutée.",
                of_supplier=de(supplier.name),
                sku=part.sku,
            )
            flash(message, "success")
            return redirect(back)
    return render_template(
        "suppliers/offer_form.html",
        form=form,
        part=None,
        offer=None,
        supplier=supplier,
        cancel_url=back,
    )


@bp.route("/offers/<int:offer_id>/edit", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def edit_offer(offer_id: int):
    offer = db.get_or_404(Offer, offer_id)
    form = OfferForm(obj=offer, suppliers=[offer.supplier])
    if request.method == "GET":
        _fill_tiers(form, offer)
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            catalogue.save_offer(
                offer,
                supplier=offer.supplier,
                part=offer.part,
                tiers=form.tier_values(),
                **_offer_values(form),
            )
        if outcome.ok:
            db.session.commit()
            name = de(offer.supplier.name)
            flash(_("Offre %(of_supplier)s enregistrée.", of_supplier=name), "success")
            _warn_if_prices_rise(form.tier_values())
            return redirect(url("catalogue.show_part", part_id=offer.part_id))
    return render_template(
        "suppliers/offer_form.html",
        form=form,
        part=offer.part,
        offer=offer,
        history=catalogue.price_history(offer),
    )


def _warn_if_prices_rise(tiers: list[tuple[int, Decimal]]) -> None:
    """Saved as typed (a supplier may really price so), but most often a typing slip."""
    for min_qty, price in price_rises(tiers):
        flash(
            _(
                "Attention : le prix monte avec la quantité (dès %(qty)d unités : %(price)s, "
                "plus cher que le palier précédent). Vérifiez les paliers de cette offre.",
                qty=min_qty,
                price=unit_price(price),
            ),
            "warning",
        )


def _fill_tiers(form: OfferForm, offer: Offer) -> None:
    form.made_in.data = offer.made_in
    while len(form.tiers) < max(TIER_ROWS, len(offer.tiers) + 2):
        form.tiers.append_entry()
    for row, tier in zip(form.tiers, offer.tiers, strict=False):
        row.min_qty.data = tier.min_qty
        row.unit_price.data = typed_price(tier.unit_price)


def _offer_values(form: OfferForm) -> dict:
    return {name: getattr(form, name).data for name in catalogue.OFFER_FIELDS}


# --- sourcing overview -----------------------------------------------------------------


@bp.route("/sourcing")
@roles_required(*STAFF_ROLES)
def sourcing():
    overview = catalogue.sourcing_overview(clock.today())
    return render_template(
        "suppliers/sourcing.html",
        overview=overview,
        origins=list(Origin),
        categories=catalogue.CATEGORIES,
    )


def _status_arg() -> str:
    status = request.args.get("status", "active")
    return status if status in {"active", "inactive", "all"} else "active"
