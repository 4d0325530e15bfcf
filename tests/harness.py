"""The shared page harness: one small world with an account of every role, the pages and API answers that
show its data, and a crawl that signs in as a role and yields each page's answer.

The content matrix (tests/web/test_content_matrix.py) drives it; later checks reuse it as they are: a
crawl of every page a role can open (`crawl(app, world, role)`), an accessibility scan or an
untranslated-text check over the same answers (`html_pages(...)`). Markers are unique strings planted in
the world, so a check for "this page shows the goal text" is a plain substring test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from directory.domain.access import Actor
from directory.domain.participants import add_goal
from directory.domain.reference import Reference
from directory.domain.referrals import ReferralRequest, create_referral
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_token, make_user, sign_in

# Every role, and anonymous, as the matrix names them.
ROLES = (
    "anonymous",
    "peer",
    "case_manager",
    "other_case_manager",
    "provider",
    "provider_other",
    "project_manager",
    "admin",
)
STAFF_ROLES = frozenset(ROLES) - {"anonymous"}
_ACCOUNT_ROLES = {
    "peer": "peer_outreach",
    "case_manager": "case_manager",
    "other_case_manager": "case_manager",
    "provider": "provider",
    "provider_other": "provider",
    "project_manager": "project_manager",
    "admin": "admin",
}

# Planted markers: nothing else in a page contains them.
GOAL_TEXT = "Zephyr quiet room near my sister"
CM_NAME = "Quillon Marwick"
DV_LATITUDE, DV_LONGITUDE = 47.6111, -122.3111  # the shelter's confidential coordinates


@dataclass
class World:
    """What the harness planted: ids, the participant's code, accounts and their API tokens."""

    ids: dict[str, int]
    code: str
    users: dict
    tokens: dict[str, str]
    user_ids: dict[str, int] = field(default_factory=dict)  # usable outside the session that built them
    reference: str = ""  # the DV referral's one-time reference (what its provider sees instead of the code)

    def fill(self, text: str) -> str:
        """A URL template with {S}, {D}, {T}, {O}, {R}, {RD}, {ORG}, {GOAL}, {P} filled in."""
        return text.format(P=self.code, **{k: v for k, v in self.ids.items()})


def build_world(session, site) -> World:
    """Two organizations (ours runs a public service S with LEAD-funded beds and a confidential DV shelter
    D; theirs runs T and an open-access, untracked service O), one account per role, a participant P of
    `case_manager` with one goal, a LEAD claim R on S and a general claim RD on D (so both services hold
    units). Committed."""
    lead_beds = {
        "maximum": 5,
        "available": 2,
        "waitlist": 0,
        "lead_funded_maximum": 2,
        "lead_funded_available": 2,
        "confirmed_at": fresh(FIXED_NOW),
    }
    ours = make_service(session, name="Harbor Beds", capacity=lead_beds, **LOW_BARRIER)
    shelter = make_service(
        session,
        name="Safe Harbor Shelter",
        organization=ours.organization,
        confidential=True,
        lat=DV_LATITUDE,
        lon=DV_LONGITUDE,
        capacity={"maximum": 4, "available": 3, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )
    theirs = make_service(
        session,
        name="Other Org Beds",
        capacity={"maximum": 5, "available": 3, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )
    open_access = make_service(
        session, name="Open Door Meals", domain="food", organization=theirs.organization, **LOW_BARRIER
    )
    users = {}
    for role, account_role in _ACCOUNT_ROLES.items():
        organization = {"provider": ours.organization, "provider_other": theirs.organization}.get(role)
        extra = {"display_name": CM_NAME} if role == "case_manager" else {}
        users[role] = make_user(
            session, account_role, organization=organization, org_admin=organization is not None, **extra
        )
    participant = make_participant(session, users["case_manager"])
    cm = Actor.of(users["case_manager"])
    goal = add_goal(session, cm, participant, "housing", GOAL_TEXT, FIXED_NOW, Reference.load(session))
    referral = create_referral(
        session, cm, ours, participant, ReferralRequest("claim"), FIXED_NOW, site, goal
    )
    to_shelter = create_referral(session, cm, shelter, participant, ReferralRequest("claim"), FIXED_NOW, site)
    tokens = {role: make_token(session, user) for role, user in users.items()}
    session.commit()
    ids = {
        "S": ours.id,
        "D": shelter.id,
        "T": theirs.id,
        "O": open_access.id,
        "R": referral.id,
        "RD": to_shelter.id,
        "ORG": ours.organization_id,
        "GOAL": goal.id,
    }
    return World(
        ids,
        participant.code,
        users,
        tokens,
        {role: user.id for role, user in users.items()},
        to_shelter.reference or "",
    )


# The main pages of each role (what it opens first and works in most): where the browser checks look
# (every action at least 44x44 px, axe: no serious or critical violation), at phone and desktop sizes.
MAIN_PAGES: dict[str, tuple[str, ...]] = {
    "anonymous": ("/search", "/search?q=beds", "/services/{S}"),
    "peer": ("/search?q=beds", "/services/{S}"),
    "case_manager": (
        "/search?q=beds",
        "/participants",
        "/participants/{P}",
        "/referrals/check?service_id={S}",
        "/referrals/check?service_id={T}&participant={P}",
        "/referrals/{R}",
    ),
    "other_case_manager": ("/participants",),
    "provider": ("/provider", "/provider/services/{S}", "/provider/referrals", "/notifications"),
    "provider_other": ("/provider",),
    "project_manager": ("/pm", "/pm/freshness"),
    "admin": ("/admin/accounts", "/provider?org={ORG}"),
}


def main_pages(world: World, role: str) -> list[str]:
    """The role's main pages, filled in for this world."""
    return [world.fill(url) for url in MAIN_PAGES[role]]


def set_password(session, world: World, password: str) -> dict[str, str]:
    """Give every account of the world this password (for a real browser's sign-in); returns role -> email.
    Committed."""
    from werkzeug.security import generate_password_hash

    from directory.models import User

    hashed = generate_password_hash(password, method="pbkdf2:sha256:1000")
    emails = {}
    for role, user_id in world.user_ids.items():
        user = session.get(User, user_id)
        user.password_hash = hashed
        emails[role] = user.email
    session.commit()
    return emails


def signed_in(app, world: World, role: str):
    """A test client signed in as the role (a session cookie; anonymous: none)."""
    client = app.test_client()
    if role != "anonymous":
        sign_in(client, world.user_ids[role])
    return client


def api_headers(world: World, role: str) -> dict[str, str]:
    """The API's bearer header for the role (anonymous: none)."""
    return {} if role == "anonymous" else {"Authorization": f"Bearer {world.tokens[role]}"}


# --- What a page may show: detectors over the answer's text -------------------------------------------


def _any(*patterns: str) -> Callable[[str, World], bool]:
    compiled = [re.compile(p) for p in patterns]
    return lambda text, world: any(p.search(text) for p in compiled)


SECTIONS: dict[str, Callable[[str, World], bool]] = {
    "goal_text": lambda text, world: GOAL_TEXT in text,
    "capacity_history": _any(r'class="staff-history', r"<h2>Capacity history</h2>"),
    "referral_timeline": _any(r'class="service-referrals"'),
    # The service page's figures, the API's, and a search result's words ("2 LEAD-funded beds free").
    # ... and the sentence of what a new referral gets ("a LEAD-funded bed (2 of 2 free)").
    "lead_counts": _any(
        r"LEAD-funded free",
        r'"lead_funded_available": \d',
        r"\d+ LEAD-funded \w+ free",
        r"LEAD-funded [\w ]+ \(\d+ of \d+ free\)",
    ),
    "held_counts": _any(r"Held for referrals", r'"held_(general|lead)": [1-9]'),
    "confidential_location": _any(re.escape(str(DV_LATITUDE)), re.escape(str(DV_LONGITUDE))),
    "case_manager_name": lambda text, world: CM_NAME in text,
    "participant_code": lambda text, world: world.code in text,
    "plan_link": lambda text, world: f"/participants/{world.code}" in text,
    "dv_reference": lambda text, world: bool(world.reference) and world.reference in text,
    "releases": _any(r'id="releases"'),
    "legal_hold": _any(r'class="legal-hold"'),
    # Reports from the field (issue 21): the one-tap form, and a standing report read beside the numbers.
    "report_form": _any(r'id="report-heading"'),
    "field_report": _any(r"[Rr]eported (full|fewer free)", r'"field_reports": \[\{', r"by a case manager"),
}


def answer_text(response) -> str:
    """The answer as one text: JSON re-dumped with sorted keys and `": "` separators, so detectors can
    match fields the same way whatever the serializer's spacing."""
    if response.is_json:
        return json.dumps(response.get_json(), sort_keys=True)
    return response.get_data(as_text=True)


@dataclass(frozen=True)
class Page:
    """A page or API answer, the status each role gets, and which roles see each section there.

    A section not named in `shows` must not appear on this page for any role; a role not named for a
    section must not see it. Sections are only checked on answers with status 200."""

    name: str
    url: str
    status: dict[str, int]
    shows: dict[str, frozenset] = field(default_factory=dict)
    method: str = "GET"
    body: dict | None = None

    @property
    def is_api(self) -> bool:
        """API answers are reached with bearer tokens, pages with a session."""
        return self.url.startswith("/api/")


def statuses(default: int, **by_role: int) -> dict[str, int]:
    """Each role's status: `default` unless named."""
    return {role: by_role.get(role, default) for role in ROLES}


def roles(*names: str) -> frozenset:
    """A set of role names (checked against ROLES)."""
    unknown = set(names) - set(ROLES)
    assert not unknown, unknown
    return frozenset(names)


def fetch(app, world: World, role: str, page: Page):
    """The answer `role` gets for `page`."""
    url = world.fill(page.url)
    if page.is_api:
        client = app.test_client()
        body = None
        if page.body is not None:
            body = {k: world.fill(v) for k, v in page.body.items()}
            if "service_id" in body:
                body["service_id"] = int(body["service_id"])
        return client.open(url, method=page.method, json=body, headers=api_headers(world, role))
    client = signed_in(app, world, role)
    return client.open(url, method=page.method, data=page.body)


def crawl(app, world: World, role: str, pages: Iterable[Page]) -> Iterator[tuple[Page, object]]:
    """Sign in as `role` and yield (page, response) for each page: what later checks iterate over."""
    for page in pages:
        yield page, fetch(app, world, role, page)


def html_pages(app, world: World, role: str, pages: Iterable[Page]) -> Iterator[tuple[str, str]]:
    """(url, HTML) of each page `role` opens with a 200 (for the accessibility and text scans)."""
    for page, response in crawl(app, world, role, pages):
        if response.status_code == 200 and not page.is_api and response.mimetype == "text/html":
            yield world.fill(page.url), response.get_data(as_text=True)


def content_problems(page: Page, role: str, response, world: World) -> list[str]:
    """Where the answer breaks the matrix: a wrong status, a section missing, or one shown it must not."""
    expected = page.status[role]
    if response.status_code != expected:
        return [f"{page.name} as {role}: status {response.status_code}, expected {expected}"]
    if response.status_code != 200:
        return []
    text = answer_text(response)
    problems = []
    for section, detect in SECTIONS.items():
        should = role in page.shows.get(section, frozenset())
        if detect(text, world) != should:
            problems.append(f"{page.name} as {role}: {section} {'missing' if should else 'shown'}")
    return problems


# --- The crawl: every page a role reaches by following links ------------------------------------------

_HREF = re.compile(r"<a\s[^>]*?href=\"([^\"]+)\"", re.IGNORECASE)
_NOT_TEXT = re.compile(r"<(script|style|code|pre|textarea)\b.*?</\1>", re.IGNORECASE | re.DOTALL)


def visible_text(html: str) -> str:
    """What a person reads on a page: tags, scripts, styles and code samples left out, entities decoded."""
    import html as entities

    return re.sub(r"\s+", " ", entities.unescape(re.sub(r"<[^>]+>", " ", _NOT_TEXT.sub(" ", html))))


def crawl_links(client, starts: Iterable[str], per_endpoint: int = 3, limit: int = 600):
    """Follow same-site links from the start pages as the client's account, at most `per_endpoint` URLs per
    endpoint (static files left out): yields (url, the page that linked to it or None, response)."""
    from collections import Counter, deque
    from urllib.parse import urldefrag, urljoin, urlsplit

    from werkzeug.exceptions import HTTPException

    adapter = client.application.url_map.bind("localhost")
    queue = deque((url, None) for url in starts)
    seen: set[str] = set()
    fetched: Counter = Counter()
    while queue and len(seen) < limit:
        url, source = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        try:
            endpoint = adapter.match(urlsplit(url).path, method="GET")[0]
        except HTTPException:
            endpoint = "(no route)"  # fetched anyway: a link to nowhere is what the crawl is for
        if urlsplit(url).path.startswith(("/static/", "/vendor/")) or fetched[endpoint] >= per_endpoint:
            continue
        fetched[endpoint] += 1
        response = client.get(url)
        yield url, source, response
        if response.mimetype != "text/html":
            continue
        for href in _HREF.findall(response.get_data(as_text=True)):
            target = urldefrag(urljoin(url, entities_unescape(href)))[0]
            if target.startswith("/") and not target.startswith("//") and target not in seen:
                queue.append((target, url))


def entities_unescape(text: str) -> str:
    """An attribute's value as the browser reads it (&amp; in a link is &)."""
    import html as entities

    return entities.unescape(text)
