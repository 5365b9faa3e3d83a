"""Calls to manufacturers, the manager's side: prepared, makers invited, published (each maker
e-mailed its private link), followed, closed."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from coop import bounds, identifiers
from coop.accounts.models import User
from coop.activity.recording import record
from coop.clock import to_local
from coop.errors import DomainError
from coop.extensions import db
from coop.forms import sentence
from coop.i18n import N_
from coop.negotiation.links import LinkState, new_link_id
from coop.negotiation.models import end_of_day
from coop.numbering import next_value
from coop.relocation import notifications
from coop.relocation.links import state_of
from coop.relocation.models import (
    CallAnswer,
    CallInvitation,
    CallMessage,
    CallMessageKind,
    CallStatus,
    ManufacturerCall,
)
from coop.suppliers.catalogue import CATEGORIES
from coop.suppliers.models import Part
from coop.uniqueness import refusing_duplicates

MAX_SPECIFICATION = 20_000
MAX_RHYTHM = 2000
MAX_MESSAGE = 4000
# A link renewed after the deadline stays open this long.
RENEWED_LINK_DAYS = 7
# The deadline the new-call form suggests, and the length it suggests.
DEFAULT_ANSWER_DAYS = timedelta(days=30)
DEFAULT_DURATION_MONTHS = 24

# --- preparing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CallTerms:
    """What the manager says in a call: for one part or one family (category)."""

    title: str
    part: Part | None
    category: str | None
    specification: str
    annual_volume: int
    target_price: Decimal | None
    delivery_rhythm: str | None
    duration_months: int
    deadline_on: date


def check_terms(terms: CallTerms) -> None:
    """Refuse terms that break a rule, naming the field."""
    if not (terms.title or "").strip():
        raise DomainError(_("Donnez un titre à l'appel."), field="title")
    if len(terms.title.strip()) > 200:
        raise DomainError(_("%(max)d caractères au plus.", max=200), field="title")
    if (terms.part is None) == (terms.category is None):
        raise DomainError(
            _("Choisissez une pièce, ou une famille de pièces, mais pas les deux."), field="part"
        )
    if terms.category is not None and terms.category not in CATEGORIES:
        raise DomainError(_("Famille de pièces inconnue."), field="category")
    if not (terms.specification or "").strip():
        raise DomainError(
            _("Décrivez la pièce attendue (cahier des charges)."), field="specification"
        )
    if len(terms.specification) > MAX_SPECIFICATION:
        raise DomainError(
            _("%(max)d caractères au plus.", max=MAX_SPECIFICATION), field="specification"
        )
    if not 1 <= terms.annual_volume <= bounds.MAX_VOLUME:
        raise DomainError(
            _(
                "Le volume annuel est d'au moins 1 unité et d'au plus %(max)s.",
                max=bounds.shown(bounds.MAX_VOLUME),
            ),
            field="annual_volume",
        )
    if terms.target_price is not None:
        try:
            bounds.unit_price(terms.target_price)
        except ValueError as exc:
            raise DomainError(sentence(exc), field="target_price") from None
    if terms.delivery_rhythm and len(terms.delivery_rhythm) > MAX_RHYTHM:
        raise DomainError(_("%(max)d caractères au plus.", max=MAX_RHYTHM), field="delivery_rhythm")
    if not 1 <= terms.duration_months <= bounds.MAX_MONTHS:
        raise DomainError(
            _("La durée est de 1 à %(max)d mois.", max=bounds.MAX_MONTHS), field="duration_months"
        )


def _check_deadline(deadline_on: date | None, at: datetime) -> None:
    if deadline_on is None:
        raise DomainError(_("Indiquez la date limite de réponse."), field="deadline_on")
    if deadline_on < to_local(at).date():
        raise DomainError(_("La date limite de réponse est passée."), field="deadline_on")


def create_call(terms: CallTerms, *, at: datetime, by: User | None = None) -> ManufacturerCall:
    """A draft call on these terms, numbered AF-2026-001; logged."""
    check_terms(terms)
    _check_deadline(terms.deadline_on, at)
    year = to_local(at).year
    call = ManufacturerCall(
        code=f"AF-{year}-{next_value(f'AF-{year}'):03d}",
        status=CallStatus.DRAFT,
        created_by=by,
        created_at=at,
        **_values(terms),
    )
    db.session.add(call)
    db.session.flush()
    record(
        "manufacturer_call.created",
        object_type="manufacturer_call",
        object_id=call.id,
        label=f"{call.code} {call.title}",
        actor=by,
    )
    return call


def update_call(call: ManufacturerCall, terms: CallTerms, *, at: datetime) -> ManufacturerCall:
    """Change a draft; once published, only the title and a later deadline (links follow)."""
    lock_call(call)
    if call.status is CallStatus.DRAFT:
        check_terms(terms)
        _check_deadline(terms.deadline_on, at)
        for name, value in _values(terms).items():
            setattr(call, name, value)
    elif call.status is CallStatus.OPEN:
        if not (terms.title or "").strip() or len(terms.title.strip()) > 200:
            raise DomainError(
                _("Donnez un titre à l'appel (200 caractères au plus)."), field="title"
            )
        if terms.deadline_on is None or terms.deadline_on < call.deadline_on:
            raise DomainError(
                _("L'appel est publié : sa date limite peut être repoussée, pas avancée."),
                field="deadline_on",
            )
        _check_deadline(terms.deadline_on, at)
        call.title, call.deadline_on = terms.title.strip(), terms.deadline_on
        for invitation in call.invitations:
            if invitation.link_id and invitation.revoked_at is None:
                invitation.expires_at = max(invitation.expires_at or call.answer_by, call.answer_by)
    else:
        raise DomainError(_("L'appel %(code)s est clos.", code=call.code))
    db.session.flush()
    return call


def _values(terms: CallTerms) -> dict:
    return {
        "title": terms.title.strip(),
        "part": terms.part,
        "category": terms.category,
        "specification": terms.specification.strip(),
        "annual_volume": terms.annual_volume,
        "target_price": terms.target_price,
        "delivery_rhythm": (terms.delivery_rhythm or "").strip() or None,
        "duration_months": terms.duration_months,
        "deadline_on": terms.deadline_on,
    }


# --- makers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Maker:
    name: str
    email: str
    siret: str


def check_maker(maker: Maker) -> Maker:
    """The maker's details normalised (e-mail, SIRET checked), or refused naming the field."""
    name = (maker.name or "").strip()
    if not name:
        raise DomainError(_("Indiquez le nom du fabricant."), field="name")
    if len(name) > 200:
        raise DomainError(_("%(max)d caractères au plus.", max=200), field="name")
    try:
        email = identifiers.email(maker.email or "")
    except ValueError as exc:
        raise DomainError(sentence(exc), field="email") from None
    if len(email) > 254:
        raise DomainError(_("%(max)d caractères au plus.", max=254), field="email")
    try:
        siret = identifiers.siret(maker.siret or "")
    except ValueError as exc:
        raise DomainError(sentence(exc), field="siret") from None
    return Maker(name, email, siret)


def invite_maker(
    call: ManufacturerCall, maker: Maker, *, at: datetime, by: User | None = None
) -> CallInvitation:
    """Add a maker to the call; once the call is published, its link is e-mailed at once."""
    lock_call(call)
    if call.status is CallStatus.CLOSED:
        raise DomainError(_("L'appel %(code)s est clos.", code=call.code))
    maker = check_maker(maker)
    for other in call.invitations:
        if other.email.lower() == maker.email.lower():
            raise DomainError(
                _("%(email)s est déjà invité à cet appel.", email=maker.email), field="email"
            )
        if other.siret == maker.siret:
            raise DomainError(
                _("Ce SIRET est déjà celui de %(name)s, invité à cet appel.", name=other.name),
                field="siret",
            )
    taken = DomainError(_("Ce fabricant vient d'être invité à cet appel."), field="email")
    with refusing_duplicates(uq_call_invitations_email=taken, uq_call_invitations_siret=taken):
        invitation = CallInvitation(
            name=maker.name, email=maker.email, siret=maker.siret, created_at=at
        )
        call.invitations.append(invitation)
        db.session.flush()
    if call.status is CallStatus.OPEN:
        _send(invitation, at, by)
        db.session.flush()
        notifications.call_sent(invitation)
    return invitation


def remove_maker(call: ManufacturerCall, invitation: CallInvitation) -> None:
    """Drop a maker from a draft call (nothing was sent to it yet)."""
    lock_call(call)
    if call.status is not CallStatus.DRAFT:
        raise DomainError(
            _("L'appel est publié : révoquez le lien du fabricant plutôt que de le retirer.")
        )
    call.invitations.remove(invitation)
    db.session.flush()


def _send(invitation: CallInvitation, at: datetime, by: User | None) -> None:
    invitation.link_id = new_link_id()
    invitation.expires_at = invitation.call.answer_by
    invitation.revoked_at = None
    invitation.sent_at = at
    log_entry(invitation, CallMessageKind.SENT, at, by=by)


# --- publishing, following, closing --------------------------------------------------------


def publish_call(
    call: ManufacturerCall, *, at: datetime, by: User | None = None
) -> list[CallInvitation]:
    """E-mail each maker invited its private link; the call is open for answers."""
    lock_call(call)
    if call.status is not CallStatus.DRAFT:
        raise DomainError(_("L'appel %(code)s est déjà publié.", code=call.code))
    _check_deadline(call.deadline_on, at)
    if not call.invitations:
        raise DomainError(_("Invitez au moins un fabricant avant de publier l'appel."))
    call.status, call.published_at = CallStatus.OPEN, at
    for invitation in call.invitations:
        _send(invitation, at, by)
    db.session.flush()
    record(
        "manufacturer_call.published",
        object_type="manufacturer_call",
        object_id=call.id,
        label=f"{call.code} {call.title}",
        details={"makers": [i.name for i in call.invitations]},
        actor=by,
    )
    for invitation in call.invitations:
        notifications.call_sent(invitation)
    return list(call.invitations)


def close_call(call: ManufacturerCall, *, at: datetime, by: User | None = None) -> None:
    """No more answers: every link of the call stops working; acceptances already made stay."""
    lock_call(call)
    if not call.can_become(CallStatus.CLOSED):
        raise DomainError(_("L'appel %(code)s est déjà clos.", code=call.code))
    call.status, call.closed_at = CallStatus.CLOSED, at
    db.session.flush()
    record(
        "manufacturer_call.closed",
        object_type="manufacturer_call",
        object_id=call.id,
        label=f"{call.code} {call.title}",
        actor=by,
    )


def revoke_link(invitation: CallInvitation, *, at: datetime, by: User | None = None) -> None:
    """The maker's link stops working at once (a wrong address, a forwarded e-mail…)."""
    lock_call(invitation.call)
    if invitation.link_id is None:
        raise DomainError(_("L'appel n'a pas encore été envoyé à ce fabricant."))
    if invitation.revoked_at is not None:
        raise DomainError(_("Ce lien est déjà révoqué."))
    invitation.revoked_at = at
    log_entry(invitation, CallMessageKind.REVOKED, at, by=by)
    db.session.flush()


def renew_link(invitation: CallInvitation, *, at: datetime, by: User | None = None) -> None:
    """A new link replaces the old one (which stops working), e-mailed to the maker."""
    call = invitation.call
    lock_call(call)
    if invitation.link_id is None or not call.takes_answers:
        raise DomainError(_("L'appel %(code)s n'est pas ouvert aux réponses.", code=call.code))
    invitation.link_id = new_link_id()
    invitation.revoked_at = None
    renewed_until = end_of_day(to_local(at).date() + timedelta(days=RENEWED_LINK_DAYS))
    invitation.expires_at = max(call.answer_by, renewed_until)
    log_entry(invitation, CallMessageKind.RENEWED, at, by=by)
    db.session.flush()
    notifications.call_sent(invitation, renewed=True)


def post_message(
    invitation: CallInvitation, body: str, *, at: datetime, by: User | None
) -> CallMessage:
    """A message to the maker, e-mailed with its link."""
    lock_call(invitation.call)
    body = message_body(body)
    if state_of(invitation, at) is not LinkState.OPEN:
        raise DomainError(
            _(
                "Le lien de ce fabricant ne fonctionne pas (appel clos, lien expiré ou révoqué) : "
                "il ne pourrait pas lire votre message. Envoyez-lui un nouveau lien d'abord."
            ),
            field="body",
        )
    message = log_entry(invitation, CallMessageKind.MESSAGE, at, by=by, body=body)
    db.session.flush()
    notifications.coop_wrote(message)
    return message


def message_body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise DomainError(_("Écrivez votre message."), field="body")
    if len(body) > MAX_MESSAGE:
        raise DomainError(_("%(max)d caractères au plus.", max=MAX_MESSAGE), field="body")
    return body


def log_entry(
    invitation: CallInvitation,
    kind: CallMessageKind,
    at: datetime,
    *,
    by: User | None = None,
    body: str | None = None,
) -> CallMessage:
    """Add an entry to the maker's thread."""
    entry = CallMessage(kind=kind, author=by, body=body, created_at=at)
    invitation.messages.append(entry)
    return entry


def lock_call(call: ManufacturerCall) -> None:
    """Lock the call's row: publishing, answering, accepting and closing decide on its status."""
    db.session.execute(
        select(ManufacturerCall.id).where(ManufacturerCall.id == call.id).with_for_update()
    )
    db.session.refresh(call, ["status"])


# --- reading -------------------------------------------------------------------------------


class MakerProgress(StrEnum):
    """Where a maker stands, as the call's page shows it."""

    NOT_SENT = "not_sent"
    NOT_OPENED = "not_opened"
    OPENED = "opened"
    ANSWERED = "answered"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


MAKER_PROGRESS_LABELS = {
    MakerProgress.NOT_SENT: N_("pas encore envoyé"),
    MakerProgress.NOT_OPENED: N_("lien pas encore ouvert"),
    MakerProgress.OPENED: N_("lien ouvert, pas de réponse"),
    MakerProgress.ANSWERED: N_("a répondu"),
    MakerProgress.ACCEPTED: N_("réponse retenue"),
    MakerProgress.REVOKED: N_("lien révoqué"),
    MakerProgress.EXPIRED: N_("lien expiré sans réponse"),
}


def maker_progress(invitation: CallInvitation, at: datetime) -> MakerProgress:
    if any(a.answer.invitation_id == invitation.id for a in invitation.call.acceptances):
        return MakerProgress.ACCEPTED
    if invitation.link_id is None:
        return MakerProgress.NOT_SENT
    if invitation.answers:
        return MakerProgress.ANSWERED
    state = state_of(invitation, at)
    if state is LinkState.REVOKED:
        return MakerProgress.REVOKED
    if state is not LinkState.OPEN:
        return MakerProgress.EXPIRED
    return MakerProgress.OPENED if invitation.opened_at else MakerProgress.NOT_OPENED


def calls_query(status: CallStatus | None = None, search: str = "") -> Select:
    stmt = (
        select(ManufacturerCall)
        .options(
            selectinload(ManufacturerCall.part),
            selectinload(ManufacturerCall.invitations).selectinload(CallInvitation.answers),
        )
        .order_by(ManufacturerCall.created_at.desc(), ManufacturerCall.id.desc())
    )
    if status is not None:
        stmt = stmt.where(ManufacturerCall.status == status)
    if search:
        pattern = f"%{search}%"
        stmt = stmt.where(
            ManufacturerCall.code.ilike(pattern) | ManufacturerCall.title.ilike(pattern)
        )
    return stmt


def get_call(call_id: int) -> ManufacturerCall | None:
    return db.session.scalar(
        select(ManufacturerCall)
        .where(ManufacturerCall.id == call_id)
        .options(
            selectinload(ManufacturerCall.part),
            selectinload(ManufacturerCall.files),
            selectinload(ManufacturerCall.acceptances),
            selectinload(ManufacturerCall.invitations)
            .selectinload(CallInvitation.answers)
            .selectinload(CallAnswer.tiers),
        )
    )


def family_parts(call: ManufacturerCall) -> list[Part]:
    """The parts an answer to the call may be accepted for: its part, or its family's."""
    if call.part is not None:
        return [call.part]
    return db.session.scalars(
        select(Part)
        .where(Part.category == call.category, Part.is_active.is_(True))
        .order_by(Part.sku)
    ).all()
