"""Staff see only what their role needs: goals stay with the participant's case manager, the project manager
reads referrals and slips without 403s, every read of participant data is audited, and the project
manager can ask who looked at a participant code."""

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from directory.domain import audit
from directory.models import AuditEvent, Referral
from tests.harness import GOAL_TEXT, api_headers, build_world, signed_in

READ = audit.READ_ACTION
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(app, session):
    return build_world(session, app.config["SITE"])


def events(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEvent))


def reads(session) -> list[tuple]:
    """(actor id, participant id, view, referral id) of each read event, oldest first."""
    session.expire_all()
    rows = session.execute(
        select(AuditEvent.actor_id, AuditEvent.object_id, AuditEvent.payload)
        .where(AuditEvent.action == READ)
        .order_by(AuditEvent.id)
    )
    return [(a, int(o), p["view"], p["referral_id"]) for a, o, p in rows]


def participant_id(session, world) -> int:
    return session.get(Referral, world.ids["R"]).participant_id


# --- 1. Goals and plans -------------------------------------------------------------------------------


def test_a_peer_checks_an_open_access_service_by_code_without_the_goals(app, world):
    page = signed_in(app, world, "peer").get(
        f"/referrals/check?service_id={world.ids['O']}&participant={world.code}"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and world.code in html and 'value="request"' in html
    assert GOAL_TEXT not in html and 'name="goal_id"' not in html
    own = signed_in(app, world, "case_manager").get(
        f"/referrals/check?service_id={world.ids['O']}&participant={world.code}"
    )
    assert GOAL_TEXT in own.get_data(as_text=True) and 'name="goal_id"' in own.get_data(as_text=True)


def test_a_peer_cannot_attach_a_request_to_a_goal(app, session, world):
    before = session.scalar(select(func.count()).select_from(Referral))
    form = {
        "service_id": str(world.ids["O"]),
        "participant": world.code,
        "action": "request",
        "goal_id": str(world.ids["GOAL"]),
    }
    refused = signed_in(app, world, "peer").post("/referrals", data=form)
    assert refused.status_code == 403 and GOAL_TEXT not in refused.get_data(as_text=True)
    body = {"service_id": world.ids["O"], "participant_code": world.code, "action": "request"}
    api = app.test_client().post(
        "/api/v1/referrals", json={**body, "goal_id": world.ids["GOAL"]}, headers=api_headers(world, "peer")
    )
    assert api.status_code == 403 and api.get_json()["error"]["field"] == "goal_id"
    # A goal id that does not exist gets the same answer: nothing about the plan leaks.
    ghost = app.test_client().post(
        "/api/v1/referrals", json={**body, "goal_id": 999999}, headers=api_headers(world, "peer")
    )
    assert ghost.status_code == 403
    assert session.scalar(select(func.count()).select_from(Referral)) == before
    by_code = app.test_client().post("/api/v1/referrals", json=body, headers=api_headers(world, "peer"))
    assert by_code.status_code == 201 and by_code.get_json()["goal_id"] is None


def test_the_project_manager_reads_referrals_and_slips_but_never_plans(app, world):
    pm = signed_in(app, world, "project_manager")
    referral = pm.get(f"/referrals/{world.ids['R']}")
    html = referral.get_data(as_text=True)
    assert referral.status_code == 200 and world.code in html
    assert f'href="/participants/{world.code}"' not in html  # the code as text, not a link to the plan
    assert "Cancel referral" not in html  # read-only
    links = re.findall(r'href="(/referrals/\d+/slip[^"]*)"', html)
    assert links, "the referral page offers the slip"
    for link in links:
        assert pm.get(link.replace("&amp;", "&")).status_code == 200  # no link leads to a 403
    assert pm.get(f"/participants/{world.code}").status_code == 403
    assert pm.post(f"/referrals/{world.ids['R']}/cancel").status_code == 403
    cm_html = signed_in(app, world, "case_manager").get(f"/referrals/{world.ids['R']}").get_data(as_text=True)
    assert f'href="/participants/{world.code}"' in cm_html


def test_a_provider_sees_the_code_but_no_plan_link_or_slip_link(app, world):
    html = signed_in(app, world, "provider").get(f"/referrals/{world.ids['R']}").get_data(as_text=True)
    assert world.code in html and f'href="/participants/{world.code}"' not in html
    assert "/slip" not in html


# --- 2. Reads audited ---------------------------------------------------------------------------------


def test_an_admin_and_a_peer_reading_a_participant_leave_events(app, session, world):
    """The issue's count: before and after an admin and a peer read a participant."""
    before = events(session)
    signed_in(app, world, "admin").get(f"/participants/{world.code}")
    signed_in(app, world, "peer").get(
        f"/referrals/check?service_id={world.ids['O']}&participant={world.code}"
    )
    assert events(session) == before + 2
    pid = participant_id(session, world)
    admin, peer = world.users["admin"].id, world.users["peer"].id
    assert reads(session) == [(admin, pid, "plan", None), (peer, pid, "check", None)]
    assert audit.verify(session).ok


@pytest.mark.parametrize(
    ("role", "url", "view", "with_referral"),
    [
        ("case_manager", "/participants/{P}", "plan", False),
        ("case_manager", "/referrals/{R}", "referral", True),
        ("project_manager", "/referrals/{R}", "referral", True),
        ("provider", "/referrals/{R}", "referral", True),
        ("project_manager", "/referrals/{R}/slip", "slip", True),
        ("case_manager", "/referrals/{R}/slip?lang=es", "slip", True),
        ("provider", "/provider/referrals", "inbox", False),
        ("provider", "/provider/referrals/{R}", "inbox", True),
        ("case_manager", "/api/v1/participants/{P}", "plan", False),
        ("project_manager", "/api/v1/referrals/{R}", "referral", True),
    ],
)
def test_each_view_of_participant_data_appends_one_event(app, session, world, role, url, view, with_referral):
    target = world.fill(url)
    if target.startswith("/api/"):
        answer = app.test_client().get(target, headers=api_headers(world, role))
    else:
        answer = signed_in(app, world, role).get(target)
    assert answer.status_code == 200
    expected_referral = world.ids["R"] if with_referral else None
    expected = [(world.users[role].id, participant_id(session, world), view, expected_referral)]
    assert reads(session) == expected


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("peer", "/participants/{P}"),
        ("other_case_manager", "/participants/{P}"),
        ("provider_other", "/referrals/{R}"),
        ("provider", "/referrals/{R}/slip"),
        ("other_case_manager", "/api/v1/participants/{P}"),
        ("anonymous", "/referrals/{R}"),
    ],
)
def test_a_refused_read_leaves_no_event(app, session, world, role, url):
    before = events(session)
    target = world.fill(url)
    if target.startswith("/api/"):
        answer = app.test_client().get(target, headers=api_headers(world, role))
    else:
        answer = signed_in(app, world, role).get(target)
    assert answer.status_code in (302, 401, 403, 404)
    assert events(session) == before


def test_a_prefetch_is_refused_and_not_recorded(app, session, world):
    before = events(session)
    client = signed_in(app, world, "case_manager")
    for header in (
        {"Sec-Purpose": "prefetch"},
        {"Sec-Purpose": "prefetch;prerender"},
        {"Purpose": "prefetch"},
    ):
        answer = client.get(f"/participants/{world.code}", headers=header)
        assert answer.status_code == 503 and GOAL_TEXT not in answer.get_data(as_text=True)
    assert events(session) == before


def test_no_page_asks_the_browser_to_prefetch(app, world):
    for path in (ROOT / "templates").rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"rel=[\"']?(prefetch|prerender|preload|dns-prefetch)", source), path
        assert "speculationrules" not in source, path
    for path in (ROOT / "static").rglob("*.js"):
        source = path.read_text(encoding="utf-8")
        assert "/participants/" not in source and "/referrals/" not in source, path


def test_the_project_manager_sees_who_looked_at_a_participant(app, session, world):
    signed_in(app, world, "case_manager").get(f"/participants/{world.code}")
    signed_in(app, world, "provider").get(f"/referrals/{world.ids['R']}")
    pm = signed_in(app, world, "project_manager")
    page = pm.get(f"/pm/participant-reads?code={world.code.lower()}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", html)
    provider, cm = world.users["provider"], world.users["case_manager"]
    assert rows == [
        (provider.email, "provider", "referral page"),
        (cm.display_name, "case manager", "plan (goals and referrals)"),
    ]
    assert GOAL_TEXT not in html
    # Looking is itself recorded, and shows on the next look.
    again = pm.get(f"/pm/participant-reads?code={world.code}").get_data(as_text=True)
    assert "this access log" in again
    unknown = pm.get("/pm/participant-reads?code=P-ZZZZZZ")
    assert unknown.status_code == 404 and 'id="no-participant"' in unknown.get_data(as_text=True)
    assert pm.get("/pm/participant-reads").status_code == 200


@pytest.mark.parametrize("code", ["<script>alert(1)</script>", "P-" + "9" * 500, "%00", "' OR 1=1 --"])
def test_the_access_log_answers_hostile_codes_plainly(app, session, world, code):
    before = events(session)
    answer = signed_in(app, world, "project_manager").get(
        "/pm/participant-reads", query_string={"code": code}
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 404 and "<script>alert" not in html
    assert events(session) == before
