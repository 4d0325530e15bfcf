"""A run killed halfway (kill -9, inside its write transaction) leaves the directory exactly as before, and
re-running completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from directory.domain.imports import run_import
from directory.extensions import db
from tests.conftest import FIXED_NOW, make_app
from tests.integration.test_imports import snapshot
from tests.scrapers.helpers import small_result

pytestmark = pytest.mark.db
ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys, time
from pathlib import Path
from tests.conftest import FIXED_NOW, make_app
from directory.extensions import db
from directory.domain.imports import run_import
from tests.scrapers.helpers import small_result

url, marker = sys.argv[1], Path(sys.argv[2])

def changed():
    result = small_result(800)
    for service in result.services[:5]:
        service.name += " (renamed)"
    return result

def progress(stage, done, total):
    if stage == "search index" and done == 0:
        marker.write_text("writing")
        time.sleep(60)  # killed here: everything written, nothing committed

app = make_app(url)
with app.app_context():
    run_import(db.session, "test", "memory", changed, FIXED_NOW, progress=progress)
"""


def test_kill_9_mid_run_leaves_the_directory_as_it_was(database_url, tmp_path):
    app = make_app(database_url)
    with app.app_context():
        run_import(db.session, "test", "memory", lambda: small_result(5), FIXED_NOW)
        before = snapshot(db.session)
        db.session.remove()
        db.engine.dispose()
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", CHILD, database_url, str(marker)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the import ended before it was killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    app = make_app(database_url)
    with app.app_context():
        assert snapshot(db.session) == before
        run, _ = run_import(db.session, "test", "memory", lambda: small_result(800), FIXED_NOW)
        assert run.status == "succeeded" and run.added == 795 * 2
        db.session.remove()
        db.engine.dispose()
