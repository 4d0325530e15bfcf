"""The reader's language and the service worker, in Chromium against the real server (issue 23): after the
language switch a kept search comes back in the new language (not the kept page in the old one), it is kept
again in that language, and read offline it says its banner and its offline page in that language."""

from __future__ import annotations

import pytest

from tests.browser.test_offline import SEARCH, keep_search, new_context, offline_site  # noqa: F401, F811 - fixture

pytestmark = pytest.mark.browser

KEPT_LANGUAGE = """async (u) => {
  const hit = await (await caches.open('pages-v1')).match(u);
  return hit ? hit.headers.get('Content-Language') : null;
}"""


def test_after_the_switch_a_kept_search_comes_back_and_stays_in_the_new_language(offline_site, browser):  # noqa: F811
    base, ids = offline_site["base"], offline_site["ids"]
    context = new_context(browser)
    try:
        page = context.new_page()
        keep_search(page, base)
        assert page.locator("form.search-form button.primary").inner_text() == "Search"
        assert page.evaluate(KEPT_LANGUAGE, base + SEARCH) == "en"
        with page.expect_navigation():
            page.locator("form.language-switch button[lang=es]").click()
        # Back on the same search: in Spanish at once, not the page kept in English.
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.locator("form.search-form button.primary").inner_text() == "Buscar"
        page.wait_for_function(
            f"async (u) => ({KEPT_LANGUAGE})(u).then((l) => l === 'es')", arg=base + SEARCH
        )
        page.goto(base + SEARCH)
        assert page.locator("form.search-form button.primary").inner_text() == "Buscar"
        # Without a connection: the kept Spanish page, its banner in Spanish; a page never kept: the
        # offline page in Spanish.
        context.set_offline(True)
        page.goto(base + SEARCH)
        banner = page.locator("#offline-banner")
        banner.wait_for(state="visible", timeout=15_000)
        assert banner.inner_text().startswith("Sin conexión: esta página se guardó")
        assert "Harbor Beds" in page.locator(f"#result-{ids['fresh']}").inner_text()
        page.goto(f"{base}/services/{ids['aging']}")
        assert page.locator("h1").inner_text() == "Sin conexión"
    finally:
        context.close()
