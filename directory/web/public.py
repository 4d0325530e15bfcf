"""Public pages: search with list (and map), a service's page, and the health check."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text
from werkzeug.exceptions import Unauthorized

from ..domain.access import Actor, can_see_service_staff_content
from ..domain.consent import shown_state
from ..domain.errors import ValidationError
from ..domain.hours import hours_unknown, is_open
from ..domain.search import load_service
from ..extensions import db
from . import context, mapview, results, serializers
from .reads import reads_only

bp = Blueprint("public", __name__)


def directory_read(view):
    """Directory reads (search, service pages, their API and the map's data): public unless the site file
    says `public_read = false`; then only signed-in accounts (401 under /api, the login page otherwise)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not context.site().public_read and not context.viewer_is_staff():
            if request.path.startswith("/api/"):
                raise Unauthorized("this directory is not public: sign in, or send an API token")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


@bp.get("/")
@reads_only
def index():
    """The search page is the home page."""
    return redirect(url_for("public.search"))


@bp.get("/search")
@reads_only
@directory_read
def search():
    """Search form and results; the same query parameters as GET /api/v1/services."""
    error = None
    result = None
    map_items = []
    args, carrying = _with_carried(request.args)
    if any(value.strip() for value in args.values()):
        try:
            result, map_items = context.run_search(args, mapview.MAP_LIMIT)
        except ValidationError as exc:
            error = exc
    at, config, staff = context.now(), context.site(), context.viewer_is_staff()
    rows, confidential_rows = [], []
    if result is not None:
        units = _unit_names()
        for service, distance in result.items:
            row = _result_row(service, distance, at, config, staff, units)
            (confidential_rows if service.id in result.confidential else rows).append(row)
    map_parts, map_data, unplaced = None, None, 0
    if result is not None and result.total:
        map_parts, map_data, unplaced = mapview.search_map(result.query, map_items)
    status = 400 if error else 200
    return (
        render_template(
            "public/search.html",
            args=args,
            carrying=carrying,
            error=error,
            result=result,
            rows=rows,
            confidential_rows=confidential_rows,
            summary=results.search_summary(result.query, context.reference(), context.distance_text)
            if result is not None
            else "",
            distance_unit=config.distance_unit,
            reference=context.reference(),
            labels=serializers.STATUS_LABELS,
            map=map_parts,
            map_data=map_data,
            map_unplaced=unplaced,
            map_limit=mapview.MAP_LIMIT,
            legend=mapview.legend(),
            options=_options(context.reference()),
        ),
        status,
    )


def _options(reference) -> dict[str, list[tuple[str, str]]]:
    """The search form's languages and populations as (name, code) in the page's language, by name."""
    from .labels import label

    return {
        "languages": sorted((label(code, "language"), code) for code in reference.language_names),
        "populations": sorted((label(code, "population"), code) for code in reference.population_names),
    }


def _with_carried(args):
    """The search parameters, with the needs of the participant carried from a plan (staff only), and the
    (participant, goal) carried, or None."""
    if not context.viewer_is_staff():
        return args, None
    from . import carried

    carrying = carried.carried()
    if carrying is None:
        return args, None
    category = args.get("category") or ""
    housing = category == "housing" or category.startswith("housing.")
    return carried.with_needs(args, carrying[0], housing), carrying


def _unit_names() -> dict[str, tuple[str, str]]:
    """Capacity units: id -> (name, plural), for "2 beds free"."""
    from ..models import Unit

    return {unit.id: (unit.name, unit.plural) for unit in db.session.scalars(db.select(Unit))}


def _result_row(service, distance, at, config, staff: bool, units) -> dict:
    """What one result shows: status in words with its age, opening hours now, the number to call."""
    data = serializers.service_dict(service, at, config, staff, distance)
    status = serializers.service_status(service, at, config, staff)
    age = serializers.age_text(service.capacity.confirmed_at if service.capacity else None, at)
    return {
        "service": service,
        # A confidential location is never placed for non-staff, not even by its distance.
        "distance": data.get("distance_km"),
        "status": status,
        "data": data,
        "age": age,
        "status_words": results.status_words(service, status, data, units, age),
        "hours": results.hours_words(service, at, config.time_zone, context.reader_locale()),
        # Marked "open" by the rule, not by the words (they are in the page's language).
        "open_now": not hours_unknown(service) and is_open(service.schedules, at, config.time_zone),
        "call": results.tel_link(service.phones),
        "freshness": results.freshness_marks(service, data, config.freshness_hours),
    }


@bp.get("/services/<id:service_id>")
@reads_only
@directory_read
def service_page(service_id: int):
    """Everything about one service, with a print layout for a slip."""
    service = load_service(db.session, service_id)
    if service is None or (service.status != "active" and not context.viewer_is_staff()):
        abort(404)
    from .referrals import report_context, report_lines

    at, config, staff = context.now(), context.site(), context.viewer_is_staff()
    located = mapview.service_map(service)
    history, referrals = [], []
    # Capacity history and referral timeline: the provider pages' and the API's rule, not just "staff".
    viewer = Actor(current_user.id, current_user.role, current_user.organization_id) if staff else None
    staff_content = can_see_service_staff_content(viewer, service.organization_id)
    if staff_content:
        from ..models import CapacityEvent, Referral

        history = db.session.scalars(
            db.select(CapacityEvent)
            .where(CapacityEvent.service_id == service.id)
            .order_by(CapacityEvent.at.desc(), CapacityEvent.id.desc())
            .limit(20)
        ).all()
        referrals = db.session.scalars(
            db.select(Referral)
            .where(Referral.service_id == service.id)
            .order_by(Referral.created_at.desc(), Referral.id.desc())
            .limit(20)
        ).all()
    data = serializers.service_dict(service, at, config, staff)
    return render_template(
        "public/service.html",
        history=history,
        referrals=referrals,
        service=service,
        data=data,
        status=serializers.service_status(service, at, config, staff),
        age=serializers.age_text(service.capacity.confirmed_at if service.capacity else None, at),
        freshness=results.freshness_marks(service, data, config.freshness_hours),
        labels=serializers.STATUS_LABELS,
        reference=context.reference(),
        staff=staff,
        staff_content=staff_content,
        # Field reports: staff read them beside the numbers; the public sees only the status word.
        report_lines=report_lines([service.id], at).get(service.id, []) if staff else [],
        **report_context(service),
        # A Part 2 program's outcome without a release, a confidential referral's outcome: withheld here too.
        shown_state=lambda referral: shown_state(viewer, referral),
        map=located[0] if located else None,
        map_data=located[1] if located else None,
        legend=mapview.legend(),
    )


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure to reach the database is "unavailable"
        db.session.rollback()
        return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok"})
