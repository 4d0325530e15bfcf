"""Case-manager pages: participants and their plans, the non-displacement check, acting on it, a referral's
page, and the printable slip."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import i18n
from ..domain import consent, field_reports, intake, one_hold
from ..domain.access import CASE_MANAGERS, REFERRERS, STAFF, can_open_slip, can_read_plan
from ..domain.errors import DomainError, NotFound
from ..domain.participants import add_goal, create_participant, get_participant, loose_referrals, transfer
from ..domain.referral_requests import from_form, participant_for_referral, submit
from ..domain.referrals import (
    MAX_TEXT,
    MIN_JUSTIFICATION,
    OPEN_STATES,
    StaleCheck,
    check,
    decline_words,
    load_referral,
    load_service,
    transition,
)
from ..domain.search import load_service as load_full_service
from ..extensions import db
from ..models import REASON_CODES, Organization, Participant, User
from ..words import N_, Words
from . import carried, context, language, mapview, serializers, slips
from .access_log import record_read
from .auth import actor, require_roles, visible_referral
from .errors import shown
from .ids import parse_id
from .labels import REASON_LABELS

bp = Blueprint("referrals", __name__)

ACTION_LABELS = {  # the check's buttons, shown through _()
    "claim": N_("Hold a unit"),
    "join_waitlist": N_("Join the waitlist"),
    "override": N_("Override (displaces someone)"),
    "request": N_("Send a request"),
}


@bp.get("/participants")
@require_roles(*CASE_MANAGERS)
def participants():
    """The case manager's participants."""
    rows = db.session.scalars(
        select(Participant)
        .where(Participant.case_manager_id == current_user.id)
        .order_by(Participant.last_activity_at.desc())
    ).all()
    return render_template("referrals/participants.html", participants=rows, reference=context.reference())


@bp.post("/participants")
@require_roles(*CASE_MANAGERS)
def new_participant():
    """Create a participant (the system makes the code)."""
    needs: dict = {}
    languages = [v for v in request.form.getlist("languages") if v]
    populations = [v for v in request.form.getlist("populations") if v]
    if languages:
        needs["languages"] = languages
    if populations:
        needs["populations"] = populations
    for flag in ("low_barrier", "housing_first"):
        if request.form.get(flag):
            needs[flag] = True
    place = (request.form.get("place") or "").strip() or None
    try:
        participant = create_participant(
            db.session, actor(), needs, place, context.now(), context.reference()
        )
    except DomainError as exc:
        db.session.rollback()
        rows = db.session.scalars(
            select(Participant).where(Participant.case_manager_id == current_user.id)
        ).all()
        return render_template(
            "referrals/participants.html", participants=rows, reference=context.reference(), error=exc
        ), exc.status
    return redirect(url_for("referrals.plan", code=participant.code))


@bp.get("/participants/<code>")
@require_roles(*CASE_MANAGERS)
def plan(code: str):
    """A participant's Individual Intervention Plan: goals, each with its referrals and their states."""
    participant = get_participant(db.session, actor(), code)
    record_read("plan", [participant.id])
    loose = loose_referrals(db.session, participant)
    case_managers = db.session.scalars(
        select(User).where(User.role == "case_manager", User.active.is_(True)).order_by(User.email)
    ).all()
    return _plan_page(participant, loose, case_managers)


RELEASE_STATES = {  # shown through _() on the plan page
    consent.CURRENT: N_("current"),
    consent.EXPIRED: N_("expired"),
    consent.REVOKED: N_("revoked"),
}


def _plan_page(participant, loose, case_managers, error=None, status=200):
    """The plan page, with its releases of information and legal-hold state."""
    organizations = db.session.scalars(
        select(Organization).where(Organization.active.is_(True)).order_by(Organization.name)
    ).all()
    today = context.now().date()
    return render_template(
        "referrals/plan.html",
        participant=participant,
        loose=loose,
        reference=context.reference(),
        case_managers=case_managers,
        error=error,
        releases=[(r, consent.state_of(r, today)) for r in participant.releases],
        organizations=organizations,
        purposes=consent.PURPOSE_LABELS,
        release_states=RELEASE_STATES,
        shown_state=lambda r: consent.shown_state(actor(), r),
    ), status


@bp.post("/participants/<code>/releases")
@require_roles(*CASE_MANAGERS)
def new_release(code: str):
    """Record that a signed release of information exists (the paper stays on paper)."""
    participant = get_participant(db.session, actor(), code)
    try:
        consent.record_release(
            db.session,
            actor(),
            participant,
            parse_id(request.form.get("organization_id", "")),
            request.form.get("purpose"),
            request.form.get("signed_on"),
            request.form.get("expires_on"),
            context.now(),
        )
    except DomainError as exc:
        db.session.rollback()
        participant = get_participant(db.session, actor(), code)
        return _plan_page(participant, loose_referrals(db.session, participant), [], exc, exc.status)
    back = request.form.get("next_service")
    service_id = parse_id(back or "")
    if service_id is not None:  # recorded from a check: back to that check
        return redirect(url_for("referrals.check_page", service_id=service_id, participant=participant.code))
    return redirect(url_for("referrals.plan", code=participant.code) + "#releases")


@bp.post("/participants/<code>/releases/<id:release_id>/revoke")
@require_roles(*CASE_MANAGERS)
def revoke_release(code: str, release_id: int):
    """The participant revoked a release."""
    participant = get_participant(db.session, actor(), code)
    release = consent.load_release(db.session, participant, release_id)
    consent.revoke_release(db.session, actor(), release, context.now())
    return redirect(url_for("referrals.plan", code=participant.code) + "#releases")


@bp.post("/participants/<code>/legal-hold")
@require_roles("admin")
def legal_hold(code: str):
    """Place or release a legal hold (admins: see the README's legal-request procedure)."""
    participant = get_participant(db.session, actor(), code)
    if request.form.get("hold") == "place":
        consent.place_legal_hold(db.session, actor(), participant, context.now())
    elif request.form.get("hold") == "release":
        consent.release_legal_hold(db.session, actor(), participant, context.now())
    else:
        abort(400)
    return redirect(url_for("referrals.plan", code=participant.code))


@bp.post("/participants/<code>/goals")
@require_roles(*CASE_MANAGERS)
def new_goal(code: str):
    """Add a goal in the participant's own words."""
    participant = get_participant(db.session, actor(), code)
    try:
        add_goal(
            db.session,
            actor(),
            participant,
            request.form.get("domain"),
            request.form.get("text"),
            context.now(),
            context.reference(),
        )
    except DomainError as exc:
        db.session.rollback()
        participant = get_participant(db.session, actor(), code)
        return _plan_page(participant, [], [], exc, exc.status)
    return redirect(url_for("referrals.plan", code=participant.code))


@bp.post("/participants/<code>/find")
@require_roles(*CASE_MANAGERS)
def find_services(code: str):
    """ "Find services" from a plan: carry the participant (and the goal) in the session, then search the
    goal's domain; the needs and the usual place fill in there, and the check knows the participant."""
    participant = get_participant(db.session, actor(), code)
    goal_id = parse_id(request.form.get("goal_id", ""))
    goal = next((g for g in participant.goals if g.id == goal_id), None)
    carried.carry(participant, goal)
    return redirect(url_for("public.search", category=goal.domain) if goal else url_for("public.search"))


@bp.post("/search/stop-carrying")
@require_roles(*CASE_MANAGERS)
def stop_carrying():
    """Search without the carried participant from now on."""
    carried.drop()
    return redirect(url_for("public.search"))


@bp.post("/participants/<code>/transfer")
@require_roles(*CASE_MANAGERS)
def transfer_participant(code: str):
    """Hand the participant to another case manager."""
    participant = get_participant(db.session, actor(), code)
    user_id = parse_id(request.form.get("case_manager_id", ""))
    target = db.session.get(User, user_id) if user_id is not None else None
    transfer(db.session, actor(), participant, target, context.now())
    return redirect(url_for("referrals.participants"))


def form_problems(form) -> dict[str, str]:
    """Every problem of the check page's form that is known before the check runs, each in the words of its
    field's label (an empty override shows them all at once, each at its field)."""
    problems: dict[str, Words] = {}
    if form.get("decline_asked") and not form.get("decline_reason"):
        problems["decline_reason"] = Words(
            N_("Choose the closest reason the participant gave for declining the alternatives.")
        )
    if form.get("action") != "override":
        return problems
    if form.get("reason_code") not in REASON_CODES:
        problems["reason_code"] = Words(N_("Choose the reason for the override."))
    justification = (form.get("justification") or "").strip()
    if len(justification) < MIN_JUSTIFICATION and justification:
        problems["justification"] = Words(
            N_(
                "Write a justification of at least %(least)s characters (now %(now)s), without names or "
                "health details."
            ),
            least=MIN_JUSTIFICATION,
            now=len(justification),
        )
    elif len(justification) < MIN_JUSTIFICATION:
        problems["justification"] = Words(
            N_("Write a justification of at least %(least)s characters, without names or health details."),
            least=MIN_JUSTIFICATION,
        )
    elif len(justification) > MAX_TEXT:
        problems["justification"] = Words(
            N_("Keep the justification to %(most)s characters."), most=format(MAX_TEXT, ",")
        )
    if not form.get("acknowledge"):
        problems["acknowledge"] = Words(
            N_("Tick the box to acknowledge that this override delays the people waiting.")
        )
    return problems


def _check_context(service, participant, result, error=None, status=200, problems=None, form=None):
    at, config = context.now(), context.site()
    full = load_full_service(db.session, service.id)
    # Goal text is the plan's: only the participant's own case manager (or an admin) sees it and may
    # attach the referral to a goal; a peer refers by code.
    plan_reader = participant is not None and can_read_plan(actor(), participant.case_manager_id)
    goals = participant.goals if plan_reader else []
    from_search = carried.carried() if participant is not None else None
    carried_goal = from_search[1] if from_search and from_search[0].id == participant.id else None
    return render_template(
        "referrals/check.html",
        service=full,
        participant=participant,
        result=result,
        data=serializers.check_dict(result, context.now(), context.site()),
        age=serializers.age_text(full.capacity.confirmed_at if full.capacity else None, at),
        labels=serializers.STATUS_LABELS,
        action_labels=ACTION_LABELS,
        reasons=REASON_CODES,
        reason_labels=REASON_LABELS,
        goals=goals,
        carried_goal_id=carried_goal.id if carried_goal is not None and plan_reader else None,
        error=error,
        config_site=config,
        my_participants=_my_participants(),
        plan_reader=plan_reader,
        purposes=consent.PURPOSE_LABELS,
        today=at.date(),
        keep_both_labels=one_hold.KEEP_BOTH_LABELS,
        same_level_ids={r.id for r in result.same_level_holds},
        **report_context(full),
        problems=problems or {},
        form=form or {},
        min_justification=MIN_JUSTIFICATION,
    ), status


def report_context(service) -> dict:
    """What the one-tap field report form needs (referrers only; empty for everyone else)."""
    if not current_user.is_authenticated or current_user.role not in REFERRERS:
        return {"report_attributes": None}
    return {
        "report_attributes": field_reports.listed_attributes(service),
        "report_choices": field_reports.OBSERVED_CHOICES,
        "attribute_words": field_reports.ATTRIBUTE_WORDS,
    }


def report_lines(service_ids, at) -> dict[int, list[str]]:
    """Staff read each standing field report beside the numbers: "reported full 12 min ago by a case
    manager" (who reported: never)."""
    found = field_reports.open_reports(db.session, service_ids, at, context.site())
    return {sid: [field_reports.describe(r, at) for r in reports] for sid, reports in found.items()}


@bp.post("/services/<id:service_id>/reports")
@require_roles(*REFERRERS)
def report(service_id: int):
    """ "They said full": what a case manager or peer found, in one tap; the provider is asked to confirm."""
    service = load_service(db.session, service_id)
    back = request.form.get("back", "service")
    try:
        ask = field_reports.parse(request.form, json=False)
        made = field_reports.file_report(db.session, actor(), service, ask, context.now(), context.site())
    except NotFound:
        raise
    except DomainError as exc:
        db.session.rollback()
        service = load_full_service(db.session, service_id)
        return render_template(
            "referrals/report.html", service=service, error=exc, back=back, **report_context(service)
        ), exc.status
    flash(
        shown(
            Words(
                N_(
                    "Thank you: %(service)s %(report)s. The provider was asked to confirm or correct "
                    "its numbers."
                ),
                service=service.name,
                report=field_reports.describe(made, context.now()),
            )
        ),
        "report",
    )
    if back == "referral" and made.referral_id is not None:
        target = url_for("referrals.referral_page", referral_id=made.referral_id)
    elif back == "check":
        target = url_for("referrals.check_page", service_id=service.id)
    else:
        target = url_for("public.service_page", service_id=service.id)
    return redirect(target + "#report")


def _my_participants():
    if current_user.role not in ("case_manager", "admin"):
        return []
    return db.session.scalars(
        select(Participant)
        .where(Participant.case_manager_id == current_user.id)
        .order_by(Participant.last_activity_at.desc())
        .limit(50)
    ).all()


def _participant_arg(raw: str | None):
    """The participant a check or referral form names, if any (404 when missing or not the actor's)."""
    if not raw or not raw.strip():
        return None
    return participant_for_referral(db.session, actor(), raw[:40])


@bp.route("/referrals/check", methods=["GET", "POST"])
@require_roles(*REFERRERS)
def check_page():
    """The check: classification in plain words, the numbers and their age, alternatives, and the actions.

    A GET shows the check without recording it; the check is recorded when the case manager asks for
    it with a participant (POST), which is what the unmet-need audit counts.
    """
    service_id = parse_id(request.values.get("service_id", ""))
    if service_id is None:
        abort(404)
    service = load_service(db.session, service_id)
    participant = _participant_arg(request.values.get("participant"))
    if participant is None and (from_search := carried.carried()) is not None:
        participant = from_search[0]  # carried from the plan through the search: not asked for again
    record = request.method == "POST"
    result = check(db.session, actor(), service, participant, context.now(), context.site(), record=record)
    if participant is not None:
        record_read("check", [participant.id])
    return _check_context(service, participant, result)


@bp.post("/referrals")
@require_roles(*REFERRERS)
def refer():
    """Act on a check: claim, join the waitlist, override (reason, justification, acknowledged), request."""
    problems = form_problems(request.form)
    if problems:
        service = load_service(db.session, parse_id(request.form.get("service_id", "")))
        participant = _participant_arg(request.form.get("participant"))
        result = check(db.session, actor(), service, participant, context.now(), context.site(), record=False)
        return _check_context(service, participant, result, None, 400, problems, request.form)
    try:
        referral = submit(db.session, actor(), from_form(request.form), context.now(), context.site())
    except StaleCheck as exc:
        db.session.rollback()
        participant = _participant_arg(request.form.get("participant"))
        return _check_context(exc.check.service, participant, exc.check, exc, 409)
    except NotFound:
        raise
    except DomainError as exc:
        db.session.rollback()  # show the check as it stands, without what the failed referral changed
        service = load_service(db.session, parse_id(request.form.get("service_id", "")))
        participant = _participant_arg(request.form.get("participant"))
        result = check(db.session, actor(), service, participant, context.now(), context.site(), record=False)
        return _check_context(service, participant, result, exc, exc.status)
    return redirect(url_for("referrals.referral_page", referral_id=referral.id))


@bp.get("/referrals/<id:referral_id>")
@require_roles(*STAFF)
def referral_page(referral_id: int):
    """A referral: what the check said, its state and history, and cancel / print."""
    referral = visible_referral(referral_id)
    record_read("referral", [referral.participant_id], referral.id)
    acting = actor()
    return render_template(
        "referrals/referral.html",
        referral=referral,
        plan_link=referral.participant is not None
        and can_read_plan(acting, referral.participant.case_manager_id),
        slip_links=can_open_slip(acting),
        slip_choices=slips.slip_choices(context.site().slip_languages, language.catalogs()),
        open_states=OPEN_STATES,
        labels=serializers.STATUS_LABELS,
        action_labels=ACTION_LABELS,
        reason_labels=REASON_LABELS,
        intake_closes=intake.ends_when_intake_closes(referral, context.site()),
        shown_state=consent.shown_state(acting, referral),
        outcome_visible=consent.outcome_visible(acting, referral),
        participant_label=consent.participant_label(acting, referral),
        redisclosure=consent.REDISCLOSURE_NOTICE if referral.service.part2_program else None,
        decline_words=decline_words(referral),
        released=referral.closed_reason in one_hold.RELEASE_LABELS,
        keep_both_labels=one_hold.KEEP_BOTH_LABELS,
        **report_context(referral.service),
    )


@bp.post("/referrals/<id:referral_id>/cancel")
@require_roles(*CASE_MANAGERS)
def cancel(referral_id: int):
    """Cancel a referral (the hold ends), once asked: a post without `confirm=1` changes nothing and goes
    back to the referral page with the question open."""
    referral = load_referral(db.session, referral_id)
    if request.form.get("confirm") != "1":
        from ..domain.referrals import authorize_transition

        authorize_transition(actor(), referral, "cancel")
        return redirect(url_for("referrals.referral_page", referral_id=referral_id, cancel="ask") + "#cancel")
    transition(db.session, actor(), referral, "cancel", context.now(), note=request.form.get("note") or None)
    return redirect(url_for("referrals.referral_page", referral_id=referral_id))


@bp.get("/referrals/<id:referral_id>/slip")
@require_roles(*REFERRERS, "project_manager")
def slip(referral_id: int):
    """A printable slip, in the site's language or Spanish; it never says LEAD or diversion (the project
    manager opens it read-only)."""
    referral = visible_referral(referral_id)
    record_read("slip", [referral.participant_id], referral.id)
    config = context.site()
    chosen = slips.slip_language(request.args.get("lang"), config.language, language.catalogs())
    lang, words = chosen.code, slips.slip_words(chosen.code, language.catalogs())
    service = load_full_service(db.session, referral.service_id)
    data = serializers.service_dict(service, context.now(), config, True)
    show_code = request.args.get("code") in ("1", "true")
    service_url = url_for("public.service_page", service_id=service.id, _external=True)
    import segno
    from markupsafe import Markup

    # The QR code holds only the service page's URL (no participant data); segno writes plain SVG.
    qr_svg = Markup(segno.make(service_url, error="m").svg_inline(scale=3, title=words["service_page"]))  # noqa: S704
    # A small map only when there is a tile server: on a plain background a pin tells a participant nothing.
    # Confidential locations have none (service_map returns None for them).
    located = mapview.slip_map(service) if current_app.config.get("MAP_TILES") != "none" else None
    held_until = referral.expires_at if referral.state == "held" else None
    intake_closes = intake.ends_when_intake_closes(referral, config)
    locale = context.reader_locale(lang)
    sms = slips.text_message(data, held_until, config.time_zone, words, locale, intake_closes)
    return render_template(
        "referrals/slip.html",
        referral=referral,
        service=service,
        data=data,
        t=words,
        lang=lang,
        direction=i18n.direction(lang),
        language_notice=shown(chosen.notice),
        providers_words=lang != config.language,
        hours=slips.hours_lines(data["schedule"], words),
        sms=sms,
        intake_closes=intake_closes,
        show_code=show_code,
        case_manager=referral.creator,
        service_url=service_url,
        qr_svg=qr_svg,
        map=located[0] if located else None,
        map_data=located[1] if located else None,
    )
