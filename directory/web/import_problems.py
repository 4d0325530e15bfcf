"""The problems an import run recorded, one per line, under the audit dashboard (project managers, admins)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from sqlalchemy import select

from ..domain.errors import NotFound
from ..domain.imports import PROBLEM_COLUMNS, problems_csv, run_problems
from ..extensions import db
from ..models import ImportRun
from .auth import require_roles

bp = Blueprint("import_problems", __name__)
AUDITORS = ("project_manager", "admin")
RUNS_LISTED = 50


@bp.get("/pm/imports")
@require_roles(*AUDITORS)
def runs():
    """The latest import runs, each with its problem count and a link to them."""
    latest = db.session.scalars(
        select(ImportRun).order_by(ImportRun.started_at.desc(), ImportRun.id.desc()).limit(RUNS_LISTED)
    ).all()
    counted = [(run, len(run_problems(db.session, run.id)[1])) for run in latest]
    return render_template("pm/import_runs.html", runs=counted)


@bp.get("/pm/imports/<id:run_id>/problems")
@require_roles(*AUDITORS)
def problems(run_id: int):
    """Each problem of one run: record, file and line or JSON path, field, the action taken."""
    try:
        run, rows = run_problems(db.session, run_id)
    except NotFound:
        abort(404)
    return render_template("pm/import_problems.html", run=run, rows=rows, columns=PROBLEM_COLUMNS)


@bp.get("/pm/imports/<id:run_id>/problems.csv")
@require_roles(*AUDITORS)
def problems_download(run_id: int):
    """The same problems as CSV (formulas neutralized)."""
    try:
        _, rows = run_problems(db.session, run_id)
    except NotFound:
        abort(404)
    return Response(
        problems_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=import-run-{run_id}-problems.csv"},
    )
