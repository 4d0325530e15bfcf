"""Write benchmarks against a real server process: provider capacity updates (4 clients, 30 s) and referral
check + claim (8 clients), on SQLite and PostgreSQL. Loopback only; bounded in time and count."""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .common import FULL, SECRET, Run, summary_ms
from .server import live_server, request

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
UPDATE_CLIENTS, UPDATE_SECONDS = 4, 30
CLAIM_CLIENTS, CLAIMS_PER_CLIENT = 8, 60
GUNICORN_WORKERS = 4


@dataclass(frozen=True)
class Sizes:
    """How many clients, for how long, against how many gunicorn workers."""

    update_clients: int = UPDATE_CLIENTS
    update_seconds: float = UPDATE_SECONDS
    claim_clients: int = CLAIM_CLIENTS
    claims_per_client: int = CLAIMS_PER_CLIENT
    gunicorn_workers: int = GUNICORN_WORKERS


SMOKE = Sizes(update_clients=2, update_seconds=1, claim_clients=2, claims_per_client=5, gunicorn_workers=2)


def release_the_other(check: object) -> dict:
    """What a case manager answers a check that found the participant holding a unit at the same level of
    care (one hold per need, issue 21): release it for this claim."""
    holds = check.get("participant_holds", []) if isinstance(check, dict) else []
    ids = [h["referral_id"] for h in holds if h.get("same_level")]
    return {"release_referral_ids": ids} if ids else {}


def prepare(url: str, claim_clients: int = CLAIM_CLIENTS) -> dict:
    """Migrate, seed the demo, and add the accounts, tokens and roomy services the benchmark uses."""
    from directory import create_app, demo
    from directory.cli import init_database, issue_token
    from directory.database import analyze
    from directory.extensions import db
    from directory.models import Organization, Participant, Service, ServiceCapacity, User
    from directory.types import utcnow

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "SCHEDULER": "off"})
    with app.app_context():
        init_database()
        demo.seed(db.session, app.config["SITE"], services=300, seed=7)
        org = db.session.scalar(
            db.select(Organization).where(Organization.name == "Cascade Harm Reduction Collective")
        )
        provider = User(email="bench-provider@bench.invalid", role="provider", organization_id=org.id)
        db.session.add(provider)
        db.session.flush()
        services = db.session.scalars(
            db.select(Service).join(ServiceCapacity).where(Service.organization_id == org.id)
        ).all()
        # Roomy general capacity so that claims keep succeeding for the whole run.
        for service in services:
            service.capacity.maximum = 100_000
            service.capacity.available = 100_000
            service.capacity.waitlist = 0
            service.capacity.confirmed_at = utcnow()
        clients = []
        for i in range(claim_clients):
            cm = User(email=f"bench-cm{i}@bench.invalid", role="case_manager")
            db.session.add(cm)
            db.session.flush()
            participant = Participant(code=f"P-BENCH{i}", case_manager_id=cm.id, needs={})
            db.session.add(participant)
            clients.append((issue_token(cm), participant.code))
        token = issue_token(provider)
        db.session.commit()
        analyze(db.engine)
        out = {
            "provider_token": token,
            "provider_id": provider.id,
            "service_ids": [s.id for s in services],
            "clients": clients,
        }
        db.session.remove()
        db.engine.dispose()
    return out


def run_updates(base: str, setup: dict, sizes: Sizes = Sizes()) -> dict:
    """4 clients PUT capacity for 30 s; updates per second and latency."""
    headers = {"Authorization": f"Bearer {setup['provider_token']}"}
    deadline = time.monotonic() + sizes.update_seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        mine, errs = [], 0
        while time.monotonic() < deadline:
            service_id = rng.choice(setup["service_ids"])
            started = time.perf_counter()
            status, _ = request(
                base,
                "PUT",
                f"/api/v1/services/{service_id}/capacity",
                {"available": rng.randint(0, 100_000), "waitlist": 0},
                headers,
            )
            mine.append(time.perf_counter() - started)
            errs += status != 200
        with lock:
            latencies.extend(mine)
            errors[0] += errs

    threads = [threading.Thread(target=client, args=(i,)) for i in range(sizes.update_clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return {
        "updates": len(latencies),
        "errors": errors[0],
        "updates_per_s": round(len(latencies) / elapsed, 1),
        **summary_ms(latencies),
    }


def run_claims(base: str, setup: dict, sizes: Sizes = Sizes()) -> dict:
    """8 clients each check then claim, 60 times; latency of each step."""
    checks, claims, errors = [], [], [0]
    lock = threading.Lock()

    def client(index: int) -> None:
        token, code = setup["clients"][index]
        headers = {"Authorization": f"Bearer {token}"}
        rng = random.Random(index)
        my_checks, my_claims, errs = [], [], 0
        for _ in range(sizes.claims_per_client):
            service_id = rng.choice(setup["service_ids"])
            started = time.perf_counter()
            status, body = request(
                base,
                "POST",
                "/api/v1/referrals/check",
                {"service_id": service_id, "participant_code": code},
                headers,
            )
            my_checks.append(time.perf_counter() - started)
            errs += status != 200
            started = time.perf_counter()
            status, body = request(
                base,
                "POST",
                "/api/v1/referrals",
                {
                    "service_id": service_id,
                    "participant_code": code,
                    "action": "claim",
                    **release_the_other(body),
                },
                headers,
            )
            my_claims.append(time.perf_counter() - started)
            errs += status != 201
        with lock:
            checks.extend(my_checks)
            claims.extend(my_claims)
            errors[0] += errs

    threads = [threading.Thread(target=client, args=(i,)) for i in range(sizes.claim_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"errors": errors[0], "check": summary_ms(checks), "claim": summary_ms(claims)}


def postgres_name(run: Run) -> str:
    """The benchmark database's name: lead_bench, or one of the smoke's own (a smoke, say under `make
    test`, must never drop the database of a full `make bench` running at the same time)."""
    return f"lead_bench_smoke_{os.getpid()}" if run.smoke else "lead_bench"


def fresh_postgres(name: str = "lead_bench") -> str:
    """A new, empty benchmark database on the local PostgreSQL (named by this module, never by input)."""
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_postgres(name: str) -> None:
    """Drop a benchmark database (the smoke's, once it is done)."""
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()


def main(run: Run = FULL) -> None:
    """Run both benchmarks on SQLite and PostgreSQL; write <results>/concurrency.json."""
    sizes = run.pick(Sizes(), SMOKE)
    run.cache.mkdir(parents=True, exist_ok=True)
    sqlite_path = run.cache / "concurrency.sqlite3"
    for leftover in run.cache.glob("concurrency.sqlite3*"):
        leftover.unlink()
    pg_name = postgres_name(run)
    results = {}
    # Each database on its own deployment path (README, Production): SQLite in the one threaded process,
    # PostgreSQL behind gunicorn with 4 workers.
    for name, url, workers in (
        ("sqlite", f"sqlite:///{sqlite_path}", 0),
        ("postgresql", None, sizes.gunicorn_workers),
    ):
        if url is None:
            try:
                url = fresh_postgres(pg_name)
            except Exception as exc:
                if run.smoke:  # the smoke runs every path, or fails
                    raise
                print(f"  PostgreSQL unavailable ({exc.__class__.__name__}); skipped")
                continue
        try:
            setup = prepare(url, claim_clients=sizes.claim_clients)
            with live_server(url, gunicorn_workers=workers) as base:
                updates = run_updates(base, setup, sizes)
                claims = run_claims(base, setup, sizes)
        finally:
            if run.smoke and name == "postgresql":
                drop_postgres(pg_name)
        server = f"gunicorn -w {workers}" if workers else "flask serve (werkzeug, threaded, one process)"
        results[name] = {"server": server, "capacity_updates": updates, "referrals": claims}
        print(
            f"  {name:<10} updates {updates['updates_per_s']:>6}/s p95 {updates['p95_ms']:.1f} ms "
            f"(errors {updates['errors']}); check p95 {claims['check']['p95_ms']:.1f} ms; "
            f"claim p50/p95 {claims['claim']['p50_ms']:.1f}/{claims['claim']['p95_ms']:.1f} ms "
            f"(errors {claims['errors']})"
        )
    path = run.write(
        "concurrency",
        {
            "targets": {"updates_per_s_sqlite_min": 200, "update_p95_ms_max": 50, "claim_p95_ms_max": 100},
            "update_clients": sizes.update_clients,
            "update_seconds": sizes.update_seconds,
            "claim_clients": sizes.claim_clients,
            "claims_per_client": sizes.claims_per_client,
            "results": results,
        },
    )
    print(f"results: {path}")
    errors = {
        name: (r["capacity_updates"]["errors"], r["referrals"]["errors"]) for name, r in results.items()
    }
    if run.smoke and any(sum(pair) for pair in errors.values()):
        raise RuntimeError(f"concurrency: errors (updates, referrals) {errors}")


if __name__ == "__main__":
    main()
