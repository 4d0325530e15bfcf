"""Accessible, on the main pages of every role (the shared page harness: tests/harness.py MAIN_PAGES), at
phone and desktop sizes, in a real browser: every visible action is at least 44x44 CSS px, and axe-core
(bundled by axe-playwright-python) finds no serious or critical violation. Also: the skip link is the first
Tab stop and moves focus to the content, and the main Search button is coloured as a primary action."""

from __future__ import annotations

import pytest

from bench.server import live_server
from directory.extensions import db
from tests.browser.conftest import TILE_PNG
from tests.conftest import _migrate, make_app
from tests.harness import ROLES, build_world, main_pages, set_password

pytestmark = pytest.mark.browser
PASSWORD = "a long enough password for the scan"
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}
# What a person acts on: buttons and what looks or behaves like one, and the header's navigation.
ACTIONS = ", ".join(
    (
        "button",
        "input[type=submit]",
        "input[type=button]",
        "[role=button]",
        "summary",
        "a.button",
        "a.call-button",
        "a.call-first",
        "a.refer-link",
        "a.popup-check",
        "a.skip-results",
        ".site-header nav a",
        ".pager a",
        ".presets a",
        ".view-switch a",
    )
)


@pytest.fixture(scope="module")
def harness_site(databases):
    url = databases.copy(databases.template("migrated", _migrate))
    app = make_app(url)
    with app.app_context():
        world = build_world(db.session, app.config["SITE"])
        emails = set_password(db.session, world, PASSWORD)
        db.session.remove()
        db.engine.dispose()
    with live_server(url) as base:
        yield base, world, emails


@pytest.fixture(scope="module")
def signed_states(harness_site, browser):
    """Each role's signed-in browser state (one sign-in per role, through the login page)."""
    base, _, emails = harness_site
    states = {}
    for role in ROLES:
        context = browser.new_context()
        if role != "anonymous":
            page = context.new_page()
            page.goto(base + "/login")
            page.fill("#email", emails[role])
            page.fill("#password", PASSWORD)
            with page.expect_navigation():
                page.click("main button[type=submit]")
            assert "/login" not in page.url, role
        states[role] = context.storage_state()
        context.close()
    return states


def open_as(browser, states, role: str, size: str):
    """A page in a fresh context signed in as the role, at the size; nothing leaves the machine."""
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, has_touch=size == "phone", storage_state=states[role]
    )
    page = context.new_page()
    page.route(lambda url: not url.startswith("http://127.0.0.1:"), lambda route: route.abort())
    page.route("https://tile.openstreetmap.org/**", lambda route: route.fulfill(body=TILE_PNG))
    return context, page


def visit(page, url: str) -> None:
    answer = page.goto(url)
    assert answer.status == 200, url
    if page.locator("#map").count():
        page.wait_for_selector("#map[data-ready=true]", state="attached", timeout=15_000)


def small_actions(page) -> list[str]:
    """Every visible action whose bounding box is under 44x44 CSS px."""
    small = []
    for action in page.locator(ACTIONS).all():
        if not action.is_visible():
            continue
        box = action.bounding_box()
        if box is None or (box["width"] == 0 and box["height"] == 0):
            continue
        if box["width"] <= 1 and box["height"] <= 1:
            # Out of sight until focused (a skip link beside a wide map): measured as a keyboard shows it.
            action.focus()
            box = action.bounding_box()
        if box["width"] < 44 or box["height"] < 44:
            name = (action.inner_text() or action.get_attribute("aria-label") or "").strip()[:40]
            small.append(f"{name!r} {box['width']:.0f}x{box['height']:.0f}")
    return small


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("role", ROLES)
def test_every_action_on_a_roles_main_pages_is_at_least_44_px(
    harness_site, signed_states, browser, role, size
):
    base, world, _ = harness_site
    context, page = open_as(browser, signed_states, role, size)
    problems = {}
    checked = 0
    for path in main_pages(world, role):
        visit(page, base + path)
        checked += page.locator(ACTIONS).count()
        found = small_actions(page)
        if found:
            problems[path] = found
    context.close()
    assert checked > 0
    assert problems == {}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("role", ROLES)
def test_axe_finds_nothing_serious_on_a_roles_main_pages(harness_site, signed_states, browser, role, size):
    from axe_playwright_python.sync_playwright import Axe

    base, world, _ = harness_site
    axe = Axe()
    context, page = open_as(browser, signed_states, role, size)
    problems = {}
    for path in main_pages(world, role):
        visit(page, base + path)
        results = axe.run(page)
        assert results.response["testEngine"]["name"] == "axe-core"
        serious = [
            f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'][:3])}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            problems[path] = serious
    context.close()
    assert problems == {}


def test_the_skip_link_is_the_first_tab_stop_and_reaches_the_content(harness_site, signed_states, browser):
    base, world, _ = harness_site
    context, page = open_as(browser, signed_states, "case_manager", "desktop")
    visit(page, base + "/search?q=beds")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.className, document.activeElement.innerText]")
    assert focused == ["skip-link", "Skip to content"]
    box = page.locator(".skip-link").bounding_box()
    assert box["y"] >= 0 and box["height"] >= 44  # shown once focused
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    # The next Tab lands inside the content, not on the header's links.
    page.keyboard.press("Tab")
    assert page.evaluate("() => !!document.activeElement.closest('main')")
    search = page.locator(".search-form button[type=submit]")
    colour = search.evaluate("(b) => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(11, 92, 173)"  # the accent (#0b5cad), not the grey of secondary buttons
    context.close()


def keys_to_first_result(page) -> int:
    """Key presses from the top of a search page to the first result's link: Tab, and Enter on a skip link."""
    presses = 0
    trail = []
    for _ in range(80):
        page.keyboard.press("Tab")
        presses += 1
        where = page.evaluate(
            """() => {
              const e = document.activeElement;
              if (e.closest('.result h3')) return 'result';
              const skip = e.classList.contains('skip-results') || e.classList.contains('skip-link');
              return skip ? 'skip' : e.tagName + '.' + e.className + ' ' + (e.innerText || '').slice(0, 30);
            }"""
        )
        trail.append(where)
        if where == "result":
            return presses
        if where == "skip":
            page.keyboard.press("Enter")
            presses += 1
    raise AssertionError(f"the first result was never reached: {trail}")


@pytest.mark.parametrize("size", SIZES)
def test_a_keyboard_reaches_the_first_result_in_a_few_presses(harness_site, signed_states, browser, size):
    base, _, _ = harness_site
    context, page = open_as(browser, signed_states, "anonymous", size)
    visit(page, base + "/search?q=beds")
    presses = keys_to_first_result(page)
    print(size, "key presses to the first result:", presses)
    # Tab, Enter on "Skip to content"; Tab, Enter on "Skip to the results"; Tab (a phone passes the Map /
    # List switch on the way).
    assert presses <= (5 if size == "desktop" else 7)
    context.close()
