"""Referrals in the database: actions by classification, holds, the lifecycle's effect on counts,
alternatives, idempotency, and properties over random sequences of operations."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from directory.domain import capacity as cap
from directory.domain.access import SYSTEM, Actor
from directory.domain.capacity_updates import update_capacity
from directory.domain.errors import Conflict, Forbidden, ValidationError
from directory.domain.referrals import (
    Decline,
    ReferralRequest,
    StaleCheck,
    check,
    create_referral,
    transition,
)
from directory.models import Referral, ServiceCapacity
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_user

NOW = FIXED_NOW


def setup(session, capacity, **attrs):
    org_service = make_service(
        session, capacity={"confirmed_at": fresh(NOW), **capacity}, **LOW_BARRIER, **attrs
    )
    cm = make_user(session, "case_manager")
    provider = make_user(session, "provider", organization=org_service.organization)
    participant = make_participant(session, cm)
    return org_service, Actor.of(cm), Actor.of(provider), participant


def refer(session, app, actor, service, participant, action, **kw):
    return create_referral(
        session, actor, service, participant, ReferralRequest(action, **kw), NOW, app.config["SITE"]
    )


def counts(session, service):
    session.expire_all()
    row = session.get(ServiceCapacity, service.capacity.id)
    return {
        "available": row.available,
        "waitlist": row.waitlist,
        "lead_available": row.lead_funded_available,
        "held_general": row.held_general,
        "held_lead": row.held_lead,
    }


def test_claim_uses_lead_units_first_then_general(app, session):
    service, cm, _, p = setup(
        session,
        {"maximum": 5, "available": 1, "waitlist": 0, "lead_funded_maximum": 1, "lead_funded_available": 1},
    )
    first = refer(session, app, cm, service, p, "claim")
    assert (first.classification, first.hold, first.state) == ("lead_funded", "lead", "held")
    second = refer(session, app, cm, service, p, "claim")
    assert (second.classification, second.hold) == ("spare_capacity", "general")
    assert counts(session, service) == {
        "available": 1,
        "waitlist": 0,
        "lead_available": 1,
        "held_general": 1,
        "held_lead": 1,
    }
    with pytest.raises(StaleCheck) as info:
        refer(session, app, cm, service, p, "claim")
    assert info.value.check.classification == "full"
    assert info.value.status == 409


def test_hold_expiry_time_depends_on_unit(app, session):
    service, cm, _, p = setup(
        session, {"unit_id": "shelter_bed", "maximum": 5, "available": 2, "waitlist": 0}
    )
    referral = refer(session, app, cm, service, p, "claim")
    assert referral.expires_at == NOW + timedelta(hours=3)


def test_displacement_allows_waitlist_and_override_only(app, session):
    service, cm, _, p = setup(session, {"maximum": 5, "available": 1, "waitlist": 4})
    result = check(session, cm, service, p, NOW, app.config["SITE"])
    assert result.classification == "displacement"
    assert result.would_displace == 4
    assert result.actions == ["join_waitlist", "override"]
    assert any("Would delay the 4 people" in reason for reason in result.reasons)
    for action in ("claim", "request"):
        with pytest.raises(StaleCheck):
            refer(session, app, cm, service, p, action)


def test_override_needs_reason_and_justification(app, session):
    service, cm, _, p = setup(session, {"maximum": 5, "available": 1, "waitlist": 4})
    with pytest.raises(ValidationError) as info:
        refer(session, app, cm, service, p, "override", justification="x" * 25)
    assert info.value.field == "reason_code"
    with pytest.raises(ValidationError) as info:
        refer(session, app, cm, service, p, "override", reason_code="safety", justification="too short")
    assert info.value.field == "justification"
    with pytest.raises(ValidationError):
        refer(
            session,
            app,
            cm,
            service,
            p,
            "override",
            reason_code="safety",
            justification="call 206-555-0100 about it please",
        )
    referral = refer(
        session,
        app,
        cm,
        service,
        p,
        "override",
        reason_code="safety",
        justification="Unsafe where they sleep; cannot wait a week.",
    )
    # One unit is physically free (available 1, none held): the override holds it.
    assert (referral.state, referral.hold) == ("held", "general")
    second = refer(
        session,
        app,
        cm,
        service,
        p,
        "override",
        reason_code="acute_need",
        justification="Discharged from hospital tonight, nowhere to go.",
    )
    assert (second.state, second.hold) == ("requested", "none")
    assert counts(session, service)["held_general"] == 1


def test_join_waitlist_and_its_lifecycle(app, session):
    service, cm, provider, p = setup(session, {"maximum": 5, "available": 0, "waitlist": 2})
    referral = refer(session, app, cm, service, p, "join_waitlist")
    assert referral.state == "waitlisted"
    assert counts(session, service)["waitlist"] == 3
    transition(session, provider, referral, "accept", NOW)
    assert counts(session, service)["waitlist"] == 2
    assert referral.state == "accepted"
    with pytest.raises(Conflict):
        transition(session, provider, referral, "decline", NOW, decline=Decline("other"))


@pytest.mark.parametrize(
    ("verb", "hold", "expected"),
    [
        ("accept", "general", {"available": 2, "held_general": 0, "lead_available": 1, "held_lead": 0}),
        ("decline", "general", {"available": 3, "held_general": 0, "lead_available": 1, "held_lead": 0}),
        ("cancel", "general", {"available": 3, "held_general": 0, "lead_available": 1, "held_lead": 0}),
        ("expire", "general", {"available": 3, "held_general": 0, "lead_available": 1, "held_lead": 0}),
        ("accept", "lead", {"available": 3, "held_general": 0, "lead_available": 0, "held_lead": 0}),
        ("decline", "lead", {"available": 3, "held_general": 0, "lead_available": 1, "held_lead": 0}),
    ],
)
def test_lifecycle_counts(app, session, verb, hold, expected):
    lead = 1
    service, cm, provider, p = setup(
        session,
        {
            "maximum": 5,
            "available": 3,
            "waitlist": 0,
            "lead_funded_maximum": 1,
            "lead_funded_available": lead,
        },
    )
    if hold == "general":
        # Use the LEAD unit first so the second claim holds a general unit.
        first = refer(session, app, cm, service, p, "claim")
        transition(session, cm, first, "cancel", NOW)
        service.capacity.held_lead = 0
        session.flush()
        service.capacity.lead_funded_available = 0
        session.flush()
        referral = refer(session, app, cm, service, p, "claim")
        service.capacity.lead_funded_available = 1
        session.flush()
    else:
        referral = refer(session, app, cm, service, p, "claim")
    assert referral.hold == hold
    confirmed_before = service.capacity.confirmed_at
    actor = {"accept": provider, "decline": provider, "cancel": cm, "expire": SYSTEM}[verb]
    transition(session, actor, referral, verb, NOW, decline=Decline("other") if verb == "decline" else None)
    got = counts(session, service)
    del got["waitlist"]
    assert got == expected
    assert service.capacity.confirmed_at == confirmed_before


def test_only_the_right_people_move_a_referral(app, session):
    service, cm, provider, p = setup(session, {"maximum": 5, "available": 3, "waitlist": 0})
    other_org_provider = Actor.of(
        make_user(session, "provider", organization=make_service(session).organization)
    )
    referral = refer(session, app, cm, service, p, "claim")
    with pytest.raises(Forbidden):
        transition(session, other_org_provider, referral, "accept", NOW)
    with pytest.raises(Forbidden):
        transition(session, cm, referral, "accept", NOW)
    with pytest.raises(Forbidden):
        transition(session, provider, referral, "cancel", NOW)


def test_peer_outreach_may_only_request(app, session):
    service, _, _, p = setup(session, {"maximum": 5, "available": 3, "waitlist": 0})
    peer = Actor.of(make_user(session, "peer_outreach"))
    assert check(session, peer, service, p, NOW, app.config["SITE"]).actions == []
    with pytest.raises(Forbidden):
        refer(session, app, peer, service, p, "claim")
    unverified = make_service(session, capacity={"maximum": 3, "available": 1, "waitlist": None})
    referral = refer(session, app, peer, unverified, p, "request")
    assert (referral.classification, referral.state) == ("unverified", "requested")


def test_expected_classification_mismatch_is_409(app, session):
    service, cm, _, p = setup(session, {"maximum": 5, "available": 3, "waitlist": 0})
    with pytest.raises(StaleCheck) as info:
        refer(session, app, cm, service, p, "claim", expected_classification="lead_funded")
    assert info.value.check.classification == "spare_capacity"
    assert session.query(Referral).count() == 0


def test_alternatives_same_domain_compatible_nearest_first(app, session):
    from geographiclib.geodesic import Geodesic

    def at(km, bearing=90):
        end = Geodesic.WGS84.Direct(47.6036, -122.3256, bearing, km * 1000)
        return end["lat2"], end["lon2"]

    full, cm, _, p = setup(session, {"maximum": 5, "available": 0, "waitlist": 3})
    spanish = make_participant(
        session, make_user(session), needs={"languages": ["es"]}, lat_e2=4760, lon_e2=-12233
    )
    spare = {"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(NOW)}
    expected = []
    for km in [3.0, 1.0, 2.0, 9.0, 4.0, 5.0, 6.0]:
        lat, lon = at(km)
        s = make_service(session, name=f"alt {km}", lat=lat, lon=lon, capacity=spare, languages=("es",))
        expected.append((km, s.id))
    lat, lon = at(0.5)
    make_service(session, name="other domain", domain="food", lat=lat, lon=lon)
    make_service(session, name="wrong language", lat=lat, lon=lon, capacity=spare, languages=("vi",))
    lat, lon = at(11)
    make_service(session, name="too far", lat=lat, lon=lon, capacity=spare, languages=("es",))
    make_service(
        session, name="stale", lat=lat, lon=lon, capacity={**spare, "confirmed_at": NOW - timedelta(days=9)}
    )
    result = check(
        session,
        Actor.of(make_user(session)),
        full,
        spanish,
        NOW,
        app.config["SITE"],
        near=(47.6036, -122.3256),
    )
    names = [a.service.name for a in result.alternatives]
    assert names == ["alt 1.0", "alt 2.0", "alt 3.0", "alt 4.0", "alt 5.0"]
    distances = [a.distance_km for a in result.alternatives]
    assert distances == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0], abs=1e-6)


def test_unmet_need_is_recorded(app, session):
    from directory.models import ReferralCheck

    service, cm, _, p = setup(session, {"maximum": 5, "available": 0, "waitlist": 3})
    check(session, cm, service, p, NOW, app.config["SITE"])
    recorded = session.query(ReferralCheck).one()
    assert recorded.unmet is True and recorded.classification == "displacement"


def test_provider_update_below_holds_marks_newest_at_risk(app, session):
    service, cm, provider, p = setup(session, {"maximum": 5, "available": 3, "waitlist": 0})
    made = []
    for minutes in (0, 1, 2):
        made.append(refer(session, app, cm, service, p, "claim"))
        made[-1].created_at = NOW + timedelta(minutes=minutes)
    session.flush()
    _, at_risk, newly = update_capacity(session, provider, service.id, {"available": 1}, "api", NOW)
    assert at_risk == sorted([made[2].id, made[1].id])
    assert sorted(newly) == sorted(at_risk)
    assert [r.at_risk for r in made] == [False, True, True]
    _, at_risk, newly = update_capacity(session, provider, service.id, {"available": 2}, "api", NOW)
    assert at_risk == [made[2].id] and newly == []


class Lifecycle(RuleBasedStateMachine):
    """Random operations on one service; an independent model predicts every count."""

    def __init__(self):
        super().__init__()
        self.session = self.app = None

    @initialize(
        available=st.integers(0, 3),
        waitlist=st.integers(0, 3),
        lead=st.integers(0, 2),
    )
    def start(self, available, waitlist, lead):
        self.app, self.session = LIFECYCLE_CONTEXT["app"], LIFECYCLE_CONTEXT["session"]
        service, self.cm, self.provider, self.participant = setup(
            self.session,
            {
                "maximum": 5,
                "available": available,
                "waitlist": waitlist,
                "lead_funded_maximum": 2,
                "lead_funded_available": lead,
            },
        )
        self.service = service
        self.model = {
            "available": available,
            "waitlist": waitlist,
            "lead_available": lead,
            "held_general": 0,
            "held_lead": 0,
        }
        self.open: dict[int, tuple[str, str]] = {}  # referral id -> (state, hold)

    def classification(self):
        m = self.model
        if m["lead_available"] - m["held_lead"] > 0:
            return "lead_funded"
        if m["available"] - m["held_general"] - m["waitlist"] > 0:
            return "spare_capacity"
        if m["waitlist"] > 0:
            return "displacement"
        return "full"

    @rule(action=st.sampled_from(["claim", "join_waitlist", "override", "request"]))
    def act(self, action):
        expected = self.classification()
        allowed = {
            "lead_funded": ["claim"],
            "spare_capacity": ["claim"],
            "displacement": ["join_waitlist", "override"],
            "full": ["join_waitlist"],
        }[expected]
        kwargs = {"reason_code": "safety", "justification": "Cannot wait: unsafe where they are tonight."}
        try:
            referral = refer(
                self.session,
                self.app,
                self.cm,
                self.service,
                self.participant,
                action,
                **(kwargs if action == "override" else {}),
            )
        except StaleCheck as exc:
            assert action not in allowed, f"{action} refused under {expected}"
            assert exc.check.classification == expected
            return
        assert action in allowed, f"{action} accepted under {expected}"
        assert referral.classification == expected
        m = self.model
        if action == "claim":
            if m["lead_available"] - m["held_lead"] > 0:
                assert referral.hold == "lead"
                m["held_lead"] += 1
            else:
                assert referral.hold == "general"
                m["held_general"] += 1
        elif action == "override":
            if m["available"] - m["held_general"] > 0:
                assert referral.hold == "general"
                m["held_general"] += 1
            else:
                assert referral.hold == "none"
        elif action == "join_waitlist":
            m["waitlist"] += 1
        self.open[referral.id] = (referral.state, referral.hold)

    @precondition(lambda self: bool(self.open))
    @rule(verb=st.sampled_from(["accept", "decline", "cancel", "expire"]), pick=st.integers(0, 100))
    def close(self, verb, pick):
        referral_id = sorted(self.open)[pick % len(self.open)]
        state, hold = self.open.pop(referral_id)
        referral = self.session.get(Referral, referral_id)
        actor = {"accept": self.provider, "decline": self.provider, "cancel": self.cm, "expire": SYSTEM}[verb]
        reason = Decline("did_not_arrive") if verb == "decline" else None
        transition(self.session, actor, referral, verb, NOW, decline=reason)
        m = self.model
        if state == "held":
            if hold == "lead":
                m["held_lead"] -= 1
                if verb == "accept":
                    m["lead_available"] = max(0, m["lead_available"] - 1)
            else:
                m["held_general"] -= 1
                if verb == "accept":
                    m["available"] = max(0, m["available"] - 1)
        elif state == "waitlisted":
            m["waitlist"] = max(0, m["waitlist"] - 1)

    @rule(available=st.integers(0, 5))
    def provider_sets_available(self, available):
        update_capacity(self.session, self.provider, self.service.id, {"available": available}, "api", NOW)
        self.model["available"] = available

    @invariant()
    def counts_match_the_model(self):
        if self.session is None:
            return
        got = counts(self.session, self.service)
        assert got == self.model
        assert all(value >= 0 for value in got.values())
        held = self.session.query(Referral).filter_by(service_id=self.service.id, state="held")
        assert sum(1 for r in held if r.hold == "general") == got["held_general"]


LIFECYCLE_CONTEXT: dict = {}


def test_lifecycle_properties(app, session):
    LIFECYCLE_CONTEXT.update(app=app, session=session)
    run = Lifecycle.TestCase
    run.settings = settings(
        max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
    )
    run().runTest()
    assert cap.LEAD_FUNDED  # the machine ran (it raises on any failure above)


def test_a_lost_idempotency_race_undoes_only_its_own_claim_and_leaves_the_transaction_usable(app, session):
    from directory.domain.referrals import DuplicateKey, find_by_key
    from directory.models import ReferralCheck

    service, cm, _, p = setup(session, {"maximum": 5, "available": 3, "waitlist": 0})
    first = refer(session, app, cm, service, p, "claim", idempotency_key="same-key")
    session.commit()
    before = counts(session, service)
    checks = session.scalar(select(func.count()).select_from(ReferralCheck))
    # What a second worker does when it passed the key look-up before the first committed.
    with pytest.raises(DuplicateKey):
        refer(session, app, cm, service, p, "claim", idempotency_key="same-key")
    assert find_by_key(session, cm, "same-key").id == first.id  # the session still answers
    session.commit()
    assert counts(session, service) == before  # the second claim's hold was undone
    assert session.scalar(select(func.count()).select_from(Referral)) == 1
    assert session.scalar(select(func.count()).select_from(ReferralCheck)) == checks
