"""Issue 24 in the audit: a withheld outcome (a Part 2 program without a release, a confidential service)
leaves no trace in any figure the project manager sees, prints or exports, and every export that can carry
referrals or outcomes ends with the Part 2 redisclosure notice."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from directory.domain.consent import REDISCLOSURE_NOTICE
from directory.models import Referral
from directory.web.pm import NOTICE_LABEL
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, make_participant, make_service, make_user, sign_in
from tests.harness import visible_text

pytestmark = pytest.mark.db

WINDOW = "start=2026-10-26&end=2026-11-24"
LEAD = {"maximum": 10, "available": 4, "lead_funded_maximum": 3, "lead_funded_available": 1}


@pytest.fixture
def audit_world(session):
    """A Part 2 program with LEAD units and an ordinary one; a referral of each, made a week ago, whose
    outcome a test sets; the withheld one has no release on file."""
    part2 = make_service(
        session, name="Harbor Recovery House", capacity=LEAD, part2_program=True, **LOW_BARRIER
    )
    plain = make_service(session, name="Plain Rooms", capacity=LEAD, **LOW_BARRIER)
    cm = make_user(session, "case_manager")
    pm = make_user(session, "project_manager")
    participant = make_participant(session, cm)
    made = FIXED_NOW - timedelta(days=7)
    referrals = []
    for service, shared in ((part2, False), (plain, True)):
        referral = Referral(
            service_id=service.id,
            participant_id=participant.id,
            action="claim",
            classification="lead_funded",
            state="accepted",
            hold="lead",
            created_at=made,
            created_by=cm.id,
            closed_at=made + timedelta(days=1),
            outcome_shared=shared,
        )
        session.add(referral)
        referrals.append(referral)
    session.commit()
    return {"pm": pm.id, "withheld": referrals[0].id, "shared": referrals[1].id}


def _set_outcome(session, referral_id: int, outcome: str) -> None:
    referral = session.get(Referral, referral_id)
    referral.state = outcome
    referral.closed_at = None if outcome == "requested" else FIXED_NOW - timedelta(days=6)
    session.commit()


def _seen(client) -> dict[str, str]:
    """Everything the project manager reads about the period: the dashboard's and the report's words, and
    every export (the referral export's per-export pseudonyms left out)."""
    from directory.domain import dashboard as dash

    seen = {
        "/pm": visible_text(client.get(f"/pm?{WINDOW}").get_data(as_text=True)),
        "/pm/report": visible_text(client.get("/pm/report?month=2026-11").get_data(as_text=True)),
    }
    for name in [*dash.EXPORTS, "avoidable"]:
        seen[name] = client.get(f"/pm/export/{name}.csv?{WINDOW}").get_data(as_text=True)
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/pm/export/referrals.csv?{WINDOW}").get_data(as_text=True)))
    )
    seen["referrals"] = repr([{k: v for k, v in row.items() if k != "participant"} for row in rows])
    return seen


def test_a_withheld_outcome_changes_no_figure_the_project_manager_sees(client, session, audit_world):
    sign_in(client, audit_world["pm"])
    views = {}
    for outcome in ("accepted", "declined", "expired", "requested"):
        _set_outcome(session, audit_world["withheld"], outcome)
        views[outcome] = _seen(client)
    for outcome in ("declined", "expired", "requested"):
        for name, text in views[outcome].items():
            assert text == views["accepted"][name], (outcome, name)


def test_the_shared_outcome_is_counted_and_the_withheld_one_is_not(client, session, audit_world):
    """The control: the same change to the shared referral moves the figures (the test above could fail)."""
    from directory.domain import audit_questions as aq
    from directory.domain import dashboard as dash

    period = dash.Period(FIXED_NOW - timedelta(days=30), FIXED_NOW)
    placed = aq.placements(session, period)
    lead = {row.provider: row.used for row in dash.lead_capacity(session, period, FIXED_NOW)}
    assert placed.total == 1  # the shared acceptance only: total - visible ones reveals nothing
    assert sorted(lead.values()) == [0, 1]
    assert dash.outcomes(session, period)["counts"]["not_shared"] == 1
    sign_in(client, audit_world["pm"])
    before = _seen(client)
    _set_outcome(session, audit_world["shared"], "declined")
    after = _seen(client)
    assert before["/pm"] != after["/pm"] and before["lead_capacity"] != after["lead_capacity"]
    assert aq.placements(session, period).total == 0
    assert "Outcomes not shared: 1 referral made in the period" in after["/pm"]


@pytest.mark.parametrize(
    "name", ["referrals", "avoidable", "weekly", "lead_capacity", "by_domain", "unmet_domain"]
)
def test_exports_with_referrals_end_with_the_redisclosure_notice(client, audit_world, name):
    sign_in(client, audit_world["pm"])
    rows = list(csv.reader(io.StringIO(client.get(f"/pm/export/{name}.csv?{WINDOW}").get_data(as_text=True))))
    assert rows[-2:] == [[], [NOTICE_LABEL, REDISCLOSURE_NOTICE]]
    assert NOTICE_LABEL not in rows[0]  # the header stays first


def test_every_dashboard_table_export_carries_the_notice_and_capacity_history_does_not(client, audit_world):
    from directory.domain import dashboard as dash

    sign_in(client, audit_world["pm"])
    for name in dash.EXPORTS:
        assert REDISCLOSURE_NOTICE in client.get(f"/pm/export/{name}.csv?{WINDOW}").get_data(as_text=True), (
            name
        )
    history = client.get(f"/pm/export/capacity-history.csv?{WINDOW}").get_data(as_text=True)
    assert NOTICE_LABEL not in history  # providers' numbers only: no referral, no outcome


def test_printed_reports_carry_the_notice(client, audit_world):
    sign_in(client, audit_world["pm"])
    assert REDISCLOSURE_NOTICE in visible_text(client.get("/pm/report?month=2026-11").get_data(as_text=True))
    partner = client.get("/pm/partner-report?month=2026-10")
    assert partner.status_code == 200
    assert REDISCLOSURE_NOTICE in visible_text(partner.get_data(as_text=True))
