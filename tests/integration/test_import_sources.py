"""Scheduled imports run through the job mechanism: when due, recorded as import runs, failures visible."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from directory import jobs
from directory.domain.import_sources import import_status
from directory.extensions import db
from directory.jobs import JOBS, run_job
from directory.models import ImportRun, JobLease, Service
from tests.conftest import FIXED_NOW, make_app
from tests.scrapers.helpers import FIXTURES

pytestmark = pytest.mark.db


JOB = next(job for job in JOBS if job.name == "scheduled_imports")


def test_the_import_job_is_registered(app):
    assert "scheduled_imports" in {job.name for job in jobs.JOBS}


def test_due_sources_run_once_per_interval_and_failures_are_recorded(database_url, tmp_path):
    sources = [
        {
            "name": "hud-test",
            "source": "hud-inventory",
            "location": str(FIXTURES / "hud_sites.csv"),
            "every_hours": 6,
        },
        {"name": "broken", "source": "hsds", "location": str(tmp_path / "missing")},
    ]
    app = make_app(database_url, IMPORT_SOURCES=sources)
    result = run_job(app, JOB, "holder", FIXED_NOW)
    assert result is not None and "import failed: broken" in result
    with app.app_context():
        session = db.session
        assert session.scalar(select(func.count()).select_from(Service)) == 6
        lease = session.get(JobLease, "scheduled_imports")
        assert lease.last_status == "failed"
        status = {row["name"]: row for row in import_status(session, app.config)}
        assert status["hud-test"]["last_run"]["status"] == "succeeded"
        assert status["broken"]["last_run"]["status"] == "failed"
        session.remove()
    # An hour later nothing is due for hud-test (every 6 hours); the broken one is retried daily.
    run_job(app, JOB, "holder", FIXED_NOW + timedelta(hours=1))
    with app.app_context():
        runs = db.session.scalar(
            select(func.count()).select_from(ImportRun).where(ImportRun.source == "hud-test")
        )
        assert runs == 1
        db.session.remove()
    run_job(app, JOB, "holder", FIXED_NOW + timedelta(hours=7))
    with app.app_context():
        runs = db.session.scalar(
            select(func.count()).select_from(ImportRun).where(ImportRun.source == "hud-test")
        )
        assert runs == 2
        db.session.remove()
        db.engine.dispose()
