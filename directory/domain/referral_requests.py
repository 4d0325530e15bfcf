"""A referral request parsed once, whether it comes from the form or the API, and submitted one way.

Both answer the same input the same way: a repeated idempotency key gives the first referral; an unknown
`goal_id` is a 400 naming the field; a participant who does not exist or whom the actor may not refer is
a 404 (one answer, so a code cannot be probed).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import SiteConfig
from ..database import writes
from ..models import Goal, Participant, Referral
from ..words import N_, Words
from . import one_hold
from .access import Actor, can_read_plan
from .errors import Forbidden, NotFound, ValidationError
from .referrals import DuplicateKey, ReferralRequest, create_referral, find_by_key, load_service

API_FIELDS = frozenset(
    {
        "service_id",
        "participant_code",
        "action",
        "reason_code",
        "justification",
        "goal_id",
        "expected_classification",
        "alternatives_rejected",
        "decline_reason",
        "release_referral_ids",
        "keep_both_reason",
    }
)
MAX_KEY = 200
MAX_CODE = 20


def _id(raw: object) -> int | None:
    """A positive id from JSON (an integer) or a form (1-12 ASCII digits); None when it is neither."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if raw > 0 else None
    if isinstance(raw, str) and 0 < len(raw) <= 12 and raw.isascii() and raw.isdigit():
        return int(raw)
    return None


def _key(raw: object) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_KEY:
        raise ValidationError(
            Words(N_("Idempotency-Key must be 1-%(max_key)s characters"), max_key=MAX_KEY), "Idempotency-Key"
        )
    return raw


def _goal_id(raw: object) -> int | None:
    if raw is None or raw == "":
        return None
    goal_id = _id(raw)
    if goal_id is None:
        raise ValidationError(Words(N_("goal_id must be a positive integer")), "goal_id")
    return goal_id


def _rejected(raw: object) -> dict[int, str]:
    if raw is None:
        return {}
    message = "alternatives_rejected maps service ids to reason codes"
    if not isinstance(raw, Mapping):
        raise ValidationError(message, "alternatives_rejected")
    rejected = {}
    for key, value in raw.items():
        service_id = _id(key)
        if service_id is None or not isinstance(value, str):
            raise ValidationError(message, "alternatives_rejected")
        rejected[service_id] = value
    return rejected


def _code(raw: object, field: str) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_CODE:
        raise ValidationError(Words(N_("choose a participant (their code)")), field)
    return raw.strip().upper()


def from_json(body: Mapping, idempotency_key: str | None) -> ReferralRequest:
    """The API's body (unknown fields refused) and its Idempotency-Key header."""
    unknown = sorted(set(body) - API_FIELDS)
    if unknown:
        raise ValidationError(Words(N_("unknown field %(value)r"), value=unknown[0]), unknown[0][:100])
    return ReferralRequest(
        action=body.get("action"),
        service_id=body.get("service_id"),
        participant_code=_code(body.get("participant_code"), "participant_code"),
        reason_code=body.get("reason_code"),
        justification=body.get("justification"),
        goal_id=_goal_id(body.get("goal_id")),
        expected_classification=body.get("expected_classification"),
        idempotency_key=_key(idempotency_key),
        rejected_alternatives=_rejected(body.get("alternatives_rejected")),
        decline_reason=body.get("decline_reason"),
        release_referral_ids=one_hold.parse_release_ids(body.get("release_referral_ids")),
        keep_both_reason=one_hold.parse_keep_both(body.get("keep_both_reason")),
    )


def from_form(form: Mapping) -> ReferralRequest:
    """The check page's form: `participant`, `reject_<service id>` fields, the override's acknowledgement."""
    action = form.get("action")
    if action == "override" and not form.get("acknowledge"):
        raise ValidationError(
            Words(N_("tick the box to acknowledge that this override delays people on the waitlist")),
            "acknowledge",
        )
    rejected = {
        name.removeprefix("reject_"): value
        for name, value in form.items()
        if name.startswith("reject_") and value
    }
    return ReferralRequest(
        action=action,
        service_id=_id(form.get("service_id")),
        participant_code=_code(form.get("participant"), "participant"),
        reason_code=form.get("reason_code") or None,
        justification=form.get("justification") or None,
        goal_id=_goal_id(form.get("goal_id")),
        expected_classification=form.get("expected_classification") or None,
        idempotency_key=_key(form.get("idempotency_key")),
        rejected_alternatives=_rejected(rejected),
        decline_reason=form.get("decline_reason") or None,
        decline_reason_required=True,  # the page asks; the API may leave it out (then it counts as avoidable)
        release_referral_ids=one_hold.parse_release_ids(
            form.getlist("release_referral_ids")
            if hasattr(form, "getlist")
            else form.get("release_referral_ids")
        ),
        keep_both_reason=one_hold.parse_keep_both(form.get("keep_both_reason")),
    )


def participant_for_referral(session: Session, actor: Actor, code: str) -> Participant:
    """The participant the actor may refer: their own case manager's, an admin's, or any for a peer's
    request. NotFound otherwise, whether the code exists or not."""
    participant = session.scalar(select(Participant).where(Participant.code == code.strip().upper()))
    visible = participant is not None and (
        actor.is_admin or actor.role == "peer_outreach" or participant.case_manager_id == actor.id
    )
    if not visible:
        raise NotFound(Words(N_("no participant %(value)r"), value=code[:MAX_CODE]))
    return participant


def _goal(session: Session, actor: Actor, goal_id: int | None, participant: Participant) -> Goal | None:
    if goal_id is None:
        return None
    if not can_read_plan(actor, participant.case_manager_id):
        # Refused before the goal is looked up, so the answer says nothing about the plan.
        raise Forbidden(
            Words(N_("only the participant's own case manager attaches a referral to a goal")), "goal_id"
        )
    goal = session.get(Goal, goal_id)
    if goal is None or goal.participant_id != participant.id:
        raise ValidationError(
            Words(N_("no goal %(goal_id)s in this participant's plan"), goal_id=goal_id), "goal_id"
        )
    return goal


@writes
def submit(session: Session, actor: Actor, request: ReferralRequest, now, site: SiteConfig) -> Referral:
    """Make the referral, or return the one this actor already made with the same idempotency key."""
    if request.idempotency_key:
        existing = find_by_key(session, actor, request.idempotency_key)
        if existing is not None:
            return existing
    service = load_service(session, request.service_id)
    participant = participant_for_referral(session, actor, request.participant_code)
    goal = _goal(session, actor, request.goal_id, participant)
    try:
        return create_referral(session, actor, service, participant, request, now, site, goal)
    except DuplicateKey:
        existing = find_by_key(session, actor, request.idempotency_key)
        if existing is None:
            raise
        return existing
