"""The participant carried from a plan through search to the check, in the signed session only (never in a
URL: URLs reach logs and history). The session holds the participant's id and the goal's, nothing else."""

from __future__ import annotations

from flask import session
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..domain.access import can_read_plan
from ..extensions import db
from ..models import Goal, Participant
from .auth import actor

KEY = "search_for"
# Set by the search form while a participant is carried: the form's own values rule from then on (an
# unticked box must stay unticked), so the participant's needs fill in only the first search.
FORM_MARK = "needs_applied"


def carry(participant: Participant, goal: Goal | None) -> None:
    """Remember the participant (and the goal) for the searches and checks that follow."""
    session[KEY] = {"participant": participant.id, "goal": goal.id if goal is not None else None}


def drop() -> None:
    """Stop carrying a participant."""
    session.pop(KEY, None)


def carried() -> tuple[Participant, Goal | None] | None:
    """The carried participant and goal, when the signed-in account may still read the plan (a transfer
    or another account in the browser ends it)."""
    value = session.get(KEY)
    if not isinstance(value, dict) or not getattr(current_user, "is_authenticated", False):
        return None
    participant = db.session.get(Participant, value.get("participant")) if value.get("participant") else None
    if participant is None or not can_read_plan(actor(), participant.case_manager_id):
        drop()
        return None
    goal = db.session.get(Goal, value["goal"]) if value.get("goal") else None
    if goal is not None and goal.participant_id != participant.id:
        goal = None
    return participant, goal


def with_needs(args: MultiDict, participant: Participant, housing_search: bool) -> MultiDict:
    """The search parameters with the participant's needs and usual place filled in where the first search
    does not set them; Housing First only on a housing search (only housing can be Housing First)."""
    if FORM_MARK in args:
        merged = MultiDict(args)
        merged.pop(FORM_MARK)
        return merged
    merged = MultiDict(args)
    needs = participant.needs or {}
    if needs.get("languages") and "language" not in args:
        merged["language"] = needs["languages"][0]
    if needs.get("populations") and "population" not in args:
        merged["population"] = needs["populations"][0]
    if needs.get("low_barrier") and "low_barrier" not in args:
        merged["low_barrier"] = "true"
    if needs.get("housing_first") and housing_search and "housing_first" not in args:
        merged["housing_first"] = "true"
    located = any(args.get(name) for name in ("near", "lat", "lon"))
    if participant.place_label and not located:
        merged["near"] = participant.place_label
    return merged
