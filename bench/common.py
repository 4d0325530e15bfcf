"""Helpers shared by the benchmarks: where a run writes, cached databases, percentiles, result files."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
CACHE = RESULTS / "cache"
SECRET = "bench-secret-" + "x" * 40


@dataclass(frozen=True)
class Run:
    """One run of the benchmarks: where its results and cached databases go, and whether it is the smoke
    (every benchmark at tiny sizes: it checks that they still run, its figures mean nothing)."""

    results: Path = RESULTS
    cache: Path = CACHE
    smoke: bool = False

    def write(self, name: str, data: dict) -> Path:
        """Write <results>/<name>.json (marked as a smoke run when it is one)."""
        return write_result(name, {"smoke": True, **data} if self.smoke else data, self.results)

    def pick(self, full, smoke):
        """The full size, or the smoke's."""
        return smoke if self.smoke else full


FULL = Run()


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


def write_result(name: str, data: dict, folder: Path = RESULTS) -> Path:
    """Write <folder>/<name>.json (bench/results by default)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    data = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **data}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def seeded_sqlite(services: int, spread: str, seed: int = 11, cache: Path = CACHE) -> Path:
    """A SQLite file with the demo generator's services (built once, cached under `cache`)."""
    from directory import create_app
    from directory.cli import init_database
    from directory.extensions import db
    from directory.migrate import head_revision

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"demo-{spread}-{services}-{seed}-{head_revision()}.sqlite3"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    for leftover in cache.glob(partial.name + "*"):
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
