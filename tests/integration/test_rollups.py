"""The audit's daily rollups against the referrals themselves: a simulated month made through the domain's
own functions (checks, claims, overrides with their alternatives, acceptances and expiries hours or days
later), then open referrals cancelled or accepted days after they were made; the dashboard's tallies for
several periods (the site's whole days, partial days, one partial day, the trend's months) are compared
with a straightforward count of the raw rows written here, and the rows kept write by write with a
rebuild from scratch."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from directory.domain import audit_questions as aq
from directory.domain import dashboard as dash
from directory.domain import rollups
from directory.domain.access import Actor
from directory.domain.clock import SiteClock
from directory.domain.referrals import OPEN_STATES, load_referral, transition
from directory.extensions import db
from directory.models import Referral, ReferralCheck, ReferralRollup, SitePlace
from directory.simulate import simulate_month
from tests.conftest import FIXED_NOW

pytestmark = pytest.mark.db

LATER = FIXED_NOW + timedelta(days=2)  # the state changes made after the referrals' days


@pytest.fixture(scope="module")
def month(databases, demo_database_url):
    """The demo site, a simulated month, then every referral still open closed two days later: every other
    one cancelled by its case manager, the rest accepted by the provider."""
    from tests.conftest import make_app

    url = databases.copy(demo_database_url)
    app = make_app(url, CLOCK=lambda: LATER)
    with app.app_context():
        simulate_month(db.session, app.config["SITE"], FIXED_NOW, seed=5)
        db.session.commit()
        still_open = db.session.scalars(
            select(Referral.id).where(Referral.state.in_(OPEN_STATES)).order_by(Referral.id)
        ).all()
        for n, referral_id in enumerate(still_open):
            referral = load_referral(db.session, referral_id)
            if n % 2:
                actor, verb = Actor(referral.created_by, "case_manager"), "cancel"
            else:
                actor, verb = Actor(None, "provider", referral.service.organization_id), "accept"
            transition(db.session, actor, referral, verb, LATER)
        db.session.commit()
    yield app, len(still_open)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _naive(period: dash.Period) -> dict:
    """Every tally counted one referral at a time from the ORM's rows, written without the rollups' code."""
    places = dict(db.session.execute(select(SitePlace.id, SitePlace.name)).all())
    tallies: dict[str, dict] = defaultdict(lambda: defaultdict(Counter))
    kinds: Counter = Counter()
    for r in db.session.scalars(select(Referral)):
        if not period.start <= r.created_at < period.end:
            continue
        check = db.session.get(ReferralCheck, r.check_id) if r.check_id else None
        override = r.action == "override"
        choice = override and any(
            a.classification in ("lead_funded", "spare_capacity") for a in r.alternatives
        )
        urgent = r.reason_code in ("acute_need", "safety")
        withheld = not r.outcome_shared or r.reference is not None
        numbers = {
            "referrals": 1,
            "overrides": int(override),
            "avoidable": int(choice and r.decline_reason is None and not urgent),
            "urgent": int(choice and r.decline_reason is None and urgent),
            "participant_driven": int(choice and r.decline_reason is not None),
            "waitlists": r.would_displace if override else 0,
        }
        keys = {
            "total": "",
            "state": "not_shared" if withheld else r.state,
            "provider": r.service.organization_id,
            "case_manager": r.created_by,
            "decline_reason": r.decline_reason,
            "reason_code": r.reason_code,
            "domain": r.domain,
            "neighborhood": places.get(check.neighborhood_id) if check else None,
            "language": check.language if check else None,
            "population": check.population if check else None,
        }
        for dimension, key in keys.items():
            tallies[dimension][key].update(numbers)
        kinds[(r.created_at.astimezone(UTC).date().isoformat(), r.classification, r.action)] += 1
    return {"tallies": tallies, "kinds": kinds}


def _fast(period: dash.Period) -> dict:
    marginals = dash.referral_marginals(db.session, [period.start, period.end])
    tallies = {}
    for dimension in (*rollups.DIMENSIONS, "provider"):
        if dimension in ("kind", "service"):
            continue
        tallies[dimension] = {
            key: Counter({k: v for k, v in vars(t).items() if k != "longest" and v})
            for key, t in marginals.of({0}, dimension).items()
            if t.referrals
        }
    return {"tallies": tallies, "kinds": Counter(marginals.kinds.get(0, {}))}


def _periods(clock: SiteClock) -> list[tuple[str, dash.Period]]:
    whole = clock.days(date(2026, 10, 24), date(2026, 11, 24))
    return [
        ("the site's days, 24 October to 24 November", dash.Period(*whole)),
        ("the site's days, one week", dash.Period(*clock.days(date(2026, 11, 9), date(2026, 11, 15)))),
        (
            "partial days at both ends",
            dash.Period(
                datetime(2026, 10, 29, 13, 17, tzinfo=UTC), datetime(2026, 11, 19, 5, 43, tzinfo=UTC)
            ),
        ),
        (
            "inside one UTC day",
            dash.Period(datetime(2026, 11, 3, 2, 0, tzinfo=UTC), datetime(2026, 11, 3, 21, 30, tzinfo=UTC)),
        ),
        ("one site month (November)", dash.Period(clock.month_start(FIXED_NOW), clock.next_month(FIXED_NOW))),
        (
            "nothing made then",
            dash.Period(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)),
        ),
    ]


def test_the_month_has_what_the_comparison_needs(month):
    """The control: overrides with a choice, withheld outcomes, states changed days later, several days."""
    app, closed_later = month
    with app.app_context():
        rows = db.session.scalars(select(Referral)).all()
        assert closed_later > 5
        assert sum(r.action == "override" for r in rows) > 5
        assert any(r.closed_at and r.closed_at.date() > r.created_at.date() for r in rows)
        assert {"accepted", "cancelled", "expired"} <= {r.state for r in rows}
        overrides = [r for r in rows if r.action == "override"]
        assert any(a.classification in aq.AVOIDING for r in overrides for a in r.alternatives)


@pytest.mark.parametrize("which", range(6))
def test_the_tallies_equal_a_count_of_the_raw_rows(month, which):
    app, _ = month
    with app.app_context():
        clock = SiteClock(app.config["SITE"].time_zone, lambda: LATER)
        name, period = _periods(clock)[which]
        naive, fast = _naive(period), _fast(period)
        assert fast["kinds"] == naive["kinds"], name
        for dimension, table in naive["tallies"].items():
            expected = {key: +numbers for key, numbers in table.items()}
            assert fast["tallies"][dimension] == expected, (name, dimension)
        if which == 5:
            assert not naive["kinds"] and not fast["kinds"]
        else:
            assert sum(naive["kinds"].values()) > 0, name


def test_rows_cut_at_other_midnights_are_read_from_the_referrals(month):
    """The site's time zone changed since the rows were written (cut at UTC midnight now): the days whose
    rows are cut otherwise are read from the referrals, and the tallies stay equal to the raw count."""
    app, _ = month
    site_zone = app.config["SITE"].time_zone
    assert site_zone != "UTC"  # else the rows would be cut at UTC midnight already
    with app.app_context():
        clock = SiteClock(site_zone, lambda: LATER)
        name, period = _periods(clock)[1]
        rollups.install("UTC")
        try:
            fast = _fast(period)
        finally:
            rollups.install(site_zone)
        naive = _naive(period)
    assert fast["kinds"] == naive["kinds"] and sum(naive["kinds"].values()) > 0
    for dimension, table in naive["tallies"].items():
        assert fast["tallies"][dimension] == {key: +numbers for key, numbers in table.items()}, dimension


def test_the_page_reads_whole_days_from_the_rollups(month):
    """The tallies are the rollups' (not a recount): a rollup row changed behind the app's back shows."""
    app, _ = month
    with app.app_context():
        clock = SiteClock(app.config["SITE"].time_zone, lambda: LATER)
        period = dash.Period(*clock.days(date(2026, 11, 9), date(2026, 11, 15)))
        before = dash.referral_counts(db.session, period).states
        row = db.session.scalars(
            select(ReferralRollup).where(
                ReferralRollup.day == "2026-11-11", ReferralRollup.dimension == "state"
            )
        ).first()
        row.referrals += 100
        state = row.key
        db.session.flush()
        after = dash.referral_counts(db.session, period).states
        db.session.rollback()
    assert after[state] == before[state] + 100


def test_rows_kept_write_by_write_equal_a_rebuild(month):
    app, _ = month
    with app.app_context():

        def stored() -> dict:
            rows = db.session.scalars(select(ReferralRollup)).all()
            return {
                (r.day, r.part, r.part_end, r.dimension, r.key): (
                    r.referrals,
                    r.overrides,
                    r.avoidable,
                    r.urgent,
                    r.participant_driven,
                    r.waitlists,
                    # A state's row keeps the longest wait of referrals that moved on: not compared.
                    None if r.dimension == "state" else r.longest,
                )
                for r in rows
                if r.referrals  # a row emptied by state changes stays, with nothing in it
            }

        kept = stored()
        assert len(kept) > 100
        rollups.rebuild(db.session)
        rebuilt = stored()
        db.session.rollback()
    assert kept == rebuilt


def test_the_audit_constants_agree():
    """The rollups restate two of the audit's definitions (to stay free of an import cycle)."""
    assert rollups.AVOIDING == aq.AVOIDING
    assert rollups.URGENT_REASONS == aq.URGENT_REASONS
