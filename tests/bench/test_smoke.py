"""The benchmarks cannot rot: `python -m bench --smoke` runs every one of them at tiny sizes (PostgreSQL and
Chromium included, as make test has them) and must succeed, writing a result for each, never touching the
committed figures in bench/results.

Without /usr/bin/chromium or PostgreSQL on 127.0.0.1:5432 this skips with the reason; under CI=true it fails.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.map import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ("search", "concurrency", "load", "map", "dashboard", "imports", "weak_signal")
POSTGRES = ("127.0.0.1", 5432)


def require(condition: bool, reason: str) -> None:
    """Skip without what the smoke needs, with the reason; under CI=true, fail instead."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def postgres_listening() -> bool:
    try:
        with socket.create_connection(POSTGRES, timeout=2):
            return True
    except OSError:
        return False


def committed_results() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((ROOT / "bench" / "results").glob("*.json"))}


@pytest.mark.browser
def test_every_benchmark_runs_at_tiny_sizes(tmp_path):
    require(os.path.exists(CHROMIUM), f"the benchmarks' smoke needs {CHROMIUM}: `make browser-deps`")
    require(
        postgres_listening(), "the benchmarks' smoke needs PostgreSQL on 127.0.0.1:5432 (.ci/run starts it)"
    )
    out = tmp_path / "results"
    before = committed_results()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.monotonic() - started
    log = f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-6000:]}"
    assert done.returncode == 0, log
    for name in BENCHMARKS:
        path = out / f"{name}.json"
        assert path.is_file(), f"no result for {name}\n{log}"
        result = json.loads(path.read_text())
        assert result["smoke"] is True, name
    assert committed_results() == before, "the smoke changed bench/results"
    # Meant to take under a minute on a 2-core machine; thrice that means a benchmark lost its smoke sizes.
    assert elapsed < 180, f"the smoke took {elapsed:.0f} s\n{log}"
