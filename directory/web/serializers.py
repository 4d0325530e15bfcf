"""Serializers shared by pages and the API: services, capacity, checks, referrals and plans as plain data."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ..config import SiteConfig
from ..domain import capacity as cap
from ..domain import disclosure
from ..domain.hours import day_words, hours_unknown, schedule_order
from ..models import Service
from ..words import N_

STATUS_LABELS = {
    cap.LEAD_FUNDED: N_("LEAD-funded unit free"),
    cap.COORDINATED_ENTRY: N_("Coordinated entry"),
    cap.SPARE_CAPACITY: N_("Spare capacity"),
    cap.DISPLACEMENT: N_("Waitlist: would displace"),
    cap.FULL: N_("Full"),
    cap.UNVERIFIED: N_("Unverified: call first"),
    cap.OPEN_ACCESS: N_("Open access"),
}


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_text(moment: datetime | None, at: datetime) -> str:
    """How old something is, in words a case manager reads at a glance (pages only, in the page's language;
    the API sends the time itself)."""
    from flask_babel import gettext, ngettext

    if moment is None:
        return gettext("never confirmed")
    seconds = max(0, int((at - moment).total_seconds()))
    if seconds < 90:
        return gettext("just now")
    minutes = seconds // 60
    if minutes < 90:
        return ngettext("%(num)d min ago", "%(num)d min ago", minutes)
    hours = minutes // 60
    if hours < 48:
        return ngettext("%(num)d h ago", "%(num)d h ago", hours)
    return ngettext("%(num)d day ago", "%(num)d days ago", hours // 24)


def service_status(service: Service, at: datetime, config: SiteConfig, staff: bool = True) -> str:
    """The classification a new referral to this service would get now, as this viewer may see it (the
    public never sees a lead_funded status where it would reveal a hidden badge)."""
    if service.capacity is None:
        return cap.OPEN_ACCESS
    viewer = disclosure.disclosure_for(config, staff)
    numbers = disclosure.public_numbers(cap.Numbers.of(service.capacity), viewer, service)
    return cap.classify(numbers, service.coordinated_entry, at, config.freshness_hours)


def outlook(service: Service, at: datetime, config: SiteConfig, staff: bool) -> str:
    """The one sentence of what a new referral to the service gets and why, as this viewer may read it, in
    the page's language."""

    from ..domain.outlook import referral_outlook_words
    from .errors import shown

    status = service_status(service, at, config, staff)
    if service.capacity is None:
        return shown(referral_outlook_words(status, None))
    viewer = disclosure.disclosure_for(config, staff)
    numbers = disclosure.public_numbers(cap.Numbers.of(service.capacity), viewer, service)
    lead_counts = viewer.lead_counts and viewer.counts and not viewer.masks_lead(service)
    return shown(referral_outlook_words(status, numbers, viewer.counts, lead_counts))


def capacity_dict(service: Service, at: datetime, config: SiteConfig, staff: bool) -> dict | None:
    """The contract's `capacity` object (null for untracked, open-access services); non-staff get the
    status and the age of the numbers, and counts only where the site file opts in (public_counts)."""
    row = service.capacity
    if row is None:
        return None
    numbers = cap.Numbers.of(row)
    data = {
        "unit": row.unit_id,
        "maximum": row.maximum,
        "available": row.available,
        "waitlist": row.waitlist,
        "lead_funded_maximum": row.lead_funded_maximum,
        "lead_funded_available": row.lead_funded_available,
        "held_general": row.held_general,
        "held_lead": row.held_lead,
        "confirmed_at": iso(row.confirmed_at),
        "stale": cap.is_stale(numbers, at, config.freshness_hours),
        "status": service_status(service, at, config, staff),
    }
    return disclosure.public_capacity(data, disclosure.disclosure_for(config, staff), service)


def primary_location(service: Service):
    """The service's first location (by id), or None."""
    return min(service.locations, key=lambda loc: loc.id) if service.locations else None


def location_dict(service: Service, staff: bool) -> dict | None:
    """The contract's `location`; a confidential one has no address and no coordinates outside staff pages."""
    location = primary_location(service)
    if location is None:
        return None
    hidden = location.confidential
    # Outside staff pages a confidential location says nothing about where it is: not even its neighborhood
    # or how precisely it is known.
    vague = hidden and not staff
    neighborhood = (
        location.neighborhood.name
        if location.neighborhood and not location.neighborhood.internal and not vague
        else None
    )
    address = location.address.one_line() if location.address is not None else None
    return {
        "address": None if hidden else address,
        "latitude": None if hidden else location.latitude,
        "longitude": None if hidden else location.longitude,
        "precision": None if vague else location.precision,
        "neighborhood": neighborhood,
        "confidential": location.confidential,
    }


def attributes_dict(service: Service, config: SiteConfig, staff: bool) -> dict:
    """The contract's `attributes`, hiding the sensitive badges the site keeps from the public."""
    location = primary_location(service)
    values = {
        "low_barrier": service.low_barrier,
        "housing_first": service.housing_first,
        "no_sobriety_requirement": service.no_sobriety_requirement,
        "accepts_active_use": service.accepts_active_use,
        "accepts_sex_workers": service.accepts_sex_workers,
        "no_id_required": service.no_id_required,
        "criminal_record_ok": service.criminal_record_ok,
        "trauma_informed": service.trauma_informed,
        "peer_run": service.peer_run,
        "coordinated_entry": service.coordinated_entry,
        "religious_requirement": service.religious_requirement,
        "conversion_therapy": service.conversion_therapy,
        "lead_fundable": service.lead_fundable,
        "confidential": bool(location and location.confidential),
        "evidence_based_practices": sorted(p.code for p in service.practices),
    }
    return disclosure.public_attributes(values, service, disclosure.disclosure_for(config, staff))


def hhmm(moment) -> str:
    """A time of day as HH:MM."""
    return moment.strftime("%H:%M")


def service_dict(
    service: Service, at: datetime, config: SiteConfig, staff: bool, distance_km: float | None = None
):
    """The contract's `service` object."""
    categories = sorted(service.categories, key=lambda t: (t.id != service.primary_domain, t.id))
    data = {
        "id": service.id,
        "name": service.name,
        "description": service.description,
        "organization": {"id": service.organization.id, "name": service.organization.name},
        "categories": [service.primary_domain] + [t.id for t in categories if t.id != service.primary_domain],
        "location": location_dict(service, staff),
        "phones": [
            {"number": p.number, "extension": p.extension, "type": p.type, "description": p.description}
            for p in sorted(service.phones, key=lambda p: p.id)
        ],
        "schedule": [
            {
                "freq": "WEEKLY" if len(s.byday) == 2 else "MONTHLY",
                "byday": s.byday,
                "day": day_words(s.byday),
                "opens_at": hhmm(s.opens_at),
                "closes_at": hhmm(s.closes_at),
                "description": s.description,
            }
            for s in sorted(service.schedules, key=schedule_order)
        ],
        "hours_as_written": getattr(service, "hours_text", None),
        "hours_unknown": hours_unknown(service),
        "languages": [
            {"code": lang.code, "name": lang.name, "access": lang.access}
            for lang in sorted(service.languages, key=lambda x: x.code)
        ],
        "populations": sorted(p.code for p in service.populations),
        "eligibility": service.eligibility_description,
        "required_documents": [d.document for d in sorted(service.required_documents, key=lambda d: d.id)],
        "alert": service.alert,
        "intake": {
            "mode": service.intake_mode,
            "times": service.intake_times,
            "curfew": service.curfew,
            "application_process": service.application_process,
        },
        "fees": service.fees_description,
        "insurance": service.insurance,
        "moud": [
            name
            for name, offered in (
                ("buprenorphine", service.moud_buprenorphine),
                ("methadone", service.moud_methadone),
                ("naltrexone", service.moud_naltrexone),
            )
            if offered
        ],
        "accessibility": {
            "pets_allowed": service.pets_allowed,
            "partners_allowed": service.partners_allowed,
            "wheelchair_accessible": service.wheelchair_accessible,
        },
        "url": service.url,
        "email": service.email,
        "attributes": attributes_dict(service, config, staff),
        "capacity": capacity_dict(service, at, config, staff),
    }
    confidential = data["attributes"]["confidential"]
    # No distance to a confidential location outside staff pages (it would place it).
    if distance_km is not None and (staff or not confidential):
        data["distance_km"] = round(distance_km, 3)
    return data


def service_short(service: Service) -> dict:
    """A service in short form (alternatives, referrals)."""
    location = primary_location(service)
    public = location is not None and not location.confidential
    return {
        "id": service.id,
        "name": service.name,
        "organization": {"id": service.organization.id, "name": service.organization.name},
        "neighborhood": location.neighborhood.name
        if public and location.neighborhood and not location.neighborhood.internal
        else None,
        "latitude": location.latitude if public else None,
        "longitude": location.longitude if public else None,
    }


def check_dict(result, at: datetime, config: SiteConfig) -> dict:
    """The contract's `check` object."""
    return {
        "service_id": result.service.id,
        "check_id": result.check_id,
        "classification": result.classification,
        "would_displace": result.would_displace,
        "actions": result.actions,
        "reasons": [str(reason) for reason in result.reasons],  # English in the API
        "capacity": capacity_dict(result.service, at, config, True) if result.capacity is not None else None,
        "alternatives": [
            {
                "service": service_short(a.service),
                "classification": a.classification,
                "distance_km": None if a.distance_km is None else round(a.distance_km, 3),
                # The participant's own open referral there: theirs already, not a new offer.
                "theirs": None if a.theirs is None else {"referral_id": a.theirs.id, "state": a.theirs.state},
                # The participant's languages offered there only through an interpreter on request.
                "interpreter_on_request": a.interpreter,
            }
            for a in result.alternatives
        ],
        "participant_holds": participant_holds(result),
        "second_hold": bool(result.same_level_holds),
    }


def participant_holds(result) -> list[dict]:
    """The participant's open referrals in the check's IIP domain (one hold per need), as the viewer may see
    them; `same_level` marks the holds a new hold here would sit beside."""
    from flask_login import current_user

    from ..domain import consent
    from ..domain.access import Actor
    from ..domain.one_hold import levels_of_care

    acting = Actor.of(current_user)
    same = {r.id for r in result.same_level_holds}
    return [
        {
            "referral_id": r.id,
            "service": service_short(r.service),
            "state": consent.shown_state(acting, r),
            "hold": r.hold,
            "classification": r.classification,
            "levels_of_care": sorted(levels_of_care(r.service)),
            "same_level": r.id in same,
            "expires_at": iso(r.expires_at) if r.state == "held" else None,
            "keep_both_reason": r.keep_both_reason,
        }
        for r in result.participant_holds
    ]


def referral_dict(referral) -> dict:
    """The contract's `referral` object, as the signed-in account may see it (consent.py: a Part 2 outcome
    without a release, a confidential referral's outcome and its participant code are withheld)."""
    from flask_login import current_user

    from ..domain import consent
    from ..domain.access import Actor

    acting = Actor.of(current_user)
    data = _referral_fields(referral)
    data["participant_code"] = consent.participant_label(acting, referral)
    data["state"] = consent.shown_state(acting, referral)
    if acting.role == "provider" and data["closed_reason"] in ("released", "placed_elsewhere"):
        data["closed_reason"] = "released"  # a released hold's provider never learns where the person went
    if not consent.outcome_visible(acting, referral):
        data["closed_at"] = None
        data["decline"] = None
        if referral.state != "cancelled":
            data["closed_reason"] = None
        data["history"] = [
            h for h in data["history"] if h["to"] in ("held", "requested", "waitlisted", "cancelled")
        ]
        for entry in data["history"]:
            entry["note"] = None
    if referral.service.part2_program:
        data["redisclosure_notice"] = consent.REDISCLOSURE_NOTICE
    return data


def _decline(referral) -> dict | None:
    """A provider's decline: the reason, which eligibility rule, which listed attribute."""
    if referral.state != "declined" or referral.closed_reason is None:
        return None
    return {
        "reason": referral.closed_reason,
        "rule": referral.plain_closed_rule,
        "attribute": referral.closed_attribute,
    }


def _referral_fields(referral) -> dict:
    return {
        "id": referral.id,
        "service_id": referral.service_id,
        "service": service_short(referral.service),
        "participant_code": referral.participant.code if referral.participant else None,
        "goal_id": referral.goal_id,
        "action": referral.action,
        "classification": referral.classification,
        "state": referral.state,
        "hold": referral.hold,
        "at_risk": referral.at_risk,
        "would_displace": referral.would_displace,
        "reason_code": referral.reason_code,
        "justification": referral.plain_justification,
        "capacity_snapshot": referral.capacity_snapshot,
        "alternatives_offered": [
            {
                "service_id": alt.service_id,
                "name": alt.service.name,
                "classification": alt.classification,
                "distance_km": alt.distance_km,
                "rejection_reason": alt.rejection_reason,
            }
            for alt in referral.alternatives
        ],
        "closed_reason": referral.closed_reason,
        "decline": _decline(referral),
        "keep_both_reason": referral.keep_both_reason,
        "created_at": iso(referral.created_at),
        "created_by": referral.created_by,
        "expires_at": iso(referral.expires_at),
        "closed_at": iso(referral.closed_at),
        "history": [
            {
                "at": iso(e.at),
                "from": e.from_state,
                "to": e.to_state,
                "actor_id": e.actor_id,
                "note": e.plain_note,
            }
            for e in referral.events
        ],
    }


def goal_dict(goal) -> dict:
    """A goal of a plan with its referrals."""
    return {
        "id": goal.id,
        "domain": goal.domain,
        "text": goal.plain_text,
        "created_at": iso(goal.created_at),
        "referrals": [referral_dict(r) for r in goal.referrals],
    }


def participant_dict(participant, loose: list) -> dict:
    """The contract's `participant` with its plan (`loose`: its referrals that answer no goal)."""
    return {
        "code": participant.code,
        "case_manager_id": participant.case_manager_id,
        "created_at": iso(participant.created_at),
        "place": {
            "label": participant.place_label,
            "latitude": participant.latitude,
            "longitude": participant.longitude,
        },
        "needs": participant.needs,
        "goals": [goal_dict(g) for g in participant.goals],
        "referrals_without_goal": [referral_dict(r) for r in loose],
    }


def release_dict(release, today) -> dict:
    """A release of information as the API shows it: whom it covers, why, when, and its state today (the
    signed paper itself is never stored)."""
    from ..domain.consent import state_of

    return {
        "id": release.id,
        "organization": {"id": release.organization_id, "name": release.organization.name},
        "purpose": release.purpose,
        "signed_on": release.signed_on.isoformat(),
        "expires_on": release.expires_on.isoformat(),
        "state": state_of(release, today),
        "recorded_at": iso(release.recorded_at),
        "revoked_at": iso(release.revoked_at) if release.revoked_at is not None else None,
    }
