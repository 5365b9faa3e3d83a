"""What a shop's page shows of its accounts: shared by the member pages and the invitations'.

A view helper, not a blueprint: views import it, never each other.
"""

from flask_login import current_user

from coop.accounts import invitations as invitation_service
from coop.accounts.forms import ConfirmForm, InviteForm
from coop.accounts.models import Member
from coop.clock import now


def accounts_panel(member: Member, invite_form: InviteForm | None = None) -> dict:
    """What the shop's page shows of its accounts: invitations waiting, the invite form."""
    may_invite = invitation_service.may_invite_to(current_user, member)
    if invite_form is None and may_invite:
        invite_form = InviteForm(email=None if member.users else member.email)
    return {
        "may_invite": may_invite,
        "invitations": invitation_service.invitations_of(member) if may_invite else [],
        "invite_form": invite_form,
        "resend_form": ConfirmForm(),
        "account_state": invitation_service.account_states([member.id])[member.id],
        "now": now(),
    }
