"""The service worker keeps pages by URL, but the reader's language is a cookie it cannot read: run under
Node with a fake server and Cache Storage (tests/web/sw_language_harness.js), it answers a kept page only in
the reader's language while there is a connection, keeps the offline page in that language, and still
answers the kept page without a connection."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("sw_language_harness.js")
SEARCH = "/search?q=beds"


@pytest.fixture(scope="module")
def steps() -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("the service worker's language test needs Node.js")
    done = subprocess.run(
        [node, str(HARNESS), str(ROOT / "static" / "js" / "sw.js")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def language(body: str) -> str:
    return re.search(r'lang="(\w+)"', body).group(1)


def test_a_kept_page_is_answered_at_once_in_the_same_language(steps):
    assert language(steps["first"]["body"]) == "en"
    # The same numbered answer: it came from the cache (and was fetched again behind it).
    assert steps["again"]["body"] == steps["first"]["body"]
    assert steps["again"]["fetched"] == [SEARCH]


def test_after_the_switch_the_page_comes_in_the_new_language_and_replaces_the_kept_one(steps):
    assert language(steps["afterSwitch"]["body"]) == "es"
    assert steps["afterSwitch"]["body"] != steps["first"]["body"]
    assert steps["keptAfterSwitch"] == steps["afterSwitch"]["body"]
    # The offline page is fetched again in the new language.
    assert "/offline" in steps["afterSwitch"]["fetched"]


def test_without_a_connection_the_kept_page_and_the_offline_page_are_in_the_readers_language(steps):
    assert steps["offline"]["body"] == steps["afterSwitch"]["body"]
    assert steps["offlineUnkept"]["body"].startswith('<html lang="es">/offline in es')


def test_a_language_changed_elsewhere_is_caught_by_the_page_fetched_behind(steps):
    # The worker was not told: the kept Spanish page answers at once, the English one fetched behind it
    # replaces it, and the next opening is English from the cache.
    assert language(steps["otherTab"]["body"]) == "es"
    assert language(steps["keptAfterOtherTab"]) == "en"
    assert steps["next"]["body"] == steps["keptAfterOtherTab"]
