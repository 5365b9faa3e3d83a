"""Who may do what: preconditions stacked on views as decorators."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from coop.accounts.models import Member, Role


def roles_required(*roles: Role):
    """Logged in with one of `roles`, else 403 (or the login page when anonymous)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def ensure_can_access(member: Member) -> None:
    """A member user reaching another shop's page gets 403, whatever the URL says."""
    if not current_user.can_access_member(member):
        abort(403)
