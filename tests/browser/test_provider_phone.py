"""A provider on a phone (390x844, touch), against the real server with CSRF on: sign in, confirm stale
numbers with one tap, change a number with the stepper and save; the public search shows the new
numbers and their age at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bench.server import live_server
from directory.extensions import db
from directory.models import CapacityEvent, ServiceCapacity
from directory.types import utcnow
from tests.conftest import _migrate, make_app
from tests.factories import make_service, make_user

pytestmark = pytest.mark.browser
PASSWORD = "a provider's long password"


@pytest.fixture(scope="module")
def provider_site(databases):
    url = databases.copy(databases.template("migrated", _migrate))
    app = make_app(url)
    with app.app_context():
        stale = utcnow() - timedelta(days=20)  # past every freshness window: shows as unverified
        service = make_service(
            db.session,
            name="Harbor Night Shelter",
            capacity={"maximum": 12, "available": 3, "waitlist": 0, "confirmed_at": stale},
        )
        provider = make_user(db.session, "provider", organization=service.organization, password=PASSWORD)
        db.session.commit()
        world = {"service": service.id, "email": provider.email, "provider": provider.id, "url": url}
        db.session.remove()
        db.engine.dispose()
    with live_server(url) as base:
        yield {**world, "base": base}


def capacity_row(url: str, service_id: int):
    app = make_app(url)
    with app.app_context():
        row = db.session.execute(
            select(ServiceCapacity.available, ServiceCapacity.confirmed_at).where(
                ServiceCapacity.service_id == service_id
            )
        ).one()
        events = db.session.scalars(
            select(CapacityEvent.kind)
            .where(CapacityEvent.service_id == service_id)
            .order_by(CapacityEvent.id)
        ).all()
        db.session.remove()
        db.engine.dispose()
    return row, events


def test_a_provider_confirms_and_updates_from_a_phone(provider_site, open_page):
    watched = open_page(provider_site["base"] + "/login", width=390, height=844)
    page = watched.page
    page.fill("#email", provider_site["email"])
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.tap("main button[type=submit]")
    card = page.locator(f"#service-{provider_site['service']}")
    card.wait_for()
    assert "Unverified" in card.inner_text()
    # Buttons big enough for a thumb, and nothing wider than the screen.
    box = card.get_by_role("button", name="Still correct").bounding_box()
    assert box["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # One tap: the numbers are confirmed, unchanged.
    before = utcnow()
    with page.expect_navigation():
        card.get_by_role("button", name="Still correct").tap()
    (available, confirmed_at), events = capacity_row(provider_site["url"], provider_site["service"])
    assert available == 3 and confirmed_at >= before - timedelta(seconds=1)
    assert events == ["confirm"]
    assert "Unverified" not in page.locator(f"#service-{provider_site['service']}").inner_text()

    # Update: open the form, one tap on "+", save.
    with page.expect_navigation():
        page.locator(f"#service-{provider_site['service']}").get_by_role("link", name="Update numbers").tap()
    page.get_by_role("button", name="one more free now").tap()
    assert page.input_value("#available") == "4"
    with page.expect_navigation():
        page.get_by_role("button", name="Save and confirm").tap()
    (available, _), events = capacity_row(provider_site["url"], provider_site["service"])
    assert available == 4 and events == ["confirm", "update"]
    assert watched.console_errors == []

    # The public search shows the fresh confirmation straight away (the numbers themselves stay with staff:
    # the demo site does not opt in to public counts).
    search = open_page(provider_site["base"] + "/api/v1/services?q=Harbor", width=390, height=844)
    body = search.page.evaluate("() => JSON.parse(document.body.innerText)")
    [item] = body["items"]
    assert item["capacity"]["available"] is None and item["capacity"]["stale"] is False
