"""Session users for Flask-Login (accounts and roles are built on this)."""

from __future__ import annotations

from .extensions import db, login_manager
from .models import User


class SessionUser:
    """The signed-in account as Flask-Login sees it."""

    def __init__(self, user: User):
        # An ORM User (sessions) or a row with the same columns (API tokens): only these are read.
        self.user = user
        self.id = user.id
        self.role = user.role
        self.organization_id = user.organization_id
        self.email = user.email

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        """The id kept in the session cookie."""
        return str(self.id)


@login_manager.user_loader
def load_user(user_id: str):
    """Load the session's account; inactive or missing accounts are signed out."""
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active:
        return None
    return SessionUser(user)
