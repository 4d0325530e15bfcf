"""The content matrix: for each role (and anonymous) x page and API answer, the sections it must show and
must not show (tests/harness.py plants the data and crawls).

Expected values come from the rules in domain.md's "Who sees what", written out by hand below, not from
what the pages happen to print. The site here keeps held and LEAD-funded counts for staff (the public
opt-in is off); test_public_counts_follow_the_site_opt_in covers the opt-in.
"""

from dataclasses import replace

import pytest

from tests.harness import (
    ROLES,
    STAFF_ROLES,
    Page,
    build_world,
    content_problems,
    crawl,
    fetch,
    html_pages,
    roles,
    statuses,
)

NOBODY = frozenset()
STAFF = STAFF_ROLES
# Capacity history and referral timeline of our organization's services: our providers, case managers,
# the project manager and admins; never another organization's providers, peer outreach or the public.
OUR_STAFF_CONTENT = roles("provider", "case_manager", "other_case_manager", "project_manager", "admin")
THEIR_STAFF_CONTENT = OUR_STAFF_CONTENT - {"provider"} | {"provider_other"}
PLAN_READERS = roles("case_manager", "admin")  # the participant's own case manager, and admins
REFERRAL_READERS = roles("case_manager", "provider", "project_manager", "admin")
CHECKERS = roles("peer", "case_manager", "admin")  # who may check for this participant
# Who reports what they found in the field, in one tap from a service's page (issue 21).
REPORTERS = roles("peer", "case_manager", "other_case_manager", "admin")

PAGES = [
    Page(
        "service page",
        "/services/{S}",
        statuses(200),
        {
            "capacity_history": OUR_STAFF_CONTENT,
            "referral_timeline": OUR_STAFF_CONTENT,
            "lead_counts": STAFF,
            "held_counts": STAFF,
            "report_form": REPORTERS,
        },
    ),
    Page(
        "DV shelter's page",
        "/services/{D}",
        statuses(200),
        {
            "capacity_history": OUR_STAFF_CONTENT,
            "referral_timeline": OUR_STAFF_CONTENT,
            "held_counts": STAFF,
            "report_form": REPORTERS,
        },
    ),
    Page(
        "other organization's service page",
        "/services/{T}",
        statuses(200),
        {
            "capacity_history": THEIR_STAFF_CONTENT,
            "referral_timeline": THEIR_STAFF_CONTENT,
            "report_form": REPORTERS,
        },
    ),
    # Result cards: the status in words with its age; staff also read the LEAD-funded figure (issue 20).
    Page("search", "/search?q=Harbor", statuses(200), {"lead_counts": STAFF}),
    # A located search far from everything: the DV shelter is listed (confidential group), never located.
    Page("located search", "/search?near=46.9,-123.5&radius_km=1", statuses(200)),
    Page(
        "check for the participant",
        "/referrals/check?service_id={S}&participant={P}",
        statuses(403, anonymous=302, peer=200, case_manager=200, other_case_manager=404, admin=200),
        {
            "goal_text": PLAN_READERS,
            # The form that names the participant is for who may act: a peer cannot claim a LEAD unit.
            "participant_code": PLAN_READERS,
            "lead_counts": CHECKERS,
            "held_counts": CHECKERS,
            "report_form": CHECKERS,
        },
    ),
    Page(
        # The case: a peer may send a request to an open-access service, for any participant,
        # by code; the goals stay on the case manager's side.
        "check on an open-access service",
        "/referrals/check?service_id={O}&participant={P}",
        statuses(403, anonymous=302, peer=200, case_manager=200, other_case_manager=404, admin=200),
        {"goal_text": PLAN_READERS, "participant_code": CHECKERS, "report_form": CHECKERS},
    ),
    Page(
        "plan",
        "/participants/{P}",
        statuses(403, anonymous=302, case_manager=200, admin=200),
        {
            "goal_text": PLAN_READERS,
            "participant_code": PLAN_READERS,
            "plan_link": PLAN_READERS,
            "releases": PLAN_READERS,  # releases of information: recorded and revoked on the plan
            "legal_hold": roles("admin"),  # placed and released by an admin only
        },
    ),
    Page(
        "referral page",
        "/referrals/{R}",
        statuses(403, anonymous=302, case_manager=200, provider=200, project_manager=200, admin=200),
        {"participant_code": REFERRAL_READERS, "plan_link": PLAN_READERS, "report_form": PLAN_READERS},
    ),
    Page(
        "slip",
        "/referrals/{R}/slip",
        statuses(403, anonymous=302, case_manager=200, project_manager=200, admin=200),
        # The slip gives the participant their case manager's name to call; no code unless asked for.
        {"case_manager_name": roles("case_manager", "project_manager", "admin")},
    ),
    Page(
        "slip for the DV shelter",
        "/referrals/{RD}/slip",
        statuses(403, anonymous=302, case_manager=200, project_manager=200, admin=200),
        {"case_manager_name": roles("case_manager", "project_manager", "admin")},
    ),
    Page(
        "provider's referral inbox",
        "/provider/referrals?org={ORG}",
        statuses(403, anonymous=302, provider=200, provider_other=200, admin=200),
        # A provider sees who referred to its own services, never another organization's referrals; a
        # referral to its confidential shelter under a one-time reference, never the participant's code.
        {
            "participant_code": roles("provider", "admin"),
            "case_manager_name": roles("provider", "admin"),
            "dv_reference": roles("provider", "admin"),
        },
    ),
    Page(
        "provider's inbox item: the DV referral",
        "/provider/referrals/{RD}?org={ORG}",
        statuses(403, anonymous=302, provider=200, admin=200),
        {"dv_reference": roles("provider", "admin"), "case_manager_name": roles("provider", "admin")},
    ),
    Page(
        "DV referral page",
        "/referrals/{RD}",
        statuses(403, anonymous=302, case_manager=200, provider=200, project_manager=200, admin=200),
        # Its provider sees the one-time reference; the case management side sees the code.
        {
            "participant_code": roles("case_manager", "project_manager", "admin"),
            "dv_reference": roles("provider"),
            "plan_link": PLAN_READERS,
            "report_form": PLAN_READERS,
        },
    ),
    Page(
        "API DV referral",
        "/api/v1/referrals/{RD}",
        statuses(403, anonymous=401, case_manager=200, provider=200, project_manager=200, admin=200),
        {
            "participant_code": roles("case_manager", "project_manager", "admin"),
            "dv_reference": roles("provider"),
            "lead_counts": REFERRAL_READERS,
        },
    ),
    Page("PM dashboard", "/pm", statuses(403, anonymous=302, project_manager=200, admin=200)),
    Page(
        "who looked at the participant",
        "/pm/participant-reads?code={P}",
        statuses(403, anonymous=302, project_manager=200, admin=200),
        {"participant_code": roles("project_manager", "admin")},
    ),
    Page(
        "API service",
        "/api/v1/services/{S}",
        statuses(200),
        {"lead_counts": STAFF, "held_counts": STAFF},
    ),
    Page(
        "API DV shelter",
        "/api/v1/services/{D}",
        statuses(200),
        {"held_counts": STAFF, "lead_counts": STAFF},  # staff see its LEAD counts (zero)
    ),
    Page(
        "API search",
        "/api/v1/services?q=Harbor",
        statuses(200),
        {"lead_counts": STAFF, "held_counts": STAFF},
    ),
    Page(
        "API participant",
        "/api/v1/participants/{P}",
        # Another case manager's code answers the 404 of a code that does not exist (no probing).
        statuses(403, anonymous=401, case_manager=200, other_case_manager=404, admin=200),
        # Each referral carries its check's capacity snapshot: staff figures, for who may read the plan.
        {"goal_text": PLAN_READERS, "participant_code": PLAN_READERS, "lead_counts": PLAN_READERS},
    ),
    Page(
        "API referral",
        "/api/v1/referrals/{R}",
        statuses(403, anonymous=401, case_manager=200, provider=200, project_manager=200, admin=200),
        {"participant_code": REFERRAL_READERS, "lead_counts": REFERRAL_READERS},
    ),
    Page(
        "API check for the participant",
        "/api/v1/referrals/check",
        statuses(403, anonymous=401, peer=200, case_manager=200, other_case_manager=404, admin=200),
        {"lead_counts": CHECKERS, "held_counts": CHECKERS},
        method="POST",
        body={"service_id": "{S}", "participant_code": "{P}"},
    ),
]


@pytest.fixture
def staff_only_counts(app):
    """The site with public counts turned off (the rule's default: counts are staff figures)."""
    site = app.config["SITE"]
    app.config["SITE"] = replace(site, public_counts=False)
    return app


@pytest.mark.parametrize("role", ROLES)
def test_content_matrix(staff_only_counts, session, role):
    app = staff_only_counts
    world = build_world(session, app.config["SITE"])
    problems = []
    for page, response in crawl(app, world, role, PAGES):
        problems += content_problems(page, role, response, world)
    assert problems == [], "\n".join(problems)


def test_the_matrix_names_every_role_on_every_page():
    for page in PAGES:
        assert set(page.status) == set(ROLES), page.name
        for section, who in page.shows.items():
            assert who <= set(ROLES), (page.name, section)


def test_public_counts_follow_the_site_opt_in(app, session):
    site = app.config["SITE"]
    # Every badge public too: where a hidden badge decides LEAD-fundability, its LEAD figures stay hidden.
    opted_in = replace(site, public_counts=True, public_badges=dict.fromkeys(site.public_badges, True))
    app.config["SITE"] = opted_in
    world = build_world(session, app.config["SITE"])
    service = PAGES[0]
    answer = fetch(app, world, "anonymous", service).get_data(as_text=True)
    assert "LEAD-funded free" in answer and "Held for referrals" in answer
    app.config["SITE"] = replace(opted_in, public_counts=False)
    answer = fetch(app, world, "anonymous", service).get_data(as_text=True)
    assert "LEAD-funded free" not in answer and "Held for referrals" not in answer


def test_the_harness_detects_what_it_plants(staff_only_counts, session):
    """The detectors are not blind: on the pages that must show a section, it is found (a broken marker
    would make every 'must not show' pass)."""
    app = staff_only_counts
    seen = set()
    for role in ("case_manager", "provider", "project_manager"):
        world = build_world(session, app.config["SITE"])  # fresh: the reads of one role show to the next
        for page, response in crawl(app, world, role, PAGES):
            assert not content_problems(page, role, response, world)
            seen |= {section for section, who in page.shows.items() if role in who}
    assert seen >= {
        "goal_text",
        "capacity_history",
        "referral_timeline",
        "lead_counts",
        "held_counts",
        "case_manager_name",
        "participant_code",
        "plan_link",
    }


def test_html_pages_yields_only_pages_the_role_opens(staff_only_counts, session):
    app = staff_only_counts
    world = build_world(session, app.config["SITE"])
    urls = [url for url, html in html_pages(app, world, "peer", PAGES)]
    assert f"/referrals/check?service_id={world.ids['S']}&participant={world.code}" in urls
    assert f"/participants/{world.code}" not in urls and "/pm" not in urls
    assert all(not url.startswith("/api/") for url in urls)


# Issue 21: a standing field report on S ("reported full ... by a case manager"). Staff read it beside the
# numbers; the public sees only the status word "call first", never that anyone reported, nor who.
REPORTED_PAGES = [
    Page(
        "service page, reported full",
        "/services/{S}",
        statuses(200),
        {
            "capacity_history": OUR_STAFF_CONTENT,
            "referral_timeline": OUR_STAFF_CONTENT,
            "lead_counts": STAFF,
            "held_counts": STAFF,
            "report_form": REPORTERS,
            "field_report": STAFF,
        },
    ),
    Page(
        "API service, reported full",
        "/api/v1/services/{S}",
        statuses(200),
        {"lead_counts": STAFF, "held_counts": STAFF, "field_report": STAFF},
    ),
    Page(
        "check, reported full",
        "/referrals/check?service_id={S}&participant={P}",
        statuses(403, anonymous=302, peer=200, case_manager=200, other_case_manager=404, admin=200),
        {
            "goal_text": PLAN_READERS,
            # Unverified now: a request is the action, and a peer may send one (the form names the code).
            "participant_code": CHECKERS,
            "lead_counts": CHECKERS,
            "held_counts": CHECKERS,
            "report_form": CHECKERS,
            "field_report": CHECKERS,
        },
    ),
]


@pytest.mark.parametrize("role", ROLES)
def test_a_field_report_shows_to_staff_and_never_to_the_public(staff_only_counts, session, role):
    from directory.domain import field_reports
    from directory.domain.access import Actor
    from directory.models import Service, User
    from tests.conftest import FIXED_NOW

    app = staff_only_counts
    world = build_world(session, app.config["SITE"])
    service = session.get(Service, world.ids["S"])
    reporter = Actor.of(session.get(User, world.user_ids["case_manager"]))
    field_reports.file_report(
        session, reporter, service, field_reports.parse({"observed": "full"}), FIXED_NOW, app.config["SITE"]
    )
    session.commit()
    problems = []
    for page, response in crawl(app, world, role, REPORTED_PAGES):
        problems += content_problems(page, role, response, world)
        if response.status_code == 200 and role == "anonymous":
            # What the public gets instead: the status word.
            if page.is_api:
                assert response.get_json()["capacity"]["status"] == "unverified"
            else:
                assert "Unverified: call first" in response.get_data(as_text=True)
    assert problems == [], "\n".join(problems)
