"""Run the benchmarks: python -m bench [--smoke] [--out DIR] [name ...].

`python -m bench screenshots [--out DIR]` is apart: the interface's pages in each language as PNGs (see
bench/screenshots.py); neither `make bench` nor the smoke runs it.

In full (make bench) they run one after the other and write bench/results/<name>.json. With --smoke every
benchmark runs at tiny sizes (a check that they still run and that what they measure is sound, part of
make test; its figures mean nothing), each in a process of its own, two at a time, and writes to a new
temporary folder, or to --out DIR, never to bench/results. Exits non-zero when any benchmark fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import concurrency, dashboard, imports, load, search, weak_signal
from . import map as map_bench
from .common import FULL, RESULTS, Run

ROOT = Path(__file__).resolve().parent.parent

BENCHES = {
    "search": search.main,
    "concurrency": concurrency.main,
    "load": load.main,
    "map": map_bench.main,
    "dashboard": dashboard.main,
    "imports": imports.main,
    "weak_signal": weak_signal.main,
}
# The smoke's order: the longest first, so that two at a time end together.
SMOKE_ORDER = ("load", "concurrency", "map", "imports", "weak_signal", "search", "dashboard")
SMOKE_TIMEOUT = 180  # seconds for one benchmark's smoke (a few seconds when sound): a hang fails, not waits


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run the benchmarks (all by default)."
    )
    parser.add_argument("names", nargs="*", metavar="name", help=f"of {', '.join(BENCHES)}")
    parser.add_argument(
        "--smoke", action="store_true", help="every benchmark at tiny sizes, results elsewhere"
    )
    parser.add_argument("--out", type=Path, help="folder for the results (smoke: a new temporary folder)")
    parser.add_argument("--jobs", type=int, default=2, help="smoke: benchmarks run at once (default 2)")
    return parser.parse_args(argv)


def run_here(run: Run, names: list[str]) -> dict[str, tuple[bool, float]]:
    """Run the benchmarks one after the other in this process: {name: (ran, seconds)}."""
    outcome = {}
    for name in names:
        begun = time.perf_counter()
        try:
            BENCHES[name](run)
            ok = True
        except Exception:  # noqa: BLE001 - report it, run the others, fail at the end
            traceback.print_exc()
            ok = False
        outcome[name] = (ok, time.perf_counter() - begun)
    return outcome


def stop(child: subprocess.Popen) -> None:
    """Interrupt a smoke's whole session, as Ctrl-C would (its finally blocks stop its servers and drop its
    database); kill it if that is not enough."""
    try:
        os.killpg(child.pid, signal.SIGINT)
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def smoke_apart(out: Path, names: list[str], jobs: int) -> dict[str, tuple[bool, float]]:
    """Each benchmark's smoke in a process of its own, `jobs` at a time; each one's output printed whole
    when it ends."""
    children: list[subprocess.Popen] = []

    def one(name: str) -> tuple[bool, float]:
        begun = time.perf_counter()
        command = [sys.executable, "-m", "bench", "--smoke", "--out", str(out), "--jobs", "1", name]
        # A session of its own, so that stopping it stops its servers and browser too.
        child = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        children.append(child)
        try:
            output, _ = child.communicate(timeout=SMOKE_TIMEOUT)
        except subprocess.TimeoutExpired:
            stop(child)
            output, _ = child.communicate()
            output += f"\n{name}: no end after {SMOKE_TIMEOUT} s; stopped\n"
        print(f"--- {name} ---\n{output}", end="", flush=True)
        return child.returncode == 0, time.perf_counter() - begun

    ordered = [name for name in SMOKE_ORDER if name in names] + [n for n in names if n not in SMOKE_ORDER]
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        outcome = dict(zip(ordered, pool.map(one, ordered), strict=True))
    except BaseException:  # Ctrl-C: the children run in sessions of their own, so it would not reach them
        pool.shutdown(wait=False, cancel_futures=True)
        for child in children:
            if child.poll() is None:
                stop(child)
        raise
    pool.shutdown()
    return {name: outcome[name] for name in names}


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all by default); 0 if every one ran, 1 if any failed, 2 on bad usage."""
    if argv[:1] == ["screenshots"]:
        from . import screenshots

        return screenshots.main(argv[1:])
    args = parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHES]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    names = args.names or list(BENCHES)
    started = time.perf_counter()
    if args.smoke:
        # Interruptible even when started with SIGINT ignored (as a background job): stop() relies on it.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        out = args.out or Path(tempfile.mkdtemp(prefix="lead-bench-smoke-"))
        if out.resolve() == RESULTS.resolve():
            print(f"the smoke never writes to {RESULTS}: its figures mean nothing", file=sys.stderr)
            return 2
        if len(names) == 1 or args.jobs <= 1:
            # Each benchmark's databases in a folder of its own, so that smokes running at once never meet.
            outcome = {}
            for name in names:
                run = Run(results=out, cache=out / "cache" / name, smoke=True)
                outcome.update(run_here(run, [name]))
                shutil.rmtree(run.cache, ignore_errors=True)  # databases and datapackages; the JSON stays
        else:
            outcome = smoke_apart(out, names, args.jobs)
            shutil.rmtree(out / "cache", ignore_errors=True)  # emptied by each benchmark, not the others'
        results = out
    else:
        run = Run(results=args.out, cache=args.out / "cache") if args.out else FULL
        outcome = run_here(run, names)
        results = run.results
    print(
        f"{'smoke' if args.smoke else 'benchmarks'}: "
        + ", ".join(f"{n} {'ok' if ok else 'FAILED'} {s:.1f} s" for n, (ok, s) in outcome.items())
        + f"; {time.perf_counter() - started:.1f} s in all; results in {results}"
    )
    return 0 if all(ok for ok, _ in outcome.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
