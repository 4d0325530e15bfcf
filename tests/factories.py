"""Test data built explicitly per test (no shared global state)."""

from __future__ import annotations

import itertools
from datetime import datetime, time

from directory.models import (
    Address,
    Language,
    Location,
    Organization,
    Population,
    Schedule,
    Service,
    ServiceCapacity,
    TaxonomyTerm,
)

_counter = itertools.count(1)

LOW_BARRIER = {
    "no_sobriety_requirement": True,
    "accepts_active_use": True,
    "accepts_sex_workers": True,
    "no_id_required": True,
    "criminal_record_ok": True,
}


def fundable(domain: str, attrs: dict) -> bool:
    """The LEAD-fundable rule, written independently of the schema's CHECK."""
    if attrs.get("religious_requirement") or attrs.get("conversion_therapy"):
        return False
    if domain == "housing":
        return bool(attrs.get("accepts_active_use") and attrs.get("accepts_sex_workers"))
    return True


def make_service(
    session,
    name: str | None = None,
    domain: str = "housing",
    lat: float | None = 47.6036,
    lon: float | None = -122.3256,
    capacity: dict | None = None,
    languages: tuple[str, ...] = (),
    interpreted: tuple[str, ...] = (),
    populations: tuple[str, ...] = (),
    terms: tuple[str, ...] = (),
    schedules: tuple[tuple[str, time, time], ...] = (),
    confidential: bool = False,
    address: str | None = "100 Test St",
    description: str | None = None,
    organization: Organization | None = None,
    precision: str = "exact",
    **attrs,
) -> Service:
    """Add a service with one location (and optional capacity) and flush it."""
    n = next(_counter)
    org = organization or Organization(name=f"Test Org {n}")
    service = Service(
        organization=org,
        name=name or f"Test Service {n}",
        description=description,
        primary_domain=domain,
        lead_fundable=fundable(domain, attrs),
        **attrs,
    )
    if lat is not None or lon is not None or confidential:
        location = Location(
            organization=org, latitude=lat, longitude=lon, confidential=confidential, precision=precision
        )
        if address and not confidential:
            location.address = Address(
                address_1=address, city="Seattle", state_province="WA", postal_code="98104"
            )
        service.locations.append(location)
    for code in languages:
        service.languages.append(Language(code=code, name=code))
    for code in interpreted:  # offered through an interpreter on request, not spoken by staff
        service.languages.append(Language(code=code, name=code, access="interpreter"))
    for code in populations:
        service.populations.append(session.get(Population, code))
    for term in terms:
        service.categories.append(session.get(TaxonomyTerm, term))
    for byday, opens, closes in schedules:
        freq = "WEEKLY" if len(byday) == 2 else "MONTHLY"  # "4TU": the fourth Tuesday of the month
        service.schedules.append(Schedule(freq=freq, byday=byday, opens_at=opens, closes_at=closes))
    if capacity is not None:
        values = {"unit_id": "bed", "maximum": 10, "available": 0, "waitlist": 0}
        values.update(capacity)
        service.capacity = ServiceCapacity(service_lead_fundable=service.lead_fundable, **values)
    session.add(service)
    session.flush()
    return service


def fresh(now: datetime) -> datetime:
    """A confirmation time well inside every freshness window."""
    from datetime import timedelta

    return now - timedelta(minutes=5)


def make_user(session, role: str = "case_manager", organization=None, password: str | None = None, **kw):
    """Add an account (password hashed with a fast method in tests only when given)."""
    from werkzeug.security import generate_password_hash

    from directory.models import User

    n = next(_counter)
    user = User(
        email=kw.pop("email", f"{role}{n}@test.example"),
        role=role,
        organization=organization,
        org_admin=kw.pop("org_admin", False),
        password_hash=generate_password_hash(password, method="pbkdf2:sha256:1000") if password else None,
        **kw,
    )
    session.add(user)
    session.flush()
    return user


def make_token(session, user) -> str:
    """A new API token for the user."""
    from directory.cli import issue_token

    token = issue_token(user)
    session.flush()
    return token


def make_participant(session, case_manager, needs: dict | None = None, lat_e2=None, lon_e2=None, code=None):
    """Add a participant owned by the case manager."""
    from directory.domain.participants import new_code
    from directory.models import Participant

    participant = Participant(
        code=code or new_code(),
        case_manager_id=case_manager.id,
        needs=needs or {},
        latitude_e2=lat_e2,
        longitude_e2=lon_e2,
    )
    session.add(participant)
    session.flush()
    return participant


def sign_in(client, user) -> None:
    """Put a signed-in session for this account (an ORM user or its id) in the client's cookie, as the
    login page would: a fresh session id, the account's session epoch, signed in and active now by the
    app's clock."""
    import secrets

    from directory.types import utcnow

    user_id = user if isinstance(user, int) else user.id
    epoch = 0 if isinstance(user, int) else (user.session_epoch or 0)
    now = (client.application.config.get("CLOCK") or utcnow)()
    stamp = int(now.timestamp())
    with client.session_transaction() as browser:
        browser.clear()
        browser.update(
            {"_user_id": str(user_id), "_fresh": True, "_sid": secrets.token_urlsafe(16), "_epoch": epoch}
        )
        browser.update({"_iat": stamp, "_seen": stamp})


def compiled_catalog(folder, code: str, header_comment: str, messages: dict[str, str]) -> None:
    """A small gettext catalog of our own making (.po and .mo) for `code` under `folder`."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    catalog = Catalog(locale=code, header_comment=header_comment)
    for source, words in messages.items():
        catalog.add(source, words)
    target = folder / code / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.po").open("wb") as po:
        write_po(po, catalog)
    with (target / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
