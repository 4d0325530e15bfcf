"""Reports from the field: a case manager or peer who finds a service's numbers or listing wrong says what
they observed; a "full" or "fewer free" report against numbers that said a unit was free makes the numbers
unverified until the provider confirms or corrects them, or a freshness window passes (domain.md).

The provider is told at once and asked to confirm or correct in one tap; reports on services with
LEAD-funded units reach the project managers at once too. Staff read "reported full 12 min ago by a case
manager"; nothing public says who reported, or that anyone did: the public sees "call first".
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import SiteConfig
from ..database import writes
from ..models import (
    LISTED_ATTRIBUTES,
    OBSERVED,
    CapacityReport,
    ConfirmLink,
    Referral,
    Service,
    ServiceCapacity,
    User,
)
from ..words import N_, Words
from . import audit
from . import capacity as cap
from .access import Actor
from .capacity_updates import snapshot
from .errors import Forbidden, NotFound, ValidationError
from .notifications import notify, organization_staff
from .participants import screen_free_text

REPORTERS = frozenset({"case_manager", "peer_outreach", "admin"})
# Reports that say fewer units are free than the numbers do: they make free-looking numbers unverified.
AGAINST_FREE = ("full", "fewer_free")
# Reports the numbers answer: a confirmation or correction of the numbers settles them.
ABOUT_NUMBERS = ("full", "fewer_free", "more_free", "closed_now")
FIELDS = frozenset({"observed", "correct_phone", "attribute", "referral_id", "note"})
MAX_NOTE = 500
# How long a report about an untracked (open-access) service is shown to staff, unanswered.
UNTRACKED_WINDOW = timedelta(days=7)
PHONE = re.compile(r"^[0-9+()\-. x]{7,40}$")

OBSERVED_WORDS = {
    "full": N_("full"),
    "fewer_free": N_("fewer free than listed"),
    "more_free": N_("more free than listed"),
    "closed_now": N_("closed now"),
    "wrong_phone": N_("a wrong phone number"),
    "wrong_hours": N_("wrong hours"),
    "moved_or_closed": N_("moved or closed"),
    "turned_away": N_("turning people away"),
}
# The choices on the one-tap form, in the reporter's words.
OBSERVED_CHOICES = {
    "full": N_("Full"),
    "fewer_free": N_("Fewer free than listed"),
    "more_free": N_("More free than listed"),
    "closed_now": N_("Closed now"),
    "wrong_phone": N_("Wrong phone"),
    "wrong_hours": N_("Wrong hours"),
    "moved_or_closed": N_("Moved or closed"),
    "turned_away": N_("Turned away for something the listing accepts"),
}
ATTRIBUTE_WORDS = {
    "no_sobriety_requirement": N_("no sobriety requirement"),
    "accepts_active_use": N_("accepts people actively using"),
    "accepts_sex_workers": N_("accepts people involved in sex work"),
    "no_id_required": N_("no ID required"),
    "criminal_record_ok": N_("criminal records OK"),
    "housing_first": N_("Housing First (no treatment precondition)"),
    "pets_allowed": N_("pets allowed"),
    "partners_allowed": N_("partners allowed"),
    "wheelchair_accessible": N_("wheelchair accessible"),
}
ROLE_WORDS = {
    "case_manager": N_("a case manager"),
    "peer_outreach": N_("a peer outreach worker"),
    "admin": N_("an admin"),
    "provider": N_("the provider"),
    "project_manager": N_("the project manager"),
}


@dataclass(frozen=True)
class ReportRequest:
    """A report as the form or the API gave it, shapes checked (the service's own rules come later)."""

    observed: str
    correct_phone: str | None = None
    attribute: str | None = None
    referral_id: int | None = None
    note: str | None = None


def listed_attributes(service: Service) -> list[str]:
    """The attributes the service's listing says it accepts or offers (what a turn-away can name)."""
    return [name for name in LISTED_ATTRIBUTES if getattr(service, name) is True]


def _text(raw: object, field: str, limit: int) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > limit:
        raise ValidationError(
            Words(N_("%(field)s must be text of at most %(limit)s characters"), field=field, limit=limit),
            field,
        )
    return raw.strip() or None


def parse(body: Mapping, json: bool = True) -> ReportRequest:
    """Validate a report's fields (unknown fields refused in the API); 400 naming the field."""
    if json:
        unknown = sorted(set(body) - FIELDS)
        if unknown:
            raise ValidationError(Words(N_("unknown field %(value)r"), value=unknown[0]), unknown[0][:100])
    observed = body.get("observed")
    if observed not in OBSERVED:
        raise ValidationError(
            Words(N_("observed must be one of %(choices)s"), choices=", ".join(OBSERVED)), "observed"
        )
    phone = _text(body.get("correct_phone"), "correct_phone", 40)
    if observed == "wrong_phone":
        digits = sum(ch.isdigit() for ch in phone or "")
        if phone is None or not PHONE.match(phone) or digits < 7:
            raise ValidationError(
                Words(N_("give the correct phone number (digits, at least 7)")), "correct_phone"
            )
    else:
        phone = None
    attribute = _text(body.get("attribute"), "attribute", 40)
    if observed == "turned_away":
        if attribute not in LISTED_ATTRIBUTES:
            raise ValidationError(
                Words(N_("name what the listing says it accepts that was not honoured")), "attribute"
            )
    else:
        attribute = None
    referral_id = body.get("referral_id")
    if referral_id in (None, ""):
        referral_id = None
    elif (
        isinstance(referral_id, str)
        and referral_id.isascii()
        and referral_id.isdigit()
        and len(referral_id) < 13
    ):
        referral_id = int(referral_id)
    elif isinstance(referral_id, bool) or not isinstance(referral_id, int) or referral_id < 1:
        raise ValidationError(Words(N_("referral_id must be a positive integer")), "referral_id")
    note = _text(body.get("note"), "note", MAX_NOTE)
    if note is not None:
        note = screen_free_text(note, "note")
    return ReportRequest(observed, phone, attribute, referral_id, note)


def said_free(numbers: cap.Numbers | None, now: datetime, freshness_hours: Mapping[str, float]) -> bool:
    """Whether the provider's numbers (standing reports aside) said a unit was free: fresh, known, and a
    LEAD-funded or a general unit unused and unheld."""
    if numbers is None or numbers.available is None or numbers.waitlist is None:
        return False
    if cap.is_stale(numbers, now, freshness_hours):
        return False
    return numbers.lead_free > 0 or (numbers.physically_free or 0) > 0


def project_managers(session: Session) -> list[int]:
    """The active project manager accounts."""
    return list(session.scalars(select(User.id).where(User.role == "project_manager", User.active.is_(True))))


def _referral(session: Session, actor: Actor, service: Service, referral_id: int | None) -> Referral | None:
    from .referrals import can_view

    if referral_id is None:
        return None
    referral = session.get(Referral, referral_id)
    if referral is None or not can_view(actor, referral):
        raise ValidationError(
            Words(N_("no referral %(referral_id)s of yours"), referral_id=referral_id), "referral_id"
        )
    if referral.service_id != service.id:
        raise ValidationError(Words(N_("that referral is to another service")), "referral_id")
    return referral


@writes
def file_report(
    session: Session, actor: Actor, service: Service, request: ReportRequest, now: datetime, site: SiteConfig
) -> CapacityReport:
    """Record a field report ("full" / "fewer free" against free-looking numbers: unverified)."""
    if actor.role not in REPORTERS:
        raise Forbidden(Words(N_("case managers and peer outreach workers report what they found")))
    if service.status != "active":
        raise NotFound(Words(N_("no service %(id)s"), id=service.id))
    if request.attribute is not None and request.attribute not in listed_attributes(service):
        raise ValidationError(Words(N_("the listing does not say it accepts that")), "attribute")
    referral = _referral(session, actor, service, request.referral_id)
    row = session.execute(
        select(ServiceCapacity)
        .where(ServiceCapacity.service_id == service.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    return _record(session, actor, service, row, request, referral, now, site)


def _record(
    session: Session,
    actor: Actor,
    service: Service,
    row,
    request: ReportRequest,
    referral: Referral | None,
    now: datetime,
    site: SiteConfig,
) -> CapacityReport:
    numbers = cap.Numbers.of(row) if row is not None else None
    free = said_free(numbers, now, site.freshness_hours)
    report = CapacityReport(
        service_id=service.id,
        referral_id=referral.id if referral is not None else None,
        reported_by=actor.id,
        reporter_role=actor.role,
        source="field",
        at=now,
        observed=request.observed,
        correct_phone=request.correct_phone,
        attribute=request.attribute,
        note=request.note,
        said_free=free,
        capacity_snapshot=snapshot(row) if row is not None else None,
    )
    session.add(report)
    if row is not None and free and request.observed in AGAINST_FREE:
        row.reported_at = now if row.reported_at is None else max(row.reported_at, now)
    session.flush()
    audit.append(
        session,
        actor.id,
        "capacity.report",
        "service",
        service.id,
        {
            "report_id": report.id,
            "source": "field",
            "observed": report.observed,
            "said_free": free,
            "unverified": bool(free and request.observed in AGAINST_FREE and row is not None),
            "referral_id": report.referral_id,
            "attribute": report.attribute,
            "correct_phone": report.correct_phone,
            "note_sha256": audit.text_hash(report.note),
            "capacity": report.capacity_snapshot,
        },
        now,
    )
    _tell(session, service, row, report, referral, now, site)
    return report


def _tell(session: Session, service: Service, row, report: CapacityReport, referral, now, site) -> None:
    """The provider, asked to confirm or correct in one tap; the project managers for LEAD-funded units."""
    what = describe(report, now)
    confirm_link_id = None
    if row is not None and row.available is not None:
        window = timedelta(hours=site.freshness_hours[row.unit_id])
        link = ConfirmLink(
            service_id=service.id,
            nonce=secrets.token_urlsafe(24),
            reminder_key=f"report:{report.id}",
            created_at=now,
            expires_at=now + window,
        )
        session.add(link)
        session.flush()
        confirm_link_id = link.id
    said = Words(N_("%(service)s was %(what)s."), service=service.name, what=what)
    if report.correct_phone:
        said = Words(
            N_("%(said)s The correct number may be %(phone)s."), said=said, phone=report.correct_phone
        )
    if report.observed in AGAINST_FREE and report.said_free:
        body = Words(
            N_(
                "%(said)s Confirm your numbers are still correct in one tap, or correct them; case managers "
                "see them as unverified until you do."
            ),
            said=said,
        )
    else:
        body = Words(N_("%(said)s Confirm your numbers and listing, or correct them."), said=said)
    notify(
        session,
        organization_staff(session, service.organization_id),
        "capacity_report",
        Words(
            N_("Reported %(what)s: %(service)s"),
            what=Words(OBSERVED_WORDS[report.observed]),
            service=service.name,
        ),
        body,
        now,
        link=f"/provider/services/{service.id}",
        confirm_link_id=confirm_link_id,
    )
    lead = (row is not None and row.lead_funded_maximum > 0) or (
        referral is not None and referral.hold == "lead"
    )
    if lead:
        notify(
            session,
            project_managers(session),
            "capacity_report_lead",
            Words(N_("Field report on LEAD-funded units: %(service)s"), service=service.name),
            Words(N_("%(service)s (LEAD-funded units) was %(what)s."), service=service.name, what=what),
            now,
            link=f"/services/{service.id}",
        )


def record_decline(session: Session, referral: Referral, row, now: datetime) -> None:
    """A provider's decline for "no capacity" after a check that said free counts as a "full" report."""
    if referral.classification not in (cap.LEAD_FUNDED, cap.SPARE_CAPACITY) or row is None:
        return
    report = CapacityReport(
        service_id=referral.service_id,
        referral_id=referral.id,
        reported_by=None,
        reporter_role="provider",
        source="decline",
        at=now,
        observed="full",
        said_free=True,
        capacity_snapshot=snapshot(row),
    )
    session.add(report)
    row.reported_at = now if row.reported_at is None else max(row.reported_at, now)
    session.flush()
    audit.append(
        session,
        None,
        "capacity.report",
        "service",
        referral.service_id,
        {
            "report_id": report.id,
            "source": "decline",
            "observed": "full",
            "said_free": True,
            "unverified": True,
            "referral_id": referral.id,
            "capacity": report.capacity_snapshot,
        },
        now,
    )
    service = referral.service
    notify(
        session,
        organization_staff(session, service.organization_id),
        "capacity_report",
        Words(N_("Numbers unverified after a decline: %(service)s"), service=service.name),
        Words(
            N_(
                "A referral to %(service)s was declined for no capacity while the numbers said a unit was "
                "free. Correct the numbers, or confirm them; case managers see them as unverified until "
                "you do."
            ),
            service=service.name,
        ),
        now,
        link=f"/provider/services/{service.id}",
    )


def resolve_open(
    session: Session, service_id: int, user_id: int | None, resolution: str, now: datetime
) -> int:
    """The provider confirmed or corrected: every open report on the service is answered. Returns how many."""
    reports = session.scalars(
        select(CapacityReport).where(
            CapacityReport.service_id == service_id, CapacityReport.resolved_at.is_(None)
        )
    ).all()
    for report in reports:
        report.resolved_at = now
        report.resolved_by = user_id
        report.resolution = resolution
    return len(reports)


def report_window(report: CapacityReport, service: Service, site: SiteConfig) -> timedelta:
    """How long an unanswered report stands: the numbers' freshness window, or a week for untracked ones."""
    row = service.capacity
    return timedelta(hours=site.freshness_hours[row.unit_id]) if row is not None else UNTRACKED_WINDOW


def open_reports(
    session: Session, service_ids: Iterable[int], now: datetime, site: SiteConfig
) -> dict[int, list[CapacityReport]]:
    """Unanswered reports still standing, newest first, by service (for staff pages)."""
    ids = list(service_ids)
    if not ids:
        return {}
    oldest = now - max([timedelta(hours=h) for h in site.freshness_hours.values()] + [UNTRACKED_WINDOW])
    reports = session.scalars(
        select(CapacityReport)
        .where(
            CapacityReport.service_id.in_(ids),
            CapacityReport.resolved_at.is_(None),
            CapacityReport.at >= oldest,
        )
        .order_by(CapacityReport.at.desc(), CapacityReport.id.desc())
    ).all()
    found: dict[int, list[CapacityReport]] = {}
    for report in reports:
        if now - report.at <= report_window(report, report.service, site):
            found.setdefault(report.service_id, []).append(report)
    return found


def age_words(moment: datetime, now: datetime) -> Words:
    """An age in words ("12 min ago")."""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 90:
        return Words(N_("just now"))
    minutes = seconds // 60
    if minutes < 90:
        return Words(N_("%(minutes)s min ago"), minutes=minutes)
    hours = minutes // 60
    if hours < 48:
        return Words(N_("%(hours)s h ago"), hours=hours)
    return Words(N_("%(days)s days ago"), days=hours // 24)


def describe(report: CapacityReport, now: datetime) -> Words:
    """What staff read: "reported full 12 min ago by a case manager" (never who)."""
    what = Words(OBSERVED_WORDS[report.observed])
    if report.observed == "turned_away" and report.attribute:
        what = Words(
            N_("%(what)s despite listing “%(attribute)s”"),
            what=what,
            attribute=Words(ATTRIBUTE_WORDS[report.attribute]),
        )
    age = age_words(report.at, now)
    if report.source == "decline":
        return Words(N_("reported full %(age)s (a referral declined for no capacity)"), age=age)
    who = Words(ROLE_WORDS.get(report.reporter_role, N_("staff")))
    return Words(N_("reported %(what)s %(age)s by %(who)s"), what=what, age=age, who=who)


def report_dict(report: CapacityReport, now: datetime) -> dict:
    """A report as the API answers it (to staff)."""
    return {
        "id": report.id,
        "service_id": report.service_id,
        "referral_id": report.referral_id,
        "observed": report.observed,
        "correct_phone": report.correct_phone,
        "attribute": report.attribute,
        "note": report.note,
        "at": report.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reporter_role": report.reporter_role,
        "source": report.source,
        "said_free": report.said_free,
        "unverified": report.said_free and report.observed in AGAINST_FREE,
        "resolution": report.resolution,
        "summary": describe(report, now),
    }
