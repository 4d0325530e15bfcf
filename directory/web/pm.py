"""Project manager pages: the displacement audit dashboard, exports, the monthly report, data freshness;
and the public transparency page."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select

from ..domain import audit_questions as aq
from ..domain import capacity as cap
from ..domain import dashboard as dash
from ..domain.confidential_rows import CONFIDENTIAL_ROW, confidential_services
from ..domain.consent import REDISCLOSURE_NOTICE
from ..domain.errors import ValidationError
from ..domain.freshness import provider_freshness
from ..domain.transparency import published_report
from ..extensions import db
from ..models import AuditHead, CapacityEvent, JobLease, Participant, Referral, Service
from ..words import N_
from . import charts, context, labels, pm_words
from .auth import require_roles
from .labels import STATUS_COLOURS, label
from .provider import csv_safe
from .reads import reads_only

bp = Blueprint("pm", __name__)
AUDITORS = ("project_manager", "admin")
LATEST_LISTED = 50  # avoidable overrides listed one by one on the page (newest first); the CSV has them all
NAMES_CASE_MANAGERS = frozenset({"overrides_by_case_manager"})  # exports only project managers may see


@dataclass(frozen=True)
class Chosen:
    """A period as the project manager chose it: the site's days `first` through `last` (both included),
    and the UTC instants they cover."""

    first: date
    last: date
    period: dash.Period

    @property
    def args(self) -> dict:
        """The query arguments that give this period again (exports, sort links, the form)."""
        return {"start": self.first.isoformat(), "end": self.last.isoformat()}


def _day(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError(f"{name} must be a date YYYY-MM-DD", name) from None


def _month(raw: str) -> date:
    try:
        return datetime.strptime(raw.strip(), "%Y-%m").date()
    except ValueError:
        raise ValidationError(N_("month must be YYYY-MM"), "month") from None


def _month_days(first: date) -> tuple[date, date]:
    following = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first.replace(day=1), following - timedelta(days=1)


def chosen(first: date, last: date) -> Chosen:
    """The site's days first..last as a period; refused when reversed or longer than three years."""
    if first > last:
        raise ValidationError(N_("the first day must not be after the last"), "start")
    if last - first > timedelta(days=3 * 366):
        raise ValidationError(N_("a period is at most three years"), "start")
    return Chosen(first, last, dash.Period(*context.clock().days(first, last)))


def _period() -> Chosen:
    """The period from ?month=YYYY-MM, or ?start=YYYY-MM-DD&end=YYYY-MM-DD (the site's days, both
    included); default the last 30 of the site's days, today included. Whole days always, so the default
    view and the same dates submitted through the form count the same referrals."""
    today = context.clock().today()
    if request.args.get("month", "").strip():
        return chosen(*_month_days(_month(request.args["month"])))
    first, last = _day("start"), _day("end")
    last = last or (today if first is None or first <= today else first)
    return chosen(first or last - timedelta(days=29), last)


def presets() -> list[tuple[str, dict]]:
    """Ready-made periods: (label in the reader's language, query arguments)."""
    today = context.clock().today()
    this_month = _month_days(today)
    last_month = _month_days(this_month[0] - timedelta(days=1))
    quarter_start = _month_days((this_month[0] - timedelta(days=62)).replace(day=1))[0]
    spans = [
        (gettext("Last 7 days"), today - timedelta(days=6), today),
        (gettext("Last 30 days"), today - timedelta(days=29), today),
        (gettext("This month"), this_month[0], this_month[1]),
        (gettext("Last month"), last_month[0], last_month[1]),
        (gettext("Last 3 months"), quarter_start, this_month[1]),
        (gettext("This year"), today.replace(month=1, day=1), today.replace(month=12, day=31)),
    ]
    return [(label, {"start": a.isoformat(), "end": b.isoformat()}) for label, a, b in spans]


def _trend_months(period: dash.Period, count: int = 6) -> list[tuple[str, dash.Period]]:
    """The `count` site months up to the one holding the period's last moment, named in the reader's
    language."""
    clock = context.clock()
    last = clock.month_start(period.end - timedelta(microseconds=1))
    starts = [last]
    while len(starts) < count:
        starts.insert(0, clock.month_start(starts[0] - timedelta(days=1)))
    return [
        (pm_words.month_words(clock.local(start).date()), dash.Period(start, clock.next_month(start)))
        for start in starts
    ]


def dashboard_data(period: dash.Period, with_case_managers: bool, sort: str = "rate") -> dict:
    """Every table of the dashboard for a period (case-manager figures only when asked for)."""
    session, now = db.session, context.now()
    months = _trend_months(period)
    # One scan of the referrals made in the period and the trend's months, one query of those accepted in
    # it, and each provider labelled once: every table below is cut from them.
    tables = dash.Tables(session, period, now, months)
    overrides, total = dash.displacement_rate(session, period, tables.counts)
    summary = dash.alternative_summary(session, period)
    avoidable = aq.avoidable_figures(session, period, months, sort, tables)
    freshness = provider_freshness(session, now, context.site())
    names = tables.labels({f.organization_id for f in freshness})
    return {
        "period": period,
        "weeks": tables.weeks,
        "overrides": overrides,
        "total": total,
        "by_reason": avoidable.by_reason,
        "by_case_manager": avoidable.by_case_manager if with_case_managers else None,
        "alternatives": summary,
        "without_alternative": overrides - summary.count,
        "choices": avoidable.totals,
        "avoidable": aq.overrides_with_choice(
            session, period, "avoidable", LATEST_LISTED, labels=tables.labels
        ),
        "urgent": aq.overrides_with_choice(session, period, "urgent", LATEST_LISTED, labels=tables.labels),
        "listed": LATEST_LISTED,
        "provider_rates": avoidable.rates["provider"],
        "case_manager_rates": avoidable.rates["case_manager"] if with_case_managers else None,
        "trend": avoidable.trend,
        "declined": avoidable.declined,
        "placements": aq.placements(session, period, tables.accepted),
        "places": avoidable.places,
        "breakdowns": tables.breakdowns,
        "lead": tables.lead,
        "additionality": dash.additionality_flags(session, period, tables.labels),
        "baselines": aq.baseline_flags(session, tables.labels),
        "unmet": tables.unmet,
        "outcomes": dash.outcomes(session, period, tables.counts),
        "freshness": [(names.get(f.organization_id, f.name), f) for f in freshness],
    }


def _charts(data: dict) -> dict:
    weeks = list(data["weeks"])
    series = {c: [data["weeks"][w].get(f"classification:{c}", 0) for w in weeks] for c in cap.CLASSIFICATIONS}
    with_alt_reasons = {reason: count for reason, (count, _) in data["alternatives"].by_reason.items()}
    return {
        "weekly": charts.stacked_columns(gettext("Referrals per week by classification"), weeks, series),
        "reasons": charts.bar_chart(
            gettext("Overrides by reason"),
            [(label(k, "reason"), v) for k, v in sorted(data["by_reason"].items())],
        ),
        "lead": charts.bar_chart(
            gettext("LEAD-funded units idle now, by provider"),
            [(pm_words.domain_words(r.provider), r.idle) for r in data["lead"]],
            colour=STATUS_COLOURS[cap.LEAD_FUNDED],
        ),
        "unmet": charts.bar_chart(
            gettext("Unmet need by domain (participants)"),
            [(label(k, "domain"), people) for k, (people, _) in data["unmet"]["domain"].items()],
        ),
        "with_alt": charts.bar_chart(
            gettext("Displacements where an alternative existed, by reason"),
            [(label(k, "reason"), v) for k, v in sorted(with_alt_reasons.items())],
            colour=STATUS_COLOURS[cap.DISPLACEMENT],
        ),
    }


def _imports() -> dict:
    """Imports for the dashboard: each configured source's last run, and the latest runs of any source."""
    from flask import current_app

    from ..domain.import_sources import import_status
    from ..models import ImportRun

    try:
        sources = import_status(db.session, current_app.config)
    except ValueError as exc:  # a misconfigured IMPORT_SOURCES: say so rather than fail the page
        sources = [{"name": "IMPORT_SOURCES", "source": str(exc)[:200], "last_run": None}]
    recent = db.session.scalars(
        select(ImportRun).order_by(ImportRun.started_at.desc(), ImportRun.id.desc()).limit(10)
    ).all()
    latest_by_source: dict[str, ImportRun] = {}
    for run in recent:
        latest_by_source.setdefault(run.source, run)
    failed = [s["name"] for s in sources if s["last_run"] and s["last_run"]["status"] == "failed"]
    failed += [name for name, run in latest_by_source.items() if run.status == "failed"]
    failed = list(dict.fromkeys(failed))
    return {"sources": sources, "recent": recent, "failed": failed}


def _chain_state() -> dict:
    head = db.session.get(AuditHead, 1)
    lease = db.session.get(JobLease, "verify_audit")
    return {
        "events": head.events if head else 0,
        "last_hash": head.last_hash if head else None,
        "verified_at": lease.last_finished_at if lease else None,
        "running": bool(lease and lease.leased_until is not None),
        "started_at": lease.last_started_at if lease else None,
        "verified": lease.last_result if lease else None,
        "status": lease.last_status if lease else None,
    }


@bp.record_once
def _install_labels(state) -> None:
    labels.install(state.app)
    pm_words.install(state.app)


@bp.get("/pm")
@require_roles(*AUDITORS)
def dashboard():
    """The displacement audit dashboard for a chosen period (read-only)."""
    choice = _period()
    sort = request.args.get("sort", "rate")
    sort = sort if sort in aq.RATE_SORTS else "rate"
    data = dashboard_data(choice.period, current_user.role == "project_manager", sort)
    return render_template(
        "pm/dashboard.html",
        d=data,
        charts=_charts(data),
        chain=_chain_state(),
        imports=_imports(),
        chosen=choice,
        presets=presets(),
        sort=sort,
    )


def _latest_month_with_data() -> date:
    """The site month of the latest referral made so far, else the current month."""
    clock = context.clock()
    latest = db.session.scalar(
        select(func.max(Referral.created_at)).where(Referral.created_at <= clock.now())
    )
    return clock.today(latest).replace(day=1) if latest else clock.today().replace(day=1)


@bp.get("/pm/report")
@require_roles(*AUDITORS)
def report():
    """A printable monthly report (?month=YYYY-MM, default the latest month with referrals), without
    case-manager names or rates."""
    raw = request.args.get("month", "").strip()
    first = _month(raw) if raw else _latest_month_with_data()
    choice = chosen(*_month_days(first))
    data = dashboard_data(choice.period, False)
    return render_template(
        "pm/report.html",
        d=data,
        charts=_charts(data),
        month=pm_words.month_words(first),
        month_value=first.strftime("%Y-%m"),
        first_day=pm_words.day_words(choice.first),
        last_day=pm_words.day_words(choice.last),
        chosen=choice,
        # A printed report can carry figures from Part 2 programs: it carries the notice Part 2 requires.
        redisclosure=REDISCLOSURE_NOTICE,
    )


class PartnerLine(NamedTuple):
    """One table of the partner report as shown: its total and its cells (None: the table is not shown)."""

    total: int | str
    parts: dict[str, int | str] | None


PARTNER_TABLES = (
    ("referrals_by_classification", N_("Referrals by what the check found"), "classification"),
    ("referrals_by_domain", N_("Referrals by need"), "domain"),
    ("overrides_by_reason", N_("Overrides (placements ahead of people waiting) by reason"), "reason"),
    ("overrides_by_alternative", N_("Overrides by whether they were avoidable"), "partner"),
    ("placements", N_("Placements by whether the check measured them"), "partner"),
)


@bp.get("/pm/partner-report")
@require_roles(*AUDITORS)
def partner_report():
    """The report for the policy group (police and prosecutors sit there): one closed month, aggregates
    only, small counts suppressed as on the public page; no provider, case manager or referral."""
    from ..domain.transparency import displacement_rate, domain_codes, published_total, suppress

    clock = context.clock()
    this_month = clock.today().replace(day=1)
    raw = request.args.get("month", "").strip()
    first = _month(raw) if raw else _month_days(this_month - timedelta(days=1))[0]
    if first >= this_month:
        raise ValidationError(N_("a partner report covers a month that has ended"), "month")
    choice = chosen(*_month_days(first))
    lines = aq.partner_lines(db.session, choice.period)
    # Every breakdown lists all its categories, as on the public page: a need nobody was referred for is a 0.
    total, domains = lines["referrals_by_domain"]
    codes = domain_codes(db.session)
    codes += [code for code in domains if code not in codes]  # a referral with no domain keeps its row
    lines["referrals_by_domain"] = (total, {code: domains.get(code, 0) for code in codes})
    tables = [
        (gettext(title), kind, PartnerLine(published_total(lines[key][0]), suppress(*lines[key])))
        for key, title, kind in PARTNER_TABLES
    ]
    referrals, overrides = lines["referrals_by_classification"][0], lines["overrides_by_reason"][0]
    return render_template(
        "pm/partner_report.html",
        tables=tables,
        rate=displacement_rate(referrals, overrides, tables[0][2].parts),
        month=pm_words.month_words(first),
        month_value=first.strftime("%Y-%m"),
        latest=(this_month - timedelta(days=1)).strftime("%Y-%m"),
        redisclosure=REDISCLOSURE_NOTICE,  # its referral figures can include Part 2 programs' referrals
    )


NOTICE_LABEL = "42 CFR Part 2 redisclosure notice:"


def _csv(rows: list[list], name: str, part2: bool = True) -> Response:
    """A CSV download. One that carries referrals or their outcomes (`part2`: it may hold information from
    a Part 2 program) ends with a blank row and the redisclosure notice 42 CFR 2.32 requires, in one cell
    after its label (last, so the header stays the first row for whatever reads the file)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_safe(v) for v in row])
    if part2:
        writer.writerow([])
        writer.writerow([NOTICE_LABEL, REDISCLOSURE_NOTICE])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


REFERRAL_COLUMNS = (
    "referral_id",
    "date",
    "service_id",
    "service",
    "provider",
    "domain",
    "action",
    "classification",
    "state",
    "hold",
    "would_displace",
    "reason_code",
    "participant",
    "alternatives_offered",
    "closed_date",
)


def confidential_row(day: str) -> list:
    """A referral to a confidential (domestic-violence) service as the export shows it: its day and the
    merged row's label, nothing else. Its id, service, domain, the numbers at the check (classification,
    hold, waitlist), its alternatives (counted around the shelter when the participant had no location),
    its participant's pseudonym (it would link the stay to their other referrals) and its outcome would
    each let a reader tell one shelter from another, or find it (issue 24)."""
    row = dict.fromkeys(REFERRAL_COLUMNS, "")
    row.update(date=day, service=CONFIDENTIAL_ROW, provider=CONFIDENTIAL_ROW, state=dash.NOT_SHARED)
    return list(row.values())


@bp.get("/pm/export/referrals.csv")
@require_roles(*AUDITORS)
def export_referrals():
    """Referrals of the period: participant codes replaced by a per-export pseudonym, times to the day."""
    period = _period().period
    key = secrets.token_bytes(32)  # a new key per export: pseudonyms cannot be linked across exports

    def pseudonym(code: str | None) -> str:
        if code is None:
            return ""
        return "X-" + hmac.new(key, code.encode(), hashlib.sha256).hexdigest()[:10]

    rows = db.session.execute(
        select(Referral, Service.name, Service.organization_id, Participant.code)
        .join(Service, Service.id == Referral.service_id)
        .outerjoin(Participant, Participant.id == Referral.participant_id)
        .where(Referral.created_at >= period.start, Referral.created_at < period.end)
        .order_by(Referral.created_at, Referral.id)
    ).all()
    # Providers read as in the dashboard's tables (same-named ones told apart, every organization running
    # a confidential service as the one merged row); a confidential service's own rows say only the day.
    providers = dash.ProviderLabels(db.session)({row[2] for row in rows})
    hidden = confidential_services(db.session, {row[0].service_id for row in rows})
    table = [list(REFERRAL_COLUMNS)]
    for referral, service_name, organization_id, code in rows:
        if referral.service_id in hidden:
            table.append(confidential_row(referral.created_at.date().isoformat()))
            continue
        # A withheld outcome (Part 2 program without a release, confidential service) reads as on the
        # dashboard: "not_shared", with no closing day (issue 24).
        withheld = not referral.outcome_shared or referral.reference is not None
        table.append(
            [
                referral.id,
                referral.created_at.date().isoformat(),
                referral.service_id,
                service_name,
                providers[organization_id],
                referral.domain,
                referral.action,
                referral.classification,
                dash.NOT_SHARED if withheld else referral.state,
                referral.hold,
                referral.would_displace,
                referral.reason_code or "",
                pseudonym(code),
                len(referral.alternatives),
                referral.closed_at.date().isoformat() if referral.closed_at and not withheld else "",
            ]
        )
    return _csv(table, "referrals")


@bp.get("/pm/export/capacity-history.csv")
@require_roles(*AUDITORS)
def export_capacity_history():
    """Every capacity change and confirmation of the period, for all services."""
    from .provider import NUMBER_COLUMNS

    period = _period().period
    events = db.session.execute(
        select(CapacityEvent, Service.name)
        .join(Service, Service.id == CapacityEvent.service_id)
        .where(CapacityEvent.at >= period.start, CapacityEvent.at < period.end)
        .order_by(CapacityEvent.at, CapacityEvent.id)
    ).all()
    header = ["at", "service_id", "service", "kind", "channel"]
    for name in NUMBER_COLUMNS:
        header += [f"{name}_before", f"{name}_after"]
    table = [header]
    for event, name in events:
        row = [event.at.isoformat(timespec="seconds"), event.service_id, name, event.kind, event.channel]
        for column in NUMBER_COLUMNS:
            row += [(event.before or {}).get(column, ""), event.after.get(column, "")]
        table.append(row)
    return _csv(table, "capacity-history", part2=False)  # providers' numbers only: no referral, no outcome


@bp.get("/pm/export/avoidable.csv")
@require_roles(*AUDITORS)
def export_avoidable():
    """Every override of the period whose check offered a LEAD-funded or spare alternative, with the best
    one; the case manager only in the project manager's own export."""
    period = _period().period
    with_case_manager = current_user.role == "project_manager"
    header = ["referral_id", "date", "service", "provider", "reason_code", "decline_reason", "avoidable"]
    header += ["best_alternative", "distance_km", "alternative_kind", "units_free"]
    table = [header + (["case_manager"] if with_case_manager else [])]
    for c in aq.overrides_with_choice(db.session, period):
        row = [c.referral_id, context.clock().today(c.created_at).isoformat(), c.service, c.provider]
        row += [c.reason_code or "", c.decline_reason or "", "yes" if c.avoidable else "no", c.best_name]
        row += [c.best_km if c.best_km is not None else "", c.best_classification, c.best_units]
        table.append(row + ([c.case_manager or ""] if with_case_manager else []))
    return _csv(table, "avoidable")


@bp.post("/pm/baselines/<int:service_id>/note")
@require_roles(*AUDITORS)
def note_baseline(service_id: int):
    """The project manager's note on an additionality flag (why the general units fell)."""
    aq.note_baseline(db.session, current_user.id, service_id, request.form.get("note", ""), context.now())
    return redirect(url_for("pm.dashboard", **request.args) + "#additionality", code=303)


@bp.get("/pm/export/<table>.csv")
@require_roles(*AUDITORS)
def export_table(table: str):
    """One dashboard table as CSV (only that table's queries run)."""
    period = _period().period
    rows_of = dash.EXPORTS.get(table)
    if rows_of is None:
        abort(404)
    if table in NAMES_CASE_MANAGERS and current_user.role != "project_manager":
        return jsonify({"error": {"code": "forbidden", "message": "project manager only"}}), 403
    return _csv(rows_of(dash.Tables(db.session, period, context.now())), table)


@bp.get("/pm/freshness")
@require_roles(*AUDITORS)
def freshness():
    """Providers by how overdue their numbers are, most overdue first."""
    rows = provider_freshness(db.session, context.now(), context.site())
    names = dash.provider_labels(db.session, {row.organization_id for row in rows})
    return render_template("pm/freshness.html", rows=rows, names=names, now=context.now())


def _published() -> dict:
    """The stored figures of the site's closed periods (nothing is computed on a request)."""
    return published_report(db.session, context.clock(), context.site().transparency_period)


@bp.get("/transparency")
@reads_only
def transparency():
    """The public transparency page: closed periods' stored aggregates, small counts suppressed."""
    return render_template("pm/transparency.html", report=_published())


@bp.get("/api/v1/transparency")
@reads_only
def transparency_json():
    """The transparency report as JSON: what was stored for each closed period."""
    return jsonify(_published())


@bp.post("/pm/verify-audit")
@require_roles(*AUDITORS)
def verify_now():
    """Start the audit chain check as a job in the background and come back at once (the check of a
    large chain takes longer than a request may)."""
    import threading

    from flask import current_app

    app = current_app._get_current_object()  # noqa: SLF001 - the thread needs the app, not the proxy
    worker = threading.Thread(target=_verify_in_background, args=(app,), name="verify-now", daemon=True)
    worker.start()
    app.extensions["verify_now_thread"] = worker  # tests join it; nothing else reads it
    return redirect(url_for("pm.dashboard", **request.args) + "#audit-chain", code=303)


def _verify_in_background(app) -> None:
    """Run the verify_audit job under its lease; a failure is logged (and the job records its own), never
    raised out of the thread."""
    import logging

    from ..jobs import JOBS, holder_name, run_job

    job = next(j for j in JOBS if j.name == "verify_audit")
    try:
        run_job(app, job, holder_name())
    except Exception:  # noqa: BLE001 - a background thread has nobody to raise to
        logging.getLogger(__name__).exception("verify now failed")
