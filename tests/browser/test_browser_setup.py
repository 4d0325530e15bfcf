"""Without Chromium the browser tests skip with a reason, and under CI=true they fail instead."""

import pytest

from tests.browser import conftest

pytestmark = pytest.mark.browser


def test_missing_chromium_skips_with_a_reason_or_fails_under_ci(monkeypatch):
    monkeypatch.setattr(conftest, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make browser-deps"):
        conftest.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        conftest.require_chromium()
