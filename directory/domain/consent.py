"""Consent: releases of information (ROI), 42 CFR Part 2 programs, confidential referrals, legal holds.

A release is a paper form the participant signed; the app records that it exists, what it covers and who
recorded it. A referral to a Part 2 program without a current release covering that program's organization
may still be made, but its outcome stays with the provider: the case manager sees "outcome not shared".
A referral to a confidential (domestic-violence) service reaches the provider under a one-time reference,
never the participant's code, and its outcome is the referring case manager's alone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import writes
from ..models import ROI_PURPOSES, Organization, Participant, Referral, ReleaseOfInformation, Service
from ..words import N_, Words
from . import audit
from .access import Actor, can_read_plan, require_capacity_manager
from .errors import Conflict, Forbidden, NotFound, ValidationError

PURPOSE_LABELS = {  # pages show them through _(): marked here for the catalogs
    "referral_outcome": N_("Referral and its outcome"),
    "care_coordination": N_("Care coordination"),
    "benefits_enrollment": N_("Benefits enrollment"),
    "legal_advocacy": N_("Legal advocacy"),
}
assert set(PURPOSE_LABELS) == set(ROI_PURPOSES)
MAX_RELEASE_YEARS = 5
MAX_ROW_ID = 2**31 - 1
NOT_SHARED = N_("outcome not shared: no release on file")
CONFIDENTIAL_OUTCOME = N_("outcome seen only by the referring case manager")
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

# The notice 42 CFR 2.32 requires with every disclosure made under a written consent.
REDISCLOSURE_NOTICE = (
    "This record which has been disclosed to you is protected by federal confidentiality rules "
    "(42 CFR part 2). These rules prohibit you from using or disclosing this record, or testimony that "
    "describes the information contained in this record, in any civil, criminal, administrative, or "
    "legislative proceedings by any Federal, State, or local authority, against the patient, unless "
    "authorized by the consent of the patient, except as provided at 42 CFR 2.12(c)(5) or as authorized "
    "by a court in accordance with 42 CFR 2.64 or 2.65. In addition, the Federal rules prohibit you from "
    "making any other use or disclosure of this record unless at least one of the following applies: "
    "further use or disclosure is expressly permitted by the written consent of the individual whose "
    "information is being disclosed in this record or as otherwise permitted by 42 CFR part 2; or the "
    "disclosure is made to a covered entity or business associate for the purposes of treatment, payment, "
    "or health care operations. A general authorization for the release of medical or other information "
    "is NOT sufficient for this purpose (see 42 CFR 2.31). The Federal rules restrict any use of the "
    "information to investigate or prosecute with regard to a crime any patient with a substance use "
    "disorder, except as provided at 42 CFR 2.12(c)(5) and 2.65."
)

# What a release is at a given day: the words the check and the plan use.
CURRENT, EXPIRED, REVOKED, ABSENT = "current", "expired", "revoked", "absent"


def _require_plan_reader(actor: Actor, participant: Participant) -> None:
    if not can_read_plan(actor, participant.case_manager_id):
        raise Forbidden(Words(N_("releases are recorded by the participant's own case manager or an admin")))


def _parse_day(value: object, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValidationError(Words(N_("%(field)s must be a date YYYY-MM-DD"), field=field), field)
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(Words(N_("%(field)s must be a date YYYY-MM-DD"), field=field), field) from None


def state_of(release: ReleaseOfInformation, today: date) -> str:
    """current, expired (or not yet signed) or revoked, on a given day."""
    if release.revoked_at is not None:
        return REVOKED
    if release.signed_on <= today <= release.expires_on:
        return CURRENT
    return EXPIRED


@writes
def record_release(
    session: Session,
    actor: Actor,
    participant: Participant,
    organization_id: object,
    purpose: object,
    signed_on: object,
    expires_on: object,
    now: datetime,
) -> ReleaseOfInformation:
    """Record that a signed release exists (the paper stays on paper): whom it covers, why, until when."""
    _require_plan_reader(actor, participant)
    if isinstance(organization_id, bool) or not isinstance(organization_id, int):
        raise ValidationError(Words(N_("choose the organization the release covers")), "organization_id")
    if not 0 < organization_id <= MAX_ROW_ID or session.get(Organization, organization_id) is None:
        raise ValidationError(Words(N_("no such organization")), "organization_id")
    if purpose not in ROI_PURPOSES:
        raise ValidationError(
            Words(N_("purpose must be one of %(choices)s"), choices=", ".join(ROI_PURPOSES)), "purpose"
        )
    signed, expires = _parse_day(signed_on, "signed_on"), _parse_day(expires_on, "expires_on")
    today = now.date()
    if signed > today:
        raise ValidationError(
            Words(N_("a release is recorded once signed: the date signed is in the future")), "signed_on"
        )
    if expires < signed:
        raise ValidationError(Words(N_("the release expires before it was signed")), "expires_on")
    if expires.year - signed.year > MAX_RELEASE_YEARS:
        raise ValidationError(
            Words(
                N_("a release lasts at most %(max_release_years)s years"), max_release_years=MAX_RELEASE_YEARS
            ),
            "expires_on",
        )
    release = ReleaseOfInformation(
        participant_id=participant.id,
        organization_id=organization_id,
        purpose=purpose,
        signed_on=signed,
        expires_on=expires,
        recorded_at=now,
        recorded_by=actor.id,
    )
    session.add(release)
    session.flush()
    audit.append(
        session,
        actor.id,
        "release.record",
        "release",
        release.id,
        {
            "participant_id": participant.id,
            "organization_id": organization_id,
            "purpose": purpose,
            "signed_on": signed.isoformat(),
            "expires_on": expires.isoformat(),
        },
        now,
    )
    return release


def load_release(session: Session, participant: Participant, release_id: object) -> ReleaseOfInformation:
    """One of the participant's releases, or NotFound."""
    # An id beyond a 32-bit integer exists nowhere (and PostgreSQL would refuse to compare it).
    known = isinstance(release_id, int) and 0 < release_id <= MAX_ROW_ID
    release = session.get(ReleaseOfInformation, release_id) if known else None
    if release is None or release.participant_id != participant.id:
        raise NotFound(Words(N_("no such release for this participant")))
    return release


@writes
def revoke_release(
    session: Session, actor: Actor, release: ReleaseOfInformation, now: datetime
) -> ReleaseOfInformation:
    """The participant revoked the release (in writing or orally): from now on it covers nothing."""
    _require_plan_reader(actor, release.participant)
    if release.revoked_at is not None:
        raise Conflict(Words(N_("this release is already revoked")), "release")
    release.revoked_at, release.revoked_by = now, actor.id
    session.flush()
    audit.append(
        session,
        actor.id,
        "release.revoke",
        "release",
        release.id,
        {"participant_id": release.participant_id, "organization_id": release.organization_id},
        now,
    )
    return release


@dataclass(frozen=True)
class Consent:
    """What the check says about consent for one participant and one service."""

    part2: bool
    status: str  # current, expired, revoked or absent (for a service that is not a Part 2 program: current)
    release: ReleaseOfInformation | None

    @property
    def outcome_shared(self) -> bool:
        """Whether the program's answer may come back into the app."""
        return not self.part2 or self.status == CURRENT

    @property
    def sentence(self) -> Words | None:
        """The plain sentence the check shows, or None where nothing needs saying."""
        if not self.part2:
            return None
        if self.status == CURRENT:
            return Words(N_("Part 2 program: a current release covers it; its answer will come back to you."))
        why = {
            EXPIRED: N_("the release on file has expired"),
            REVOKED: N_("the release on file was revoked"),
            ABSENT: N_("there is no release on file for this program"),
        }[self.status]
        return Words(
            N_(
                "Part 2 program (substance-use treatment under 42 CFR Part 2): %(why)s. You may still refer "
                "(the participant can walk in), but the program's answer will not come back: record a signed "
                "release first if the participant agrees."
            ),
            why=Words(why),
        )


def consent_for(session: Session, participant: Participant | None, service: Service, today: date) -> Consent:
    """The best release the participant has for the service's organization, and what it allows today."""
    if not service.part2_program:
        return Consent(False, CURRENT, None)
    if participant is None:
        return Consent(True, ABSENT, None)
    releases = session.scalars(
        select(ReleaseOfInformation).where(
            ReleaseOfInformation.participant_id == participant.id,
            ReleaseOfInformation.organization_id == service.organization_id,
        )
    ).all()
    ranked = sorted(releases, key=lambda r: ({CURRENT: 0, EXPIRED: 1, REVOKED: 2}[state_of(r, today)], -r.id))
    if not ranked:
        return Consent(True, ABSENT, None)
    return Consent(True, state_of(ranked[0], today), ranked[0])


def is_confidential(service: Service) -> bool:
    """A service at a confidential (domestic-violence) location."""
    return any(location.confidential for location in service.locations)


def new_reference() -> str:
    """A one-time reference for a confidential referral (nothing in it relates to the participant)."""
    return "C-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def prepare_referral(
    session: Session,
    actor: Actor,
    referral: Referral,
    service: Service,
    participant: Participant,
    now: datetime,
) -> None:
    """Before a new referral is stored: whether its outcome may come back (Part 2), its one-time reference
    (confidential service), and the audited use of the release it relies on."""
    consent = consent_for(session, participant, service, now.date())
    referral.outcome_shared = consent.outcome_shared
    if is_confidential(service):
        referral.reference = new_reference()
    if consent.part2 and consent.release is not None and consent.status == CURRENT:
        audit.append(
            session,
            actor.id,
            "release.use",
            "release",
            consent.release.id,
            {"participant_id": participant.id, "service_id": service.id, "purpose": "referral"},
            now,
        )


def outcome_visible(actor: Actor, referral: Referral) -> bool:
    """Whether the actor may see how the program answered: the provider always; for a Part 2 program
    without a release, nobody else; for a confidential service, only the referring case manager."""
    if actor.role == "provider" or (actor.role == "system"):
        return True
    if not referral.outcome_shared:
        return False
    if referral.reference is not None:
        return actor.id is not None and actor.id == referral.created_by
    return True


def shown_state(actor: Actor, referral: Referral) -> str:
    """The state the actor sees: the real one, or why it is withheld (a cancellation is the case
    manager's own act and always shows)."""
    if referral.state == "cancelled" or outcome_visible(actor, referral):
        return referral.state
    return NOT_SHARED if not referral.outcome_shared else CONFIDENTIAL_OUTCOME


def participant_label(actor: Actor, referral: Referral) -> str | None:
    """The participant as the actor may see them: the provider of a confidential service gets only the
    one-time reference, never the code."""
    if referral.reference is not None and actor.role == "provider":
        return referral.reference
    return referral.participant.code if referral.participant is not None else None


@writes
def set_part2_program(session: Session, actor: Actor, service: Service, value: bool, now: datetime) -> None:
    """Mark or unmark a service as a 42 CFR Part 2 program (its own provider's staff, or an admin)."""
    require_capacity_manager(actor, service.organization_id)
    if service.part2_program == value:
        return
    service.part2_program = value
    audit.append(
        session, actor.id, "service.part2_program", "service", service.id, {"part2_program": value}, now
    )


# --- Legal holds ----------------------------------------------------------------------------------------


@writes
def place_legal_hold(session: Session, actor: Actor, participant: Participant, now: datetime) -> None:
    """Keep the participant's record (and key) from purge while a legal request is answered (admins)."""
    if not actor.is_admin:
        raise Forbidden(Words(N_("only an admin places a legal hold")))
    if participant.legal_hold_at is not None:
        raise Conflict(Words(N_("this participant is already under a legal hold")), "legal_hold")
    participant.legal_hold_at, participant.legal_hold_by = now, actor.id
    audit.append(session, actor.id, "legal_hold.place", "participant", participant.id, {}, now)


@writes
def release_legal_hold(session: Session, actor: Actor, participant: Participant, now: datetime) -> None:
    """End a legal hold: the record follows the retention period again (admins)."""
    if not actor.is_admin:
        raise Forbidden(Words(N_("only an admin releases a legal hold")))
    if participant.legal_hold_at is None:
        raise Conflict(Words(N_("this participant is not under a legal hold")), "legal_hold")
    since = participant.legal_hold_at
    participant.legal_hold_at, participant.legal_hold_by = None, None
    audit.append(
        session,
        actor.id,
        "legal_hold.release",
        "participant",
        participant.id,
        {"since": since.isoformat()},
        now,
    )
