"""Dashboard and audit-log benchmark: the project manager's dashboard rendered over 100,000 referrals and
1,000,000 audit events on SQLite, against the same page over one simulated month (the baseline, same
process); and `audit verify` throughput in events per second."""

from __future__ import annotations

import random
import re
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text

from directory.domain import capacity as cap

from .common import FULL, SECRET, Run

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
REFERRALS, AUDIT_EVENTS = 100_000, 1_000_000
RENDERS = 5
# The smoke: a simulated week (the baseline), grown a little (both growths run), each rendered twice.
SMOKE_DAYS, SMOKE_REFERRALS, SMOKE_AUDIT_EVENTS, SMOKE_RENDERS = 7, 150, 3_000, 2
TARGET_S = 1.0
# referral_check, referral and their children are copied as blocks; these columns point into a copied block.
OFFSET_COLUMNS = {
    "referral_check": {"id": "check"},
    "referral": {"id": "referral", "check_id": "check"},
    "referral_alternative": {"id": "alternative", "referral_id": "referral"},
    "referral_event": {"id": "event", "referral_id": "referral"},
}
BLOCK_ID = {
    "check": "referral_check",
    "referral": "referral",
    "alternative": "referral_alternative",
    "event": "referral_event",
}


def _app(path):
    from directory import create_app

    return create_app(
        {"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": SECRET, "SCHEDULER": "off", "CLOCK": lambda: NOW}
    )


def month_database(name: str, cache: Path, days: int = 30):
    """The demo site plus one simulated month (or `days`) of referrals ending at NOW (the baseline), under
    `cache`."""
    from directory import demo
    from directory.cli import init_database
    from directory.extensions import db
    from directory.migrate import head_revision
    from directory.simulate import simulate_month

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{name}-{head_revision()}.sqlite3"
    for leftover in cache.glob(path.name + "*"):
        leftover.unlink()
    app = _app(path)
    with app.app_context():
        init_database()
        demo.seed(db.session, app.config["SITE"], services=300, seed=7, now=NOW - timedelta(days=31))
        db.session.commit()
        simulate_month(db.session, app.config["SITE"], NOW, seed=3, days=days)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return path


def _columns(conn, table: str) -> list[str]:
    return [row[1] for row in conn.execute(text(f"PRAGMA table_info({table})"))]


def _copy_block(conn, limit: int | None) -> None:
    """Copy referrals (up to `limit` of them) with their checks, alternatives and events under new ids."""
    # Table and column names below are this module's constants, never input.
    offsets = {
        kind: conn.scalar(text(f"SELECT max(id) FROM {table}"))  # noqa: S608
        for kind, table in BLOCK_ID.items()
    }
    where = {
        "referral": f"WHERE id <= {limit}" if limit else "",
        "referral_check": (
            f"WHERE id IN (SELECT check_id FROM referral WHERE id <= {limit})"  # noqa: S608
            if limit
            else ""
        ),
        "referral_alternative": f"WHERE referral_id <= {limit}" if limit else "",
        "referral_event": f"WHERE referral_id <= {limit}" if limit else "",
    }
    for table in ("referral_check", "referral", "referral_alternative", "referral_event"):
        columns = _columns(conn, table)
        shifted = []
        for column in columns:
            if column in OFFSET_COLUMNS[table]:
                shifted.append(f"{column} + {offsets[OFFSET_COLUMNS[table][column]]}")
            elif column == "idempotency_key":
                shifted.append("NULL")
            elif column == "reference":  # unique per referral: a copy gets its own (its new id appended)
                shifted.append(
                    f"CASE WHEN reference IS NULL THEN NULL ELSE 'C' || (id + {offsets['referral']}) END"
                )
            else:
                shifted.append(column)
        conn.execute(
            text(
                f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                f"SELECT {', '.join(shifted)} FROM {table} {where[table]} ORDER BY id"
            )
        )


def grow_referrals(conn, target: int) -> None:
    """Copy the month's referrals (all in the same 30 days: the dashboard's worst case) up to `target`."""
    while (count := conn.scalar(text("SELECT count(*) FROM referral"))) < target:
        _copy_block(conn, None if 2 * count <= target else target - count)


def grow_audit_log(conn, target: int) -> None:
    """Append events to a valid chain until it holds `target` events (the hashes are real)."""
    from directory.domain.audit import canonical, chain_hash
    from directory.models import AuditEvent, AuditHead

    head = conn.execute(select(AuditHead.last_event_id, AuditHead.last_hash).where(AuditHead.id == 1)).one()
    event_id, prev = head.last_event_id, head.last_hash
    rng = random.Random(5)
    actions = ("referral.claim", "referral.accept", "capacity.update", "capacity.confirm", "referral.cancel")
    batch = []
    while event_id < target:
        event_id += 1
        at = NOW - timedelta(seconds=target - event_id)
        action = rng.choice(actions)
        payload = {"service_id": rng.randint(1, 300), "classification": rng.choice(cap.CLASSIFICATIONS)}
        content = canonical(event_id, at, 1, action, "referral", event_id, payload)
        digest = chain_hash(prev, content)
        batch.append(
            {
                "id": event_id,
                "at": at,
                "actor_id": 1,
                "action": action,
                "object_type": "referral",
                "object_id": str(event_id),
                "payload": payload,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
        if len(batch) == 50_000:
            conn.execute(insert(AuditEvent), batch)
            batch = []
    if batch:
        conn.execute(insert(AuditEvent), batch)
    conn.execute(
        AuditHead.__table__.update()
        .where(AuditHead.id == 1)
        .values(last_event_id=event_id, last_hash=prev, events=event_id)
    )


def large_database(month: Path, referrals: int = REFERRALS, audit_events: int = AUDIT_EVENTS):
    """The month, grown to `referrals` referrals and `audit_events` audit events (built once, cached
    beside the month, which it copies)."""
    from directory.migrate import head_revision

    path = month.parent / f"dashboard-large-{referrals}-{audit_events}-{head_revision()}.sqlite3"
    if path.exists():
        return path
    partial = month.parent / "dashboard-large-partial.sqlite3"
    for leftover in month.parent.glob(partial.name + "*"):
        leftover.unlink()
    source, target = sqlite3.connect(month), sqlite3.connect(partial)
    try:
        source.backup(target)  # the month as it is (simulating it again would give the same)
    finally:
        source.close()
        target.close()
    app = _app(partial)
    with app.app_context():
        from directory.domain.rollups import rebuild
        from directory.extensions import db

        with db.engine.begin() as conn:
            grow_referrals(conn, referrals)
            grow_audit_log(conn, audit_events)
        # The copies were written in SQL, past the app's writes that keep the daily rollups: rebuild them.
        rebuild(db.session)
        db.session.commit()
        db.engine.dispose()
    partial.rename(path)
    return path


def sign_in_as(client, email: str) -> None:
    """Sign in through the login form, as a person would (the session carries the server's own markers)."""
    from directory.demo import DEMO_PASSWORD

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    form = {"email": email, "password": DEMO_PASSWORD}
    if token:
        form["csrf_token"] = token.group(1)
    answer = client.post("/login", data=form)
    assert answer.status_code == 302, f"sign-in as {email} answered {answer.status_code}"


def render_times(path, renders: int = RENDERS) -> dict:
    """Seconds to render /pm (default 30-day period) as a project manager, `renders` times after a warm-up."""
    from directory.extensions import db
    from directory.models import AuditEvent, Referral, User

    app = _app(path)
    client = app.test_client()
    with app.app_context():
        manager_email = db.session.scalar(select(User.email).where(User.role == "project_manager").limit(1))
        referrals = db.session.scalar(select(func.count()).select_from(Referral))
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    sign_in_as(client, manager_email)
    response = client.get("/pm")
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        response = client.get("/pm")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    with app.app_context():
        db.engine.dispose()
    return {
        "referrals": referrals,
        "audit_events": events,
        "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
        "page_bytes": len(response.data),
    }


def verify_throughput(path) -> dict:
    """`audit verify` over the whole chain: events per second."""
    from directory.domain.audit import verify
    from directory.extensions import db

    app = _app(path)
    with app.app_context():
        started = time.perf_counter()
        result = verify(db.session)
        elapsed = time.perf_counter() - started
        db.engine.dispose()
    assert result.ok, result
    return {
        "events": result.events,
        "seconds": round(elapsed, 2),
        "events_per_s": round(result.events / elapsed),
    }


def main(run: Run = FULL) -> None:
    """Build (or reuse) both databases, time the dashboard and the chain check; <results>/dashboard.json."""
    referrals, events, renders = run.pick(
        (REFERRALS, AUDIT_EVENTS, RENDERS), (SMOKE_REFERRALS, SMOKE_AUDIT_EVENTS, SMOKE_RENDERS)
    )
    days = run.pick(30, SMOKE_DAYS)
    baseline_path = month_database("dashboard-month", run.cache, days)
    large_path = large_database(baseline_path, referrals, events)
    baseline = render_times(baseline_path, renders)
    large = render_times(large_path, renders)
    chain = verify_throughput(large_path)
    print(
        f"  dashboard, {days} days simulated ({baseline['referrals']} referrals): "
        f"{baseline['median_s'] * 1000:.0f} ms; "
        f"{large['referrals']:,} referrals + {large['audit_events']:,} events: "
        f"{large['median_s'] * 1000:.0f} ms "
        f"(target {TARGET_S * 1000:.0f} ms; {large['median_s'] / baseline['median_s']:.1f}x the month)"
    )
    print(f"  audit verify: {chain['events_per_s']:,} events/s ({chain['events']:,} in {chain['seconds']} s)")
    path = run.write(
        "dashboard",
        {
            "database": "sqlite",
            "target_s": TARGET_S,
            "period": "the default 30 days, holding every referral (worst case)",
            "baseline_days": days,
            "baseline_month": baseline,
            "large": large,
            "ratio_large_to_month": round(large["median_s"] / baseline["median_s"], 1),
            "audit_verify": chain,
        },
    )
    print(f"results: {path}")
