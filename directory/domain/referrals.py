"""Referrals under the non-displacement rule: check, act (claim, join the waitlist, override, request),
and the lifecycle (accept, decline, cancel, expire) with what each does to the counts (domain.md).

The check that decides a claim and the claim itself happen in one transaction on a locked capacity row
(SQLite: the write lock taken by BEGIN IMMEDIATE; PostgreSQL: SELECT ... FOR UPDATE).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..config import SiteConfig
from ..database import writes
from ..models import (
    DECLINE_REASONS,
    PROVIDER_DECLINE_REASONS,
    REASON_CODES,
    Goal,
    Location,
    Participant,
    Referral,
    ReferralAlternative,
    ReferralCheck,
    ReferralEvent,
    Service,
    ServiceCapacity,
    service_at_location,
)
from ..words import N_, Words
from . import audit, consent, field_reports, holds, intake, keys, one_hold
from . import capacity as cap
from .access import REFERRERS, Actor
from .capacity_updates import mark_holds_at_risk, snapshot
from .errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from .geo import bounding_box, geodesic_km
from .local_time import Moment, moment_text, plain
from .notifications import notify, organization_staff
from .participants import owner_of, screen_free_text

ACTIONS_BY_CLASSIFICATION = {
    cap.OPEN_ACCESS: ("request",),
    cap.UNVERIFIED: ("request",),
    cap.COORDINATED_ENTRY: ("request",),
    cap.LEAD_FUNDED: ("claim",),
    cap.SPARE_CAPACITY: ("claim",),
    cap.DISPLACEMENT: ("join_waitlist", "override"),
    cap.FULL: ("join_waitlist",),
}
OPEN_STATES = ("held", "requested", "waitlisted")
ALTERNATIVE_RADIUS_KM = 10.0
MAX_ALTERNATIVES = 5
MIN_JUSTIFICATION = 20
RECENT_CHECK = timedelta(hours=1)
MAX_TEXT = 2000
REQUEST_EXPIRY_DAYS = 14
WAITLIST_EXPIRY_DAYS = 60


class StaleCheck(Conflict):
    """The classification changed (or does not allow the action): 409 with the fresh check."""

    code = "classification_changed"

    def __init__(self, message: str, check: CheckResult, field: str = "action"):
        super().__init__(message, field)
        self.check = check


class SecondHold(StaleCheck):
    """A second hold at the same level of care without an explicit choice: 409 with the fresh check."""

    code = "second_hold"

    def __init__(self, message: str, check: CheckResult):
        super().__init__(message, check, "release_referral_ids")


@dataclass
class Alternative:
    """A service the participant could go to now instead."""

    service: Service
    classification: str
    distance_km: float | None
    theirs: Referral | None = None  # the participant's own open referral there: not offered as new
    # The participant's languages offered there only through an interpreter on request (not by staff).
    interpreter: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    """What a case manager sees before referring."""

    service: Service
    classification: str
    would_displace: int
    actions: list[str]
    reasons: list[Words]
    capacity: dict | None
    alternatives: list[Alternative] = field(default_factory=list)
    check_id: int | None = None
    consent: consent.Consent | None = None
    # The participant's open referrals in the same IIP domain (one hold per need), and those of them that
    # hold a unit at this service's level of care when acting here would hold one too (a choice is needed).
    participant_holds: list[Referral] = field(default_factory=list)
    same_level_holds: list[Referral] = field(default_factory=list)


def allowed_actions(classification: str, actor: Actor) -> list[str]:
    """The actions a classification allows, narrowed by role (peer outreach: requests only)."""
    actions = list(ACTIONS_BY_CLASSIFICATION[classification])
    if actor.role == "peer_outreach":
        actions = [a for a in actions if a == "request"]
    elif actor.role not in ("case_manager", "admin"):
        actions = []
    return actions


UNIT_WORDS = {  # (one, many): the check's sentences count units in these words
    "shelter_bed": (N_("%(count)s shelter bed"), N_("%(count)s shelter beds")),
    "bed": (N_("%(count)s bed"), N_("%(count)s beds")),
    "unit": (N_("%(count)s housing unit"), N_("%(count)s housing units")),
    "slot": (N_("%(count)s slot"), N_("%(count)s slots")),
    "appointment": (N_("%(count)s appointment"), N_("%(count)s appointments")),
}
UNIT_NOUNS = {  # (one, many): the unit alone, after a count already said
    "shelter_bed": (N_("shelter bed"), N_("shelter beds")),
    "bed": (N_("bed"), N_("beds")),
    "unit": (N_("housing unit"), N_("housing units")),
    "slot": (N_("slot"), N_("slots")),
    "appointment": (N_("appointment"), N_("appointments")),
}
UNVERIFIED_WHY = {
    "never": N_("the provider has never confirmed its numbers"),
    "waitlist": N_("the size of the waitlist is unknown"),
    "reported": N_("someone who called or went there found fewer free than the numbers say"),
    "stale": N_("the numbers are older than their freshness window"),
}


def _unit_words(unit: str, count: int) -> Words:
    one, many = UNIT_WORDS.get(unit, (N_("%(count)s unit"), N_("%(count)s units")))
    return Words(one if count == 1 else many, count=count)


def explain(
    classification: str, numbers: cap.Numbers | None, coordinated_entry: bool
) -> tuple[int, list[Words]]:
    """(would_displace, plain sentences) for a classification (Words: English in the API, the reader's
    language on a page)."""
    if classification == cap.OPEN_ACCESS:
        return 0, [
            Words(
                N_(
                    "Open access: this service does not track capacity. Nothing is held; send a request "
                    "or go."
                )
            )
        ]
    assert numbers is not None
    if classification == cap.UNVERIFIED:
        if numbers.confirmed_at is None or numbers.available is None:
            why = UNVERIFIED_WHY["never"]
        elif numbers.waitlist is None:
            why = UNVERIFIED_WHY["waitlist"]
        elif numbers.reported_at is not None and numbers.reported_at > numbers.confirmed_at:
            why = UNVERIFIED_WHY["reported"]
        else:
            why = UNVERIFIED_WHY["stale"]
        return 0, [
            Words(
                N_(
                    "Unverified: %(why)s. Call the provider; the referral goes as a request and holds "
                    "nothing."
                ),
                why=Words(why),
            )
        ]
    if classification == cap.LEAD_FUNDED:
        return 0, [
            Words(
                N_(
                    "Uses 1 of %(free)s free LEAD-funded %(noun)s (%(bought)s purchased): LEAD capacity "
                    "is an "
                    "addition, nobody is displaced."
                ),
                free=numbers.lead_free,
                noun=Words(UNIT_NOUNS.get(numbers.unit, (N_("unit"), N_("units")))[numbers.lead_free != 1]),
                bought=numbers.lead_funded_maximum,
            )
        ]
    if classification == cap.COORDINATED_ENTRY:
        return 0, [
            Words(
                N_(
                    "Coordinated entry: this program fills its general units only from the community's "
                    "prioritized list. The referral goes as a request to that list; nothing is held and "
                    "nobody "
                    "is passed."
                )
            )
        ]
    if classification == cap.SPARE_CAPACITY:
        return 0, [
            Words(
                N_(
                    "Uses 1 of %(units)s that nobody on the waitlist wants (%(free)s free, %(held)s held, "
                    "%(waiting)s waiting)."
                ),
                units=_unit_words(numbers.unit, numbers.spare),
                free=numbers.available,
                held=numbers.held_general,
                waiting=numbers.waitlist,
            )
        ]
    if classification == cap.DISPLACEMENT:
        people = cap.would_displace(classification, numbers)
        delay = (
            N_(
                "Would delay the %(people)s person on this program's waitlist: placing the participant now, "
                "or ahead of the line, pushes them back."
            )
            if people == 1
            else N_(
                "Would delay the %(people)s people on this program's waitlist: placing the participant now, "
                "or ahead of the line, pushes them back."
            )
        )
        return people, [
            Words(delay, people=people),
            Words(
                N_("Join the waitlist in its own order, choose an alternative, or override with a reason.")
            ),
        ]
    return 0, [
        Words(N_("Full: no unit is free and nobody is waiting. Join the waitlist or choose an alternative."))
    ]


def _service_point(service: Service) -> tuple[float, float] | None:
    for location in sorted(service.locations, key=lambda loc: loc.id):
        if location.latitude is not None and not location.confidential:
            return location.latitude, location.longitude
    return None


def interpreter_only(service: Service, needs: dict) -> list[str]:
    """The participant's languages that the service offers only through an interpreter on request, when its
    staff speak none of them (empty when staff speak one, or the service lists no languages)."""
    wanted = set(needs.get("languages") or ())
    by_staff = {lang.code for lang in service.languages if lang.access == "staff"}
    if not wanted or wanted & by_staff:
        return []
    return sorted(lang.code for lang in service.languages if lang.code in wanted)


def compatible(service: Service, needs: dict) -> bool:
    """Whether a service fits the participant's stated needs. A language offered through an interpreter on
    request fits (the check says so: see interpreter_only)."""
    if needs.get("languages"):
        offered = {lang.code for lang in service.languages}
        if offered and not offered & set(needs["languages"]):
            return False
    if needs.get("populations"):
        served = {p.code for p in service.populations}
        if served and not served & set(needs["populations"]):
            return False
    if needs.get("low_barrier") and not service.low_barrier:
        return False
    if needs.get("housing_first") and service.primary_domain == "housing" and not service.housing_first:
        return False
    for flag in ("accepts_active_use", "no_id_required", "trauma_informed", "peer_run"):
        if needs.get(flag) and not getattr(service, flag):
            return False
    return True


def find_alternatives(
    session: Session,
    service: Service,
    origin: tuple[float, float] | None,
    needs: dict,
    now: datetime,
    site: SiteConfig,
    radius_km: float = ALTERNATIVE_RADIUS_KM,
) -> list[Alternative]:
    """Same-domain, compatible services that can take the participant now, nearest first (at most 5)."""
    if origin is None:
        return []
    south, north, west, east = bounding_box(origin[0], origin[1], radius_km)
    capacity = ServiceCapacity.__table__
    status = cap.status_sql(capacity, Service.coordinated_entry, now, site.freshness_hours)
    rows = session.execute(
        select(Service.id, status, Location.latitude, Location.longitude)
        .join(service_at_location, service_at_location.c.service_id == Service.id)
        .join(Location, Location.id == service_at_location.c.location_id)
        .outerjoin(capacity, capacity.c.service_id == Service.id)
        .where(
            Service.primary_domain == service.primary_domain,
            Service.status == "active",
            Service.id != service.id,
            Location.confidential.is_(False),
            Location.latitude.between(south, north),
            Location.longitude.between(west, east),
            status.in_(cap.AVAILABLE_NOW),
        )
    ).all()
    best: dict[int, tuple[float, str]] = {}
    for service_id, classification, lat, lon in rows:
        distance = geodesic_km(origin[0], origin[1], lat, lon)
        if distance <= radius_km and (service_id not in best or distance < best[service_id][0]):
            best[service_id] = (distance, classification)
    ranked = sorted(best.items(), key=lambda item: (item[1][0], item[0]))
    alternatives = []
    if not ranked:
        return alternatives
    services = {
        s.id: s for s in session.scalars(select(Service).where(Service.id.in_([sid for sid, _ in ranked])))
    }
    for service_id, (distance, classification) in ranked:
        candidate = services[service_id]
        if compatible(candidate, needs):
            interpreter = interpreter_only(candidate, needs)
            alternatives.append(Alternative(candidate, classification, distance, interpreter=interpreter))
        if len(alternatives) == MAX_ALTERNATIVES:
            break
    return alternatives


def _origin(participant: Participant | None, near: tuple[float, float] | None, service: Service):
    if near is not None:
        return near
    if participant is not None and participant.latitude_e2 is not None:
        return participant.latitude, participant.longitude
    return _service_point(service)


def _classify_row(service: Service, row: ServiceCapacity | None, now: datetime, site: SiteConfig):
    numbers = cap.Numbers.of(row) if row is not None else None
    return numbers, cap.classify(numbers, service.coordinated_entry, now, site.freshness_hours)


def load_service(session: Session, service_id: object) -> Service:
    """An active service, or NotFound (the id must be a positive integer)."""
    if isinstance(service_id, bool) or not isinstance(service_id, int) or service_id < 1:
        raise ValidationError(Words(N_("service_id must be a positive integer")), "service_id")
    service = session.get(Service, service_id)
    if service is None or service.status != "active":
        raise NotFound(Words(N_("no service %(service_id)s"), service_id=service_id))
    return service


def check(
    session: Session,
    actor: Actor,
    service: Service,
    participant: Participant | None,
    now: datetime,
    site: SiteConfig,
    near: tuple[float, float] | None = None,
    record: bool = True,
) -> CheckResult:
    """Classify placing the participant in the service now, explain it, offer alternatives, record it."""
    origin = _origin(participant, near, service)
    result = _evaluate(session, actor, service, service.capacity, participant, origin, now, site)
    if record:
        record_check(session, actor, service, participant, result, now)
    return result


def _locked_check(
    session: Session,
    actor: Actor,
    service: Service,
    participant: Participant,
    now: datetime,
    site: SiteConfig,
) -> CheckResult:
    """The check on the capacity row locked for this transaction (what a referral acts on)."""
    row = session.execute(
        select(ServiceCapacity)
        .where(ServiceCapacity.service_id == service.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    origin = _origin(participant, None, service)
    return _evaluate(session, actor, service, row, participant, origin, now, site)


def _evaluate(
    session: Session,
    actor: Actor,
    service: Service,
    row: ServiceCapacity | None,
    participant: Participant | None,
    origin,
    now: datetime,
    site: SiteConfig,
) -> CheckResult:
    """Classify, explain and find alternatives for one capacity row (or none: open access)."""
    numbers, classification = _classify_row(service, row, now, site)
    would_displace, reasons = explain(classification, numbers, service.coordinated_entry)
    needs = participant.needs if participant is not None else {}
    alternatives: list[Alternative] = []
    if row is not None and {"claim", "override"} & set(ACTIONS_BY_CLASSIFICATION[classification]):
        reasons += _intake_sentences(service, row.unit_id, now, site)
    if classification == cap.UNVERIFIED:
        reasons += _report_sentences(session, service, now, site)
    every = one_hold.participant_holds(session, participant, service.primary_domain)
    mine = [r for r in every if can_view(actor, r)]  # a peer sees only the referrals they made
    if classification not in cap.AVAILABLE_NOW:
        alternatives = _mark_theirs(find_alternatives(session, service, origin, needs, now, site), mine)
        new = [a for a in alternatives if a.theirs is None]
        if new:
            reasons.append(
                Words(N_("%(count)s alternative(s) nearby can take the participant now."), count=len(new))
            )
        else:
            reasons.append(
                Words(N_("No alternative in this domain within 10 km can take the participant now."))
            )
        if len(new) < len(alternatives):
            reasons.append(
                Words(N_("The participant already has a referral at an alternative: marked as theirs."))
            )
    if spoken_through := interpreter_only(service, needs):
        names = ", ".join(lang.name for lang in service.languages if lang.code in spoken_through)
        reasons.append(
            Words(
                N_("%(languages)s: interpreter on request here; the staff do not speak it."), languages=names
            )
        )
    consented = consent.consent_for(session, participant, service, now.date())
    if consented.sentence:
        reasons.append(consented.sentence)
    actions = allowed_actions(classification, actor)
    same_level = _same_level_if_holding(every, service, row, actions)
    if same_level:
        reasons.append(
            Words(
                N_(
                    "The participant already holds a unit at this level of care: release it, or keep "
                    "both with "
                    "a reason (at most two)."
                )
            )
        )
    return CheckResult(
        service=service,
        classification=classification,
        would_displace=would_displace,
        actions=actions,
        reasons=reasons,
        capacity=snapshot(row) if row is not None else None,
        alternatives=alternatives,
        consent=consented,
        participant_holds=mine,
        same_level_holds=same_level,
    )


def _report_sentences(session: Session, service: Service, now: datetime, site: SiteConfig) -> list[Words]:
    """Staff read the latest standing field report beside the numbers (who reported: never)."""
    reports = field_reports.open_reports(session, [service.id], now, site).get(service.id, [])
    against = [r for r in reports if r.observed in field_reports.AGAINST_FREE and r.said_free]
    if not against:
        return []
    described = field_reports.describe(against[0], now)
    return [Words(N_("%(report)s: call the provider first."), report=described[:1].upper() + described[1:])]


def _mark_theirs(alternatives: list[Alternative], mine: list[Referral]) -> list[Alternative]:
    """An alternative where the participant already has an open referral is theirs, not a new offer."""
    by_service = {r.service_id: r for r in mine}
    for alternative in alternatives:
        alternative.theirs = by_service.get(alternative.service.id)
    return alternatives


def _same_level_if_holding(
    mine: list[Referral], service: Service, row: ServiceCapacity | None, actions: list[str]
) -> list[Referral]:
    """The participant's holds at this level of care, when an action here would hold a unit too."""
    if row is None or not mine:
        return []
    counts = holds.Counts.of(row)
    if not any(holds.claim(counts, action).state == "held" for action in actions):
        return []
    return one_hold.held_at_level(mine, service)


@writes
def record_check(
    session: Session,
    actor: Actor,
    service: Service,
    participant: Participant | None,
    result: CheckResult,
    now: datetime,
) -> None:
    """Keep a check for the unmet-need audit (sets result.check_id)."""
    needs = participant.needs if participant is not None else {}
    location = next((loc for loc in sorted(service.locations, key=lambda x: x.id)), None)
    recorded = ReferralCheck(
        at=now,
        user_id=actor.id,
        service_id=service.id,
        participant_id=participant.id if participant else None,
        domain=service.primary_domain,
        classification=result.classification,
        would_displace=result.would_displace,
        capacity_snapshot=result.capacity,
        alternatives=[
            {
                "service_id": a.service.id,
                "classification": a.classification,
                "distance_km": None if a.distance_km is None else round(a.distance_km, 3),
                "theirs": a.theirs is not None,
            }
            for a in result.alternatives
        ],
        unmet=result.classification not in cap.AVAILABLE_NOW and not result.alternatives,
        neighborhood_id=location.neighborhood_id if location else None,
        language=(needs.get("languages") or [None])[0],
        population=(needs.get("populations") or [None])[0],
        radius_km=ALTERNATIVE_RADIUS_KM,
    )
    session.add(recorded)
    session.flush()
    result.check_id = recorded.id


def _intake_sentences(service: Service, unit: str, now: datetime, site: SiteConfig) -> list[Words]:
    """What a hold made now means for intake: it ends when intake closes, intake opens only after it ends, or
    the intake times cannot be read (nothing is guessed from them)."""
    hours = site.hold_hours.get(unit)
    if not (service.intake_times or "").strip() or hours is None:
        return []
    windows = intake.intake_windows(service.intake_times)  # read once: both the sentence and the end need it
    if windows is None:
        return [
            Words(
                N_(
                    "Intake times as the provider wrote them: %(times)s. A hold lasts %(hours)s hours: check "
                    "with the provider that the participant can get in by then."
                ),
                times=service.intake_times.strip(),
                hours=format(hours, "g"),
            )
        ]
    end = intake.hold_end(now, now + timedelta(hours=hours), windows, site.time_zone)
    moment = plain(moment_text(end.at, site.time_zone))
    if end.intake_closes:
        return [
            Words(
                N_("A hold made now ends at %(moment)s, when intake closes (%(times)s)."),
                moment=moment,
                times=service.intake_times.strip(),
            )
        ]
    if end.next_intake is not None:
        opens = plain(moment_text(end.next_intake, site.time_zone))
        return [
            Words(
                N_(
                    "Intake next opens at %(opens)s, after a hold made now would end (%(moment)s): call the "
                    "provider to keep the place."
                ),
                opens=opens,
                moment=moment,
            )
        ]
    return []


def _expiry(state: str, service: Service, unit: str | None, now: datetime, site: SiteConfig) -> datetime:
    if state == "held":
        # A hold ends when intake closes if that comes first: a bed held past intake cannot be taken up.
        end = intake.hold_end_for(service, unit, now, site)
        return end.at if end is not None else now + timedelta(hours=site.hold_hours[unit])
    if state == "waitlisted":
        return now + timedelta(days=WAITLIST_EXPIRY_DAYS)
    return now + timedelta(days=REQUEST_EXPIRY_DAYS)


def _validate_override(reason_code: object, justification: object) -> tuple[str, str]:
    if reason_code not in REASON_CODES:
        raise ValidationError(
            Words(N_("an override needs a reason_code: one of %(choices)s"), choices=", ".join(REASON_CODES)),
            "reason_code",
        )
    if not isinstance(justification, str) or len(justification.strip()) < MIN_JUSTIFICATION:
        raise ValidationError(
            Words(
                N_("an override needs a justification of at least %(min_justification)s characters"),
                min_justification=MIN_JUSTIFICATION,
            ),
            "justification",
        )
    if len(justification) > MAX_TEXT:
        raise ValidationError(
            Words(N_("the justification has at most %(max_text)s characters"), max_text=MAX_TEXT),
            "justification",
        )
    return reason_code, screen_free_text(justification.strip(), "justification")


def find_by_key(session: Session, actor: Actor, key: str) -> Referral | None:
    """The referral this actor already made with this idempotency key, if any."""
    return session.scalar(
        select(Referral).where(Referral.created_by == actor.id, Referral.idempotency_key == key)
    )


@dataclass(frozen=True)
class ReferralRequest:
    """What a referral asks for, parsed once from the form or the API (referral_requests.py)."""

    action: object
    service_id: object = None
    participant_code: object = None
    reason_code: object = None
    justification: object = None
    goal_id: object = None
    expected_classification: object = None
    idempotency_key: str | None = None
    rejected_alternatives: dict[int, str] = field(default_factory=dict)
    decline_reason: object = None  # the participant's own reason for declining the alternatives offered
    decline_reason_required: bool = False
    release_referral_ids: tuple[int, ...] = ()  # the participant's holds at this level of care to release
    keep_both_reason: str | None = None  # or why a second hold at this level is kept beside the first


def _validated(actor: Actor, request: ReferralRequest) -> tuple[str | None, str | None]:
    """Check the request against the actor's role; returns the override's (reason code, justification)."""
    if request.action not in cap.ACTIONS:
        raise ValidationError(
            Words(N_("action must be one of %(choices)s"), choices=", ".join(cap.ACTIONS)), "action"
        )
    if actor.role == "peer_outreach" and request.action != "request":
        raise Forbidden(
            Words(N_("peer outreach workers send requests; claims and overrides are for case managers"))
        )
    if actor.role not in REFERRERS:
        raise Forbidden(Words(N_("only case managers and peer outreach workers refer")))
    expected = request.expected_classification
    if expected is not None and expected not in cap.CLASSIFICATIONS:
        raise ValidationError(
            Words(N_("expected_classification is not a classification")), "expected_classification"
        )
    for service_id, reason in request.rejected_alternatives.items():
        if reason not in REASON_CODES:
            raise ValidationError(
                Words(
                    N_("unknown reason %(reason)r for alternative %(service_id)s"),
                    reason=reason,
                    service_id=service_id,
                ),
                "alternatives",
            )
    if request.decline_reason is not None and request.decline_reason not in DECLINE_REASONS:
        raise ValidationError(
            Words(N_("decline_reason must be one of %(choices)s"), choices=", ".join(DECLINE_REASONS)),
            "decline_reason",
        )
    if request.action == "override":
        return _validate_override(request.reason_code, request.justification)
    return None, None


def _recheck(session: Session, actor: Actor, service: Service, participant: Participant, now, site):
    """The check under the capacity lock; the case manager's recent identical check is the one answered."""
    fresh = _locked_check(session, actor, service, participant, now, site)
    # The check the case manager just looked at, if it still says the same, is the one this referral
    # answers; otherwise this is a new observation and is recorded as such (once, for the audit).
    recent = session.scalar(
        select(ReferralCheck)
        .where(
            ReferralCheck.user_id == actor.id,
            ReferralCheck.participant_id == participant.id,
            ReferralCheck.service_id == service.id,
            ReferralCheck.at >= now - RECENT_CHECK,
            ReferralCheck.classification == fresh.classification,
        )
        .order_by(ReferralCheck.at.desc(), ReferralCheck.id.desc())
        .limit(1)
    )
    if recent is not None:
        fresh.check_id = recent.id
    else:
        record_check(session, actor, service, participant, fresh, now)
    return fresh


@writes
def create_referral(
    session: Session,
    actor: Actor,
    service: Service,
    participant: Participant,
    request: ReferralRequest,
    now: datetime,
    site: SiteConfig,
    goal: Goal | None = None,
) -> Referral:
    """Refer the participant: re-check on the locked capacity row, then act. 409 if the rule forbids it."""
    action = request.action
    reason_code, justification = _validated(actor, request)
    if goal is not None and goal.participant_id != participant.id:
        raise ValidationError(Words(N_("that goal belongs to another participant")), "goal_id")
    if request.release_referral_ids:
        # Every capacity row this referral changes, locked in service-id order before any of them (two
        # claims releasing each other's services must not deadlock).
        released_at = session.scalars(
            select(Referral.service_id).where(Referral.id.in_(request.release_referral_ids))
        ).all()
        one_hold.lock_rows(session, [service.id, *released_at])
    fresh = _recheck(session, actor, service, participant, now, site)
    expected_classification = request.expected_classification
    if expected_classification is not None and expected_classification != fresh.classification:
        raise StaleCheck(
            Words(
                N_("the classification is now %(classification)s, not %(expected_classification)s"),
                classification=fresh.classification,
                expected_classification=expected_classification,
            ),
            fresh,
        )
    if action not in ACTIONS_BY_CLASSIFICATION[fresh.classification]:
        raise StaleCheck(
            Words(
                N_("%(action)s is not allowed when the classification is %(classification)s"),
                action=action,
                classification=fresh.classification,
            ),
            fresh,
        )
    if request.decline_reason_required and fresh.alternatives and request.decline_reason is None:
        raise ValidationError(
            Words(N_("say why the participant declined the alternatives offered")), "decline_reason"
        )
    row = service.capacity
    will_hold = row is not None and holds.claim(holds.Counts.of(row), action).state == "held"
    choice = one_hold.decide(
        one_hold.held_at_level(
            one_hold.participant_holds(session, participant, service.primary_domain), service
        ),
        will_hold,
        request.release_referral_ids,
        request.keep_both_reason,
    )
    if choice.missing is not None:
        raise SecondHold(choice.missing, fresh)
    for held in choice.release:
        _authorize_transition(actor, held, "cancel")

    # The savepoint begins after the recorded check is flushed: a lost idempotency race (the unique key on
    # the referral) undoes only the claim and the referral, and the transaction stays usable.
    try:
        with session.begin_nested():
            released = one_hold.release(session, choice.release, "released", actor.id, now)
            row = service.capacity
            hold, state = "none", "requested"
            if row is not None:
                placement = holds.claim(holds.Counts.of(row), action)
                placement.counts.store(row)
                hold, state = placement.hold, placement.state

            referral = Referral(
                service_id=service.id,
                participant_id=participant.id,
                goal_id=goal.id if goal else None,
                check_id=fresh.check_id,
                action=action,
                classification=fresh.classification,
                state=state,
                hold=hold,
                would_displace=fresh.would_displace,
                reason_code=reason_code,
                justification=keys.seal(session, participant.id, justification),
                justification_hash=audit.text_hash(justification),
                capacity_snapshot=fresh.capacity,
                created_at=now,
                created_by=actor.id,
                expires_at=one_hold.capped_expiry(
                    _expiry(state, service, row.unit_id if row is not None else None, now, site),
                    choice.keep_both_reason if state == "held" else None,
                    now,
                ),
                keep_both_reason=choice.keep_both_reason if state == "held" else None,
                idempotency_key=request.idempotency_key,
                domain=service.primary_domain,
                alternatives=_offered(fresh.alternatives, request.rejected_alternatives),
                decline_reason=request.decline_reason if fresh.alternatives else None,
            )
            referral.events.append(ReferralEvent(at=now, actor_id=actor.id, from_state=None, to_state=state))
            consent.prepare_referral(session, actor, referral, service, participant, now)
            session.add(referral)
            participant.last_activity_at = now
            session.flush()
    except IntegrityError as exc:
        raise DuplicateKey() from exc
    _announce(session, actor, referral, fresh, row, site)
    one_hold.announce(session, released, actor.id, referral, now)
    return referral


def _offered(alternatives: list[Alternative], rejected: dict[int, str]) -> list[ReferralAlternative]:
    """The alternatives the check offered, kept with the referral, with why each did not fit if given."""
    return [
        ReferralAlternative(
            service_id=alternative.service.id,
            position=position,
            classification=alternative.classification,
            distance_km=None if alternative.distance_km is None else round(alternative.distance_km, 3),
            rejection_reason=rejected.get(alternative.service.id),
            free_units=_free_units(alternative),
        )
        for position, alternative in enumerate(alternatives)
    ]


def _free_units(alternative: Alternative) -> int | None:
    """The LEAD-funded or spare units free at the alternative as the check saw it (None: open access)."""
    row = alternative.service.capacity
    if row is None or alternative.classification == cap.OPEN_ACCESS:
        return None
    numbers = cap.Numbers.of(row)
    return numbers.lead_free if alternative.classification == cap.LEAD_FUNDED else numbers.spare


def _announce(session: Session, actor: Actor, referral: Referral, fresh: CheckResult, row, site: SiteConfig):
    """The new referral's audit event and its notice to the provider's staff (times in the site's zone)."""
    service, now = referral.service, referral.created_at
    audit.append(
        session,
        actor.id,
        f"referral.{referral.action}",
        "referral",
        referral.id,
        {
            "service_id": service.id,
            "participant_id": referral.participant_id,
            "classification": fresh.classification,
            "state": referral.state,
            "hold": referral.hold,
            "would_displace": fresh.would_displace,
            "reason_code": referral.reason_code,
            "justification_sha256": referral.justification_hash,
            "capacity_before": fresh.capacity,
            "capacity_after": snapshot(row) if row is not None else None,
            "alternatives": [a.service.id for a in fresh.alternatives],
            "keep_both_reason": referral.keep_both_reason,
        },
        now,
    )
    arrived = Words(
        N_("A referral (%(action)s) arrived for %(service)s."),
        action=Words(NOTICE_ACTIONS.get(referral.action, referral.action)),
        service=service.name,
    )
    if referral.state == "held":
        arrived = Words(
            N_("%(arrived)s A unit is held until %(moment)s."),
            arrived=arrived,
            moment=Moment(referral.expires_at, site.time_zone),
        )
    notify(
        session,
        organization_staff(session, service.organization_id),
        "referral_new",
        Words(N_("New referral to %(service)s"), service=service.name),
        arrived,
        now,
        link=f"/provider/referrals/{referral.id}",
    )


class DuplicateKey(DomainError):
    """Another request with the same idempotency key won the race: the caller re-reads and returns it."""

    status = 409
    code = "duplicate_idempotency_key"

    def __init__(self):
        super().__init__("a referral with this Idempotency-Key is being created", "Idempotency-Key")


TRANSITIONS = {"accept": "accepted", "decline": "declined", "cancel": "cancelled", "expire": "expired"}
# A notice's words for each end state (its recipient reads them in their own language).
NOTICE_SUBJECTS = {
    "accepted": N_("Referral accepted: %(service)s"),
    "declined": N_("Referral declined: %(service)s"),
    "cancelled": N_("Referral cancelled: %(service)s"),
    "expired": N_("Referral expired: %(service)s"),
}
NOTICE_BODIES = {
    "accepted": N_("Referral %(id)s to %(service)s was accepted."),
    "declined": N_("Referral %(id)s to %(service)s was declined."),
    "cancelled": N_("Referral %(id)s to %(service)s was cancelled."),
    "expired": N_("Referral %(id)s to %(service)s was expired."),
}
NOTICE_ACTIONS = {
    "claim": N_("claim"),
    "join_waitlist": N_("join waitlist"),
    "override": N_("override"),
    "request": N_("request"),
}
MAX_RULE = 300
DECLINE_WORDS = {
    "no_capacity": N_("no capacity"),
    "not_eligible": N_("not eligible"),
    "did_not_arrive": N_("the participant did not arrive"),
    "turned_away": N_("turned away for something the listing says it accepts"),
    "other": N_("another reason"),
}


@dataclass(frozen=True)
class Decline:
    """Why a provider declined: the reason, and which eligibility rule or which listed attribute."""

    reason: str
    rule: str | None = None
    attribute: str | None = None


def parse_decline(service: Service, reason: object, rule: object = None, attribute: object = None) -> Decline:
    """A decline's reason, checked: not eligible names the rule, turned away names a listed attribute."""
    if reason not in PROVIDER_DECLINE_REASONS:
        raise ValidationError(
            Words(
                N_("say why you decline: reason is one of %(choices)s"),
                choices=", ".join(PROVIDER_DECLINE_REASONS),
            ),
            "reason",
        )
    text = None
    if reason == "not_eligible":
        if not isinstance(rule, str) or not rule.strip():
            raise ValidationError(
                Words(N_("say which eligibility rule the participant does not meet")), "rule"
            )
        if len(rule) > MAX_RULE:
            raise ValidationError(
                Words(N_("the rule has at most %(max_rule)s characters"), max_rule=MAX_RULE), "rule"
            )
        text = screen_free_text(rule.strip(), "rule")
    named = None
    if reason == "turned_away":
        if attribute not in field_reports.listed_attributes(service):
            raise ValidationError(
                Words(N_("name what the listing says it accepts that was not honoured")), "attribute"
            )
        named = attribute
    return Decline(reason, text, named)


def decline_words(referral: Referral) -> Words | None:
    """A decline's reason in plain words, for the case manager ("not eligible: minimum age 25")."""
    if referral.closed_reason not in DECLINE_WORDS:
        return None
    words = Words(DECLINE_WORDS[referral.closed_reason])
    if referral.closed_reason == "not_eligible" and referral.closed_rule:
        words = Words(N_("%(why)s: %(rule)s"), why=words, rule=referral.plain_closed_rule)
    if referral.closed_attribute:
        words = Words(
            N_("turned away despite listing “%(attribute)s”"),
            attribute=Words(field_reports.ATTRIBUTE_WORDS[referral.closed_attribute]),
        )
    return words


def load_referral(session: Session, referral_id: object, lock: bool = False) -> Referral:
    """A referral by id (locked for update when asked), or NotFound."""
    if isinstance(referral_id, bool) or not isinstance(referral_id, int) or referral_id < 1:
        raise NotFound(Words(N_("no referral %(referral_id)s"), referral_id=referral_id))
    stmt = select(Referral).where(Referral.id == referral_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    referral = session.scalar(stmt)
    if referral is None:
        raise NotFound(Words(N_("no referral %(referral_id)s"), referral_id=referral_id))
    return referral


def can_view(actor: Actor, referral: Referral) -> bool:
    """Case manager who made it or owns the participant, the provider's staff, or admin / project manager."""
    if actor.role in ("admin", "project_manager"):
        return True
    if actor.role == "provider":
        return referral.service.organization_id == actor.organization_id
    if referral.created_by == actor.id:
        return True
    return actor.id is not None and owner_of(referral) == actor.id


def _authorize_transition(actor: Actor, referral: Referral, verb: str) -> None:
    if actor.role == "system" and verb == "expire":
        return
    if verb in ("accept", "decline"):
        if not (
            actor.is_admin
            or (actor.role == "provider" and referral.service.organization_id == actor.organization_id)
        ):
            raise Forbidden(Words(N_("only the receiving provider accepts or declines a referral")))
    elif verb == "cancel":
        if not (actor.is_admin or actor.id in (referral.created_by, owner_of(referral))):
            raise Forbidden(Words(N_("only the referring case manager cancels a referral")))
    else:
        raise Forbidden(Words(N_("referrals expire on their own")))


def authorize_transition(actor: Actor, referral: Referral, verb: str) -> None:
    """Raise Forbidden unless the actor may take this step on the referral (before asking them to confirm)."""
    _authorize_transition(actor, referral, verb)


@writes
def transition(
    session: Session,
    actor: Actor,
    referral: Referral,
    verb: str,
    now: datetime,
    note: object = None,
    decline: Decline | None = None,
) -> Referral:
    """Accept, decline (with its reason), cancel or expire an open referral, adjusting the counts as domain.md
    says; an acceptance releases the participant's other holds at the same level of care."""
    if verb not in TRANSITIONS:
        raise ValidationError(Words(N_("unknown transition")), "action")
    if verb == "decline" and decline is None:
        raise ValidationError(
            Words(
                N_("say why you decline: reason is one of %(choices)s"),
                choices=", ".join(PROVIDER_DECLINE_REASONS),
            ),
            "reason",
        )
    if note is not None and (not isinstance(note, str) or len(note) > MAX_TEXT):
        raise ValidationError(
            Words(N_("note must be text of at most %(max_text)s characters"), max_text=MAX_TEXT), "note"
        )
    if isinstance(note, str):
        note = screen_free_text(note.strip(), "note") or None
    _authorize_transition(actor, referral, verb)
    if referral.state not in OPEN_STATES:
        raise Conflict(
            Words(N_("this referral is already %(value)s"), value=consent.shown_state(actor, referral)),
            "state",
        )
    # An acceptance may release the participant's other holds at this level of care: their rows are locked
    # with this one, in service-id order (no deadlock with a claim that releases the other way round).
    others = one_hold.release_candidates(session, referral) if verb == "accept" else []
    row = one_hold.lock_rows(session, [referral.service_id, *[r.service_id for r in others]]).get(
        referral.service_id
    )
    # Re-read the referral under the capacity lock: another worker may have closed it meanwhile.
    session.refresh(referral)
    if referral.state not in OPEN_STATES:
        raise Conflict(
            Words(N_("this referral is already %(value)s"), value=consent.shown_state(actor, referral)),
            "state",
        )
    before = snapshot(row) if row is not None else None
    to_state = TRANSITIONS[verb]
    if verb == "accept":
        _classify_placement(referral, row, now)
    if row is not None:
        holds.release(holds.Counts.of(row), referral.hold, referral.state, verb == "accept").store(row)
        if referral.state == "held":
            mark_holds_at_risk(session, row, now)
    from_state = referral.state
    referral.state = to_state
    referral.closed_at = now
    referral.at_risk = False
    if verb == "decline":
        referral.closed_reason = decline.reason
        referral.closed_rule = (
            keys.seal(session, referral.participant_id, decline.rule) if decline.rule else None
        )
        referral.closed_attribute = decline.attribute
    sealed = keys.seal(session, referral.participant_id, note) if referral.participant_id else note
    referral.events.append(
        ReferralEvent(at=now, actor_id=actor.id, from_state=from_state, to_state=to_state, note=sealed)
    )
    session.flush()
    audit.append(
        session,
        actor.id,
        f"referral.{verb}",
        "referral",
        referral.id,
        {
            "service_id": referral.service_id,
            "from": from_state,
            "to": to_state,
            "hold": referral.hold,
            "note_sha256": audit.text_hash(note),
            "capacity_before": before,
            "capacity_after": snapshot(row) if row is not None else None,
            **_decline_audit(decline),
        },
        now,
    )
    if verb == "decline" and decline.reason == "no_capacity":
        field_reports.record_decline(session, referral, row, now)
    if verb == "accept":
        one_hold.release_on_accept(session, referral, now)
    recipients = (
        organization_staff(session, referral.service.organization_id)
        if verb == "cancel"
        else [referral.created_by]
    )
    if verb != "cancel" and not referral.outcome_shared:
        return referral  # a Part 2 program's answer without a release stays with the provider
    notify(
        session,
        recipients,
        f"referral_{to_state}",
        Words(NOTICE_SUBJECTS[to_state], service=referral.service.name),
        Words(NOTICE_BODIES[to_state], id=referral.id, service=referral.service.name)
        if verb != "decline"
        else Words(
            N_("Referral %(id)s to %(service)s was declined: %(why)s."),
            id=referral.id,
            service=referral.service.name,
            why=Words(DECLINE_WORDS[decline.reason]),
        ),
        now,
        link=f"/referrals/{referral.id}",
    )
    return referral


def _decline_audit(decline: Decline | None) -> dict:
    """A decline's reason for the audit (the rule's text only as its hash)."""
    if decline is None:
        return {}
    return {
        "decline_reason": decline.reason,
        "decline_attribute": decline.attribute,
        "decline_rule_sha256": audit.text_hash(decline.rule),
    }


def _classify_placement(referral: Referral, row: ServiceCapacity | None, now: datetime) -> None:
    """At acceptance, from the numbers at that moment: the waitlist then, and for a request (a placement the
    check did not measure: open access, unverified, coordinated entry) what a check would have said, so a
    placement made over a waitlist through "unverified" is seen. Staleness is ignored on purpose: the
    question is whether anyone was waiting, and the provider's numbers are the best answer there is."""
    referral.placement_waitlist = row.waitlist if row is not None else None
    if referral.action != "request":
        return
    if row is None:
        referral.placement = cap.OPEN_ACCESS
        return
    numbers = dataclasses.replace(cap.Numbers.of(row), confirmed_at=now)
    referral.placement = cap.classify(numbers, referral.service.coordinated_entry, now, {numbers.unit: 1.0})


def due_for_expiry(session: Session, now: datetime, limit: int = 500) -> list[int]:
    """Ids of open referrals past their expiry."""
    return list(
        session.scalars(
            select(Referral.id)
            .where(Referral.state.in_(OPEN_STATES), Referral.expires_at < now)
            .order_by(Referral.expires_at)
            .limit(limit)
        )
    )
