"""The audit's questions on small worlds built per test: why a participant declined the alternatives, the
avoidable override, placements the check did not measure, additionality baselines and their notes, the
chain check started from the dashboard, providers with the same name, and who may see what."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from directory.domain import audit_questions as aq
from directory.domain.access import Actor
from directory.domain.capacity_updates import update_capacity
from directory.domain.dashboard import Period, provider_labels
from directory.domain.errors import ValidationError
from directory.domain.referrals import ReferralRequest, create_referral, load_service, transition
from directory.models import (
    AdditionalityBaseline,
    AuditEvent,
    Organization,
    Participant,
    Referral,
    ReferralCheck,
)
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, make_participant, make_service, make_user
from tests.web.test_case_manager_pages import cm_world, login  # noqa: F401 - the fixture is used below
from tests.web.test_referrals_api import new_participant, world  # noqa: F401 - the fixture is used below

AROUND_NOW = Period(FIXED_NOW - timedelta(days=1), FIXED_NOW + timedelta(days=1))
OVERRIDE = {
    "action": "override",
    "reason_code": "eligibility",
    "justification": "Their intake date is set; the program expects them.",
    "acknowledge": "1",
}


def test_the_check_page_asks_why_the_alternatives_were_declined(client, session, cm_world):  # noqa: F811
    page = client.get(f"/referrals/check?service_id={cm_world['busy']}&participant={cm_world['code']}")
    html = page.get_data(as_text=True)
    assert 'name="decline_reason" required' in html
    assert "Too far / no ride" in html and "Partner, pet or belongings not allowed" in html
    assert (
        "(not said)" not in html
        and "optional" not in html.split('class="decline"')[1].split("</fieldset>")[0]
    )
    form = {"service_id": cm_world["busy"], "participant": cm_world["code"], **OVERRIDE}
    for missing_or_wrong in ({}, {"decline_reason": "acute_need"}, {"decline_reason": "x" * 40}):
        refused = client.post("/referrals", data={**form, **missing_or_wrong})
        assert refused.status_code == 400
        assert 'data-field="decline_reason"' in refused.get_data(as_text=True)
        assert session.scalar(select(func.count()).select_from(Referral)) == 0
    assert client.post("/referrals", data={**form, "decline_reason": "schedule"}).status_code == 302
    referral = session.scalar(select(Referral))
    assert (referral.action, referral.decline_reason) == ("override", "schedule")
    # Declined for the participant's own reason: an override with a spare alternative, not avoidable.
    (choice,) = aq.overrides_with_choice(session, AROUND_NOW)
    assert (choice.best_name, choice.decline_reason, choice.avoidable) == ("Spare Beds", "schedule", False)


def test_without_a_reason_in_the_api_the_override_is_avoidable(app, session, cm_world):  # noqa: F811
    cm = cm_world["cm"]
    participant = session.scalar(select(Participant).where(Participant.code == cm_world["code"]))
    service = load_service(session, cm_world["busy"])
    request = ReferralRequest(
        "override", reason_code="other", justification="The participant starts work nearby on Monday."
    )
    referral = create_referral(
        session, Actor.of(cm), service, participant, request, FIXED_NOW, app.config["SITE"]
    )
    session.commit()
    assert referral.decline_reason is None
    spare = [a for a in referral.alternatives if a.service.name == "Spare Beds"]
    assert [(a.classification, a.free_units) for a in spare] == [
        ("spare_capacity", 2)
    ]  # available 2, none waiting
    (choice,) = aq.overrides_with_choice(session, AROUND_NOW)
    assert choice.avoidable and not choice.urgent and choice.best_units == 2
    month = [("this month", AROUND_NOW)]
    figures = aq.avoidable_figures(session, AROUND_NOW, month)
    assert figures.totals == {"avoidable": 1, "urgent": 0, "participant_driven": 0, "all": 1}
    assert [(r.label, r.avoidable, r.overrides, r.referrals) for r in figures.rates["case_manager"]] == [
        (cm.email, 1, 1, 1)
    ]
    assert (figures.trend[0].avoidable, figures.trend[0].overrides, figures.trend[0].referrals) == (1, 1, 1)
    assert (figures.places.places, figures.places.mean_waitlist, figures.places.longest_waitlist) == (1, 4, 4)
    # An unknown reason is refused in the API too.
    with pytest.raises(ValidationError, match="decline_reason"):
        create_referral(
            session,
            Actor.of(cm),
            service,
            participant,
            ReferralRequest("join_waitlist", decline_reason="because"),
            FIXED_NOW,
            app.config["SITE"],
        )


def test_a_request_accepted_over_a_waitlist_is_seen(app, session):
    """Unverified numbers send a request; accepted while three people wait, it is a displacement nobody
    counted: classified at acceptance from the numbers then."""
    service = make_service(
        session, capacity={"maximum": 5, "available": 1, "waitlist": 3, "confirmed_at": None}, **LOW_BARRIER
    )
    cm, admin = make_user(session, "case_manager"), make_user(session, "admin")
    participant = make_participant(session, cm)
    referral = create_referral(
        session, Actor.of(cm), service, participant, ReferralRequest("request"), FIXED_NOW, app.config["SITE"]
    )
    assert (referral.classification, referral.state) == ("unverified", "requested")
    transition(session, Actor.of(admin), referral, "accept", FIXED_NOW + timedelta(hours=1))
    session.commit()
    assert (referral.placement, referral.placement_waitlist) == ("displacement", 3)
    placed = aq.placements(session, AROUND_NOW)
    assert (placed.measured, placed.unmeasured, placed.over_a_waitlist) == (0, 1, 1)
    assert placed.unmeasured_share == 1.0


def test_a_claim_accepted_is_measured_and_not_reclassified(app, session):
    service = make_service(
        session,
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": FIXED_NOW},
        **LOW_BARRIER,
    )
    cm, admin = make_user(session, "case_manager"), make_user(session, "admin")
    referral = create_referral(
        session,
        Actor.of(cm),
        service,
        make_participant(session, cm),
        ReferralRequest("claim"),
        FIXED_NOW,
        app.config["SITE"],
    )
    transition(session, Actor.of(admin), referral, "accept", FIXED_NOW + timedelta(hours=1))
    assert referral.placement is None and referral.placement_waitlist == 0
    placed = aq.placements(session, AROUND_NOW)
    assert (placed.measured, placed.unmeasured) == (1, 0)


def test_baseline_is_kept_when_lead_units_are_bought_and_a_later_drop_is_flagged(client, session):
    service = make_service(session, capacity={"maximum": 10, "available": 4, "waitlist": 0}, **LOW_BARRIER)
    admin, pm = make_user(session, "admin"), make_user(session, "project_manager")
    update_capacity(
        session, Actor.of(admin), service.id, {"available": 5}, "web", FIXED_NOW - timedelta(days=90)
    )
    assert session.get(AdditionalityBaseline, service.id) is None  # no LEAD units bought yet
    update_capacity(
        session,
        Actor.of(admin),
        service.id,
        {"lead_funded_maximum": 4, "lead_funded_available": 4},
        "web",
        FIXED_NOW - timedelta(days=80),
    )
    baseline = session.get(AdditionalityBaseline, service.id)
    assert (baseline.general_maximum, baseline.lead_funded_maximum) == (10, 4)
    assert aq.baseline_flags(session) == []
    # Months later, outside any period one would look at, the general units fall.
    update_capacity(
        session,
        Actor.of(admin),
        service.id,
        {"maximum": 7, "available": 3},
        "web",
        FIXED_NOW - timedelta(days=40),
    )
    session.commit()
    (flag,) = aq.baseline_flags(session)
    assert (flag.baseline_general, flag.general_now, flag.lead_now) == (10, 7, 4)
    login(client, pm)
    html = client.get("/pm").get_data(as_text=True)
    table = html.split('id="table-baselines"')[1].split("</table>")[0]
    assert service.name in table and "<td>10</td><td>7</td>" in table
    # The note: text only, no phone numbers or dates (the free-text screen); audited.
    refused = client.post(f"/pm/baselines/{service.id}/note", data={"note": "Call 206-555-0100 about it"})
    assert refused.status_code == 400
    assert session.get(AdditionalityBaseline, service.id).note is None
    saved = client.post(
        f"/pm/baselines/{service.id}/note", data={"note": "Building under repair; units return."}
    )
    assert saved.status_code == 303
    session.expire_all()
    assert session.get(AdditionalityBaseline, service.id).note == "Building under repair; units return."
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "additionality.note")
        )
        == 1
    )
    assert client.post("/pm/baselines/999999/note", data={"note": "x"}).status_code == 404
    cm = make_user(session, "case_manager")
    session.commit()
    login(client, cm)
    assert client.post(f"/pm/baselines/{service.id}/note", data={"note": "changed"}).status_code == 403
    session.expire_all()
    assert session.get(AdditionalityBaseline, service.id).note == "Building under repair; units return."


def test_verify_now_runs_the_whole_chain_check_in_the_background(app, client, session):
    pm = make_user(session, "project_manager")
    service = make_service(session, capacity={"maximum": 10, "available": 4, "waitlist": 0}, **LOW_BARRIER)
    for n in range(3):
        update_capacity(
            session, Actor.of(make_user(session, "admin")), service.id, {"available": n}, "web", FIXED_NOW
        )
    session.commit()
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    login(client, pm)
    assert "Not checked yet" in client.get("/pm").get_data(as_text=True)
    answer = client.post("/pm/verify-audit")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("#audit-chain")
    app.extensions["verify_now_thread"].join()
    html = client.get("/pm").get_data(as_text=True)
    assert f"passed ({events} events verified)" in html
    assert client.get("/pm/verify-audit").status_code == 405


def test_providers_with_the_same_name_are_told_apart(session):
    first = make_service(session, organization=Organization(name="Twin House")).organization
    second = make_service(session, organization=Organization(name="Twin House"), address=None).organization
    other = make_service(session, organization=Organization(name="Only House")).organization
    labels = provider_labels(session, {first.id, second.id, other.id})
    assert labels[other.id] == "Only House"
    assert labels[first.id] == f"Twin House (Seattle, no. {first.id})"
    assert labels[second.id] == f"Twin House (no. {second.id})"
    # The same label whichever other providers a table happens to hold.
    assert provider_labels(session, {first.id}) == {first.id: labels[first.id]}


@pytest.mark.parametrize("role", ["case_manager", "provider", "peer_outreach"])
def test_only_auditors_open_the_audit(client, session, role):
    organization = make_service(session).organization if role == "provider" else None
    user = make_user(session, role, organization=organization)
    session.commit()
    for path in ("/pm", "/pm/report", "/pm/export/avoidable.csv"):
        assert client.get(path).status_code in (302, 401), path  # signed out: to the sign-in page
    login(client, user)
    for path in ("/pm", "/pm/report", "/pm/export/avoidable.csv"):
        assert client.get(path).status_code == 403, path
    assert client.post("/pm/verify-audit").status_code == 403
    assert session.scalar(select(func.count()).select_from(ReferralCheck)) == 0


@pytest.mark.parametrize("wrong", ["because", 7, "acute_need", ""])
def test_the_api_refuses_an_unknown_decline_reason(client, session, world, wrong):  # noqa: F811
    h = world["tokens"]["cm"]
    code = new_participant(client, h)["code"]
    body = {"service_id": world["waiting"], "participant_code": code, "action": "join_waitlist"}
    response = client.post("/api/v1/referrals", json={**body, "decline_reason": wrong}, headers=h)
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "decline_reason"
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


def test_the_api_keeps_the_decline_reason_and_may_leave_it_out(client, session, world):  # noqa: F811
    h = world["tokens"]["cm"]
    override = {
        "service_id": world["waiting"],
        "action": "override",
        "reason_code": "other",
        "justification": "The participant has a job interview nearby.",
    }
    given = {
        **override,
        "participant_code": new_participant(client, h)["code"],
        "decline_reason": "tried_before",
    }
    omitted = {**override, "participant_code": new_participant(client, h)["code"]}
    for body in (given, omitted):
        assert client.post("/api/v1/referrals", json=body, headers=h).status_code == 201
    stored = session.scalars(select(Referral.decline_reason).order_by(Referral.id)).all()
    assert stored == ["tried_before", None]
    kinds = [(c.decline_reason, c.avoidable) for c in aq.overrides_with_choice(session, AROUND_NOW)]
    assert sorted(kinds, key=str) == sorted([("tried_before", False), (None, True)], key=str)
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "decline_reason" in json.dumps(spec)


def test_the_dashboard_leads_to_the_import_problems_and_the_access_log(client, session):
    manager = make_user(session, "project_manager")
    session.commit()
    login(client, manager)
    html = client.get("/pm").get_data(as_text=True)
    for path in ("/pm/imports", "/pm/participant-reads"):
        assert f'href="{path}"' in html, path
        assert client.get(path).status_code == 200, path


def test_confidential_providers_read_as_one_merged_row(client, session):
    from directory.domain.confidential_rows import CONFIDENTIAL_ROW

    capacity = {"maximum": 8, "available": 1, "confirmed_at": FIXED_NOW - timedelta(days=9)}
    first = make_service(session, name="Harbor Safe House", confidential=True, capacity=capacity)
    second = make_service(session, name="Hillside Safe House", confidential=True, capacity=capacity)
    public = make_service(session, name="Plain Pantry", capacity=capacity)
    first.organization.name, second.organization.name = "Safe Harbor Org", "Hillside Refuge Org"
    manager = make_user(session, "project_manager")
    session.commit()
    labels = provider_labels(session, {first.organization_id, second.organization_id, public.organization_id})
    assert labels[first.organization_id] == labels[second.organization_id] == CONFIDENTIAL_ROW
    assert labels[public.organization_id] == public.organization.name
    login(client, manager)
    html = client.get("/pm/freshness").get_data(as_text=True)
    assert "Safe Harbor Org" not in html and "Hillside Refuge Org" not in html
    assert public.organization.name in html


def test_the_printed_report_carries_the_part_2_redisclosure_notice(client, session):
    manager = make_user(session, "project_manager")
    session.commit()
    login(client, manager)
    html = client.get("/pm/report").get_data(as_text=True)
    assert "42 CFR part 2" in html and "prohibit you from using or disclosing this record" in html
