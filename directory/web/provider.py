"""Provider pages: the dashboard of an organization's services, the update form, confirm, history, staff,
the referral inbox, and the one-tap "still correct" link from reminder emails."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from ..database import begin_write
from ..domain.access import CAPACITY_KEEPERS, Actor
from ..domain.capacity_updates import FIELDS, confirm_capacity, parse_changes, update_capacity
from ..domain.errors import Conflict, DomainError, Forbidden, ValidationError
from ..domain.referrals import OPEN_STATES, load_referral, parse_decline, transition
from ..domain.search import load_service
from ..extensions import db
from ..links import read_confirm_token
from ..models import CapacityEvent, ConfirmLink, Organization, Referral, Service, User
from . import context, serializers
from .access_log import record_read
from .auth import actor, require_roles
from .ids import parse_id

bp = Blueprint("provider", __name__)


def _organization_id() -> int:
    """The organization whose dashboard this is: the provider's own; an admin picks one with ?org=."""
    if current_user.role == "provider":
        return current_user.organization_id
    org_id = parse_id(request.values.get("org", ""))
    if org_id is None or db.session.get(Organization, org_id) is None:
        abort(404, "choose an organization: ?org=ID")
    return org_id


def _own_service(service_id: int) -> Service:
    service = load_service(db.session, service_id)
    if service is None:
        abort(404)
    if not (current_user.role == "admin" or service.organization_id == current_user.organization_id):
        raise Forbidden("this service belongs to another organization")
    return service


def _rows(services, at, config):
    rows = []
    for service in services:
        row = service.capacity
        rows.append(
            {
                "service": service,
                "status": serializers.service_status(service, at, config),
                "capacity": serializers.capacity_dict(service, at, config, True),
                "age": serializers.age_text(row.confirmed_at if row else None, at),
            }
        )
    return rows


@bp.get("/provider")
@require_roles(*CAPACITY_KEEPERS)
def dashboard():
    """Each of the organization's services with its numbers and their age; confirm in one tap."""
    org_id = _organization_id()
    at, config = context.now(), context.site()
    ids = db.session.scalars(
        select(Service.id).where(Service.organization_id == org_id).order_by(Service.name, Service.id)
    ).all()
    from ..domain.search import _load

    loaded = _load(db.session, list(ids))
    services = [loaded[i] for i in ids]
    inbox = db.session.scalar(
        select(db.func.count())
        .select_from(Referral)
        .join(Service, Service.id == Referral.service_id)
        .where(Service.organization_id == org_id, Referral.state.in_(OPEN_STATES))
    )
    return render_template(
        "provider/dashboard.html",
        organization=db.session.get(Organization, org_id),
        rows=_rows(services, at, config),
        labels=serializers.STATUS_LABELS,
        inbox=inbox,
        conflicts=_conflicts_of(org_id),
        org_query={"org": org_id} if current_user.role == "admin" else {},
    )


def _back(service: Service):
    query = {"org": service.organization_id} if current_user.role == "admin" else {}
    return redirect(url_for("provider.dashboard", **query) + f"#service-{service.id}")


@bp.post("/provider/services/<id:service_id>/confirm")
@require_roles(*CAPACITY_KEEPERS)
def confirm(service_id: int):
    """ "Still correct" for one service."""
    service = _own_service(service_id)
    confirm_capacity(db.session, actor(), service.id, "web", context.now())
    return _back(service)


@bp.post("/provider/confirm-all")
@require_roles(*CAPACITY_KEEPERS)
def confirm_all():
    """ "Still correct" for every tracked service of the organization whose numbers are known."""
    org_id = _organization_id()
    acting, at = actor(), context.now()
    services = db.session.scalars(select(Service).where(Service.organization_id == org_id)).all()
    for service in services:
        if service.capacity is not None and service.capacity.available is not None:
            confirm_capacity(db.session, acting, service.id, "web", at)
    query = {"org": org_id} if current_user.role == "admin" else {}
    return redirect(url_for("provider.dashboard", **query))


def _form_changes(form) -> dict:
    """Turn the update form into the API's changes (empty waitlist or "unknown" ticked = null)."""
    body: dict = {}
    for name in FIELDS:
        if name == "waitlist" and form.get("waitlist_unknown"):
            body[name] = None
            continue
        raw = (form.get(name) or "").strip()
        if raw == "":
            if name in ("waitlist", "available"):
                body[name] = None
            continue
        if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
            raise ValidationError(f"{name.replace('_', ' ')} must be a whole number from 0 to 100,000", name)
        body[name] = int(raw)
    return parse_changes(body)


@bp.route("/provider/services/<id:service_id>", methods=["GET", "POST"])
@require_roles(*CAPACITY_KEEPERS)
def edit(service_id: int):
    """The one-screen update form with +/- steppers."""
    service = _own_service(service_id)
    if service.capacity is None:
        abort(404, "this service does not track capacity")
    error = None
    at_risk: list[int] = []
    if request.method == "POST":
        try:
            changes = _form_changes(request.form)
            _, at_risk, _ = update_capacity(db.session, actor(), service.id, changes, "web", context.now())
            if not at_risk:
                return _back(service)
        except DomainError as exc:
            db.session.rollback()
            error = exc
    service = load_service(db.session, service.id)
    at = context.now()
    history = db.session.scalars(
        select(CapacityEvent)
        .where(CapacityEvent.service_id == service.id)
        .order_by(CapacityEvent.at.desc(), CapacityEvent.id.desc())
        .limit(20)
    ).all()
    return (
        render_template(
            "provider/edit.html",
            service=service,
            capacity=serializers.capacity_dict(service, at, context.site(), True),
            status=serializers.service_status(service, at, context.site()),
            age=serializers.age_text(service.capacity.confirmed_at, at),
            labels=serializers.STATUS_LABELS,
            error=error,
            form=request.form if error else None,
            at_risk=at_risk,
            history=history,
            field_reports=_report_lines(service, at),
        ),
        400 if error else 200,
    )


@bp.route("/provider/services/<id:service_id>/details", methods=["GET", "POST"])
@require_roles(*CAPACITY_KEEPERS)
def details(service_id: int):
    """Hours, phone, eligibility and alert as the provider keeps them (kept on re-import, see
    provider_edits); only the fields whose text changed are saved."""
    from ..domain.provider_edits import EDITABLE_FIELDS, edit_details, form_values, parse_details

    service = _own_service(service_id)
    current = form_values(service)
    error = None
    if request.method == "POST":
        submitted = {name: request.form.get(name, "") for name in EDITABLE_FIELDS if name in request.form}
        changed = {name: text for name, text in submitted.items() if text.strip() != current[name].strip()}
        if not changed:
            return _back(service)
        try:
            edit_details(db.session, actor(), service.id, parse_details(changed), context.now())
            return _back(service)
        except DomainError as exc:
            db.session.rollback()
            error = exc
    service = load_service(db.session, service.id)
    return (
        render_template(
            "provider/details.html",
            service=service,
            values=request.form if error else current,
            error=error,
            conflicts=_conflicts_of(service.organization_id, service.id),
            org_query={"org": service.organization_id} if current_user.role == "admin" else {},
        ),
        400 if error else 200,
    )


def _conflicts_of(organization_id: int, service_id: int | None = None) -> list:
    """The organization's edits a feed replaced (one service's when service_id is given)."""
    from ..domain.provider_edits import LABELS, conflicts

    return [
        {"edit": edit, "label": LABELS[edit.field]}
        for edit in conflicts(db.session, organization_id)
        if service_id is None or edit.service_id == service_id
    ]


@bp.post("/provider/services/<id:service_id>/conflicts/<field>/keep-feed")
@require_roles(*CAPACITY_KEEPERS)
def keep_feed(service_id: int, field: str):
    """The provider keeps the feed's value of a field the feed changed after their edit."""
    from ..domain.provider_edits import EDITABLE_FIELDS, keep_feed_value

    service = _own_service(service_id)
    if field not in EDITABLE_FIELDS:
        abort(404)
    keep_feed_value(db.session, actor(), service.id, field, context.now())
    org_query = {"org": service.organization_id} if current_user.role == "admin" else {}
    return redirect(url_for("provider.dashboard", **org_query) + "#edit-conflicts")


@bp.route("/provider/upload", methods=["GET", "POST"])
@require_roles(*CAPACITY_KEEPERS)
def upload():
    """Numbers for many services at once from a CSV: a preview first (nothing written), then applied through
    the capacity rule; the problems reported as an import run's are."""
    from ..domain.bulk_numbers import ID_COLUMN, MAX_ROWS, upload_numbers
    from ..domain.imports import problem_rows

    org_id = _organization_id()
    org_query = {"org": org_id} if current_user.role == "admin" else {}
    result, error, data, name = None, None, b"", "upload.csv"
    if request.method == "POST":
        apply = request.form.get("step") == "apply"
        sent = request.files.get("file")
        if sent is not None and sent.filename:
            data, name = sent.read(), sent.filename.rsplit("/", 1)[-1]
        else:
            data = (request.form.get("csv_text") or "").encode("utf-8")
            name = request.form.get("file_name") or name
        try:
            result = upload_numbers(db.session, actor(), org_id, data, name, context.now(), apply)
        except DomainError as exc:
            db.session.rollback()
            error = exc
    return (
        render_template(
            "provider/upload.html",
            organization=db.session.get(Organization, org_id),
            result=result,
            problems=problem_rows([p.as_dict() for p in result.problems]) if result else [],
            csv_text=data.decode("utf-8", errors="replace") if result and not result.applied else "",
            file_name=name,
            error=error,
            id_column=ID_COLUMN,
            max_rows=MAX_ROWS,
            org_query=org_query,
        ),
        error.status if error else 200,
    )


def _report_lines(service: Service, at) -> list[str]:
    """The open field reports on the service, as its provider reads them (the reporter's role, never who)."""
    from ..domain.field_reports import describe, open_reports

    reports = open_reports(db.session, [service.id], at, context.site()).get(service.id, [])
    return [
        describe(r, at) + (f"; the correct phone may be {r.correct_phone}" if r.correct_phone else "")
        for r in reports
    ]


@bp.post("/provider/services/<id:service_id>/part2")
@require_roles(*CAPACITY_KEEPERS)
def part2(service_id: int):
    """Mark the service as a 42 CFR Part 2 program, or not (consent.py: its outcomes then need a release)."""
    from ..domain.consent import set_part2_program

    service = _own_service(service_id)
    set_part2_program(db.session, actor(), service, request.form.get("part2_program") == "1", context.now())
    org_query = {"org": service.organization_id} if current_user.role == "admin" else {}
    return redirect(url_for("provider.dashboard", **org_query) + f"#service-{service.id}")


HISTORY_COLUMNS = ("at", "kind", "channel", "user")
NUMBER_COLUMNS = ("maximum", "available", "waitlist", "lead_funded_maximum", "lead_funded_available")


def history_csv(events) -> str:
    """Capacity history as CSV: who, when, through what, before -> after for each number."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = list(HISTORY_COLUMNS)
    for name in NUMBER_COLUMNS:
        header += [f"{name}_before", f"{name}_after"]
    writer.writerow(header)
    for event in events:
        before, after = event.before or {}, event.after or {}
        row = [
            event.at.isoformat(timespec="seconds"),
            event.kind,
            event.channel,
            event.user.email if event.user else "",
        ]
        for name in NUMBER_COLUMNS:
            row += [before.get(name, ""), after.get(name, "")]
        writer.writerow([csv_safe(value) for value in row])
    return out.getvalue()


def csv_safe(value) -> str:
    """Neutralize spreadsheet formulas in untrusted text (a cell starting with = + - @ is prefixed)."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r" and not text.lstrip("-").isdigit():
        return "'" + text
    return text


@bp.get("/provider/services/<id:service_id>/history.csv")
@require_roles(*CAPACITY_KEEPERS, "project_manager")
def history(service_id: int):
    """Every change and confirmation of a service's numbers, as CSV."""
    if current_user.role == "project_manager":
        service = load_service(db.session, service_id)
        if service is None:
            abort(404)
    else:
        service = _own_service(service_id)
    events = db.session.scalars(
        select(CapacityEvent)
        .where(CapacityEvent.service_id == service.id)
        .order_by(CapacityEvent.at, CapacityEvent.id)
    ).all()
    return Response(
        history_csv(events),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="capacity-history-{service.id}.csv"'},
    )


@bp.get("/provider/referrals")
@require_roles(*CAPACITY_KEEPERS)
def inbox():
    """Incoming referrals: open ones first, with accept and decline."""
    org_id = _organization_id()
    referrals = db.session.scalars(
        select(Referral)
        .join(Service, Service.id == Referral.service_id)
        .where(Service.organization_id == org_id)
        .order_by(Referral.state.notin_(OPEN_STATES), Referral.created_at.desc(), Referral.id.desc())
        .limit(200)
    ).all()
    record_read("inbox", [r.participant_id for r in referrals])
    return render_template(
        "provider/inbox.html",
        referrals=referrals,
        open_states=OPEN_STATES,
        now=context.now(),
        **decline_context(),
    )


@bp.get("/provider/referrals/<id:referral_id>")
@require_roles(*CAPACITY_KEEPERS)
def inbox_item(referral_id: int):
    """One incoming referral."""
    referral = load_referral(db.session, referral_id)
    if not (current_user.role == "admin" or referral.service.organization_id == current_user.organization_id):
        raise Forbidden("this referral is for another organization")
    record_read("inbox", [referral.participant_id], referral.id)
    return render_template(
        "provider/inbox.html",
        referrals=[referral],
        open_states=OPEN_STATES,
        now=context.now(),
        **decline_context(),
    )


@bp.post("/provider/referrals/<id:referral_id>/<verb>")
@require_roles(*CAPACITY_KEEPERS)
def decide(referral_id: int, verb: str):
    """Accept or decline an incoming referral."""
    if verb not in ("accept", "decline"):
        abort(404)
    referral = load_referral(db.session, referral_id)
    if not (current_user.role == "admin" or referral.service.organization_id == current_user.organization_id):
        raise Forbidden("this referral is for another organization")
    note = (request.form.get("note") or "").strip() or None
    decline = None
    try:
        if verb == "decline":
            form = request.form
            decline = parse_decline(
                referral.service, form.get("reason"), form.get("rule"), form.get("attribute")
            )
        transition(db.session, actor(), referral, verb, context.now(), note=note, decline=decline)
    except ValidationError as exc:
        db.session.rollback()
        referral = load_referral(db.session, referral_id)
        return render_template(
            "provider/inbox.html",
            referrals=[referral],
            open_states=OPEN_STATES,
            now=context.now(),
            error=exc,
            **decline_context(),
        ), exc.status
    return redirect(url_for("provider.inbox"))


def decline_context() -> dict:
    """The decline form's choices: the reasons, and the listed attributes a turn-away can name."""
    from ..domain.field_reports import ATTRIBUTE_WORDS, listed_attributes
    from ..domain.referrals import DECLINE_WORDS

    return {"decline_words": DECLINE_WORDS, "attribute_words": ATTRIBUTE_WORDS, "listed": listed_attributes}


@bp.route("/provider/staff", methods=["GET", "POST"])
@require_roles(*CAPACITY_KEEPERS)
def staff():
    """An organization's provider admin adds and removes its own staff."""
    org_id = _organization_id()
    if current_user.role == "provider" and not current_user.user.org_admin:
        raise Forbidden("only your organization's provider admin manages staff")
    error = None
    created_password = None
    if request.method == "POST":
        action = request.form.get("action")
        begin_write(db.session)
        if action == "add":
            email = (request.form.get("email") or "").strip().lower()
            if "@" not in email or len(email) > 254:
                error = "Give a valid email address."
            elif db.session.scalar(select(User.id).where(User.email == email)) is not None:
                error = "That email already has an account."
            else:
                import secrets

                created_password = secrets.token_urlsafe(12)
                db.session.add(
                    User(
                        email=email,
                        role="provider",
                        organization_id=org_id,
                        password_hash=generate_password_hash(created_password),
                    )
                )
        elif action == "remove":
            user_id = parse_id(request.form.get("user_id", ""))
            target = db.session.get(User, user_id) if user_id is not None else None
            if target is None or target.organization_id != org_id or target.role != "provider":
                error = "No such staff member."
            elif target.id == current_user.id:
                error = "You cannot remove yourself."
            else:
                from ..domain.accounts import set_active

                # Removal ends the member's sessions and API tokens too (a reactivation starts afresh).
                set_active(db.session, current_user.id, target.id, False, context.now())
    members = db.session.scalars(
        select(User).where(User.organization_id == org_id, User.role == "provider").order_by(User.email)
    ).all()
    return render_template(
        "provider/staff.html", members=members, error=error, created_password=created_password
    ), (400 if error else 200)


# --- One-tap "still correct" links from reminder emails (no login) ----------------------------------------


def _link(token: str) -> ConfirmLink:
    nonce = read_confirm_token(current_app.config["SECRET_KEY"], token)
    link = db.session.scalar(select(ConfirmLink).where(ConfirmLink.nonce == nonce)) if nonce else None
    if link is None:
        abort(404, "This link is not valid.")
    return link


@bp.get("/confirm/<token>")
def confirm_link(token: str):
    """The page a reminder links to: one big "Still correct" button.

    A GET never confirms: mail scanners open links, and a scanner must not vouch for the numbers.
    """
    link = _link(token)
    service = load_service(db.session, link.service_id)
    at = context.now()
    state = "used" if link.used_at else ("expired" if link.expires_at < at else "ready")
    return render_template(
        "provider/confirm_link.html",
        service=service,
        capacity=serializers.capacity_dict(service, at, context.site(), True),
        age=serializers.age_text(service.capacity.confirmed_at if service.capacity else None, at),
        state=state,
        token=token,
    ), (200 if state == "ready" else 410)


@bp.post("/confirm/<token>")
def confirm_link_post(token: str):
    """Confirm through a reminder link: works once, until it expires."""
    link = _link(token)
    at = context.now()
    if link.expires_at < at:
        raise Conflict("this link has expired: sign in to confirm", "token")
    # The conditional update makes the link single-use even if two taps race.
    begin_write(db.session)
    used = db.session.execute(
        update(ConfirmLink).where(ConfirmLink.id == link.id, ConfirmLink.used_at.is_(None)).values(used_at=at)
    ).rowcount
    if not used:
        raise Conflict("this link has already been used", "token")
    service = db.session.get(Service, link.service_id)
    # The link stands for the organization's staff it was sent to (no account is signed in).
    confirm_capacity(
        db.session,
        Actor(link.user_id, "provider", service.organization_id),
        link.service_id,
        "email_link",
        at,
    )
    service = load_service(db.session, link.service_id)
    return render_template(
        "provider/confirm_link.html",
        service=service,
        capacity=serializers.capacity_dict(service, at, context.site(), True),
        age=serializers.age_text(service.capacity.confirmed_at, at),
        state="done",
        token=token,
    )
