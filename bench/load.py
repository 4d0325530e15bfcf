"""Load and fault benchmark: 50 clients for 60 s (80% search, 15% capacity update, 5% check + claim) against
gunicorn with 4 workers on PostgreSQL and the single process on SQLite, then SQL checks that every
acknowledged write is stored once and that every service's counts add up; then the same load with a worker
killed (kill -9) and with PostgreSQL restarted in the middle. Loopback only; bounded in count and time."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text

from .common import FULL, Run, summary_ms
from .concurrency import drop_postgres, fresh_postgres, postgres_name, prepare, release_the_other
from .search import DOMAINS
from .server import live_server, request

CLIENTS, SECONDS = 50, 60
FAULT_SECONDS = 40
THINK = 0.5  # seconds, mean pause between one client's requests in the paced run
GUNICORN_WORKERS = 4
MIX = (("search", 0.80), ("update", 0.15), ("claim", 0.05))
SEATTLE = (47.6062, -122.3321)
TARGETS = {"errors": 0, "lost_writes": 0, "search_p95_ms_max": 150, "claim_p95_ms_max": 250}


@dataclass(frozen=True)
class Sizes:
    """How many clients, for how long, against how many gunicorn workers."""

    clients: int = CLIENTS
    seconds: float = SECONDS
    fault_seconds: float = FAULT_SECONDS
    think: float = THINK
    gunicorn_workers: int = GUNICORN_WORKERS


# The smoke: back to back on PostgreSQL and SQLite, then the killed worker with paced clients (the paced run's
# path, in one run less); not the PostgreSQL restart, which would cut every other user of the server.
SMOKE = Sizes(clients=4, seconds=1, fault_seconds=1.5, think=0.05, gunicorn_workers=2)


@dataclass
class Tally:
    """What the clients saw: latencies per kind, statuses, and the writes the server acknowledged."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    timeline: list[tuple[float, str, int]] = field(default_factory=list)
    updates_acknowledged: int = 0
    updates_attempted: int = 0
    claims_acknowledged: list[int] = field(default_factory=list)
    claims_attempted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def pick(rng: random.Random) -> str:
    """One request kind drawn from the mix."""
    roll, total = rng.random(), 0.0
    for kind, share in MIX:
        total += share
        if roll < total:
            return kind
    return MIX[-1][0]


def search_path(rng: random.Random) -> str:
    """A radius search around a random point of the demo city."""
    lat = SEATTLE[0] + rng.uniform(-0.08, 0.08)
    lon = SEATTLE[1] + rng.uniform(-0.08, 0.08)
    return f"/api/v1/services?near={lat:.5f},{lon:.5f}&radius_km=5&category={rng.choice(DOMAINS)}"


def client(
    index: int, base: str, setup: dict, deadline: float, started: float, tally: Tally, think: float = 0.0
) -> None:
    """One client: requests from the mix until the deadline, back to back or with a random pause between
    them (exponential, mean `think` seconds: a person reading the answer)."""
    rng = random.Random(1000 + index)
    token, code = setup["clients"][index]
    staff = {"Authorization": f"Bearer {token}"}
    provider = {"Authorization": f"Bearer {setup['provider_token']}"}
    while time.monotonic() < deadline:
        if think:
            time.sleep(min(rng.expovariate(1 / think), max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                break
        kind = pick(rng)
        begun = time.perf_counter()
        try:
            if kind == "search":
                status, _ = request(base, "GET", search_path(rng), headers=staff, timeout=30)
            elif kind == "update":
                with tally.lock:
                    tally.updates_attempted += 1
                service_id = rng.choice(setup["service_ids"])
                # Roomy numbers, so that claims keep finding spare units for the whole run.
                body = {"available": rng.randint(50_000, 100_000), "waitlist": 0}
                status, _ = request(base, "PUT", f"/api/v1/services/{service_id}/capacity", body, provider)
                if status == 200:
                    with tally.lock:
                        tally.updates_acknowledged += 1
            else:
                service_id = rng.choice(setup["service_ids"])
                body = {"service_id": service_id, "participant_code": code}
                status, checked = request(base, "POST", "/api/v1/referrals/check", body, staff)
                if status == 200:
                    with tally.lock:
                        tally.claims_attempted += 1
                    claim = {**body, "action": "claim", **release_the_other(checked)}
                    status, answer = request(base, "POST", "/api/v1/referrals", claim, staff)
                    if status == 201:
                        with tally.lock:
                            tally.claims_acknowledged.append(answer["id"])
        except OSError:  # connection refused or reset: the server (or a worker) went away mid-request
            status = 0
        elapsed = time.perf_counter() - begun
        with tally.lock:
            tally.latencies[kind].append(elapsed)
            tally.statuses[(kind, status)] += 1
            tally.timeline.append((time.monotonic() - started, kind, status))


def run_load(
    base: str, setup: dict, seconds: float, fault=None, think: float = 0.0, clients: int = CLIENTS
) -> tuple[Tally, float]:
    """`clients` clients for `seconds`; `fault(base)` runs a third of the way through."""
    tally = Tally()
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        threading.Thread(target=client, args=(index, base, setup, deadline, started, tally, think))
        for index in range(clients)
    ]
    for thread in threads:
        thread.start()
    if fault is not None:
        time.sleep(seconds / 3)
        fault(base)
    for thread in threads:
        thread.join()
    return tally, time.monotonic() - started


def verify(url: str, setup: dict, tally: Tally) -> dict:
    """SQL checks after a run: acknowledged writes stored exactly once, holds add up, invariants hold."""
    engine = create_engine(url)
    with engine.connect() as conn:
        updates_stored = conn.scalar(
            text("SELECT count(*) FROM capacity_event WHERE user_id = :p AND kind = 'update'"),
            {"p": setup["provider_id"]},
        )
        stored_referrals = {
            row.id: row
            for row in conn.execute(
                text(
                    "SELECT r.id, r.state, r.hold, r.closed_reason FROM referral r "
                    "JOIN participant p ON p.id = r.participant_id WHERE p.code LIKE 'P-BENCH%'"
                )
            )
        }
        holds = conn.execute(
            text(
                "SELECT c.service_id, c.held_general, c.held_lead, "
                "(SELECT count(*) FROM referral r WHERE r.service_id = c.service_id AND r.state = 'held' "
                " AND r.hold = 'general') AS general_refs, "
                "(SELECT count(*) FROM referral r WHERE r.service_id = c.service_id AND r.state = 'held' "
                " AND r.hold = 'lead') AS lead_refs "
                "FROM service_capacity c"
            )
        ).all()
        broken = conn.scalar(
            text(
                "SELECT count(*) FROM service_capacity "
                "WHERE maximum < 0 OR available < 0 OR available > maximum OR waitlist < 0 "
                "OR held_general < 0 OR held_lead < 0 "
                "OR lead_funded_available > lead_funded_maximum OR lead_funded_available < 0 "
                "OR held_lead > lead_funded_maximum"
            )
        )
    engine.dispose()
    acknowledged = tally.claims_acknowledged
    lost_claims = [rid for rid in acknowledged if rid not in stored_referrals]
    # A hold its own client released for its next claim at the same level of care (one hold per need) is
    # accounted for; any other acknowledged claim must still hold its unit.
    unheld = [
        rid
        for rid in acknowledged
        if rid in stored_referrals
        and stored_referrals[rid].state != "held"
        and stored_referrals[rid].closed_reason != "released"
    ]
    mismatched = [
        row.service_id
        for row in holds
        if row.held_general != row.general_refs or row.held_lead != row.lead_refs
    ]
    return {
        "updates_acknowledged": tally.updates_acknowledged,
        "updates_attempted": tally.updates_attempted,
        "updates_stored": updates_stored,
        # A write whose answer was lost (worker killed after commit) may be stored without an acknowledgement;
        # an acknowledged write that is missing, or more writes stored than attempted, is a failure.
        "updates_lost": max(0, tally.updates_acknowledged - updates_stored),
        "updates_extra": max(0, updates_stored - tally.updates_attempted),
        "claims_acknowledged": len(acknowledged),
        "claims_attempted": tally.claims_attempted,
        "claims_stored": len(stored_referrals),
        "claims_lost": len(lost_claims),
        "claims_extra": max(0, len(stored_referrals) - tally.claims_attempted),
        "acknowledged_claims_not_held": len(unheld),
        "services_whose_holds_do_not_add_up": len(mismatched),
        "services_breaking_an_invariant": broken,
    }


def report(tally: Tally, elapsed: float) -> dict:
    """Throughput, latency per kind, and statuses."""
    total = sum(len(v) for v in tally.latencies.values())
    statuses = {f"{kind} {status}": n for (kind, status), n in sorted(tally.statuses.items())}
    good = {("search", 200), ("update", 200), ("claim", 201)}
    errors = sum(n for key, n in tally.statuses.items() if key not in good)
    return {
        "requests": total,
        "seconds": round(elapsed, 1),
        "requests_per_s": round(total / elapsed, 1),
        "errors": errors,
        "statuses": statuses,
        "latency": {kind: summary_ms(values) for kind, values in sorted(tally.latencies.items())},
    }


def recovery(tally: Tally, fault_at: float) -> dict:
    """After a fault: which statuses came back, and when answers were good again for the rest of the run."""
    after = [(t, kind, status) for t, kind, status in tally.timeline if t >= fault_at]
    bad = [(t, status) for t, kind, status in after if status not in (200, 201)]
    last_bad = max((t for t, _ in bad), default=fault_at)
    return {
        "failed_requests_after_fault": len(bad),
        "failed_statuses": dict(Counter(status for _, status in bad)),
        "server_errors_other_than_503": sum(1 for _, status in bad if status >= 500 and status != 503),
        "good_again_after_s": round(last_bad - fault_at, 2),
        "good_requests_after_recovery": sum(
            1 for t, _, status in after if t > last_bad and status in (200, 201)
        ),
    }


def unsound(results: dict) -> list[str]:
    """What no run may show whatever its size: an error outside a fault's own (the killed request, 503s
    while PostgreSQL restarts), or a write lost, doubled or not adding up (the smoke fails on any)."""
    found = []
    for name, result in results.items():
        if isinstance(result, str):  # skipped, with the reason
            continue
        allowed = {"0", "503"} if "recovery" in result else set()  # a fault run's (connection cut, 503)
        bad = {
            key: n
            for key, n in result["statuses"].items()
            if key not in ("search 200", "update 200", "claim 201") and key.split()[1] not in allowed
        }
        if bad:
            found.append(f"{name}: errors {bad}")
        checked = result["verify"]
        wrong = {
            key: checked[key]
            for key in (
                "updates_lost",
                "updates_extra",
                "claims_lost",
                "claims_extra",
                "acknowledged_claims_not_held",
                "services_whose_holds_do_not_add_up",
                "services_breaking_an_invariant",
            )
            if checked[key]
        }
        if wrong:
            found.append(f"{name}: {wrong}")
    return found


def kill_one_worker(base) -> None:
    """kill -9 one gunicorn worker (a child of the master process)."""
    children = subprocess.run(["pgrep", "-P", str(base.pid)], capture_output=True, text=True).stdout.split()
    if children:
        os.kill(int(children[0]), signal.SIGKILL)


def restart_postgres(_base) -> None:
    """Restart the local PostgreSQL cluster (fast shutdown: open connections are cut)."""
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True,
        capture_output=True,
    )


def measured(
    name: str,
    url: str,
    workers: int,
    seconds: float,
    fault=None,
    think: float = 0.0,
    clients: int = CLIENTS,
) -> dict:
    """Prepare a database, serve it, load it (with an optional fault), and verify it."""
    setup = prepare(url, claim_clients=clients)
    with live_server(url, gunicorn_workers=workers) as base:
        tally, elapsed = run_load(base, setup, seconds, fault, think, clients)
    result = {"server": f"gunicorn -w {workers}" if workers else "flask serve (one process)"}
    result["think_time_mean_s"] = think
    result.update(report(tally, elapsed))
    if fault is not None:
        result["recovery"] = recovery(tally, seconds / 3)
    result["verify"] = verify(url, setup, tally)
    # A kind may be missing from a tiny run (the smoke's second with 4 clients may draw no claim).
    p95 = {kind: result["latency"].get(kind, {}).get("p95_ms", float("nan")) for kind, _ in MIX}
    print(
        f"  {name:<22} {result['requests_per_s']:>6} req/s  errors {result['errors']:>4}  "
        f"search p95 {p95['search']:.0f} ms  update p95 {p95['update']:.0f} ms  "
        f"claim p95 {p95['claim']:.0f} ms  lost {result['verify']['claims_lost']}"
        f"+{result['verify']['updates_lost']}"
    )
    return result


def main(run: Run = FULL) -> None:
    """Normal load on PostgreSQL (gunicorn) and SQLite, then the two fault runs; <results>/load.json."""
    sizes = run.pick(Sizes(), SMOKE)
    clients, seconds, workers = sizes.clients, sizes.seconds, sizes.gunicorn_workers
    run.cache.mkdir(parents=True, exist_ok=True)
    pg_name = postgres_name(run)
    results = {}
    try:
        try:
            url = fresh_postgres(pg_name)
        except Exception as exc:
            if run.smoke:  # the smoke runs every path, or fails
                raise
            print(f"  PostgreSQL unavailable ({exc.__class__.__name__}: {exc}); skipped")
        else:
            results["postgresql_gunicorn4"] = measured(
                f"postgresql gunicorn -w{workers}", url, workers, seconds, clients=clients
            )
        sqlite_path = run.cache / "load.sqlite3"
        for leftover in run.cache.glob("load.sqlite3*"):
            leftover.unlink()
        results["sqlite_single"] = measured(
            "sqlite one process", f"sqlite:///{sqlite_path}", 0, seconds, clients=clients
        )
        if "postgresql_gunicorn4" in results:
            if run.smoke:
                results["postgresql_gunicorn4_paced"] = (
                    "in the smoke, the killed worker's run is paced instead"
                )
            else:
                # The same clients as people: a pause between requests (mean THINK s), so the arrival rate
                # is what the server can take, and latency is the service time, not the queue behind them.
                results["postgresql_gunicorn4_paced"] = measured(
                    "postgresql, paced",
                    fresh_postgres(pg_name),
                    workers,
                    seconds,
                    think=sizes.think,
                    clients=clients,
                )
            results["fault_kill_worker"] = measured(
                "kill -9 one worker",
                fresh_postgres(pg_name),
                workers,
                sizes.fault_seconds,
                kill_one_worker,
                think=sizes.think if run.smoke else 0.0,
                clients=clients,
            )
            if run.smoke:
                results["fault_restart_postgresql"] = "skipped in the smoke: it would cut every other user"
            else:
                results["fault_restart_postgresql"] = measured(
                    "restart postgresql",
                    fresh_postgres(pg_name),
                    workers,
                    sizes.fault_seconds,
                    restart_postgres,
                    clients=clients,
                )
    finally:
        if run.smoke:
            drop_postgres(pg_name)
    path = run.write(
        "load",
        {
            "clients": clients,
            "seconds": seconds,
            "fault_seconds": sizes.fault_seconds,
            "gunicorn_workers": workers,
            "mix": dict(MIX),
            "targets": TARGETS,
            "client": "one Python process, a thread per client, a new HTTP connection per request",
            "results": results,
        },
    )
    print(f"results: {path}")
    if run.smoke and (found := unsound(results)):
        raise RuntimeError("load: " + "; ".join(found))
