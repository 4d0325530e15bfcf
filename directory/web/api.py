"""The HTTP API under /api/v1 (contract.md): JSON in and out."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from ..domain.access import CAPACITY_KEEPERS, CASE_MANAGERS, REFERRERS, STAFF
from ..domain.errors import Forbidden, NotFound
from ..domain.search import load_service
from ..extensions import db
from ..models import TaxonomyTerm, Unit
from . import context, serializers
from .access_log import record_read
from .auth import actor, require_roles, visible_referral
from .openapi import openapi_document
from .public import directory_read
from .reads import reads_only

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/services")
@reads_only
@directory_read
def list_services():
    """Search the directory."""
    result, _ = context.run_search(request.args)
    at, config, staff = context.now(), context.site(), context.viewer_is_staff()
    items = [serializers.service_dict(s, at, config, staff, distance) for s, distance in result.items]
    if result.query.center is not None:
        # With a location, every item says how far it is; null for those never placed (confidential).
        for item in items:
            item.setdefault("distance_km", None)
    return jsonify(
        {
            "items": items,
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
        }
    )


@bp.get("/services/<id:service_id>")
@reads_only
@directory_read
def get_service(service_id: int):
    """One service."""
    service = load_service(db.session, service_id)
    if service is None or service.status != "active" and not context.viewer_is_staff():
        raise NotFound(f"no service {service_id}")
    at, staff = context.now(), context.viewer_is_staff()
    data = serializers.service_dict(service, at, context.site(), staff)
    if staff:
        # Staff read the standing field reports beside the numbers; the public only the status word.
        from ..domain.field_reports import open_reports, report_dict

        reports = open_reports(db.session, [service.id], at, context.site()).get(service.id, [])
        data["field_reports"] = [report_dict(r, at) for r in reports]
    return jsonify(data)


@bp.get("/taxonomy")
@reads_only
@directory_read
def taxonomy():
    """IIP domains with their terms, and the vocabularies the filters accept."""
    ref = context.reference()
    terms = db.session.scalars(db.select(TaxonomyTerm).order_by(TaxonomyTerm.position, TaxonomyTerm.id)).all()
    children: dict[str, list] = {}
    for term in terms:
        if term.parent_id is not None:
            children.setdefault(term.parent_id, []).append(
                {"id": term.id, "name": term.name, "description": term.description}
            )
    domains = [
        {"id": t.id, "name": t.name, "description": t.description, "terms": children.get(t.id, [])}
        for t in terms
        if t.parent_id is None
    ]
    units = db.session.scalars(db.select(Unit).order_by(Unit.id)).all()
    return jsonify(
        {
            "domains": domains,
            "languages": [{"code": c, "name": n} for c, n in sorted(ref.language_names.items())],
            "populations": [{"code": c, "name": n} for c, n in sorted(ref.population_names.items())],
            "units": [{"id": u.id, "name": u.name} for u in units],
            "places": sorted(ref.place_names.values()),
        }
    )


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI document of this API."""
    return jsonify(openapi_document())


# --- Capacity (providers) ---------------------------------------------------------------------------------


def _check_json(result) -> dict:
    return serializers.check_dict(result, context.now(), context.site())


def _json_body() -> dict:
    """The request's JSON object, or a 400 naming what is wrong."""
    from ..domain.errors import ValidationError

    if not request.data:
        return {}
    body = request.get_json(silent=True)
    if body is None:
        raise ValidationError("the body is not valid JSON", None)
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", None)
    return body


@bp.put("/services/<id:service_id>/capacity")
@require_roles(*CAPACITY_KEEPERS)
def put_capacity(service_id: int):
    """A provider sets its numbers (confirming them); holds beyond availability are flagged at risk."""
    from ..domain.capacity_updates import parse_changes, update_capacity

    body = request.get_json(silent=True)
    if body is None:
        from ..domain.errors import ValidationError

        raise ValidationError("the body must be a JSON object with the numbers to set", None)
    changes = parse_changes(body)
    channel = "api" if g.get("bearer") else "web"
    row, at_risk, _ = update_capacity(db.session, actor(), service_id, changes, channel, context.now())
    data = _capacity_of(row)
    return jsonify({**data, "capacity": data, "holds_at_risk": at_risk})


def _capacity_of(row) -> dict:
    """The contract's capacity object for a row just written (before commit expires it)."""
    from types import SimpleNamespace

    holder = SimpleNamespace(capacity=row, coordinated_entry=row.service.coordinated_entry)
    return serializers.capacity_dict(holder, context.now(), context.site(), True)


@bp.post("/services/<id:service_id>/capacity/confirm")
@require_roles(*CAPACITY_KEEPERS)
def confirm_capacity(service_id: int):
    """ "Still correct": refresh confirmed_at, numbers unchanged."""
    from ..domain.capacity_updates import confirm_capacity as confirm

    channel = "api" if g.get("bearer") else "web"
    row = confirm(db.session, actor(), service_id, channel, context.now())
    data = _capacity_of(row)
    return jsonify({**data, "capacity": data})


@bp.post("/services/<id:service_id>/capacity/reports")
@require_roles(*REFERRERS)
def report_capacity(service_id: int):
    """ "They said full": a case manager or peer reports what they found; the provider is asked to confirm."""
    from ..domain import field_reports
    from ..domain.referrals import load_service as load_active

    ask = field_reports.parse(_json_body())
    service = load_active(db.session, service_id)
    made = field_reports.file_report(db.session, actor(), service, ask, context.now(), context.site())
    return jsonify(field_reports.report_dict(made, context.now())), 201


# --- Participants and referrals -------------------------------------------------------------------------


def _participant_for(code: object, acting, for_request: bool = False):
    """The participant named by a code, visible to the actor (peer outreach may send requests for any)."""
    from ..domain.errors import ValidationError
    from ..domain.participants import get_participant
    from ..domain.referral_requests import participant_for_referral

    if not isinstance(code, str) or not code.strip() or len(code) > 20:
        raise ValidationError("participant_code is required", "participant_code")
    if for_request:
        return participant_for_referral(db.session, acting, code)
    try:
        return get_participant(db.session, acting, code)
    except Forbidden:
        # Another case manager's participant answers exactly as a code that does not exist: the API
        # must not tell a guesser which codes are real.
        raise NotFound(f"no participant {code[:20]!r}") from None


@bp.post("/participants")
@require_roles(*CASE_MANAGERS)
def create_participant():
    """Create a participant with a generated code."""
    from ..domain.errors import ValidationError
    from ..domain.participants import create_participant as create

    body = _json_body()
    unknown = set(body) - {"needs", "place"}
    if unknown:
        raise ValidationError(
            f"unknown field {sorted(unknown)[0]!r}: only needs and place", sorted(unknown)[0][:100]
        )
    participant = create(
        db.session, actor(), body.get("needs"), body.get("place"), context.now(), context.reference()
    )
    return jsonify(serializers.participant_dict(participant, [])), 201


@bp.get("/participants/<code>")
@require_roles(*CASE_MANAGERS)
def get_participant(code: str):
    """A participant with their plan: goals and the referrals under each."""
    from ..domain.participants import loose_referrals

    participant = _participant_for(code, actor())
    record_read("plan", [participant.id])
    return jsonify(serializers.participant_dict(participant, loose_referrals(db.session, participant)))


@bp.post("/participants/<code>/goals")
@require_roles(*CASE_MANAGERS)
def add_goal(code: str):
    """Add a self-identified goal in an IIP domain."""
    from ..domain.participants import add_goal as add

    participant = _participant_for(code, actor())
    body = _json_body()
    goal = add(
        db.session,
        actor(),
        participant,
        body.get("domain"),
        body.get("text"),
        context.now(),
        context.reference(),
    )
    return jsonify(serializers.goal_dict(goal)), 201


RELEASE_FIELDS = ("organization_id", "purpose", "signed_on", "expires_on")
MAX_ID = 2**31 - 1  # ids above it exist nowhere (and would overflow an integer column on PostgreSQL)


@bp.get("/participants/<code>/releases")
@require_roles(*CASE_MANAGERS)
def list_releases(code: str):
    """The participant's releases of information, newest first, each with its state today (the
    participant's own case manager or an admin; the read is audited)."""
    participant = _participant_for(code, actor())
    record_read("releases", [participant.id])
    today = context.now().date()
    releases = sorted(participant.releases, key=lambda r: r.id, reverse=True)
    return jsonify({"items": [serializers.release_dict(r, today) for r in releases]})


@bp.post("/participants/<code>/releases")
@require_roles(*CASE_MANAGERS)
def record_release(code: str):
    """Record that a signed release exists: the organization it covers, the purpose, the dates (audited)."""
    from ..domain.consent import record_release as record
    from ..domain.errors import ValidationError

    participant = _participant_for(code, actor())
    body = _json_body()
    unknown = sorted(set(body) - set(RELEASE_FIELDS))
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0][:100]!r}: only {', '.join(RELEASE_FIELDS)}", unknown[0][:100]
        )
    for name in RELEASE_FIELDS:
        if body.get(name) is None:
            raise ValidationError(f"{name} is required", name)
    organization_id = body["organization_id"]
    is_number = isinstance(organization_id, int) and not isinstance(organization_id, bool)
    if is_number and not 1 <= organization_id <= MAX_ID:
        raise ValidationError("no such organization", "organization_id")
    release = record(
        db.session,
        actor(),
        participant,
        organization_id,
        body["purpose"],
        body["signed_on"],
        body["expires_on"],
        context.now(),
    )
    return jsonify(serializers.release_dict(release, context.now().date())), 201


@bp.post("/participants/<code>/releases/<id:release_id>/revoke")
@require_roles(*CASE_MANAGERS)
def revoke_release(code: str, release_id: int):
    """The participant revoked the release: from now on it covers nothing (audited; 409 if it already was)."""
    from ..domain.consent import load_release
    from ..domain.consent import revoke_release as revoke

    participant = _participant_for(code, actor())
    release = revoke(db.session, actor(), load_release(db.session, participant, release_id), context.now())
    return jsonify(serializers.release_dict(release, context.now().date()))


def _near(body: dict):
    from ..domain.geo import resolve_near

    if body.get("near") is None:
        return None
    if not isinstance(body["near"], str):
        from ..domain.errors import ValidationError

        raise ValidationError("near must be text: lat,lon, a ZIP, an address or a place name", "near")
    point = resolve_near(body["near"], context.reference().places, context.address_geocoder())
    return point.latitude, point.longitude


@bp.post("/referrals/check")
@require_roles(*REFERRERS)
def referral_check():
    """The non-displacement check: classification, plain reasons, numbers, alternatives. Claims nothing."""
    from ..domain.referrals import check
    from ..domain.referrals import load_service as load_active

    body = _json_body()
    acting = actor()
    service = load_active(db.session, body.get("service_id"))
    participant = None
    if body.get("participant_code") is not None:
        participant = _participant_for(body["participant_code"], acting, for_request=True)
    result = check(db.session, acting, service, participant, context.now(), context.site(), near=_near(body))
    return jsonify(_check_json(result))


@bp.post("/referrals")
@require_roles(*REFERRERS)
def create_referral():
    """Refer a participant: atomic check-and-claim; 409 with the fresh check if the rule forbids it now."""
    from ..domain.referral_requests import from_json, submit
    from ..domain.referrals import StaleCheck
    from .errors import error_response

    ask = from_json(_json_body(), request.headers.get("Idempotency-Key"))
    try:
        referral = submit(db.session, actor(), ask, context.now(), context.site())
    except StaleCheck as exc:
        return error_response(
            409,
            exc.message,
            exc.code,
            exc.field,
            check=_check_json(exc.check),
        )
    return jsonify(serializers.referral_dict(referral)), 201


@bp.get("/referrals/<id:referral_id>")
@require_roles(*STAFF)
def get_referral(referral_id: int):
    """One referral with its history."""
    referral = visible_referral(referral_id)
    record_read("referral", [referral.participant_id], referral.id)
    return jsonify(serializers.referral_dict(referral))


def _transition(referral_id: int, verb: str):
    from ..domain.errors import ValidationError
    from ..domain.referrals import parse_decline, transition

    referral = visible_referral(referral_id)
    body = _json_body()
    decline = None
    if verb == "decline":
        unknown = sorted(set(body) - {"note", "reason", "rule", "attribute"})
        if unknown:
            raise ValidationError(f"unknown field {unknown[0]!r}", unknown[0][:100])
        decline = parse_decline(referral.service, body.get("reason"), body.get("rule"), body.get("attribute"))
    transition(db.session, actor(), referral, verb, context.now(), note=body.get("note"), decline=decline)
    return jsonify(serializers.referral_dict(referral))


@bp.post("/referrals/<id:referral_id>/accept")
@require_roles(*CAPACITY_KEEPERS)
def accept_referral(referral_id: int):
    """The provider accepts: the hold becomes a placement (available or LEAD available drops by 1)."""
    return _transition(referral_id, "accept")


@bp.post("/referrals/<id:referral_id>/decline")
@require_roles(*CAPACITY_KEEPERS)
def decline_referral(referral_id: int):
    """The provider declines with a reason: the hold ends, the unit is free again."""
    return _transition(referral_id, "decline")


@bp.post("/referrals/<id:referral_id>/cancel")
@require_roles(*CASE_MANAGERS)
def cancel_referral(referral_id: int):
    """The case manager cancels: the hold ends, the unit is free again."""
    return _transition(referral_id, "cancel")
