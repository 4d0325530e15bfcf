"""The participant carried from a plan through search to the check (issue 20): in the session, never in a
URL; their needs fill in the first search; "Refer" does not ask for the code again."""

import re

import pytest

from directory.models import Goal
from tests.conftest import FIXED_NOW
from tests.factories import make_participant, make_service, make_user, sign_in


@pytest.fixture
def plan_world(session, client):
    cm = make_user(session, "case_manager")
    other = make_user(session, "case_manager")
    participant = make_participant(session, cm, needs={"languages": ["es"], "housing_first": True})
    participant.place_label = "Pioneer Square"
    goal = Goal(participant=participant, domain="housing", text="a room of my own", created_at=FIXED_NOW)
    session.add(goal)
    spanish_hf = make_service(session, name="Casa Primero", languages=("es",), housing_first=True)
    english_hf = make_service(session, name="Home First", languages=("en",), housing_first=True)
    spanish_shelter = make_service(session, name="Refugio", languages=("es",))
    far = make_service(session, name="Lejos", languages=("es",), housing_first=True, lat=47.2, lon=-122.4)
    session.commit()
    sign_in(client, cm)
    return {
        "code": participant.code,
        "goal": goal.id,
        "cm": cm,
        "other": other.id,
        "match": spanish_hf.id,
        "english": english_hf.id,
        "shelter": spanish_shelter.id,
        "far": far.id,
    }


def listed(html):
    return [int(i) for i in re.findall(r'<li class="result" id="result-(\d+)"', html)]


def test_find_services_carries_the_participant_and_their_needs(client, plan_world):
    plan = client.get(f"/participants/{plan_world['code']}").get_data(as_text=True)
    assert 'action="/participants/' in plan and "/find" in plan
    assert "search?" not in plan  # the plan links to no search URL with the participant's place or needs
    response = client.post(f"/participants/{plan_world['code']}/find", data={"goal_id": plan_world["goal"]})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert plan_world["code"] not in location and "es" not in location.split("?")[-1].split("&")
    assert location.endswith("/search?category=housing")
    html = client.get(location).get_data(as_text=True)
    # Spanish and Housing First, near Pioneer Square: only the matching service (not the far one).
    assert listed(html) == [plan_world["match"]]
    assert f"Searching for <strong>{plan_world['code']}</strong>" in html
    assert 'name="needs_applied" value="1"' in html
    assert '<option value="es" selected>' in html and 'name="housing_first" value="true" checked' in html
    # The form's values rule once it is used: unticking Housing First and choosing any language widens it.
    wider = client.get("/search?category=housing&near=Pioneer+Square&language=&needs_applied=1").get_data(
        as_text=True
    )
    assert sorted(listed(wider)) == sorted(
        [plan_world["match"], plan_world["english"], plan_world["shelter"]]
    )
    # Refer: the check knows the participant (no code asked for) and the goal is chosen.
    refer = re.search(r'href="(/referrals/check\?service_id=\d+)"', html).group(1)
    assert "participant" not in refer
    check = client.get(refer).get_data(as_text=True)
    assert 'name="participant" value="' + plan_world["code"] + '"' in check
    assert "Check for this participant" not in check
    assert f'<option value="{plan_world["goal"]}" selected>' in check


def test_stop_carrying_and_other_accounts_never_see_it(client, session, plan_world):
    client.post(f"/participants/{plan_world['code']}/find", data={"goal_id": plan_world["goal"]})
    # Another case manager in the same browser: the participant is not theirs, nothing is carried.
    sign_in(client, plan_world["other"])
    html = client.get("/search?category=housing").get_data(as_text=True)
    assert plan_world["code"] not in html and "Searching for" not in html
    check = client.get(f"/referrals/check?service_id={plan_world['match']}").get_data(as_text=True)
    assert plan_world["code"] not in check and "Check for this participant" in check
    # Back as the owner (a fresh sign-in) and stop: the needs no longer fill in.
    sign_in(client, plan_world["cm"])
    client.post(f"/participants/{plan_world['code']}/find", data={"goal_id": plan_world["goal"]})
    assert client.post("/search/stop-carrying").status_code == 302
    html = client.get("/search?category=housing").get_data(as_text=True)
    assert "Searching for" not in html
    assert set(listed(html)) >= {plan_world["english"], plan_world["shelter"]}


def test_the_public_search_ignores_a_carried_participant(client, plan_world):
    client.post(f"/participants/{plan_world['code']}/find", data={"goal_id": plan_world["goal"]})
    with client.session_transaction() as browser:
        browser.pop("_user_id", None)  # signed out, with the session key left behind
    html = client.get("/search?category=housing").get_data(as_text=True)
    assert plan_world["code"] not in html and "Searching for" not in html


def test_find_services_for_someone_elses_participant_is_refused(client, session, plan_world):
    sign_in(client, plan_world["other"])
    response = client.post(f"/participants/{plan_world['code']}/find", data={"goal_id": plan_world["goal"]})
    assert response.status_code in (403, 404)
    with client.session_transaction() as browser:
        assert "search_for" not in browser
