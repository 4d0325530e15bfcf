"""Scheduled jobs with a controlled clock: leases, hold expiry, stale marking, reminders with one-tap links,
and notification email over real SMTP."""

import logging
import re
import subprocess
import sys
import threading
from datetime import timedelta

from sqlalchemy import func, select

from directory.domain.access import Actor
from directory.domain.referrals import ReferralRequest, create_referral
from directory.extensions import db
from directory.jobs import JOBS, expire_holds, run_job
from directory.models import ConfirmLink, JobLease, Notification, Referral, ServiceCapacity
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_user
from tests.smtp_server import SMTPServer

JOB = {job.name: job for job in JOBS}


def held_referral(app, session, unit="shelter_bed"):
    service = make_service(
        session,
        capacity={
            "unit_id": unit,
            "maximum": 5,
            "available": 2,
            "waitlist": 0,
            "confirmed_at": fresh(FIXED_NOW),
        },
        **LOW_BARRIER,
    )
    cm = make_user(session, "case_manager")
    referral = create_referral(
        session,
        Actor.of(cm),
        service,
        make_participant(session, cm),
        ReferralRequest("claim"),
        FIXED_NOW,
        app.config["SITE"],
    )
    session.commit()
    return service, referral


def test_expiry_releases_a_hold_once(app, session):
    service, referral = held_referral(app, session)
    assert referral.expires_at == FIXED_NOW + timedelta(hours=3)
    before_expiry = FIXED_NOW + timedelta(hours=2, minutes=59)
    assert run_job(app, JOB["expire_holds"], "a", before_expiry) == "0 referral(s) expired"
    later = FIXED_NOW + timedelta(hours=3, seconds=1)
    assert run_job(app, JOB["expire_holds"], "a", later) == "1 referral(s) expired"
    assert run_job(app, JOB["expire_holds"], "b", later) == "0 referral(s) expired"
    session.rollback()  # end the test's read snapshot so the job's commits are visible
    assert session.get(Referral, referral.id).state == "expired"
    assert session.get(ServiceCapacity, service.capacity.id).held_general == 0


def test_a_held_lease_stops_a_second_run(app, session):
    held_referral(app, session)
    run_job(app, JOB["mark_stale"], "setup", FIXED_NOW)  # creates the lease rows
    session.execute(
        JobLease.__table__.update()
        .where(JobLease.name == "expire_holds")
        .values(holder="other", leased_until=FIXED_NOW + timedelta(hours=5))
    )
    session.commit()
    assert run_job(app, JOB["expire_holds"], "me", FIXED_NOW + timedelta(hours=4)) is None
    # Once the other holder's lease has run out, this process can take it.
    assert (
        run_job(app, JOB["expire_holds"], "me", FIXED_NOW + timedelta(hours=5, minutes=1))
        == "1 referral(s) expired"
    )


def test_two_job_processes_at_once_release_a_hold_once(app, session, database_url, tmp_path):
    service, referral = held_referral(app, session)
    session.execute(
        Referral.__table__.update()
        .where(Referral.id == referral.id)
        .values(expires_at=FIXED_NOW - timedelta(days=1))
    )
    session.commit()
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "x" * 40, "SCHEDULER": "off", "PATH": "/usr/bin:/bin"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "directory", "jobs", "run", "--once", "expire_holds"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    texts = sorted(out for out, _ in outputs)
    assert sum("1 referral(s) expired" in t for t in texts) == 1, texts
    session.rollback()  # end the test's read snapshot so the job's commits are visible
    assert session.get(ServiceCapacity, service.capacity.id).held_general == 0
    assert session.get(Referral, referral.id).state == "expired"


def test_numbers_go_unverified_without_anyone_touching_them(app, session, client):
    service = make_service(
        session,
        capacity={
            "unit_id": "shelter_bed",
            "maximum": 5,
            "available": 2,
            "waitlist": 0,
            "confirmed_at": FIXED_NOW - timedelta(hours=11),
        },
    )
    provider = make_user(session, "provider", organization=service.organization)
    session.commit()
    assert client.get(f"/api/v1/services/{service.id}").get_json()["capacity"]["status"] == "spare_capacity"
    app.config["CLOCK"] = lambda: FIXED_NOW + timedelta(hours=1, seconds=1)
    body = client.get(f"/api/v1/services/{service.id}").get_json()["capacity"]
    assert (body["stale"], body["status"]) == (True, "unverified")
    assert run_job(app, JOB["mark_stale"], "a", FIXED_NOW + timedelta(hours=1, seconds=1)).startswith("1 ")
    assert run_job(app, JOB["mark_stale"], "a", FIXED_NOW + timedelta(hours=2)).startswith("0 ")
    session.rollback()
    notices = session.scalars(select(Notification).where(Notification.user_id == provider.id)).all()
    assert [n.kind for n in notices] == ["capacity_stale"]


def test_reminder_link_confirms_once_without_login(app, session, client):
    service = make_service(
        session,
        capacity={
            "unit_id": "bed",
            "maximum": 5,
            "available": 2,
            "waitlist": 1,
            "confirmed_at": FIXED_NOW - timedelta(hours=41),
        },
    )
    provider = make_user(session, "provider", organization=service.organization)
    session.commit()
    # The bed window is 48 h and the reminder goes 8 h ahead: at 41 h nothing, at 40 h+ one reminder.
    assert run_job(app, JOB["send_reminders"], "a", FIXED_NOW - timedelta(hours=2)) == "0 reminder(s) sent"
    assert run_job(app, JOB["send_reminders"], "a", FIXED_NOW) == "1 reminder(s) sent"
    assert run_job(app, JOB["send_reminders"], "a", FIXED_NOW + timedelta(minutes=5)) == "0 reminder(s) sent"
    session.rollback()
    notice = session.scalar(select(Notification).where(Notification.user_id == provider.id))
    # What is stored is no credential: the in-app link needs a sign-in, and no signed token is kept.
    assert notice.link == f"/provider/services/{service.id}"
    stored = " ".join(str(v) for v in (notice.link, notice.subject, notice.body))
    assert "/confirm/" not in stored and "eyJ" not in stored
    session.rollback()
    # The one-tap link is signed into the email as it is sent.
    with SMTPServer() as server:
        app.config["MAIL_URL"] = server.url
        assert run_job(app, JOB["send_notifications"], "a", FIXED_NOW) == "1 email(s) sent"
    body = server.messages[0]["message"].get_payload(decode=True).decode()
    token = re.search(r"/confirm/(\S+)", body).group(1)
    assert f"/provider/services/{service.id}" in body
    page = client.get(f"/confirm/{token}")
    assert page.status_code == 200 and "still correct" in page.get_data(as_text=True)
    session.rollback()  # end the test's read snapshot so the job's commits are visible
    assert session.get(ServiceCapacity, service.capacity.id).confirmed_at == FIXED_NOW - timedelta(hours=41)
    assert client.post(f"/confirm/{token}").status_code == 200
    session.rollback()  # end the test's read snapshot so the job's commits are visible
    row = session.get(ServiceCapacity, service.capacity.id)
    assert row.confirmed_at == FIXED_NOW and (row.available, row.waitlist) == (2, 1)
    assert client.post(f"/confirm/{token}").status_code == 409
    assert client.get(f"/confirm/{token}").status_code == 410
    # A used link is not signed into any later email of that notice.
    from directory.domain.notifications import one_tap_link

    session.rollback()
    notice = session.scalar(select(Notification).where(Notification.user_id == provider.id))
    assert one_tap_link(session, notice, app.config["SECRET_KEY"], FIXED_NOW) is None
    assert client.post(f"/confirm/{token[:-2]}xx").status_code == 404


def test_expired_link_does_not_confirm(app, session, client):
    service = make_service(
        session,
        capacity={
            "maximum": 5,
            "available": 2,
            "waitlist": 1,
            "confirmed_at": FIXED_NOW - timedelta(hours=47),
        },
    )
    make_user(session, "provider", organization=service.organization)
    session.commit()
    run_job(app, JOB["send_reminders"], "a", FIXED_NOW)
    session.rollback()
    link = session.scalar(select(ConfirmLink))
    app.config["CLOCK"] = lambda: link.expires_at + timedelta(seconds=1)
    from directory.links import make_confirm_token

    token = make_confirm_token(app.config["SECRET_KEY"], link.nonce)
    assert client.post(f"/confirm/{token}").status_code == 409


def test_notifications_are_emailed_over_smtp(app, session):
    with SMTPServer() as server:
        app.config["MAIL_URL"] = server.url
        service, referral = held_referral(app, session)
        provider = make_user(
            session, "provider", organization=service.organization, email="beds@provider.example"
        )
        session.commit()
        from directory.domain.capacity_updates import update_capacity

        with app.app_context():
            update_capacity(db.session, Actor.of(provider), service.id, {"available": 0}, "api", FIXED_NOW)
            db.session.commit()
        assert run_job(app, JOB["send_notifications"], "a", FIXED_NOW) == "1 email(s) sent"
        assert run_job(app, JOB["send_notifications"], "a", FIXED_NOW) == "0 email(s) sent"
        assert len(server.messages) == 1
        mail = server.messages[0]
        assert mail["to"] == [referral.creator.email]
        assert "Hold at risk" in mail["message"]["Subject"]
    session.rollback()
    assert (
        session.scalar(
            select(func.count()).select_from(Notification).where(Notification.email_status == "sent")
        )
        == 1
    )


def test_unreachable_mail_server_is_retried_then_given_up(app, session):
    app.config["MAIL_URL"] = "smtp://127.0.0.1:9"  # discard port: nothing listens
    service = make_service(session)
    user = make_user(session, "case_manager")
    session.add(
        Notification(
            user_id=user.id, kind="x", subject="s", body="b", email_status="pending", created_at=FIXED_NOW
        )
    )
    session.commit()
    for _ in range(5):
        run_job(app, JOB["send_notifications"], "a", FIXED_NOW)
    session.rollback()  # end the test's read snapshot so the job's commits are visible
    assert session.scalar(select(Notification.email_status)) == "failed"
    assert service.id


def test_jobs_list_cli(app, runner, session):
    run_job(app, JOB["mark_stale"], "a", FIXED_NOW)
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0
    for job in JOBS:
        assert job.name in result.output
    assert "ok: 0 capacity record(s) marked stale" in result.output


def test_expire_holds_is_idempotent_when_called_directly(app, session):
    _, referral = held_referral(app, session)
    later = FIXED_NOW + timedelta(hours=4)
    first = expire_holds(session, later, app.config)
    second = expire_holds(session, later, app.config)
    assert (first, second) == ("1 referral(s) expired", "0 referral(s) expired")
    assert threading.active_count() >= 1


def test_every_job_starting_at_once_in_one_process_runs(app, session, caplog):
    # What the web process's scheduler does at start: every job fires together on a fresh database, and
    # each first creates the lease rows. None may fail on "database is locked".
    from directory import jobs as jobs_module

    every = jobs_module.JOBS  # as registered now (importers add theirs)
    assert session.scalar(select(func.count()).select_from(JobLease)) == 0
    session.remove()
    results: dict[str, str | None] = {}
    start = threading.Barrier(len(every))

    def fire(job):
        start.wait()
        results[job.name] = run_job(app, job, f"holder-{job.name}", now=FIXED_NOW)

    threads = [threading.Thread(target=fire, args=(job,)) for job in every]
    with caplog.at_level("WARNING"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # Losing the race to create the lease rows is normal, not something to log.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert set(results) == {job.name for job in every}
    assert all(result is not None for result in results.values()), results
    leases = session.execute(select(JobLease.name, JobLease.last_status, JobLease.runs)).all()
    assert sorted(leases) == sorted((job.name, "ok", 1) for job in every)


def test_without_a_mail_server_notices_stay_in_the_app_and_are_never_mailed_later(app, session):
    service, _ = held_referral(app, session)
    provider = make_user(
        session, "provider", organization=service.organization, email="beds@provider.example"
    )
    session.commit()
    from directory.domain.capacity_updates import update_capacity

    update_capacity(session, Actor.of(provider), service.id, {"available": 0}, "api", FIXED_NOW)
    session.commit()
    assert set(session.scalars(select(Notification.email_status))) == {"pending"}
    session.commit()  # end this session's read, so that it sees what the job commits
    assert run_job(app, JOB["send_notifications"], "a", FIXED_NOW) == "0 email(s) sent"
    assert set(session.scalars(select(Notification.email_status))) == {"none"}
    with SMTPServer() as server:
        app.config["MAIL_URL"] = server.url
        assert (
            run_job(app, JOB["send_notifications"], "a", FIXED_NOW + timedelta(minutes=2))
            == "0 email(s) sent"
        )
        assert server.messages == []
