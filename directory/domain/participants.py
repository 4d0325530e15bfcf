"""Participants and their Individual Intervention Plans: generated codes, coarse places, goals.

A participant is a pseudonymous code the system generates; nothing identifying is stored. Their place
is at most a site place name, a ZIP, or coordinates rounded to 2 decimals.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import writes
from ..models import Goal, Participant
from ..words import N_, Words
from . import audit, keys
from .access import Actor, can_read_plan
from .errors import Forbidden, NotFound, ValidationError
from .geo import parse_latlon, zip_point
from .reference import Reference

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: read aloud and written by hand
CODE_LENGTH = 6
MAX_GOAL_TEXT = 500
NEED_FLAGS = (
    "low_barrier",
    "housing_first",
    "accepts_active_use",
    "no_id_required",
    "trauma_informed",
    "peer_run",
)

# Free text must not carry identifying or health details. Names cannot be detected; these can.
_SCREENS = [
    (
        re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](19|20)?\d{2}\b"),
        N_("a date (dates of birth must not be stored)"),
    ),
    (re.compile(r"\b\d{3}-?\d{2}-?\d{4}\b"), N_("a number like a Social Security number")),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), N_("an email address")),
    (re.compile(r"\(?\b\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}\b"), N_("a phone number")),
]


def screen_free_text(text: str, field: str) -> str:
    """Refuse free text that carries a date, an SSN-like number, an email or a phone number."""
    for pattern, what in _SCREENS:
        if pattern.search(text):
            raise ValidationError(
                Words(
                    N_(
                        "this text seems to contain %(what)s; write it without names, dates, contact or "
                        "health data"
                    ),
                    what=Words(what),
                ),
                field,
            )
    return text


def new_code() -> str:
    """A random participant code such as P-7F3K9Q."""
    return "P-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def parse_needs(raw: object, reference: Reference) -> dict:
    """Validate stated needs: languages (codes or names), populations, and yes/no attribute flags."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValidationError(Words(N_("needs must be an object")), "needs")
    needs: dict = {}
    for name, value in raw.items():
        if name == "languages":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 10:
                raise ValidationError(
                    Words(N_("needs.languages must be a list of language codes or names")), "needs.languages"
                )
            codes = []
            for item in value:
                code = reference.languages.get(item.strip().casefold())
                if code is None:
                    raise ValidationError(
                        Words(N_("unknown language %(item)r"), item=item), "needs.languages"
                    )
                codes.append(code)
            needs["languages"] = sorted(set(codes))
        elif name == "populations":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 10:
                raise ValidationError(
                    Words(N_("needs.populations must be a list of population codes")), "needs.populations"
                )
            codes = []
            for item in value:
                code = reference.populations.get(item.strip().casefold())
                if code is None:
                    raise ValidationError(
                        Words(N_("unknown population %(item)r"), item=item), "needs.populations"
                    )
                codes.append(code)
            needs["populations"] = sorted(set(codes))
        elif name in NEED_FLAGS:
            if not isinstance(value, bool):
                raise ValidationError(
                    Words(N_("needs.%(name)s must be true or false"), name=name), f"needs.{name}"
                )
            if value:
                needs[name] = True
        else:
            raise ValidationError(
                Words(
                    N_("unknown need %(value)r; use languages, populations or %(choices)s"),
                    value=str(name)[:50],
                    choices=", ".join(NEED_FLAGS),
                ),
                "needs",
            )
    return needs


def parse_place(text: object, reference: Reference) -> tuple[str | None, int | None, int | None]:
    """A place name, a ZIP, or lat,lon -> (label, latitude_e2, longitude_e2), never finer than 2 decimals."""
    if text is None:
        return None, None, None
    if not isinstance(text, str) or not text.strip() or len(text) > 100:
        raise ValidationError(Words(N_("place must be a site place name, a ZIP, or lat,lon")), "place")
    text = text.strip()
    latlon = parse_latlon(text)
    if latlon is not None:
        lat, lon = latlon
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValidationError(Words(N_("place coordinates are out of range")), "place")
        return None, round(lat * 100), round(lon * 100)
    if re.fullmatch(r"\d{5}", text):
        point = zip_point(text)
        if point is None:
            raise ValidationError(Words(N_("unknown ZIP %(text)s"), text=text), "place")
        return text, round(point.latitude * 100), round(point.longitude * 100)
    place = reference.places.get(text.casefold())
    if place is None:
        raise ValidationError(
            Words(N_("unknown place %(text)r: use a site place name, a ZIP, or lat,lon"), text=text), "place"
        )
    canonical = next(
        (name for name in reference.place_names.values() if name.casefold() == text.casefold()), text
    )
    return canonical, round(place[0] * 100), round(place[1] * 100)


@writes
def create_participant(
    session: Session, actor: Actor, needs: object, place: object, now: datetime, reference: Reference
) -> Participant:
    """Create a participant with a fresh code, owned by the acting case manager."""
    if actor.role not in ("case_manager", "admin"):
        raise Forbidden(Words(N_("only case managers create participants")))
    parsed_needs = parse_needs(needs, reference)
    label, lat_e2, lon_e2 = parse_place(place, reference)
    for _ in range(20):
        code = new_code()
        if session.scalar(select(Participant.id).where(Participant.code == code)) is None:
            break
    else:  # pragma: no cover - 30^6 codes: practically unreachable
        raise RuntimeError("could not find a free participant code")
    participant = Participant(
        code=code,
        case_manager_id=actor.id,
        created_at=now,
        last_activity_at=now,
        place_label=label,
        latitude_e2=lat_e2,
        longitude_e2=lon_e2,
        needs=parsed_needs,
    )
    session.add(participant)
    session.flush()
    audit.append(
        session, actor.id, "participant.create", "participant", participant.id, {"needs": parsed_needs}, now
    )
    return participant


def get_participant(session: Session, actor: Actor, code: str) -> Participant:
    """A participant visible to the actor: their own case manager, or an admin (403 otherwise)."""
    participant = session.scalar(select(Participant).where(Participant.code == code.strip().upper()))
    if participant is None:
        raise NotFound(Words(N_("no participant %(value)r"), value=code[:20]))
    if not can_read_plan(actor, participant.case_manager_id):
        raise Forbidden(Words(N_("this participant belongs to another case manager")))
    return participant


@writes
def add_goal(
    session: Session,
    actor: Actor,
    participant: Participant,
    domain: object,
    text: object,
    now: datetime,
    reference: Reference,
) -> Goal:
    """Add a self-identified goal, in the participant's own words, in one IIP domain."""
    if not isinstance(domain, str) or domain not in reference.domains:
        raise ValidationError(
            Words(N_("domain must be one of the IIP domains (see /api/v1/taxonomy)")), "domain"
        )
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(Words(N_("write the goal in the participant's own words")), "text")
    if len(text) > MAX_GOAL_TEXT:
        raise ValidationError(
            Words(N_("a goal has at most %(max_goal_text)s characters"), max_goal_text=MAX_GOAL_TEXT), "text"
        )
    screen_free_text(text, "text")
    plain_text = text.strip()
    goal = Goal(
        participant=participant,
        domain=domain,
        text=keys.seal(session, participant.id, plain_text),  # unreadable once purge destroys the key
        created_at=now,
        created_by=actor.id,
    )
    session.add(goal)
    participant.last_activity_at = now
    session.flush()
    audit.append(
        session,
        actor.id,
        "goal.create",
        "goal",
        goal.id,
        {"participant_id": participant.id, "domain": domain, "text_sha256": audit.text_hash(plain_text)},
        now,
    )
    return goal


def loose_referrals(session: Session, participant: Participant) -> list:
    """The participant's referrals that answer no goal of the plan, oldest first."""
    from ..models import Referral

    return list(
        session.scalars(
            select(Referral)
            .where(Referral.participant_id == participant.id, Referral.goal_id.is_(None))
            .order_by(Referral.id)
        )
    )


def owner_of(referral) -> int | None:
    """The case manager who holds the participant behind a referral (None once the participant is purged)."""
    return referral.participant.case_manager_id if referral.participant is not None else None


@writes
def transfer(session: Session, actor: Actor, participant: Participant, to_user, now: datetime) -> None:
    """Hand a participant to another case manager."""
    if to_user is None or to_user.role != "case_manager" or not to_user.active:
        raise ValidationError(Words(N_("transfer to an active case manager")), "case_manager")
    before = participant.case_manager_id
    participant.case_manager_id = to_user.id
    participant.last_activity_at = now
    audit.append(
        session,
        actor.id,
        "participant.transfer",
        "participant",
        participant.id,
        {"from": before, "to": to_user.id},
        now,
    )
