"""Who may do what: the acting account, passed explicitly into every domain operation."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Forbidden

# The roles and the groups that pages, the API and the domain allow: defined here once.
ROLES = ("case_manager", "peer_outreach", "provider", "project_manager", "admin")
STAFF = frozenset(ROLES)
REFERRERS = frozenset({"case_manager", "peer_outreach", "admin"})  # check and refer (peers: requests only)
CASE_MANAGERS = frozenset({"case_manager", "admin"})  # participants' plans, claims, overrides, cancels
CAPACITY_KEEPERS = frozenset({"provider", "admin"})  # numbers, inbox, staff of an organization
AUDITORS = frozenset({"project_manager", "admin"})


@dataclass(frozen=True)
class Actor:
    """The account acting (None id for the system: scheduled jobs, imports)."""

    id: int | None
    role: str
    organization_id: int | None = None
    org_admin: bool = False

    @classmethod
    def of(cls, user) -> Actor:
        """The actor for a User row (or anything with the same attributes)."""
        return cls(user.id, user.role, user.organization_id, bool(getattr(user, "org_admin", False)))

    @property
    def is_admin(self) -> bool:
        """Admins run the site."""
        return self.role == "admin"


SYSTEM = Actor(None, "system")


def can_manage_capacity(actor: Actor, organization_id: int) -> bool:
    """Providers of the owning organization, and admins, keep a service's numbers."""
    return actor.is_admin or (actor.role == "provider" and actor.organization_id == organization_id)


def require_capacity_manager(actor: Actor, organization_id: int) -> None:
    """Raise Forbidden unless the actor keeps this organization's numbers."""
    if not can_manage_capacity(actor, organization_id):
        raise Forbidden("only the provider's own staff (or an admin) can change these numbers")
