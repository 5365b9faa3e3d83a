"""Every action code the log knows, with its French label: the one table the log page,
the timelines and the filters read.

A code is `<object type>.<what happened>`, in the past tense: "invoice.issued".
"""

from collections.abc import Mapping

from coop.i18n import N_

ACTIONS = {
    # accounts
    "settings.identity_changed": N_("Identité de la coopérative modifiée"),
    "user.created": N_("Compte créé"),
    "user.roles_changed": N_("Rôles modifiés"),
    "user.shop_changed": N_("Atelier du compte modifié"),
    "user.disabled": N_("Compte désactivé"),
    "user.enabled": N_("Compte réactivé"),
    "user.password_changed": N_("Mot de passe changé"),
    "user.login_locked": N_("Connexion bloquée après trop d'échecs"),
    "invitation.sent": N_("Invitation envoyée"),
    "invitation.revoked": N_("Invitation retirée"),
    "invitation.accepted": N_("Invitation acceptée"),
    "member.created": N_("Atelier créé"),
    "member.updated": N_("Atelier modifié"),
    "member.deactivated": N_("Atelier désactivé"),
    "member.reactivated": N_("Atelier réactivé"),
    # negotiation
    "rfq.awarded": N_("Lignes de devis attribuées"),
    # relocation: calls to manufacturers and framework agreements
    "manufacturer_call.created": N_("Appel à fabricants créé"),
    "manufacturer_call.published": N_("Appel à fabricants publié"),
    "manufacturer_call.closed": N_("Appel à fabricants clos"),
    "manufacturer_call.answer_accepted": N_("Réponse de fabricant retenue"),
    "agreement.created": N_("Accord-cadre préparé"),
    "agreement.updated": N_("Accord-cadre modifié"),
    "agreement.activated": N_("Accord-cadre entré en vigueur"),
    "agreement.ended": N_("Accord-cadre terminé"),
    # orders (recorded by coop/orders once restructured)
    "campaign.created": N_("Campagne créée"),
    "campaign.updated": N_("Campagne modifiée"),
    "campaign.status_changed": N_("Statut de la campagne changé"),
    "campaign.shops_reminded": N_("Ateliers silencieux relancés"),
    "campaign.handed_over": N_("Marchandises remises à l'atelier"),
    "campaign.handover_corrected": N_("Remise à l'atelier corrigée"),
    "need.posted_late": N_("Besoin ajouté après la clôture"),
    "need.edited_late": N_("Besoin modifié après la clôture"),
    "need.withdrawn_late": N_("Besoin retiré après la clôture"),
    "pooling.run": N_("Mutualisation calculée"),
    "pooling.committed": N_("Mutualisation validée"),
    "pooling.undone": N_("Mutualisation annulée"),
    "purchase_order.sent": N_("Commande envoyée"),
    "purchase_order.confirmed": N_("Commande confirmée"),
    "purchase_order.partly_received": N_("Commande reçue en partie"),
    "purchase_order.received": N_("Commande reçue"),
    "purchase_order.closed": N_("Commande soldée"),
    "purchase_order.cancelled": N_("Commande annulée"),
    "receipt.recorded": N_("Réception enregistrée"),
    "shortage.reallocated": N_("Manque réparti"),
    "charge.added": N_("Frais ajoutés"),
    "charge.changed": N_("Frais modifiés"),
    "charge.removed": N_("Frais supprimés"),
    # invoicing
    "invoice.issued": N_("Facture émise"),
    "credit_note.issued": N_("Avoir émis"),
    # payments
    "payment.recorded": N_("Paiement enregistré"),
    "payment.succeeded": N_("Paiement abouti"),
    "payment.failed": N_("Paiement échoué"),
    "refund.recorded": N_("Remboursement enregistré"),
    "refund.status_changed": N_("État du remboursement changé"),
    "bank_line.matched": N_("Virement rapproché"),
    "bank_line.ignored": N_("Ligne de relevé ignorée"),
    "bank_line.unignored": N_("Ligne de relevé remise dans la file"),
    # purchases
    "supplier_invoice.imported": N_("Facture fournisseur importée"),
    "supplier_invoice.entered": N_("Facture fournisseur saisie"),
    "supplier_invoice.linked": N_("Facture fournisseur rattachée à sa commande"),
    "supplier_invoice.booked": N_("Facture fournisseur comptabilisée"),
    "supplier_invoice.disputed": N_("Facture fournisseur contestée"),
    "supplier_payment.recorded": N_("Paiement fournisseur enregistré"),
}

# The kinds of object an entry concerns, as the log's filter lists them.
OBJECT_TYPES = {
    "settings": N_("Paramètres"),
    "user": N_("Compte"),
    "invitation": N_("Invitation"),
    "member": N_("Atelier"),
    "rfq": N_("Demande de devis"),
    "manufacturer_call": N_("Appel à fabricants"),
    "agreement": N_("Accord-cadre"),
    "campaign": N_("Campagne"),
    "need": N_("Besoin"),
    "pooling_run": N_("Mutualisation"),
    "purchase_order": N_("Commande fournisseur"),
    "receipt": N_("Réception"),
    "charge": N_("Frais"),
    "invoice": N_("Facture"),
    "payment": N_("Paiement"),
    "refund": N_("Remboursement"),
    "bank_line": N_("Ligne de relevé"),
    "supplier_invoice": N_("Facture fournisseur"),
    "supplier_payment": N_("Paiement fournisseur"),
}

ACTOR_KINDS = {
    "user": N_("Utilisateur"),
    "system": N_("Système"),
    "job": N_("Tâche de fond"),
    "webhook": N_("Stripe"),
    "supplier": N_("Fournisseur"),
}

# The names of the details' keys as the log shows them; a key not listed shows as it is.
DETAIL_LABELS = {
    "amount": N_("Montant"),
    "total_incl_vat": N_("Total TTC"),
    "fees": N_("Frais"),
    "method": N_("Moyen"),
    "status": N_("Statut"),
    "roles": N_("Rôles"),
    "shop": N_("Atelier"),
    "email": N_("E-mail"),
    "role": N_("Rôle"),
    "name": N_("Nom"),
    "invoices": N_("Factures"),
    "invoice": N_("Facture"),
    "credited_invoice": N_("Facture créditée"),
    "reason": N_("Motif"),
    "campaign": N_("Campagne"),
    "lines": N_("Lignes"),
    "label": N_("Libellé"),
    "changed": N_("Champs modifiés"),
    "failures": N_("Échecs"),
    "locked_until": N_("Bloquée jusqu'à"),
    "payment": N_("Paiement"),
    "code": N_("Code"),
    "logo": N_("Logo"),
    "siren": N_("SIREN"),
    "siret": N_("SIRET"),
    "vat_number": N_("N° TVA"),
    "iban": N_("IBAN"),
    "bic": N_("BIC"),
    "address": N_("Adresse"),
    "postcode": N_("Code postal"),
    "city": N_("Ville"),
    "phone": N_("Téléphone"),
    "payment_terms_days": N_("Délai de paiement (jours)"),
    "delivery_address": N_("Adresse de livraison"),
    "delivery_postcode": N_("Code postal de livraison"),
    "delivery_city": N_("Ville de livraison"),
    "legal_form": N_("Forme juridique"),
    "country": N_("Pays"),
    "late_payment_rate": N_("Taux des pénalités de retard"),
    "reminder_days": N_("Relances (jours après l'échéance)"),
    "account_customers": N_("Compte clients"),
    "account_goods": N_("Compte ventes de marchandises"),
    "account_shipping": N_("Compte port refacturé"),
    "account_fee": N_("Compte frais de service"),
    "account_vat": N_("Compte TVA collectée"),
    "account_bank": N_("Compte banque"),
    "account_bank_fees": N_("Compte frais bancaires"),
    "account_rebates": N_("Compte rabais accordés"),
    "fee_treatment": N_("Traitement des frais de service"),
    "account_vat_pending": N_("Compte TVA sur encaissements en attente"),
    "account_suppliers": N_("Compte fournisseurs"),
    "account_purchases": N_("Compte achats de marchandises"),
    "account_purchase_shipping": N_("Compte port sur achats"),
    "account_vat_deductible": N_("Compte TVA déductible"),
    "account_vat_self_assessed": N_("Compte TVA autoliquidée"),
    "account_vat_import": N_("Compte TVA déductible à l'importation"),
    "registry": N_("Registre"),
    "registry_city": N_("Ville du greffe"),
    "share_capital": N_("Capital social"),
    "variable_capital": N_("Capital variable"),
    "vat_on_debits": N_("TVA sur les débits"),
    # orders
    "title": N_("Titre"),
    "order_date": N_("Date de commande"),
    "opens_at": N_("Ouverture"),
    "closes_at": N_("Clôture"),
    "delivery_on": N_("Livraison"),
    "delivery_mode": N_("Mode de livraison"),
    "fee_rate": N_("Frais de service"),
    "shortage_rule": N_("Livraison incomplète"),
    "shipping_key": N_("Répartition du port"),
    "penalty_local": N_("Pénalité local"),
    "penalty_france": N_("Pénalité France"),
    "penalty_europe": N_("Pénalité Europe"),
    "penalty_asia": N_("Pénalité Asie"),
    "penalty_other": N_("Pénalité autre"),
    "shops": N_("Ateliers"),
    "total": N_("Total"),
    "gap": N_("Écart à l'optimum"),
    "orders": N_("Bons de commande"),
    "cancelled": N_("Bons de commande annulés"),
    "delivery_note": N_("Bon de livraison"),
    "received_on": N_("Reçu le"),
    "good": N_("Unités bonnes"),
    "damaged": N_("Unités abîmées"),
    "units": N_("Unités reçues"),
    "ordered": N_("Unités commandées"),
    "key": N_("Clé de répartition"),
    "supplier": N_("Fournisseur"),
    "taken_by": N_("Pris par"),
    "handed_at": N_("Remis le"),
    "comment": N_("Commentaire"),
    # purchases
    "kind": N_("Type"),
    "differences": N_("Écarts"),
    "booked_on": N_("Date comptable"),
    # relocation
    "sku": N_("Pièce"),
    "committed_qty": N_("Volume engagé"),
    "shortfall_fee": N_("Pénalité par unité manquante"),
    "valid_from": N_("Début"),
    "valid_to": N_("Fin"),
    "campaigns_planned": N_("Campagnes prévues"),
    "makers": N_("Fabricants"),
    "maker": N_("Fabricant"),
    "agreement": N_("Accord-cadre"),
}

# Keys whose values are amounts in euros: shown as money.
MONEY_KEYS = frozenset({"amount", "total_incl_vat", "fees", "total"})

# Keys whose values are prices per unit (to four decimals): `2,24 €`, `0,0125 €`.
UNIT_PRICE_KEYS = frozenset({"shortfall_fee"})

# Keys whose values are fractions (0.02): shown as rates, "2 %".
RATE_KEYS = frozenset(
    {
        "fee_rate",
        "gap",
        "penalty_local",
        "penalty_france",
        "penalty_europe",
        "penalty_asia",
        "penalty_other",
    }
)

# The labels of the codes some details hold (a payment's method, a role), by object type and
# key. Each domain registers its enum's labels where they are defined, as coop.activity
# imports no domain; a code without a label shows as it is.
VALUE_LABELS: dict[tuple[str, str], Mapping] = {}


def label_values(object_type: str, key: str, labels: Mapping) -> None:
    """Show the `key` details of `object_type` entries by these labels (code -> label)."""
    VALUE_LABELS[(object_type, key)] = labels
