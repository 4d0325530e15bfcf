"""Project manager pages: the displacement audit dashboard, exports, the monthly report, data freshness;
and the public transparency page."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
from datetime import date, datetime, timedelta

from flask import Blueprint, Response, abort, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from ..domain import capacity as cap
from ..domain import dashboard as dash
from ..domain.errors import ValidationError
from ..domain.freshness import provider_freshness
from ..domain.transparency import published_report
from ..extensions import db
from ..models import AuditHead, CapacityEvent, JobLease, Organization, Participant, Referral, Service
from . import charts, context
from .auth import require_roles
from .provider import csv_safe
from .reads import reads_only

bp = Blueprint("pm", __name__)
AUDITORS = ("project_manager", "admin")
LATEST_LISTED = 50  # overrides with an alternative listed one by one on the page; the CSV has them all
NAMES_CASE_MANAGERS = frozenset({"overrides_by_case_manager"})  # exports only project managers may see


def _period() -> dash.Period:
    """The period from ?start=YYYY-MM-DD&end=YYYY-MM-DD (the site's days, end inclusive); default the last
    30 days up to now."""
    clock = context.clock()

    def parse(name: str) -> date | None:
        raw = request.args.get(name, "").strip()
        if not raw:
            return None
        try:
            return datetime.strptime(raw, "%Y-%m-%d").date()
        except ValueError:
            raise ValidationError(f"{name} must be a date YYYY-MM-DD", name) from None

    first, last = parse("start"), parse("end")
    end = clock.days(last, last)[1] if last else clock.now()
    start = clock.day_start(first) if first else end - timedelta(days=30)
    if start >= end:
        raise ValidationError("start must be before end", "start")
    if end - start > timedelta(days=3 * 366):
        raise ValidationError("a period is at most three years", "start")
    return dash.Period(start, end)


def dashboard_data(period: dash.Period, with_case_managers: bool) -> dict:
    """Every table of the dashboard for a period."""
    session, now = db.session, context.now()
    tables = dash.Tables(session, period, now)
    overrides, total = dash.displacement_rate(session, period, tables.counts)
    summary = dash.alternative_summary(session, period)
    data = {
        "period": period,
        "weeks": tables.weeks,
        "overrides": overrides,
        "total": total,
        "by_reason": tables.overrides["reason"],
        "by_provider": tables.overrides["provider"],
        "by_case_manager": tables.overrides["case_manager"] if with_case_managers else None,
        "alternatives": summary,
        "with_alternative": dash.displacements_with_alternatives(session, period, latest=LATEST_LISTED),
        "without_alternative": overrides - summary.count,
        "breakdowns": tables.breakdowns,
        "lead": tables.lead,
        "additionality": dash.additionality_flags(session, period),
        "unmet": tables.unmet,
        "outcomes": dash.outcomes(session, period, tables.counts),
        "freshness": provider_freshness(session, now, context.site()),
    }
    return data


def _charts(data: dict) -> dict:
    weeks = list(data["weeks"])
    series = {c: [data["weeks"][w].get(f"classification:{c}", 0) for w in weeks] for c in cap.CLASSIFICATIONS}
    with_alt_reasons = {reason: count for reason, (count, _) in data["alternatives"].by_reason.items()}
    return {
        "weekly": charts.stacked_columns("Referrals per week by classification", weeks, series),
        "reasons": charts.bar_chart("Overrides by reason", sorted(data["by_reason"].items())),
        "lead": charts.bar_chart(
            "LEAD-funded units idle now, by provider", [(r.provider, r.idle) for r in data["lead"]]
        ),
        "unmet": charts.bar_chart("Unmet need by domain", sorted(data["unmet"]["domain"].items())),
        "with_alt": charts.bar_chart(
            "Displacements where an alternative existed, by reason", sorted(with_alt_reasons.items())
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
        "verified": lease.last_result if lease else None,
        "status": lease.last_status if lease else None,
    }


@bp.get("/pm")
@require_roles(*AUDITORS)
def dashboard():
    """The displacement audit dashboard for a chosen period (read-only)."""
    period = _period()
    data = dashboard_data(period, current_user.role == "project_manager")
    return render_template(
        "pm/dashboard.html",
        d=data,
        charts=_charts(data),
        chain=_chain_state(),
        imports=_imports(),
        end_shown=period.end - timedelta(microseconds=1),  # the site's day holding the period's last moment
    )


@bp.get("/pm/report")
@require_roles(*AUDITORS)
def report():
    """A printable monthly report (?month=YYYY-MM, default the previous month), without case-manager names."""
    raw = request.args.get("month", "")
    clock = context.clock()
    try:
        day = (
            datetime.strptime(raw, "%Y-%m").date()
            if raw
            else clock.today().replace(day=1) - timedelta(days=1)
        )
    except ValueError:
        raise ValidationError("month must be YYYY-MM", "month") from None
    first = clock.day_start(day.replace(day=1))
    period = dash.Period(first, clock.next_month(first))
    data = dashboard_data(period, False)
    return render_template("pm/report.html", d=data, charts=_charts(data), month=day.strftime("%B %Y"))


def _csv(rows: list[list], name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_safe(v) for v in row])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@bp.get("/pm/export/referrals.csv")
@require_roles(*AUDITORS)
def export_referrals():
    """Referrals of the period: participant codes replaced by a per-export pseudonym, times to the day."""
    period = _period()
    key = secrets.token_bytes(32)  # a new key per export: pseudonyms cannot be linked across exports

    def pseudonym(code: str | None) -> str:
        if code is None:
            return ""
        return "X-" + hmac.new(key, code.encode(), hashlib.sha256).hexdigest()[:10]

    rows = db.session.execute(
        select(Referral, Service.name, Organization.name, Participant.code)
        .join(Service, Service.id == Referral.service_id)
        .join(Organization, Organization.id == Service.organization_id)
        .outerjoin(Participant, Participant.id == Referral.participant_id)
        .where(Referral.created_at >= period.start, Referral.created_at < period.end)
        .order_by(Referral.created_at, Referral.id)
    ).all()
    table = [
        [
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
        ]
    ]
    for referral, service_name, provider, code in rows:
        table.append(
            [
                referral.id,
                referral.created_at.date().isoformat(),
                referral.service_id,
                service_name,
                provider,
                referral.domain,
                referral.action,
                referral.classification,
                referral.state,
                referral.hold,
                referral.would_displace,
                referral.reason_code or "",
                pseudonym(code),
                len(referral.alternatives),
                referral.closed_at.date().isoformat() if referral.closed_at else "",
            ]
        )
    return _csv(table, "referrals")


@bp.get("/pm/export/capacity-history.csv")
@require_roles(*AUDITORS)
def export_capacity_history():
    """Every capacity change and confirmation of the period, for all services."""
    from .provider import NUMBER_COLUMNS

    period = _period()
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
    return _csv(table, "capacity-history")


@bp.get("/pm/export/<table>.csv")
@require_roles(*AUDITORS)
def export_table(table: str):
    """One dashboard table as CSV (only that table's queries run)."""
    period = _period()
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
    return render_template("pm/freshness.html", rows=rows, now=context.now())


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
