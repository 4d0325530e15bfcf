"""The project manager's pages in a real browser after a simulated month: nothing wider than a 390 px phone
(wide tables scroll in their own box), and the weekly chart drawn at a readable size on a desktop."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bench.server import live_server
from directory.demo import DEMO_PASSWORD
from directory.extensions import db
from directory.models import Participant
from tests.conftest import make_app
from tests.web.test_crawl import seed_demo_month

pytestmark = pytest.mark.browser
PAGES = [
    "/pm",
    "/pm/report",
    "/pm/freshness",
    "/pm/partner-report?month=2026-10",
    "/pm/imports",
    "/pm/participant-reads?code={code}",
]


@pytest.fixture(scope="module")
def month_site(databases):
    url = databases.copy(databases.template("demo-month", seed_demo_month))
    app = make_app(url)
    with app.app_context():
        code = db.session.scalar(select(Participant.code).order_by(Participant.id).limit(1))
        db.session.remove()
        db.engine.dispose()
    with live_server(url) as base:
        yield base, code


def sign_in(open_page, base: str, width: int, height: int):
    watched = open_page(base + "/login", width=width, height=height)
    page = watched.page
    page.fill("#email", "pm@demo.lead")
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    return watched


def test_no_audit_page_is_wider_than_a_phone(month_site, open_page):
    base, code = month_site
    watched = sign_in(open_page, base, 390, 844)
    page = watched.page
    for path in PAGES:
        # The simulated month ends on 24 November; the demo's real clock may be later, so ask for those days.
        url = base + (path + "?start=2026-10-26&end=2026-11-24" if path == "/pm" else path.format(code=code))
        answer = page.goto(url)
        assert answer.status == 200, path
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
    assert watched.console_errors == []


def test_the_weekly_chart_is_drawn_at_a_readable_size(month_site, open_page):
    base, _ = month_site
    page = sign_in(open_page, base, 1280, 900).page
    page.goto(base + "/pm?start=2026-10-26&end=2026-11-24")
    chart = page.locator("#referrals svg").first
    box = chart.bounding_box()
    assert box is not None and box["width"] >= 300 and box["height"] >= 100, box
    assert page.locator("#table-weekly tbody tr").count() >= 4  # the weeks of the simulated month
