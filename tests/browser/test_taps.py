"""Taps a person needs (issue 21), counted in a real browser: from a search result to a held unit, and from
the provider's landing page to a saved number, with whether the page then says "Saved".

The flows find their way by what a person sees (link and button names), so the same functions measured
the code before this change for the closing note (see /work/notes/21b.md: `flows` run against a server of
the earlier commit)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bench.server import live_server
from directory.extensions import db
from directory.models import Phone
from directory.types import utcnow
from tests.conftest import _migrate, make_app
from tests.factories import LOW_BARRIER, make_participant, make_service, make_user

pytestmark = pytest.mark.browser
PASSWORD = "a long enough password for taps"


@dataclass
class Count:
    """Taps (clicks) and fields typed in, and what the page said at the end."""

    taps: int = 0
    typed: int = 0
    notes: list[str] = field(default_factory=list)

    def tap(self, locator, navigates: bool = True) -> None:
        """One tap; waits for the page it opens."""
        self.taps += 1
        page = locator.page
        if navigates:
            with page.expect_navigation():
                locator.click()
        else:
            locator.click()

    def type(self, locator, text: str) -> None:
        """One field typed in."""
        self.typed += 1
        locator.fill(text)


def build(url: str) -> dict:
    """A spare-bed service and a first-come shelter whose line is unknown, their provider, a case manager
    with one participant; every account has PASSWORD."""
    app = make_app(url)
    now = utcnow()  # the server runs on the real clock
    with app.app_context():
        session = db.session
        spare = make_service(
            session,
            name="Taps Spare Beds",
            capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": now},
            **LOW_BARRIER,
        )
        spare.phones.append(Phone(number="206-555-0123"))
        shelter = make_service(
            session,
            name="Taps Night Shelter",
            organization=spare.organization,
            capacity={
                "unit_id": "shelter_bed",
                "maximum": 12,
                "available": 3,
                "waitlist": None,
                "confirmed_at": now,
            },
            **LOW_BARRIER,
        )
        provider = make_user(session, "provider", organization=spare.organization, password=PASSWORD)
        cm = make_user(session, "case_manager", password=PASSWORD)
        participant = make_participant(session, cm)
        session.commit()
        world = {
            "spare": spare.id,
            "shelter": shelter.id,
            "provider": provider.email,
            "cm": cm.email,
            "code": participant.code,
        }
        db.session.remove()
        db.engine.dispose()
    return world


def sign_in(page, base: str, email: str) -> None:
    """Sign in through the login page (not counted: it is not part of either task)."""
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def says_saved(page) -> bool:
    """Whether the page now says the numbers were saved, where a screen reader hears it (role=status)."""
    return page.locator("[role=status]", has_text="Saved").count() > 0


def result_to_held_unit(page, base: str, world: dict) -> Count:
    """From the search result, to a unit held for the participant (the participant's code typed in once)."""
    count = Count()
    page.goto(base + "/search?q=Taps+Spare")
    result = page.locator(f"#result-{world['spare']}")
    count.tap(result.get_by_role("link", name="Refer (check first)"))
    recent = page.get_by_role("link", name=world["code"], exact=True)
    if recent.count():
        count.tap(recent)
    elif page.locator("#participant").count():
        count.type(page.locator("#participant"), world["code"])
        count.tap(page.get_by_role("button", name="Check for this participant"))
    count.tap(page.locator("button[name=action][value=claim]"))
    assert "/referrals/" in page.url and page.locator("#held-until").count() == 1, page.url
    return count


def landing_to_changed_number(page, base: str, world: dict) -> Count:
    """From the provider's landing page: one more bed free, saved."""
    count = Count()
    page.goto(base + "/provider")
    card = page.locator(f"#service-{world['spare']}")
    count.tap(card.get_by_role("link", name="Update numbers"))
    count.tap(page.get_by_role("button", name="one more free now"), navigates=False)
    count.tap(page.get_by_role("button", name="Save and confirm"))
    if says_saved(page):
        count.notes.append("saved shown")
    return count


def landing_to_still_correct(page, base: str, world: dict) -> Count:
    """From the provider's landing page: the numbers confirmed unchanged."""
    count = Count()
    page.goto(base + "/provider")
    count.tap(page.locator(f"#service-{world['spare']}").get_by_role("button", name="Still correct"))
    if says_saved(page):
        count.notes.append("saved shown")
    return count


def landing_to_nobody_waiting(page, base: str, world: dict) -> Count:
    """From the provider's landing page: a first-come shelter says nobody is expected in line (its line was
    unknown, so it showed as unverified)."""
    count = Count()
    page.goto(base + "/provider")
    card = page.locator(f"#service-{world['shelter']}")
    quick = card.get_by_role("button", name="Nobody waiting")
    if quick.count():
        count.tap(quick)
    else:
        count.tap(card.get_by_role("link", name="Update numbers"))
        count.tap(page.locator("[data-stepper]:has(#waitlist) button[data-step='-1']"), navigates=False)
        count.tap(page.get_by_role("button", name="Save and confirm"))
    if says_saved(page):
        count.notes.append("saved shown")
    card = page.locator(f"#service-{world['shelter']}")
    assert card.count() == 1 and "Unverified" not in card.inner_text()
    return count


def flows(browser, base: str, world: dict) -> dict[str, Count]:
    """Every flow, each in a fresh context signed in as the person who does it."""
    counts = {}
    for email, names in (
        (world["cm"], (result_to_held_unit,)),
        (world["provider"], (landing_to_still_correct, landing_to_changed_number, landing_to_nobody_waiting)),
    ):
        context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
        page = context.new_page()
        sign_in(page, base, email)
        for flow in names:
            counts[flow.__name__] = flow(page, base, world)
        context.close()
    return counts


@pytest.fixture(scope="module")
def taps_site(databases):
    url = databases.copy(databases.template("migrated", _migrate))
    world = build(url)
    with live_server(url) as base:
        yield base, world


def test_taps_to_a_held_unit_and_to_a_saved_number(taps_site, browser):
    base, world = taps_site
    counts = flows(browser, base, world)
    summary = {name: (c.taps, c.typed, c.notes) for name, c in counts.items()}
    print("taps:", summary)  # the figures of the closing note
    # The participant's code is one tap among the case manager's own, no longer typed in.
    assert summary["result_to_held_unit"][:2] == (3, 0)
    assert summary["landing_to_still_correct"] == (1, 0, ["saved shown"])
    assert summary["landing_to_changed_number"] == (3, 0, ["saved shown"])
    # A first-come shelter with nobody in line: one tap instead of three, and it is no longer unverified.
    assert summary["landing_to_nobody_waiting"] == (1, 0, ["saved shown"])
