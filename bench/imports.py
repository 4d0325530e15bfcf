"""Import benchmark: a 100,000-service HSDS datapackage made from the demo generator (exported by our own
HSDS export), and the real HUD file (23,704 sites): first import, unchanged re-import, peak memory.

Each import runs in a fresh process (so its peak RSS is the import's own) against a fresh migrated SQLite
database. Targets on this machine: 100k services in <= 60 s with <= 500 MB peak; unchanged re-import <= 20 s.
The real files are in ../shared/data beside the checkout, or wherever SHARED_DATA points (as for the tests).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

from .common import CACHE, FULL, SECRET, Run, seeded_sqlite

SERVICES = 100_000
SHARED_DATA = Path(
    os.environ.get("SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
HUD = SHARED_DATA / "hud_coc_2018" / "coc_sites_2018_public.csv"
TARGETS = {"import_seconds_max": 60, "peak_mb_max": 500, "reimport_seconds_max": 20}
# The smoke: a few hundred services (in one city: the national spread's ZIP table costs more than their
# import), and the HUD file's first few hundred sites.
SMOKE_SERVICES, SMOKE_HUD_SITES = 300, 300


def datapackage(services: int = SERVICES, cache: Path = CACHE, spread: str = "national") -> Path:
    """The demo site of `services` services exported as an HSDS 3.1 CSV datapackage (cached)."""
    from directory import create_app
    from directory.domain.hsds_export import export
    from directory.extensions import db
    from directory.migrate import head_revision

    folder = cache / f"hsds-{'' if spread == 'national' else spread + '-'}{services}-{head_revision()}"
    if (folder / "datapackage.json").exists():
        return folder
    source = seeded_sqlite(services, spread, cache=cache)
    app = create_app({"DATABASE_URL": f"sqlite:///{source}", "SECRET_KEY": SECRET, "SCHEDULER": "off"})
    started = time.perf_counter()
    partial = folder.with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with app.app_context():
        export(db.session, partial, "csv")
        db.session.remove()
        db.engine.dispose()
    partial.rename(folder)
    print(f"  exported {services} services as an HSDS datapackage in {time.perf_counter() - started:.1f} s")
    return folder


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child(source: str, path: str, database: str, label: str) -> dict:
    """Import path into database (in this process, as `flask scrape run` would); print figures as JSON."""
    from directory import create_app
    from directory.cli import init_database
    from directory.domain.imports import run_import
    from directory.extensions import db
    from directory.types import utcnow
    from scrapers.registry import parse_source

    app = create_app({"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": SECRET, "SCHEDULER": "off"})
    figures = {}
    with app.app_context():
        if label == "import":
            init_database()
        started = time.perf_counter()
        run, outcome = run_import(db.session, source, path, lambda: parse_source(source, path), utcnow())
        figures[f"{label}_seconds"] = round(time.perf_counter() - started, 2)
        figures[f"{label}_counts"] = {
            "added": run.added,
            "changed": run.changed,
            "unchanged": run.unchanged,
            "rejected": run.rejected,
        }
        figures[f"{label}_peak_mb"] = peak_mb()
        figures["services"] = outcome.result.outcome("service")
        db.session.remove()
        db.engine.dispose()
    print(json.dumps(figures))
    return figures


def hud_head(sites: int, cache: Path) -> Path:
    """The HUD file's header and first `sites` sites, byte for byte (one site per line in that file)."""
    path = cache / f"hud-head-{sites}.csv"
    with HUD.open("rb") as source:
        path.write_bytes(b"".join(islice(source, sites + 1)))
    return path


def measure(source: str, path: Path, cache: Path = CACHE) -> dict:
    """Run child() in a fresh process on a fresh database."""
    database = cache / f"import-bench-{source}.sqlite3"
    for leftover in cache.glob(database.name + "*"):
        leftover.unlink()
    figures = {}
    for label in ("import", "reimport"):  # each run a process of its own, as two `flask scrape run` would be
        done = subprocess.run(
            [sys.executable, "-m", "bench.imports", "--child", source, str(path), str(database), label],
            check=False,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise RuntimeError(f"the {label} of {source} failed (exit {done.returncode})")
        figures.update(json.loads(done.stdout.strip().splitlines()[-1]))
    for leftover in cache.glob(database.name + "*"):
        leftover.unlink()
    return figures


def main(run: Run = FULL) -> None:
    """Run the import benchmark and write <results>/imports.json."""
    run.cache.mkdir(parents=True, exist_ok=True)
    services = run.pick(SERVICES, SMOKE_SERVICES)
    results: dict = {"targets": TARGETS, "services": services}
    package = datapackage(services, run.cache, run.pick("national", "metro"))
    print(f"imports: {services}-service HSDS datapackage")
    results["hsds_100k"] = measure("hsds", package, run.cache)
    print("  " + json.dumps(results["hsds_100k"]))
    if HUD.exists():
        hud = hud_head(SMOKE_HUD_SITES, run.cache) if run.smoke else HUD
        print(f"imports: HUD CoC 2018 sites{f' (the first {SMOKE_HUD_SITES})' if run.smoke else ''}")
        results["hud"] = measure("hud-inventory", hud, run.cache)
        print("  " + json.dumps(results["hud"]))
    else:
        results["hud"] = f"skipped: {HUD} is absent (set SHARED_DATA, or put the data in ../shared/data)"
    big = results["hsds_100k"]
    results["met"] = {
        "import_seconds": big["import_seconds"] <= TARGETS["import_seconds_max"],
        "peak_mb": big["import_peak_mb"] <= TARGETS["peak_mb_max"],
        "reimport_seconds": big["reimport_seconds"] <= TARGETS["reimport_seconds_max"],
    }
    path = run.write("imports", results)
    print(f"imports: written {path}")
    # An unchanged re-import writes nothing, whatever its size.
    written = {
        name: {k: v for k, v in figures["reimport_counts"].items() if k in ("added", "changed") and v}
        for name, figures in results.items()
        if isinstance(figures, dict) and "reimport_counts" in figures
    }
    if run.smoke and any(written.values()):
        raise RuntimeError(f"imports: an unchanged re-import wrote {written}")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
    else:
        main()
