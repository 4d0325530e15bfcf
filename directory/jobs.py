"""Scheduled jobs, declared as data, each run under a lease taken in the database.

APScheduler's docs warn that a shared job store does not stop two schedulers from running the same job,
so every run first takes the job's lease with a conditional UPDATE (only one process can win it), and
every job is written so that a second run changes nothing (e.g. expiry only touches rows still open).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .database import begin_write
from .domain import capacity as cap
from .domain.access import SYSTEM
from .domain.import_sources import run_due_imports
from .domain.notifications import deliver_pending, notify, organization_staff
from .domain.referrals import due_for_expiry, load_referral, transition
from .extensions import db
from .models import ConfirmLink, JobLease, Service, ServiceCapacity
from .types import utcnow
from .words import N_, Words

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Job:
    """A scheduled job: a name, what it does, and how often."""

    name: str
    run: Callable[[Session, datetime, dict], str]
    every_seconds: int
    description: str
    # A job that only reads (the chain check) runs in a read transaction: on SQLite a write lock held for
    # the whole walk of a long chain would stall every capacity update meanwhile.
    writes: bool = True


def expire_holds(session: Session, now: datetime, config: dict) -> str:
    """Expire open referrals past their time; each releases its hold (or waitlist place) once."""
    expired = 0
    for referral_id in due_for_expiry(session, now):
        referral = load_referral(session, referral_id, lock=True)
        if referral.state in ("held", "requested", "waitlisted") and referral.expires_at < now:
            transition(session, SYSTEM, referral, "expire", now)
            expired += 1
    return f"{expired} referral(s) expired"


def _stale_rows(session: Session, now: datetime, windows: dict):
    cutoffs = cap.cutoffs(now, windows)
    rows = session.scalars(select(ServiceCapacity).where(ServiceCapacity.stale_marked_at.is_(None))).all()
    return [r for r in rows if r.confirmed_at is None or r.confirmed_at < cutoffs[r.unit_id]]


def mark_stale(session: Session, now: datetime, config: dict) -> str:
    """Flag numbers that lapsed past their window (once per lapse) and tell the provider's staff."""
    site = config["SITE"]
    marked = 0
    for row in _stale_rows(session, now, site.freshness_hours):
        row.stale_marked_at = now
        service = session.get(Service, row.service_id)
        if row.confirmed_at is not None:
            notify(
                session,
                organization_staff(session, service.organization_id),
                "capacity_stale",
                Words(N_("Numbers now unverified: %(service)s"), service=service.name),
                Words(
                    N_(
                        "The numbers for %(service)s are older than their freshness window, so case managers "
                        "now see them as unverified. Update them or confirm they are still correct."
                    ),
                    service=service.name,
                ),
                now,
                link="/provider",
            )
        marked += 1
    return f"{marked} capacity record(s) marked stale"


def send_reminders(session: Session, now: datetime, config: dict) -> str:
    """Before a window runs out, send the provider a one-tap "still correct" link (once per confirmation)."""
    site = config["SITE"]
    sent = 0
    rows = session.scalars(select(ServiceCapacity).where(ServiceCapacity.confirmed_at.is_not(None))).all()
    for row in rows:
        window = timedelta(hours=site.freshness_hours[row.unit_id])
        ahead = timedelta(hours=site.reminder_hours_before.get(row.unit_id, 0))
        if now < row.confirmed_at + window - ahead or row.available is None:
            continue
        key = f"{row.service_id}:{row.confirmed_at.isoformat()}"
        if session.scalar(select(ConfirmLink.id).where(ConfirmLink.reminder_key == key)) is not None:
            continue
        service = session.get(Service, row.service_id)
        nonce = secrets.token_urlsafe(24)
        confirm = ConfirmLink(
            service_id=row.service_id,
            nonce=nonce,
            reminder_key=key,
            created_at=now,
            expires_at=row.confirmed_at + window + timedelta(hours=site.freshness_hours[row.unit_id]),
        )
        session.add(confirm)
        session.flush()
        notify(
            session,
            organization_staff(session, service.organization_id),
            "capacity_reminder",
            Words(N_("Are these numbers still correct? %(service)s"), service=service.name),
            Words(
                N_(
                    "%(service)s: %(free)s of %(total)s free, waitlist %(waiting)s. If that is still "
                    "true, one "
                    "tap keeps them current (no login needed). Otherwise update them on your dashboard."
                ),
                service=service.name,
                free=row.available,
                total=row.maximum,
                waiting=Words(N_("unknown")) if row.waitlist is None else row.waitlist,
            ),
            now,
            # The stored link needs a sign-in; the one-tap link is signed into the email only.
            link=f"/provider/services/{row.service_id}",
            confirm_link_id=confirm.id,
        )
        sent += 1
    return f"{sent} reminder(s) sent"


def send_notifications(session: Session, now: datetime, config: dict) -> str:
    """Email queued notices (when MAIL_URL is set)."""
    count = deliver_pending(
        session,
        config.get("MAIL_URL"),
        config.get("MAIL_SENDER", "directory@localhost"),
        config.get("BASE_URL", "http://127.0.0.1:5000"),
        now,
        secret_key=config.get("SECRET_KEY"),
    )
    return f"{count} email(s) sent"


def verify_audit(session: Session, now: datetime, config: dict) -> str:
    """Recompute the audit chain (daily); the dashboard shows the result."""
    from .domain.audit import verify

    result = verify(session)
    if not result.ok:
        raise RuntimeError(f"audit chain broken at event {result.first_bad_id}: {result.reason}")
    return f"{result.events} events verified"


def publish_transparency(session: Session, now: datetime, config: dict) -> str:
    """Store the public figures of every period that has closed (once; later changes only as revisions)."""
    from .domain.clock import SiteClock
    from .domain.transparency import publish_closed

    site = config["SITE"]
    published = publish_closed(
        session, SYSTEM, SiteClock(site.time_zone, lambda: now), site.transparency_period
    )
    return f"{len(published)} period(s) published" + (f": {', '.join(published)}" if published else "")


JOBS: tuple[Job, ...] = (
    Job("expire_holds", expire_holds, 60, "release referral holds whose time is up"),
    Job("mark_stale", mark_stale, 300, "flag capacity numbers past their freshness window"),
    Job("send_reminders", send_reminders, 300, "remind providers before their numbers go stale"),
    Job("send_notifications", send_notifications, 60, "email queued notices"),
    Job("verify_audit", verify_audit, 86400, "recompute the audit hash chain", writes=False),
    Job("scheduled_imports", run_due_imports, 900, "run the site's configured imports when they are due"),
    Job(
        "publish_transparency", publish_transparency, 3600, "publish the figures of periods that have closed"
    ),
)


def holder_name() -> str:
    """This process's identity as a lease holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _ensure_lease_rows(session: Session) -> None:
    names = {job.name for job in JOBS}
    if names <= set(session.scalars(select(JobLease.name))):
        session.commit()
        return
    # Several jobs start at once in the web process: take the write lock before reading what to insert
    # (on SQLite a read transaction cannot become a writer while another thread writes).
    session.rollback()
    begin_write(session)
    missing = names - set(session.scalars(select(JobLease.name)))
    if not missing:  # another thread of this process created them while we waited for the lock
        session.commit()
        return
    # Another process (PostgreSQL) may create the same rows meanwhile: theirs stand, and no error is raised
    # (a failed batch insert left the driver logging an aborted pipeline at every start).
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    rows = [{"name": name, "runs": 0} for name in sorted(missing)]
    session.execute(insert(JobLease).values(rows).on_conflict_do_nothing(index_elements=["name"]))
    session.commit()


def run_job(app: Flask, job: Job, holder: str, now: datetime | None = None) -> str | None:
    """Run a job once if this process wins its lease; return its result, or None if another holds it."""
    with app.app_context():
        session = db.session
        try:
            _ensure_lease_rows(session)
            moment = now or utcnow()
            won = session.execute(
                update(JobLease)
                .where(
                    JobLease.name == job.name,
                    (JobLease.leased_until.is_(None)) | (JobLease.leased_until < moment),
                )
                .values(holder=holder, leased_until=moment + LEASE, last_started_at=moment)
            ).rowcount
            session.commit()
            if not won:
                return None
            status, result = "ok", ""
            try:
                if job.writes:
                    begin_write(session)
                result = job.run(session, moment, app.config)
                session.commit()
            except Exception as exc:  # noqa: BLE001 - a failed job is recorded, not fatal to the scheduler
                session.rollback()
                status, result = "failed", f"{exc.__class__.__name__}: {exc}"
                log.exception("job %s failed", job.name)
            session.execute(
                update(JobLease)
                .where(JobLease.name == job.name, JobLease.holder == holder)
                .values(
                    leased_until=None,
                    last_finished_at=utcnow() if now is None else moment,
                    last_status=status,
                    last_result=result[:2000],
                    runs=JobLease.runs + 1,
                )
            )
            session.commit()
            return result
        finally:
            session.remove()


def make_scheduler(app: Flask, blocking: bool):
    """An APScheduler scheduler with every job; each tick runs the job under its lease."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    holder = holder_name()
    for job in JOBS:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.every_seconds,
            args=[app, job, holder],
            id=job.name,
            name=job.description,
            coalesce=True,
            max_instances=1,
            next_run_time=utcnow() + timedelta(seconds=5),
        )
    return scheduler


def start_in_process(app: Flask) -> None:
    """Start the background scheduler in this process (make run only; never from create_app)."""
    if app.extensions.get("directory_scheduler") is not None:
        return
    scheduler = make_scheduler(app, blocking=False)
    scheduler.start()
    app.extensions["directory_scheduler"] = scheduler
