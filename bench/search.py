"""Search benchmark: the search API through the full WSGI stack, against the domain search alone (the
public `directory.domain.search.search`, in process: no HTTP, no JSON) and the naive way (load everything,
geopy distance for each, filter in Python), at 10k and 100k national and 20k metro.

Each dataset's queries run in a fresh worker process, so its peak memory is that of a server process.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

from .common import FULL, SECRET, Run, seeded_sqlite, summary_ms

DATASETS = [("national", 10_000), ("national", 100_000), ("metro", 20_000)]
QUERIES = 500
NAIVE_QUERIES = 5
# The smoke: a small city (each query finds several services to rank and show).
SMOKE_DATASETS = [("metro", 300)]
SMOKE_QUERIES, SMOKE_NAIVE_QUERIES = 25, 2
DOMAINS = ["housing", "substance_use_treatment", "mental_health", "food", "harm_reduction", "medical_care"]
ATTRIBUTES = ["low_barrier=true", "housing_first=true", "availability=open", "language=es", "open_now=true"]
KEYWORDS = ["shelter", "clinic", "recovery", "food", "legal", "housing", "peer", "youth"]


def queries(
    points: list[tuple[float, float]], rng: random.Random, count: int = QUERIES
) -> list[tuple[str, str]]:
    """(kind, query string) pairs: radius 5 km + one domain + one attribute, and keyword queries."""
    out = []
    for i in range(count):
        lat, lon = rng.choice(points)
        lat += rng.uniform(-0.02, 0.02)
        lon += rng.uniform(-0.02, 0.02)
        if i % 5 == 4:
            out.append(("keyword", f"q={rng.choice(KEYWORDS)}&near={lat:.5f},{lon:.5f}&radius_km=25"))
        else:
            domain, attribute = rng.choice(DOMAINS), rng.choice(ATTRIBUTES)
            if attribute == "housing_first=true":
                domain = "housing"
            out.append(("radius", f"near={lat:.5f},{lon:.5f}&radius_km=5&category={domain}&{attribute}"))
    return out


def worker(path: str, count: int = QUERIES, naive_count: int = NAIVE_QUERIES) -> dict:
    """Run the queries against one database file; print JSON figures (in a process of its own)."""
    import resource

    from geopy.distance import geodesic
    from sqlalchemy import select

    from directory import create_app
    from directory.domain import search as search_module
    from directory.domain.geo import zip_centroids
    from directory.extensions import db
    from directory.models import Location, Service, service_at_location
    from directory.web import context

    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": SECRET, "SCHEDULER": "off"})
    client = app.test_client()
    rng = random.Random(2026)
    zip_centroids()  # load the offline ZIP table before timing, as a warm server would have
    with app.app_context():
        points = db.session.execute(
            select(Location.latitude, Location.longitude).where(Location.latitude.is_not(None))
        ).all()
        services_count = db.session.scalar(select(db.func.count()).select_from(Service))
    batch = queries([tuple(p) for p in points], rng, count)
    for _, qs in batch[:20]:  # warm-up: caches, prepared statements, imports
        client.get("/api/v1/services?" + qs)

    timings: dict[str, list[float]] = {"radius": [], "keyword": []}
    totals = []
    for kind, qs in batch:
        started = time.perf_counter()
        response = client.get("/api/v1/services?" + qs)
        timings[kind].append(time.perf_counter() - started)
        assert response.status_code == 200, response.data[:300]
        totals.append(response.get_json()["total"])

    # Peak memory of the serving process so far (the naive baseline below would inflate it).
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # The domain search alone: the same queries through the public search function, in process (no HTTP,
    # no JSON): what the full stack adds is the difference.
    domain = []
    with app.test_request_context():
        site, ref = context.site(), context.reference()
        now = context.now()
        for _kind, qs in batch:
            params = dict(p.split("=", 1) for p in qs.split("&"))
            query = search_module.parse_query(params, ref, None, site.default_radius_km)
            started = time.perf_counter()
            search_module.search(db.session, query, site, now, ref)
            domain.append(time.perf_counter() - started)
            db.session.expunge_all()

        # The naive way, on the first few of the same radius queries.
        naive = []
        radius_queries = [qs for kind, qs in batch if kind == "radius"][:naive_count]
        for qs in radius_queries:
            params = dict(p.split("=", 1) for p in qs.split("&"))
            query = search_module.parse_query(params, ref, None, site.default_radius_km)
            started = time.perf_counter()
            everything = db.session.execute(
                select(Service, Location.latitude, Location.longitude)
                .join(service_at_location, service_at_location.c.service_id == Service.id)
                .join(Location, Location.id == service_at_location.c.location_id)
                .where(Location.latitude.is_not(None))
            ).all()
            center = (query.center.latitude, query.center.longitude)
            hits = [
                (geodesic(center, (lat, lon)).km, s.id)
                for s, lat, lon in everything
                if s.primary_domain == query.category and geodesic(center, (lat, lon)).km <= query.radius_km
            ]
            hits.sort()
            naive.append(time.perf_counter() - started)
            db.session.expunge_all()

    return {
        "services": services_count,
        "full_stack_radius": summary_ms(timings["radius"]),
        "full_stack_keyword": summary_ms(timings["keyword"]),
        "full_stack_all": summary_ms(timings["radius"] + timings["keyword"]),
        "domain_search": summary_ms(domain),
        "naive": summary_ms(naive),
        "mean_results": round(sum(totals) / len(totals), 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


def main(run: Run = FULL) -> None:
    """Build (or reuse) the datasets, run a worker per dataset, write <results>/search.json."""
    print("search benchmark (SQLite, full WSGI stack)")
    datasets = run.pick(DATASETS, SMOKE_DATASETS)
    count, naive_count = run.pick((QUERIES, NAIVE_QUERIES), (SMOKE_QUERIES, SMOKE_NAIVE_QUERIES))
    results = {}
    for spread, services in datasets:
        path = seeded_sqlite(services, spread, cache=run.cache)
        out = subprocess.run(
            [sys.executable, "-m", "bench.search", "--worker", str(path), str(count), str(naive_count)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            raise RuntimeError(f"search worker failed for {spread} {services}")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        full, domain, naive = figures["full_stack_all"], figures["domain_search"], figures["naive"]
        figures["naive_over_full_stack_mean"] = round(naive["mean_ms"] / full["mean_ms"], 1)
        figures["full_stack_over_domain_search_p50"] = round(full["p50_ms"] / domain["p50_ms"], 1)
        results[f"{spread}_{services}"] = figures
    path = run.write(
        "search",
        {
            "targets": {"p95_ms_at_100k": 10, "naive_ratio_min": 100, "peak_rss_mb_max": 300},
            "queries_per_dataset": count,
            "naive_queries": naive_count,
            "datasets": results,
        },
    )
    header = (
        f"{'dataset':<18}{'radius p50/p95':>16}{'keyword p50/p95':>17}{'domain p50/p95':>17}"
        f"{'naive mean':>12}{'x naive':>9}{'RSS MB':>8}"
    )
    print(header)
    for name, f in results.items():
        print(
            f"{name:<18}{f['full_stack_radius']['p50_ms']:>7.2f}/{f['full_stack_radius']['p95_ms']:<8.2f}"
            f"{f['full_stack_keyword']['p50_ms']:>8.2f}/{f['full_stack_keyword']['p95_ms']:<8.2f}"
            f"{f['domain_search']['p50_ms']:>9.2f}/{f['domain_search']['p95_ms']:<7.2f}"
            f"{f['naive']['mean_ms']:>12.0f}{f['naive_over_full_stack_mean']:>9.0f}{f['peak_rss_mb']:>8.1f}"
        )
    print(f"results: {path}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        main()
