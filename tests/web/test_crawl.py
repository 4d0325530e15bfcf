"""The crawl: after a simulated month, each role (and anonymous) follows every link it is shown, up to three
pages per endpoint; no page fails, no link leads to a page the role is refused or to nowhere, and no page
shows a Python value or a raw code where a person reads words."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from directory.domain import capacity as cap
from directory.extensions import db
from directory.models import DECLINE_REASONS, INTAKE_MODES, REASON_CODES, User
from directory.simulate import simulate_month
from tests.conftest import FIXED_NOW
from tests.factories import sign_in
from tests.harness import crawl_links, visible_text

ACCOUNTS = {
    "anonymous": None,
    "case_manager": "cm@demo.lead",
    "peer_outreach": "peer@demo.lead",
    "provider": "provider@demo.lead",
    "project_manager": "pm@demo.lead",
    "admin": "admin@demo.lead",
}
STARTS = ["/", "/search?q=shelter", "/transparency", "/participants", "/provider", "/pm", "/notifications"]
# Pages each role must reach by links alone (a crawl that reaches nothing proves nothing).
MUST_REACH = {
    "anonymous": ["/services/"],
    "case_manager": ["/participants/P-", "/referrals/", "/referrals/check", "/services/"],
    "peer_outreach": ["/referrals/check", "/services/"],
    "provider": ["/provider/referrals", "/provider/services/", "/provider/staff"],
    "project_manager": ["/pm/report", "/pm/freshness", "/pm/imports", "/pm/participant-reads", "/referrals/"],
    "admin": ["/admin/accounts", "/pm/partner-report", "/participants/P-"],
}
PYTHON = re.compile(r"<bound method|<function |object at 0x|Counter\(|defaultdict\(|\{'|\['|datetime\.")


def seed_demo_month(url: str) -> None:
    """The demo site plus a simulated month, built into a template database of its own: copying the shared
    demo database is refused on PostgreSQL while a session-wide app still reads it."""
    from tests.conftest import _seed_demo, make_app

    _seed_demo(url)
    app = make_app(url, CLOCK=lambda: FIXED_NOW)
    with app.app_context():
        simulate_month(db.session, app.config["SITE"], FIXED_NOW, seed=5)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def month_app(databases):
    """The demo site after a simulated month (a database of its own, built once per session)."""
    from tests.conftest import make_app

    app = make_app(databases.copy(databases.template("demo-month", seed_demo_month)), CLOCK=lambda: FIXED_NOW)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def codes(site) -> set[str]:
    """Codes a person should never read as such (each has a label): every one with an underscore."""
    words = {*cap.CLASSIFICATIONS, *cap.ACTIONS, *REASON_CODES, *DECLINE_REASONS, *INTAKE_MODES}
    words |= set(site.hold_hours)
    return {w for w in words if "_" in w}


def problems_of(url: str, source: str | None, response, raw_codes: set[str]) -> list[str]:
    """What is wrong with one crawled page, in words."""
    where = f"{url} (linked from {source})" if source else url
    if response.status_code >= 500:
        return [f"{where}: {response.status_code}"]
    if source and response.status_code in (401, 403, 404, 405):
        return [f"{where}: a link to a page this role gets {response.status_code} from"]
    if response.mimetype != "text/html":
        return []
    html = response.get_data(as_text=True)
    text = visible_text(html)
    found = [f"{where}: Python value on the page: {m.group(0)!r}" for m in PYTHON.finditer(text)]
    # None alone in a cell or element is a value printed raw ("None flagged." is a sentence).
    found += [f"{where}: None printed as a value" for _ in re.finditer(r">\s*None\s*<", html)]
    for code in raw_codes:
        if re.search(rf"(?<![\w/.-]){re.escape(code)}(?![\w/.-])", text):
            found.append(f"{where}: the raw code {code!r} where a label belongs")
    return found


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_every_page_a_role_reaches_reads_right(month_app, role):
    client = month_app.test_client()
    if ACCOUNTS[role]:
        with month_app.app_context():
            user = db.session.scalar(select(User).where(User.email == ACCOUNTS[role]))
            sign_in(client, user)
    raw_codes = codes(month_app.config["SITE"])
    starts = STARTS if role != "anonymous" else ["/", "/search?q=shelter", "/transparency"]
    reached, problems = [], []
    for url, source, response in crawl_links(client, starts):
        reached.append(url)
        problems += problems_of(url, source, response, raw_codes)
    for prefix in MUST_REACH[role]:
        assert any(url.startswith(prefix) for url in reached), f"{role} never reached {prefix}"
    assert problems == [], "\n".join(problems[:40])


def test_the_crawl_catches_what_it_looks_for(month_app):
    """The checks themselves: a Python value, a raw code and a refused link are each reported."""

    class Answer:
        def __init__(self, status, html):
            self.status_code, self.mimetype, self._html = status, "text/html", html

        def get_data(self, as_text=True):
            return self._html

    raw = codes(month_app.config["SITE"])
    assert "spare_capacity" in raw and "shelter_bed" in raw
    assert problems_of("/x", None, Answer(200, "<td>&lt;bound method Counter.total of x&gt;</td>"), raw)
    assert problems_of("/x", None, Answer(200, "<td>spare_capacity</td>"), raw)
    assert problems_of("/x", None, Answer(200, "<td> None </td>"), raw)
    assert not problems_of("/x", None, Answer(200, "<p>None flagged.</p>"), raw)
    assert not problems_of("/x", None, Answer(200, '<td><a href="/pm?c=spare_capacity">Spare</a></td>'), raw)
    assert problems_of("/x", "/pm", Answer(403, "refused"), raw)
    assert problems_of("/x", None, Answer(500, ""), raw)
