"""Provider pages: the dashboard of an organization's services, the update form, confirm, history, staff,
the referral inbox, and the one-tap "still correct" link from reminder emails."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import format_number, gettext
from flask_login import current_user
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from ..database import begin_write
from ..domain.access import CAPACITY_KEEPERS, Actor
from ..domain.capacity_updates import (
    FIELDS,
    PROBLEMS,
    confirm_capacity,
    number_problems,
    parse_changes,
    update_capacity,
)
from ..domain.errors import Conflict, DomainError, Forbidden, ValidationError
from ..domain.referrals import OPEN_STATES, load_referral, parse_decline, transition
from ..domain.search import load_service
from ..extensions import db
from ..links import read_confirm_token
from ..models import MAX_COUNT, CapacityEvent, ConfirmLink, Organization, Referral, Service, User
from ..words import N_
from . import context, serializers
from .access_log import record_read
from .auth import actor, require_roles
from .errors import shown
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
        saved=_saved(request.args.get("saved", "")),
    )


SAVED_WORDS = {
    "confirm": N_("Saved: the numbers are confirmed as of now."),
    "update": N_("Saved: the new numbers are confirmed as of now."),
    "nobody": N_("Saved: nobody waiting, numbers confirmed as of now."),
}


def _saved(raw: str) -> tuple[str, str] | None:
    """The "Saved" confirmation a redirect asks for: ("all" or a service id, what was saved), or None."""
    target, _, what = raw.partition(":")
    if what not in SAVED_WORDS or not (target == "all" or (target.isdigit() and len(target) < 12)):
        return None
    return target, gettext(SAVED_WORDS[what])


def _back(service: Service, what: str = "update"):
    """Back to the dashboard at the service, saying what was saved."""
    query = {"org": service.organization_id} if current_user.role == "admin" else {}
    saved = f"{service.id}:{what}"
    return redirect(url_for("provider.dashboard", saved=saved, **query) + f"#service-{service.id}")


TOTAL_WORDS = {  # the units of config.UNIT_TYPES, counted
    "shelter_bed": N_("Total shelter beds"),
    "bed": N_("Total beds"),
    "unit": N_("Total units"),
    "slot": N_("Total slots"),
    "appointment": N_("Total appointments"),
}


def field_labels(unit: str | None) -> dict[str, str]:
    """The update form's labels in the page's language, the words its problems are told in (a shelter's
    waitlist is its line)."""
    unit = unit or "unit"
    if unit in TOTAL_WORDS:
        total = gettext(TOTAL_WORDS[unit])
    else:  # a unit the site added: its code, read as words
        total = gettext("Total (%(unit)s)", unit=unit.replace("_", " "))
    return {
        "available": gettext("Free now"),
        "maximum": total,
        "waitlist": gettext("People expected in line tonight")
        if unit == "shelter_bed"
        else gettext("People on the waitlist"),
        "lead_funded_available": gettext("LEAD-funded free"),
        "lead_funded_maximum": gettext("LEAD-funded total"),
    }


def problem_text(code: str, labels: dict[str, str]) -> str:
    """A broken invariant in the form's words ("Free now cannot be more than Total beds.")."""
    if code == "available_over_maximum":
        return gettext(
            "%(free)s cannot be more than %(total)s.", free=labels["available"], total=labels["maximum"]
        )
    if code == "lead_available_over_lead_maximum":
        return gettext(
            "%(free)s cannot be more than %(total)s.",
            free=labels["lead_funded_available"],
            total=labels["lead_funded_maximum"],
        )
    return gettext(
        "This service cannot hold LEAD-funded units: it is not LEAD-fundable (a religious requirement, "
        "conversion therapy, or housing that excludes active use or sex work)."
    )


@bp.post("/provider/services/<id:service_id>/confirm")
@require_roles(*CAPACITY_KEEPERS)
def confirm(service_id: int):
    """ "Still correct" for one service."""
    service = _own_service(service_id)
    confirm_capacity(db.session, actor(), service.id, "web", context.now())
    return _back(service, "confirm")


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
    return redirect(url_for("provider.dashboard", saved="all:confirm", **query))


def _form_changes(form, labels: dict[str, str]) -> tuple[dict, dict[str, str]]:
    """Turn the update form into the API's changes (empty waitlist or "unknown" ticked = null), and every
    field's problem in the form's words ({field: sentence})."""
    body: dict = {}
    problems: dict[str, str] = {}
    for name in FIELDS:
        if name == "waitlist" and form.get("waitlist_unknown"):
            body[name] = None
            continue
        raw = (form.get(name) or "").strip()
        if raw == "":
            if name in ("waitlist", "available"):
                body[name] = None
            elif name == "maximum":
                problems[name] = gettext(
                    "Give %(field)s: a whole number from 0 to %(most)s.",
                    field=labels[name],
                    most=format_number(MAX_COUNT),
                )
            continue
        if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) > MAX_COUNT:
            problems[name] = gettext(
                "%(field)s must be a whole number from 0 to %(most)s.",
                field=labels[name],
                most=format_number(MAX_COUNT),
            )
            continue
        body[name] = int(raw)
    return body, problems


def _form_problems(service: Service, form) -> tuple[dict, dict[str, str]]:
    """The form's changes and all its problems, each at its field: unreadable numbers first, then every
    invariant the numbers would break (the same rule update_capacity applies under its lock)."""
    # Every field is read, also one the form does not show (a LEAD figure posted to a service that cannot
    # hold LEAD units is refused, not ignored).
    labels = field_labels(service.capacity.unit_id if service.capacity else None)
    body, problems = _form_changes(form, labels)
    if problems:
        return body, problems
    row = service.capacity
    values = {name: getattr(row, name) for name in FIELDS}
    values.update(body)
    for code in number_problems(values, service.lead_fundable):
        problems.setdefault(PROBLEMS[code][0], problem_text(code, labels))
    return body, problems


def _labels_for(service: Service) -> dict[str, str]:
    labels = field_labels(service.capacity.unit_id if service.capacity else None)
    if not service.lead_fundable:
        labels = {k: v for k, v in labels.items() if not k.startswith("lead_funded")}
    return labels


@bp.route("/provider/services/<id:service_id>", methods=["GET", "POST"])
@require_roles(*CAPACITY_KEEPERS)
def edit(service_id: int):
    """The one-screen update form with +/- steppers; every problem is shown at its field."""
    service = _own_service(service_id)
    if service.capacity is None:
        abort(404, gettext("This service does not track capacity."))
    problems: dict[str, str] = {}
    at_risk: list[int] = []
    if request.method == "POST":
        body, problems = _form_problems(service, request.form)
        if not problems:
            try:
                changes = parse_changes(body)
                _, at_risk, _ = update_capacity(
                    db.session, actor(), service.id, changes, "web", context.now()
                )
                if not at_risk:
                    return _back(service)
            except DomainError as exc:
                db.session.rollback()
                field = exc.field if exc.field in FIELDS else "available"
                said = shown(exc)
                problems = {field: said[:1].upper() + said[1:] + "."}
    error = bool(problems)
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
            problems=problems,
            field_labels=_labels_for(service),
            form=request.form if error else None,
            at_risk=at_risk,
            saved=bool(at_risk),
            history=history,
            event_words=EVENT_WORDS,
            channel_words=CHANNEL_WORDS,
            field_reports=_report_lines(service, at),
        ),
        400 if error else 200,
    )


EVENT_WORDS = {  # a capacity event's kind and channel, shown through _() on the update page
    "update": N_("update"),
    "confirm": N_("confirm"),
    "import": N_("import"),
}
CHANNEL_WORDS = {
    "web": N_("web"),
    "api": N_("API"),
    "email_link": N_("email link"),
    "import": N_("import"),
    "system": N_("system"),
}


@bp.route("/provider/services/<id:service_id>/details", methods=["GET", "POST"])
@require_roles(*CAPACITY_KEEPERS)
def details(service_id: int):
    """Hours, phone, eligibility and alert as the provider keeps them (kept on re-import, see
    provider_edits); only the fields whose text changed are saved."""
    from ..domain.provider_edits import (
        EDITABLE_FIELDS,
        edit_details,
        form_values,
        language_choices,
        parse_details,
        set_language_access,
    )

    service = _own_service(service_id)
    current = form_values(service)
    error = None
    if request.method == "POST":
        submitted = {name: request.form.get(name, "") for name in EDITABLE_FIELDS if name in request.form}
        changed = {name: text for name, text in submitted.items() if text.strip() != current[name].strip()}
        choices = language_choices(request.form, [lang.code for lang in service.languages])
        if not changed and not choices:
            return _back(service)
        try:
            if changed:
                edit_details(db.session, actor(), service.id, parse_details(changed), context.now())
            set_language_access(db.session, actor(), service.id, choices, context.now())
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
            field_names=_detail_labels(),
            org_query={"org": service.organization_id} if current_user.role == "admin" else {},
        ),
        400 if error else 200,
    )


def _detail_labels() -> dict[str, str]:
    """The details form's field names in the page's language."""
    from ..domain.provider_edits import LABELS

    return {name: gettext(words) for name, words in LABELS.items()}


def _conflicts_of(organization_id: int, service_id: int | None = None) -> list:
    """The organization's edits a feed replaced (one service's when service_id is given)."""
    from ..domain.provider_edits import conflicts

    labels = _detail_labels()
    return [
        {"edit": edit, "label": labels[edit.field]}
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
    from ..domain.bulk_numbers import ID_COLUMN, MAX_ROWS, NAME_COLUMN, UNKNOWN_WORD, upload_numbers

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
            problems=_upload_problems(result) if result else [],
            csv_text=data.decode("utf-8", errors="replace") if result and not result.applied else "",
            file_name=name,
            error=error,
            id_column=ID_COLUMN,
            name_column=NAME_COLUMN,
            number_columns=FIELDS,
            unknown_word=UNKNOWN_WORD,
            max_rows=MAX_ROWS,
            org_query=org_query,
        ),
        error.status if error else 200,
    )


UPLOAD_WORDS = {  # the problem report's kind and action codes, as the upload page shows them
    "service": N_("service"),
    "rejected": N_("refused"),
}


def _upload_problems(result) -> list[dict]:
    """An upload's refused rows as the import report's rows, their words in the page's language (the codes
    and the English stay in what is stored and logged)."""
    from ..domain.imports import problem_rows

    rows = problem_rows([p.as_dict() for p in result.problems])
    for row, (words, params) in zip(rows, result.problem_words, strict=True):
        row["problem"] = gettext(words, **params)
        for name in ("kind", "action"):
            if row[name] in UPLOAD_WORDS:
                row[name] = gettext(UPLOAD_WORDS[row[name]])
    return rows


def _report_lines(service: Service, at) -> list[str]:
    """The open field reports on the service, as its provider reads them (the reporter's role, never who)."""
    from ..domain.field_reports import open_reports

    reports = open_reports(db.session, [service.id], at, context.site()).get(service.id, [])
    return [report_line(r, at) for r in reports]


def report_line(report, at) -> str:
    """One field report in the page's language: "Reported full 12 min ago by a case manager", and the
    phone the reporter says is correct (field_reports.describe says the same in English)."""
    from ..domain.field_reports import ATTRIBUTE_WORDS, OBSERVED_WORDS, ROLE_WORDS

    age = serializers.age_text(report.at, at)
    if report.source == "decline":
        line = gettext("Reported full %(age)s (a referral declined for no capacity)", age=age)
    else:
        what = gettext(OBSERVED_WORDS[report.observed])
        if report.observed == "turned_away" and report.attribute:
            what = gettext(
                "turning people away despite listing “%(attribute)s”",
                attribute=gettext(ATTRIBUTE_WORDS[report.attribute]),
            )
        who = (
            gettext(ROLE_WORDS[report.reporter_role])
            if report.reporter_role in ROLE_WORDS
            else gettext("staff")
        )
        line = gettext("Reported %(what)s %(age)s by %(who)s", what=what, age=age, who=who)
    if report.correct_phone:
        line = gettext(
            "%(report)s; the correct phone may be %(phone)s", report=line, phone=report.correct_phone
        )
    return line


@bp.post("/provider/services/<id:service_id>/nobody-waiting")
@require_roles(*CAPACITY_KEEPERS)
def nobody_waiting(service_id: int):
    """One tap for a first-come shelter: nobody expected in line (waitlist 0), saved through the same
    capacity rule as the form, and so confirmed."""
    service = _own_service(service_id)
    if service.capacity is None:
        abort(404, gettext("This service does not track capacity."))
    update_capacity(db.session, actor(), service.id, {"waitlist": 0}, "web", context.now())
    return _back(service, "nobody")


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
                error = gettext("Give a valid email address.")
            elif db.session.scalar(select(User.id).where(User.email == email)) is not None:
                error = gettext("That email already has an account.")
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
                error = gettext("No such staff member.")
            elif target.id == current_user.id:
                error = gettext("You cannot remove yourself.")
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
        abort(404, gettext("This link is not valid."))
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
