"""Reads of participant data: recorded in the audit log as each staff view renders, and the project
manager's page that answers "who looked at this participant code"."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from ..domain import audit
from ..domain.access import AUDITORS
from ..extensions import db
from ..models import Participant, User
from ..words import N_
from . import context
from .auth import require_roles

bp = Blueprint("access_log", __name__)

# What browsers send with a speculative fetch (link prefetch, speculation rules, Firefox's old header).
_PREFETCH_HEADERS = (("Sec-Purpose", "prefetch"), ("Purpose", "prefetch"), ("X-Moz", "prefetch"))


def is_prefetch() -> bool:
    """Whether this request is a browser's speculative fetch rather than a person opening the page."""
    return any(request.headers.get(name, "").lower().startswith(value) for name, value in _PREFETCH_HEADERS)


def record_read(view: str, participant_ids: Iterable[int | None], referral_id: int | None = None) -> None:
    """Append the audit events for a staff view of participant data before it is shown (the request's
    transaction owner commits them with a 2xx answer). A speculative fetch is refused: it would record a
    read nobody made, and show data nobody asked for."""
    if is_prefetch():
        abort(503)
    ids = [i for i in participant_ids if i is not None]  # purged participants leave referrals with none
    if ids:
        audit.record_reads(db.session, current_user.id, view, ids, context.now(), referral_id)


VIEW_LABELS = {
    "plan": N_("plan (goals and referrals)"),
    "check": N_("check page for this participant"),
    "referral": N_("referral page"),
    "slip": N_("slip"),
    "inbox": N_("provider's referral inbox"),
    "access_log": N_("this access log"),
    "releases": N_("releases of information"),
}


@bp.get("/pm/participant-reads")
@require_roles(*AUDITORS)
def participant_reads():
    """Who looked at one participant code's data: when, which account, and what they opened."""
    code = (request.args.get("code") or "").strip().upper()[:20]
    participant, reads, accounts = None, [], {}
    if code:
        participant = db.session.scalar(select(Participant).where(Participant.code == code))
    if participant is not None:
        reads = audit.reads_of(db.session, participant.id)
        # Looking at who looked is itself a view of this participant's record: it is logged too.
        record_read("access_log", [participant.id])
        actor_ids = {r.actor_id for r in reads if r.actor_id is not None}
        if actor_ids:
            accounts = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
    status = 404 if code and participant is None else 200
    return render_template(
        "pm/participant_reads.html",
        code=code,
        participant=participant,
        reads=reads,
        accounts=accounts,
        view_labels={view: gettext(words) for view, words in VIEW_LABELS.items()},
    ), status
