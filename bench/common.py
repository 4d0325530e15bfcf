"""Helpers shared by the benchmarks: cached databases, percentiles, result files."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
CACHE = RESULTS / "cache"
SECRET = "bench-secret-" + "x" * 40


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def summary_ms(seconds: list[float]) -> dict:
    """p50, p95, p99 and mean of durations, in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else None,
    }


def write_result(name: str, data: dict) -> Path:
    """Write bench/results/<name>.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **data}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def seeded_sqlite(services: int, spread: str, seed: int = 11) -> Path:
    """A SQLite file with the demo generator's services (built once, cached under bench/results/cache)."""
    from directory import create_app
    from directory.cli import init_database
    from directory.extensions import db
    from directory.migrate import head_revision

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"demo-{spread}-{services}-{seed}-{head_revision()}.sqlite3"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    from directory import demo

    app = create_app({"DATABASE_URL": f"sqlite:///{partial}", "SECRET_KEY": SECRET, "SCHEDULER": "off"})
    started = time.perf_counter()
    with app.app_context():
        init_database()
        demo.seed(db.session, app.config["SITE"], services=services, seed=seed, spread=spread)
        db.session.commit()
        db.session.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    print(f"  seeded {services} services ({spread}) in {time.perf_counter() - started:.1f} s")
    partial.rename(path)
    return path
