"""Who may do what: the acting account, passed explicitly into every domain operation."""

from __future__ import annotations

from dataclasses import dataclass

from ..words import N_, Words
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
        raise Forbidden(Words(N_("only the provider's own staff (or an admin) can change these numbers")))


def can_read_plan(actor: Actor, case_manager_id: int | None) -> bool:
    """Goal text and plans: the participant's own case manager, and admins; nobody else (peers refer by
    code, the project manager audits referrals, providers see the referrals they receive)."""
    if actor.is_admin:
        return True
    return actor.role == "case_manager" and actor.id is not None and actor.id == case_manager_id


def can_open_slip(actor: Actor) -> bool:
    """Slips: the roles that refer, and the project manager (read-only)."""
    return actor.role in REFERRERS or actor.role == "project_manager"


def can_see_service_staff_content(actor: Actor | None, organization_id: int | None) -> bool:
    """A service's capacity history and referral timeline (no participant codes in it): its own
    organization's providers, case managers (who judge the numbers before they refer), the project manager
    (the audit) and admins; other organizations' providers and peer outreach never."""
    if actor is None:
        return False
    if actor.role in ("admin", "case_manager") or actor.role in AUDITORS:
        return True
    own = organization_id is not None and actor.organization_id == organization_id
    return actor.role == "provider" and own
